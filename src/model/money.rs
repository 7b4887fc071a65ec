use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An ISO 4217 currency code (three upper-case ASCII letters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Parses a code, upper-casing it (`"eur"` → `EUR`).
    ///
    /// # Errors
    /// [`Error::Config`] when the code is not three ASCII letters.
    pub fn new(code: &str) -> Result<Self> {
        let code = code.trim();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(code.to_ascii_uppercase()))
        } else {
            Err(Error::config(
                "currency",
                format!("`{code}` is not an ISO 4217 code (three letters, e.g. USD)"),
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Currency {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::new(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.0
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money in one currency. Serialized as `{"amount":"12.30","currency":"EUR"}`
/// (the amount as a string so no JSON reader turns it into a float).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount, exact.
    pub amount: Decimal,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// `amount` in `currency`.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// Parses an amount as external systems write it: `"12.30"`, `"-0.5"`, `" 95,00 "` (a decimal
    /// comma, as in EU settlement files), `"1.234,56"` / `"1,234.56"` (thousands separators).
    ///
    /// # Errors
    /// [`Error::Data`] naming the text when it is not a number.
    pub fn parse_amount(text: &str) -> Result<Decimal> {
        parse_decimal(text)
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`Error::Data`] when the currencies differ.
    pub fn checked_add(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.amount + other.amount,
            self.currency.clone(),
        ))
    }

    /// `self - other`.
    ///
    /// # Errors
    /// [`Error::Data`] when the currencies differ.
    pub fn checked_sub(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.amount - other.amount,
            self.currency.clone(),
        ))
    }

    /// The negated amount.
    #[must_use]
    pub fn neg(&self) -> Money {
        Money::new(-self.amount, self.currency.clone())
    }

    /// `true` when the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::data(
                "(money)",
                format!("cannot combine {} with {}", self, other),
                "convert one amount to the other's currency before combining",
            ))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Parses a decimal the way commerce exports write them (see [`Money::parse_amount`]).
///
/// # Errors
/// [`Error::Data`] naming the text when it is not a number.
pub fn parse_decimal(text: &str) -> Result<Decimal> {
    let t: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    if t.is_empty() {
        return Err(Error::data(
            "(amount)",
            "empty amount",
            "supply a number such as 12.30",
        ));
    }
    let last_dot = t.rfind('.');
    let last_comma = t.rfind(',');
    let normalized = match (last_dot, last_comma) {
        (Some(d), Some(c)) if c > d => t.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => t.replace(',', ""),
        (None, Some(c)) => {
            // A single comma followed by exactly three digits and nothing else is ambiguous;
            // settlement files use the comma as decimal separator, so treat it as one.
            let _ = c;
            if t.matches(',').count() > 1 {
                t.replace(',', "")
            } else {
                t.replace(',', ".")
            }
        }
        _ => t.clone(),
    };
    Decimal::from_str(&normalized)
        .or_else(|_| Decimal::from_scientific(&normalized))
        .map_err(|_| {
            Error::data(
                "(amount)",
                format!("`{text}` is not a decimal amount"),
                "supply a number such as 12.30",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn parses_common_amount_spellings() {
        assert_eq!(parse_decimal("12.30").unwrap(), dec("12.30"));
        assert_eq!(parse_decimal(" 95,00 ").unwrap(), dec("95.00"));
        assert_eq!(parse_decimal("-1.234,56").unwrap(), dec("-1234.56"));
        assert_eq!(parse_decimal("1,234.56").unwrap(), dec("1234.56"));
        assert_eq!(parse_decimal("1,234,567").unwrap(), dec("1234567"));
        assert!(parse_decimal("abc").is_err());
        assert!(parse_decimal("").is_err());
    }

    #[test]
    fn money_round_trips_as_strings() {
        let m = Money::new(dec("0.1") + dec("0.2"), Currency::new("eur").unwrap());
        let j = serde_json::to_string(&m).unwrap();
        assert_eq!(j, r#"{"amount":"0.3","currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&j).unwrap(), m);
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let a = Money::new(dec("1"), Currency::new("USD").unwrap());
        let b = Money::new(dec("1"), Currency::new("EUR").unwrap());
        assert!(a.checked_add(&b).is_err());
        assert!(Currency::new("EURO").is_err());
    }
}
