//! Settlement → balanced GL journals (see `docs/settlement-accounting.md`).
//!
//! One engine, two modes ([`PostingMode`]):
//!
//! * **Mode A, summary**: the rows of each accounting period (month of `posted-date-time`) are
//!   summed per role account — a positive amount is a credit (money into the seller's Amazon
//!   balance), a negative one a debit. The last period's journal debits the **clearing** account
//!   with `total-amount` (credits it when negative). An earlier period's net is debited to the
//!   **carry-forward** account and credited back in the next period's journal, so every journal
//!   balances and the clearing line equals `total-amount`. Reserves go to the reserve role's
//!   account through the account map's rules.
//! * **Mode B, open items**: rows of the receivable roles that carry an `order-id` are applied
//!   against that order's open receivable ([`OpenItems`](super::OpenItems)) on the receivable
//!   role's account, up to the open amount; whatever does not match goes to the **variance**
//!   account for review. Everything else posts as in Mode A.
//!
//! Guards, all before any journal is returned: Σ rows = `total-amount` (to the cent), every row
//! classified by the account map and every role with an account (else the settlement is held),
//! every journal balanced ([`JournalDoc::check_balanced`]), `part` = the journal's period, and the
//! clearing line = `total-amount`. A `settlement-id` posts once: the journals' external id is
//! `amazon:settlement:{settlement-id}` and their job ids differ only by period.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::MapContext;
use super::accounts::AccountRef;
use super::ids;
use super::settings::PostingMode;
use crate::error::{Error, Result};
use crate::model::{
    Currency, ErpDocument, JournalDoc, JournalLine, Settlement, SettlementRow, SourceRecord,
};

/// An accounting period (calendar month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
}

impl Period {
    /// The period of `date`.
    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The last day of the period.
    pub fn last_day(self) -> NaiveDate {
        let (y, m) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.pred_opt())
            .expect("valid month")
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A role and its account: one potential journal line. Rows refer to slots by index.
struct Slot {
    role: String,
    account: AccountRef,
    receivable: bool,
}

/// Accumulates one journal's lines: net amount per slot, in first-seen order, then extra lines.
struct LineSet<'a> {
    currency: Currency,
    slots: &'a [Slot],
    order: Vec<usize>,
    acc: Vec<Option<Acc>>,
    extra: Vec<JournalLine>,
}

#[derive(Default)]
struct Acc {
    net: Decimal,
    rows: usize,
    descriptions: BTreeSet<String>,
}

impl<'a> LineSet<'a> {
    fn new(currency: Currency, slots: &'a [Slot]) -> Self {
        Self {
            currency,
            slots,
            order: Vec::new(),
            acc: (0..slots.len()).map(|_| None).collect(),
            extra: Vec::new(),
        }
    }

    fn add_row(&mut self, slot: usize, row: &SettlementRow) {
        let e = self.acc[slot].get_or_insert_with(|| {
            self.order.push(slot);
            Acc::default()
        });
        e.net += row.amount;
        e.rows += 1;
        if !e.descriptions.contains(&row.amount_description) {
            e.descriptions.insert(row.amount_description.clone());
        }
    }

    /// A single line: `amount` > 0 is a credit, < 0 a debit; zero adds nothing.
    fn add_line(&mut self, account: &AccountRef, amount: Decimal, description: String) {
        if let Some(line) = line(&self.currency, account, amount, description) {
            self.extra.push(line);
        }
    }

    fn into_lines(mut self) -> Vec<JournalLine> {
        let mut out = Vec::with_capacity(self.order.len() + self.extra.len());
        for &slot in &self.order {
            let a = self.acc[slot].take().expect("accumulated");
            let descs: Vec<&str> = a.descriptions.iter().map(String::as_str).collect();
            let description = format!(
                "{} — {} ({} row{})",
                self.slots[slot].role,
                descs.join(", "),
                a.rows,
                if a.rows == 1 { "" } else { "s" }
            );
            if let Some(l) = line(
                &self.currency,
                &self.slots[slot].account,
                a.net,
                description,
            ) {
                out.push(l);
            }
        }
        out.extend(self.extra);
        out
    }
}

