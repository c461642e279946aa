//! Gas of the margin verifier, as transaction gas (21,000 + calldata + execution),
//! measured in revm on the committed bytecode with real proofs of the development
//! keys. Printed (`cargo test --release -p zkmargin-evm --test gas -- --nocapture`)
//! and bounded: every function's execution is its precompile calls (EIP-1108 prices)
//! plus a bounded overhead, so a regression in the generated code shows here.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::Status;
use zkmargin_evm::{
    encode::{fr_modulus, input_words, proof_words, Word},
    harness::{calldata_gas, CallOutcome, Evm, TX_BASE_GAS},
};

use common::{dev_keys, Chain};

const EC_ADD: u64 = 150;
const EC_MUL: u64 = 6_000;
const PAIRING_4: u64 = 45_000 + 4 * 34_000;

/// A STATICCALL to a precompile (always warm, EIP-2929) costs this on top of the
/// precompile's own price.
const WARM_CALL: u64 = 100;

/// Gas of folding one input, precompile price and its calls: 0 costs nothing, 1 an
/// ecAdd, anything else an ecMul and an ecAdd.
fn input_cost(w: &Word) -> u64 {
    if *w == Word::ZERO {
        0
    } else if *w == Word::from_u64(1) {
        EC_ADD + WARM_CALL
    } else {
        EC_MUL + EC_ADD + 2 * WARM_CALL
    }
}

/// The pairing check with its call.
const PAIRING: u64 = PAIRING_4 + WARM_CALL;

fn row(name: &str, out: &CallOutcome, precompiles: u64) {
    println!(
        "{name:<46} {:>8} {:>8} {:>9} {:>11} {:>8}",
        out.gas.transaction,
        out.gas.calldata,
        out.gas.execution,
        precompiles,
        out.gas.execution.saturating_sub(precompiles)
    );
}

/// The harness's accounting is revm's: a call to an account without code executes
/// nothing, so its transaction gas is exactly 21,000 + calldata.
#[test]
fn transaction_gas_is_base_plus_calldata_plus_execution() {
    let mut evm = Evm::new();
    let data = [0u8, 1, 0, 0, 255, 7];
    let out = evm
        .call(zkmargin_evm::harness::Address::repeat_byte(0x11), &data)
        .unwrap();
    assert!(out.is_success());
    assert_eq!(calldata_gas(&data), 3 * 4 + 3 * 16);
    assert_eq!(out.gas.transaction, TX_BASE_GAS + calldata_gas(&data));
    assert_eq!(out.gas.execution, 0);
}

