//! Deterministic external ids.
//!
//! Every document carries an external id built only from the source record's identity, so the
//! same record yields the same id on any worker, on any day, and the ERP copy can be found again
//! (QAD has no idempotency keys: the sink writes the id into the customer PO / remarks /
//! description and searches for it before a re-post).
//!
//! | document | external id | example |
//! |---|---|---|
//! | shop sales order | `{system}:{store}:order:{increment_id}` | `adobe:default:order:000000003` |
//! | Amazon sales order | `amazon:order:{orderId}` | `amazon:order:114-8829371-4410258` |
//! | receivable | `{system}:{store}:invoice:{entity_id}` | `adobe:default:invoice:3` |
//! | credit note | `{system}:{store}:creditmemo:{entity_id}` | `adobe:default:creditmemo:7` |
//! | customer / company | `{system}:customer:{id}`, `{system}:company:{id}` | `adobe:customer:3` |
//! | guest customer | `{system}:guest:{e-mail, lower-case}` | `adobe:guest:jdoe@example.com` |
//! | marketplace customer | `amazon:marketplace:{marketplaceId}` | `amazon:marketplace:ATVPDKIKX0DER` |
//! | business buyer | `amazon:buyer:{tax id or company name, upper-case}` | `amazon:buyer:DE123456789` |
//! | settlement journal | `amazon:settlement:{settlement-id}` (+ part `YYYY-MM`) | `amazon:settlement:28471003921` |
//! | inventory adjustment | `{system}:inventory:{fba\|merchant}:{sku}:{YYYY-MM-DDTHH}` | `amazon:inventory:fba:NX-HD-1200:2026-07-01T06` |
//! | listing | `qad:item:{item}:{marketplaceId}` | `qad:item:10-1000:ATVPDKIKX0DER` |
//!
//! Invoices and credit memos use the source's `entity_id` (not the human `increment_id`)
//! because a credit memo references its invoice by `entity_id` only; the human number goes into
//! the description and customer PO.

use chrono::{DateTime, Utc};

use crate::model::{RecordKey, SystemId};

/// The store scope of a shop document: the record's channel, else the store part of a
/// `store:number` source id, else `default`.
pub fn store_scope<'a>(channel: Option<&'a str>, key: &'a RecordKey) -> &'a str {
    channel
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .or_else(|| {
            key.source_id
                .split_once(':')
                .map(|(s, _)| s)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or("default")
}

/// A sales order's external id.
pub fn order(system: &SystemId, store: &str, number: &str) -> String {
    match system {
        SystemId::Amazon => format!("amazon:order:{number}"),
        s => format!("{s}:{store}:order:{number}"),
    }
}

/// A receivable's external id.
pub fn invoice(system: &SystemId, store: &str, entity_id: &str) -> String {
    format!("{system}:{store}:invoice:{entity_id}")
}

/// A credit note's external id.
pub fn credit_memo(system: &SystemId, store: &str, entity_id: &str) -> String {
    format!("{system}:{store}:creditmemo:{entity_id}")
}

/// A settlement journal's external id (the same for every period part).
pub fn settlement(settlement_id: &str) -> String {
    format!("amazon:settlement:{settlement_id}")
}

/// An inventory adjustment's external id: one per SKU, stock owner and hour of observation,
/// so a re-read of the same snapshot never adjusts twice.
pub fn inventory(system: &SystemId, owner: &str, sku: &str, observed_at: &DateTime<Utc>) -> String {
    format!(
        "{system}:inventory:{owner}:{sku}:{}",
        observed_at.format("%Y-%m-%dT%H")
    )
}

/// A listing's external id.
pub fn listing(item: &str, marketplace_id: &str) -> String {
    format!("qad:item:{item}:{marketplace_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_documented_shapes() {
        let key = RecordKey::new(SystemId::Adobe, "orders", "eu:000000042");
        assert_eq!(store_scope(None, &key), "eu");
        assert_eq!(store_scope(Some("default"), &key), "default");
        let plain = RecordKey::new(SystemId::Adobe, "creditmemos", "7");
        assert_eq!(store_scope(None, &plain), "default");
        assert_eq!(
            order(&SystemId::Adobe, "default", "000000003"),
            "adobe:default:order:000000003"
        );
        assert_eq!(order(&SystemId::Amazon, "x", "114-1"), "amazon:order:114-1");
        assert_eq!(
            invoice(&SystemId::Adobe, "default", "3"),
            "adobe:default:invoice:3"
        );
        assert_eq!(settlement("284"), "amazon:settlement:284");
        let t = "2026-07-01T06:59:00Z".parse().unwrap();
        assert_eq!(
            inventory(&SystemId::Amazon, "fba", "S-1", &t),
            "amazon:inventory:fba:S-1:2026-07-01T06"
        );
        assert_eq!(
            listing("10-1000", "ATVPDKIKX0DER"),
            "qad:item:10-1000:ATVPDKIKX0DER"
        );
    }
}
