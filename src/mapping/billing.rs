//! Captured invoices → receivables, credit memos → credit notes.
//!
//! * An invoice maps once it is **paid** (captured); open invoices map to nothing yet (they are
//!   read again when captured) and cancelled ones to nothing.
//! * A credit memo maps to one credit note — partial refunds and several credit memos per order
//!   are normal and each has its own external id. Online refunds link to the receivable of the
//!   invoice they refund; offline refunds carry only the order reference.
//! * Amounts: net = subtotal − discount + shipping (+ adjustment refund − adjustment fee for
//!   credit memos), gross = net + tax. For credit memos gross must equal the memo's grand total,
//!   otherwise the memo is refused (the refund would not match what the buyer got back).
//! * The lines are guarded like order lines (Σ row totals = subtotal, parent/child once).

use chrono::Duration;
use rust_decimal::Decimal;

use super::MapContext;
use super::ids;
use super::orders::{check_lines, resolve_sold_to};
use crate::error::{Error, Result};
use crate::model::{
    CreditMemo, CreditNoteDoc, ErpDocument, Invoice, InvoiceState, ReceivableDoc, RefundMethod,
    SourceRecord,
};

/// Maps a captured invoice to a receivable.
///
/// # Errors
/// [`Error::Data`] when the lines do not reconcile or the customer cannot be resolved.
pub fn map_invoice(
    record: &SourceRecord,
    invoice: &Invoice,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    if invoice.state != InvoiceState::Paid {
        return Ok(Vec::new());
    }
    let key = &record.key;
    let t = &invoice.totals;
    check_lines(key, "invoice", &invoice.lines, t)?;
    let sold_to = resolve_sold_to(
        record,
        &invoice.party,
        invoice.channel.as_deref(),
        &t.currency,
        None,
        ctx,
    )?;
    let store = ids::store_scope(invoice.channel.as_deref(), key);
    let net = t.subtotal - t.discount + t.shipping;
    let date = invoice.created_at.date_naive();
    let order_ref = invoice
        .order_number
        .as_deref()
        .map(|n| ids::order(&key.system, store, n));
    let description = match &invoice.order_number {
        Some(n) => format!("Invoice {} for order {n}", invoice.number),
        None => format!(
            "Invoice {} for order entity {}",
            invoice.number, invoice.order_entity_id
        ),
    };
    Ok(vec![ErpDocument::Receivable(ReceivableDoc {
        external_id: ids::invoice(&key.system, store, &invoice.entity_id),
        customer: sold_to.code,
        invoice_date: date,
        posting_date: date,
        due_date: date + Duration::days(ctx.settings().receivable_terms_days),
        currency: t.currency.clone(),
        net_amount: net,
        tax_amount: t.tax,
        gross_amount: net + t.tax,
        order_ref,
        customer_po: invoice.order_number.clone(),
        description: Some(description),
    })])
}

/// Maps a credit memo to a credit note.
///
/// # Errors
/// [`Error::Data`] when the lines or totals do not reconcile or the customer cannot be resolved.
pub fn map_credit_memo(
    record: &SourceRecord,
    memo: &CreditMemo,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    let key = &record.key;
    let t = &memo.totals;
    check_lines(key, "credit memo", &memo.lines, t)?;
    if memo.adjustment_positive < Decimal::ZERO || memo.adjustment_negative < Decimal::ZERO {
        return Err(Error::data(
            key,
            "credit memo adjustments must be positive numbers (refund and fee)",
            "fix the adapter, then replay",
        ));
    }
    let net =
        t.subtotal - t.discount + t.shipping + memo.adjustment_positive - memo.adjustment_negative;
    let gross = net + t.tax;
    if gross != t.grand_total {
        return Err(Error::data(
            key,
            format!(
                "credit memo totals do not add up: subtotal {} − discount {} + shipping {} + adjustment refund {} \
                 − adjustment fee {} + tax {} = {gross}, but the grand total is {} (difference {})",
                t.subtotal,
                t.discount,
                t.shipping,
                memo.adjustment_positive,
                memo.adjustment_negative,
                t.tax,
                t.grand_total,
                gross - t.grand_total
            ),
            "fix the source record or the adapter, then replay",
        ));
    }
    if gross <= Decimal::ZERO {
        return Err(Error::data(
            key,
            format!(
                "credit memo refunds {gross} {}: nothing to credit",
                t.currency
            ),
            "a credit note needs a positive amount; fix the source record, then replay",
        ));
    }
    let sold_to = resolve_sold_to(
        record,
        &memo.party,
        memo.channel.as_deref(),
        &t.currency,
        None,
        ctx,
    )?;
    let store = ids::store_scope(memo.channel.as_deref(), key);
    let linked_invoice = match memo.method {
        RefundMethod::Online => memo
            .invoice_entity_id
            .as_deref()
            .filter(|id| !id.is_empty() && *id != "0")
            .map(|id| ids::invoice(&key.system, store, id)),
        RefundMethod::Offline => None,
    };
    let method = match memo.method {
        RefundMethod::Online => "online",
        RefundMethod::Offline => "offline",
    };
    let order = memo
        .order_number
        .clone()
        .unwrap_or_else(|| format!("entity {}", memo.order_entity_id));
    let mut description = format!(
        "Credit memo {} ({method} refund) for order {order}",
        memo.number
    );
    if !memo.adjustment_positive.is_zero() || !memo.adjustment_negative.is_zero() {
        description.push_str(&format!(
            "; adjustment refund {}, adjustment fee {}",
            memo.adjustment_positive, memo.adjustment_negative
        ));
    }
    Ok(vec![ErpDocument::CreditNote(CreditNoteDoc {
        external_id: ids::credit_memo(&key.system, store, &memo.entity_id),
        customer: sold_to.code,
        date: memo.created_at.date_naive(),
        currency: t.currency.clone(),
        net_amount: net,
        tax_amount: t.tax,
        gross_amount: gross,
        linked_invoice,
        order_ref: memo
            .order_number
            .as_deref()
            .map(|n| ids::order(&key.system, store, n)),
        refund_method: Some(method.into()),
        description: Some(description),
    })])
}
