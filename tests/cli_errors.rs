//! End-to-end: every bad input of issue 3's "Errors" list makes the real binary exit
//! non-zero with one `error:` line that names the file and the fix — and never a
//! panic or a backtrace (`Run::fails` checks all of that).

mod common_cli;

use std::{fs, path::Path};

use common_cli::*;

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A valid bundle of the breaching account, made in `dir`.
fn bundle_in(dir: &Path) -> std::path::PathBuf {
    let w = world();
    let b = dir.join("bundle.json");
    w.prove(&w.breaching, &w.report, &b, &[]).ok();
    b
}

#[test]
fn missing_files() {
    let w = world();
    let d = temp();
    let missing = d.path().join("missing.json");
    w.prove(&missing, &w.report, &d.path().join("b.json"), &[])
        .fails(
            1,
            &[
                "cannot read account file",
                "missing.json",
                "No such file",
                "zkmargin account new",
            ],
        );
    w.prove(&w.healthy, &missing, &d.path().join("b.json"), &[])
        .fails(
            1,
            &[
                "signed price report file",
                "missing.json",
                "zkmargin oracle sign",
            ],
        );
    w.verify(&missing, &[])
        .fails(1, &["proof bundle file", "missing.json", "zkmargin prove"]);
    let bundle = bundle_in(d.path());
    zk(
        w.path(),
        &[
            "verify",
            s(&bundle),
            "--oracle",
            s(&missing),
            "--keys",
            s(&w.keys),
        ],
    )
    .fails(
        1,
        &[
            "oracle config file",
            "missing.json",
            "zkmargin oracle keygen",
        ],
    );
    w.verify(&bundle, &["--params", s(&missing)])
        .fails(1, &["risk parameters file", "missing.json"]);
    // No keys directory at all.
    let nokeys = d.path().join("nokeys");
    w.prove(
        &w.healthy,
        &w.report,
        &d.path().join("b.json"),
        &["--keys", s(&nokeys)],
    )
    .fails(1, &["manifest.json", "zkmargin setup"]);
    w.verify_with(&nokeys, &bundle, &[])
        .fails(1, &["manifest.json", "zkmargin setup"]);
    zk(w.path(), &["inspect", s(&missing)]).fails(1, &["missing.json", "No such file"]);
}

