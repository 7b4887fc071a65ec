//! Default mappers and the reference data they use (SKU crosswalk, customer map, account map).

/// Everything a [`Mapper`](crate::Mapper) may look up: reference data and settings.
///
/// Built once per run by the host (or the pipeline builder) and shared read-only.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MapContext {}
