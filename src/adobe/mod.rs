//! Adobe Commerce (Magento 2) source.
pub mod convert;
pub mod oauth1;
pub mod search;
pub mod wire;

pub use search::{Condition, Direction, SearchCriteria};
