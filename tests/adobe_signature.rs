//! OAuth 1.0a signatures: the reference vector, SHA1 vs SHA256 against the simulator in both
//! version modes, a wrong secret, replayed nonces, future timestamps, and values with spaces,
//! `+`, `~` and non-ASCII characters.

use std::time::Duration;

use futures::TryStreamExt;
use ml_connector::SourceSystem;
use ml_connector::adobe::oauth1::{OAuth1Signer, OAuthNonce, SignatureMethod, percent_encode};
use ml_connector::adobe::search::encode_pairs;
use ml_connector::adobe::{
    AdobeClient, AdobeSource, Condition, Direction, OAuth1Credentials, SearchCriteria,
};
use ml_connector::sandbox::adobe::{AdobeSim, AdobeSimConfig};
use ml_connector::{Error, ErrorKind};
use url::Url;

#[test]
fn reference_vector_signs_as_published() {
    let signer = OAuth1Signer::new(
        OAuth1Credentials::new(
            "ck1234567890abcdefghijklmnopqrst",
            "cs1234567890abcdefghijklmnopqrst",
            "at1234567890abcdefghijklmnopqrst",
            "ts1234567890abcdefghijklmnopqrst",
        ),
        SignatureMethod::HmacSha256,
    );
    // The criteria builder produces exactly the reference query.
    let c = SearchCriteria::new(100)
        .filter("updated_at", Condition::Gteq, "2024-01-01 00:00:00")
        .sort("updated_at", Direction::Asc)
        .sort("entity_id", Direction::Asc);
    let mut url = Url::parse("https://shop.example.com/rest/default/V1/orders").unwrap();
    url.set_query(Some(&c.to_query().unwrap()));
    let nonce = OAuthNonce {
        nonce: "n0nce0000000000000000000000000001".into(),
        timestamp: 1_704_067_200,
    };
    assert_eq!(
        signer.signature("GET", &url, &nonce),
        "1JbdW5qI8lCVQljuvsjQbTSfPmTX2WqeFsfgwoZAJR0="
    );
}

fn paas(sim: &AdobeSim) -> ml_connector::adobe::AdobeConfigBuilder {
    sim.paas_config("default").settle_lag(Duration::ZERO).retry(
        ml_connector::http::RetryPolicy::with_attempts(2)
            .delays(Duration::from_millis(5), Duration::from_millis(10)),
    )
}

#[tokio::test]
async fn sha256_is_accepted_and_sha1_refused_from_2_4_4() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(30))
        .await
        .unwrap();
    let ok = AdobeSource::new(paas(&sim).build().unwrap()).unwrap();
    assert!(ok.fetch("customers", "1").await.unwrap().is_some());
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.signature_method.as_deref() == Some("HMAC-SHA256"))
    );

    let sha1 = AdobeSource::new(
        paas(&sim)
            .signature_method(SignatureMethod::HmacSha1)
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = sha1.fetch("customers", "1").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                permanent: true,
                ..
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("Signature method HMAC-SHA1 is not supported"),
        "{text}"
    );
    assert!(text.contains("HTTP 400"), "{text}");
    assert!(
        text.contains("HMAC-SHA256"),
        "the message names the fix: {text}"
    );

    // The same client works against a store before 2.4.4.
    sim.set_accept_sha1(true);
    assert!(sha1.fetch("customers", "1").await.unwrap().is_some());
    assert_eq!(
        sim.requests().last().unwrap().signature_method.as_deref(),
        Some("HMAC-SHA1")
    );
}

