//! Canonical documents → QAD JSON (reference qad.md §10.5). Pure functions: no I/O.
//!
//! Property names that rest on public loader code (customers, sales-order headers and lines,
//! unplanned receipts) follow that code; the Financials documents (AR invoice, credit note,
//! journal) mirror the Financials API datasets (`BDInvoice`, `BJournalEntry`) and must be
//! confirmed per tenant — docs/qad.md lists them.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::config::QadConfig;
use super::registry::{InvoiceEntry, UnplannedDef};
use super::wire::decimal_number;
use crate::error::{Error, Result};
use crate::model::{
    CreditNoteDoc, CustomerDoc, InventoryAdjustmentDoc, ItemDoc, JournalDoc, ReceivableDoc,
    SalesOrderDoc, SalesOrderLine,
};

/// `YYYY-MM-DD`.
pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `YYYY-MM-DDT00:00:00.000Z` (the form sales orders use on the wire).
pub fn date_time(d: NaiveDate) -> String {
    format!("{}T00:00:00.000Z", date(d))
}

/// `{view_uri}:{k1}.{k2}` — QAD's record URI.
pub fn record_uri(view_uri: &str, keys: &[&str]) -> String {
    format!("{view_uri}:{}", keys.join("."))
}

/// The deterministic sales-order number for `external_id` in probe `slot` (0 first): `prefix`
/// followed by base-36 digits of SHA-256(external id [+ `#slot`]), `length` characters in all.
/// The sink probes slot 0, 1, … until it finds the order (same customer PO) or a free number,
/// so a hash collision with another order never merges two orders.
pub fn derive_order_number(external_id: &str, prefix: &str, length: usize, slot: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut h = Sha256::new();
    h.update(external_id.as_bytes());
    if slot > 0 {
        h.update(format!("#{slot}").as_bytes());
    }
    let digest = h.finalize();
    let mut n = u128::from_be_bytes(digest[..16].try_into().unwrap_or([0; 16]));
    let want = length.saturating_sub(prefix.len());
    let mut out = String::with_capacity(length);
    out.push_str(prefix);
    for _ in 0..want {
        out.push(DIGITS[(n % 36) as usize] as char);
        n /= 36;
    }
    out
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn opt(v: Option<&str>) -> Value {
    s(v.unwrap_or_default())
}

/// Customer create record (`customerV2s`), per the public loader's mandatory fields.
///
/// # Errors
/// [`Error::Config`] when a required GL profile default is missing.
pub fn customer_create(cfg: &QadConfig, view_uri: &str, doc: &CustomerDoc) -> Result<Value> {
    let d = &cfg.defaults().customer;
    if let Some(setting) = d.missing_required() {
        return Err(Error::config(
            setting,
            "is required to create QAD customers: ask the tenant's finance team for the GL profile code",
        ));
    }
    let addr = doc.address.clone().unwrap_or_default();
    let uri = record_uri(view_uri, &[cfg.shared_set(), &doc.code]);
    let search: String = doc
        .name
        .to_uppercase()
        .chars()
        .filter(|c| !c.is_control())
        .take(28)
        .collect();
    let street = |i: usize| s(addr.street.get(i).cloned().unwrap_or_default());
    let email = doc.email.clone().or(addr.email.clone()).unwrap_or_default();
    let mut rec = json!({
        "uri": uri,
        "instanceURI": uri,
        "customerCode": doc.code,
        "sharedSetCode": cfg.shared_set(),
        "customerID": 0,
        "sharedSetID": 0,
        "businessRelationCode": doc.code,
        "businessRelationName": doc.name,
        "isCreateBusinessRelationRequired": true,
        "addressName": addr.company.clone().or(addr.name.clone()).unwrap_or_else(|| doc.name.clone()),
        "addressSearchName": search,
        "addressTypeCode": d.address_type,
        "street1": street(0),
        "street2": street(1),
        "street3": street(2),
        "city": opt(addr.city.as_deref()),
        "zipCode": opt(addr.postcode.as_deref()),
        "stateCode": opt(addr.region.as_deref()),
        "countryCode": opt(addr.country.as_deref()),
        "telephone": opt(addr.phone.as_deref()),
        "languageCode": d.language,
        "isActive": true,
        "currencyCode": doc.currency.as_str(),
        "customerCurrencyCode": doc.currency.as_str(),
        "creditTermsCode": doc.credit_terms.clone().unwrap_or_else(|| d.credit_terms.clone()),
        "invoiceStatusCode": d.invoice_status,
        "invoiceControlGLProfileCode": d.invoice_control_gl_profile,
        "creditNoteControlGLProfileCode": d.credit_note_control_gl_profile,
        "prePaymentControlGLProfileCode": d.prepayment_control_gl_profile,
        "salesAccountGLProfileCode": d.sales_account_gl_profile,
        "isTaxable": true,
        "EMail": email,
        "dataOperation": "C",
        "concurrencyHash": "",
        "disallowedActions": "",
        "disallowedActionsMessage": "",
        "customerContactV2s": [],
        "bankNumberRefV2s": []
    });
    if let Some(t) = &d.customer_type {
        rec["customerTypeCode"] = s(t.clone());
    }
    Ok(rec)
}

/// Patches an existing customer record (as read) with the document's name, address and e-mail
/// for an update; everything else (keys, `concurrencyHash`, profiles) stays as QAD sent it.
pub fn customer_patch(mut existing: Value, doc: &CustomerDoc) -> Value {
    let addr = doc.address.clone().unwrap_or_default();
    if let Some(o) = existing.as_object_mut() {
        o.insert("businessRelationName".into(), s(doc.name.clone()));
        o.insert(
            "addressName".into(),
            s(addr
                .company
                .clone()
                .or(addr.name.clone())
                .unwrap_or_else(|| doc.name.clone())),
        );
        for (i, key) in ["street1", "street2", "street3"].into_iter().enumerate() {
            if let Some(v) = addr.street.get(i) {
                o.insert(key.into(), s(v.clone()));
            }
        }
        for (key, v) in [
            ("city", &addr.city),
            ("zipCode", &addr.postcode),
            ("stateCode", &addr.region),
            ("countryCode", &addr.country),
            ("telephone", &addr.phone),
        ] {
            if let Some(v) = v {
                o.insert(key.into(), s(v.clone()));
            }
        }
        if let Some(e) = doc.email.clone().or(addr.email) {
            o.insert("EMail".into(), s(e));
        }
        if let Some(t) = &doc.credit_terms {
            o.insert("creditTermsCode".into(), s(t.clone()));
        }
    }
    existing
}

/// Patches the per-domain customer record (`mfgCustomers`) with the default site and daybook
/// set.
pub fn mfg_customer_patch(mut existing: Value, cfg: &QadConfig) -> Value {
    if let Some(o) = existing.as_object_mut() {
        o.insert("siteCode".into(), s(cfg.default_site()));
        if let Some(ds) = &cfg.defaults().customer.daybook_set {
            o.insert("daybookSetCode".into(), s(ds.clone()));
        }
    }
    existing
}

/// Item create record (`items`; the payload is not public — enabled per tenant only).
pub fn item_create(cfg: &QadConfig, view_uri: &str, doc: &ItemDoc) -> Value {
    let uri = record_uri(view_uri, &[cfg.domain(), &doc.code]);
    json!({
        "uri": uri,
        "domainCode": cfg.domain(),
        "itemCode": doc.code,
        "description1": doc.description.chars().take(24).collect::<String>(),
        "description2": doc.description.chars().skip(24).take(24).collect::<String>(),
        "unitOfMeasure": doc.uom.clone().unwrap_or_else(|| "EA".into()),
        "dataOperation": "C",
        "concurrencyHash": ""
    })
}

/// The customer PO written on the order: the document's, else its external id; refused when
/// longer than the tenant's PO field.
///
/// # Errors
/// [`Error::Data`] when the PO does not fit.
pub fn order_po(cfg: &QadConfig, doc: &SalesOrderDoc) -> Result<String> {
    let po = if doc.customer_po.trim().is_empty() {
        doc.external_id.clone()
    } else {
        doc.customer_po.trim().to_string()
    };
    let max = cfg.defaults().sales_order.po_max_len;
    if po.chars().count() > max {
        return Err(Error::data(
            &doc.external_id,
            format!("customer PO `{po}` is longer than QAD's {max}-character PO field"),
            "map a shorter customer PO, or raise qad.defaults.sales_order.po_max_len if the tenant's field is longer",
        ));
    }
    if po.contains(',') {
        return Err(Error::data(
            &doc.external_id,
            format!("customer PO `{po}` contains a comma, which QAD browse filters cannot match"),
            "map the customer PO without commas",
        ));
    }
    Ok(po)
}

/// Sales-order header (`salesOrderHeaders`).
///
/// # Errors
/// [`Error::Data`] when the PO does not fit.
pub fn sales_order_header(
    cfg: &QadConfig,
    view_uri: &str,
    po_field: &str,
    remarks_field: &str,
    doc: &SalesOrderDoc,
    number: &str,
) -> Result<Value> {
    let so = &cfg.defaults().sales_order;
    let uri = record_uri(view_uri, &[cfg.domain(), number]);
    let bill_to = doc.bill_to.clone().unwrap_or_else(|| doc.customer.clone());
    let ship_to = doc.ship_to.clone().unwrap_or_else(|| doc.customer.clone());
    let mut rec = json!({
        "uri": uri,
        "salesOrderNumber": number,
        "domainCode": cfg.domain(),
        "soldToCustomerCode": doc.customer,
        "billToCustomerCode": bill_to,
        "shipToCustomerCode": ship_to,
        "siteCode": doc.site.clone().unwrap_or_else(|| cfg.default_site().to_string()),
        "currencyCode": doc.currency.as_str(),
        "orderDate": date_time(doc.order_date),
        "dueDate": date_time(doc.due_date),
        "isTaxable": true,
        "isConfirmed": so.confirmed,
        "dataOperation": "C",
        "concurrencyHash": "",
        "supplementaryMessages": [],
        "SOSalespersons": [],
        "SOSaveOptions": [],
        "soDraftMappings": []
    });
    let o = rec.as_object_mut().expect("object literal");
    o.insert(po_field.into(), s(order_po(cfg, doc)?));
    o.insert(remarks_field.into(), s(doc.external_id.clone()));
    if let Some(ds) = &so.daybook_set {
        o.insert("daybookSetCode".into(), s(ds.clone()));
    }
    if let Some(ct) = &so.credit_terms {
        o.insert("creditTermsCode".into(), s(ct.clone()));
    }
    Ok(rec)
}

/// The value the sink sets for one line field before its fieldChange call.
///
/// # Errors
/// [`Error::Data`] for amounts that cannot be written exactly; [`Error::Config`] for a field
/// the sink does not know (the registry grammar prevents that).
pub fn line_field_value(
    cfg: &QadConfig,
    doc: &SalesOrderDoc,
    line: &SalesOrderLine,
    field: &str,
) -> Result<Value> {
    let what = format!("{} line {}", doc.external_id, line.line);
    Ok(match field {
        "itemCode" => s(line.item.clone()),
        "siteCode" => s(line
            .site
            .clone()
            .or(doc.site.clone())
            .unwrap_or_else(|| cfg.default_site().to_string())),
        "quantityOrdered" => decimal_number(line.quantity, &what)?,
        "listPrice" => decimal_number(line.list_price, &what)?,
        "netPrice" => decimal_number(line.net_price, &what)?,
        "discountFormatted" => s(discount_percent(line.list_price, line.net_price).to_string()),
        "dueDate" => s(date_time(doc.due_date)),
        "description" => s(line.description.clone().unwrap_or_default()),
        "isTaxable" => Value::Bool(line.taxable),
        other => {
            return Err(Error::config(
                "qad.registry.sales_order.lines.field_order",
                format!("`{other}` is not a line field the sink can fill"),
            ));
        }
    })
}

/// `(list − net) / list × 100`, rounded to 4 places; 0 when there is no list price.
pub fn discount_percent(list: Decimal, net: Decimal) -> Decimal {
    if list <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    ((list - net) / list * Decimal::ONE_HUNDRED)
        .round_dp(4)
        .normalize()
}

/// AR invoice or credit note (`customerInvoices`, INF): `amount` is the gross amount (debit for
/// an invoice, credit for a credit note).
///
/// # Errors
/// [`Error::Data`] for amounts that cannot be written exactly.
#[allow(clippy::too_many_arguments)]
pub fn invoice(
    cfg: &QadConfig,
    entry: &InvoiceEntry,
    external_id: &str,
    customer: &str,
    daybook: &str,
    dates: (NaiveDate, NaiveDate, NaiveDate),
    currency: &str,
    amounts: (Decimal, Decimal, Decimal),
    purchase_order: Option<&str>,
    description: Option<&str>,
) -> Result<Value> {
    let (invoice_date, posting_date, due_date) = dates;
    let (net, tax, gross) = amounts;
    let is_credit = entry.invoice_type.eq_ignore_ascii_case("CREDITNOTE");
    let (debit, credit) = if is_credit {
        (Decimal::ZERO, gross)
    } else {
        (gross, Decimal::ZERO)
    };
    let mut rec = json!({
        "entityCode": cfg.entity(),
        "domainCode": cfg.domain(),
        "daybookCode": daybook,
        "invoiceType": entry.invoice_type,
        "voucher": 0,
        "customerCode": customer,
        "soldToCustomerCode": customer,
        "invoiceDate": date(invoice_date),
        "postingDate": date(posting_date),
        "dueDate": date(due_date),
        "currencyCode": currency,
        "purchaseOrder": purchase_order.unwrap_or_default(),
        "description": description.unwrap_or_default(),
        "originalDebitTC": decimal_number(debit, external_id)?,
        "originalCreditTC": decimal_number(credit, external_id)?,
        "netAmountTC": decimal_number(net, external_id)?,
        "taxAmountTC": decimal_number(tax, external_id)?,
        "isTaxable": !tax.is_zero(),
        "dataOperation": "C"
    });
    rec.as_object_mut()
        .expect("object literal")
        .insert(entry.reference_field.clone(), s(external_id));
    Ok(rec)
}

/// Receivable → invoice record.
///
/// # Errors
/// As [`invoice`].
pub fn receivable(cfg: &QadConfig, entry: &InvoiceEntry, doc: &ReceivableDoc) -> Result<Value> {
    if doc.net_amount + doc.tax_amount != doc.gross_amount {
        return Err(Error::data(
            &doc.external_id,
            format!(
                "net {} + tax {} ≠ gross {}",
                doc.net_amount, doc.tax_amount, doc.gross_amount
            ),
            "fix the receivable amounts in the mapper; nothing was posted",
        ));
    }
    invoice(
        cfg,
        entry,
        &doc.external_id,
        &doc.customer,
        &cfg.defaults().invoice_daybook,
        (doc.invoice_date, doc.posting_date, doc.due_date),
        doc.currency.as_str(),
        (doc.net_amount, doc.tax_amount, doc.gross_amount),
        doc.customer_po.as_deref(),
        doc.description.as_deref(),
    )
}

/// Credit note → invoice record of the credit-note type; `linked_voucher` is the QAD key of the
/// invoice it reverses, when there is one.
///
/// # Errors
/// As [`invoice`].
pub fn credit_note(
    cfg: &QadConfig,
    entry: &InvoiceEntry,
    doc: &CreditNoteDoc,
    linked_voucher: Option<&str>,
) -> Result<Value> {
    if doc.net_amount < Decimal::ZERO
        || doc.tax_amount < Decimal::ZERO
        || doc.net_amount + doc.tax_amount != doc.gross_amount
    {
        return Err(Error::data(
            &doc.external_id,
            format!(
                "credit note amounts must be positive with net + tax = gross (net {}, tax {}, gross {})",
                doc.net_amount, doc.tax_amount, doc.gross_amount
            ),
            "fix the credit memo mapping; nothing was posted",
        ));
    }
    let mut rec = invoice(
        cfg,
        entry,
        &doc.external_id,
        &doc.customer,
        &cfg.defaults().credit_note_daybook,
        (doc.date, doc.date, doc.date),
        doc.currency.as_str(),
        (doc.net_amount, doc.tax_amount, doc.gross_amount),
        None,
        doc.description.as_deref(),
    )?;
    if let Some(v) = linked_voucher {
        rec["linkedInvoiceVoucher"] = s(v);
    }
    Ok(rec)
}

/// GL journal (`journalEntries`, INF). Call [`JournalDoc::check_balanced`] first.
///
/// # Errors
/// [`Error::Data`] for amounts that cannot be written exactly.
pub fn journal(
    cfg: &QadConfig,
    lines_collection: &str,
    reference_field: &str,
    doc: &JournalDoc,
) -> Result<Value> {
    let daybook = doc
        .daybook
        .clone()
        .unwrap_or_else(|| cfg.defaults().journal_daybook.clone());
    let lines = doc
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(json!({
                "lineNumber": i + 1,
                "glCode": l.account,
                "subAccountCode": opt(l.sub_account.as_deref()),
                "costCenterCode": opt(l.cost_center.as_deref()),
                "projectCode": opt(l.project.as_deref()),
                "currencyCode": l.currency.as_str(),
                "debitTC": decimal_number(l.debit, &doc.external_id)?,
                "creditTC": decimal_number(l.credit, &doc.external_id)?,
                "description": l.description,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut rec = json!({
        "entityCode": cfg.entity(),
        "domainCode": cfg.domain(),
        "daybookCode": daybook,
        "postingDate": date(doc.posting_date),
        "voucher": 0,
        "description": doc.description,
        "dataOperation": "C"
    });
    let o = rec.as_object_mut().expect("object literal");
    o.insert(reference_field.into(), s(doc.reference()));
    o.insert(lines_collection.into(), Value::Array(lines));
    Ok(rec)
}

/// The value the sink sets for one unplanned-detail field.
///
/// # Errors
/// [`Error::Data`] for quantities that cannot be written exactly.
pub fn unplanned_field_value(
    cfg: &QadConfig,
    doc: &InventoryAdjustmentDoc,
    field: &str,
) -> Result<Value> {
    Ok(match field {
        "itemCode" => s(doc.item.clone()),
        "transactionQuantity" => decimal_number(doc.quantity.abs(), &doc.external_id)?,
        "location" => s(doc
            .location
            .clone()
            .unwrap_or_else(|| cfg.defaults().inventory_location.clone())),
        "lotSerial" => s(""),
        other => {
            return Err(Error::config(
                "qad.registry.inventory_adjustment.receipt.field_order",
                format!("`{other}` is not a field the sink can fill"),
            ));
        }
    })
}

/// Fills the first detail of an unplanned template tree with every field the sink sets
/// (including those not sent through validation) and the external reference.
///
/// # Errors
/// [`Error::Data`] when the template has no detail to fill.
pub fn unplanned_fill(
    cfg: &QadConfig,
    def: &UnplannedDef,
    tree: &mut Value,
    doc: &InventoryAdjustmentDoc,
) -> Result<()> {
    let detail = first_detail_mut(tree, def).ok_or_else(|| {
        Error::data(
            &doc.external_id,
            format!(
                "QAD's {} template has no `{}` entry to fill",
                def.component.path, def.detail_collection
            ),
            "check qad.registry.inventory_adjustment collections against a GET of the component on the tenant",
        )
    })?;
    for f in ["itemCode", "transactionQuantity", "location", "lotSerial"] {
        detail.insert(f.into(), unplanned_field_value(cfg, doc, f)?);
    }
    detail.insert(def.reference_field.clone(), s(doc.reference()));
    detail.insert("description".into(), s(doc.reason.clone()));
    Ok(())
}

/// The header of an unplanned tree.
pub fn first_header_mut<'a>(
    tree: &'a mut Value,
    def: &UnplannedDef,
) -> Option<&'a mut Map<String, Value>> {
    tree.get_mut(&def.component.collection)?
        .as_array_mut()?
        .first_mut()?
        .as_object_mut()
}

/// The first detail of an unplanned tree.
pub fn first_detail_mut<'a>(
    tree: &'a mut Value,
    def: &UnplannedDef,
) -> Option<&'a mut Map<String, Value>> {
    first_header_mut(tree, def)?
        .get_mut(&def.detail_collection)?
        .as_array_mut()?
        .first_mut()?
        .as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_are_deterministic_and_shaped() {
        let a = derive_order_number("adobe:default:order:000000042", "W", 8, 0);
        assert_eq!(
            a,
            derive_order_number("adobe:default:order:000000042", "W", 8, 0)
        );
        assert_eq!(a.len(), 8);
        assert!(a.starts_with('W'));
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_ne!(
            a,
            derive_order_number("adobe:default:order:000000042", "W", 8, 1)
        );
        assert_ne!(
            a,
            derive_order_number("adobe:default:order:000000043", "W", 8, 0)
        );
    }

    #[test]
    fn discount() {
        assert_eq!(
            discount_percent(Decimal::new(120, 0), Decimal::new(110, 0)).to_string(),
            "8.3333"
        );
        assert_eq!(discount_percent(Decimal::ZERO, Decimal::ONE), Decimal::ZERO);
    }
}
