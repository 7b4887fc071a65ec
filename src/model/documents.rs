use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Address, Currency, DocumentKind, Money};
use crate::error::{Error, Result};

/// An ERP-neutral document produced by a [`Mapper`](crate::Mapper) and written by an
/// [`ErpSink`](crate::ErpSink). Every document carries an `external_id`: the deterministic
/// reference of its source record, written into the ERP so `find` can recognise it later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErpDocument {
    /// Customer master record.
    Customer(CustomerDoc),
    /// Item master record.
    Item(ItemDoc),
    /// Sales order.
    SalesOrder(SalesOrderDoc),
    /// Receivable (AR invoice).
    Receivable(ReceivableDoc),
    /// Credit note.
    CreditNote(CreditNoteDoc),
    /// GL journal.
    Journal(JournalDoc),
    /// Inventory adjustment.
    InventoryAdjustment(InventoryAdjustmentDoc),
    /// Marketplace listing.
    Listing(ListingDoc),
}

impl ErpDocument {
    /// The document's kind.
    pub fn kind(&self) -> DocumentKind {
        match self {
            ErpDocument::Customer(_) => DocumentKind::Customer,
            ErpDocument::Item(_) => DocumentKind::Item,
            ErpDocument::SalesOrder(_) => DocumentKind::SalesOrder,
            ErpDocument::Receivable(_) => DocumentKind::Receivable,
            ErpDocument::CreditNote(_) => DocumentKind::CreditNote,
            ErpDocument::Journal(_) => DocumentKind::Journal,
            ErpDocument::InventoryAdjustment(_) => DocumentKind::InventoryAdjustment,
            ErpDocument::Listing(_) => DocumentKind::Listing,
        }
    }

    /// The deterministic external reference written into the ERP.
    pub fn external_id(&self) -> &str {
        match self {
            ErpDocument::Customer(d) => &d.external_id,
            ErpDocument::Item(d) => &d.external_id,
            ErpDocument::SalesOrder(d) => &d.external_id,
            ErpDocument::Receivable(d) => &d.external_id,
            ErpDocument::CreditNote(d) => &d.external_id,
            ErpDocument::Journal(d) => &d.external_id,
            ErpDocument::InventoryAdjustment(d) => &d.external_id,
            ErpDocument::Listing(d) => &d.external_id,
        }
    }

    /// The reference the ERP copy carries and `find` looks for: the external id, plus `#part`
    /// when one record yields several documents of this kind (a settlement's journal per period).
    pub fn reference(&self) -> String {
        part_reference(self.external_id(), self.part())
    }

    /// Distinguishes several documents of one kind from one record (e.g. a journal per
    /// accounting period); empty for the usual one-document case. Part of the job id.
    pub fn part(&self) -> &str {
        match self {
            ErpDocument::Journal(d) => &d.part,
            ErpDocument::InventoryAdjustment(d) => &d.part,
            _ => "",
        }
    }
}

/// A customer master record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDoc {
    /// Deterministic reference of the source customer/company (`adobe:customer:42`).
    pub external_id: String,
    /// The ERP customer code (within the ERP's length limit; QAD: 8 characters by default).
    pub code: String,
    /// Display / business relation name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Currency the customer is invoiced in.
    pub currency: Currency,
    /// Head-office address.
    pub address: Option<Address>,
    /// Tax id.
    pub tax_id: Option<String>,
    /// `true` for companies / business buyers.
    pub is_business: bool,
    /// Credit terms code, when the mapper sets one.
    pub credit_terms: Option<String>,
}

/// An item master record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDoc {
    /// Deterministic reference.
    pub external_id: String,
    /// Item code.
    pub code: String,
    /// Description.
    pub description: String,
    /// Unit of measure.
    pub uom: Option<String>,
}

/// One sales-order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderLine {
    /// Line number (1-based).
    pub line: u32,
    /// ERP item code (already resolved through the SKU crosswalk).
    pub item: String,
    /// The source SKU it came from.
    pub source_sku: String,
    /// Description.
    pub description: Option<String>,
    /// Quantity ordered.
    pub quantity: Decimal,
    /// Unit of measure (None: the item's stocking unit).
    pub uom: Option<String>,
    /// Unit list price (before discount, excluding tax).
    pub list_price: Decimal,
    /// Unit net price (after discount, excluding tax).
    pub net_price: Decimal,
    /// Whether the line is taxable.
    pub taxable: bool,
    /// Site, when it differs from the order's.
    pub site: Option<String>,
}

