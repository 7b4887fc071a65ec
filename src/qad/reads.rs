//! Reads the mappers need: the item master (for the SKU crosswalk), the customer master, and
//! stock levels by site/location (for inventory alignment). All through browses, page by page
//! until an empty page.

use chrono::Utc;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::client::{Filter, Row};
use super::registry::BrowseDef;
use super::sink::QadSink;
use super::wire::{cell_decimal, cell_str};
use crate::error::{Error, Result};
use crate::model::{InventoryLevel, StockOwner};

/// One item of the QAD item master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QadItem {
    /// Item number (`pt_part`).
    pub code: String,
    /// Description (line 1 and 2 joined).
    pub description: String,
    /// Stocking unit of measure.
    pub uom: Option<String>,
    /// Item status code.
    pub status: Option<String>,
}

/// One customer of the QAD customer master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QadCustomer {
    /// Customer code.
    pub code: String,
    /// Name.
    pub name: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Active flag as QAD reports it.
    pub active: Option<String>,
}

/// Stock of one item at one site/location/lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// Item.
    pub item: String,
    /// Site.
    pub site: String,
    /// Location.
    pub location: String,
    /// Lot/serial.
    pub lot: Option<String>,
    /// Lot reference.
    pub reference: Option<String>,
    /// Quantity on hand.
    pub on_hand: Decimal,
    /// Quantity allocated.
    pub allocated: Decimal,
}

impl StockLevel {
    /// As the canonical model's ERP inventory level (available = on hand − allocated).
    pub fn to_inventory_level(&self) -> InventoryLevel {
        InventoryLevel {
            sku: self.item.clone(),
            owner: StockOwner::Erp,
            location: Some(format!("{}/{}", self.site, self.location)),
            available: self.on_hand - self.allocated,
            inbound: Decimal::ZERO,
            reserved: self.allocated,
            unfulfillable: Decimal::ZERO,
            observed_at: Utc::now(),
        }
    }
}

fn text(b: &BrowseDef, row: &Row, logical: &str) -> Option<String> {
    b.field(logical).and_then(|f| cell_str(row, f))
}

fn item_of(b: &BrowseDef, row: &Row) -> Result<QadItem> {
    let code = text(b, row, "code").ok_or_else(|| {
        Error::data(
            b.id.as_str(),
            "item row without an item number",
            "check qad.registry.item.browse.fields.code",
        )
    })?;
    let d1 = text(b, row, "description").unwrap_or_default();
    let d2 = text(b, row, "description2").unwrap_or_default();
    let description = [d1.trim(), d2.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(QadItem {
        code,
        description,
        uom: text(b, row, "uom").filter(|s| !s.is_empty()),
        status: text(b, row, "status").filter(|s| !s.is_empty()),
    })
}

fn customer_of(b: &BrowseDef, row: &Row) -> Result<QadCustomer> {
    let code = text(b, row, "code").ok_or_else(|| {
        Error::data(
            b.id.as_str(),
            "customer row without a customer code",
            "check qad.registry.customer.browse.fields.code",
        )
    })?;
    Ok(QadCustomer {
        code,
        name: text(b, row, "name"),
        currency: text(b, row, "currency"),
        active: text(b, row, "active"),
    })
}

impl QadSink {
    /// The whole item master, streamed.
    pub fn items(&self) -> BoxStream<'_, Result<QadItem>> {
        let b = &self.config().registry().item.browse;
        self.client()
            .browse(b, Vec::new(), "qad/items".into())
            .and_then(move |row| async move { item_of(b, &row) })
            .boxed()
    }

    /// One item by code.
    ///
    /// # Errors
    /// Transport/auth errors.
    pub async fn item(&self, code: &str) -> Result<Option<QadItem>> {
        let b = &self.config().registry().item.browse;
        let field = b.field("code").unwrap_or_default();
        let rows = self
            .client()
            .browse_rows(b, vec![Filter::eq(field, code)], 10, code)
            .await?;
        rows.iter()
            .find(|r| cell_str(r, field).as_deref() == Some(code))
            .map(|r| item_of(b, r))
            .transpose()
    }

    /// The whole customer master, streamed.
    pub fn customers(&self) -> BoxStream<'_, Result<QadCustomer>> {
        let b = &self.config().registry().customer.browse;
        self.client()
            .browse(b, Vec::new(), "qad/customers".into())
            .and_then(move |row| async move { customer_of(b, &row) })
            .boxed()
    }

    /// One customer by code.
    ///
    /// # Errors
    /// Transport/auth errors.
    pub async fn customer(&self, code: &str) -> Result<Option<QadCustomer>> {
        let b = &self.config().registry().customer.browse;
        let field = b.field("code").unwrap_or_default();
        let rows = self
            .client()
            .browse_rows(b, vec![Filter::eq(field, code)], 10, code)
            .await?;
        rows.iter()
            .find(|r| cell_str(r, field).as_deref() == Some(code))
            .map(|r| customer_of(b, r))
            .transpose()
    }

    /// Stock levels in the tenant's domain, optionally for one site and one location.
    ///
    /// # Errors
    /// Transport/auth errors; [`Error::Data`] for rows without quantities.
    pub async fn stock_levels(
        &self,
        site: Option<&str>,
        location: Option<&str>,
    ) -> Result<Vec<StockLevel>> {
        let b = &self.config().registry().inventory_level.browse;
        let mut filters = Vec::new();
        if let Some(f) = b.field("domain") {
            filters.push(Filter::eq(f, self.config().domain()));
        }
        if let (Some(s), Some(f)) = (site, b.field("site")) {
            filters.push(Filter::eq(f, s));
        }
        if let (Some(l), Some(f)) = (location, b.field("location")) {
            filters.push(Filter::eq(f, l));
        }
        let qty_field = b.field("quantity_on_hand").unwrap_or_default();
        self.client()
            .browse(b, filters, "qad/stock".into())
            .and_then(|row| async move {
                let on_hand = cell_decimal(&row, qty_field).ok_or_else(|| {
                    Error::data(
                        b.id.as_str(),
                        format!("stock row without a numeric `{qty_field}`"),
                        "check qad.registry.inventory_level.browse.fields.quantity_on_hand",
                    )
                })?;
                Ok(StockLevel {
                    item: text(b, &row, "item").unwrap_or_default(),
                    site: text(b, &row, "site").unwrap_or_default(),
                    location: text(b, &row, "location").unwrap_or_default(),
                    lot: text(b, &row, "lot").filter(|s| !s.is_empty()),
                    reference: text(b, &row, "reference").filter(|s| !s.is_empty()),
                    on_hand,
                    allocated: b
                        .field("quantity_allocated")
                        .and_then(|f| cell_decimal(&row, f))
                        .unwrap_or(Decimal::ZERO),
                })
            })
            .try_collect()
            .await
    }
}
