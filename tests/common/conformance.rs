//! The store conformance suite: one set of async checks every backend must pass. Each check
//! takes the trait objects only, so the same code runs against memory, SQLite, PostgreSQL and
//! Redis.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use ml_connector::core::{
    AuditEvent, AuditQuery, AuditStage, CheckpointKey, Claim, Cursor, DeadLetter, DeadLetterQuery,
    JobState, Lease, Receipt,
};
use ml_connector::error::Issue;
use ml_connector::model::{JobId, RecordKey, RunId, SystemId};
use ml_connector::{AuditSink, CheckpointStore, DedupStore, ErrorKind};

use super::fakes::order_record;

fn job(name: &str) -> JobId {
    JobId::from_raw(format!("adobe/orders/default:{name}/sales_order"))
}

fn receipt(key: &str) -> Receipt {
    Receipt {
        erp_key: key.into(),
        uri: Some(format!("/api/erp/salesOrders/{key}")),
        warnings: vec![Issue {
            field: Some("customerPO".into()),
            code: Some("W-17".into()),
            message: "duplicate customer PO".into(),
            severity: Some("WARNING".into()),
        }],
        request: Some(serde_json::json!({"salesOrderHeaders": [{"soNbr": key, "qty": "2.50"}]})),
        response: Some(serde_json::json!({"submitResult": {"success": true}, "n": 1.5})),
    }
}

fn claimed(c: Claim) -> Lease {
    match c {
        Claim::Claimed(l) => l,
        other => panic!("expected Claimed, got {other:?}"),
    }
}

const LONG: Duration = Duration::from_secs(60);

/// First claim → attempt 1 with a lease about `lease` long; a second claim is Busy until then.
pub async fn dedup_first_claim_then_busy(d: Arc<dyn DedupStore>) {
    let j = job("first");
    let before = Utc::now();
    let l = claimed(d.claim(&j, LONG).await.unwrap());
    assert_eq!(l.job, j);
    assert_eq!(l.attempt, 1);
    assert!(!l.token.is_empty());
    let drift = chrono::Duration::seconds(5);
    assert!(
        l.expires_at >= before + chrono::Duration::seconds(60) - drift
            && l.expires_at <= Utc::now() + chrono::Duration::seconds(60) + drift,
        "lease should end ~60 s from now, got {}",
        l.expires_at
    );
    match d.claim(&j, LONG).await.unwrap() {
        Claim::Busy { until } => {
            let diff = (until - l.expires_at).num_milliseconds().abs();
            assert!(
                diff < 1000,
                "Busy.until {until} should be the live lease's end {}",
                l.expires_at
            );
        }
        other => panic!("second claim while the lease is live must be Busy, got {other:?}"),
    }
    match d.state(&j).await.unwrap() {
        Some(JobState::Leased(s)) => {
            assert_eq!(s.token, l.token);
            assert_eq!(s.attempt, 1);
        }
        other => panic!("state should be Leased, got {other:?}"),
    }
    assert_eq!(d.state(&job("never-claimed")).await.unwrap(), None);
}

/// Complete is permanent: later claims are Done with the same receipt; completing again (with
/// any token) succeeds; release after completion changes nothing.
pub async fn dedup_complete_is_permanent(d: Arc<dyn DedupStore>) {
    let j = job("done");
    let l = claimed(d.claim(&j, LONG).await.unwrap());
    let r = receipt("SO-1001");
    d.complete(&l, &r).await.unwrap();
    assert_eq!(d.claim(&j, LONG).await.unwrap(), Claim::Done(r.clone()));
    assert_eq!(d.state(&j).await.unwrap(), Some(JobState::Done(r.clone())));
    // Idempotent completion, also with a token that was never current.
    d.complete(&l, &receipt("SO-other")).await.unwrap();
    let stranger = Lease {
        token: "not-a-token".into(),
        ..l.clone()
    };
    d.complete(&stranger, &receipt("SO-other")).await.unwrap();
    d.release(&l).await.unwrap();
    d.release(&stranger).await.unwrap();
    assert_eq!(
        d.claim(&j, LONG).await.unwrap(),
        Claim::Done(r),
        "the first receipt stays"
    );
}

