//! Adobe Commerce (Magento 2) source.
pub mod oauth1;
