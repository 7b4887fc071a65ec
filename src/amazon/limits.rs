//! The published SP-API usage plans (reference §10, from Amazon's models) used to seed the
//! kernel's rate buckets. Amazon's actual plan can differ per seller (Orders has dynamic plans):
//! the bucket is re-seeded from `x-amzn-RateLimit-Limit` whenever a response carries it.

/// One operation's published default usage plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishedLimit {
    /// The operation name the crate uses for the bucket (and in error messages).
    pub operation: &'static str,
    /// Requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

macro_rules! lim {
    ($op:literal, $rate:literal, $burst:literal) => {
        PublishedLimit {
            operation: $op,
            rate: $rate,
            burst: $burst,
        }
    };
}

/// Orders 2026-01-01 `searchOrders`.
pub const SEARCH_ORDERS: &str = "searchOrders";
/// Orders 2026-01-01 `getOrder`.
pub const GET_ORDER: &str = "getOrder";
/// Orders v0 `getOrders`.
pub const GET_ORDERS_V0: &str = "getOrders";
/// Orders v0 `getOrder` (named apart from the 2026 operation: separate usage plan).
pub const GET_ORDER_V0: &str = "getOrderV0";
/// Orders v0 `getOrderItems`.
pub const GET_ORDER_ITEMS: &str = "getOrderItems";
/// Tokens `createRestrictedDataToken`.
pub const CREATE_RDT: &str = "createRestrictedDataToken";
/// Reports `getReports`.
pub const GET_REPORTS: &str = "getReports";
/// Reports `getReportDocument`.
pub const GET_REPORT_DOCUMENT: &str = "getReportDocument";
/// Download of a presigned report URL (not an SP-API operation: no bucket of Amazon's).
pub const DOWNLOAD_REPORT: &str = "downloadReportDocument";
/// Finances 2024-06-19 `listTransactions`.
pub const LIST_TRANSACTIONS: &str = "listTransactions";
/// FBA inventory `getInventorySummaries`.
pub const GET_INVENTORY_SUMMARIES: &str = "getInventorySummaries";
/// Listings `getListingsItem`.
pub const GET_LISTINGS_ITEM: &str = "getListingsItem";
/// Listings `putListingsItem`.
pub const PUT_LISTINGS_ITEM: &str = "putListingsItem";
/// Listings `patchListingsItem`.
pub const PATCH_LISTINGS_ITEM: &str = "patchListingsItem";
/// Sellers `getMarketplaceParticipations`.
pub const GET_MARKETPLACE_PARTICIPATIONS: &str = "getMarketplaceParticipations";

/// The published default plans of every operation the crate calls.
pub const PUBLISHED_LIMITS: &[PublishedLimit] = &[
    lim!("searchOrders", 0.0056, 20),
    lim!("getOrder", 0.5, 30),
    lim!("getOrders", 0.0167, 20),
    lim!("getOrderV0", 0.5, 30),
    lim!("getOrderItems", 0.5, 30),
    lim!("createRestrictedDataToken", 1.0, 10),
    lim!("getReports", 0.0222, 10),
    lim!("getReportDocument", 0.0167, 15),
    lim!("listTransactions", 0.5, 10),
    lim!("getInventorySummaries", 2.0, 2),
    lim!("getListingsItem", 5.0, 10),
    lim!("putListingsItem", 5.0, 10),
    lim!("patchListingsItem", 5.0, 5),
    lim!("getMarketplaceParticipations", 0.016, 15),
];

/// Amazon's static sandbox: "rate = five requests per second; burst = 15" for every operation.
pub const SANDBOX_LIMIT: (f64, u32) = (5.0, 15);

/// The published plan of `operation`, if the crate knows it.
pub fn published(operation: &str) -> Option<PublishedLimit> {
    PUBLISHED_LIMITS
        .iter()
        .copied()
        .find(|l| l.operation == operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_the_published_numbers() {
        let s = published(SEARCH_ORDERS).unwrap();
        assert_eq!((s.rate, s.burst), (0.0056, 20));
        assert_eq!(published(GET_INVENTORY_SUMMARIES).unwrap().burst, 2);
        assert_eq!(published(PATCH_LISTINGS_ITEM).unwrap().burst, 5);
        assert!(published(DOWNLOAD_REPORT).is_none());
        for l in PUBLISHED_LIMITS {
            assert!(l.rate > 0.0 && l.burst > 0, "{l:?}");
        }
    }
}
