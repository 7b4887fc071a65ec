//! OAuth 1.0a request signing for Adobe Commerce integrations (PaaS / on-prem).
//!
//! Reproduces what the server verifies (reference §2.1 and §2.1.1):
//!
//! * the signed URL is `scheme://host[:port]/path` with a lower-case host, no default port, and
//!   **no query**;
//! * parameters are the `oauth_*` protocol parameters plus the query parameters (each
//!   `key=value` pair `rawurldecode`d — a literal `+` stays `+`); JSON bodies are never signed and
//!   `realm` never enters the base string;
//! * every key and value is encoded per RFC 3986 (`A-Z a-z 0-9 - . _ ~` unescaped, space `%20`,
//!   `+` `%2B`, non-ASCII as percent-encoded UTF-8) and the pairs are sorted by PHP's natural
//!   order (`strnatcmp`) of the encoded keys — identical to byte order as long as every
//!   `searchCriteria` index stays within 0–9, which [`SearchCriteria`](super::SearchCriteria)
//!   enforces;
//! * key = `enc(consumer_secret)&enc(token_secret)`, signature = base64(HMAC(key, base string)),
//!   HMAC-SHA256 by default (the only method 2.4.4+ accepts), HMAC-SHA1 for older stores;
//! * a fresh 32-character alphanumeric nonce and the current Unix time per request.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result};

/// Encodes like the server's `Laminas\OAuth\Http\Utility::urlEncode` (`rawurlencode` with `~`
/// left alone, RFC 3986): the kernel's encoder.
pub use crate::http::percent_encode;

/// PHP `rawurldecode`: `%XX` sequences decoded, `+` left as `+` (invalid UTF-8 replaced).
pub fn raw_url_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The signature method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureMethod {
    /// `HMAC-SHA256`: the only method Adobe Commerce 2.4.4 and later accept. The default.
    #[default]
    HmacSha256,
    /// `HMAC-SHA1`: stores older than 2.4.4 only (2.4.4+ answer 400 "Signature method %1 is
    /// not supported").
    HmacSha1,
}