#[test]
fn unreadable_files() {
    let w = world();
    let d = temp();
    // A directory where a file is expected (unreadable for everyone, root included).
    w.prove(d.path(), &w.report, &d.path().join("b.json"), &[])
        .fails(1, &["cannot read account file", s(d.path()), "directory"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = d.path().join("locked.json");
        fs::copy(&w.healthy, &locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads anything: the permission case only exists for other users.
        if fs::read(&locked).is_err() {
            w.prove(&locked, &w.report, &d.path().join("b.json"), &[])
                .fails(1, &["locked.json", "Permission denied", "permissions"]);
        }
    }
}

#[test]
fn malformed_json() {
    let w = world();
    let d = temp();
    let bad = d.path().join("bad.json");
    fs::write(&bad, "{ \"version\": 1, \"account\": ").unwrap();
    w.prove(&bad, &w.report, &d.path().join("b.json"), &[])
        .fails(1, &["account file", "bad.json", "not valid JSON", "line 1"]);
    w.prove(&w.healthy, &bad, &d.path().join("b.json"), &[])
        .fails(
            1,
            &["signed price report file", "bad.json", "not valid JSON"],
        );
    w.verify(&bad, &[])
        .fails(1, &["proof bundle file", "bad.json", "not valid JSON"]);
    zk(w.path(), &["inspect", s(&bad)]).fails(1, &["bad.json", "not valid JSON"]);

    // Valid JSON, wrong shape: an unknown field.
    let odd = d.path().join("odd.json");
    fs::copy(&w.healthy, &odd).unwrap();
    edit_json(&odd, |v| v["account"]["colour"] = "blue".into());
    w.prove(&odd, &w.report, &d.path().join("b.json"), &[])
        .fails(
            1,
            &[
                "odd.json",
                "does not match the account format",
                "unknown field `colour`",
            ],
        );

    // Something else entirely.
    let other = d.path().join("other.json");
    fs::write(&other, "{\"hello\": 1}").unwrap();
    zk(w.path(), &["inspect", s(&other)]).fails(1, &["other.json", "cannot tell what kind"]);
}

#[test]
fn unknown_versions() {
    let w = world();
    let d = temp();
    let account = d.path().join("v2.json");
    fs::copy(&w.healthy, &account).unwrap();
    edit_json(&account, |v| v["version"] = 2.into());
    w.prove(&account, &w.report, &d.path().join("b.json"), &[])
        .fails(
            1,
            &[
                "account file",
                "v2.json",
                "format version 2",
                "reads version 1",
            ],
        );

    let report = d.path().join("report-v9.json");
    fs::copy(&w.report, &report).unwrap();
    edit_json(&report, |v| v["report"]["version"] = 9.into());
    w.prove(&w.healthy, &report, &d.path().join("b.json"), &[])
        .fails(1, &["report-v9.json", "format version 9"]);

    let bundle = bundle_in(d.path());
    edit_json(&bundle, |v| v["version"] = 2.into());
    w.verify(&bundle, &[])
        .fails(1, &["bundle.json", "format version 2"]);

    let config = d.path().join("oracle-v3.json");
    fs::copy(&w.oracle, &config).unwrap();
    edit_json(&config, |v| v["version"] = 3.into());
    w.prove(
        &w.healthy,
        &w.report,
        &d.path().join("b.json"),
        &["--oracle", s(&config)],
    )
    .fails(
        1,
        &["oracle config file", "oracle-v3.json", "format version 3"],
    );

    let keys = keys_copy();
    edit_json(&keys.path().join("manifest.json"), |v| {
        v["version"] = 2.into()
    });
    w.prove(
        &w.healthy,
        &w.report,
        &d.path().join("b.json"),
        &["--keys", s(keys.path())],
    )
    .fails(1, &["manifest.json", "manifest version 2"]);
}

#[test]
fn account_not_matching_its_commitment() {
    let w = world();
    let d = temp();
    let published = w.commitment(&w.healthy);
    w.prove(
        &w.breaching,
        &w.report,
        &d.path().join("b.json"),
        &["--commitment", &published],
    )
    .fails(
        1,
        &[
            "breaching.json",
            &published,
            "not the state the venue committed to",
        ],
    );
    w.prove(
        &w.breaching,
        &w.report,
        &d.path().join("b.json"),
        &["--commitment", "0x1234"],
    )
    .fails(1, &["--commitment", "0x1234"]);
    assert!(
        !d.path().join("b.json").exists(),
        "nothing written on refusal"
    );
}

#[test]
fn price_missing_from_the_report() {
    let w = world();
    let d = temp();
    let report = d.path().join("no-doge.json");
    w.sign(&report, &PRICES[..4], &[]).ok();
    w.prove(&w.healthy, &report, &d.path().join("b.json"), &[])
        .fails(
            1,
            &[
                "no-doge.json",
                "DOGE/USD",
                "DOGE-PERP",
                "sign a report that includes",
            ],
        );
}

#[test]
fn too_few_valid_signatures() {
    let w = world();
    let d = temp();
    let report = d.path().join("one-signature.json");
    let run = w.sign(&report, &PRICES, &["--signers", "1"]);
    run.ok();
    assert!(run.stderr.contains("below the quorum"), "{}", run.stderr);
    // The prover, given the verifier's config, refuses before proving...
    w.prove(
        &w.healthy,
        &report,
        &d.path().join("b.json"),
        &["--oracle", s(&w.oracle)],
    )
    .fails(
        1,
        &[
            "one-signature.json",
            "1 valid committee signatures, 2 required",
        ],
    );
    // ...and a verifier rejects a bundle made without that check.
    let bundle = d.path().join("b.json");
    w.prove(&w.healthy, &report, &bundle, &[]).ok();
    w.verify(&bundle, &[])
        .fails(3, &["b.json", "oracle_quorum_not_met", "2 required"]);
    let run = w.verify(&bundle, &["--json"]);
    assert_eq!(run.code, 3);
    assert_eq!(run.json()["error"]["code"], "oracle_quorum_not_met");

    // Signatures of another committee count for nothing.
    let dev_signed = d.path().join("dev-signed.json");
    let mut args = vec!["oracle", "sign", "-o", s(&dev_signed)];
    for p in PRICES {
        args.extend(["--price", p]);
    }
    zk(w.path(), &args).ok();
    let bundle = d.path().join("dev.json");
    w.prove(&w.healthy, &dev_signed, &bundle, &[]).ok();
    w.verify(&bundle, &[])
        .fails(3, &["dev.json", "oracle_unknown_signer"]);
}

#[test]
fn stale_and_expired_reports() {
    let w = world();
    let d = temp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale = d.path().join("stale.json");
    let observed = (now - 1_000).to_string();
    w.sign(
        &stale,
        &PRICES,
        &["--observed-at", &observed, "--ttl", "7200"],
    )
    .ok();
    w.prove(
        &w.healthy,
        &stale,
        &d.path().join("b.json"),
        &["--oracle", s(&w.oracle)],
    )
    .fails(
        1,
        &["stale.json", "s old, at most 300 s", "fresh signed report"],
    );
    let bundle = d.path().join("stale-bundle.json");
    w.prove(&w.healthy, &stale, &bundle, &[]).ok();
    w.verify(&bundle, &[])
        .fails(3, &["stale-bundle.json", "oracle_stale_report"]);
    // Replayed at its own time (--at), the same bundle verifies.
    let at = (now - 990).to_string();
    w.verify(&bundle, &["--at", &at]).ok();

    let expired = d.path().join("expired.json");
    let observed = (now - 100).to_string();
    w.sign(
        &expired,
        &PRICES,
        &["--observed-at", &observed, "--ttl", "10"],
    )
    .ok();
    let bundle = d.path().join("expired-bundle.json");
    w.prove(&w.healthy, &expired, &bundle, &[]).ok();
    w.verify(&bundle, &[])
        .fails(3, &["expired-bundle.json", "oracle_report_expired"]);
}

#[test]
fn a_false_status_is_refused() {
    let w = world();
    let d = temp();
    w.prove(
        &w.breaching,
        &w.report,
        &d.path().join("b.json"),
        &["--expect", "meets"],
    )
    .fails(
        1,
        &[
            "breaching.json",
            "breaches",
            "refusing to prove",
            "false status",
        ],
    );
    w.prove(
        &w.healthy,
        &w.report,
        &d.path().join("b.json"),
        &["--expect", "breaches"],
    )
    .fails(1, &["healthy.json", "meets", "refusing to prove"]);
}

#[test]
fn key_fingerprint_mismatch() {
    let w = world();
    let d = temp();
    let bundle = bundle_in(d.path());

    let keys = keys_copy();
    let vk = keys.path().join("margin.vk");
    let mut bytes = fs::read(&vk).unwrap();
    bytes[200] ^= 0x01;
    fs::write(&vk, &bytes).unwrap();
    w.verify_with(keys.path(), &bundle, &[])
        .fails(1, &["margin.vk", "fingerprint", "zkmargin setup"]);

    let keys = keys_copy();
    let pk = keys.path().join("margin.pk");
    let mut bytes = fs::read(&pk).unwrap();
    bytes[1000] ^= 0x80;
    fs::write(&pk, &bytes).unwrap();
    let args = ["--keys", s(keys.path())];
    w.prove(&w.healthy, &w.report, &d.path().join("b.json"), &args)
        .fails(1, &["margin.pk", "fingerprint", "zkmargin setup"]);
    fs::write(&pk, &bytes[..bytes.len() - 10]).unwrap();
    w.prove(&w.healthy, &w.report, &d.path().join("b.json"), &args)
        .fails(1, &["margin.pk", "bytes", "truncated"]);

    // The bundle names another key than the verifier holds.
    edit_json(&bundle, |v| v["key_fingerprint"] = "00".repeat(32).into());
    w.verify(&bundle, &[])
        .fails(3, &["bundle.json", "key_fingerprint_mismatch"]);
}

#[test]
fn keys_from_another_circuit_version() {
    let w = world();
    let d = temp();
    let bundle = bundle_in(d.path());
    let edits: [(&str, serde_json::Value, &[&str]); 3] = [
        (
            "id",
            "zkmargin.margin.v0".into(),
            &[
                "manifest.json",
                "zkmargin.margin.v1",
                "another circuit version",
            ],
        ),
        (
            "public_inputs",
            42.into(),
            &["manifest.json", "public_inputs", "another circuit version"],
        ),
        (
            "constraints",
            1_000.into(),
            &["manifest.json", "constraints", "another circuit version"],
        ),
    ];
    for (field, value, needles) in edits {
        let keys = keys_copy();
        edit_json(&keys.path().join("manifest.json"), |m| {
            m["circuits"][0][field] = value
        });
        w.prove(
            &w.healthy,
            &w.report,
            &d.path().join("b.json"),
            &["--keys", s(keys.path())],
        )
        .fails(1, needles);
        w.verify_with(keys.path(), &bundle, &[]).fails(1, needles);
    }
}

/// An edit of a bundle's JSON.
type Tamper = fn(&mut serde_json::Value);

#[test]
fn tampered_bundles_are_rejected() {
    let w = world();
    let d = temp();
    let cases: [(&str, Tamper, &str); 3] = [
        (
            "flipped.json",
            |v| {
                let mut p = hex::decode(v["proof"].as_str().unwrap()).unwrap();
                p[100] ^= 0x01;
                v["proof"] = hex::encode(p).into();
            },
            "invalid_proof",
        ),
        (
            "status.json",
            |v| v["statement"]["status"] = "meets".into(),
            "invalid_proof",
        ),
        (
            "price.json",
            |v| {
                let p = v["report"]["report"]["feeds"][2]["price"].as_u64().unwrap();
                v["report"]["report"]["feeds"][2]["price"] = (p - 1).into();
            },
            "oracle_bad_signature",
        ),
    ];
    for (name, tamper, code) in cases {
        let bundle = bundle_in(d.path());
        let path = d.path().join(name);
        fs::rename(&bundle, &path).unwrap();
        edit_json(&path, tamper);
        w.verify(&path, &[]).fails(3, &[name, code]);
    }
    // A proof of the wrong length is refused by the strict decoder before any point is
    // read (docs/FORMATS.md): a file that is not a bundle (exit 1), naming the field.
    let bundle = bundle_in(d.path());
    let short = d.path().join("short.json");
    fs::rename(&bundle, &short).unwrap();
    edit_json(&short, |v| v["proof"] = "abcd".into());
    w.verify(&short, &[])
        .fails(1, &["short.json", "`proof`", "expected 256 hex characters"]);
    // Parameters the verifier does not accept.
    let bundle = bundle_in(d.path());
    let params = d.path().join("params.json");
    let mut p = zkmargin::circuits::RiskParams::development();
    p.revision = 2;
    fs::write(&params, serde_json::to_string(&p).unwrap()).unwrap();
    w.verify(&bundle, &["--params", s(&params)])
        .fails(3, &["bundle.json", "unknown_risk_params"]);
}

#[test]
fn invalid_contents_and_arguments() {
    let w = world();
    let d = temp();
    let params = d.path().join("params.json");
    let mut p = zkmargin::circuits::RiskParams::development();
    p.tokens[0].asset_weight_ppm = 1_500_000;
    fs::write(&params, serde_json::to_string(&p).unwrap()).unwrap();
    w.prove(
        &w.healthy,
        &w.report,
        &d.path().join("b.json"),
        &["--params", s(&params)],
    )
    .fails(
        1,
        &["risk parameters file", "params.json", "asset_weight_ppm"],
    );

    let config = d.path().join("oracle.json");
    fs::copy(&w.oracle, &config).unwrap();
    edit_json(&config, |v| v["quorum"] = 5.into());
    let bundle = bundle_in(d.path());
    zk(
        w.path(),
        &[
            "verify",
            s(&bundle),
            "--keys",
            s(&w.keys),
            "--oracle",
            s(&config),
        ],
    )
    .fails(1, &["oracle config file", "quorum 5 exceeds"]);

    let out = d.path().join("a.json");
    zk(
        d.path(),
        &[
            "account",
            "new",
            "--id",
            "3",
            "-o",
            s(&out),
            "--token",
            "PEPE=1",
        ],
    )
    .fails(1, &["no such token", "ETH, BTC, SOL, USDC"]);
    zk(
        d.path(),
        &[
            "account",
            "new",
            "--id",
            "3",
            "-o",
            s(&out),
            "--token",
            "BTC=0.000000001",
        ],
    )
    .fails(1, &["--token BTC", "more than 8 decimals"]);
    // A repeated asset is refused, not silently overwritten by the last one.
    for (flag, first, second) in [
        ("--token", "ETH=1", "ETH=2"),
        ("--position", "BTC-PERP=1", "BTC-PERP=-1"),
    ] {
        zk(
            d.path(),
            &[
                "account",
                "new",
                "--id",
                "3",
                "-o",
                s(&out),
                flag,
                first,
                flag,
                second,
            ],
        )
        .fails(1, &[flag, "given twice"]);
        assert!(!out.exists());
    }
    zk(d.path(), &["account", "new", "--id", "3", "-o", s(&out)]).ok();
    zk(d.path(), &["account", "new", "--id", "3", "-o", s(&out)])
        .fails(1, &["a.json", "already exists", "--force"]);
    zk(
        d.path(),
        &["account", "new", "--id", "3", "-o", s(&out), "--force"],
    )
    .ok();

    // A balance in a slot the parameters leave unused.
    edit_json(&out, |v| v["account"]["tokens"][7] = 5.into());
    w.prove(&out, &w.report, &d.path().join("b.json"), &[])
        .fails(1, &["a.json", "token slot 7"]);

    w.sign(&d.path().join("r.json"), &["ETH/USD=abc"], &[])
        .fails(1, &["ETH/USD=abc", "positive integer"]);
    w.sign(&d.path().join("r.json"), &["ETH/USD=0"], &[])
        .fails(1, &["price 0"]);
    assert_eq!(
        w.sign(&d.path().join("r.json"), &["ETH/USD"], &[]).code,
        2,
        "usage error"
    );
}

/// `zkmargin … | head -1`: when the reader has gone, the command exits quietly with
/// status 0 instead of panicking on the broken pipe. The pipe's read end is closed
/// before the child starts, so every write fails: nothing depends on timing.
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkmargin"))
        .args(["inspect", "examples/account.json"])
        .current_dir(root)
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// Read-only ledger commands never create a ledger: without `--db` in a directory that
/// has none, or with a mistyped path, they say so and name `ledger init`.
#[test]
fn read_only_ledger_commands_never_create_a_ledger() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        vec!["ledger", "show"],
        vec!["ledger", "events"],
        vec!["ledger", "check"],
    ] {
        zk(d.path(), &args).fails(1, &["no ledger at zkmargin-ledger.db", "ledger init"]);
    }
    let typo = format!("sqlite://{}/mistyped.db?mode=rwc", d.path().display());
    zk(d.path(), &["ledger", "check", "--db", &typo]).fails(1, &["mistyped.db", "ledger init"]);
    assert_eq!(
        fs::read_dir(d.path()).unwrap().count(),
        0,
        "no file created"
    );
}

