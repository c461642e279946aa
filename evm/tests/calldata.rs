//! The calldata library function the CLI calls for a proof bundle
//! (`margin::margin_bundle_calldata`): what it encodes runs on the compiled verifier,
//! and every way a bundle can fail to match the keys or parameters is refused.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::Status;
use zkmargin_evm::{
    abi::decode_words,
    margin::{margin_bundle_calldata, MarginCalldataError},
};

use common::{dev_keys, verdict, Chain};

#[test]
fn bundle_calldata_runs_on_the_compiled_verifier() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(keys);
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let report = keys.report();
    for (id, status) in [(41, Status::Breaches), (42, Status::Meets)] {
        let bundle = keys.bundle(id, status, &report, &mut rng);
        let calldata = margin_bundle_calldata(keys.keys_dir(), &bundle, &keys.params).unwrap();

        let (inputs, proof) = keys.statement(&bundle);
        assert_eq!(calldata.inputs, zkmargin_evm::encode::input_words(&inputs));
        assert_eq!(calldata.proof, zkmargin_evm::proof_words(&proof));

        let verifier = chain.verifier;
        for data in [&calldata.verify_proof, &calldata.verify_folded] {
            let out = chain.evm.call(verifier, data).unwrap();
            assert_eq!(verdict(&out), Ok(()), "{status:?}");
        }
        // The natively folded point is what the contract folds.
        let out = chain.evm.call(verifier, &calldata.fold_shared).unwrap();
        assert_eq!(verdict(&out), Ok(()));
        assert_eq!(
            decode_words("foldShared", &out.output, 2).unwrap(),
            calldata.folded
        );

        // The CLI's JSON: words and calldata as 0x hex.
        let json = serde_json::to_value(&calldata).unwrap();
        assert_eq!(
            json["verifyProof"],
            format!("0x{}", hex::encode(&calldata.verify_proof))
        );
        assert_eq!(json["folded"][0], calldata.folded[0].to_string());
        assert_eq!(json["inputs"].as_array().unwrap().len(), 43);
        assert_eq!(json["proof"].as_array().unwrap().len(), 8);
    }
}

#[test]
fn bundles_that_do_not_match_the_keys_or_parameters_are_refused() {
    let keys = dev_keys();
    let mut rng = ChaCha20Rng::seed_from_u64(43);
    let report = keys.report();
    let bundle = keys.bundle(43, Status::Breaches, &report, &mut rng);

    let mut other_key = bundle.clone();
    other_key.key_fingerprint = "00".repeat(32);
    assert!(matches!(
        margin_bundle_calldata(keys.keys_dir(), &other_key, &keys.params),
        Err(MarginCalldataError::KeyMismatch { .. })
    ));

    let mut other_params = keys.params.clone();
    other_params.tokens[0].asset_weight_ppm -= 1;
    assert!(matches!(
        margin_bundle_calldata(keys.keys_dir(), &bundle, &other_params),
        Err(MarginCalldataError::ParamsMismatch { .. })
    ));

    // A report without a feed the parameters price with (the statement's prices
    // come from the report, so the calldata cannot be made).
    let mut missing = bundle.clone();
    let feed = keys.params.tokens[0].feed_id.clone();
    missing.report.report.feeds.retain(|f| f.feed_id != feed);
    match margin_bundle_calldata(keys.keys_dir(), &missing, &keys.params) {
        Err(MarginCalldataError::MissingPrice(f)) => assert_eq!(f, feed),
        other => panic!("expected a missing price, got {other:?}"),
    }

    for proof in ["zz", "00", ""] {
        let mut malformed = bundle.clone();
        malformed.proof = proof.to_owned();
        assert!(
            matches!(
                margin_bundle_calldata(keys.keys_dir(), &malformed, &keys.params),
                Err(MarginCalldataError::Proof(_))
            ),
            "{proof:?}"
        );
    }

    // A keys directory without the margin key.
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        margin_bundle_calldata(empty.path(), &bundle, &keys.params),
        Err(MarginCalldataError::Keys(_))
    ));
}
