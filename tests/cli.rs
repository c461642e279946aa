//! End-to-end: the real `zkmargin` binary, happy paths. Every command's `--help`,
//! setup → account new → commit → oracle keygen → sign → prove → verify for both
//! statuses, inspect on every file, the demo, and regeneration of a missing
//! development proving key. (Liquidation and the ledger: `tests/cli_liquidation.rs`.)

mod common_cli;

use std::fs;

use common_cli::*;

#[test]
fn help_works_on_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &[],
        &["setup"],
        &["account"],
        &["account", "new"],
        &["account", "commit"],
        &["oracle"],
        &["oracle", "keygen"],
        &["oracle", "sign"],
        &["prove"],
        &["liquidate"],
        &["verify"],
        &["inspect"],
        &["ledger"],
        &["ledger", "init"],
        &["ledger", "register"],
        &["ledger", "replace"],
        &["ledger", "show"],
        &["ledger", "fund"],
        &["ledger", "events"],
        &["ledger", "check"],
        &["ledger", "settle"],
        &["demo"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let run = zk(dir.path(), &args);
        assert!(run.ok().contains("Usage: zkmargin"), "{}", run.stdout);
    }
    // `help` spelled as a subcommand, and the version.
    zk(dir.path(), &["help", "prove"]).ok();
    assert!(zk(dir.path(), &["--version"]).ok().starts_with("zkmargin "));
    // A usage error exits 2 with clap's message.
    let run = zk(dir.path(), &["prove", "--no-such-flag"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn happy_path_both_statuses() {
    let w = world();
    let out = tempfile::tempdir().unwrap();
    for (account, status, upper) in [
        (&w.healthy, "meets", "MEETS"),
        (&w.breaching, "breaches", "BREACHES"),
    ] {
        let commitment = w.commitment(account);
        assert!(
            commitment.starts_with("0x") && commitment.len() == 66,
            "{commitment}"
        );
        let bundle = out.path().join(format!("{status}.bundle.json"));
        let proved = w
            .prove(
                account,
                &w.report,
                &bundle,
                &[
                    "--oracle",
                    s(&w.oracle),
                    "--expect",
                    status,
                    "--commitment",
                    &commitment,
                ],
            )
            .ok()
            .to_owned();
        assert!(
            proved.contains(&format!("{status} its margin threshold")),
            "{proved}"
        );

        let run = w.verify(&bundle, &[]);
        let text = run.ok();
        assert!(text.contains("VALID") && text.contains(upper), "{text}");
        assert!(text.contains(&commitment), "{text}");
        assert!(run.stderr.contains("DEVELOPMENT keys"), "{}", run.stderr);

        let json = w.verify(&bundle, &["--json"]);
        json.ok();
        let v = json.json();
        assert_eq!(v["valid"], true);
        assert_eq!(v["verdict"]["status"], status);
        assert_eq!(v["verdict"]["commitment"], commitment.as_str());

        let inspected = zk(w.path(), &["inspect", s(&bundle), "--json"]);
        inspected.ok();
        assert_eq!(inspected.json()["statement"]["status"], status);
    }
}

#[test]
fn prove_json_and_tau_threshold() {
    let w = world();
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("b.json");
    // The healthy account (+360 USD over a 1,710 USD requirement) breaches at τ = 1.25.
    let run = w.prove(
        &w.healthy,
        &w.report,
        &bundle,
        &["--tau-ppm", "1250000", "--json"],
    );
    run.ok();
    let v = run.json();
    assert_eq!(v["status"], "breaches");
    assert_eq!(v["tau_ppm"], 1_250_000);
    assert_eq!(v["development_keys"], true);
    w.verify(&bundle, &[]).ok();
}

#[test]
fn inspect_summarizes_every_kind_of_file() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.json");
    w.prove(&w.breaching, &w.report, &bundle, &[]).ok();
    let params = dir.path().join("params.json");
    fs::write(
        &params,
        serde_json::to_string_pretty(&zkmargin::circuits::RiskParams::development()).unwrap(),
    )
    .unwrap();
    let cases = [
        (w.healthy.clone(), "account"),
        (w.committee.clone(), "committee"),
        (w.oracle.clone(), "oracle_config"),
        (w.report.clone(), "signed_report"),
        (bundle, "proof_bundle"),
        (params.clone(), "risk_params"),
        (w.keys.join("manifest.json"), "key_manifest"),
        (w.keys.join("margin.vk"), "key_file"),
        (w.keys.join("liquidation.vk"), "key_file"),
    ];
    for (path, kind) in cases {
        zk(w.path(), &["inspect", s(&path)]).ok();
        let run = zk(w.path(), &["inspect", s(&path), "--json"]);
        run.ok();
        assert_eq!(run.json()["kind"], kind, "{}", path.display());
    }
    // Secrets stay out of the summaries.
    let committee: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&w.committee).unwrap()).unwrap();
    let secret = committee["keys"][0].as_str().unwrap();
    let run = zk(w.path(), &["inspect", s(&w.committee), "--json"]);
    assert!(!run.stdout.contains(secret));
    let account: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&w.healthy).unwrap()).unwrap();
    let blinding = account["account"]["blinding"].as_str().unwrap();
    let run = zk(
        w.path(),
        &["inspect", s(&w.healthy), "--params", s(&params)],
    );
    assert!(
        run.ok().contains("ETH") && !run.stdout.contains(blinding),
        "{}",
        run.stdout
    );
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let run = zk(dir.path(), &["demo"]);
    let out = run.ok();
    for needle in [
        "meets",
        "breaches",
        "3 tampered bundles, all rejected",
        "[11/19] liquidate bob: seize",
        "[15/19] liquidate carol: repay",
        "transition verified",
        "liquidator 7 credited",
        "invariants hold",
        // Both end above the target buffer, proven at τ = τ_target.
        "bob's new state meets its margin at τ = 1.05",
        "carol's new state meets its margin at τ = 1.05",
        "refused (replay)",
        "demo complete",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    assert!(run.stderr.contains("DEVELOPMENT keys"), "{}", run.stderr);
    // Nothing is left in the working directory.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

    // --dir keeps the files, --json gives a parseable summary.
    let kept = dir.path().join("demo");
    let run = zk(dir.path(), &["demo", "--dir", s(&kept), "--json"]);
    run.ok();
    let v = run.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["tampered_rejected"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["steps"].as_array().unwrap().len(),
        19 + 2,
        "19 steps, 2 verify details"
    );
    assert_eq!(v["replay"], "replay");
    let liquidations = v["liquidations"].as_array().unwrap();
    let kinds: Vec<_> = liquidations
        .iter()
        .map(|l| {
            (
                l["account"].clone(),
                l["transition"]["action"]["kind"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("bob".into(), "seize".into()),
            ("carol".into(), "repay".into())
        ]
    );
    for liquidation in liquidations {
        assert_eq!(liquidation["new_state_status"], "meets");
        assert_eq!(liquidation["new_state_tau_ppm"], 1_050_000);
        assert_eq!(liquidation["applied"]["liquidator"], 7);
        assert_eq!(liquidation["transition"]["deficit"], 0);
        assert_eq!(
            liquidation["applied"]["new_commitment"],
            liquidation["transition"]["new_commitment"]
        );
    }
    for file in [
        "alice.bundle.json",
        "bob.bundle.json",
        "bob.transition.json",
        "bob.next.json",
        "bob.next.bundle.json",
        "carol.transition.json",
        "carol.next.bundle.json",
        "ledger.db",
        "operator.secret",
        "keys/manifest.json",
        "keys/liquidation.vk",
        "oracle.json",
    ] {
        assert!(kept.join(file).exists(), "{file}");
    }
    // The kept bundles verify with the kept keys and committee.
    let verify = |file: &str| {
        zk(
            dir.path(),
            &[
                "verify",
                s(&kept.join(file)),
                "--keys",
                s(&kept.join("keys")),
                "--oracle",
                s(&kept.join("oracle.json")),
                "--params",
                s(&kept.join("risk-params.json")),
            ],
        )
    };
    assert!(verify("bob.bundle.json").ok().contains("BREACHES"));
    assert!(verify("bob.transition.json")
        .ok()
        .contains("VALID: liquidation"));
    assert!(verify("bob.next.bundle.json").ok().contains("MEETS"));
    assert!(verify("carol.transition.json")
        .ok()
        .contains("VALID: liquidation"));
    assert!(verify("carol.next.bundle.json").ok().contains("MEETS"));
    // The kept ledger holds the settlement: consistent, and a second settle is a replay.
    let db = format!("sqlite://{}?mode=rwc", kept.join("ledger.db").display());
    zk(dir.path(), &["ledger", "check", "--db", &db]).ok();
    let totals = zk(dir.path(), &["ledger", "show", "--db", &db, "--json"]);
    assert_eq!(totals.json()["liquidations"], 2);
    zk(
        dir.path(),
        &[
            "ledger",
            "settle",
            s(&kept.join("bob.transition.json")),
            "--db",
            &db,
            "--keys",
            s(&kept.join("keys")),
            "--oracle",
            s(&kept.join("oracle.json")),
            // The demo's keys and parameters are development ones: a test ledger.
            "--allow-development",
        ],
    )
    .fails(4, &["replay"]);
}

#[test]
fn missing_development_proving_key_is_regenerated() {
    let w = world();
    let keys = keys_copy();
    let pk = keys.path().join("margin.pk");
    let original = fs::read(&pk).unwrap();
    fs::remove_file(&pk).unwrap();
    let out = keys.path().join("bundle.json");
    let run = zk(
        w.path(),
        &[
            "prove",
            "--keys",
            s(keys.path()),
            "--account",
            s(&w.healthy),
            "--report",
            s(&w.report),
            "-o",
            s(&out),
        ],
    );
    run.ok();
    assert!(run.stderr.contains("regenerating"), "{}", run.stderr);
    assert!(
        fs::read(&pk).unwrap() == original,
        "regenerated byte for byte"
    );
    w.verify_with(keys.path(), &out, &[]).ok();
}

#[test]
fn setup_is_reproducible_and_guards_production_keys() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    // Development setup again: the same bytes as the world's (and the repository's).
    zk(dir.path(), &["setup", "--keys", "dev"]).ok();
    for f in [
        "manifest.json",
        "margin.vk",
        "margin.pk",
        "liquidation.vk",
        "liquidation.pk",
    ] {
        assert!(
            fs::read(dir.path().join("dev").join(f)).unwrap() == fs::read(w.keys.join(f)).unwrap(),
            "{f}"
        );
    }
    zk(dir.path(), &["setup", "--keys", "dev"]).ok();

    let run = zk(
        dir.path(),
        &["setup", "--keys", "prod", "--production", "--json"],
    );
    run.ok();
    assert_eq!(run.json()["manifest"]["development"], false);
    assert!(!run.stderr.contains("DEVELOPMENT"), "{}", run.stderr);
    zk(dir.path(), &["setup", "--keys", "prod"]).fails(1, &["production keys", "--force"]);
    zk(dir.path(), &["setup", "--keys", "prod", "--production"]).fails(1, &["--force"]);
    zk(
        dir.path(),
        &["setup", "--keys", "prod", "--production", "--force"],
    )
    .ok();

    // A bundle proven with other keys is rejected for its key fingerprint.
    let bundle = dir.path().join("b.json");
    let run = zk(
        w.path(),
        &[
            "prove",
            "--keys",
            s(&dir.path().join("prod")),
            "--account",
            s(&w.healthy),
            "--report",
            s(&w.report),
            "-o",
            s(&bundle),
        ],
    );
    run.ok();
    assert!(!run.stderr.contains("DEVELOPMENT"), "{}", run.stderr);
    w.verify(&bundle, &[])
        .fails(3, &["key_fingerprint_mismatch", "b.json"]);
}

#[cfg(unix)]
#[test]
fn private_files_are_0600_and_exposure_is_warned() {
    use std::os::unix::fs::PermissionsExt;
    let w = world();
    for f in [&w.healthy, &w.breaching, &w.committee] {
        assert_eq!(
            fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            f.display()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let exposed = dir.path().join("exposed.json");
    fs::copy(&w.healthy, &exposed).unwrap();
    fs::set_permissions(&exposed, fs::Permissions::from_mode(0o644)).unwrap();
    let run = zk(dir.path(), &["account", "commit", s(&exposed)]);
    run.ok();
    let warnings: Vec<_> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("exposed.json") && warnings[0].contains("chmod 600"),
        "{}",
        warnings[0]
    );
    // Owner-only: no warning.
    let run = zk(dir.path(), &["account", "commit", s(&w.healthy)]);
    run.ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn json_output_is_clean_with_development_defaults() {
    // No --oracle, no --params: notes and warnings go to stderr; stdout stays JSON.
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("dev-report.json");
    let run = zk(
        dir.path(),
        &[
            "oracle",
            "sign",
            "-o",
            s(&report),
            "--json",
            "--price",
            PRICES[0],
            "--price",
            PRICES[1],
            "--price",
            PRICES[2],
            "--price",
            PRICES[3],
            "--price",
            PRICES[4],
        ],
    );
    run.ok();
    assert_eq!(run.json()["signers"].as_array().unwrap().len(), 3);
    let bundle = dir.path().join("b.json");
    w.prove(&w.breaching, &report, &bundle, &[]).ok();
    let run = zk(
        dir.path(),
        &["verify", s(&bundle), "--keys", s(&w.keys), "--json"],
    );
    run.ok();
    assert_eq!(run.json()["verdict"]["status"], "breaches");
    assert!(
        run.stderr.contains("development oracle committee"),
        "{}",
        run.stderr
    );
}

#[test]
fn examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ex = root.join("examples");
    let cases = [
        ("account.json", "account"),
        ("risk-params.json", "risk_params"),
        ("price-report.json", "price_report"),
        ("signed-report.json", "signed_report"),
        ("oracle-config.json", "oracle_config"),
        ("committee.json", "committee"),
        ("bundle.json", "proof_bundle"),
        ("transition.json", "proof_bundle"),
        ("account-after-liquidation.json", "account"),
    ];
    for (file, kind) in cases {
        let run = zk(root, &["inspect", s(&ex.join(file)), "--json"]);
        run.ok();
        assert_eq!(run.json()["kind"], kind, "{file}");
        // Files with a validity check (parameters, reports, configs) pass it.
        if let Some(valid) = run.json().get("valid") {
            assert_eq!(valid, true, "{file}");
        }
    }
    // The example bundle proves the example account's status with the shipped keys.
    let commitment = zk(root, &["account", "commit", s(&ex.join("account.json"))])
        .ok()
        .trim()
        .to_owned();
    let run = zk(
        root,
        &[
            "verify",
            s(&ex.join("bundle.json")),
            "--keys",
            s(&root.join("keys")),
            "--oracle",
            s(&ex.join("oracle-config.json")),
            "--params",
            s(&ex.join("risk-params.json")),
            "--at",
            "1767225610",
            "--json",
        ],
    );
    run.ok();
    let v = run.json();
    assert_eq!(v["verdict"]["status"], "meets");
    assert_eq!(v["verdict"]["commitment"], commitment.as_str());
    // The example transition liquidates the example account; the account after it
    // opens its new commitment, and proves its margin at the transition's report.
    let run = zk(
        root,
        &[
            "verify",
            s(&ex.join("transition.json")),
            "--keys",
            s(&root.join("keys")),
            "--oracle",
            s(&ex.join("oracle-config.json")),
            "--params",
            s(&ex.join("risk-params.json")),
            "--at",
            "1767225670",
            "--json",
        ],
    );
    run.ok();
    let t = &run.json()["transition"];
    assert_eq!(t["old_commitment"], commitment.as_str());
    let after = zk(
        root,
        &[
            "account",
            "commit",
            s(&ex.join("account-after-liquidation.json")),
        ],
    )
    .ok()
    .trim()
    .to_owned();
    assert_eq!(t["new_commitment"], after.as_str());

    // The example committee is the development one, and says so.
    let committee = zk(root, &["inspect", s(&ex.join("committee.json")), "--json"]);
    assert_eq!(committee.json()["development"], true);
}
