//! `zkmargin export solidity` and `zkmargin evm calldata`, through the real binary.

mod common_cli;

use std::path::Path;

use common_cli::{s, world, zk};
use zkmargin_circuits::RiskParams;
use zkmargin_evm::settlement::{bundle_calldata, LIQUIDATE, POST_REPORT, VERIFY_MARGIN};
use zkmargin_verifier::files::load_bundle;

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

    for (bundle, function, signature) in [
        (&margin, "verifyMargin", VERIFY_MARGIN),
        (&transition, "liquidate", LIQUIDATE),
    ] {
        let run = zk(w.path(), &["--json", "evm", "calldata", s(bundle)]);
        run.ok();
        let json = run.json();
        let expected =
            bundle_calldata(&load_bundle(bundle).unwrap(), &RiskParams::development()).unwrap();
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
        let text = zk(w.path(), &["evm", "calldata", s(bundle)]);
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
