use std::fmt;

use serde::{Deserialize, Serialize};

/// The source systems the crate knows; hosts may use [`SystemId::Other`] for their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SystemId {
    /// Adobe Commerce (Magento 2), PaaS or Cloud Service.
    Adobe,
    /// Amazon Selling Partner API.
    Amazon,
    /// QAD Adaptive ERP (as a source: items for the catalog push).
    Qad,
    /// A host-defined system.
    Other(String),
}

impl SystemId {
    /// The short name used in keys and job ids.
    pub fn as_str(&self) -> &str {
        match self {
            SystemId::Adobe => "adobe",
            SystemId::Amazon => "amazon",
            SystemId::Qad => "qad",
            SystemId::Other(s) => s,
        }
    }

    /// Parses the short name.
    pub fn parse(s: &str) -> Self {
        match s {
            "adobe" => SystemId::Adobe,
            "amazon" => SystemId::Amazon,
            "qad" => SystemId::Qad,
            other => SystemId::Other(other.to_string()),
        }
    }
}

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one record in one stream of one source: `adobe/orders/default:000000042`.
///
/// `source_id` is the id that is unique within the stream: a store-scoped `increment_id` for
/// Adobe Commerce orders (`increment_id` is unique per store only), Amazon's `orderId`, a
/// `settlement-id`, a credit memo's `entity_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    /// The source system.
    pub system: SystemId,
    /// The stream within it (`orders`, `invoices`, `settlements`, …).
    pub stream: String,
    /// The id unique within the stream.
    pub source_id: String,
}

impl RecordKey {
    /// A key.
    pub fn new(system: SystemId, stream: impl Into<String>, source_id: impl Into<String>) -> Self {
        Self {
            system,
            stream: stream.into(),
            source_id: source_id.into(),
        }
    }

    /// Parses the `system/stream/source_id` form (the source id may itself contain `/`).
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.splitn(3, '/');
        let system = it.next().filter(|x| !x.is_empty())?;
        let stream = it.next().filter(|x| !x.is_empty())?;
        let id = it.next().filter(|x| !x.is_empty())?;
        Some(Self::new(SystemId::parse(system), stream, id))
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.system, self.stream, self.source_id)
    }
}

/// The kind of an ERP document; part of every job id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DocumentKind {
    /// Customer master record.
    Customer,
    /// Item master record.
    Item,
    /// Sales order.
    SalesOrder,
    /// Receivable / AR invoice.
    Receivable,
    /// Credit note.
    CreditNote,
    /// GL journal.
    Journal,
    /// Inventory adjustment.
    InventoryAdjustment,
    /// Marketplace listing (catalog push).
    Listing,
}

impl DocumentKind {
    /// Every kind, in posting order (masters first).
    pub const ALL: [DocumentKind; 8] = [
        DocumentKind::Customer,
        DocumentKind::Item,
        DocumentKind::SalesOrder,
        DocumentKind::Receivable,
        DocumentKind::CreditNote,
        DocumentKind::Journal,
        DocumentKind::InventoryAdjustment,
        DocumentKind::Listing,
    ];

    /// The snake_case name used in job ids, registries and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Customer => "customer",
            DocumentKind::Item => "item",
            DocumentKind::SalesOrder => "sales_order",
            DocumentKind::Receivable => "receivable",
            DocumentKind::CreditNote => "credit_note",
            DocumentKind::Journal => "journal",
            DocumentKind::InventoryAdjustment => "inventory_adjustment",
            DocumentKind::Listing => "listing",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The deterministic id of one unit of work: source system + stream + source id + document kind
/// (+ a discriminator when one record yields several documents of one kind, e.g. one journal per
/// accounting period of a settlement). The same record always produces the same job id, on any
/// worker, on any day: that is what makes the dedup claim prevent double-booking.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(String);

impl JobId {
    /// `system/stream/source_id/kind`.
    pub fn new(key: &RecordKey, kind: DocumentKind) -> Self {
        Self(format!("{key}/{kind}"))
    }

    /// `system/stream/source_id/kind#part` for the `part`-th document of one kind.
    pub fn with_part(key: &RecordKey, kind: DocumentKind, part: &str) -> Self {
        if part.is_empty() {
            Self::new(key, kind)
        } else {
            Self(format!("{key}/{kind}#{part}"))
        }
    }

    /// Wraps an id read back from a store.
    pub fn from_raw(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one run of a pipeline (UUID v7: time-ordered).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunId(pub String);

impl RunId {
    /// A fresh, time-ordered run id.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_deterministic_and_readable() {
        let k = RecordKey::new(SystemId::Adobe, "orders", "default:000000042");
        assert_eq!(
            JobId::new(&k, DocumentKind::SalesOrder).as_str(),
            "adobe/orders/default:000000042/sales_order"
        );
        assert_eq!(
            JobId::with_part(&k, DocumentKind::Journal, "2026-03").as_str(),
            "adobe/orders/default:000000042/journal#2026-03"
        );
        assert_eq!(
            RecordKey::parse("amazon/orders/111-2/3").unwrap().source_id,
            "111-2/3"
        );
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.as_str()), Some(kind));
        }
    }
}
