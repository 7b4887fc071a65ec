//! Kernel overhead: one call through rate bucket + classifier + retry loop against a local server,
//! the token cache's hot path, and a bucket's acquire when it has tokens.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ml_connector::http::{AccessToken, BucketKey, HttpClient, Quota, RateLimits, TokenCache};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn kernel(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let s = MockServer::start().await;
        Mock::given(path("/ok"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"ok\":true}"))
            .mount(&s)
            .await;
        s
    });
    let client = HttpClient::builder("bench").build().unwrap();
    let url = format!("{}/ok", server.uri());
    c.bench_function("kernel: GET through the full path (loopback)", |b| {
        b.to_async(&rt).iter(|| async {
            let req = client.reqwest().get(&url).build().unwrap();
            client.call("ok", req).send().await.unwrap()
        })
    });
    let raw = reqwest::Client::new();
    c.bench_function("baseline: bare reqwest GET (loopback)", |b| {
        b.to_async(&rt)
            .iter(|| async { raw.get(&url).send().await.unwrap().bytes().await.unwrap() })
    });

    let cache = Arc::new(TokenCache::new(Duration::from_secs(60)));
    rt.block_on(cache.get(|_| async { Ok(AccessToken::new("t", Duration::from_secs(3600))) }))
        .unwrap();
    c.bench_function("token cache: cached token", |b| {
        b.to_async(&rt)
            .iter(|| async { cache.get(|_| async { unreachable!() }).await.unwrap() })
    });

    let limits = RateLimits::new();
    limits.set_quota("op", Quota::new(1e9, 1_000_000));
    let key = BucketKey::new("acct", "op");
    c.bench_function("rate bucket: acquire with tokens available", |b| {
        b.to_async(&rt).iter(|| limits.acquire(&key))
    });
}

criterion_group!(benches, kernel);
criterion_main!(benches);
