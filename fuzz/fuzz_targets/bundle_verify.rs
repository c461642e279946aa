//! Proof bundles: arbitrary bytes through the one bundle decoder
//! (`ProofBundle::from_json`, the strict JSON reader underneath) and, when they
//! decode, through every verification entry point against the repository's
//! development keys.
//!
//! Properties beyond "never panics":
//! - the single and the batch paths agree (`verify_any` vs `verify_any_batch`, and
//!   `verify` vs `verify_batch` for margin bundles, each next to the valid example);
//! - nothing verifies unless it states what an example states: no forged statement.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zkmargin_fuzz::{verifier, EXAMPLE_BUNDLE, EXAMPLE_TRANSITION};
use zkmargin_verifier::{ProofBundle, Statement};

fn examples() -> &'static (ProofBundle, ProofBundle) {
    static EXAMPLES: OnceLock<(ProofBundle, ProofBundle)> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let margin = ProofBundle::from_json(EXAMPLE_BUNDLE).expect("examples/bundle.json");
        let transition =
            ProofBundle::from_json(EXAMPLE_TRANSITION).expect("examples/transition.json");
        let v = verifier();
        assert!(
            v.verify_any(&margin).is_ok(),
            "examples/bundle.json verifies"
        );
        assert!(
            v.verify_any(&transition).is_ok(),
            "examples/transition.json verifies"
        );
        (margin, transition)
    })
}

fuzz_target!(|data: &[u8]| {
    let (margin, transition) = examples();
    let Ok(bundle) = ProofBundle::from_json(data) else {
        return;
    };
    let v = verifier();
    let single = v.verify_any(&bundle);

    // The batch paths judge each bundle as the single path does, whatever its neighbour.
    let batch = v.verify_any_batch(&[bundle.clone(), margin.clone()]);
    assert_eq!(batch.len(), 2);
    assert_eq!(
        single.is_ok(),
        batch[0].is_ok(),
        "verify_any and verify_any_batch disagree: {single:?} vs {:?}",
        batch[0]
    );
    assert!(
        batch[1].is_ok(),
        "the valid neighbour was refused: {:?}",
        batch[1]
    );
    if let Statement::Margin(_) = bundle.statement {
        let one = v.verify(&bundle);
        let many = v.verify_batch(&[margin.clone(), bundle.clone()]);
        assert_eq!(
            one.is_ok(),
            single.is_ok(),
            "verify and verify_any disagree"
        );
        assert_eq!(
            one.is_ok(),
            many[1].is_ok(),
            "verify and verify_batch disagree"
        );
        assert!(
            many[0].is_ok(),
            "the valid neighbour was refused: {:?}",
            many[0]
        );
    } else {
        let one = v.verify_liquidation(&bundle);
        assert_eq!(
            one.is_ok(),
            single.is_ok(),
            "verify_liquidation and verify_any disagree"
        );
    }

    if single.is_ok() {
        assert!(
            bundle.statement == margin.statement || bundle.statement == transition.statement,
            "a statement no example proves was accepted: {:?}",
            bundle.statement
        );
    }
});
