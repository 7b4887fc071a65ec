//! sandbox
pub mod amazon;
