use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (upper-case hex).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `s` per RFC 3986: `A-Z a-z 0-9 - . _ ~` stay, everything else (space, `+`,
/// `/`, `#`, non-ASCII as UTF-8 bytes) becomes `%XX` with upper-case hex.
///
/// This is PHP's `rawurlencode` with `~` left alone — what Adobe Commerce's OAuth 1.0a
/// signature base string needs (`Laminas\OAuth\Http\Utility::urlEncode`) — and a safe encoding
/// for one URL path segment (an SP-API SKU or order id).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}
