//! sandbox
pub mod qad;