#[tokio::test]
async fn a_wrong_secret_is_rejected_by_the_simulator_and_not_retried() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(10))
        .await
        .unwrap();
    let good = sim.oauth1_credentials();
    for bad in [
        OAuth1Credentials {
            consumer_secret: "not-the-secret".to_string().into(),
            ..good.clone()
        },
        OAuth1Credentials {
            access_token_secret: "not-the-token-secret".to_string().into(),
            ..good.clone()
        },
    ] {
        sim.clear_requests();
        let src = AdobeSource::new(
            ml_connector::adobe::AdobeConfig::paas(sim.base_url(), bad)
                .build()
                .unwrap(),
        )
        .unwrap();
        let e = src.fetch("customers", "1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
        assert_eq!(e.status(), Some(401));
        assert!(e.to_string().contains("The signature is invalid"), "{e}");
        assert!(
            !e.to_string().contains("not-the"),
            "no secret in errors: {e}"
        );
        assert_eq!(sim.requests().len(), 1, "a bad signature is not retried");
    }
}

#[tokio::test]
async fn special_characters_in_query_values_and_skus_sign_correctly() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(300))
        .await
        .unwrap();
    let client = AdobeClient::new(paas(&sim).build().unwrap()).unwrap();
    let values = [
        "a b",
        "x+y",
        "tilde~ok",
        "Zoë",
        "Müller",
        "日本語",
        "50% & more = ?/#",
        "O'Brien",
    ];
    for v in values {
        let c = SearchCriteria::new(5).filter("customer_lastname", Condition::Eq, v);
        let res = client.search("orders", "V1/orders", &c).await;
        assert!(res.is_ok(), "value {v:?}: {:?}", res.err());
    }
    // The values reach the store's search intact (not form-decoded: `+` stays `+`).
    let expected = sim
        .orders()
        .iter()
        .filter(|o| o["customer_lastname"] == "Müller")
        .count();
    assert!(expected > 0);
    let c = SearchCriteria::new(300).filter("customer_lastname", Condition::Eq, "Müller");
    let res = client.search("orders", "V1/orders", &c).await.unwrap();
    assert_eq!(res.total_count, Some(expected as i64));
    let c = SearchCriteria::new(5).filter("sku", Condition::Eq, "SIM-SPECIAL A+B~Ü");
    let res = client.search("products", "V1/products", &c).await.unwrap();
    assert_eq!(res.items.len(), 1);
    let like = SearchCriteria::new(5).filter("sku", Condition::Like, "%A+B~%");
    assert_eq!(
        client
            .search("products", "V1/products", &like)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Wire form: RFC 3986, never `+` for a space.
    let q = encode_pairs([("k".to_string(), "a b+c~Ü".to_string())].iter());
    assert_eq!(q, "k=a%20b%2Bc~%C3%9C");
    assert_eq!(percent_encode("~"), "~");
}

#[tokio::test]
async fn replayed_nonces_and_future_timestamps_are_refused() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(10))
        .await
        .unwrap();
    let signer = OAuth1Signer::new(sim.oauth1_credentials(), SignatureMethod::HmacSha256);
    let http = reqwest::Client::new();
    let url = Url::parse(&format!("{}/rest/default/V1/customers/1", sim.base_url())).unwrap();
    let send = |nonce: OAuthNonce| {
        let header = signer.authorization_header("GET", &url, &nonce);
        let req = http.get(url.clone()).header("authorization", header);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let n = OAuthNonce::fresh();
    assert_eq!(send(n.clone()).await.0, 200);
    let (status, body) = send(n).await;
    assert_eq!(status, 401);
    assert!(body.contains("The nonce is already being used"), "{body}");

    let mut future = OAuthNonce::fresh();
    future.timestamp += 700;
    let (status, body) = send(future).await;
    assert_eq!(status, 400);
    assert!(body.contains("Incorrect timestamp"), "{body}");

    // Old timestamps have no lower bound.
    let mut old = OAuthNonce::fresh();
    old.timestamp -= 86_400;
    assert_eq!(send(old).await.0, 200);

    // No Authorization header at all.
    let r = http.get(url.clone()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["message"],
        "The consumer isn't authorized to access %resources."
    );

    // Every request the source makes carries a fresh nonce: a long sync never collides.
    let src = AdobeSource::new(
        sim.paas_config("default")
            .page_size(2)
            .settle_lag(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    let pages: Vec<_> = src.changes("orders", None).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 10);
}
