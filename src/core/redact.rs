//! Redaction of secrets in payloads and text before they reach logs, errors or the audit trail.

const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "authorization",
    "x-amz-access-token",
    "api_key",
    "apikey",
    "x-api-key",
    "oauth_signature",
    "signature",
    "master_key",
    "private_key",
];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    SECRET_KEYS.iter().any(|s| {
        let s = s.replace('-', "_");
        k == s || k.ends_with(&format!("_{s}")) || k.ends_with(&s) && s.len() > 5
    })
}

/// Replaces the value of every object member whose name looks like a secret (`password`,
/// `client_secret`, `access_token`, `Authorization`, …) with `"[REDACTED]"`, recursively.
pub fn redact_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    if is_secret_key(k) && !v.is_null() {
                        (k.clone(), Value::String("[REDACTED]".into()))
                    } else {
                        (k.clone(), redact_json(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// Redacts `key=value` pairs and `Bearer …` tokens in free text (URLs, bodies, error messages).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Bearer tokens.
    while let Some(pos) = rest.find("Bearer ") {
        out.push_str(&rest[..pos + 7]);
        let after = &rest[pos + 7..];
        let end = after
            .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
            .unwrap_or(after.len());
        out.push_str("[REDACTED]");
        rest = &after[end..];
    }
    out.push_str(rest);
    // key=value / "key":"value" pairs.
    let mut result = String::with_capacity(out.len());
    let bytes = out.as_str();
    let mut i = 0;
    while i < bytes.len() {
        let tail = &bytes[i..];
        let mut matched = false;
        for key in SECRET_KEYS {
            // `get` rather than indexing: `tail` may hold multi-byte characters (`—`, `ü`).
            if tail.len() > key.len()
                && tail
                    .get(..key.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(key))
            {
                let after = &tail[key.len()..];
                let sep_len = if after.starts_with("\":\"") {
                    3
                } else if after.starts_with('=') || after.starts_with(':') {
                    1
                } else {
                    0
                };
                if sep_len > 0 {
                    result.push_str(&tail[..key.len() + sep_len]);
                    let val = &after[sep_len..];
                    let end = val
                        .find(|c: char| {
                            c == '&' || c == '"' || c == ',' || c == ' ' || c == '\n' || c == '}'
                        })
                        .unwrap_or(val.len());
                    result.push_str("[REDACTED]");
                    i += key.len() + sep_len + end;
                    matched = true;
                    break;
                }
            }
        }
        if !matched {
            let ch = tail.chars().next().unwrap_or(' ');
            result.push(ch);
            i += ch.len_utf8();
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_nested_secret_members() {
        let v = serde_json::json!({"user":"svc","password":"hunter2","nested":{"client_secret":"s3","items":[{"access_token":"t"}]}});
        let r = redact_json(&v).to_string();
        assert!(
            !r.contains("hunter2") && !r.contains("s3\"") && !r.contains("\"t\""),
            "{r}"
        );
        assert!(r.contains("svc"));
    }

    #[test]
    fn redacts_text_pairs_and_bearer_tokens() {
        let t = redact_text(
            "grant_type=password&username=u&password=hunter2&client_secret=abc Authorization: Bearer eyJabc.def",
        );
        assert!(
            !t.contains("hunter2") && !t.contains("abc&") && !t.contains("eyJabc"),
            "{t}"
        );
        assert!(t.contains("username=u"));
        let u = redact_text("rejected — Kunde fehlt: müller; password=ü-geheim, ok");
        assert!(u.starts_with("rejected — Kunde fehlt: müller;"), "{u}");
        assert!(!u.contains("geheim"), "{u}");
        let j = redact_text(r#"{"refresh_token":"Atzr|xyz","x":1}"#);
        assert!(!j.contains("Atzr"), "{j}");
    }
}