/// A sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderDoc {
    /// Deterministic reference (`adobe:default:order:000000042`); also used as customer PO
    /// reference and remark so the ERP copy can be found again.
    pub external_id: String,
    /// Sold-to customer code.
    pub customer: String,
    /// Bill-to customer code (None: the sold-to).
    pub bill_to: Option<String>,
    /// Ship-to customer/address code (None: the sold-to).
    pub ship_to: Option<String>,
    /// Ship-to address as the buyer gave it.
    pub ship_to_address: Option<Address>,
    /// Order date.
    pub order_date: NaiveDate,
    /// Due / requested date.
    pub due_date: NaiveDate,
    /// Site (None: the tenant's default site).
    pub site: Option<String>,
    /// Currency.
    pub currency: Currency,
    /// Customer PO (the source order number).
    pub customer_po: String,
    /// Lines.
    pub lines: Vec<SalesOrderLine>,
    /// Freight charged, excluding tax.
    pub freight: Decimal,
    /// Tax as the source computed it (for reconciliation; the ERP recomputes).
    pub tax: Decimal,
    /// Free-text remark.
    pub remarks: Option<String>,
}

impl SalesOrderDoc {
    /// Σ quantity × net price over the lines.
    pub fn net_lines_total(&self) -> Decimal {
        self.lines.iter().map(|l| l.quantity * l.net_price).sum()
    }
}

/// A receivable (AR invoice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivableDoc {
    /// Deterministic reference (`adobe:default:invoice:000000017`); written into the invoice text.
    pub external_id: String,
    /// Customer code.
    pub customer: String,
    /// Invoice date.
    pub invoice_date: NaiveDate,
    /// Posting date.
    pub posting_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Currency.
    pub currency: Currency,
    /// Net amount (excluding tax).
    pub net_amount: Decimal,
    /// Tax amount.
    pub tax_amount: Decimal,
    /// Gross amount (`net + tax`), what the customer owes.
    pub gross_amount: Decimal,
    /// The sales order's external id, if the receivable belongs to one.
    pub order_ref: Option<String>,
    /// Customer PO / source order number.
    pub customer_po: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// A credit note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteDoc {
    /// Deterministic reference (`adobe:default:creditmemo:000000003`).
    pub external_id: String,
    /// Customer code.
    pub customer: String,
    /// Credit-note date.
    pub date: NaiveDate,
    /// Currency.
    pub currency: Currency,
    /// Net amount credited (positive).
    pub net_amount: Decimal,
    /// Tax credited (positive).
    pub tax_amount: Decimal,
    /// Gross amount credited (positive).
    pub gross_amount: Decimal,
    /// The receivable it reverses (its external id), when the refund was against an invoice.
    pub linked_invoice: Option<String>,
    /// The sales order's external id.
    pub order_ref: Option<String>,
    /// `online` or `offline` refund, for the ERP's payment handling.
    pub refund_method: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// One GL journal line. Exactly one of `debit`/`credit` is non-zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLine {
    /// GL account.
    pub account: String,
    /// Sub-account.
    pub sub_account: Option<String>,
    /// Cost center.
    pub cost_center: Option<String>,
    /// Project.
    pub project: Option<String>,
    /// Transaction currency.
    pub currency: Currency,
    /// Debit (≥ 0).
    pub debit: Decimal,
    /// Credit (≥ 0).
    pub credit: Decimal,
    /// Line description.
    pub description: String,
}

/// A GL journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalDoc {
    /// Deterministic reference (`amazon:settlement:28471003921`); written into the description.
    pub external_id: String,
    /// Discriminator when one record yields several journals (accounting period `2026-06`).
    pub part: String,
    /// Posting date.
    pub posting_date: NaiveDate,
    /// Daybook code (None: the tenant default).
    pub daybook: Option<String>,
    /// Description.
    pub description: String,
    /// Lines.
    pub lines: Vec<JournalLine>,
}

impl JournalDoc {
    /// The reference written into the ERP and looked up by `find`: the external id, plus
    /// `#part` when the record yields one journal per period.
    pub fn reference(&self) -> String {
        part_reference(&self.external_id, &self.part)
    }