fn line(
    currency: &Currency,
    account: &AccountRef,
    amount: Decimal,
    description: String,
) -> Option<JournalLine> {
    if amount.is_zero() {
        return None;
    }
    let (debit, credit) = if amount > Decimal::ZERO {
        (Decimal::ZERO, amount)
    } else {
        (-amount, Decimal::ZERO)
    };
    Some(JournalLine {
        account: account.account.clone(),
        sub_account: account.sub_account.clone(),
        cost_center: account.cost_center.clone(),
        project: None,
        currency: currency.clone(),
        debit,
        credit,
        description,
    })
}

/// Maps a settlement to its journals (one per accounting period). See the module docs.
///
/// # Errors
/// [`Error::Data`] naming the settlement when a guard fails; nothing is returned then.
pub fn map_settlement(
    record: &SourceRecord,
    s: &Settlement,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    Ok(settlement_journals(&record.key, s, ctx)?
        .into_iter()
        .map(ErpDocument::Journal)
        .collect())
}

/// The journals of a settlement, guards applied. An empty settlement (no rows, zero total)
/// yields none.
///
/// # Errors
/// [`Error::Data`] naming `record` when a guard fails.
pub fn settlement_journals(
    record: &dyn fmt::Display,
    s: &Settlement,
    ctx: &MapContext,
) -> Result<Vec<JournalDoc>> {
    let accounts = ctx.accounts();
    let settings = &ctx.settings().settlement;
    let currency = &s.total.currency;
    let sid = &s.settlement_id;

    // Guard 1: Σ rows = total-amount.
    let sum: Decimal = s.rows.iter().map(|r| r.amount).sum();
    if sum != s.total.amount {
        return Err(Error::data(
            record,
            format!(
                "settlement {sid}: rows sum to {sum} {currency} but total-amount is {} {currency} (difference {})",
                s.total.amount,
                sum - s.total.amount
            ),
            "the report is incomplete or mis-parsed (check the decimal format); fetch the settlement \
             report again, then replay — nothing was posted",
        ));
    }
    if s.rows.is_empty() {
        return Ok(Vec::new());
    }

    let settlement_mp: String = s
        .marketplace
        .clone()
        .filter(|m| !m.trim().is_empty())
        .or_else(|| {
            s.rows
                .iter()
                .filter_map(|r| r.marketplace_name.clone())
                .find(|m| !m.trim().is_empty())
        })
        .unwrap_or_default();
    let mp_opt = |m: &str| (!m.is_empty()).then_some(m.to_string());

    // Guard 2: every row classified, every role with an account. Classification is cached per
    // distinct (transaction-type, amount-type, amount-description, marketplace) and accounts per
    // (role, marketplace): settlements repeat a handful of row kinds thousands of times.
    let mut kinds: HashMap<(&str, &str, &str, &str), Option<usize>> = HashMap::new();
    let mut slot_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut slots: Vec<Slot> = Vec::new();
    let mut row_slots: Vec<usize> = Vec::with_capacity(s.rows.len());
    let mut unmapped: BTreeMap<(String, String, String, String), (usize, Decimal)> =
        BTreeMap::new();
    let mut missing_roles: BTreeSet<String> = BTreeSet::new();
    for r in &s.rows {
        let mp: &str = r
            .marketplace_name
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(&settlement_mp);
        let kind = (
            r.transaction_type.as_str(),
            r.amount_type.as_str(),
            r.amount_description.as_str(),
            mp,
        );
        let slot = match kinds.get(&kind) {
            Some(slot) => *slot,
            None => {
                let slot = accounts.classify(r, mp).map(|role| {
                    *slot_of.entry((role, mp)).or_insert_with(|| {
                        let account = accounts
                            .account(role, (!mp.is_empty()).then_some(mp))
                            .unwrap_or_else(|| {
                                missing_roles.insert(role.to_string());
                                AccountRef::default()
                            });
                        slots.push(Slot {
                            role: role.to_string(),
                            account,
                            receivable: settings.receivable_roles.iter().any(|x| x == role),
                        });
                        slots.len() - 1
                    })
                });
                kinds.insert(kind, slot);
                slot
            }
        };
        match slot {
            Some(slot) => row_slots.push(slot),
            None => {
                let e = unmapped
                    .entry((
                        r.amount_description.clone(),
                        r.transaction_type.clone(),
                        r.amount_type.clone(),
                        mp.to_string(),
                    ))
                    .or_default();
                e.0 += 1;
                e.1 += r.amount;
                row_slots.push(usize::MAX);
            }
        }
    }
    if !unmapped.is_empty() {
        let list: Vec<String> = unmapped
            .iter()
            .map(|((ad, tt, at, mp), (n, amt))| {
                format!(
                    "amount-description \"{ad}\" (transaction-type \"{tt}\", amount-type \"{at}\", marketplace \"{mp}\": {n} row{}, {amt} {currency})",
                    if *n == 1 { "" } else { "s" }
                )
            })
            .collect();
        let first = unmapped.keys().next().expect("non-empty");
        return Err(Error::data(
            record,
            format!(
                "settlement {sid} is held: {} unmapped in the account map: {}",
                if unmapped.len() == 1 {
                    "one row kind is"
                } else {
                    "row kinds are"
                },
                list.join("; ")
            ),
            format!(
                "add a rule for amount-description \"{}\" (and any other listed) with its role to {}, then replay",
                first.0,
                accounts.source()
            ),
        ));
    }
    if let Some(role) = missing_roles.iter().next() {
        return Err(Error::data(
            record,
            format!(
                "settlement {sid} is held: role(s) {} have no GL account in {}",
                missing_roles.iter().cloned().collect::<Vec<_>>().join(", "),
                accounts.source()
            ),
            format!(
                "add [roles.{role}] with `account = \"<GL account>\"` to {}, then replay",
                accounts.source()
            ),
        ));
    }
    let mp_main = mp_opt(&settlement_mp);
    let clearing = accounts.require(record, &settings.clearing_role, mp_main.as_deref())?;

    // Periods.
    let fallback_date = s.end.or(s.deposit_date).or(s.start).map(|t| t.date_naive());
    let mut row_periods = Vec::with_capacity(s.rows.len());
    for (i, r) in s.rows.iter().enumerate() {
        let date = r.posted_at.map(|t| t.date_naive()).or(fallback_date).ok_or_else(|| {
            Error::data(
                record,
                format!(
                    "settlement {sid}: row {} ({}) has no posted date and the settlement has no dates",
                    i + 1,
                    r.amount_description
                ),
                "the settlement parser must set posted_at (posted-date-time) or the settlement dates",
            )
        })?;
        row_periods.push(Period::of(date));
    }
    let last_row_period = *row_periods.iter().max().expect("rows non-empty");
    let closing = s
        .end
        .map(|e| Period::of(e.date_naive()))
        .filter(|p| *p > last_row_period)
        .unwrap_or(last_row_period);
    let mut rows_by_period: BTreeMap<Period, Vec<usize>> = BTreeMap::new();
    for (i, p) in row_periods.iter().enumerate() {
        rows_by_period.entry(*p).or_default().push(i);
    }
    let mut periods: Vec<Period> = rows_by_period.keys().copied().collect();
    if !rows_by_period.contains_key(&closing) {
        periods.push(closing);
    }
    let carry = if periods.len() > 1 {
        Some(accounts.require(record, &settings.carry_forward_role, mp_main.as_deref())?)
    } else {
        None
    };

    // Mode B.
    let open_items = ctx.open_items();
    let mode_b = settings.mode == PostingMode::OpenItems;
    let (receivable, variance) = if mode_b {
        (
            Some(accounts.require(record, &settings.receivable_role, mp_main.as_deref())?),
            Some(accounts.require(record, &settings.variance_role, mp_main.as_deref())?),
        )
    } else {
        (None, None)
    };
    let mut remaining: HashMap<&str, Decimal> = HashMap::new();

    let external_id = ids::settlement(sid);
    let daybook = settings
        .daybooks
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&settlement_mp))
        .map(|(_, v)| v.clone())
        .or_else(|| settings.daybook.clone());
    let span = match (s.start, s.end) {
        (Some(a), Some(b)) => format!(" {}..{}", a.date_naive(), b.date_naive()),
        _ => String::new(),
    };
    let n = periods.len();
    let mut carried = Decimal::ZERO;
    let mut prev: Option<Period> = None;
    let mut journals = Vec::with_capacity(n);
    for (pi, period) in periods.iter().enumerate() {
        let last = pi + 1 == n;
        let mut set = LineSet::new(currency.clone(), &slots);
        let mut period_net = Decimal::ZERO;
        // order-id → collected amount of receivable-role rows (Mode B).
        let mut collected: BTreeMap<&str, Decimal> = BTreeMap::new();
        for &i in rows_by_period
            .get(period)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let r = &s.rows[i];
            period_net += r.amount;
            let slot = row_slots[i];
            if mode_b
                && slots[slot].receivable
                && let Some(order) = r.order_id.as_deref().filter(|o| !o.trim().is_empty())
            {
                *collected.entry(order).or_default() += r.amount;
                continue;
            }
            set.add_row(slot, r);
        }
        if mode_b {
            let (ar, var) = (
                receivable.as_ref().expect("mode B"),
                variance.as_ref().expect("mode B"),
            );
            for (order, amount) in collected {
                let item = open_items
                    .get(order)
                    .filter(|it| &it.open.currency == currency);
                let left = remaining
                    .entry(order)
                    .or_insert_with(|| item.map_or(Decimal::ZERO, |it| it.open.amount));
                let applied =
                    if !left.is_zero() && left.is_sign_positive() == amount.is_sign_positive() {
                        let a = amount.abs().min(left.abs());
                        if amount.is_sign_negative() { -a } else { a }
                    } else {
                        Decimal::ZERO
                    };
                *left -= applied;
                if let Some(it) = item {
                    set.add_line(
                        ar,
                        applied,
                        format!("order {order}: applied to open item {}", it.reference),
                    );
                }
                let unmatched = amount - applied;
                let why = match open_items.get(order) {
                    None => "no open item".to_string(),
                    Some(it) if &it.open.currency != currency => {
                        format!("open item {} is in {}", it.reference, it.open.currency)
                    }
                    Some(it) => format!("beyond open item {} ({})", it.reference, it.open),
                };
                set.add_line(
                    var,
                    unmatched,
                    format!("order {order}: unmatched {unmatched} {currency} ({why})"),
                );
            }
        }
        if let (Some(cf), Some(p)) = (&carry, prev)
            && !carried.is_zero()
        {
            set.add_line(
                cf,
                carried,
                format!("{external_id}: balance carried forward from {p}"),
            );
        }
        carried += period_net;
        if last {
            set.add_line(
                &clearing,
                -carried,
                format!("{external_id}: settlement payout (total-amount)"),
            );
        } else if let Some(cf) = &carry {
            let next = periods[pi + 1];
            set.add_line(
                cf,
                -carried,
                format!("{external_id}: balance carried forward to {next}"),
            );
        }
        let posting_date = if last {
            s.end
                .map(|e| e.date_naive())
                .filter(|d| Period::of(*d) == *period)
                .unwrap_or_else(|| period.last_day())
        } else {
            period.last_day()
        };
        let description = if n == 1 {
            format!("{external_id} {period}: Amazon settlement {sid}{span}")
        } else {
            format!(
                "{external_id} {period}: Amazon settlement {sid}{span}, period {} of {n}",
                pi + 1
            )
        };
        let journal = JournalDoc {
            external_id: external_id.clone(),
            part: period.to_string(),
            posting_date,
            daybook: daybook.clone(),
            description,
            lines: set.into_lines(),
        };
        journal.check_balanced().map_err(|e| match e {
            Error::Data { message, fix, .. } => Error::data(record, message, fix),
            other => other,
        })?;
        journals.push(journal);
        prev = Some(*period);
    }

    // Guard: the clearing line of the closing journal equals total-amount.
    let closing_journal = journals.last().expect("at least one period");
    let clearing_net: Decimal = closing_journal
        .lines
        .iter()
        .filter(|l| l.description.ends_with("settlement payout (total-amount)"))
        .map(|l| l.debit - l.credit)
        .sum();
    if clearing_net != s.total.amount {
        return Err(Error::data(
            record,
            format!(
                "settlement {sid}: clearing line {clearing_net} ≠ total-amount {} (internal check)",
                s.total.amount
            ),
            "report this settlement to the connector maintainers; nothing was posted",
        ));
    }
    Ok(journals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_format_and_end_on_the_last_day() {
        let p = Period::of(NaiveDate::from_ymd_opt(2026, 2, 10).unwrap());
        assert_eq!(p.to_string(), "2026-02");
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        let d = Period {
            year: 2026,
            month: 12,
        };
        assert_eq!(d.last_day(), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
    }
}
