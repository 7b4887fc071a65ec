//! Amazon Selling Partner API (SP-API).

pub mod limits;
pub mod region;
pub mod settlement;
pub mod wire;
