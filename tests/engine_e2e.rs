//! End to end over the real NATS JetStream server (127.0.0.1:4222, as on the
//! development and CI machines): the real `zkmargin` binary as engine, two workers and
//! two keepers, 1,000 private accounts, a price drop that puts ≈ 5 % in breach. Every
//! breaching account gets exactly one breach proof, one liquidation and one
//! settlement; no healthy account is touched; the ledger's invariants hold; early
//! warnings reach only each account's own subject; a replayed report makes no job.

#[path = "engine_common/mod.rs"]
mod common;
mod common_service;

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use common::*;
use zkmargin_circuits::Status;
use zkmargin_engine::{
    async_nats::{self, jetstream},
    keeper::Settle,
    messages::{claim_key, Claim, FeedItem, JobKind},
    names::Names,
};

const TAU_WARN_PPM: u32 = 1_010_000;

#[test]
fn thousand_accounts_five_percent_breach_two_workers_two_keepers() {
    require_nats();
    let started = Instant::now();
    let prefix = unique_prefix("e2e");
    let accounts = accounts(1_000, 380_000);
    let report = report(now());
    let breaching = breaching(&accounts, &report, 1_000_000);
    let warned: HashSet<u64> = common::breaching(&accounts, &report, TAU_WARN_PPM)
        .difference(&breaching)
        .copied()
        .collect();
    assert!(
        (30..=70).contains(&breaching.len()),
        "the drop should breach about 5 %: {}",
        breaching.len()
    );
    assert!(!warned.is_empty());
    let venue = Venue::new(accounts);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(venue.path().join("engine.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the engine store must be private: {mode:o}"
        );
    }

    let bus = bus_args(NATS, &prefix, 5_000);
    let mut procs = Procs::default();
    procs.spawn(
        "engine",
        &engine_args(
            &bus,
            &venue.store,
            &["--tau-warn-ppm", &TAU_WARN_PPM.to_string()],
        ),
    );
    for w in 0..2 {
        procs.spawn(
            &format!("worker{w}"),
            &worker_args(&bus, &["--parallel", "1"]),
        );
    }
    for liquidator in [7u64, 8] {
        procs.spawn(
            &format!("keeper{liquidator}"),
            &keeper_args(&bus, liquidator, &venue.ledger_url),
        );
    }
    assert!(
        procs.wait_for("engine: prefix", 1, Duration::from_secs(20)),
        "{}",
        procs.dump()
    );
    assert!(
        procs.wait_for("worker: proving jobs", 2, Duration::from_secs(30)),
        "{}",
        procs.dump()
    );
    assert!(
        procs.wait_for("keeper", 2, Duration::from_secs(20)),
        "{}",
        procs.dump()
    );

    // Front-running: claims published before any proof (liquidator 99 guesses the
    // proof's digest) for a breaching and a healthy account. Refused by the engine, and
    // blocking no one: their subjects are not the ones the real proofs give.
    let names = Names::new(&prefix).unwrap();
    let target = *breaching.iter().next().unwrap();
    let healthy = (1..=1_000).find(|id| !breaching.contains(id)).unwrap();
    venue.rt.block_on(async {
        let js = jetstream::new(async_nats::connect(NATS).await.unwrap());
        for id in [target, healthy] {
            let account = &venue.accounts[id as usize - 1];
            let commitment = zkmargin_circuits::Commitment::of(account);
            let claim = Claim {
                version: 1,
                liquidator: 99,
                commitment,
                report_digest: hex::encode(report.report.digest()),
                breach_statement: hex::encode([0u8; 32]),
                claimed_ms: 0,
                tick_ms: 0,
            };
            let key = claim_key(&commitment, &report.report.digest(), &[0u8; 32]);
            js.publish(
                names.claim_subject(&key),
                serde_json::to_vec(&claim).unwrap().into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
    });
    assert!(
        procs.wait_for(
            "no breach proof of that account is on the feed",
            2,
            Duration::from_secs(20)
        ),
        "the front-running claims were not refused\n{}",
        procs.dump()
    );

    let tick = Instant::now();
    venue.publish(&report, &bus);
    venue.wait_settled(&breaching, Duration::from_secs(150), &procs);
    let to_settled = tick.elapsed();
    assert!(procs.wait_for("engine: tick", 1, Duration::from_secs(5)));

    // A replayed report (a fresh message id, so JetStream hands it to the engine)
    // makes no new job.
    let (feed, warnings) = venue.rt.block_on(async {
        let client = async_nats::connect(NATS).await.unwrap();
        let js = jetstream::new(client);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", "replay-of-the-tick");
        js.publish_with_headers(
            names.reports_subject(),
            headers,
            serde_json::to_vec(&report).unwrap().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
        // Time for anything (wrongly) queued to be proved and published.
        tokio::time::sleep(Duration::from_secs(3)).await;
        (
            read_stream(&js, &names.feed_stream()).await,
            read_stream(&js, &names.warnings_stream()).await,
        )
    });
    assert!(
        !procs.grep("report ignored: duplicate").is_empty(),
        "the replayed report was not reported as a duplicate\n{}",
        procs.dump()
    );

    // Exactly one breach proof and one liquidation per breaching account, none other.
    let mut breach_proofs: HashMap<u64, usize> = HashMap::new();
    let mut liquidations: HashMap<u64, Vec<u64>> = HashMap::new();
    for (subject, payload) in &feed {
        let item: FeedItem = serde_json::from_slice(payload).unwrap();
        match (&item.kind, &item.bundle.statement) {
            (JobKind::Breach, zkmargin_verifier::Statement::Margin(m)) => {
                assert_eq!(
                    subject,
                    &names.feed_account_subject(JobKind::Breach, &m.commitment.to_hex())
                );
                assert_eq!(m.status, Status::Breaches);
                assert_eq!(m.tau_ppm, 1_000_000);
                let id = venue.by_commitment[&m.commitment.to_hex()];
                *breach_proofs.entry(id).or_default() += 1;
            }
            (JobKind::Liquidation, zkmargin_verifier::Statement::Liquidation(l)) => {
                let id = venue.by_commitment[&l.old_commitment.to_hex()];
                liquidations.entry(id).or_default().push(l.liquidator);
            }
            other => panic!("unexpected feed item {:?} on {subject}", other.0),
        }
    }
    let ids: HashSet<u64> = breach_proofs.keys().copied().collect();
    assert_eq!(
        ids, breaching,
        "breach proofs for exactly the breaching accounts"
    );
    assert!(
        breach_proofs.values().all(|&n| n == 1),
        "one breach proof each"
    );
    let ids: HashSet<u64> = liquidations.keys().copied().collect();
    assert_eq!(
        ids, breaching,
        "liquidations for exactly the breaching accounts"
    );
    assert!(
        liquidations
            .values()
            .all(|l| l.len() == 1 && (l[0] == 7 || l[0] == 8)),
        "one liquidation each, naming one of the keepers: {liquidations:?}"
    );
    // Warnings went to each account's own subject, never the public feed.
    let warned_ids: HashSet<u64> = warnings
        .iter()
        .map(|(subject, _)| subject.rsplit('.').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(warned_ids, warned);
    assert_eq!(warnings.len(), warned.len());

    // The ledger: one settlement per breaching account, none for a healthy one; the
    // keepers' credits add up; the invariants hold.
    venue.check_ledger(&breaching);
    venue.rt.block_on(async {
        let report = venue.ledger.check_invariants().await.unwrap();
        let credits =
            venue.ledger.credits(7).await.unwrap() + venue.ledger.credits(8).await.unwrap();
        assert!(credits > 0);
        assert_eq!(report.total_credits, credits);
    });
    // The write-back (no --ledger: on the keepers' notices): the engine's store holds
    // every liquidated account's post-state, the commitment the ledger holds.
    wait_written_back(&venue, &breaching, Duration::from_secs(30), &procs);
    let store = store_accounts(&venue);
    for id in &breaching {
        assert_eq!(
            store[id].nonce, 1,
            "account {id}: nonce after one liquidation"
        );
    }
    // A newer report at the same prices: the accounts still in the warning band with
    // an unchanged state keep their proofs (the report they were proven at is still
    // fresh) and are not proven again; the liquidated ones have new commitments.
    let next = common::report(now());
    assert!(next.report.observed_at > report.report.observed_at);
    venue.publish(&next, &bus);
    let done = format!(
        "engine: tick {} done",
        &hex::encode(next.report.digest())[..12]
    );
    assert!(
        procs.wait_for(&done, 1, Duration::from_secs(30)),
        "{}",
        procs.dump()
    );
    let line = procs.grep(&done).pop().unwrap();
    assert!(
        line.contains(&format!("{} still proven", warned.len())),
        "the {} unchanged accounts in the warning band should not be proven again: {line}",
        warned.len()
    );

    let settled_lines = procs.grep("settled the liquidation of account");
    assert_eq!(
        settled_lines.len(),
        breaching.len(),
        "one settlement per account"
    );
    let won = procs.grep("claimed by liquidator");
    assert_eq!(
        won.len(),
        breaching.len(),
        "one named liquidator per account"
    );
    eprintln!(
        "engine e2e: 1000 accounts, {} breaches, {} warnings, tick to all settled {:?}, test {:?}",
        breaching.len(),
        warned.len(),
        to_settled,
        started.elapsed()
    );
}

/// Bad flags and inputs: one `error:` line, exit code 2 for usage, 1 for an input;
/// nothing is opened or created before the flags are checked.
#[test]
fn bad_flags_and_inputs_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", s(&dir.path().join("never.db")));
    let mut cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            engine_args(&bus_args(NATS, "a.b", 1000), &store, &[]),
            2,
            "--prefix",
        ),
        (
            engine_args(&bus_args(NATS, "ok", 5), &store, &[]),
            2,
            "--ack-wait-ms",
        ),
        (
            engine_args(
                &bus_args(NATS, "ok", 1000),
                &store,
                &["--tau-warn-ppm", "1000000"],
            ),
            2,
            "--tau-warn-ppm",
        ),
        (
            worker_args(&bus_args(NATS, "ok", 1000), &["--parallel", "0"]),
            2,
            "--parallel",
        ),
        (
            vec![
                "engine".into(),
                "import".into(),
                "--store".into(),
                store.clone(),
                "--accounts".into(),
                s(&dir.path().join("missing.jsonl")),
            ],
            1,
            "missing.jsonl",
        ),
        (
            engine_args(&bus_args("nats://127.0.0.1:1", "ok", 1000), &store, &[]),
            1,
            "NATS",
        ),
    ];
    let keeper = |settle: &[&str]| keeper_args_settling(&bus_args(NATS, "ok", 1000), 7, settle);
    cases.extend([
        (
            keeper(&["--settle-url", "https://venue.example"]),
            2,
            "https",
        ),
        (
            keeper(&["--settle-url", "http://127.0.0.1:8080/v1/settle"]),
            2,
            "without a path",
        ),
        (
            keeper(&["--settle-url", "venue:8080"]),
            2,
            "http://HOST:PORT",
        ),
        (
            keeper(&["--settle-url", "http://127.0.0.1:8080", "--ledger", &store]),
            2,
            "cannot be used with",
        ),
        (
            keeper(&[]),
            2,
            "give one of --ledger URL or --settle-url URL",
        ),
    ]);
    for (args, code, needle) in cases {
        let out = std::process::Command::new(bin())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(errors[0].contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(
        !dir.path().join("never.db").exists(),
        "a failed start created the store"
    );
    // A ledger URL's password never reaches the terminal, even in the error (an
    // invalid sslmode fails at once, without a server).
    let out = std::process::Command::new(bin())
        .args(keeper_args_settling(
            &bus_args(NATS, "ok", 1000),
            7,
            &[
                "--ledger",
                "postgres://zk:hunter2@127.0.0.1:1/none?sslmode=bogus",
            ],
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("zk:***@127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// Nine accounts with H(1) = 360 − 50·id USD, a report now at ETH 2,900 that puts ids 8
/// and 9 in breach, and the venue holding the accounts.
fn nine_accounts_two_breaching() -> (zkmargin_oracle::SignedReport, HashSet<u64>, Venue) {
    let accounts = accounts(9, 50_000_000);
    let report = report(now());
    let breaching = breaching(&accounts, &report, 1_000_000);
    assert_eq!(breaching, HashSet::from([8, 9]));
    (report, breaching, Venue::new(accounts))
}

/// The write-back, confirmed on the ledger (`--ledger`): after a tick's liquidations
/// settle, the engine's store holds each liquidated account's post-state (the ledger's
/// commitment); a second tick at a lower price liquidates a still-breaching account
/// again (ledger nonce 2) — no liquidation refused as stale.
#[test]
fn settled_liquidations_written_back_second_tick_liquidates_again() {
    require_nats();
    let prefix = unique_prefix("wb");
    let (first, breaching1, venue) = nine_accounts_two_breaching();
    let bus = bus_args(NATS, &prefix, 5_000);
    let mut procs = Procs::default();
    procs.spawn(
        "engine",
        &engine_args(&bus, &venue.store, &["--ledger", &venue.ledger_url]),
    );
    procs.spawn("worker", &worker_args(&bus, &[]));
    procs.spawn("keeper7", &keeper_args(&bus, 7, &venue.ledger_url));
    assert!(
        procs.wait_for("on the ledger", 1, Duration::from_secs(20))
            && procs.wait_for("worker: proving jobs", 1, Duration::from_secs(30))
            && procs.wait_for("keeper 7", 1, Duration::from_secs(20)),
        "{}",
        procs.dump()
    );
    venue.publish(&first, &bus);
    venue.wait_settled(&breaching1, Duration::from_secs(90), &procs);
    wait_written_back(&venue, &breaching1, Duration::from_secs(30), &procs);
    assert!(
        procs.wait_for(
            "moved to its post-liquidation state",
            2,
            Duration::from_secs(5)
        ),
        "{}",
        procs.dump()
    );

    // The second tick: the highest ETH price (in 5 USD steps) at which a liquidated
    // account breaches again, judged on the engine's post-states.
    let store = store_accounts(&venue);
    let states: Vec<_> = (1..=9).map(|id| store[&id].clone()).collect();
    let observed = loop {
        let t = now();
        if t > first.report.observed_at {
            break t;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (second, breaching2) = (0..400u64)
        .map(|k| report_eth(observed, 2_900_000_000 - 5_000_000 * k))
        .map(|r| {
            let b = breaching(&states, &r, 1_000_000);
            (r, b)
        })
        .find(|(_, b)| b.intersection(&breaching1).next().is_some())
        .expect("a price at which a liquidated account breaches again");
    let twice: HashSet<u64> = breaching2.intersection(&breaching1).copied().collect();
    venue.publish(&second, &bus);
    let t = Instant::now();
    loop {
        let done = venue.rt.block_on(async {
            let mut done = true;
            for id in &breaching2 {
                let want = 1 + u64::from(breaching1.contains(id));
                done &= venue.ledger.account(*id).await.unwrap().unwrap().nonce == want;
            }
            done
        });
        if done {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "second tick: not every breaching account settled\n{}",
            procs.dump()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        procs.grep("refused the liquidation").is_empty(),
        "a liquidation was refused by the ledger (stale commitment?)\n{}",
        procs.dump()
    );
    venue.rt.block_on(async {
        for id in &twice {
            assert_eq!(venue.ledger.account(*id).await.unwrap().unwrap().nonce, 2);
        }
        venue.ledger.check_invariants().await.unwrap();
    });
    let all: HashSet<u64> = breaching1.union(&breaching2).copied().collect();
    wait_written_back(&venue, &all, Duration::from_secs(30), &procs);
    let store = store_accounts(&venue);
    for id in &twice {
        assert_eq!(
            store[id].nonce, 2,
            "account {id}: nonce after two liquidations"
        );
    }
    eprintln!(
        "write-back: first tick liquidated {breaching1:?}, second (ETH {}) {breaching2:?}",
        second.report.price("ETH/USD").unwrap_or(0)
    );
}

/// A liquidator the venue does not give its database settles through the venue's
/// service: the keeper runs with `--settle-url` against a real `zkmargin-verifier serve
/// --ledger` on loopback (POST /v1/settle); every breaching account is settled once, the
/// engine confirms each settlement on the ledger and moves the account to its
/// post-state.
#[test]
fn a_keeper_settles_through_the_venue_service() {
    require_nats();
    let prefix = unique_prefix("svc");
    let (tick, breaching, venue) = nine_accounts_two_breaching();
    let service = common_service::Server::spawn(common_service::Server::bare_command(
        &[
            "--keys",
            &s(keys()),
            "--ledger",
            &venue.ledger_url,
            "--allow-development",
        ],
        &[],
    ));
    let bus = bus_args(NATS, &prefix, 5_000);
    let mut procs = Procs::default();
    procs.spawn(
        "engine",
        &engine_args(&bus, &venue.store, &["--ledger", &venue.ledger_url]),
    );
    procs.spawn("worker", &worker_args(&bus, &[]));
    procs.spawn(
        "keeper7",
        &keeper_args_settling(&bus, 7, &["--settle-url", &service.base]),
    );
    assert!(
        procs.wait_for("on the ledger", 1, Duration::from_secs(20))
            && procs.wait_for("worker: proving jobs", 1, Duration::from_secs(30))
            && procs.wait_for(
                &format!("settling on {}/v1/settle", service.base),
                1,
                Duration::from_secs(20)
            ),
        "{}",
        procs.dump()
    );
    venue.publish(&tick, &bus);
    venue.wait_settled(&breaching, Duration::from_secs(90), &procs);
    wait_written_back(&venue, &breaching, Duration::from_secs(30), &procs);
    venue.check_ledger(&breaching);
    // Each settled by the service, credited to liquidator 7, once.
    let through = procs.grep(&format!("through {}/v1/settle", service.base));
    assert_eq!(through.len(), 2, "{}", procs.dump());
    assert!(
        procs.grep("refused the liquidation").is_empty(),
        "{}",
        procs.dump()
    );
    venue.rt.block_on(async {
        let credit = venue.ledger.credits(7).await.unwrap();
        assert!(credit > 0, "liquidator 7 credited {credit}");
    });
    let store = store_accounts(&venue);
    for id in &breaching {
        assert_eq!(store[id].nonce, 1, "account {id} written back");
    }

    // The keeper's client against the same service: a liquidation submitted again is
    // a replay (taken as settled), and a service without a ledger refuses for good.
    let names = Names::new(&prefix).unwrap();
    let feed = venue.rt.block_on(async {
        let js = jetstream::new(async_nats::connect(NATS).await.unwrap());
        read_stream(&js, &names.feed_stream()).await
    });
    let bundle = feed
        .iter()
        .map(|(_, payload)| serde_json::from_slice::<FeedItem>(payload).unwrap())
        .find(|item| item.kind == JobKind::Liquidation)
        .expect("a liquidation on the feed")
        .bundle;
    let verifier = zkmargin_verifier::VerifierConfig {
        keys_dir: Some(keys().to_path_buf()),
        ..Default::default()
    }
    .open()
    .unwrap()
    .verifier;
    let verified = || verifier.verify_liquidation(&bundle).unwrap();
    let settle = |base: &str| {
        venue.rt.block_on(
            zkmargin_engine::keeper::Settlement::service(base).settle(verified(), &bundle),
        )
    };
    assert_eq!(settle(&service.base), Settle::Replay);
    let bare = common_service::Server::spawn(common_service::Server::bare_command(
        &["--keys", &s(keys())],
        &[],
    ));
    match settle(&bare.base) {
        Settle::Refused { code, .. } => assert_eq!(code, "404 settlement_not_configured"),
        other => panic!("a service without a ledger: {other:?}"),
    }
    // Nothing listening: retried, not refused.
    let closed = format!("http://127.0.0.1:{}", free_port());
    assert!(
        matches!(settle(&closed), Settle::Retry(_)),
        "{:?}",
        settle(&closed)
    );
}
