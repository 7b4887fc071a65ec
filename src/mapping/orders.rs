//! Orders → sales orders (Adobe Commerce and Amazon), with the shared line guards and the
//! party → customer resolution used by invoices and credit memos too.
//!
//! Policies (see `docs/mapping.md`):
//!
//! * **Status**: `Pending` → nothing yet (amounts are provisional; the order is read again when it
//!   changes); `Cancelled` → nothing (it never reached the ERP; cancelling a posted order is an
//!   ERP-side action). Every other status maps.
//! * **Lines** arrive de-duplicated by the source adapter (one line per sold unit, see
//!   [`LineRole`](crate::model::LineRole)). The mapper still guards: no duplicate line ids, no
//!   line together with its parent, every row total within half a cent of quantity × unit price,
//!   and **Σ row totals = order subtotal** exactly — otherwise the order is refused, never
//!   guessed.
//! * **SKUs** go through the crosswalk; any unknown SKU holds the order with an error naming it.
//! * **Discounts**, **shipping** and **tax** follow [`DiscountPolicy`], [`ShippingPolicy`] and
//!   [`TaxPolicy`].

use std::collections::HashSet;
use std::fmt;

use chrono::Duration;
use rust_decimal::{Decimal, RoundingStrategy};

use super::MapContext;
use super::customers::{Party, PartyKind};
use super::ids;
use super::settings::{DiscountPolicy, ShippingPolicy, TaxPolicy};
use crate::error::{Error, Result};
use crate::model::{
    Address, Currency, CustomerDoc, ErpDocument, Line, Order, OrderParty, OrderStatus,
    SalesOrderDoc, SalesOrderLine, SourceRecord, SystemId, Totals,
};

/// Half a cent: the rounding a source may apply to a row total.
fn half_cent() -> Decimal {
    Decimal::new(5, 3)
}

/// Checks the lines of an order, invoice or credit memo against each other and the subtotal.
///
/// A line's `parent_line_id` is compared with the other lines' order-line ids: `order_line_id`
/// for invoice and credit-memo lines (whose parent reference is the parent's *order* row, as
/// Adobe Commerce links invoice rows to order rows), `line_id` for order lines.
///
/// # Errors
/// [`Error::Data`] naming `record` and what is wrong: duplicate line ids, a line emitted together
/// with its parent (counted twice), a non-positive quantity, a negative price or discount, a
/// row total that is not quantity × unit price, or Σ row totals ≠ subtotal (with the difference).
pub fn check_lines(
    record: &dyn fmt::Display,
    what: &str,
    lines: &[Line],
    totals: &Totals,
) -> Result<()> {
    let fix_adapter = "the source adapter must emit each sold unit once (see LineRole); fix the \
                       source record or the adapter, then replay";
    let mut ids: HashSet<&str> = HashSet::with_capacity(lines.len());
    for l in lines {
        if !ids.insert(l.line_id.as_str()) {
            return Err(Error::data(
                record,
                format!("{what} line id {} appears twice", l.line_id),
                fix_adapter,
            ));
        }
    }
    let order_rows: HashSet<&str> = lines
        .iter()
        .map(|l| l.order_line_id.as_deref().unwrap_or(&l.line_id))
        .collect();
    for l in lines {
        if let Some(parent) = l.parent_line_id.as_deref()
            && order_rows.contains(parent)
        {
            return Err(Error::data(
                record,
                format!(
                    "{what} line {} (SKU \"{}\") and its parent line {parent} are both present: \
                     parent and child would be counted twice",
                    l.line_id, l.sku
                ),
                fix_adapter,
            ));
        }
        if l.quantity <= Decimal::ZERO {
            return Err(Error::data(
                record,
                format!(
                    "{what} line {} (SKU \"{}\") has quantity {}",
                    l.line_id, l.sku, l.quantity
                ),
                "quantities must be positive; fix the source record, then replay",
            ));
        }
        if l.unit_price < Decimal::ZERO || l.discount < Decimal::ZERO || l.row_total < Decimal::ZERO
        {
            return Err(Error::data(
                record,
                format!(
                    "{what} line {} (SKU \"{}\") has a negative price, row total or discount",
                    l.line_id, l.sku
                ),
                "prices and discounts are positive numbers in the canonical model; fix the adapter",
            ));
        }
        if (l.quantity * l.unit_price - l.row_total).abs() > half_cent() {
            return Err(Error::data(
                record,
                format!(
                    "{what} line {} (SKU \"{}\"): row total {} ≠ quantity {} × unit price {}",
                    l.line_id, l.sku, l.row_total, l.quantity, l.unit_price
                ),
                fix_adapter,
            ));
        }
        if l.discount > l.row_total {
            return Err(Error::data(
                record,
                format!(
                    "{what} line {} (SKU \"{}\"): discount {} exceeds the row total {}",
                    l.line_id, l.sku, l.discount, l.row_total
                ),
                "fix the source record, then replay",
            ));
        }
    }
    let sum: Decimal = lines.iter().map(|l| l.row_total).sum();
    if sum != totals.subtotal {
        return Err(Error::data(
            record,
            format!(
                "{what} lines sum to {sum} {cur} but the subtotal is {sub} {cur} (difference {d}); \
                 a parent/child line may be missing or counted twice",
                cur = totals.currency,
                sub = totals.subtotal,
                d = sum - totals.subtotal
            ),
            fix_adapter,
        ));
    }
    Ok(())
}

