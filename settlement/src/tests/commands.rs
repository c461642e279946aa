//! The `ledger` commands as the `zkmargin` binary runs them (its command-line parsing
//! is tested with the binary: `src/bin/zkmargin/ledger.rs`).

use std::path::PathBuf;

use zkmargin_circuits::Commitment;

use super::{
    btc_long, liquidation, pinned_trust, record, TestDb, KEY_FINGERPRINT, ORACLE_CONFIG_DIGEST,
};
use crate::{
    commands::{quote, run, LedgerCommand as Cmd, ShowTarget},
    Ledger,
};

async fn exec(cmd: Cmd) -> Result<String, crate::SettleError> {
    run(cmd, false).await
}

async fn exec_json(cmd: Cmd) -> Result<String, crate::SettleError> {
    run(cmd, true).await
}

#[test]
fn quote_units_are_grouped_and_signed() {
    assert_eq!(quote(1_725_000_433), "1,725.000433 USD");
    assert_eq!(quote(-50_000_000), "−50.000000 USD");
    assert_eq!(quote(7), "0.000007 USD");
}

/// Only `ledger init` creates a ledger: every other command on a SQLite path with no
/// file (a typo, or no `--db` in the wrong directory) is `no_ledger`, and the file is
/// still not there afterwards, even with `mode=rwc` in the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_init_creates_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mistyped.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let secret = dir.path().join("operator.secret");
    std::fs::write(&secret, "4f1c0a9e2b7d4c36a8e5f0b1c2d3e4f5\n").unwrap();
    let operator = secret.clone();
    let commands = [
        Cmd::Check { db: url.clone() },
        Cmd::Show {
            db: url.clone(),
            target: ShowTarget::Summary,
        },
        Cmd::Events {
            db: url.clone(),
            since: 0,
            limit: 10,
        },
        Cmd::Register {
            db: url.clone(),
            operator: operator.clone(),
            account: 1,
            commitment: Commitment::of(&btc_long(1, -1)).to_hex(),
        },
        Cmd::Fund {
            db: url.clone(),
            operator: operator.clone(),
            amount: 1,
        },
    ];
    for cmd in commands {
        let e = exec(cmd).await.unwrap_err();
        assert_eq!(e.code(), "no_ledger", "{e}");
        assert!(
            e.to_string().contains("mistyped.db") && e.to_string().contains("ledger init"),
            "{e}"
        );
        assert!(!path.exists());
    }
    exec(Cmd::Init {
        db: url.clone(),
        operator,
        trust: pinned_trust(),
    })
    .await
    .unwrap();
    assert!(path.exists());
    assert!(exec(Cmd::Check { db: url })
        .await
        .unwrap()
        .contains("ledger consistent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_runs_on_a_fresh_ledger() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("operator.secret");
    std::fs::write(&secret, "4f1c0a9e2b7d4c36a8e5f0b1c2d3e4f5\n").unwrap();
    let wrong = dir.path().join("wrong.secret");
    std::fs::write(&wrong, "00000000000000000000000000000000").unwrap();
    let (secret, wrong) = (secret.to_str().unwrap(), wrong.to_str().unwrap());
    let url = db.url.as_str();
    let old = btc_long(7, -54_500);
    let c = Commitment::of(&old).to_hex();
    let mut traded = old.clone();
    traded.nonce += 1;
    let c2 = Commitment::of(&traded).to_hex();

    let out = exec(Cmd::Init {
        db: url.into(),
        operator: secret.into(),
        trust: pinned_trust(),
    })
    .await
    .unwrap();
    assert!(
        out.contains("SQLite") && out.contains("operator key set"),
        "{out}"
    );
    let out = exec(Cmd::Register {
        db: url.into(),
        operator: secret.into(),
        account: 7,
        commitment: c.clone(),
    })
    .await
    .unwrap();
    assert!(
        out.contains("account 7 registered") && out.contains(&c),
        "{out}"
    );
    let err = exec(Cmd::Fund {
        db: url.into(),
        operator: wrong.into(),
        amount: 5,
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), "operator_key_rejected");
    let out = exec(Cmd::Fund {
        db: url.into(),
        operator: secret.into(),
        amount: 100_000_000,
    })
    .await
    .unwrap();
    assert!(out.contains("insurance fund: 100.000000 USD"), "{out}");
    let out = exec_json(Cmd::Replace {
        db: url.into(),
        operator: secret.into(),
        account: 7,
        expected: c.clone(),
        new: c2.clone(),
    })
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["id"].as_u64(), v["nonce"].as_u64()), (Some(7), Some(1)));
    assert_eq!(v["commitment"].as_str(), Some(c2.as_str()));
    let err = exec(Cmd::Replace {
        db: url.into(),
        operator: secret.into(),
        account: 7,
        expected: c.clone(),
        new: c2.clone(),
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), "stale_commitment");
    let err = exec(Cmd::Register {
        db: url.into(),
        operator: secret.into(),
        account: 8,
        commitment: "0x12".into(),
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");

    // A liquidation, applied as `ledger settle` applies one after verifying it.
    let public = liquidation(&traded, 56_150, 9);
    let ledger = Ledger::open(url).await.unwrap();
    ledger.apply_record(&record(&public)).await.unwrap();
    ledger.close().await;
    let digest = hex::encode(public.digest());

    let out = exec(Cmd::Show {
        db: url.into(),
        target: ShowTarget::Summary,
    })
    .await
    .unwrap();
    assert!(out.contains("liquidations        1"), "{out}");
    let out = exec(Cmd::Show {
        db: url.into(),
        target: ShowTarget::Account(7),
    })
    .await
    .unwrap();
    assert!(
        out.contains(&public.new_commitment.to_hex()) && out.contains("nonce       2"),
        "{out}"
    );
    let out = exec(Cmd::Show {
        db: url.into(),
        target: ShowTarget::Commitment(public.new_commitment.to_hex()),
    })
    .await
    .unwrap();
    assert!(out.starts_with("account 7"), "{out}");
    let out = exec(Cmd::Show {
        db: url.into(),
        target: ShowTarget::Liquidator(9),
    })
    .await
    .unwrap();
    assert_eq!(out, "liquidator 9: credit 27.610469 USD");
    let out = exec(Cmd::Show {
        db: url.into(),
        target: ShowTarget::Liquidation(digest.clone()),
    })
    .await
    .unwrap();
    assert!(out.contains("penalty     55.220937 USD"), "{out}");
    assert!(
        out.contains(&format!("key         {KEY_FINGERPRINT}"))
            && out.contains(&format!(
                "oracle      {}",
                hex::encode(ORACLE_CONFIG_DIGEST)
            )),
        "{out}"
    );
    let out = exec_json(Cmd::Show {
        db: url.into(),
        target: ShowTarget::Liquidation(digest.clone()),
    })
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["terms"]["liquidator_fee"].as_u64(), Some(27_610_469));
    assert_eq!(v["action"]["kind"].as_str(), Some("close"));
    assert_eq!(v["key_fingerprint"].as_str(), Some(KEY_FINGERPRINT));
    assert_eq!(
        v["oracle_config_digest"].as_str(),
        Some(hex::encode(ORACLE_CONFIG_DIGEST).as_str())
    );

    let out = exec(Cmd::Events {
        db: url.into(),
        since: 3,
        limit: 2,
    })
    .await
    .unwrap();
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("#4") && lines[0].contains("commitment_replaced"),
        "{out}"
    );
    assert!(
        lines[1].contains("liquidation_applied") && lines[1].contains("amount=+55.220937 USD"),
        "{out}"
    );
    let out = exec_json(Cmd::Events {
        db: url.into(),
        since: 0,
        limit: 100,
    })
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 7);

    let out = exec(Cmd::Check { db: url.into() }).await.unwrap();
    assert!(
        out.starts_with("ledger consistent: 7 events replayed, 1 accounts, 1 liquidations"),
        "{out}"
    );
    assert!(out.contains("insurance fund 127.610468 USD"), "{out}");
    let out = exec_json(Cmd::Check { db: url.into() }).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fund_balance"].as_u64(), Some(127_610_468));

    // A corrupt statement digest of multi-byte characters is printed, not a panic
    // (the line shortens it by characters, not bytes).
    let ledger = Ledger::open(url).await.unwrap();
    sqlx::query("UPDATE events SET statement_digest = $1 WHERE seq = 5")
        .bind("ééééééééééééééééééé")
        .execute(ledger.pool())
        .await
        .unwrap();
    ledger.close().await;
    let out = exec(Cmd::Events {
        db: url.into(),
        since: 4,
        limit: 1,
    })
    .await
    .unwrap();
    assert!(out.contains("statement=éééééééééééééééé…"), "{out}");
    let err = exec(Cmd::Check { db: url.into() }).await.unwrap_err();
    assert_eq!(err.code(), "invariant_violated", "{err}");

    // Running init again with the same secret is harmless; with another it is refused.
    exec(Cmd::Init {
        db: url.into(),
        operator: secret.into(),
        trust: pinned_trust(),
    })
    .await
    .unwrap();
    let err = exec(Cmd::Init {
        db: url.into(),
        operator: wrong.into(),
        trust: pinned_trust(),
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), "ledger_already_initialized");
    let err = exec(Cmd::Init {
        db: url.into(),
        operator: PathBuf::from("/nonexistent/secret"),
        trust: pinned_trust(),
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), "io_error");
}
