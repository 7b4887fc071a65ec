//! The QAD simulator's own contract, over raw HTTP: token grants, unknown browses answering 200
//! with no rows, HTML 404/405 for unknown components, bare `errors[]` for 401/403.

use ml_connector::sandbox::qad::{QadSimConfig, QadSimulator};
use serde_json::Value;
use std::time::Duration;

async fn token(sim: &QadSimulator, http: &reqwest::Client) -> (String, String) {
    let c = sim.sim_config();
    let v: Value = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", c.client_id.as_str()),
            ("username", c.username.as_str()),
            ("password", c.password.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["access_token"].as_str().unwrap().to_string(),
        v["refresh_token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn browses_components_and_auth_behave_like_qad() {
    let sim = QadSimulator::start().await.unwrap();
    sim.seed_customer("C1", "One", "EUR");
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let (tok, refresh) = token(&sim, &http).await;
    let get = |path: &str, q: &[(&str, &str)]| {
        http.get(format!("{base}/{path}"))
            .bearer_auth(&tok)
            .query(q)
            .send()
    };

    // Unknown browse: HTTP 200 with zero rows (as QAD).
    let r = get(
        "api/qracore/browses",
        &[
            ("browseId", "urn:browse:mfg:zz999"),
            ("page", "1"),
            ("pageSize", "10"),
            ("pageAction", "first"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"], serde_json::json!([]));

    // A known browse needs the paging parameters.
    let v: Value = get(
        "api/qracore/browses",
        &[("browseId", "urn:browse:mfg:cm007")],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 0);
    let v: Value = get(
        "api/qracore/browses",
        &[
            ("browseId", "urn:browse:mfg:cm007"),
            ("page", "1"),
            ("pageSize", "10"),
            ("pageAction", "first"),
            ("filter", "debtor.DebtorCode,eq,C1,literal"),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["data"][0]["debtor.DebtorCode"], "C1");

    // Unknown component: an HTML 404; a GET on a POST-only component: 405.
    let r = get("api/erp/noSuchThings", &[]).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("<html>"));
    let r = get("api/erp/salesOrderLines/fieldChange", &[])
        .await
        .unwrap();
    assert_eq!(r.status(), 405);

    // Forbidden component: bare errors[] with 403.
    sim.forbid("api/erp/customerInvoices");
    let r = get("api/erp/customerInvoices", &[]).await.unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["message"], "Access is denied");

    // Unknown workspace: 403.
    let r = http
        .get(format!("{base}/api/erp/customerV2s"))
        .bearer_auth(&tok)
        .header("x-qad-workspace-id", "99XX_99XXCO")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Expired token: 401; the refresh grant rotates the refresh token.
    sim.expire_access_tokens();
    let r = get("api/erp/customerV2s", &[]).await.unwrap();
    assert_eq!(r.status(), 401);
    let c = sim.sim_config();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", c.client_id.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let r = http
        .post(format!("{base}/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a used refresh token is rejected");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant");
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let sim = QadSimulator::start_with(QadSimConfig {
        token_ttl: Duration::from_millis(300),
        ..QadSimConfig::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let (tok, _) = token(&sim, &http).await;
    let url = format!("{}/api/erp/customerV2s", sim.base_url());
    let r = http.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = http.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), 401);
}