#[test]
fn margin_verifier_gas() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(keys);
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let report = keys.report();
    println!(
        "{:<46} {:>8} {:>8} {:>9} {:>11} {:>8}",
        "margin verifier (43 inputs, 3 per proof)",
        "tx gas",
        "calldata",
        "execution",
        "precompiles",
        "rest"
    );
    let mut measured = Vec::new();
    for (id, status) in [(31, Status::Breaches), (32, Status::Meets)] {
        let bundle = keys.bundle(id, status, &report, &mut rng);
        let (inputs, proof) = keys.statement(&bundle);
        let words = input_words(&inputs);
        let proof = proof_words(&proof);
        let per_proof = chain.calls.per_proof_inputs(&words).unwrap();
        let shared = chain.calls.shared_inputs(&words).unwrap();
        let prices = chain.calls.group_inputs("Prices", &words).unwrap();
        let label = format!("{status:?}");

        let all = chain.verify_proof(&proof, &words);
        let all_pre = PAIRING + words.iter().map(input_cost).sum::<u64>();
        let fold = chain.fold_shared(&shared);
        let fold_pre = shared.iter().map(input_cost).sum::<u64>();
        let folded = chain.folded(&shared).unwrap();
        let one = chain.verify_folded(&proof, &per_proof, &folded);
        let one_pre = PAIRING + per_proof.iter().map(input_cost).sum::<u64>();
        let tick = chain.post_tick(&prices);
        let tick_pre = prices.iter().map(input_cost).sum::<u64>();
        let cached = chain.verify_margin(&proof, &per_proof);
        let by_call = chain.verify_margin_by_call(&proof, &per_proof);
        for out in [&all, &fold, &one, &tick, &cached, &by_call] {
            assert!(out.is_success(), "{label}: {out:?}");
        }
        row(
            &format!("verifyProof, every input per call ({label})"),
            &all,
            all_pre,
        );
        row(
            &format!("foldShared, once per tick ({label})"),
            &fold,
            fold_pre,
        );
        row(
            &format!("verifyFolded, folded in calldata ({label})"),
            &one,
            one_pre,
        );
        row(
            &format!("fixture postTick: prices, 2 SSTOREs ({label})"),
            &tick,
            tick_pre,
        );
        row(
            &format!("fixture verifyMargin: inlined ({label})"),
            &cached,
            one_pre,
        );
        row(
            &format!("fixture verifyMarginByCall ({label})"),
            &by_call,
            one_pre,
        );

        // Execution is the precompiles and their calls plus a bounded rest: dispatch,
        // calldata decoding and copies, memory, the pairing's 24 words, and per input
        // its r check, its 0/1 branches and the helper's call (≤ 250 gas; measured
        // ≈ 190 for a general input, ≈ 40 for a zero); for the fixture two cold
        // SLOADs (4,200) of the tick point and, through an external call, a cold
        // account access (2,600) and the ABI round trip. A regression in the generated
        // code (a loop, a storage read, a lost fast path, a constant loaded from code
        // per input) shows here.
        const PER_INPUT: u64 = 250;
        const BASE: u64 = 2_000;
        for (name, out, pre, rest) in [
            ("verifyProof", &all, all_pre, 43 * PER_INPUT + BASE),
            ("foldShared", &fold, fold_pre, 40 * PER_INPUT + BASE),
            ("verifyFolded", &one, one_pre, 3 * PER_INPUT + BASE),
            (
                "verifyMargin",
                &cached,
                one_pre,
                3 * PER_INPUT + BASE + 4_200,
            ),
            (
                "verifyMarginByCall",
                &by_call,
                one_pre,
                3 * PER_INPUT + BASE + 4_200 + 5_000,
            ),
        ] {
            assert!(
                out.gas.execution >= pre && out.gas.execution <= pre + rest,
                "{name} ({label}): execution {} for {pre} of precompiles",
                out.gas.execution
            );
        }
        // Folding pays off per proof, and inlining beats an external call.
        assert!(one.gas.transaction + 100_000 < all.gas.transaction);
        assert!(cached.gas.transaction < by_call.gas.transaction);
        measured.push((
            label,
            all.gas.transaction,
            one.gas.transaction,
            cached.gas.transaction,
        ));
    }
    // A snarkjs-template verifier pays ecMul + ecAdd for every input whatever its
    // value; ours skips zeros and ecAdds ones. The comparison, as that template
    // would price the same proof:
    let all_inputs = PAIRING + 43 * (EC_MUL + EC_ADD + 2 * WARM_CALL);
    println!("a verifier that multiplies every input (snarkjs's template) pays {all_inputs} for its precompiles alone");
    for (label, all, one, cached) in measured {
        println!(
            "{label}: per proof, verifyProof {all} vs verifyFolded {one} ({:.1}x) vs inlined with the tick point in storage {cached}",
            all as f64 / one as f64
        );
    }
}

/// An input ≥ r reverts with `PublicInputNotInField` and never reaches the pairing.
#[test]
fn an_input_not_below_r_reverts_before_the_pairing() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(keys);
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let report = keys.report();
    let bundle = keys.bundle(33, Status::Breaches, &report, &mut rng);
    let (inputs, proof) = keys.statement(&bundle);
    let proof = proof_words(&proof);
    let mut words = input_words(&inputs);
    let valid = chain.verify_proof(&proof, &words);
    assert!(valid.is_success());
    // commitment + r: ecMul alone would reduce it to the valid commitment.
    words[0] = words[0].overflowing_add(&fr_modulus()).0;
    let out = chain.verify_proof(&proof, &words);
    assert_eq!(
        zkmargin_evm::VerifierRevert::decode(&out.output),
        zkmargin_evm::VerifierRevert::PublicInputNotInField
    );
    assert!(
        out.gas.execution + PAIRING_4 <= valid.gas.execution,
        "{out:?}"
    );
}
