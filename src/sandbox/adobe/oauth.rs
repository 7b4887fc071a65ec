//! Server-side OAuth 1.0a verification, in the order Magento's `Oauth::validateAccessTokenRequest`
//! checks (reference §2.1): protocol parameters, version, signature method, consumer, nonce and
//! timestamp (the nonce is stored before the signature is checked), token, signature.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use crate::adobe::oauth1::{SignatureMethod, natural_cmp, percent_encode, signing_key};

/// The integration the simulated store knows.
#[derive(Debug, Clone)]
pub(crate) struct Integration {
    pub consumer_id: i64,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
}

/// A refusal: HTTP status and the JSON body the store sends.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: u16,
    pub body: Value,
}

fn refuse(status: u16, body: Value) -> Refusal {
    Refusal { status, body }
}

/// `rawurldecode`.
fn raw_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `oauth_*` parameters of an `Authorization: OAuth …` header, as Magento's
/// `Helper\Request::_processHeader` extracts them.
pub(crate) fn header_params(header: &str) -> Option<BTreeMap<String, String>> {
    let lower = header.to_ascii_lowercase();
    let pos = lower.find("oauth ")?;
    let rest = &header[pos + 6..];
    let mut out = BTreeMap::new();
    for part in rest.split(',') {
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let valid = name.starts_with("oauth_")
            && name.len() > 6
            && name[6..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-');
        if !valid {
            continue;
        }
        let value = value.trim().trim_matches('"');
        out.insert(name.to_string(), raw_decode(value));
    }
    Some(out)
}

/// Verifies one request.
///
/// `scheme_host` is `http://` + the `Host` header; `raw_uri` the path and query as received.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify(
    method: &str,
    scheme_host: &str,
    raw_uri: &str,
    authorization: Option<&str>,
    integration: &Integration,
    accept_sha1: bool,
    nonces: &mut HashSet<(String, String)>,
    now: i64,
) -> Result<(), Refusal> {
    let not_authorized = || {
        refuse(
            401,
            json!({"message": "The consumer isn't authorized to access %resources.",
                   "parameters": {"resources": "Magento_Sales::actions_view"}}),
        )
    };
    let params = authorization
        .and_then(header_params)
        .ok_or_else(not_authorized)?;
    for required in [
        "oauth_consumer_key",
        "oauth_signature",
        "oauth_signature_method",
        "oauth_nonce",
        "oauth_timestamp",
        "oauth_token",
    ] {
        if params.get(required).is_none_or(String::is_empty) {
            return Err(refuse(
                400,
                json!({"message": "%1 is a required field.", "parameters": [required]}),
            ));
        }
    }
    if let Some(v) = params.get("oauth_version")
        && v != "1.0"
    {
        return Err(refuse(
            400,
            json!({"message": "The \"%1\" Oauth version isn't supported.", "parameters": [v]}),
        ));
    }
    let sm = &params["oauth_signature_method"];
    let method_ok = match SignatureMethod::parse(sm) {
        Some(SignatureMethod::HmacSha256) => Some(SignatureMethod::HmacSha256),
        Some(SignatureMethod::HmacSha1) if accept_sha1 => Some(SignatureMethod::HmacSha1),
        _ => None,
    };
    let Some(sig_method) = method_ok else {
        return Err(refuse(
            400,
            json!({"message": "Signature method %1 is not supported", "parameters": [sm]}),
        ));
    };
    if params["oauth_consumer_key"] != integration.consumer_key {
        return Err(refuse(
            401,
            json!({"message": "A consumer with \"%1\" ID doesn't exist. Verify the ID and try again.",
                   "parameters": [params["oauth_consumer_key"]]}),
        ));
    }
    let ts: i64 = params["oauth_timestamp"].parse().unwrap_or(0);
    if ts <= 0 || ts > now + 600 {
        return Err(refuse(
            400,
            json!({"message": "Incorrect timestamp value in the oauth_timestamp parameter"}),
        ));
    }
    let key = (
        integration.consumer_key.clone(),
        params["oauth_nonce"].clone(),
    );
    if !nonces.insert(key) {
        return Err(refuse(
            401,
            json!({"message": "The nonce is already being used by the consumer with ID %1. Verify the nonce and try again.",
                   "parameters": [integration.consumer_id.to_string()]}),
        ));
    }
    if params["oauth_token"].len() != 32 {
        return Err(refuse(
            401,
            json!({"message": "The token length is invalid. Check the length and try again."}),
        ));
    }
    if params["oauth_token"] != integration.token {
        return Err(refuse(
            401,
            json!({"message": "The access token is invalid."}),
        ));
    }
    // Base string: the URL the server sees, without query; the query pairs that split into
    // exactly two parts, rawurldecoded; the header's oauth_* parameters (the query's oauth_*
    // ones are ignored since the header has them).
    let (path, query) = raw_uri.split_once('?').unwrap_or((raw_uri, ""));
    let mut all: BTreeMap<String, String> = BTreeMap::new();
    for pair in query.split('&') {
        let parts: Vec<&str> = pair.split('=').collect();
        if parts.len() != 2 {
            continue;
        }
        let k = raw_decode(parts[0]);
        if k.starts_with("oauth_") {
            continue;
        }
        all.insert(k, raw_decode(parts[1]));
    }
    for (k, v) in &params {
        if k != "oauth_signature" {
            all.insert(k.clone(), v.clone());
        }
    }
    let mut encoded: Vec<(String, String)> = all
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    let joined = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let url = format!("{}{}", scheme_host.to_ascii_lowercase(), path);
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&url),
        percent_encode(&joined)
    );
    let expected = sig_method.sign(
        signing_key(&integration.consumer_secret, &integration.token_secret).as_bytes(),
        base.as_bytes(),
    );
    let given = &params["oauth_signature"];
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(refuse(
            401,
            json!({"message": "The signature is invalid. Verify and try again."}),
        ))
    }
}