/// The customer a document is sold to, and the customer master to create first, if the
/// connector owns it and no master stream delivers it (guests, derived marketplace customers,
/// business buyers).
pub(crate) struct SoldTo {
    pub code: String,
    pub master: Option<CustomerDoc>,
}

/// Resolves who a document is for (see `docs/mapping.md`, "Customers").
pub(crate) fn resolve_sold_to(
    record: &SourceRecord,
    party: &OrderParty,
    marketplace: Option<&str>,
    currency: &Currency,
    address: Option<&Address>,
    ctx: &MapContext,
) -> Result<SoldTo> {
    let settings = ctx.settings();
    let customers = ctx.customers();
    let system = record.key.system.as_str();
    let key = &record.key;
    let owned =
        |party: Party, name: String, is_business: bool, tax_id: Option<String>| -> Result<SoldTo> {
            let code = customers.resolve(key, &party, settings)?;
            let master = code.derived.then(|| CustomerDoc {
                external_id: party.external_id(),
                code: code.code.clone(),
                name,
                email: party_email(party.kind, &party.key),
                currency: currency.clone(),
                address: address.cloned(),
                tax_id,
                is_business,
                credit_terms: settings.credit_terms.clone(),
            });
            Ok(SoldTo {
                code: code.code,
                master,
            })
        };
    if record.key.system == SystemId::Amazon {
        if settings.business_buyers_own_customer
            && party.is_business
            && let Some(buyer) = party
                .tax_id
                .as_deref()
                .or(party.company.as_ref().and_then(|c| c.name.as_deref()))
                .or(party.name.as_deref())
                .filter(|s| !s.trim().is_empty())
        {
            let name = party
                .company
                .as_ref()
                .and_then(|c| c.name.clone())
                .or_else(|| party.name.clone())
                .unwrap_or_else(|| buyer.to_string());
            return owned(
                Party::new(PartyKind::BusinessBuyer, system, buyer),
                name,
                true,
                party.tax_id.clone(),
            );
        }
        let Some(mp) = marketplace.map(str::trim).filter(|m| !m.is_empty()) else {
            return Err(Error::data(
                key,
                "the order has no marketplace id, so its marketplace customer is unknown",
                "the Amazon adapter must set Order::channel to the marketplace id; fix it, then replay",
            ));
        };
        let party = Party::new(PartyKind::Marketplace, system, mp);
        let name = format!("Amazon {}", marketplace_label(mp));
        // Marketplace customers are shared: their master never carries a buyer's address.
        let code = customers.resolve(key, &party, settings)?;
        let master = code.derived.then(|| CustomerDoc {
            external_id: party.external_id(),
            code: code.code.clone(),
            name,
            email: None,
            currency: currency.clone(),
            address: None,
            tax_id: None,
            is_business: false,
            credit_terms: settings.credit_terms.clone(),
        });
        return Ok(SoldTo {
            code: code.code,
            master,
        });
    }
    if settings.b2b_orders_to_company
        && let Some(company) = &party.company
    {
        let p = Party::new(PartyKind::Company, system, &company.id);
        return Ok(SoldTo {
            code: customers.resolve(key, &p, settings)?.code,
            master: None,
        });
    }
    if !party.is_guest
        && let Some(id) = party
            .customer_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
    {
        let p = Party::new(PartyKind::Customer, system, id);
        return Ok(SoldTo {
            code: customers.resolve(key, &p, settings)?.code,
            master: None,
        });
    }
    if let Some(code) = &settings.guest_customer {
        return Ok(SoldTo {
            code: code.clone(),
            master: None,
        });
    }
    let Some(email) = party.email.as_deref().filter(|e| !e.trim().is_empty()) else {
        return Err(Error::data(
            key,
            "guest checkout without an e-mail: no customer can be derived",
            "set `guest_customer` in the mapping settings to a generic guest customer code, then replay",
        ));
    };
    let name = party
        .name
        .clone()
        .or_else(|| address.and_then(|a| a.name.clone()))
        .unwrap_or_else(|| email.to_string());
    owned(
        Party::new(PartyKind::Guest, system, email),
        name,
        false,
        party.tax_id.clone(),
    )
}

