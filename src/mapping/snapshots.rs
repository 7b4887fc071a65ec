//! ERP-side snapshots a host loads into the [`MapContext`](super::MapContext) so mapping stays
//! pure: open receivables (settlement Mode B) and on-hand quantities (stock alignment, catalog
//! push quantities). The QAD reads that produce them belong to the QAD client.

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::model::Money;

/// One open receivable, as the ERP reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    /// The ERP reference of the open item (invoice number or the receivable's external id),
    /// written on the application line.
    pub reference: String,
    /// The open amount (positive: the customer owes; negative: an open credit).
    pub open: Money,
}

/// Open receivables by Amazon `order-id` (the customer PO of the invoiced sales order). One net
/// open amount per order: a host that has an open invoice and an open credit note for the same
/// order adds them up.
#[derive(Debug, Clone, Default)]
pub struct OpenItems {
    by_order: Arc<HashMap<String, OpenItem>>,
}

impl OpenItems {
    /// From `(order-id, open item)` pairs; a later pair for the same order replaces an earlier one.
    pub fn new(items: impl IntoIterator<Item = (String, OpenItem)>) -> Self {
        Self {
            by_order: Arc::new(items.into_iter().collect()),
        }
    }

    /// The open item of `order_id`.
    pub fn get(&self, order_id: &str) -> Option<&OpenItem> {
        self.by_order.get(order_id)
    }

    /// Number of open items.
    pub fn len(&self) -> usize {
        self.by_order.len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.by_order.is_empty()
    }
}

/// Where stock is: `(item, site, location)`; a `None` location is the site's total.
pub type StockKey = (String, String, Option<String>);

/// ERP on-hand quantities by [`StockKey`].
#[derive(Debug, Clone, Default)]
pub struct OnHand {
    qty: Arc<HashMap<StockKey, Decimal>>,
}

impl OnHand {
    /// From `((item, site, location), quantity)` pairs.
    pub fn new(levels: impl IntoIterator<Item = (StockKey, Decimal)>) -> Self {
        Self {
            qty: Arc::new(levels.into_iter().collect()),
        }
    }

    /// The on-hand of `item` at `site`/`location`, if the snapshot has it.
    pub fn get(&self, item: &str, site: &str, location: Option<&str>) -> Option<Decimal> {
        self.qty
            .get(&(
                item.to_string(),
                site.to_string(),
                location.map(String::from),
            ))
            .copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.qty.len()
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.qty.is_empty()
    }
}
