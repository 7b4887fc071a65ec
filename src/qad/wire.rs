//! QAD's JSON on the wire: the `submitResult` envelope, bare `errors[]`, browse pages, and exact
//! decimal numbers.
//!
//! Shapes (reference qad.md §5, §6.1):
//!
//! * business component answer: `{"data":{"<collection>":[…]}, "submitResult":{"success":true,
//!   "errorSeverity":0,"errors":[{"fieldName","message","fieldValue","code","severity"}]}}`;
//!   HTTP 200 with `success:false` is a business error.
//! * gateway/permission answer: `{"errors":[{"severity":1,"code":"403","message":"Access is
//!   denied","fieldName":""}]}`.
//! * browse page: `{"data":[{flat dotted keys}], "auxillaryData":{"HasMoreParams":"true"}}`.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Issue, Result};

/// One message in `submitResult.errors` or a bare `errors[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QadMessage {
    /// The field QAD complains about (case may differ from the payload's).
    #[serde(default)]
    pub field_name: Option<String>,
    /// The message text.
    #[serde(default)]
    pub message: String,
    /// The offending value, as QAD echoes it.
    #[serde(default, deserialize_with = "de_any_string")]
    pub field_value: Option<String>,
    /// QAD's message number.
    #[serde(default, deserialize_with = "de_any_string")]
    pub code: Option<String>,
    /// Severity, numeric or text (QAD uses 1 = error; warnings carry lower severities or the
    /// word).
    #[serde(default, deserialize_with = "de_any_string")]
    pub severity: Option<String>,
}

fn de_any_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

impl QadMessage {
    /// `true` for a blocking error (severity 1/`error`, or unspecified).
    pub fn is_error(&self) -> bool {
        match self
            .severity
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => true,
            Some("1" | "error" | "fatal" | "3" | "4") => true,
            Some(_) => false,
        }
    }

    /// As a crate [`Issue`].
    pub fn to_issue(&self) -> Issue {
        let severity = match self.severity.as_deref() {
            Some(s) if self.is_error() => Some(format!("ERROR({s})")),
            Some(s) => Some(format!("WARNING({s})")),
            None => Some("ERROR".into()),
        };
        let mut message = self.message.clone();
        if let Some(v) = &self.field_value {
            message.push_str(&format!(" (value `{v}`)"));
        }
        Issue {
            field: self.field_name.clone().filter(|f| !f.is_empty()),
            code: self.code.clone(),
            message,
            severity,
        }
    }
}

/// `submitResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResult {
    /// Whether QAD accepted the request.
    #[serde(default = "yes")]
    pub success: bool,
    /// Highest severity.
    #[serde(default, deserialize_with = "de_any_string")]
    pub error_severity: Option<String>,
    /// Messages (errors when `success` is false, warnings otherwise).
    #[serde(default)]
    pub errors: Vec<QadMessage>,
}

fn yes() -> bool {
    true
}

/// What a QAD JSON body says about the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// `submitResult.success = true` (or no submitResult): with any warnings.
    Ok {
        /// Non-blocking messages (e.g. 624 "Duplicate customer purchase order").
        warnings: Vec<QadMessage>,
    },
    /// `submitResult.success = false`: a business error.
    Rejected {
        /// QAD's messages.
        errors: Vec<QadMessage>,
    },
    /// A bare `errors[]` (gateway/permission) without `submitResult`.
    Gateway {
        /// QAD's messages.
        errors: Vec<QadMessage>,
    },
}

impl Envelope {
    /// Reads the envelope of a JSON body.
    pub fn of(body: &Value) -> Envelope {
        if let Some(sr) = body.get("submitResult") {
            let sr: SubmitResult = serde_json::from_value(sr.clone()).unwrap_or_default();
            return if sr.success {
                Envelope::Ok {
                    warnings: sr.errors,
                }
            } else {
                Envelope::Rejected { errors: sr.errors }
            };
        }
        if let Some(errs) = body.get("errors").and_then(Value::as_array)
            && body.get("data").is_none()
        {
            let errors = errs
                .iter()
                .filter_map(|e| serde_json::from_value(e.clone()).ok())
                .collect();
            return Envelope::Gateway { errors };
        }
        Envelope::Ok {
            warnings: Vec::new(),
        }
    }
}

/// Summarises messages for an error text.
pub fn summarize(messages: &[QadMessage]) -> String {
    if messages.is_empty() {
        return "QAD gave no message".into();
    }
    messages
        .iter()
        .map(|m| m.to_issue().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `true` when the body looks like QAD JSON (an object with `data`, `submitResult` or `errors`).
pub fn is_qad_json(body: &Value) -> bool {
    body.as_object().is_some_and(|o| {
        o.contains_key("data") || o.contains_key("submitResult") || o.contains_key("errors")
    })
}

/// The records of `collection` in a component answer: `data.<collection>` (or a bare top-level
/// `<collection>`, which some instances return).
pub fn records<'a>(body: &'a Value, collection: &str) -> &'a [Value] {
    body.get("data")
        .and_then(|d| d.get(collection))
        .or_else(|| body.get(collection))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// One browse page.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowsePage {
    /// Rows with flat dotted keys.
    pub rows: Vec<serde_json::Map<String, Value>>,
    /// `auxillaryData.HasMoreParams` as QAD sent it (semantics unconfirmed; informational).
    pub has_more_params: Option<String>,
}

