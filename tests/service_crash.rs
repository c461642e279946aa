//! The shipped server killed mid-settle (issue 15, item 12): the real
//! `zkmargin-verifier serve --ledger` gets a `POST /v1/settle` and sends itself SIGKILL
//! at each fault point of the apply transaction (`ZKMARGIN_FAULT`, compiled in only
//! with the `fault-injection` feature these tests enable), on SQLite and on PostgreSQL.
//! Afterwards nothing is half-applied — before the commit nothing at all, after it the
//! whole liquidation — the ledger's invariants hold, and a restarted server applies a
//! retry exactly once (or answers `replay` when the killed one had committed).

mod common_service;
mod common_settle;

use std::{os::unix::process::ExitStatusExt, time::Duration};

use common_service::{settle_world, Server};
use common_settle::*;
use serde_json::Value;
use zkmargin_settlement::Ledger;

/// Every fault point of `Ledger::apply`, in order, and whether the liquidation is
/// committed when the process dies there.
const POINTS: [(&str, bool); 5] = [
    ("after_account_update", false),
    ("after_liquidation_insert", false),
    ("after_credits", false),
    ("before_commit", false),
    ("after_commit", true),
];

/// A server settling into `url`, with `envs` added.
fn server(url: &str, envs: &[(&str, &str)]) -> Server {
    let mut all = vec![("ZKMARGIN_LEDGER_DB", url)];
    all.extend_from_slice(envs);
    Server::spawn(Server::command(
        settle_world(),
        &["--workers", "2", "--allow-development"],
        &all,
    ))
}

/// `POST /v1/settle` of `bundle`: the status and body, or `None` when the connection
/// broke without an answer.
fn settle(server: &Server, body: &[u8]) -> Option<(u16, Value)> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    match agent
        .post(&server.url("/v1/settle"))
        .set("content-type", "application/json")
        .send_bytes(body)
    {
        Ok(r) => Some((r.status(), r.into_json().unwrap_or(Value::Null))),
        Err(ureq::Error::Status(code, r)) => Some((code, r.into_json().unwrap_or(Value::Null))),
        Err(ureq::Error::Transport(_)) => None,
    }
}

fn crash_at_every_point(db_for: impl Fn(&tokio::runtime::Runtime) -> Option<Db>) {
    let rt = runtime();
    let p = proofs();
    let t = &p.main;
    let body = serde_json::to_vec(&t.bundle).unwrap();
    for (point, committed) in POINTS {
        let Some(db) = db_for(&rt) else { return };
        let ledger = rt.block_on(async {
            let ledger = Ledger::open(&db.url).await.unwrap();
            ledger.init(&operator()).await.unwrap();
            ledger.pin_trust(&operator(), &trust()).await.unwrap();
            ledger
                .register_account(&operator(), t.old.id, &t.public.old_commitment)
                .await
                .unwrap();
            ledger
        });
        let before = rt.block_on(ledger.summary()).unwrap();

        let mut killed = server(
            &db.url,
            &[("ZKMARGIN_FAULT", point), ("ZKMARGIN_FAULT_SIGNAL", "KILL")],
        );
        assert_eq!(
            settle(&killed, &body),
            None,
            "{point}: no answer from a killed server"
        );
        let status = killed.wait_exit(Duration::from_secs(30));
        assert_eq!(
            status.signal(),
            Some(9),
            "{point}: killed by SIGKILL ({status})"
        );
        drop(killed);

        // All or nothing, read by a fresh reader.
        let s = rt.block_on(ledger.summary()).unwrap();
        if committed {
            assert_eq!(s.liquidations, before.liquidations + 1, "{point}");
        } else {
            assert_eq!(s, before, "{point}: nothing half-applied");
            assert_eq!(
                rt.block_on(ledger.account(t.old.id))
                    .unwrap()
                    .unwrap()
                    .commitment,
                t.public.old_commitment,
                "{point}"
            );
        }
        rt.block_on(ledger.check_invariants())
            .unwrap_or_else(|e| panic!("{point}: {e}"));

        // A restarted server, no fault armed: the retry applies once, or is a replay
        // of what the killed one committed.
        let restarted = server(&db.url, &[]);
        let (code, answer) = settle(&restarted, &body).expect("an answer");
        if committed {
            assert_eq!(
                (code, answer["error"]["code"].as_str()),
                (409, Some("replay")),
                "{point}: {answer}"
            );
        } else {
            assert_eq!(code, 200, "{point}: {answer}");
        }
        let (code, answer) = settle(&restarted, &body).expect("an answer");
        assert_eq!(
            (code, answer["error"]["code"].as_str()),
            (409, Some("replay")),
            "{point}"
        );
        drop(restarted);

        let s = rt.block_on(ledger.summary()).unwrap();
        assert_eq!(
            s.liquidations,
            before.liquidations + 1,
            "{point}: applied exactly once"
        );
        assert_eq!(
            rt.block_on(ledger.account(t.old.id))
                .unwrap()
                .unwrap()
                .commitment,
            t.public.new_commitment,
            "{point}"
        );
        rt.block_on(ledger.check_invariants())
            .unwrap_or_else(|e| panic!("{point}: {e}"));
        rt.block_on(ledger.close());
        db.finish(&rt);
    }
}

#[test]
fn killed_mid_settle_on_sqlite_nothing_half_applied_retry_applies_once() {
    crash_at_every_point(|_| Some(Db::sqlite()));
}

#[test]
fn killed_mid_settle_on_postgres_nothing_half_applied_retry_applies_once() {
    crash_at_every_point(Db::postgres);
}
