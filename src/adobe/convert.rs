//! Wire → canonical conversion, counting every sold unit exactly once (reference §5).
//!
//! * **Configurable**: the parent row carries price, quantity, tax and discount and its `sku` is
//!   already the chosen variant; the child row (price 0, same SKU) is dropped.
//!   → [`LineRole::ConfigurableParent`].
//! * **Bundle**: the parent's SKU is a generated concatenation. With dynamic pricing the children
//!   carry their own prices and add up to the parent's row total: the children are emitted
//!   ([`LineRole::BundleComponent`]) and the parent dropped. With fixed pricing (children priced
//!   0, or not adding up) — or when [`BundleLines::Kit`] is chosen — the parent is emitted as one
//!   kit line ([`LineRole::BundleKit`]) and the children dropped. Never both.
//! * Invoices and credit memos list parent and child rows too; their rows are resolved through
//!   the order's items (`order_item_id`) with the same decisions ([`OrderContext`]). Without the
//!   order, rows without a `row_total` (dynamic bundle parents, configurable children) are dropped.
//! * Totals come in the order currency; `base_*` totals are kept separately when the base
//!   currency differs. Discounts become positive numbers.
//!
//! Conversion does not fail on a line sum that misses the subtotal — the record is still
//! delivered with its raw payload; [`reconcile`] is the guard a mapper applies before posting.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::search::parse_timestamp;
use super::wire::{
    WireAddress, WireCompany, WireCustomer, WireDocItem, WireOrder, WireOrderItem, WireProduct,
    WireSalesDoc,
};
use crate::error::{Error, Result};
use crate::model::{
    Address, Company, CompanyRef, CreditMemo, Currency, Customer, Invoice, InvoiceState, Line,
    LineRole, Money, Order, OrderParty, OrderStatus, Product, RefundMethod, Totals,
};

/// How bundle products become lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundleLines {
    /// Component lines for dynamically priced bundles (the parent dropped); a kit line for
    /// fixed-price bundles. The default.
    #[default]
    Components,
    /// Always one kit line from the bundle parent (look the real bundle SKU up by product id).
    Kit,
}

/// Conversion settings.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Bundle handling.
    pub bundle_lines: BundleLines,
    /// `store_id` → store view code, used for [`Order::channel`] (the store id as text
    /// otherwise).
    pub store_codes: HashMap<i64, String>,
    /// Currency of product prices (the website base currency); prices are left out without it.
    pub catalog_currency: Option<Currency>,
}

impl ConvertOptions {
    fn channel(&self, store_id: Option<i64>) -> Option<String> {
        store_id.map(|id| {
            self.store_codes
                .get(&id)
                .cloned()
                .unwrap_or_else(|| id.to_string())
        })
    }
}

fn dec(v: Option<Decimal>) -> Decimal {
    v.unwrap_or(Decimal::ZERO)
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
}

fn currency(record: &str, field: &str, code: Option<&str>) -> Result<Currency> {
    let code = code.ok_or_else(|| {
        Error::data(
            record,
            format!("`{field}` is missing"),
            "check the store's currency configuration; every sales document carries its currency codes",
        )
    })?;
    Currency::new(code).map_err(|_| {
        Error::data(
            record,
            format!("`{field}` = `{code}` is not an ISO 4217 code"),
            "check the store's currency configuration",
        )
    })
}

fn timestamp(record: &str, field: &str, v: &Option<String>) -> Result<DateTime<Utc>> {
    let s = v.as_deref().ok_or_else(|| {
        Error::data(
            record,
            format!("`{field}` is missing"),
            "the record must carry its timestamps; fetch it by id to get the full object",
        )
    })?;
    parse_timestamp(s).ok_or_else(|| {
        Error::data(
            record,
            format!("`{field}` = `{s}` is not a `YYYY-MM-DD HH:MM:SS` timestamp"),
            "check the store's database time zone settings (values must be UTC)",
        )
    })
}

