//! The canonical model: what sources produce and what sinks accept.
//!
//! * [`SourceRecord`]: one record read from a source system — its [`RecordKey`], a version, a
//!   typed canonical body ([`RecordBody`]) **and the raw JSON** as the source sent it (for the
//!   audit trail, replay and custom mappers).
//! * [`ErpDocument`]: the ERP-neutral result of mapping (customer, item, sales order, receivable,
//!   credit note, journal, inventory adjustment, listing). A sink turns it into its wire shape.
//! * [`Money`] is a [`rust_decimal::Decimal`] with its [`Currency`]; no `f64` anywhere money flows.
//!   Timestamps are `DateTime<Utc>`.

mod documents;
mod ids;
mod money;
mod records;

pub use documents::*;
pub use ids::*;
pub use money::*;
pub use records::*;

pub use chrono::{DateTime, NaiveDate, Utc};
pub use rust_decimal::Decimal;
