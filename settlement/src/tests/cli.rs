//! The `ledger` commands as the `zkmargin` binary will run them.

use clap::{CommandFactory, Parser};
use zkmargin_circuits::Commitment;

use super::{btc_long, liquidation, record, TestDb, KEY_FINGERPRINT, ORACLE_CONFIG_DIGEST};
use crate::{
    cli::{quote, run, LedgerCommand},
    Ledger, DEFAULT_DB_URL,
};

/// Stand-in for the binary: `zkmargin [--json] ledger <command>`.
#[derive(Debug, Parser)]
struct Cli {
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    ledger: LedgerCommand,
}

fn parse(args: &[&str]) -> (LedgerCommand, bool) {
    let cli = Cli::try_parse_from(std::iter::once("ledger").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    (cli.ledger, cli.json)
}

async fn exec(args: &[&str]) -> Result<String, crate::SettleError> {
    let (cmd, json) = parse(args);
    run(cmd, json).await
}

#[test]
fn the_command_line_is_well_formed() {
    Cli::command().debug_assert();
    let (cmd, _) = parse(&["check"]);
    let LedgerCommand::Check { db } = cmd else {
        panic!("{cmd:?}")
    };
    // The default unless ZKMARGIN_LEDGER_DB is set in the environment.
    if std::env::var_os("ZKMARGIN_LEDGER_DB").is_none() {
        assert_eq!(db.url, DEFAULT_DB_URL);
    }
    // One selector at most.
    assert!(
        Cli::try_parse_from(["ledger", "show", "--account", "1", "--liquidator", "2"]).is_err()
    );
    let help = Cli::command()
        .find_subcommand_mut("register")
        .unwrap()
        .render_long_help()
        .to_string();
    for option in [
        "--db <URL>",
        "--operator-secret-file <FILE>",
        "--account <ID>",
    ] {
        assert!(help.contains(option), "{help}");
    }
    assert_eq!(quote(1_725_000_433), "1,725.000433 USD");
    assert_eq!(quote(-50_000_000), "−50.000000 USD");
    assert_eq!(quote(7), "0.000007 USD");
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

    let out = exec(&["init", "--db", url, "--operator-secret-file", secret])
        .await
        .unwrap();
    assert!(
        out.contains("SQLite") && out.contains("operator key set"),
        "{out}"
    );
    let out = exec(&[
        "register",
        "--db",
        url,
        "--operator-secret-file",
        secret,
        "--account",
        "7",
        "--commitment",
        &c,
    ])
    .await
    .unwrap();
    assert!(
        out.contains("account 7 registered") && out.contains(&c),
        "{out}"
    );
    let err = exec(&[
        "fund",
        "--db",
        url,
        "--operator-secret-file",
        wrong,
        "--amount",
        "5",
    ])
    .await
    .unwrap_err();
    assert_eq!(err.code(), "operator_key_rejected");
    let out = exec(&[
        "fund",
        "--db",
        url,
        "--operator-secret-file",
        secret,
        "--amount",
        "100000000",
    ])
    .await
    .unwrap();
    assert!(out.contains("insurance fund: 100.000000 USD"), "{out}");
    let out = exec(&[
        "--json",
        "replace",
        "--db",
        url,
        "--operator-secret-file",
        secret,
        "--account",
        "7",
        "--expected",
        &c,
        "--new",
        &c2,
    ])
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["id"].as_u64(), v["nonce"].as_u64()), (Some(7), Some(1)));
    assert_eq!(v["commitment"].as_str(), Some(c2.as_str()));
    let err = exec(&[
        "replace",
        "--db",
        url,
        "--operator-secret-file",
        secret,
        "--account",
        "7",
        "--expected",
        &c,
        "--new",
        &c2,
    ])
    .await
    .unwrap_err();
    assert_eq!(err.code(), "stale_commitment");
    let err = exec(&[
        "register",
        "--db",
        url,
        "--operator-secret-file",
        secret,
        "--account",
        "8",
        "--commitment",
        "0x12",
    ])
    .await
    .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");

    // A liquidation, applied as `ledger settle` applies one after verifying it.
    let public = liquidation(&traded, 56_150, 9);
    let ledger = Ledger::open(url).await.unwrap();
    ledger.apply_record(&record(&public)).await.unwrap();
    ledger.close().await;
    let digest = hex::encode(public.digest());

    let out = exec(&["show", "--db", url]).await.unwrap();
    assert!(out.contains("liquidations        1"), "{out}");
    let out = exec(&["show", "--db", url, "--account", "7"])
        .await
        .unwrap();
    assert!(
        out.contains(&public.new_commitment.to_hex()) && out.contains("nonce       2"),
        "{out}"
    );
    let out = exec(&[
        "show",
        "--db",
        url,
        "--commitment",
        &public.new_commitment.to_hex(),
    ])
    .await
    .unwrap();
    assert!(out.starts_with("account 7"), "{out}");
    let out = exec(&["show", "--db", url, "--liquidator", "9"])
        .await
        .unwrap();
    assert_eq!(out, "liquidator 9: credit 8.625003 USD");
    let out = exec(&["show", "--db", url, "--liquidation", &digest])
        .await
        .unwrap();
    assert!(out.contains("penalty     17.250005 USD"), "{out}");
    assert!(
        out.contains(&format!("key         {KEY_FINGERPRINT}"))
            && out.contains(&format!(
                "oracle      {}",
                hex::encode(ORACLE_CONFIG_DIGEST)
            )),
        "{out}"
    );
    let out = exec(&["--json", "show", "--db", url, "--liquidation", &digest])
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["terms"]["liquidator_fee"].as_u64(), Some(8_625_003));
    assert_eq!(v["action"]["kind"].as_str(), Some("close"));
    assert_eq!(v["key_fingerprint"].as_str(), Some(KEY_FINGERPRINT));
    assert_eq!(
        v["oracle_config_digest"].as_str(),
        Some(hex::encode(ORACLE_CONFIG_DIGEST).as_str())
    );

    let out = exec(&["events", "--db", url, "--since", "2", "--limit", "2"])
        .await
        .unwrap();
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("#3") && lines[0].contains("commitment_replaced"),
        "{out}"
    );
    assert!(
        lines[1].contains("liquidation_applied") && lines[1].contains("amount=+17.250005 USD"),
        "{out}"
    );
    let out = exec(&["--json", "events", "--db", url]).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 6);

    let out = exec(&["check", "--db", url]).await.unwrap();
    assert!(
        out.starts_with("ledger consistent: 6 events replayed, 1 accounts, 1 liquidations"),
        "{out}"
    );
    assert!(out.contains("insurance fund 108.625002 USD"), "{out}");
    let out = exec(&["--json", "check", "--db", url]).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fund_balance"].as_u64(), Some(108_625_002));

    // A corrupt statement digest of multi-byte characters is printed, not a panic
    // (the line shortens it by characters, not bytes).
    let ledger = Ledger::open(url).await.unwrap();
    sqlx::query("UPDATE events SET statement_digest = $1 WHERE seq = 4")
        .bind("ééééééééééééééééééé")
        .execute(ledger.pool())
        .await
        .unwrap();
    ledger.close().await;
    let out = exec(&["events", "--db", url, "--since", "3", "--limit", "1"])
        .await
        .unwrap();
    assert!(out.contains("statement=éééééééééééééééé…"), "{out}");
    let err = exec(&["check", "--db", url]).await.unwrap_err();
    assert_eq!(err.code(), "invariant_violated", "{err}");

    // Running init again with the same secret is harmless; with another it is refused.
    exec(&["init", "--db", url, "--operator-secret-file", secret])
        .await
        .unwrap();
    let err = exec(&["init", "--db", url, "--operator-secret-file", wrong])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "ledger_already_initialized");
    let err = exec(&[
        "init",
        "--db",
        url,
        "--operator-secret-file",
        "/nonexistent/secret",
    ])
    .await
    .unwrap_err();
    assert_eq!(err.code(), "io_error");
}