/// Release gives the job back: the next claim is attempt 2; a stale release is a no-op.
pub async fn dedup_release_then_reclaim(d: Arc<dyn DedupStore>) {
    let j = job("release");
    let l1 = claimed(d.claim(&j, LONG).await.unwrap());
    d.release(&l1).await.unwrap();
    assert_eq!(
        d.state(&j).await.unwrap(),
        None,
        "a released job has no live claim"
    );
    let l2 = claimed(d.claim(&j, LONG).await.unwrap());
    assert_eq!(l2.attempt, 2);
    assert_ne!(l2.token, l1.token);
    // Releasing with the old token must not drop the new claim.
    d.release(&l1).await.unwrap();
    assert!(matches!(
        d.claim(&j, LONG).await.unwrap(),
        Claim::Busy { .. }
    ));
    // Completing with the old token fails: the claim is someone else's now.
    let e = d.complete(&l1, &receipt("SO-stale")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
    assert!(
        e.to_string().contains(j.as_str()),
        "error names the job: {e}"
    );
    d.complete(&l2, &receipt("SO-2")).await.unwrap();
    assert_eq!(
        d.claim(&j, LONG).await.unwrap(),
        Claim::Done(receipt("SO-2"))
    );
}

/// A lapsed lease can be taken over (attempt 2); the old holder then cannot complete, the new
/// one can.
pub async fn dedup_lapsed_lease_is_taken_over(d: Arc<dyn DedupStore>) {
    let j = job("lapse");
    let l1 = claimed(d.claim(&j, Duration::from_millis(150)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let l2 = claimed(d.claim(&j, LONG).await.unwrap());
    assert_eq!(
        l2.attempt, 2,
        "a taken-over claim tells the caller to `find` first"
    );
    assert!(d.complete(&l1, &receipt("SO-old")).await.is_err());
    d.complete(&l2, &receipt("SO-new")).await.unwrap();
    // The old holder completing now is fine: the job is done (by the new holder).
    d.complete(&l1, &receipt("SO-old")).await.unwrap();
    assert_eq!(
        d.claim(&j, LONG).await.unwrap(),
        Claim::Done(receipt("SO-new"))
    );
}

/// A lease that lapsed but was not taken over is still the current claim: complete succeeds.
pub async fn dedup_lapsed_but_untaken_lease_completes(d: Arc<dyn DedupStore>) {
    let j = job("lapsed-untaken");
    let l = claimed(d.claim(&j, Duration::from_millis(100)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.complete(&l, &receipt("SO-late")).await.unwrap();
    assert_eq!(
        d.claim(&j, LONG).await.unwrap(),
        Claim::Done(receipt("SO-late"))
    );
}

/// Many concurrent claimers (over several independent handles): exactly one wins each job, and
/// after completion everyone sees Done.
pub async fn dedup_concurrent_claims_have_one_winner(handles: Vec<Arc<dyn DedupStore>>) {
    let jobs: Vec<JobId> = (0..12).map(|i| job(&format!("race-{i}"))).collect();
    let mut tasks = Vec::new();
    for w in 0..24 {
        let d = handles[w % handles.len()].clone();
        let jobs = jobs.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for j in &jobs {
                if let Claim::Claimed(l) = d.claim(j, LONG).await.unwrap() {
                    won.push(l);
                }
            }
            won
        }));
    }
    let mut winners: Vec<Lease> = Vec::new();
    for t in tasks {
        winners.extend(t.await.unwrap());
    }
    let distinct: HashSet<&JobId> = winners.iter().map(|l| &l.job).collect();
    assert_eq!(
        winners.len(),
        jobs.len(),
        "exactly one winner per job, got {winners:?}"
    );
    assert_eq!(distinct.len(), jobs.len());
    for l in &winners {
        assert_eq!(l.attempt, 1);
        handles[0]
            .complete(l, &receipt(l.job.as_str()))
            .await
            .unwrap();
    }
    for h in &handles {
        for j in &jobs {
            assert!(matches!(h.claim(j, LONG).await.unwrap(), Claim::Done(_)));
        }
    }
}

/// Racing take-overs of one lapsed lease: still exactly one winner.
pub async fn dedup_concurrent_takeover_has_one_winner(handles: Vec<Arc<dyn DedupStore>>) {
    let j = job("takeover-race");
    claimed(
        handles[0]
            .claim(&j, Duration::from_millis(100))
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tasks = Vec::new();
    for w in 0..16 {
        let d = handles[w % handles.len()].clone();
        let j = j.clone();
        tasks.push(tokio::spawn(
            async move { d.claim(&j, LONG).await.unwrap() },
        ));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Claim::Claimed(l) => {
                won += 1;
                assert_eq!(l.attempt, 2);
            }
            Claim::Busy { .. } => {}
            Claim::Done(r) => panic!("never completed, got Done({r:?})"),
        }
    }
    assert_eq!(won, 1, "one take-over winner");
}

/// Job ids with slashes, `#`, quotes, braces, spaces and non-ASCII work as keys.
pub async fn dedup_odd_job_ids(d: Arc<dyn DedupStore>) {
    let key = RecordKey::new(
        SystemId::Amazon,
        "settlements",
        "28471003921/it's {a} \"test\" – ü",
    );
    let j = JobId::with_part(
        &key,
        ml_connector::model::DocumentKind::Journal,
        "2026-06#x",
    );
    let l = claimed(d.claim(&j, LONG).await.unwrap());
    d.complete(&l, &receipt("JE-1")).await.unwrap();
    assert_eq!(
        d.claim(&j, LONG).await.unwrap(),
        Claim::Done(receipt("JE-1"))
    );
    let other = JobId::with_part(&key, ml_connector::model::DocumentKind::Journal, "2026-07");
    assert!(matches!(
        d.claim(&other, LONG).await.unwrap(),
        Claim::Claimed(_)
    ));
}

fn now_us() -> chrono::DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn event(
    at: chrono::DateTime<Utc>,
    run: &RunId,
    n: usize,
    stage: AuditStage,
    detail: serde_json::Value,
) -> AuditEvent {
    let record = order_record(n).key;
    AuditEvent {
        at,
        run: run.clone(),
        job: (stage == AuditStage::Posted)
            .then(|| JobId::new(&record, ml_connector::model::DocumentKind::SalesOrder)),
        record,
        stage,
        message: format!("{} order {n}", stage.as_str()),
        detail,
    }
}

/// Append-only events, filtered by record, run, stage, time and limit, oldest first.
pub async fn audit_append_and_query(a: Arc<dyn AuditSink>) {
    let run1 = RunId::new();
    let run2 = RunId::new();
    let t0 = now_us() - chrono::Duration::seconds(30);
    let sec = |s: i64| t0 + chrono::Duration::seconds(s);
    let events = [
        event(sec(0), &run1, 1, AuditStage::Fetched, serde_json::json!({})),
        event(
            sec(1),
            &run1,
            1,
            AuditStage::Mapped,
            serde_json::json!({"documents": 1}),
        ),
        event(
            sec(2),
            &run1,
            1,
            AuditStage::Posted,
            serde_json::json!({"request": {"qty": "2.50"}, "response": {"ok": true, "n": [1, 2.5]}}),
        ),
        event(sec(3), &run1, 2, AuditStage::Fetched, serde_json::json!({})),
        event(
            sec(4),
            &run1,
            2,
            AuditStage::Failed,
            serde_json::json!({"error": "HTTP 503"}),
        ),
        event(
            sec(5),
            &run2,
            2,
            AuditStage::Replayed,
            serde_json::json!({}),
        ),
    ];
    // Appended out of time order: queries still answer oldest first.
    for i in [3, 0, 1, 2, 5, 4] {
        a.append(events[i].clone()).await.unwrap();
    }
    let all_1 = a
        .query(&AuditQuery {
            record: Some(order_record(1).key),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all_1,
        events[0..3].to_vec(),
        "record 1's trail, oldest first"
    );

    let by_run = a
        .query(&AuditQuery {
            run: Some(run1.clone()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_run, events[0..5].to_vec());

    let failed_since = a
        .query(&AuditQuery {
            stage: Some(AuditStage::Failed),
            since: Some(sec(2)),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed_since, vec![events[4].clone()]);

    let since = a
        .query(&AuditQuery {
            since: Some(sec(4)),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        since,
        events[4..].to_vec(),
        "`since` is inclusive and the bound is exact to the microsecond"
    );

    let limited = a
        .query(&AuditQuery {
            run: Some(run1.clone()),
            limit: Some(2),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(limited, events[0..2].to_vec());

    let none = a
        .query(&AuditQuery {
            record: Some(RecordKey::new(SystemId::Adobe, "orders", "nope")),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    // Append-only: the same event twice is two events.
    a.append(events[0].clone()).await.unwrap();
    let again = a
        .query(&AuditQuery {
            record: Some(order_record(1).key),
            stage: Some(AuditStage::Fetched),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
}

/// Secrets in details and messages are redacted before they are stored.
pub async fn audit_redacts_secrets(a: Arc<dyn AuditSink>) {
    let run = RunId::new();
    let mut e = event(
        now_us(),
        &run,
        7,
        AuditStage::Posted,
        serde_json::json!({
            "request": {"headers": {"Authorization": "Bearer eyJhbGciOi.secret"}, "body": {"password": "hunter2", "qty": 2}},
            "response": {"access_token": "Atza|abc"}
        }),
    );
    e.message = "posted with client_secret=s3cr3t".into();
    a.append(e).await.unwrap();
    let got = a
        .query(&AuditQuery {
            run: Some(run),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let stored = serde_json::to_string(&got[0]).unwrap();
    for secret in ["eyJhbGciOi", "hunter2", "Atza|abc", "s3cr3t"] {
        assert!(
            !stored.contains(secret),
            "secret {secret} leaked into the audit trail: {stored}"
        );
    }
    assert_eq!(got[0].detail["request"]["body"]["qty"], 2);
}

/// Park → listed; park again → replaced (one open letter); resolve → hidden unless
/// `include_resolved`; park after resolve → a new open letter next to the resolved one.
pub async fn audit_dead_letter_lifecycle(a: Arc<dyn AuditSink>) {
    let run = RunId::new();
    let rec = order_record(42);
    let other = order_record(43);
    let t0 = now_us() - chrono::Duration::seconds(10);
    let letter =
        |record: &ml_connector::model::SourceRecord, at, failures, error: &str| DeadLetter {
            record: record.clone(),
            run: run.clone(),
            error: error.into(),
            parked_at: at,
            failures,
            resolved_at: None,
        };
    a.park(letter(&rec, t0, 1, "unknown SKU")).await.unwrap();
    a.park(letter(
        &other,
        t0 + chrono::Duration::seconds(1),
        1,
        "customer missing",
    ))
    .await
    .unwrap();
    let second = letter(
        &rec,
        t0 + chrono::Duration::seconds(2),
        2,
        "unknown SKU again; password=hunter2",
    );
    a.park(second.clone()).await.unwrap();

    let open = a.dead_letters(&DeadLetterQuery::default()).await.unwrap();
    assert_eq!(
        open.len(),
        2,
        "re-parking replaces the open letter: {open:?}"
    );
    assert_eq!(open[0].record, other, "oldest first");
    assert_eq!(open[1].record, rec, "the record round-trips exactly");
    assert_eq!(open[1].failures, 2);
    assert_eq!(open[1].parked_at, second.parked_at);
    assert!(open[1].error.contains("unknown SKU again"));
    assert!(
        !open[1].error.contains("hunter2"),
        "errors are redacted: {}",
        open[1].error
    );

    let only = a
        .dead_letters(&DeadLetterQuery {
            record: Some(rec.key.clone()),
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    let by_run = a
        .dead_letters(&DeadLetterQuery {
            run: Some(run.clone()),
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_run.len(), 2);
    let other_run = a
        .dead_letters(&DeadLetterQuery {
            run: Some(RunId::new()),
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert!(other_run.is_empty());
    let since = a
        .dead_letters(&DeadLetterQuery {
            since: Some(t0 + chrono::Duration::seconds(2)),
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].record.key, rec.key);

    let resolved_at = now_us();
    a.resolve(&rec.key, resolved_at).await.unwrap();
    let open = a.dead_letters(&DeadLetterQuery::default()).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].record.key, other.key);
    let all = a
        .dead_letters(&DeadLetterQuery {
            record: Some(rec.key.clone()),
            include_resolved: true,
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].resolved_at, Some(resolved_at));

    // Resolving again (nothing open) is a no-op; parking again opens a new letter.
    a.resolve(&rec.key, now_us()).await.unwrap();
    a.park(letter(&rec, now_us(), 3, "broke again"))
        .await
        .unwrap();
    let all = a
        .dead_letters(&DeadLetterQuery {
            record: Some(rec.key.clone()),
            include_resolved: true,
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all.iter().filter(|l| l.resolved_at.is_none()).count(),
        1,
        "{all:?}"
    );
}

/// Load → None; commit → load; overwrite; keys are independent per source and stream.
pub async fn checkpoints_roundtrip(c: Arc<dyn CheckpointStore>) {
    let k1 = CheckpointKey::new("adobe:default", "orders");
    let k2 = CheckpointKey::new("adobe:default", "invoices");
    let k3 = CheckpointKey::new("amazon:ATVPDKIKX0DER", "orders");
    assert_eq!(c.load(&k1).await.unwrap(), None);
    let c1 = Cursor(serde_json::json!({"updated_at": "2026-03-01 10:00:00", "entity_id": 42}));
    c.commit(&k1, &c1).await.unwrap();
    assert_eq!(c.load(&k1).await.unwrap(), Some(c1.clone()));
    assert_eq!(c.load(&k2).await.unwrap(), None);
    assert_eq!(c.load(&k3).await.unwrap(), None);
    let c2 = Cursor(
        serde_json::json!({"updated_at": "2026-03-02 08:00:00", "entity_id": 7, "tie": [1, 2.5, null, "x"]}),
    );
    c.commit(&k1, &c2).await.unwrap();
    assert_eq!(c.load(&k1).await.unwrap(), Some(c2));
    let c3 = Cursor(serde_json::json!("2026-01-01T00:00:00Z"));
    c.commit(&k3, &c3).await.unwrap();
    assert_eq!(c.load(&k3).await.unwrap(), Some(c3));
}