/// The store-scoped source id of an order: `{store_id}:{increment_id}`.
///
/// `increment_id` is unique per store only (unique key `(increment_id, store_id)`), and the
/// store id is in every order payload, while the store *code* would need a lookup; the numeric
/// id is therefore used. Edited orders keep their suffix (`1:100000042-1`).
///
/// # Errors
/// [`Error::Data`] when the order lacks `increment_id` or `store_id`.
pub fn order_source_id(w: &WireOrder) -> Result<String> {
    let record = format!("adobe/orders/entity:{}", w.entity_id.unwrap_or_default());
    let inc = non_empty(&w.increment_id).ok_or_else(|| {
        Error::data(
            &record,
            "`increment_id` is missing",
            "read orders without a `fields` projection, or include increment_id and store_id in it",
        )
    })?;
    let store = w.store_id.ok_or_else(|| {
        Error::data(
            &record,
            "`store_id` is missing",
            "read orders without a `fields` projection, or include increment_id and store_id in it",
        )
    })?;
    Ok(format!("{store}:{inc}"))
}

/// An address from the wire shape.
pub fn address(a: &WireAddress) -> Address {
    let name = [non_empty(&a.firstname), non_empty(&a.lastname)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Address {
        name: Some(name).filter(|n| !n.is_empty()),
        company: non_empty(&a.company),
        street: a.street.iter().filter(|s| !s.is_empty()).cloned().collect(),
        city: non_empty(&a.city),
        region: non_empty(&a.region_code).or_else(|| non_empty(&a.region)),
        postcode: non_empty(&a.postcode),
        country: non_empty(&a.country_id),
        phone: non_empty(&a.telephone),
        email: non_empty(&a.email),
        vat_id: non_empty(&a.vat_id),
    }
}

fn order_status(state: Option<&str>) -> OrderStatus {
    match state.unwrap_or("new") {
        "pending_payment" | "payment_review" => OrderStatus::Pending,
        "holded" => OrderStatus::OnHold,
        "complete" => OrderStatus::Complete,
        "closed" => OrderStatus::Closed,
        "canceled" => OrderStatus::Cancelled,
        _ => OrderStatus::Open,
    }
}

/// The number of the order an edited order replaces (`100000042-1` replaces `100000042`,
/// `100000042-2` replaces `100000042-1`), from `relation_parent_real_id`, or from the suffix
/// when the edit fields say it is an edit.
pub fn replaced_order_number(w: &WireOrder) -> Option<String> {
    if let Some(p) = non_empty(&w.relation_parent_real_id) {
        return Some(p);
    }
    let inc = non_empty(&w.increment_id)?;
    let is_edit =
        w.edit_increment.unwrap_or(0) > 0 || non_empty(&w.original_increment_id).is_some();
    if !is_edit {
        return None;
    }
    let (base, n) = inc.rsplit_once('-')?;
    let n: u32 = n.parse().ok()?;
    match n {
        0 => None,
        1 => Some(base.to_string()),
        n => Some(format!("{base}-{}", n - 1)),
    }
}

/// What an order item counts as.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ItemRole {
    role: LineRole,
    parent: Option<String>,
}

/// Decides, for every order item, whether it is emitted and in which role.
fn item_roles(items: &[WireOrderItem], bundle_lines: BundleLines) -> HashMap<String, ItemRole> {
    let by_id: HashMap<&str, &WireOrderItem> = items
        .iter()
        .filter_map(|i| i.item_id.as_deref().map(|id| (id, i)))
        .collect();
    let mut children: HashMap<&str, Vec<&WireOrderItem>> = HashMap::new();
    for i in items {
        if let Some(p) = i.parent_item_id.as_deref()
            && by_id.contains_key(p)
        {
            children.entry(p).or_default().push(i);
        }
    }
    // Bundle parents whose components are emitted.
    let mut component_bundles: HashSet<&str> = HashSet::new();
    if bundle_lines == BundleLines::Components {
        for i in items {
            if i.product_type.as_deref() == Some("bundle")
                && let Some(id) = i.item_id.as_deref()
                && let Some(kids) = children.get(id)
            {
                let kids_sum: Decimal = kids.iter().map(|k| row_total(k)).sum();
                if !kids_sum.is_zero() && kids_sum == row_total(i) {
                    component_bundles.insert(id);
                }
            }
        }
    }
    let mut out = HashMap::new();
    for i in items {
        let Some(id) = i.item_id.as_deref() else {
            continue;
        };
        let parent = i
            .parent_item_id
            .as_deref()
            .and_then(|p| by_id.get(p).map(|pi| (p, *pi)));
        let role = match parent {
            Some((pid, p)) => match p.product_type.as_deref() {
                Some("configurable") => None,
                Some("bundle") if component_bundles.contains(pid) => Some(ItemRole {
                    role: LineRole::BundleComponent,
                    parent: Some(pid.to_string()),
                }),
                Some("bundle") => None,
                _ => Some(ItemRole {
                    role: LineRole::Standalone,
                    parent: Some(pid.to_string()),
                }),
            },
            None => match i.product_type.as_deref() {
                Some("configurable") => Some(ItemRole {
                    role: LineRole::ConfigurableParent,
                    parent: None,
                }),
                Some("bundle") if component_bundles.contains(id) => None,
                Some("bundle") => Some(ItemRole {
                    role: LineRole::BundleKit,
                    parent: None,
                }),
                _ => Some(ItemRole {
                    role: LineRole::Standalone,
                    parent: None,
                }),
            },
        };
        if let Some(r) = role {
            out.insert(id.to_string(), r);
        }
    }
    out
}

