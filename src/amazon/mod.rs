//! amazon
