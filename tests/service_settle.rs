//! `POST /v1/settle` through real HTTP: the real `zkmargin-verifier serve` on a
//! loopback port with a real ledger — an SQLite file always, and a fresh database on
//! the PostgreSQL server named by `ZKMARGIN_TEST_POSTGRES_URL` when it is set
//! (`scripts/ci-postgres.sh`). The ledger is prepared with the settlement library
//! (init, register, fund), exactly as `zkmargin ledger …` would, on the same database
//! the server settles into; every transition is a real Groth16 proof.
//!
//! Each scenario runs as `name::sqlite` and `name::postgres`, each with its own
//! database and server, and ends with `check_invariants`.
//!
//! The fixture's keys are development keys (`"development": true` in their manifest)
//! under the development committee and parameters, so the scenario servers run with
//! `--allow-development`, as a test ledger must; the last tests check that without it
//! the server refuses to start, and that production trust needs no flag.

mod common_service;
mod common_settle;

use std::{
    sync::Barrier,
    time::{Duration, Instant},
};

use common_service::{assert_error, settle_world, world, Server};
use common_settle::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sqlx::Connection;
use zkmargin_circuits::{Status, LIQUIDATION_CIRCUIT_ID};
use zkmargin_settlement::Ledger;
use zkmargin_verifier::{
    testkit::{liquidation_statement_mut, now, tamper_proof, ProvenLiquidation},
    ProofBundle,
};

/// Runs each named `fn name(db: &Db, rt: &Runtime)` as `name::sqlite` and
/// `name::postgres`.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    let rt = super::runtime();
                    let db = super::Db::sqlite();
                    super::$name(&db, &rt);
                    db.finish(&rt);
                }

                #[test]
                fn postgres() {
                    let rt = super::runtime();
                    let Some(db) = super::Db::postgres(&rt) else {
                        return;
                    };
                    super::$name(&db, &rt);
                    db.finish(&rt);
                }
            }
        )*
    };
}

on_both_databases!(
    a_transition_settles_once_and_every_replay_is_refused,
    a_deficit_is_paid_by_the_fund_and_the_rest_socialized,
    a_transition_from_a_stale_commitment_is_refused,
    a_server_with_other_keys_than_the_pinned_ones_settles_nothing,
    racing_liquidators_exactly_one_settles,
    refused_bundles_write_nothing_and_the_server_keeps_serving,
    a_settle_that_outlives_the_request_timeout_still_applies_exactly_once,
);

// ---------------------------------------------------------------------------------
// Scenarios.