fn party_email(kind: PartyKind, key: &str) -> Option<String> {
    (kind == PartyKind::Guest).then(|| key.to_string())
}

/// A readable label for a marketplace id (the country), else the id itself.
pub fn marketplace_label(id: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("A2EUQ1WTGCTBG2", "CA"),
        ("ATVPDKIKX0DER", "US"),
        ("A1AM78C64UM0Y8", "MX"),
        ("A2Q3Y263D00KWC", "BR"),
        ("A28R8C7NBKEWEA", "IE"),
        ("A1RKKUPIHCS9HS", "ES"),
        ("A1F83G8C2ARO7P", "UK"),
        ("A13V1IB3VIYZZH", "FR"),
        ("AMEN7PMS3EDWL", "BE"),
        ("A1805IZSGTT6HS", "NL"),
        ("A1PA6795UKMFR9", "DE"),
        ("APJ6JRA9NG5V4", "IT"),
        ("A2NODRKZP88ZB9", "SE"),
        ("AE08WJ6YKNBMC", "ZA"),
        ("A1C3SOZRARQ6R3", "PL"),
        ("ARBP9OOSHTCHU", "EG"),
        ("A33AVAJ2PDY3EV", "TR"),
        ("A17E79C6D8DWNP", "SA"),
        ("A2VIGQ35RCS4UG", "AE"),
        ("A21TJRUUN4KGV", "IN"),
        ("A19VAU5U5O7RUS", "SG"),
        ("A39IBJ37TRP1C6", "AU"),
        ("A1VC38T7YXB528", "JP"),
    ];
    KNOWN
        .iter()
        .find(|(k, _)| *k == id)
        .map_or_else(|| id.to_string(), |(_, c)| format!("{c} ({id})"))
}

/// Splits `amount` over `weights` in units of `10^-scale`, cent-exact: floor shares, then one
/// unit each to the largest remainders (ties: earlier first). Σ result = amount.
pub(crate) fn allocate(amount: Decimal, weights: &[Decimal], scale: u32) -> Option<Vec<Decimal>> {
    let total: Decimal = weights.iter().copied().sum();
    if amount.is_zero() {
        return Some(vec![Decimal::ZERO; weights.len()]);
    }
    if total <= Decimal::ZERO || weights.iter().any(|w| *w < Decimal::ZERO) {
        return None;
    }
    let unit = Decimal::new(1, scale);
    let mut shares = Vec::with_capacity(weights.len());
    let mut rema: Vec<(Decimal, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = amount.checked_mul(*w)?.checked_div(total)?;
        let floor = exact.round_dp_with_strategy(scale, RoundingStrategy::ToZero);
        shares.push(floor);
        rema.push((exact - floor, i));
    }
    let mut left = amount - shares.iter().copied().sum::<Decimal>();
    rema.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut k = 0;
    while left >= unit && !rema.is_empty() {
        shares[rema[k % rema.len()].1] += unit;
        left -= unit;
        k += 1;
    }
    Some(shares)
}

/// Decimal places used to allocate amounts: the finest scale among them, at least 2, at most 6.
pub(crate) fn money_scale<'a>(amounts: impl IntoIterator<Item = &'a Decimal>) -> u32 {
    amounts
        .into_iter()
        .map(|d| d.normalize().scale())
        .max()
        .unwrap_or(2)
        .clamp(2, 6)
}

