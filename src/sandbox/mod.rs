//! sandbox
pub mod adobe;
pub mod amazon;
pub mod qad;