/// A valid transition settles: 200 with what the ledger did, and the ledger shows
/// it. The same bundle again, and a re-randomized proof of the same statement (a
/// different, valid proof — `/v1/verify` still accepts it), are replays: 409, and
/// nothing moves.
fn a_transition_settles_once_and_every_replay_is_refused(db: &Db, rt: &tokio::runtime::Runtime) {
    let p = proofs();
    let t = &p.main;
    let env = start(rt, db, &[t], 1_000 * USD, &[]);
    let s = &env.server;

    let (status, info) = s.get_json("/v1/info");
    assert_eq!(status, 200);
    assert_eq!(info["settlement"]["configured"], true);
    let backend = if db.postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(info["settlement"]["backend"], backend);
    let info_text = info.to_string();
    for secret in ["ledger.db", "zkmargin_svc", "postgres://", "sqlite:"] {
        assert!(
            !info_text.contains(secret),
            "/v1/info leaks {secret}: {info}"
        );
    }
    assert_eq!(info["circuits"][1]["id"], LIQUIDATION_CIRCUIT_ID);
    assert_eq!(
        info["circuits"][1]["verifying_key_sha256"],
        settle_world().fixture.liquidation_fingerprint().unwrap()
    );

    let terms = &t.public.terms;
    let (status, body) = s.settle(&t.bundle);
    assert_eq!(status, 200, "{body}");
    let settled = &body["settled"];
    let digest = hex::encode(t.public.digest());
    assert_eq!(settled["statement_digest"], digest);
    assert_eq!(settled["account_id"], 1);
    assert_eq!(settled["account_nonce"], 1);
    assert_eq!(settled["new_commitment"], t.public.new_commitment.to_hex());
    assert_eq!(settled["liquidator"], 7);
    assert_eq!(settled["liquidator_fee"], terms.liquidator_fee);
    assert_eq!(settled["liquidator_balance"], terms.liquidator_fee);
    assert_eq!(settled["insurance_fee"], terms.insurance_fee);
    assert_eq!(settled["fund_balance"], 1_000 * USD + terms.insurance_fee);
    assert_eq!(
        (
            &settled["deficit"],
            &settled["fund_paid"],
            &settled["socialized"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(body["transition"]["circuit"], LIQUIDATION_CIRCUIT_ID);
    assert_eq!(body["transition"]["statement_digest"], digest);
    assert_eq!(
        body["transition"]["old_commitment"],
        t.public.old_commitment.to_hex()
    );

    // The ledger, read directly.
    assert_eq!(env.commitment_of(1), t.public.new_commitment);
    assert_eq!(env.credits(7), terms.liquidator_fee);
    assert_eq!(
        env.run(env.ledger.insurance_fund()).unwrap(),
        1_000 * USD + terms.insurance_fee
    );
    let record = env
        .run(env.ledger.liquidation(&t.public.digest()))
        .unwrap()
        .expect("recorded under its statement digest");
    assert_eq!(record.liquidator, 7);
    assert_eq!(record.terms, *terms);
    assert_eq!(
        record.report_digest,
        hex::encode(settle_world().report.report.digest())
    );
    let after = env.summary();
    assert_eq!(after.liquidations, 1);

    // Replays: the same bundle, then another proof of the same statement.
    assert_ne!(p.main_rerandomized.proof, t.bundle.proof);
    let (status, body) = s.verify(&p.main_rerandomized);
    assert_eq!(
        status, 200,
        "a re-randomized proof is a valid proof: {body}"
    );
    assert_eq!(body["kind"], "transition");
    assert_eq!(body["transition"]["statement_digest"], digest);
    for (what, bundle) in [
        ("the same bundle", &t.bundle),
        ("a re-randomized proof", &p.main_rerandomized),
    ] {
        let response = s.settle(bundle);
        assert_error(&response, 409, "replay");
        assert!(
            response.1["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&digest),
            "{what}: names the statement: {}",
            response.1
        );
        assert_eq!(env.summary(), after, "{what}: nothing written");
        assert_eq!(
            env.credits(7),
            terms.liquidator_fee,
            "{what}: credited once"
        );
    }

    assert_eq!(
        s.metric("zkmargin_settlements_total{outcome=\"applied\"}"),
        1.0
    );
    assert_eq!(
        s.metric("zkmargin_settlements_total{outcome=\"replay\"}"),
        2.0
    );
    assert_eq!(s.metric("zkmargin_rejections_total{code=\"replay\"}"), 2.0);
    let report = env.check_invariants();
    assert_eq!(report.liquidations, 1);
    s.assert_healthy();
}

/// 1 BTC long against 61,000 USD of debt at 60,000: the whole position closes, the
/// penalty is 600 USD (300 to the fund, 300 to the liquidator), and 1,600 USD stay
/// unpaid. The fund (1,000 USD deposited + this 300 USD fee) pays 1,300; 300 USD are
/// socialized.
fn a_deficit_is_paid_by_the_fund_and_the_rest_socialized(db: &Db, rt: &tokio::runtime::Runtime) {
    let t = &proofs().deficit;
    let env = start(rt, db, &[t], 1_000 * USD, &[]);
    let (status, body) = env.server.settle(&t.bundle);
    assert_eq!(status, 200, "{body}");
    let settled = &body["settled"];
    assert_eq!(settled["deficit"], 1_600 * USD);
    assert_eq!(settled["insurance_fee"], 300 * USD);
    assert_eq!(settled["liquidator_fee"], 300 * USD);
    assert_eq!(settled["fund_paid"], 1_300 * USD);
    assert_eq!(settled["socialized"], 300 * USD);
    assert_eq!(settled["fund_balance"], 0);
    assert_eq!(body["transition"]["deficit"], 1_600 * USD);

    let summary = env.summary();
    assert_eq!(summary.insurance_fund, 0);
    assert_eq!(summary.total_socialized, 300 * USD);
    assert_eq!(env.credits(9), 300 * USD);
    assert_eq!(env.commitment_of(2), t.public.new_commitment);
    env.check_invariants();
}

/// The venue replaced the account's commitment (a deposit) before the liquidation
/// arrived: the transition starts from a commitment that is no longer current, 409
/// `stale_commitment`, nothing written. Likewise for an account the ledger never
/// registered.
fn a_transition_from_a_stale_commitment_is_refused(db: &Db, rt: &tokio::runtime::Runtime) {
    let p = proofs();
    let t = &p.stale;
    let env = start(rt, db, &[t], 0, &[]);
    env.run(
        env.ledger
            .replace_commitment(&operator(), 3, &t.public.old_commitment, &p.traded),
    )
    .unwrap();
    let before = env.summary();

    let response = env.server.settle(&t.bundle);
    assert_error(&response, 409, "stale_commitment");
    assert_eq!(env.summary(), before, "nothing written");
    assert_eq!(env.commitment_of(3), p.traded);
    assert_eq!(env.credits(7), 0);

    assert_error(
        &env.server.settle(&p.unregistered.bundle),
        409,
        "stale_commitment",
    );
    assert_eq!(env.summary(), before, "nothing written");
    assert_eq!(
        env.server
            .metric("zkmargin_settlements_total{outcome=\"stale_commitment\"}"),
        2.0
    );
    env.check_invariants();
    env.server.assert_healthy();
}

/// The ledger is pinned to other keys than the server's (the operator rotated to a
/// ceremony's keys; this server still runs the old ones): a verified transition is
/// refused as `409 untrusted_verifier` and nothing is written; pinned back, it settles.
fn a_server_with_other_keys_than_the_pinned_ones_settles_nothing(
    db: &Db,
    rt: &tokio::runtime::Runtime,
) {
    let p = proofs();
    let t = &p.stale;
    let env = start(rt, db, &[t], 0, &[]);
    let mut other = trust();
    other.key_fingerprint = "ab".repeat(32);
    env.run(env.ledger.pin_trust(&operator(), &other)).unwrap();
    let before = env.summary();
    let (status, body) = env.server.settle(&t.bundle);
    assert_error(&(status, body.clone()), 409, "untrusted_verifier");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("verifying key"),
        "{body}"
    );
    assert_eq!(env.summary(), before, "nothing written");
    env.run(env.ledger.pin_trust(&operator(), &trust()))
        .unwrap();
    let (status, body) = env.server.settle(&t.bundle);
    assert_eq!(status, 200, "{body}");
    env.check_invariants();
    env.server.assert_healthy();
}

/// Two liquidators prove different liquidations of the same breaching account (their
/// ids differ, so the statements differ) and send them at the same moment from two
/// threads: exactly one settles, the other is `stale_commitment`; the account holds
/// the winner's commitment and only the winner is credited. Then one statement sent
/// twice at once (the proof and a re-randomized proof of it): one settles, the other
/// is `replay`.
fn racing_liquidators_exactly_one_settles(db: &Db, rt: &tokio::runtime::Runtime) {
    let p = proofs();
    let mut accounts: Vec<&ProvenLiquidation> = p.races.iter().map(|(a, _)| a).collect();
    accounts.extend(p.resubmissions.iter().map(|(t, _)| t));
    let env = start(rt, db, &accounts, 0, &[]);
    let s = &env.server;

    let race = |a: &ProofBundle, b: &ProofBundle| -> [(u16, Value); 2] {
        let barrier = Barrier::new(2);
        std::thread::scope(|scope| {
            let ha = scope.spawn(|| {
                barrier.wait();
                s.settle(a)
            });
            let hb = scope.spawn(|| {
                barrier.wait();
                s.settle(b)
            });
            [ha.join().unwrap(), hb.join().unwrap()]
        })
    };

    let mut wins = [0u32; 2];
    for (i, (a, b)) in p.races.iter().enumerate() {
        let [ra, rb] = race(&a.bundle, &b.bundle);
        let (winner, loser, response) = match (ra.0, rb.0) {
            (200, 409) => {
                wins[0] += 1;
                (a, b, rb)
            }
            (409, 200) => {
                wins[1] += 1;
                (b, a, ra)
            }
            other => {
                panic!("round {i}: expected one 200 and one 409, got {other:?}: {ra:?} {rb:?}")
            }
        };
        assert_error(&response, 409, "stale_commitment");
        let account = winner.old.id;
        assert_eq!(env.commitment_of(account), winner.public.new_commitment);
        assert_eq!(
            env.credits(winner.public.liquidator),
            winner.public.terms.liquidator_fee
        );
        assert_eq!(env.credits(loser.public.liquidator), 0, "round {i}");
    }
    for (i, (t, again)) in p.resubmissions.iter().enumerate() {
        let [ra, rb] = race(&t.bundle, again);
        let mut statuses = [ra.0, rb.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "resubmission {i}: {ra:?} {rb:?}");
        let refused = if ra.0 == 409 { &ra } else { &rb };
        assert_eq!(error_code(&refused.1), "replay", "resubmission {i}");
        assert_eq!(
            env.credits(t.public.liquidator),
            t.public.terms.liquidator_fee
        );
    }
    let report = env.check_invariants();
    assert_eq!(report.liquidations, RACES + RESUBMISSION_RACES);
    assert_eq!(
        s.metric("zkmargin_settlements_total{outcome=\"applied\"}"),
        (RACES + RESUBMISSION_RACES) as f64
    );
    eprintln!(
        "racing liquidators on {}: first sender won {} of {RACES}, second {}",
        if db.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        wins[0],
        wins[1]
    );
    s.assert_healthy();
}

/// Every refusal is a JSON error with its code; none writes anything, and the server
/// settles the genuine transition afterwards.
fn refused_bundles_write_nothing_and_the_server_keeps_serving(
    db: &Db,
    rt: &tokio::runtime::Runtime,
) {
    let p = proofs();
    let w = settle_world();
    let t = &p.main;
    let env = start(rt, db, &[t], 1_000 * USD, &[]);
    let s = &env.server;
    let before = env.summary();
    let events_before = env.run(env.ledger.events(0, 1_000)).unwrap();

    let altered = |f: &dyn Fn(&mut ProofBundle)| {
        let mut b = t.bundle.clone();
        f(&mut b);
        serde_json::to_vec(&b).unwrap()
    };
    let margin = w.fixture.bundle(
        9,
        Status::Breaches,
        &w.report,
        &mut ChaCha20Rng::seed_from_u64(5),
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "tampered proof",
            serde_json::to_vec(&tamper_proof(&t.bundle)).unwrap(),
            422,
            "invalid_proof",
        ),
        (
            "fee redirected to another liquidator",
            altered(&|b| liquidation_statement_mut(b).liquidator = 8),
            422,
            "invalid_proof",
        ),
        (
            "new commitment swapped",
            altered(&|b| {
                liquidation_statement_mut(b).new_commitment = p.stale.public.new_commitment
            }),
            422,
            "invalid_proof",
        ),
        (
            "forged terms",
            altered(&|b| {
                let terms = &mut liquidation_statement_mut(b).terms;
                terms.liquidator_fee += 1;
                terms.insurance_fee -= 1;
            }),
            422,
            "liquidation_terms_mismatch",
        ),
        (
            "amount 0",
            altered(&|b| {
                let s = liquidation_statement_mut(b);
                s.action = s.action.with_amount(0);
            }),
            422,
            "invalid_liquidation_action",
        ),
        (
            "stale oracle report",
            altered(&|b| b.report = w.fixture.signed_report(now() - 400)),
            422,
            "oracle_stale_report",
        ),
        (
            "margin bundle",
            serde_json::to_vec(&margin).unwrap(),
            422,
            "wrong_statement_kind",
        ),
        (
            "not JSON",
            b"{\"version\": 1,".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "not a bundle",
            b"{\"bundles\": []}".to_vec(),
            400,
            "invalid_bundle",
        ),
    ];
    for (name, body, status, code) in cases {
        let response = s.post("/v1/settle", &body);
        assert_error(&response, status, code);
        assert_eq!(env.summary(), before, "{name}: nothing written");
        s.assert_healthy();
        assert!(
            s.metric(&format!("zkmargin_settlements_total{{outcome=\"{code}\"}}")) >= 1.0,
            "{name}: counted"
        );
    }
    assert_eq!(
        env.run(env.ledger.events(0, 1_000)).unwrap(),
        events_before,
        "no event appended"
    );
    let (status, body) = s.get_json("/v1/settle");
    assert_eq!(status, 405, "{body}");

    let (status, body) = s.settle(&t.bundle);
    assert_eq!(status, 200, "the genuine transition still settles: {body}");
    env.check_invariants();
}

/// The ledger is locked (another writer mid-transaction) longer than the request
/// timeout: the client gets 503 `timeout` with `Retry-After` — and the apply, which
/// runs in a task of its own, completes when the lock is released. Re-sending is then
/// a replay: applied exactly once.
fn a_settle_that_outlives_the_request_timeout_still_applies_exactly_once(
    db: &Db,
    rt: &tokio::runtime::Runtime,
) {
    let t = &proofs().slow;
    let env = start(rt, db, &[t], 0, &["--request-timeout-ms", "1500"]);
    let body = serde_json::to_vec(&t.bundle).unwrap();

    // Another writer holds the ledger's writer lock (the meta row) for 3 s.
    let mut blocker = env.run(async {
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql("BEGIN; UPDATE ledger_meta SET write_epoch = write_epoch + 1 WHERE id = 1")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    });
    let started = Instant::now();
    let (status, response, retry_after) =
        env.server
            .post_with_header("/v1/settle", &body, "retry-after");
    assert_eq!(status, 503, "{response}");
    assert_eq!(error_code(&response), "timeout");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // The lock is still held (it is released only below): the 503 came from the
    // request timeout, not from the lock going away. No tighter timing bound: the
    // machine is shared.
    std::thread::sleep(Duration::from_millis(3_000).saturating_sub(started.elapsed()));
    env.run(async {
        sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();
        blocker.close().await.unwrap();
    });

    // The abandoned request's apply finishes on its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    while env
        .run(env.ledger.liquidation(&t.public.digest()))
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the apply never completed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(env.commitment_of(5), t.public.new_commitment);
    assert_error(&env.server.settle(&t.bundle), 409, "replay");
    assert_eq!(env.credits(7), t.public.terms.liquidator_fee);
    assert_eq!(env.check_invariants().liquidations, 1);
}

// ---------------------------------------------------------------------------------
// Without a ledger, and with a ledger the server cannot use.

/// Without `--ledger`, `/v1/settle` is 404 `settlement_not_configured`; `/v1/verify`
/// verifies a transition bundle all the same (`kind: transition`), and a batch says a
/// transition does not belong there.
#[test]
fn without_a_ledger_settle_is_404_and_verify_accepts_transitions() {
    let p = proofs();
    let s = Server::start_with(settle_world(), &[], &[]);
    assert_error(&s.settle(&p.main.bundle), 404, "settlement_not_configured");
    let (status, info) = s.get_json("/v1/info");
    assert_eq!(status, 200);
    assert_eq!(info["settlement"], json!({ "configured": false }));

    let (status, body) = s.verify(&p.main.bundle);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "transition");
    let v = &body["transition"];
    assert_eq!(v["circuit"], LIQUIDATION_CIRCUIT_ID);
    assert_eq!(v["statement_digest"], hex::encode(p.main.public.digest()));
    assert_eq!(v["liquidator"], 7);
    assert_eq!(v["deficit"], 0);
    assert_eq!(
        v["terms"]["insurance_fee"],
        p.main.public.terms.insurance_fee
    );
    assert_error(
        &s.verify(&tamper_proof(&p.main.bundle)),
        422,
        "invalid_proof",
    );

    let (status, body) = s.post_json(
        "/v1/verify/batch",
        &json!({ "bundles": [serde_json::to_value(&p.main.bundle).unwrap()] }),
    );
    assert_eq!(status, 200, "{body}");
    let item = &body["results"][0];
    assert_eq!(item["error"]["code"], "wrong_statement_kind", "{body}");
    assert!(
        item["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/settle"),
        "{body}"
    );
    assert_eq!(
        s.metric("zkmargin_verdicts_total{status=\"transition\"}"),
        1.0
    );
    s.assert_healthy();
}

/// The server refuses to start rather than serve a `/v1/settle` that cannot work: a
/// keys directory without liquidation keys, a ledger URL the driver refuses, an
/// unknown database — and never prints the ledger URL's password. (On the fixtures'
/// development trust, allowed, so that these are the refusals seen.)
#[test]
fn the_server_refuses_to_start_with_a_ledger_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/l.db?mode=rwc", dir.path().display());
    let cases: [(&str, &common_service::World, String, &str); 3] = [
        ("margin keys only", world(), sqlite, "liquidation"),
        (
            // (A server that is down is retried for the pool's 30 s acquire timeout
            // before the same error; a URL the driver refuses fails at once.)
            "PostgreSQL URL the driver refuses",
            settle_world(),
            "postgres://zkmargin:hunter2@127.0.0.1:notaport/zkmargin".to_owned(),
            "cannot open the settlement ledger",
        ),
        (
            "unknown database",
            settle_world(),
            "mysql://zkmargin:hunter2@127.0.0.1/zkmargin".to_owned(),
            "unsupported database URL",
        ),
    ];
    for (name, w, url, says) in cases {
        let started = Instant::now();
        let output = Server::command(w, &["--ledger", &url, "--allow-development"], &[])
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run zkmargin-verifier");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "{name}: leaks the password: {stderr}"
        );
        assert!(!stderr.contains("listening"), "{name}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name}: took {:?}",
            started.elapsed()
        );
    }
}