/// `verify` without `--oracle` checks against the development committee; a report
/// signed by the venue's own committee then fails on its first signer, and the message
/// names the missing flag instead of suggesting to remove the signature.
#[test]
fn verify_without_oracle_names_the_flag() {
    let w = world();
    let d = tempfile::tempdir().unwrap();
    let bundle = d.path().join("b.json");
    w.prove(&w.healthy, &w.report, &bundle, &[]).ok();
    zk(w.path(), &["verify", s(&bundle), "--keys", s(&w.keys)]).fails(
        3,
        &[
            "oracle_unknown_signer",
            "development committee was used",
            "--oracle",
        ],
    );
}

/// An account file without `"version"`: the message reads as English ("not in the
/// account file format", never "a account file").
#[test]
fn a_file_without_a_version_is_named_in_plain_english() {
    let w = world();
    let d = temp();
    let account = d.path().join("unversioned.json");
    fs::copy(&w.healthy, &account).unwrap();
    edit_json(&account, |v| {
        v.as_object_mut().unwrap().remove("version");
    });
    let line = w
        .prove(&account, &w.report, &d.path().join("b.json"), &[])
        .fails(
            1,
            &[
                "unversioned.json",
                "no \"version\" field",
                "account file format",
            ],
        );
    assert!(!line.contains("a account"), "{line}");
}

