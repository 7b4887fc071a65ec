//! The transport kernel's promises (issue 2), against a local HTTP server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};
use ml_connector::http::{
    AccessToken, AuthHook, BearerAuth, Classification, Classify, DefaultClassifier, HttpClient,
    Quota, RetryPolicy, TokenCache, TokenSource,
};
use ml_connector::{Error, ErrorKind};
use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn client(attempts: u32) -> HttpClient {
    HttpClient::builder("test")
        .retry(
            RetryPolicy::with_attempts(attempts)
                .delays(Duration::from_millis(20), Duration::from_millis(400)),
        )
        .build()
        .unwrap()
}

fn get(c: &HttpClient, url: String) -> reqwest::Request {
    c.reqwest().get(url).build().unwrap()
}

#[tokio::test]
async fn retry_after_is_honoured_then_the_call_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let c = client(5);
    let start = Instant::now();
    let resp = c
        .call("getThing", get(&c, format!("{}/r", server.uri())))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text(), "ok");
    assert_eq!(resp.attempts, 3);
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "waited only {:?}",
        start.elapsed()
    );
}

/// Records when each request arrived.
struct Clocked {
    times: Arc<std::sync::Mutex<Vec<Instant>>>,
    status: u16,
}

impl Respond for Clocked {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.times.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(self.status)
    }
}

#[tokio::test]
async fn without_retry_after_waits_grow_with_jitter_and_the_cap_names_op_and_status() {
    let server = MockServer::start().await;
    let times = Arc::new(std::sync::Mutex::new(Vec::new()));
    Mock::given(path("/busy"))
        .respond_with(Clocked {
            times: times.clone(),
            status: 503,
        })
        .mount(&server)
        .await;
    let c = HttpClient::builder("test")
        .retry(
            RetryPolicy::with_attempts(6).delays(Duration::from_millis(40), Duration::from_secs(2)),
        )
        .build()
        .unwrap();
    let err = c
        .call("listThings", get(&c, format!("{}/busy", server.uri())))
        .record("test/things/7")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 6, .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(503));
    let msg = err.to_string();
    assert!(
        msg.contains("test.listThings") && msg.contains("503") && msg.contains("test/things/7"),
        "{msg}"
    );
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 6);
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Full jitter: every gap stays below its doubling ceiling (40, 80, 160, 320, 640 ms, plus
    // scheduling slack), and over five gaps the ceilings grow.
    for (gap, ceiling_ms) in gaps.iter().zip([40u64, 80, 160, 320, 640]) {
        assert!(
            *gap <= Duration::from_millis(ceiling_ms + 60),
            "gap {gap:?} over ceiling {ceiling_ms}ms"
        );
    }
    let first_two: Duration = gaps[..2].iter().sum();
    let last_two: Duration = gaps[3..].iter().sum();
    assert!(
        last_two > first_two || last_two > Duration::from_millis(100),
        "no growth: {gaps:?}"
    );
    // Not all identical: jitter.
    assert!(gaps.windows(2).any(|w| w[0] != w[1]));
}

/// A classifier that re-seeds buckets from `x-amzn-RateLimit-Limit`, as Amazon's does.
struct RateHeader;

impl Classify for RateHeader {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Classification {
        DefaultClassifier.classify(status, headers, body)
    }
    fn rate_limit(&self, headers: &HeaderMap) -> Option<f64> {
        headers
            .get("x-amzn-RateLimit-Limit")?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }
}

#[tokio::test]
async fn a_lower_advertised_rate_slows_that_operation_only() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-amzn-RateLimit-Limit", "0.5"))
        .mount(&server)
        .await;
    Mock::given(path("/other"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = client(3);
    c.limits().set_quota("slowOp", Quota::new(20.0, 2));
    c.limits().set_quota("otherOp", Quota::new(20.0, 2));
    let call = |op: &'static str, p: &'static str| {
        let c = c.clone();
        let url = format!("{}{p}", server.uri());
        async move {
            c.call(op, c.reqwest().get(url).build().unwrap())
                .bucket_account("seller-1")
                .classifier(&RateHeader)
                .send()
                .await
                .unwrap()
        }
    };
    call("slowOp", "/slow").await; // learns 0.5 rps
    let start = Instant::now();
    call("otherOp", "/other").await;
    call("otherOp", "/other").await;
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "other op slowed: {:?}",
        start.elapsed()
    );
    let start = Instant::now();
    call("slowOp", "/slow").await;
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "slow op not slowed: {:?}",
        start.elapsed()
    );
}

struct CountingSource {
    calls: AtomicU32,
    lifetime: Duration,
}