// ---------------------------------------------------------------------------------
// Development trust: refused unless allowed.

/// `zkmargin-verifier serve ARGS…` run to completion: its exit code and stderr.
fn serve_output(mut command: std::process::Command) -> (Option<i32>, String) {
    let output = command
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run zkmargin-verifier");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts that the server refused to start in exactly one stderr line containing
/// every one of `needles`.
#[track_caller]
fn assert_refused(result: &(Option<i32>, String), needles: &[&str]) {
    let (code, stderr) = result;
    assert_eq!(*code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line:\n{stderr}");
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} missing: {stderr}");
    }
    assert!(!stderr.contains("listening"), "{stderr}");
}

/// `/v1/settle` takes no credential, so the trust is all that guards the ledger: on
/// development trust `serve --ledger` refuses to start, in one line naming each
/// development part and its fix, before it opens (or creates) the ledger — with the
/// development defaults (`keys/` of the repository, the development committee and
/// parameters) and with the fixture's files, which are the same committee and
/// parameters. With `--allow-development` (or `ZKMARGIN_ALLOW_DEVELOPMENT`) the same
/// server starts, warns, and says so in `/v1/info`. Without `--ledger` nothing changes.
#[test]
fn a_ledger_on_development_trust_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let repo = env!("CARGO_MANIFEST_DIR");
    let defaults = |args: &[&str], envs: &[(&str, &str)]| {
        let mut command = Server::bare_command(args, envs);
        command.current_dir(repo);
        command
    };

    assert_refused(
        &serve_output(defaults(&["--ledger", &url], &[])),
        &[
            "refusing to settle on a development trust configuration",
            "development keys (keys/manifest.json says \"development\": true",
            "the development oracle committee (no --oracle given",
            "the development risk parameters (no --params given)",
            "drain the insurance fund",
            "--keys DIR from `zkmargin setup --production`",
            "--oracle FILE",
            "--params FILE",
            "--allow-development",
        ],
    );
    assert_refused(
        &serve_output(Server::command(settle_world(), &["--ledger", &url], &[])),
        &[
            "development keys",
            "the --oracle config is that committee",
            "a --params file holds them",
            "--allow-development",
        ],
    );
    // Set but false is not an allowance.
    assert_refused(
        &serve_output(Server::command(
            settle_world(),
            &["--ledger", &url],
            &[("ZKMARGIN_ALLOW_DEVELOPMENT", "false")],
        )),
        &["--allow-development"],
    );
    assert!(!db.exists(), "a refused server created the ledger");

    // Allowed: it starts, loudly, and /v1/info says the settlement trust is development.
    let s = Server::spawn(defaults(&["--ledger", &url, "--allow-development"], &[]));
    assert!(
        s.stderr()
            .contains("SETTLING ON A DEVELOPMENT TRUST CONFIGURATION"),
        "{}",
        s.stderr()
    );
    let (status, info) = s.get_json("/v1/info");
    assert_eq!(status, 200);
    assert_eq!(info["development_keys"], true);
    assert_eq!(info["oracle"]["development_committee"], true);
    let settlement = &info["settlement"];
    assert_eq!(settlement["configured"], true, "{info}");
    assert_eq!(settlement["development"], true, "{info}");
    assert_eq!(
        settlement["development_trust"],
        json!(["keys", "oracle_committee", "risk_params"])
    );
    drop(s);

    // The variable allows it too; the fixture's transition then settles.
    let rt = runtime();
    let p = proofs();
    let ledger = rt.block_on(async {
        let ledger = Ledger::open(&url).await.unwrap();
        ledger.init(&operator()).await.unwrap();
        ledger.pin_trust(&operator(), &trust()).await.unwrap();
        let t = &p.main;
        ledger
            .register_account(&operator(), t.old.id, &t.public.old_commitment)
            .await
            .unwrap();
        ledger
    });
    let s = Server::start_with(
        settle_world(),
        &["--ledger", &url],
        &[("ZKMARGIN_ALLOW_DEVELOPMENT", "1")],
    );
    let (status, body) = s.settle(&p.main.bundle);
    assert_eq!(status, 200, "{body}");
    let (_, info) = s.get_json("/v1/info");
    assert_eq!(info["settlement"]["development"], true, "{info}");
    drop(s);
    rt.block_on(async {
        ledger.check_invariants().await.unwrap();
        ledger.close().await;
    });

    // Verification alone still runs on the development defaults, without the flag.
    let s = Server::spawn(defaults(&[], &[]));
    let (_, info) = s.get_json("/v1/info");
    assert_eq!(info["settlement"], json!({ "configured": false }));
    s.assert_healthy();
}