fn row_total(i: &WireOrderItem) -> Decimal {
    i.row_total
        .unwrap_or_else(|| dec(i.qty_ordered) * dec(i.price))
}

/// Order facts invoices and credit memos need: item roles, number, party.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderContext {
    /// The order's entity id.
    pub entity_id: String,
    /// The order's number.
    pub number: Option<String>,
    /// The order's store-scoped source id.
    pub source_id: Option<String>,
    /// Who placed it.
    pub party: OrderParty,
    roles: HashMap<String, ItemRole>,
}

impl OrderContext {
    /// Builds the context from an order.
    pub fn from_order(w: &WireOrder, opts: &ConvertOptions) -> Self {
        Self {
            entity_id: w.entity_id.unwrap_or_default().to_string(),
            number: non_empty(&w.increment_id),
            source_id: order_source_id(w).ok(),
            party: party(w),
            roles: item_roles(&w.items, opts.bundle_lines),
        }
    }
}

fn party(w: &WireOrder) -> OrderParty {
    let company = w
        .extension_attributes
        .as_ref()
        .and_then(|e| e.company_order_attributes.as_ref())
        .and_then(|c| {
            c.company_id.clone().map(|id| CompanyRef {
                id,
                name: non_empty(&c.company_name),
            })
        });
    let is_guest = w.customer_is_guest == Some(1) || w.customer_id.is_none();
    let name = [
        non_empty(&w.customer_firstname),
        non_empty(&w.customer_lastname),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    OrderParty {
        customer_id: if is_guest {
            None
        } else {
            w.customer_id.clone()
        },
        email: non_empty(&w.customer_email),
        name: Some(name).filter(|n| !n.is_empty()),
        is_guest,
        is_business: company.is_some(),
        company,
        tax_id: non_empty(&w.customer_taxvat),
    }
}

/// Converts an order.
///
/// # Errors
/// [`Error::Data`] when the order lacks its number, store, currency or creation time.
pub fn order(w: &WireOrder, opts: &ConvertOptions) -> Result<Order> {
    let source_id = order_source_id(w)?;
    let record = format!("adobe/orders/{source_id}");
    let order_cur = currency(
        &record,
        "order_currency_code",
        w.order_currency_code
            .as_deref()
            .or(w.base_currency_code.as_deref()),
    )?;
    let roles = item_roles(&w.items, opts.bundle_lines);
    let mut lines = Vec::new();
    for i in &w.items {
        let Some(id) = i.item_id.as_deref() else {
            continue;
        };
        let Some(r) = roles.get(id) else {
            continue;
        };
        lines.push(Line {
            line_id: id.to_string(),
            order_line_id: None,
            sku: i.sku.clone().unwrap_or_default(),
            name: non_empty(&i.name),
            quantity: dec(i.qty_ordered),
            unit_price: dec(i.price),
            row_total: row_total(i),
            discount: dec(i.discount_amount).abs(),
            tax: dec(i.tax_amount),
            role: r.role,
            parent_line_id: r.parent.clone(),
        });
    }
    let totals = Totals {
        currency: order_cur.clone(),
        subtotal: dec(w.subtotal),
        shipping: dec(w.shipping_amount),
        discount: dec(w.discount_amount).abs(),
        tax: dec(w.tax_amount),
        grand_total: dec(w.grand_total),
    };
    let base_totals = match w.base_currency_code.as_deref() {
        Some(code) if !code.eq_ignore_ascii_case(order_cur.as_str()) => Some(Totals {
            currency: currency(&record, "base_currency_code", Some(code))?,
            subtotal: dec(w.base_subtotal),
            shipping: dec(w.base_shipping_amount),
            discount: dec(w.base_discount_amount).abs(),
            tax: dec(w.base_tax_amount),
            grand_total: dec(w.base_grand_total),
        }),
        _ => None,
    };
    let shipping = w.extension_attributes.as_ref().and_then(|e| {
        e.shipping_assignments
            .iter()
            .find_map(|a| a.shipping.clone())
    });
    Ok(Order {
        number: non_empty(&w.increment_id).unwrap_or_default(),
        entity_id: w.entity_id.map(|e| e.to_string()),
        channel: opts.channel(w.store_id),
        status: order_status(w.state.as_deref()),
        source_status: w
            .status
            .clone()
            .or_else(|| w.state.clone())
            .unwrap_or_default(),
        placed_at: timestamp(&record, "created_at", &w.created_at)?,
        party: party(w),
        billing_address: w.billing_address.as_ref().map(address),
        shipping_address: shipping
            .as_ref()
            .and_then(|s| s.address.as_ref())
            .map(address),
        lines,
        totals,
        base_totals,
        customer_po: w.payment.as_ref().and_then(|p| non_empty(&p.po_number)),
        payment_method: w.payment.as_ref().and_then(|p| non_empty(&p.method)),
        shipping_method: shipping
            .as_ref()
            .and_then(|s| non_empty(&s.method))
            .or_else(|| non_empty(&w.shipping_description)),
        fulfilled_by: None,
        replaces: replaced_order_number(w),
    })
}

fn doc_lines(items: &[WireDocItem], ctx: Option<&OrderContext>) -> Vec<Line> {
    let mut out = Vec::new();
    for i in items {
        let order_item = i.order_item_id.clone();
        let role = match (ctx, order_item.as_deref()) {
            (Some(c), Some(oi)) if !c.roles.is_empty() => match c.roles.get(oi) {
                Some(r) => r.clone(),
                None => continue,
            },
            // Without the order: rows without a row total are the ones that do not count.
            _ => {
                if i.row_total.is_none() {
                    continue;
                }
                ItemRole {
                    role: LineRole::Standalone,
                    parent: None,
                }
            }
        };
        let qty = dec(i.qty);
        out.push(Line {
            line_id: i.entity_id.clone().unwrap_or_default(),
            order_line_id: order_item,
            sku: i.sku.clone().unwrap_or_default(),
            name: non_empty(&i.name),
            quantity: qty,
            unit_price: dec(i.price),
            row_total: i.row_total.unwrap_or_else(|| qty * dec(i.price)),
            discount: dec(i.discount_amount).abs(),
            tax: dec(i.tax_amount),
            role: role.role,
            parent_line_id: role.parent,
        });
    }
    out
}

fn doc_totals(record: &str, w: &WireSalesDoc) -> Result<Totals> {
    Ok(Totals {
        currency: currency(
            record,
            "order_currency_code",
            w.order_currency_code
                .as_deref()
                .or(w.base_currency_code.as_deref()),
        )?,
        subtotal: dec(w.subtotal),
        shipping: dec(w.shipping_amount),
        discount: dec(w.discount_amount).abs(),
        tax: dec(w.tax_amount),
        grand_total: dec(w.grand_total),
    })
}

fn doc_entity(stream: &str, w: &WireSalesDoc) -> Result<(String, String)> {
    let id = w.entity_id.ok_or_else(|| {
        Error::data(
            format!("adobe/{stream}/(unknown)"),
            "`entity_id` is missing",
            "read the list without a `fields` projection",
        )
    })?;
    let record = format!("adobe/{stream}/{id}");
    if w.order_id.is_none() {
        return Err(Error::data(
            &record,
            "`order_id` is missing",
            "read the list without a `fields` projection",
        ));
    }
    Ok((id.to_string(), record))
}

/// Converts an invoice; `ctx` (its order) resolves parent/child rows and the party.
///
/// # Errors
/// [`Error::Data`] when the invoice lacks its id, order id, currency or creation time.
pub fn invoice(
    w: &WireSalesDoc,
    ctx: Option<&OrderContext>,
    opts: &ConvertOptions,
) -> Result<Invoice> {
    let (id, record) = doc_entity("invoices", w)?;
    Ok(Invoice {
        number: non_empty(&w.increment_id).unwrap_or_else(|| id.clone()),
        entity_id: id,
        order_entity_id: w.order_id.unwrap_or_default().to_string(),
        order_number: ctx.and_then(|c| c.number.clone()),
        channel: opts.channel(w.store_id),
        state: match w.state {
            Some(1) => InvoiceState::Open,
            Some(3) => InvoiceState::Cancelled,
            _ => InvoiceState::Paid,
        },
        created_at: timestamp(&record, "created_at", &w.created_at)?,
        party: ctx.map(|c| c.party.clone()).unwrap_or_default(),
        lines: doc_lines(&w.items, ctx),
        totals: doc_totals(&record, w)?,
    })
}

/// Online (gateway transaction id present) or offline refund.
///
/// An online refund (`POST /V1/invoice/{id}/refund` against an invoice captured online) records
/// the gateway's refund transaction on the credit memo; an offline refund
/// (`POST /V1/order/{id}/refund`) has none.
pub fn refund_method(w: &WireSalesDoc) -> RefundMethod {
    match non_empty(&w.transaction_id) {
        Some(_) => RefundMethod::Online,
        None => RefundMethod::Offline,
    }
}

/// Converts a credit memo; `ctx` (its order) resolves parent/child rows and the party.
///
/// # Errors
/// [`Error::Data`] when the credit memo lacks its id, order id, currency or creation time.
pub fn credit_memo(
    w: &WireSalesDoc,
    ctx: Option<&OrderContext>,
    opts: &ConvertOptions,
) -> Result<CreditMemo> {
    let (id, record) = doc_entity("creditmemos", w)?;
    Ok(CreditMemo {
        number: non_empty(&w.increment_id).unwrap_or_else(|| id.clone()),
        entity_id: id,
        order_entity_id: w.order_id.unwrap_or_default().to_string(),
        order_number: ctx.and_then(|c| c.number.clone()),
        invoice_entity_id: w.invoice_id.filter(|i| *i > 0).map(|i| i.to_string()),
        channel: opts.channel(w.store_id),
        method: refund_method(w),
        created_at: timestamp(&record, "created_at", &w.created_at)?,
        party: ctx.map(|c| c.party.clone()).unwrap_or_default(),
        lines: doc_lines(&w.items, ctx),
        totals: doc_totals(&record, w)?,
        adjustment_positive: dec(w.adjustment_positive).abs(),
        adjustment_negative: dec(w.adjustment_negative).abs(),
    })
}

/// Converts a customer.
///
/// # Errors
/// [`Error::Data`] when the customer has no id.
pub fn customer(w: &WireCustomer) -> Result<Customer> {
    let id = w.id.ok_or_else(|| {
        Error::data(
            "adobe/customers/(unknown)",
            "`id` is missing",
            "read customers without a `fields` projection",
        )
    })?;
    let pick = |default_id: &Option<String>, flag: fn(&WireAddress) -> Option<bool>| {
        w.addresses
            .iter()
            .find(|a| default_id.is_some() && a.id == *default_id)
            .or_else(|| w.addresses.iter().find(|a| flag(a) == Some(true)))
            .map(address)
    };
    Ok(Customer {
        id: id.to_string(),
        email: non_empty(&w.email),
        first_name: non_empty(&w.firstname),
        last_name: non_empty(&w.lastname),
        company: w
            .extension_attributes
            .as_ref()
            .and_then(|e| e.company_attributes.as_ref())
            .and_then(|c| c.company_id.clone())
            .filter(|c| c != "0")
            .map(|id| CompanyRef { id, name: None }),
        billing_address: pick(&w.default_billing, |a| a.default_billing),
        shipping_address: pick(&w.default_shipping, |a| a.default_shipping),
        tax_id: non_empty(&w.taxvat),
        group: w.group_id.clone(),
        channel: w.website_id.clone(),
        created_at: w.created_at.as_deref().and_then(parse_timestamp),
    })
}

/// Converts a B2B company.
///
/// # Errors
/// [`Error::Data`] when the company has no id.
pub fn company(w: &WireCompany) -> Result<Company> {
    let id = w.id.ok_or_else(|| {
        Error::data(
            "adobe/companies/(unknown)",
            "`id` is missing",
            "read companies without a `fields` projection",
        )
    })?;
    let addr = Address {
        name: non_empty(&w.company_name),
        company: non_empty(&w.legal_name).or_else(|| non_empty(&w.company_name)),
        street: w.street.clone(),
        city: non_empty(&w.city),
        region: non_empty(&w.region),
        postcode: non_empty(&w.postcode),
        country: non_empty(&w.country_id),
        phone: non_empty(&w.telephone),
        email: non_empty(&w.company_email),
        vat_id: non_empty(&w.vat_tax_id),
    };
    Ok(Company {
        id: id.to_string(),
        name: non_empty(&w.company_name).unwrap_or_else(|| format!("company {id}")),
        legal_name: non_empty(&w.legal_name),
        email: non_empty(&w.company_email),
        tax_id: non_empty(&w.vat_tax_id),
        address: Some(addr),
        status: w.status.map(|s| {
            match s {
                0 => "pending_approval",
                1 => "active",
                2 => "rejected",
                3 => "blocked",
                _ => "unknown",
            }
            .to_string()
        }),
    })
}

/// Converts a product. `custom_attributes` become the `attributes` object; `ean`, `upc`,
/// `gtin` and `barcode` attributes become barcodes.
///
/// # Errors
/// [`Error::Data`] when the product has no SKU.
pub fn product(w: &WireProduct, opts: &ConvertOptions) -> Result<Product> {
    let sku = non_empty(&w.sku).ok_or_else(|| {
        Error::data(
            format!("adobe/products/id:{}", w.id.unwrap_or_default()),
            "`sku` is missing",
            "read products without a `fields` projection",
        )
    })?;
    let mut attributes = serde_json::Map::new();
    let mut barcodes = Vec::new();
    for a in &w.custom_attributes {
        let (Some(code), Some(value)) = (&a.attribute_code, &a.value) else {
            continue;
        };
        if matches!(code.as_str(), "ean" | "upc" | "gtin" | "barcode")
            && let Some(s) = super::wire::de::value_to_id(value)
        {
            barcodes.push(s);
        }
        attributes.insert(code.clone(), value.clone());
    }
    Ok(Product {
        sku,
        name: non_empty(&w.name),
        product_type: non_empty(&w.type_id),
        price: match (&opts.catalog_currency, w.price) {
            (Some(c), Some(p)) => Some(Money::new(p, c.clone())),
            _ => None,
        },
        active: w.status.unwrap_or(1) == 1,
        uom: None,
        barcodes,
        attributes: Value::Object(attributes),
    })
}

/// Checks that the lines add up to the subtotal: Σ `row_total` = `totals.subtotal`.
///
/// # Errors
/// [`Error::Data`] naming the record, both sums and the difference.
pub fn reconcile(record: &str, lines: &[Line], totals: &Totals) -> Result<()> {
    let sum: Decimal = lines.iter().map(|l| l.row_total).sum();
    if sum == totals.subtotal {
        Ok(())
    } else {
        Err(Error::data(
            record,
            format!(
                "line totals {sum} {} do not add up to the subtotal {} (difference {})",
                totals.currency,
                totals.subtotal,
                sum - totals.subtotal
            ),
            "check bundle/configurable rows (choose BundleLines::Kit for fixed-price bundles) and custom product types; nothing was posted",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: i64, ty: &str, sku: &str, parent: Option<i64>, price: i64) -> Value {
        json!({"item_id": id, "product_type": ty, "sku": sku, "parent_item_id": parent,
               "qty_ordered": 1, "price": price, "row_total": price})
    }

    fn order_json(items: Vec<Value>, subtotal: i64) -> Value {
        json!({"entity_id": 9, "increment_id": "100000042", "store_id": 1, "state": "processing",
               "created_at": "2024-01-01 10:00:00", "updated_at": "2024-01-01 10:00:00",
               "order_currency_code": "EUR", "base_currency_code": "USD",
               "subtotal": subtotal, "base_subtotal": subtotal * 2, "grand_total": subtotal,
               "customer_is_guest": 1, "customer_email": "g@example.com", "items": items})
    }

    #[test]
    fn fixed_price_bundle_becomes_one_kit_line() {
        let w: WireOrder = serde_json::from_value(order_json(
            vec![
                item(1, "bundle", "B-A-B", None, 50),
                item(2, "simple", "A", Some(1), 0),
                item(3, "simple", "B", Some(1), 0),
            ],
            50,
        ))
        .unwrap();
        let o = order(&w, &ConvertOptions::default()).unwrap();
        assert_eq!(o.lines.len(), 1);
        assert_eq!(o.lines[0].role, LineRole::BundleKit);
        reconcile("x", &o.lines, &o.totals).unwrap();
        assert!(o.party.is_guest);
        assert_eq!(o.party.customer_id, None);
        assert_eq!(o.base_totals.as_ref().unwrap().currency.as_str(), "USD");
        assert_eq!(o.base_totals.as_ref().unwrap().subtotal, Decimal::from(100));
    }

    #[test]
    fn kit_mode_keeps_dynamic_bundles_whole() {
        let w: WireOrder = serde_json::from_value(order_json(
            vec![
                item(1, "bundle", "B-A-B", None, 30),
                item(2, "simple", "A", Some(1), 10),
                item(3, "simple", "B", Some(1), 20),
            ],
            30,
        ))
        .unwrap();
        let comp = order(&w, &ConvertOptions::default()).unwrap();
        assert_eq!(comp.lines.len(), 2);
        assert!(comp.lines.iter().all(
            |l| l.role == LineRole::BundleComponent && l.parent_line_id.as_deref() == Some("1")
        ));
        let kit = order(
            &w,
            &ConvertOptions {
                bundle_lines: BundleLines::Kit,
                ..ConvertOptions::default()
            },
        )
        .unwrap();
        assert_eq!(kit.lines.len(), 1);
        reconcile("x", &kit.lines, &kit.totals).unwrap();
        reconcile("x", &comp.lines, &comp.totals).unwrap();
    }

    #[test]
    fn edited_orders_name_the_order_they_replace() {
        let mut v = order_json(vec![], 0);
        v["increment_id"] = json!("100000042-2");
        v["edit_increment"] = json!(2);
        v["original_increment_id"] = json!("100000042");
        let w: WireOrder = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(replaced_order_number(&w).as_deref(), Some("100000042-1"));
        v["relation_parent_real_id"] = json!("100000042-1");
        v["increment_id"] = json!("100000042-2");
        let w: WireOrder = serde_json::from_value(v).unwrap();
        assert_eq!(
            order(&w, &ConvertOptions::default())
                .unwrap()
                .replaces
                .as_deref(),
            Some("100000042-1")
        );
        // A prefix with a dash is not an edit.
        let w: WireOrder = serde_json::from_value(json!({"increment_id": "WA-0003"})).unwrap();
        assert_eq!(replaced_order_number(&w), None);
    }

    #[test]
    fn reconcile_names_the_difference() {
        let w: WireOrder =
            serde_json::from_value(order_json(vec![item(1, "simple", "A", None, 10)], 12)).unwrap();
        let o = order(&w, &ConvertOptions::default()).unwrap();
        let e = reconcile("adobe/orders/1:100000042", &o.lines, &o.totals)
            .unwrap_err()
            .to_string();
        assert!(e.contains("difference -2"), "{e}");
        assert!(e.contains("adobe/orders/1:100000042"), "{e}");
    }

    #[test]
    fn refunds_with_a_gateway_transaction_are_online() {
        let on: WireSalesDoc = serde_json::from_value(json!({"entity_id": 1, "order_id": 2,
            "invoice_id": 3, "transaction_id": "ch_123-refund", "created_at": "2024-01-01 00:00:00",
            "order_currency_code": "USD", "adjustment_negative": 5}))
        .unwrap();
        let off: WireSalesDoc = serde_json::from_value(json!({"entity_id": 2, "order_id": 2,
            "invoice_id": 0, "created_at": "2024-01-01 00:00:00", "order_currency_code": "USD"}))
        .unwrap();
        let o = ConvertOptions::default();
        let on = credit_memo(&on, None, &o).unwrap();
        let off = credit_memo(&off, None, &o).unwrap();
        assert_eq!(on.method, RefundMethod::Online);
        assert_eq!(on.invoice_entity_id.as_deref(), Some("3"));
        assert_eq!(on.adjustment_negative, Decimal::from(5));
        assert_eq!(off.method, RefundMethod::Offline);
        assert_eq!(off.invoice_entity_id, None);
    }
}
