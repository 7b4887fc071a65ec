//! sandbox
pub mod adobe;