/// Production trust — keys whose manifest says `"development": false`, a committee of
/// fresh signers, the venue's own parameters — needs no flag: the server starts, says
/// nothing about development, and `/v1/settle` is live (the fixture's transition,
/// proven under the development committee and parameters, is rejected, not 404).
#[test]
fn a_ledger_on_production_trust_needs_no_flag() {
    use zkmargin_oracle::{OracleConfig, SignerKey};

    let f = &settle_world().fixture;
    let files = tempfile::tempdir().unwrap();
    let keys = files.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    for entry in std::fs::read_dir(f.keys_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    // (The bytes are the fixture's; only the manifest's flag is read here.)
    let manifest = keys.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["development"] = json!(false);
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let oracle = OracleConfig {
        signers: (0..3).map(|_| SignerKey::generate(&mut rng).id()).collect(),
        ..f.oracle_config().clone()
    };
    let oracle_file = files.path().join("oracle.json");
    std::fs::write(&oracle_file, serde_json::to_vec(&oracle).unwrap()).unwrap();
    let mut venue = f.params().clone();
    venue.revision += 1;
    let params_file = files.path().join("params.json");
    std::fs::write(&params_file, serde_json::to_vec(&venue).unwrap()).unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        files.path().join("ledger.db").display()
    );

    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let args = [
        "--keys".to_owned(),
        path(&keys),
        "--oracle".to_owned(),
        path(&oracle_file),
        "--params".to_owned(),
        path(&params_file),
        "--ledger".to_owned(),
        url,
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::spawn(Server::bare_command(&args, &[]));
    assert!(
        !s.stderr().contains("DEVELOPMENT") && !s.stderr().contains("WARNING"),
        "{}",
        s.stderr()
    );
    let (_, info) = s.get_json("/v1/info");
    assert_eq!(info["development_keys"], false);
    assert_eq!(info["oracle"]["development_committee"], false);
    assert_eq!(info["development_defaults"], json!([]));
    // Relabelled fixture keys with no ceremony record: one party made them.
    assert_eq!(info["keys_provenance"]["kind"], "single_party", "{info}");
    assert!(
        s.stderr().contains("keys=single-party setup"),
        "{}",
        s.stderr()
    );
    let settlement = &info["settlement"];
    assert_eq!(settlement["configured"], true, "{info}");
    assert_eq!(settlement["development"], false, "{info}");
    assert_eq!(settlement["development_trust"], json!([]));
    let (status, body) = s.settle(&proofs().main.bundle);
    assert_eq!(status, 422, "{body}");
    s.assert_healthy();
}
