//! Dedup, audit and checkpoint stores: in-memory (tests, quick starts), SQLite (the embedded
//! default), PostgreSQL and Redis (several workers sharing one state).

mod memory;

pub use memory::{MemoryAuditSink, MemoryCheckpointStore, MemoryDedupStore};
