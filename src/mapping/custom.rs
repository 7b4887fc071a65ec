//! Extending a mapper without forking it.
//!
//! * [`MapperExt::and_then`] post-processes everything a mapper returns (add, drop or rewrite
//!   documents).
//! * [`MapperExt::customize`] gives a [`Customize`] wrapper with one hook per document kind —
//!   the usual way to change one field (`site`, `daybook`, a remark) and keep every default rule
//!   and guard.
//!
//! Hooks run after the inner mapper succeeded, in the order they were added; a hook's error
//! holds the record like any mapping error. A mapper written from scratch implements
//! [`Mapper`] directly and may call the default mapping functions
//! ([`map_order`](super::map_order), [`settlement_journals`](super::settlement_journals), …) for
//! the parts it keeps. See the crate-level example in [`mapping`](super).

use std::fmt;

use crate::Mapper;
use crate::error::Result;
use crate::mapping::MapContext;
use crate::model::{
    CreditNoteDoc, CustomerDoc, ErpDocument, InventoryAdjustmentDoc, ItemDoc, JournalDoc,
    ListingDoc, ReceivableDoc, SalesOrderDoc, SourceRecord,
};

/// A hook that edits one document of type `T` in place.
pub type Hook<T> = Box<dyn Fn(&mut T, &SourceRecord, &MapContext) -> Result<()> + Send + Sync>;

/// Combinators for every [`Mapper`].
pub trait MapperExt: Mapper + Sized {
    /// Runs `f` on the documents this mapper returns.
    fn and_then<F>(self, f: F) -> AndThen<Self, F>
    where
        F: Fn(&SourceRecord, &MapContext, Vec<ErpDocument>) -> Result<Vec<ErpDocument>>
            + Send
            + Sync,
    {
        AndThen { inner: self, f }
    }

    /// Wraps this mapper for per-document hooks.
    fn customize(self) -> Customize<Self> {
        Customize::new(self)
    }
}

impl<M: Mapper> MapperExt for M {}

/// See [`MapperExt::and_then`].
pub struct AndThen<M, F> {
    inner: M,
    f: F,
}

impl<M: fmt::Debug, F> fmt::Debug for AndThen<M, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AndThen")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<M, F> Mapper for AndThen<M, F>
where
    M: Mapper,
    F: Fn(&SourceRecord, &MapContext, Vec<ErpDocument>) -> Result<Vec<ErpDocument>> + Send + Sync,
{
    fn map(&self, record: &SourceRecord, ctx: &MapContext) -> Result<Vec<ErpDocument>> {
        let docs = self.inner.map(record, ctx)?;
        (self.f)(record, ctx, docs)
    }
}

/// A mapper with per-document-kind hooks. Build with [`MapperExt::customize`].
pub struct Customize<M> {
    inner: M,
    customer: Vec<Hook<CustomerDoc>>,
    item: Vec<Hook<ItemDoc>>,
    sales_order: Vec<Hook<SalesOrderDoc>>,
    receivable: Vec<Hook<ReceivableDoc>>,
    credit_note: Vec<Hook<CreditNoteDoc>>,
    journal: Vec<Hook<JournalDoc>>,
    inventory_adjustment: Vec<Hook<InventoryAdjustmentDoc>>,
    listing: Vec<Hook<ListingDoc>>,
}

impl<M: fmt::Debug> fmt::Debug for Customize<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Customize")
            .field("inner", &self.inner)
            .field(
                "hooks",
                &(self.customer.len()
                    + self.item.len()
                    + self.sales_order.len()
                    + self.receivable.len()
                    + self.credit_note.len()
                    + self.journal.len()
                    + self.inventory_adjustment.len()
                    + self.listing.len()),
            )
            .finish()
    }
}

macro_rules! hook_setter {
    ($(#[$doc:meta])* $name:ident, $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name<F>(mut self, f: F) -> Self
        where
            F: Fn(&mut $ty, &SourceRecord, &MapContext) -> Result<()> + Send + Sync + 'static,
        {
            self.$name.push(Box::new(f));
            self
        }
    };
}

impl<M: Mapper> Customize<M> {
    /// Wraps `inner` with no hooks.
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            customer: Vec::new(),
            item: Vec::new(),
            sales_order: Vec::new(),
            receivable: Vec::new(),
            credit_note: Vec::new(),
            journal: Vec::new(),
            inventory_adjustment: Vec::new(),
            listing: Vec::new(),
        }
    }

    hook_setter!(
        /// Adds a hook for customer masters.
        customer, CustomerDoc);
    hook_setter!(
        /// Adds a hook for item masters.
        item, ItemDoc);
    hook_setter!(
        /// Adds a hook for sales orders.
        sales_order, SalesOrderDoc);
    hook_setter!(
        /// Adds a hook for receivables.
        receivable, ReceivableDoc);
    hook_setter!(
        /// Adds a hook for credit notes.
        credit_note, CreditNoteDoc);
    hook_setter!(
        /// Adds a hook for journals (each period's journal of a settlement).
        journal, JournalDoc);
    hook_setter!(
        /// Adds a hook for inventory adjustments.
        inventory_adjustment, InventoryAdjustmentDoc);
    hook_setter!(
        /// Adds a hook for listings.
        listing, ListingDoc);

    /// The wrapped mapper.
    pub fn inner(&self) -> &M {
        &self.inner
    }
}

fn run<T>(hooks: &[Hook<T>], doc: &mut T, record: &SourceRecord, ctx: &MapContext) -> Result<()> {
    for h in hooks {
        h(doc, record, ctx)?;
    }
    Ok(())
}

impl<M: Mapper> Mapper for Customize<M> {
    fn map(&self, record: &SourceRecord, ctx: &MapContext) -> Result<Vec<ErpDocument>> {
        let mut docs = self.inner.map(record, ctx)?;
        for doc in &mut docs {
            match doc {
                ErpDocument::Customer(d) => run(&self.customer, d, record, ctx)?,
                ErpDocument::Item(d) => run(&self.item, d, record, ctx)?,
                ErpDocument::SalesOrder(d) => run(&self.sales_order, d, record, ctx)?,
                ErpDocument::Receivable(d) => run(&self.receivable, d, record, ctx)?,
                ErpDocument::CreditNote(d) => run(&self.credit_note, d, record, ctx)?,
                ErpDocument::Journal(d) => {
                    run(&self.journal, d, record, ctx)?;
                    // A hook may move amounts between accounts; it may not unbalance a journal.
                    if !self.journal.is_empty() {
                        d.check_balanced()?;
                    }
                }
                ErpDocument::InventoryAdjustment(d) => {
                    run(&self.inventory_adjustment, d, record, ctx)?
                }
                ErpDocument::Listing(d) => run(&self.listing, d, record, ctx)?,
            }
        }
        Ok(docs)
    }
}