/// Maps an order. See the module docs for the policies.
///
/// # Errors
/// [`Error::Data`] when the lines do not reconcile, a SKU is unknown, the customer cannot be
/// resolved or the discount cannot be carried.
pub fn map_order(
    record: &SourceRecord,
    order: &Order,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    match order.status {
        OrderStatus::Pending | OrderStatus::Cancelled => return Ok(Vec::new()),
        _ => {}
    }
    let key = &record.key;
    let settings = ctx.settings();
    if order.lines.is_empty() {
        return Err(Error::data(
            key,
            "order has no lines",
            "fix the source record or the adapter, then replay",
        ));
    }
    check_lines(key, "order", &order.lines, &order.totals)?;
    let totals = &order.totals;
    let amazon = key.system == SystemId::Amazon;
    let sold_to = resolve_sold_to(
        record,
        &order.party,
        order.channel.as_deref(),
        &totals.currency,
        order
            .billing_address
            .as_ref()
            .or(order.shipping_address.as_ref()),
        ctx,
    )?;

    // Items through the crosswalk; report every unknown SKU at once.
    let mut items = Vec::with_capacity(order.lines.len());
    let mut failures: Vec<Error> = Vec::new();
    for l in &order.lines {
        match ctx.skus().resolve(key, &l.sku) {
            Ok(item) => items.push(item),
            Err(e) => failures.push(e),
        }
    }
    if let Some(err) = combine_sku_errors(key, failures, ctx.skus().source()) {
        return Err(err);
    }

    // Discount: line discounts plus any order-level remainder.
    let line_discounts: Decimal = order.lines.iter().map(|l| l.discount).sum();
    let residual = totals.discount - line_discounts;
    if residual < Decimal::ZERO {
        return Err(Error::data(
            key,
            format!(
                "line discounts ({line_discounts}) exceed the order discount ({})",
                totals.discount
            ),
            "fix the source record or the adapter, then replay",
        ));
    }
    let taxable = settings.tax == TaxPolicy::ErpComputes;
    let fba = order
        .fulfilled_by
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("AMAZON") || f.eq_ignore_ascii_case("AFN"));
    let site = settings.stock_site(fba).map(String::from);
    let mut lines: Vec<SalesOrderLine> = Vec::with_capacity(order.lines.len() + 2);
    match &settings.discount {
        DiscountPolicy::NetPrice => {
            let weights: Vec<Decimal> = order
                .lines
                .iter()
                .map(|l| l.row_total - l.discount)
                .collect();
            let scale = money_scale(
                order
                    .lines
                    .iter()
                    .map(|l| &l.row_total)
                    .chain([&residual, &totals.discount]),
            );
            let shares = allocate(residual, &weights, scale).ok_or_else(|| {
                Error::data(
                    key,
                    format!(
                        "an order discount of {residual} cannot be spread over lines worth nothing"
                    ),
                    "use the discount-line policy (`[discount] policy = \"line\"`) for such orders",
                )
            })?;
            for (i, (l, item)) in order.lines.iter().zip(&items).enumerate() {
                let disc = l.discount + shares[i];
                let net_price = if disc.is_zero() {
                    l.unit_price
                } else {
                    let net_total = l.row_total - disc;
                    let exact = net_total / l.quantity;
                    let rounded = exact.round_dp(settings.price_scale);
                    if rounded * l.quantity == net_total {
                        rounded.normalize()
                    } else {
                        rounded
                    }
                };
                lines.push(so_line(i, item, l, net_price, taxable, None));
            }
        }
        DiscountPolicy::Line { item } => {
            for (i, (l, it)) in order.lines.iter().zip(&items).enumerate() {
                lines.push(so_line(i, it, l, l.unit_price, taxable, None));
            }
            if !totals.discount.is_zero() {
                lines.push(SalesOrderLine {
                    line: next_line(&lines),
                    item: item.clone(),
                    source_sku: item.clone(),
                    description: Some("Discount".into()),
                    quantity: Decimal::ONE,
                    uom: None,
                    list_price: -totals.discount,
                    net_price: -totals.discount,
                    taxable,
                    site: None,
                });
            }
        }
    }
    let mut freight = totals.shipping;
    if let ShippingPolicy::Line { item } = &settings.shipping {
        if !totals.shipping.is_zero() {
            lines.push(SalesOrderLine {
                line: next_line(&lines),
                item: item.clone(),
                source_sku: item.clone(),
                description: Some(
                    order
                        .shipping_method
                        .clone()
                        .unwrap_or_else(|| "Shipping".into()),
                ),
                quantity: Decimal::ONE,
                uom: None,
                list_price: totals.shipping,
                net_price: totals.shipping,
                taxable,
                site: None,
            });
        }
        freight = Decimal::ZERO;
    }

    let store = ids::store_scope(order.channel.as_deref(), key);
    let external_id = ids::order(&key.system, store, &order.number);
    let order_date = order.placed_at.date_naive();
    let mut doc = SalesOrderDoc {
        external_id: external_id.clone(),
        customer: sold_to.code,
        bill_to: None,
        ship_to: None,
        ship_to_address: order.shipping_address.clone(),
        order_date,
        due_date: order_date + Duration::days(settings.due_date_offset_days),
        site,
        currency: totals.currency.clone(),
        customer_po: order.number.clone(),
        lines,
        freight,
        tax: totals.tax,
        remarks: Some(remarks(&external_id, order, amazon)),
    };
    reconcile(key, &doc, order, settings.price_scale)?;
    if doc
        .lines
        .iter()
        .any(|l| l.net_price < Decimal::ZERO && l.quantity > Decimal::ZERO)
        && matches!(settings.discount, DiscountPolicy::NetPrice)
    {
        return Err(Error::data(
            key,
            "a discount makes a line's net price negative",
            "use the discount-line policy, then replay",
        ));
    }
    doc.lines.shrink_to_fit();
    let mut out = Vec::with_capacity(2);
    if let Some(master) = sold_to.master {
        out.push(ErpDocument::Customer(master));
    }
    out.push(ErpDocument::SalesOrder(doc));
    Ok(out)
}