    /// Checks that the journal has lines, that every line is one-sided and non-negative, and
    /// that debits equal credits per currency.
    ///
    /// # Errors
    /// [`Error::Data`] naming the journal, the currency and the difference.
    pub fn check_balanced(&self) -> Result<()> {
        if self.lines.is_empty() {
            return Err(Error::data(
                &self.external_id,
                "journal has no lines",
                "map at least one settlement row",
            ));
        }
        let mut per_currency: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
        for (i, l) in self.lines.iter().enumerate() {
            if l.debit < Decimal::ZERO
                || l.credit < Decimal::ZERO
                || (!l.debit.is_zero() && !l.credit.is_zero())
            {
                return Err(Error::data(
                    &self.external_id,
                    format!(
                        "journal line {} ({}) must have either a non-negative debit or credit",
                        i + 1,
                        l.account
                    ),
                    "split the amount into a debit line and a credit line",
                ));
            }
            let e = per_currency.entry(l.currency.as_str()).or_default();
            e.0 += l.debit;
            e.1 += l.credit;
        }
        for (cur, (dr, cr)) in per_currency {
            if dr != cr {
                return Err(Error::data(
                    &self.external_id,
                    format!(
                        "journal is unbalanced in {cur}: debits {dr} ≠ credits {cr} (difference {})",
                        dr - cr
                    ),
                    "check the account map and the settlement rows; nothing was posted",
                ));
            }
        }
        Ok(())
    }

    /// Σ debits in `currency`.
    pub fn total_debit(&self, currency: &Currency) -> Decimal {
        self.lines
            .iter()
            .filter(|l| &l.currency == currency)
            .map(|l| l.debit)
            .sum()
    }
}

/// An inventory adjustment for the difference between a channel's stock and the ERP's on-hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryAdjustmentDoc {
    /// Deterministic reference (`amazon:inventory:SKU-1:2026-11-30T02`); the ERP transaction's reference.
    pub external_id: String,
    /// Discriminator when one record yields several adjustments.
    pub part: String,
    /// Item code.
    pub item: String,
    /// Site.
    pub site: String,
    /// Location.
    pub location: Option<String>,
    /// Quantity to add (positive: receipt) or remove (negative: issue).
    pub quantity: Decimal,
    /// Why.
    pub reason: String,
}

impl InventoryAdjustmentDoc {
    /// The reference written into the ERP and looked up by `find` (external id, plus `#part`).
    pub fn reference(&self) -> String {
        part_reference(&self.external_id, &self.part)
    }
}

fn part_reference(external_id: &str, part: &str) -> String {
    if part.is_empty() {
        external_id.to_string()
    } else {
        format!("{external_id}#{part}")
    }
}

/// A marketplace listing to create or update (catalog push).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListingDoc {
    /// Deterministic reference (`qad:item:10-1000:ATVPDKIKX0DER`).
    pub external_id: String,
    /// Seller SKU.
    pub sku: String,
    /// Marketplace id.
    pub marketplace_id: String,
    /// Amazon product type (`PRODUCT`, `SHIRT`, …).
    pub product_type: String,
    /// Listing attributes in the marketplace's schema (JSON).
    pub attributes: serde_json::Value,
    /// Offer price, when pushed.
    pub price: Option<Money>,
    /// Merchant-fulfilled quantity, when pushed.
    pub quantity: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(account: &str, debit: i64, credit: i64) -> JournalLine {
        JournalLine {
            account: account.into(),
            sub_account: None,
            cost_center: None,
            project: None,
            currency: Currency::new("USD").unwrap(),
            debit: Decimal::from(debit),
            credit: Decimal::from(credit),
            description: String::new(),
        }
    }

    #[test]
    fn journal_balance_check_names_the_difference() {
        let mut j = JournalDoc {
            external_id: "amazon:settlement:1".into(),
            part: String::new(),
            posting_date: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            daybook: None,
            description: "x".into(),
            lines: vec![line("1000", 10, 0), line("4000", 0, 10)],
        };
        j.check_balanced().unwrap();
        j.lines.push(line("5000", 3, 0));
        let e = j.check_balanced().unwrap_err().to_string();
        assert!(e.contains("difference 3"), "{e}");
        assert!(e.contains("amazon:settlement:1"), "{e}");
    }

    #[test]
    fn documents_round_trip_through_serde() {
        let doc = ErpDocument::InventoryAdjustment(InventoryAdjustmentDoc {
            external_id: "amazon:inventory:A".into(),
            part: String::new(),
            item: "10-1000".into(),
            site: "10-100".into(),
            location: Some("STOCK".into()),
            quantity: Decimal::new(-25, 1),
            reason: "align".into(),
        });
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["kind"], "inventory_adjustment");
        assert_eq!(json["quantity"], "-2.5");
        assert_eq!(serde_json::from_value::<ErpDocument>(json).unwrap(), doc);
        assert_eq!(doc.kind(), DocumentKind::InventoryAdjustment);
    }
}