impl BrowsePage {
    /// Parses a browse answer.
    ///
    /// # Errors
    /// [`Error::Data`] when `data` is present but not a list of objects.
    pub fn parse(op: &str, body: &Value) -> Result<BrowsePage> {
        let rows = match body.get("data") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|r| {
                    r.as_object().cloned().ok_or_else(|| {
                        Error::data(
                            op,
                            "browse row is not a JSON object",
                            "check that the browse id in the registry is a data browse",
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => {
                return Err(Error::data(
                    op,
                    "browse `data` is not a list",
                    "check that the registry points at a browse (api/qracore/browses)",
                ));
            }
        };
        let has_more_params = body
            .get("auxillaryData")
            .and_then(|a| a.get("HasMoreParams"))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        Ok(BrowsePage {
            rows,
            has_more_params,
        })
    }
}

/// A browse cell as text (strings as-is, numbers/booleans in their JSON form).
pub fn cell_str(row: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    match row.get(field)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A browse cell as a decimal (number or numeric string).
pub fn cell_decimal(row: &serde_json::Map<String, Value>, field: &str) -> Option<Decimal> {
    value_decimal(row.get(field)?)
}

/// A JSON number or numeric string as a decimal (never through arithmetic on `f64`: the
/// number's shortest text form is parsed).
pub fn value_decimal(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

/// A decimal as a JSON number whose text is exactly the decimal's.
///
/// QAD takes amounts and quantities as JSON numbers. Without serde_json's `arbitrary_precision`
/// a JSON number is held as an integer or an `f64`; this converts through the decimal's text and
/// **verifies** that the number prints back as the same decimal, so nothing is ever rounded
/// silently (amounts with more than ~15 significant digits are refused).
///
/// # Errors
/// [`Error::Data`] naming `what` when the value cannot be represented exactly.
pub fn decimal_number(d: Decimal, what: &str) -> Result<Value> {
    let text = d.normalize().to_string();
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        Error::data(
            what,
            format!("amount {d} cannot be written as JSON: {e}"),
            "check the amount",
        )
    })?;
    match value_decimal(&v) {
        Some(back) if back == d => Ok(v),
        _ => Err(Error::data(
            what,
            format!("amount {d} has more precision than a QAD JSON number carries exactly"),
            "round the amount to the currency's decimals in the mapper",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_kinds() {
        let ok = json!({"data":{"x":[]},"submitResult":{"success":true,"errors":[
            {"fieldName":"customerPO","message":"Duplicate customer purchase order","code":"624","severity":"2"}]}});
        match Envelope::of(&ok) {
            Envelope::Ok { warnings } => {
                assert_eq!(warnings.len(), 1);
                assert!(!warnings[0].is_error());
            }
            other => panic!("{other:?}"),
        }
        let rej = json!({"submitResult":{"success":false,"errorSeverity":1,"errors":[
            {"fieldName":"itemCode","message":"Item number does not exist","fieldValue":"X-1","code":16}]}});
        match Envelope::of(&rej) {
            Envelope::Rejected { errors } => {
                let i = errors[0].to_issue();
                assert_eq!(i.field.as_deref(), Some("itemCode"));
                assert_eq!(i.code.as_deref(), Some("16"));
                assert!(i.message.contains("X-1"));
            }
            other => panic!("{other:?}"),
        }
        let gw = json!({"errors":[{"severity":1,"code":"403","message":"Access is denied","fieldName":""}]});
        match Envelope::of(&gw) {
            Envelope::Gateway { errors } => {
                assert_eq!(errors[0].message, "Access is denied");
                assert_eq!(errors[0].to_issue().field, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(is_qad_json(&gw));
        assert!(!is_qad_json(&json!([1, 2])));
    }

    #[test]
    fn decimals_are_exact_or_refused() {
        let v = decimal_number(Decimal::new(11010, 2), "x").unwrap();
        assert_eq!(v.to_string(), "110.1");
        assert_eq!(value_decimal(&v), Some(Decimal::new(1101, 1)));
        let v = decimal_number(Decimal::new(5, 0), "x").unwrap();
        assert_eq!(v.to_string(), "5");
        let v = decimal_number(Decimal::new(-250, 2), "x").unwrap();
        assert_eq!(v.to_string(), "-2.5");
        let big = Decimal::from_str("1234567890123456.789").unwrap();
        assert!(decimal_number(big, "x").is_err());
        assert_eq!(value_decimal(&json!("12.30")), Some(Decimal::new(1230, 2)));
    }

    #[test]
    fn browse_page_and_records() {
        let p = BrowsePage::parse(
            "op",
            &json!({"data":[{"pt_mstr.pt_part":"A","pt_mstr.pt_price":1.5}],"auxillaryData":{"HasMoreParams":"true"}}),
        )
        .unwrap();
        assert_eq!(
            cell_str(&p.rows[0], "pt_mstr.pt_part").as_deref(),
            Some("A")
        );
        assert_eq!(
            cell_decimal(&p.rows[0], "pt_mstr.pt_price"),
            Some(Decimal::new(15, 1))
        );
        assert_eq!(p.has_more_params.as_deref(), Some("true"));
        assert!(BrowsePage::parse("op", &json!({"data":{}})).is_err());
        let body = json!({"data":{"items":[{"itemCode":"A"}]}});
        assert_eq!(records(&body, "items").len(), 1);
        assert_eq!(records(&json!({"items":[{}]}), "items").len(), 1);
        assert!(records(&json!({}), "items").is_empty());
    }
}
