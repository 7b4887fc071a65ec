//! qad