#[async_trait]
impl TokenSource for CountingSource {
    async fn fetch(&self, _refresh: Option<SecretString>) -> ml_connector::Result<AccessToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(AccessToken::new(format!("SECRET-TOKEN-{n}"), self.lifetime))
    }
}

#[tokio::test]
async fn fifty_concurrent_callers_cause_one_token_request() {
    let source = Arc::new(CountingSource {
        calls: AtomicU32::new(0),
        lifetime: Duration::from_secs(3600),
    });
    let auth = Arc::new(BearerAuth::new(source.clone(), Duration::from_secs(60)));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.token().await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_token_within_its_refresh_margin_is_refreshed_before_use() {
    let cache = TokenCache::new(Duration::from_secs(60));
    let fetch = |n: u32| {
        move |_r| async move { Ok(AccessToken::new(format!("t{n}"), Duration::from_secs(3600))) }
    };
    let first = cache.get(fetch(1)).await.unwrap();
    tokio::time::advance(Duration::from_secs(3500)).await; // 100 s left: still outside the margin
    let same = cache.get(fetch(2)).await.unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&first),
        secrecy::ExposeSecret::expose_secret(&same)
    );
    tokio::time::advance(Duration::from_secs(50)).await; // 50 s left: inside the 60 s margin
    let fresh = cache.get(fetch(3)).await.unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&fresh), "t3");
    assert_eq!(cache.fetches(), 2);
}

struct CountingAuth {
    refreshes: AtomicU32,
}

#[async_trait]
impl AuthHook for CountingAuth {
    async fn authorize(&self, req: &mut reqwest::Request) -> ml_connector::Result<()> {
        req.headers_mut()
            .insert("authorization", "Bearer SECRET-TOKEN-X".parse().unwrap());
        Ok(())
    }
    async fn refresh(&self, _rejected: &reqwest::Request) -> ml_connector::Result<()> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn an_expired_token_answer_refreshes_once_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(path("/always401"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/once401"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/once401"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = client(5);
    let auth = CountingAuth {
        refreshes: AtomicU32::new(0),
    };
    let err = c
        .call("me", get(&c, format!("{}/always401", server.uri())))
        .auth(&auth)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthExpired);
    assert_eq!(auth.refreshes.load(Ordering::SeqCst), 1);
    let ok = c
        .call("me", get(&c, format!("{}/once401", server.uri())))
        .auth(&auth)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.attempts, 2);
    assert_eq!(auth.refreshes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_post_is_not_resent_after_a_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(5);
    let req = c
        .reqwest()
        .post(format!("{}/orders", server.uri()))
        .body("{}")
        .build()
        .unwrap();
    let err = c.call("createOrder", req).send().await.unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err:?}");
}

/// Captures everything tracing writes.
#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_traces() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(path("/leak"))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"message":"bad","password":"SECRET-PASSWORD","access_token":"SECRET-TOKEN-9"}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let source = Arc::new(CountingSource {
        calls: AtomicU32::new(0),
        lifetime: Duration::from_secs(3600),
    });
    let auth = BearerAuth::new(source, Duration::from_secs(60));
    let c = client(3);
    let e1 = c
        .call("leak", get(&c, format!("{}/leak", server.uri())))
        .auth(&auth)
        .send()
        .await
        .unwrap_err();
    let e2 = c
        .call("flaky", get(&c, format!("{}/flaky", server.uri())))
        .auth(&auth)
        .send()
        .await
        .unwrap_err();
    let token = AccessToken::new("SECRET-TOKEN-77", Duration::from_secs(1));
    let texts = [
        format!("{e1}"),
        format!("{e1:?}"),
        format!("{e2}"),
        format!("{e2:?}"),
        format!("{auth:?}"),
        format!("{token:?}"),
        String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned(),
    ];
    for t in &texts {
        assert!(!t.contains("SECRET-"), "secret leaked: {t}");
    }
    assert!(
        texts[6].contains("retrying"),
        "tracing captured nothing: {}",
        texts[6]
    );
}

#[test]
fn one_reqwest_in_the_lockfile() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let n = lock
        .lines()
        .filter(|l| l.trim() == r#"name = "reqwest""#)
        .count();
    assert_eq!(
        n, 1,
        "Cargo.lock holds {n} reqwest versions; keep one (oauth2 without default features)"
    );
    assert!(
        !lock.contains(r#"name = "openssl-sys""#),
        "OpenSSL crept into the tree"
    );
    assert!(
        !lock.contains(r#"name = "backoff""#),
        "backoff is unmaintained (RUSTSEC-2025-0012); use backon"
    );
}
