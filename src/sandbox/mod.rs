//! sandbox
pub mod adobe;
pub mod qad;