impl SignatureMethod {
    /// The protocol name (`HMAC-SHA256`, `HMAC-SHA1`).
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
        }
    }

    /// Parses the protocol name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "HMAC-SHA256" => Some(SignatureMethod::HmacSha256),
            "HMAC-SHA1" => Some(SignatureMethod::HmacSha1),
            _ => None,
        }
    }

    /// base64(HMAC(key, message)).
    pub fn sign(self, key: &[u8], message: &[u8]) -> String {
        let raw = match self {
            SignatureMethod::HmacSha256 => {
                let mut mac =
                    Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            SignatureMethod::HmacSha1 => {
                let mut mac =
                    Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC accepts any key length");
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        };
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

impl fmt::Display for SignatureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four values an activated Adobe Commerce integration shows (System > Extensions >
/// Integrations). Only the consumer key is not secret; `Debug` redacts the rest.
#[derive(Clone)]
pub struct OAuth1Credentials {
    /// Consumer key (32 characters).
    pub consumer_key: String,
    /// Consumer secret.
    pub consumer_secret: SecretString,
    /// Access token (32 characters).
    pub access_token: SecretString,
    /// Access token secret.
    pub access_token_secret: SecretString,
}

impl OAuth1Credentials {
    /// The four integration values.
    pub fn new(
        consumer_key: impl Into<String>,
        consumer_secret: impl Into<String>,
        access_token: impl Into<String>,
        access_token_secret: impl Into<String>,
    ) -> Self {
        Self {
            consumer_key: consumer_key.into(),
            consumer_secret: SecretString::from(consumer_secret.into()),
            access_token: SecretString::from(access_token.into()),
            access_token_secret: SecretString::from(access_token_secret.into()),
        }
    }
}

impl fmt::Debug for OAuth1Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1Credentials")
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"[redacted]")
            .field("access_token", &"[redacted]")
            .field("access_token_secret", &"[redacted]")
            .finish()
    }
}

/// PHP `strnatcmp`: natural order, digit runs compared by value (Martin Pool's algorithm, as
/// PHP implements it). Used to sort the encoded parameter names exactly as laminas-oauth does.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let (mut ai, mut bi) = (0usize, 0usize);
    loop {
        let mut ca = a.get(ai).copied().unwrap_or(0);
        let mut cb = b.get(bi).copied().unwrap_or(0);
        while ca.is_ascii_whitespace() {
            ai += 1;
            ca = a.get(ai).copied().unwrap_or(0);
        }
        while cb.is_ascii_whitespace() {
            bi += 1;
            cb = b.get(bi).copied().unwrap_or(0);
        }
        if ca.is_ascii_digit() && cb.is_ascii_digit() {
            let fractional = ca == b'0' || cb == b'0';
            let r = if fractional {
                compare_left(&a[ai..], &b[bi..])
            } else {
                compare_right(&a[ai..], &b[bi..])
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        if ca == 0 && cb == 0 {
            return Ordering::Equal;
        }
        match ca.cmp(&cb) {
            Ordering::Equal => {}
            other => return other,
        }
        ai += 1;
        bi += 1;
    }
}

fn digit_at(s: &[u8], i: usize) -> Option<u8> {
    s.get(i).copied().filter(u8::is_ascii_digit)
}

/// Right-aligned comparison of two digit runs: the longest run wins, else the first difference.
fn compare_right(a: &[u8], b: &[u8]) -> Ordering {
    let mut bias = Ordering::Equal;
    let mut i = 0;
    loop {
        match (digit_at(a, i), digit_at(b, i)) {
            (None, None) => return bias,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                if bias == Ordering::Equal {
                    bias = x.cmp(&y);
                }
            }
        }
        i += 1;
    }
}

/// Left-aligned comparison (runs with leading zeros): the first difference wins.
fn compare_left(a: &[u8], b: &[u8]) -> Ordering {
    let mut i = 0;
    loop {
        match (digit_at(a, i), digit_at(b, i)) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match x.cmp(&y) {
                Ordering::Equal => {}
                other => return other,
            },
        }
        i += 1;
    }
}

/// The URL as the server normalises it for signing: lower-case scheme and host, default port
/// dropped, path kept as sent, query and fragment removed.
pub fn normalized_url(url: &Url) -> String {
    let scheme = url.scheme().to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = match (scheme.as_str(), url.port()) {
        ("http", Some(80)) | ("https", Some(443)) | (_, None) => String::new(),
        (_, Some(p)) => format!(":{p}"),
    };
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    format!("{scheme}://{host}{port}{path}")
}

/// The query parameters as the server collects them: the raw query split on `&`, each pair on
/// `=`; pairs that do not split into exactly two parts are dropped (as the server does); keys
/// and values `rawurldecode`d; later duplicates overwrite earlier ones.
pub fn query_params(url: &Url) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(q) = url.query() {
        for pair in q.split('&') {
            let parts: Vec<&str> = pair.split('=').collect();
            if parts.len() == 2 {
                out.insert(raw_url_decode(parts[0]), raw_url_decode(parts[1]));
            }
        }
    }
    out
}

/// The signature base string: `METHOD&enc(url)&enc(sorted, encoded params)`.
///
/// `params` are the decoded parameters (query and `oauth_*`, without `oauth_signature`).
pub fn signature_base_string<'a>(
    method: &str,
    normalized_url: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut encoded: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| *k != "oauth_signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort_by(|a, b| natural_cmp(&a.0, &b.0).then_with(|| a.1.cmp(&b.1)));
    let joined: Vec<String> = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(normalized_url),
        percent_encode(&joined.join("&"))
    )
}

/// The HMAC key: `enc(consumer_secret)&enc(token_secret)`.
pub fn signing_key(consumer_secret: &str, token_secret: &str) -> String {
    format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    )
}

/// The per-request protocol values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthNonce {
    /// `oauth_nonce`.
    pub nonce: String,
    /// `oauth_timestamp` (Unix seconds).
    pub timestamp: i64,
}