/// `zkmargin-verifier verify` outside the repository: the default keys directory
/// (`keys/`, relative) is not there; the one error line names `--keys` (not
/// `zkmargin setup`). With `--keys` at a directory without keys, the OS error is said
/// once.
#[test]
fn verifier_outside_the_repository_names_keys_and_says_the_os_error_once() {
    let d = temp();
    let bundle = d.path().join("bundle.json");
    fs::write(&bundle, "{}").unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkmargin-verifier"))
            .args(args)
            .current_dir(d.path())
            .env_remove("ZKMARGIN_KEYS")
            .env_remove("ZKMARGIN_ORACLE")
            .env_remove("ZKMARGIN_PARAMS")
            .env("RUST_LOG", "off")
            .output()
            .expect("run zkmargin-verifier");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line:\n{stderr}");
        assert!(
            lines[0].starts_with("zkmargin-verifier: error: "),
            "{stderr}"
        );
        lines[0].to_owned()
    };
    let line = run(&["verify", s(&bundle)]);
    for needle in ["--keys", "keys/manifest.json", "inside the repository"] {
        assert!(line.contains(needle), "{needle:?} missing: {line}");
    }
    assert!(!line.contains("zkmargin setup"), "{line}");
    assert!(!line.contains("os error"), "{line}");

    let empty = d.path().join("empty-keys");
    fs::create_dir(&empty).unwrap();
    let line = run(&["verify", s(&bundle), "--keys", s(&empty)]);
    assert!(
        line.contains("manifest.json") && line.contains("--keys"),
        "{line}"
    );
    assert_eq!(
        line.matches("No such file or directory").count(),
        1,
        "{line}"
    );
    assert_eq!(line.matches("give the directory").count(), 1, "{line}");
}
