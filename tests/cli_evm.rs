//! `zkmargin export solidity`, `zkmargin evm calldata` and `zkmargin evm deploy-args`,
//! through the real binary.

mod common_cli;

use std::path::Path;

use common_cli::{s, world, zk};
use zkmargin_circuits::RiskParams;
use zkmargin_evm::settlement::{
    bundle_calldata, SettlementConfig, LIQUIDATE, POST_REPORT, VERIFY_MARGIN,
};
use zkmargin_verifier::{
    files::{load_bundle, load_oracle_config},
    keys::Manifest,
};

fn selector_hex(signature: &str) -> String {
    hex::encode(zkmargin_evm::abi::selector(signature))
}

#[test]
fn export_solidity_writes_the_committed_verifiers_for_the_development_keys() {
    let w = world();
    let out = tempfile::tempdir().unwrap();
    let run = zk(
        w.path(),
        &[
            "export",
            "solidity",
            "--keys",
            s(&w.keys),
            "-o",
            s(out.path()),
        ],
    );
    let stdout = run.ok();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("evm/contracts/generated");
    for name in ["MarginVerifier.sol", "LiquidationVerifier.sol"] {
        assert!(stdout.contains(name), "{stdout}");
        // `setup` without --production makes the development keys: the same bytes as
        // the repository's, hence the same sources as the committed ones.
        let written = std::fs::read_to_string(out.path().join(name)).unwrap();
        let expected = std::fs::read_to_string(committed.join(name)).unwrap();
        assert!(
            written == expected,
            "{name} differs from evm/contracts/generated"
        );
    }
    // A keys directory without a manifest is an error, not an empty export.
    let empty = tempfile::tempdir().unwrap();
    let run = zk(
        w.path(),
        &[
            "export",
            "solidity",
            "--keys",
            s(empty.path()),
            "-o",
            s(out.path()),
        ],
    );
    run.fails(1, &["manifest"]);
}

#[test]
fn evm_calldata_encodes_the_settlement_calls_of_margin_and_transition_bundles() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let margin = dir.path().join("margin.json");
    w.prove(&w.breaching, &w.report, &margin, &[]).ok();
    let transition = dir.path().join("transition.json");
    let new_account = dir.path().join("new.json");
    w.liquidate(&w.breaching, &w.report, &transition, &new_account, &[])
        .ok();
    let account: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&w.breaching).unwrap()).unwrap();
    let account_id = account["account"]["id"].as_u64().unwrap();
    let id_text = account_id.to_string();

    // `liquidate` takes the account id, which a transition bundle does not carry.
    let run = zk(w.path(), &["evm", "calldata", s(&transition)]);
    run.fails(1, &["account id"]);

    for (bundle, function, signature) in [
        (&margin, "verifyMargin", VERIFY_MARGIN),
        (&transition, "liquidate", LIQUIDATE),
    ] {
        let run = zk(
            w.path(),
            &[
                "--json",
                "evm",
                "calldata",
                s(bundle),
                "--account-id",
                &id_text,
            ],
        );
        run.ok();
        let json = run.json();
        let expected = bundle_calldata(
            &load_bundle(bundle).unwrap(),
            &RiskParams::development(),
            Some(account_id),
        )
        .unwrap();
        assert_eq!(json, serde_json::to_value(&expected).unwrap());
        assert_eq!(json["function"], function);
        let call = json["call"].as_str().unwrap();
        assert!(
            call.starts_with(&format!("0x{}", selector_hex(signature))),
            "{call}"
        );
        let post = json["post_report"].as_str().unwrap();
        assert!(
            post.starts_with(&format!("0x{}", selector_hex(POST_REPORT))),
            "{post}"
        );
        assert_eq!(
            json["statement_digest"].is_null(),
            function == "verifyMargin"
        );
        // The text output names the same calls.
        let text = zk(
            w.path(),
            &["evm", "calldata", s(bundle), "--account-id", &id_text],
        );
        assert!(text.ok().contains(&format!("{function}: {call}")));
    }

    // A bundle under other risk parameters is refused with the reason.
    let mut params = RiskParams::development();
    params.liquidation.penalty_ppm += 1;
    let other = dir.path().join("params.json");
    std::fs::write(&other, serde_json::to_vec_pretty(&params).unwrap()).unwrap();
    let run = zk(
        w.path(),
        &["evm", "calldata", s(&margin), "--params", s(&other)],
    );
    run.fails(1, &["risk parameters"]);
}

#[test]
fn evm_deploy_args_encodes_the_constructor_config_of_keys_oracle_and_params() {
    let w = world();
    let operator = "0x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
    let run = zk(
        w.path(),
        &[
            "--json",
            "evm",
            "deploy-args",
            "--keys",
            s(&w.keys),
            "--oracle",
            s(&w.oracle),
            "--operator",
            operator,
        ],
    );
    run.ok();
    let json = run.json();
    // The same bytes as the library's encoder of the same configuration (the one the
    // contract tests deploy with, evm/tests/settlement.rs).
    let manifest = Manifest::load(&w.keys).unwrap();
    let fingerprint = |id: &str| {
        manifest
            .circuits
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .verifying_key
            .sha256
            .clone()
    };
    let config = SettlementConfig {
        operator: [0x0b; 20],
        margin_key_fingerprint: fingerprint(zkmargin_circuits::MARGIN_CIRCUIT_ID),
        liquidation_key_fingerprint: fingerprint(zkmargin_circuits::LIQUIDATION_CIRCUIT_ID),
        oracle: load_oracle_config(&w.oracle).unwrap(),
        params: RiskParams::development(),
    };
    let expected = format!("0x{}", hex::encode(config.constructor_args().unwrap()));
    assert_eq!(json["constructor_args"], expected.as_str());
    assert_eq!(json["operator"], operator);
    assert_eq!(
        json["oracle_config_digest"],
        hex::encode(config.oracle.digest()).as_str()
    );
    // The text output carries the same bytes.
    let text = zk(
        w.path(),
        &[
            "evm",
            "deploy-args",
            "--keys",
            s(&w.keys),
            "--oracle",
            s(&w.oracle),
            "--operator",
            operator,
        ],
    );
    assert!(text.ok().contains(&format!("constructorArgs: {expected}")));

    // A malformed operator address is a one-line error, not a panic.
    for bad in [
        "0x0b",
        "0xzz0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        "0x0000000000000000000000000000000000000000",
    ] {
        let run = zk(
            w.path(),
            &[
                "evm",
                "deploy-args",
                "--keys",
                s(&w.keys),
                "--oracle",
                s(&w.oracle),
                "--operator",
                bad,
            ],
        );
        run.fails(1, &["operator address"]);
    }
}