fn so_line(
    i: usize,
    item: &str,
    l: &Line,
    net_price: Decimal,
    taxable: bool,
    site: Option<String>,
) -> SalesOrderLine {
    SalesOrderLine {
        line: u32::try_from(i + 1).unwrap_or(u32::MAX),
        item: item.to_string(),
        source_sku: l.sku.clone(),
        description: l.name.clone(),
        quantity: l.quantity,
        uom: None,
        list_price: l.unit_price,
        net_price,
        taxable,
        site,
    }
}

fn next_line(lines: &[SalesOrderLine]) -> u32 {
    lines.last().map_or(1, |l| l.line + 1)
}

fn remarks(external_id: &str, order: &Order, amazon: bool) -> String {
    let mut r = external_id.to_string();
    if let Some(po) = order.customer_po.as_deref().filter(|p| !p.is_empty()) {
        r.push_str(&format!("; buyer PO {po}"));
    }
    if let Some(prev) = order.replaces.as_deref() {
        r.push_str(&format!("; replaces order {prev}"));
    }
    if amazon && let Some(f) = order.fulfilled_by.as_deref() {
        r.push_str(&format!("; fulfilled by {f}"));
    }
    r
}

/// The sales order's goods value (Σ quantity × net price) must equal subtotal − discount, within
/// the rounding the document can carry: half a cent per source row plus half a unit of the
/// price scale per unit ordered.
fn reconcile(
    record: &dyn fmt::Display,
    doc: &SalesOrderDoc,
    order: &Order,
    price_scale: u32,
) -> Result<()> {
    let t = &order.totals;
    let expected = t.subtotal - t.discount + (t.shipping - doc.freight);
    let actual = doc.net_lines_total();
    let per_unit = Decimal::new(5, price_scale + 1);
    let tolerance: Decimal = order
        .lines
        .iter()
        .map(|l| half_cent() + l.quantity * per_unit)
        .sum();
    if (actual - expected).abs() > tolerance {
        return Err(Error::data(
            record,
            format!(
                "mapped lines total {actual} but subtotal − discount (+ shipping line) is {expected} \
                 (difference {})",
                actual - expected
            ),
            "check the discount and shipping policies and the source totals, then replay",
        ));
    }
    Ok(())
}

/// One error for several unknown SKUs (each named), or the single error as is.
pub(crate) fn combine_sku_errors(
    record: &dyn fmt::Display,
    mut failures: Vec<Error>,
    source: &str,
) -> Option<Error> {
    match failures.len() {
        0 => None,
        1 => failures.pop(),
        n => {
            let messages: Vec<String> = failures
                .iter()
                .map(|e| match e {
                    Error::Data { message, .. } => message.clone(),
                    other => other.to_string(),
                })
                .collect();
            Some(Error::data(
                record,
                format!("{n} SKUs cannot be resolved: {}", messages.join("; ")),
                format!("add each SKU with its QAD item code to {source}, then replay"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn allocation_is_cent_exact_and_deterministic() {
        let w = [d("10"), d("10"), d("10")];
        let s = allocate(d("1.00"), &w, 2).unwrap();
        assert_eq!(s, vec![d("0.34"), d("0.33"), d("0.33")]);
        assert_eq!(s.iter().copied().sum::<Decimal>(), d("1.00"));
        assert_eq!(allocate(d("0"), &[d("0")], 2).unwrap(), vec![d("0")]);
        assert!(allocate(d("1"), &[d("0")], 2).is_none());
        let s = allocate(d("7.77"), &[d("22"), d("18"), d("68"), d("52")], 2).unwrap();
        assert_eq!(s.iter().copied().sum::<Decimal>(), d("7.77"));
    }

    #[test]
    fn labels_known_marketplaces() {
        assert_eq!(marketplace_label("ATVPDKIKX0DER"), "US (ATVPDKIKX0DER)");
        assert_eq!(marketplace_label("XYZ"), "XYZ");
    }
}
