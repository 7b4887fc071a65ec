//! Glue between the `oauth2` crate (built without its own reqwest) and the crate's reqwest
//! client and errors.

use std::future::Future;
use std::pin::Pin;

use oauth2::{ErrorResponse, HttpRequest, HttpResponse, RequestTokenError};

use crate::core::redact_text;
use crate::error::{Context, Error};

/// The error of [`client`]'s transport.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

type BoxFut = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'static>>;

/// An `oauth2::AsyncHttpClient` on `http` (use a client that does not follow redirects for token
/// endpoints; see [`token_client`]).
pub fn client(http: &reqwest::Client) -> impl Fn(HttpRequest) -> BoxFut + Send + Sync + 'static {
    let http = http.clone();
    move |request: HttpRequest| -> BoxFut {
        let http = http.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let mut builder = http.request(parts.method, url).body(body);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let resp = builder
                .send()
                .await
                .map_err(|e| TransportError(redact_text(&e.to_string())))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| TransportError(redact_text(&e.to_string())))?;
            let mut out = http::Response::builder().status(status);
            if let Some(h) = out.headers_mut() {
                h.extend(headers);
            }
            out.body(bytes.to_vec())
                .map_err(|e| TransportError(e.to_string()))
        })
    }
}

/// A reqwest client for token endpoints: no redirects (a token request must never be forwarded).
///
/// # Errors
/// [`Error::Config`] when the TLS backend cannot be initialised.
pub fn token_client() -> crate::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(super::default_user_agent())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| Error::config("http", format!("cannot build the token client: {e}")))
}

/// Maps a token-endpoint failure to [`Error::Auth`]. `invalid_grant` and `invalid_client` (and
/// `unauthorized_client`) are permanent, and `fix` tells the operator what to do about each, e.g.
/// `[("invalid_grant", "re-authorize the seller"), ("invalid_client", "rotate the client secret")]`.
pub fn token_error<RE, T>(op: &str, err: RequestTokenError<RE, T>, fixes: &[(&str, &str)]) -> Error
where
    RE: std::error::Error + 'static,
    T: ErrorResponse + 'static,
{
    let ctx = Context::op(op);
    match err {
        RequestTokenError::ServerResponse(resp) => {
            let json = serde_json::to_value(&resp).unwrap_or_default();
            let code = json
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown_error")
                .to_string();
            let desc = json
                .get("error_description")
                .and_then(|v| v.as_str())
                .map(|d| format!(": {}", redact_text(d)))
                .unwrap_or_default();
            let permanent = matches!(
                code.as_str(),
                "invalid_grant"
                    | "invalid_client"
                    | "unauthorized_client"
                    | "unsupported_grant_type"
            );
            let fix = fixes
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, f)| format!(" — {f}"))
                .unwrap_or_default();
            Error::Auth {
                ctx: ctx.into(),
                message: format!("token endpoint answered `{code}`{desc}{fix}"),
                permanent,
            }
        }
        RequestTokenError::Request(e) => Error::Transport {
            ctx: ctx.into(),
            message: format!("token request failed: {}", redact_text(&e.to_string())),
        },
        RequestTokenError::Parse(e, _) => Error::Auth {
            ctx: ctx.into(),
            message: format!("token response unreadable: {e}"),
            permanent: false,
        },
        RequestTokenError::Other(m) => Error::Auth {
            ctx: ctx.into(),
            message: redact_text(&m),
            permanent: false,
        },
    }
}