impl OAuthNonce {
    /// A fresh 32-character alphanumeric nonce and the current time.
    pub fn fresh() -> Self {
        let nonce: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(32)
            .collect();
        Self {
            nonce,
            timestamp: chrono::Utc::now().timestamp(),
        }
    }
}

/// Signs requests with an integration's OAuth 1.0a credentials.
#[derive(Debug, Clone)]
pub struct OAuth1Signer {
    credentials: OAuth1Credentials,
    method: SignatureMethod,
    send_version: bool,
}

impl OAuth1Signer {
    /// A signer using `method` (HMAC-SHA256 unless the store is older than 2.4.4). Sends
    /// `oauth_version="1.0"` (optional for the server, but then part of the base string).
    pub fn new(credentials: OAuth1Credentials, method: SignatureMethod) -> Self {
        Self {
            credentials,
            method,
            send_version: true,
        }
    }

    /// Whether to send `oauth_version="1.0"` (default `true`).
    #[must_use]
    pub fn with_version_param(mut self, send: bool) -> Self {
        self.send_version = send;
        self
    }

    /// The signature method in use.
    pub fn method(&self) -> SignatureMethod {
        self.method
    }

    /// The `oauth_*` protocol parameters for one request (without the signature).
    fn protocol_params(&self, n: &OAuthNonce) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("oauth_consumer_key", self.credentials.consumer_key.clone()),
            ("oauth_nonce", n.nonce.clone()),
            ("oauth_signature_method", self.method.as_str().to_string()),
            ("oauth_timestamp", n.timestamp.to_string()),
            (
                "oauth_token",
                self.credentials.access_token.expose_secret().to_string(),
            ),
        ];
        if self.send_version {
            p.push(("oauth_version", "1.0".to_string()));
        }
        p
    }

    /// The signature base string for `method url` with the given nonce/timestamp.
    pub fn base_string(&self, http_method: &str, url: &Url, n: &OAuthNonce) -> String {
        let mut params = query_params(url);
        for (k, v) in self.protocol_params(n) {
            params.insert(k.to_string(), v);
        }
        signature_base_string(
            http_method,
            &normalized_url(url),
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }

    /// The base64 signature for `method url` with the given nonce/timestamp.
    pub fn signature(&self, http_method: &str, url: &Url, n: &OAuthNonce) -> String {
        let base = self.base_string(http_method, url, n);
        let key = signing_key(
            self.credentials.consumer_secret.expose_secret(),
            self.credentials.access_token_secret.expose_secret(),
        );
        self.method.sign(key.as_bytes(), base.as_bytes())
    }

    /// The complete `Authorization` header value (`OAuth oauth_consumer_key="…",…`), every value
    /// percent-encoded.
    pub fn authorization_header(&self, http_method: &str, url: &Url, n: &OAuthNonce) -> String {
        let signature = self.signature(http_method, url, n);
        let mut parts: Vec<String> = self
            .protocol_params(n)
            .into_iter()
            .map(|(k, v)| format!("{k}=\"{}\"", percent_encode(&v)))
            .collect();
        parts.push(format!(
            "oauth_signature=\"{}\"",
            percent_encode(&signature)
        ));
        format!("OAuth {}", parts.join(","))
    }

    /// Signs `req` in place with a fresh nonce and the current time.
    ///
    /// # Errors
    /// [`Error::Config`] when the header cannot be built (never for valid credentials).
    pub fn sign_request(&self, req: &mut reqwest::Request) -> Result<()> {
        let header =
            self.authorization_header(req.method().as_str(), req.url(), &OAuthNonce::fresh());
        let value = reqwest::header::HeaderValue::from_str(&header).map_err(|_| {
            Error::config(
                "adobe.oauth1.consumer_key",
                "the consumer key contains characters that cannot go into an HTTP header; copy it again from System > Extensions > Integrations",
            )
        })?;
        req.headers_mut()
            .insert(reqwest::header::AUTHORIZATION, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_signer() -> OAuth1Signer {
        OAuth1Signer::new(
            OAuth1Credentials::new(
                "ck1234567890abcdefghijklmnopqrst",
                "cs1234567890abcdefghijklmnopqrst",
                "at1234567890abcdefghijklmnopqrst",
                "ts1234567890abcdefghijklmnopqrst",
            ),
            SignatureMethod::HmacSha256,
        )
    }

    fn reference_url() -> Url {
        let mut url = Url::parse("https://shop.example.com/rest/default/V1/orders").unwrap();
        let g = "searchCriteria[filter_groups][0][filters][0]";
        let q: Vec<(String, &str)> = vec![
            (format!("{g}[field]"), "updated_at"),
            (format!("{g}[value]"), "2024-01-01 00:00:00"),
            (format!("{g}[condition_type]"), "gteq"),
            ("searchCriteria[sortOrders][0][field]".into(), "updated_at"),
            ("searchCriteria[sortOrders][0][direction]".into(), "ASC"),
            ("searchCriteria[sortOrders][1][field]".into(), "entity_id"),
            ("searchCriteria[sortOrders][1][direction]".into(), "ASC"),
            ("searchCriteria[pageSize]".into(), "100"),
            ("searchCriteria[currentPage]".into(), "1"),
        ];
        let enc: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        url.set_query(Some(&enc.join("&")));
        url
    }

    fn reference_nonce() -> OAuthNonce {
        OAuthNonce {
            nonce: "n0nce0000000000000000000000000001".into(),
            timestamp: 1_704_067_200,
        }
    }

    /// Reference §2.1 worked vector.
    #[test]
    fn reference_vector_hmac_sha256() {
        let s = reference_signer();
        let base = s.base_string("GET", &reference_url(), &reference_nonce());
        assert!(
            base.starts_with(
                "GET&https%3A%2F%2Fshop.example.com%2Frest%2Fdefault%2FV1%2Forders&oauth_consumer_key%3Dck"
            ),
            "{base}"
        );
        assert!(
            base.contains(
                "searchCriteria%255BcurrentPage%255D%3D1%26searchCriteria%255Bfilter_groups"
            ),
            "{base}"
        );
        assert!(base.contains("2024-01-01%252000%253A00%253A00"), "{base}");
        assert_eq!(
            s.signature("GET", &reference_url(), &reference_nonce()),
            "1JbdW5qI8lCVQljuvsjQbTSfPmTX2WqeFsfgwoZAJR0="
        );
    }

    #[test]
    fn unencoded_query_on_the_wire_signs_the_same() {
        // The server decodes before re-encoding, so `[`/`]`/`:` left raw sign identically.
        let s = reference_signer();
        let raw = Url::parse(
            "https://SHOP.example.com:443/rest/default/V1/orders?searchCriteria[filter_groups][0][filters][0][field]=updated_at&searchCriteria[filter_groups][0][filters][0][value]=2024-01-01%2000:00:00&searchCriteria[filter_groups][0][filters][0][condition_type]=gteq&searchCriteria[sortOrders][0][field]=updated_at&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[sortOrders][1][field]=entity_id&searchCriteria[sortOrders][1][direction]=ASC&searchCriteria[pageSize]=100&searchCriteria[currentPage]=1",
        )
        .unwrap();
        assert_eq!(
            s.signature("GET", &raw, &reference_nonce()),
            "1JbdW5qI8lCVQljuvsjQbTSfPmTX2WqeFsfgwoZAJR0="
        );
    }

    #[test]
    fn sha1_differs_and_is_the_right_length() {
        let s = OAuth1Signer::new(reference_signer().credentials, SignatureMethod::HmacSha1);
        let sig = s.signature("GET", &reference_url(), &reference_nonce());
        assert_ne!(sig, "1JbdW5qI8lCVQljuvsjQbTSfPmTX2WqeFsfgwoZAJR0=");
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&sig)
                .unwrap()
                .len(),
            20
        );
        let h = s.authorization_header("GET", &reference_url(), &reference_nonce());
        assert!(h.contains("oauth_signature_method=\"HMAC-SHA1\""), "{h}");
    }

    /// RFC 5849 §3.4.1 / original OAuth 1.0 spec appendix A.5 known answer (HMAC-SHA1).
    #[test]
    fn oauth_spec_hmac_sha1_known_answer() {
        let url =
            Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap();
        let mut params = query_params(&url);
        for (k, v) in [
            ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            ("oauth_token", "nnch734d00sl2jdk"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1191242096"),
            ("oauth_nonce", "kllo9940pd9333jh"),
            ("oauth_version", "1.0"),
        ] {
            params.insert(k.into(), v.into());
        }
        let base = signature_base_string(
            "GET",
            &normalized_url(&url),
            params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let sig = SignatureMethod::HmacSha1.sign(
            signing_key("kd94hf93k423kf44", "pfkkdhi9sl3r4s00").as_bytes(),
            base.as_bytes(),
        );
        assert_eq!(sig, "tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
    }

    #[test]
    fn encoding_handles_space_plus_tilde_and_non_ascii() {
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("a+b"), "a%2Bb");
        assert_eq!(percent_encode("a~b-c.d_e"), "a~b-c.d_e");
        assert_eq!(percent_encode("Müller"), "M%C3%BCller");
        assert_eq!(percent_encode("日本"), "%E6%97%A5%E6%9C%AC");
        assert_eq!(percent_encode("50%"), "50%25");
        // Server decoding keeps `+` literal (rawurldecode).
        assert_eq!(raw_url_decode("a+b%20c"), "a+b c");
    }

    #[test]
    fn natural_order_matches_php_strnatcmp() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("x%5B10%5D", "x%5B2%5D"), Ordering::Greater);
        assert_eq!(natural_cmp("abc", "abd"), Ordering::Less);
        assert_eq!(natural_cmp("abc", "abc"), Ordering::Equal);
        assert_eq!(natural_cmp("ab", "abc"), Ordering::Less);
        assert_eq!(natural_cmp("a01", "a1"), Ordering::Less);
        assert_eq!(
            natural_cmp(
                "searchCriteria%5BcurrentPage%5D",
                "searchCriteria%5Bfilter_groups%5D"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn realm_and_malformed_pairs_never_enter_the_base_string() {
        let url = Url::parse("https://h.example/rest/V1/x?a=1&bare&b=2=3&c=%7E").unwrap();
        let p = query_params(&url);
        assert_eq!(p.get("a").map(String::as_str), Some("1"));
        assert_eq!(p.get("c").map(String::as_str), Some("~"));
        assert!(!p.contains_key("bare"));
        assert!(!p.contains_key("b"));
    }

    #[test]
    fn header_lists_every_required_parameter_and_hides_secrets_in_debug() {
        let s = reference_signer();
        let h = s.authorization_header("GET", &reference_url(), &reference_nonce());
        for p in [
            "oauth_consumer_key=",
            "oauth_nonce=",
            "oauth_signature_method=\"HMAC-SHA256\"",
            "oauth_timestamp=\"1704067200\"",
            "oauth_token=",
            "oauth_version=\"1.0\"",
            "oauth_signature=\"1JbdW5qI8lCVQljuvsjQbTSfPmTX2WqeFsfgwoZAJR0%3D\"",
        ] {
            assert!(h.contains(p), "{p} missing in {h}");
        }
        assert!(!h.contains("realm"));
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("cs1234567890"), "{dbg}");
        assert!(!dbg.contains("ts1234567890"), "{dbg}");
        assert!(!dbg.contains("at1234567890"), "{dbg}");
    }

    #[test]
    fn fresh_nonces_are_32_alphanumerics_and_unique() {
        let a = OAuthNonce::fresh();
        let b = OAuthNonce::fresh();
        assert_eq!(a.nonce.len(), 32);
        assert!(a.nonce.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.nonce, b.nonce);
        assert!((a.timestamp - chrono::Utc::now().timestamp()).abs() < 5);
    }
}
