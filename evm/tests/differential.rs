//! Differential tests: the compiled margin verifier (the committed artifact, run in
//! revm on substrate-bn) against `zkmargin_verifier` and arkworks' `Groth16` on real
//! proofs made with the development keys, and on hundreds of mutants of them.
//!
//! Every case runs through every contract route that can express it — `verifyProof`
//! (every input per call), `foldShared` then `verifyFolded` (the shared inputs folded
//! on-chain), and the tick-cache fixture's `verifyMargin` (weights folded at
//! deployment, prices per tick, point in storage) — and each route must give the
//! reference verdict: arkworks' `Groth16::verify_proof` on the same words, decoded
//! with the precompiles' rules. Bundle-level cases are also judged by
//! `zkmargin_verifier::Verifier::verify`, which must agree too. The bundle-level
//! differential of the settlement contract itself (`verifyMargin` and `liquidate` on
//! margin and transition bundles and their single-field mutants) is in
//! `tests/settlement.rs`.

mod common;

use std::collections::BTreeMap;

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_groth16::{Groth16, Proof};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{Commitment, MarginPublic, Status};
use zkmargin_evm::{
    encode::{fq_modulus, fr_modulus, g1_words, input_words, proof_words, Word},
    VerifierRevert,
};
use zkmargin_verifier::{bundle::ProofBundle, bundle::Statement, testkit};

use common::{dev_keys, verdict, with_proof, Chain, ContractVerdict, DevKeys};

/// Counts of cases by kind, and of contract calls.
#[derive(Default)]
struct Tally {
    cases: BTreeMap<&'static str, usize>,
    accepted: usize,
    rejected: usize,
    calls: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.cases.values().sum()
    }
}

/// Asserts a contract verdict is the reference verdict, with the right reason.
fn assert_route(
    route: &str,
    kind: &str,
    got: &ContractVerdict,
    expected: bool,
    input_out_of_field: bool,
) {
    match (got, expected) {
        (Ok(()), true) => {}
        (Err(reason), false) => {
            let want = if input_out_of_field {
                VerifierRevert::PublicInputNotInField
            } else {
                VerifierRevert::ProofInvalid
            };
            assert_eq!(*reason, want, "{route} on {kind}: wrong revert reason");
        }
        _ => panic!("{route} on {kind}: contract says {got:?}, arkworks says {expected}"),
    }
}

struct Case<'a> {
    kind: &'static str,
    proof: [Word; 8],
    inputs: Vec<Word>,
    /// The Rust verifier's verdict, for cases that are bundles.
    bundle_verdict: Option<bool>,
    /// Whether the cache fixture's tick (the correct prices) matches this case's
    /// shared inputs, so that its route applies.
    tick_matches: bool,
    keys: &'a DevKeys,
}

/// Runs one case through every route and checks them against the references.
fn check(chain: &mut Chain, tally: &mut Tally, case: Case<'_>) {
    let expected = case.keys.arkworks_accepts(&case.proof, &case.inputs);
    if let Some(rust) = case.bundle_verdict {
        assert_eq!(
            rust, expected,
            "{}: zkmargin_verifier and arkworks disagree",
            case.kind
        );
    }
    let r = fr_modulus();
    let out_of_field = |ws: &[Word]| ws.iter().any(|w| *w >= r);
    let any_out = out_of_field(&case.inputs);

    // Every input per call.
    let got = verdict(&chain.verify_proof(&case.proof, &case.inputs));
    assert_route("verifyProof", case.kind, &got, expected, any_out);

    // The shared inputs folded on-chain, then the proof against the point.
    let per_proof = chain.calls.per_proof_inputs(&case.inputs).unwrap();
    let shared = chain.calls.shared_inputs(&case.inputs).unwrap();
    let folded = chain.folded(&shared);
    tally.calls += 2;
    match folded {
        Ok(folded) => {
            // The on-chain fold is the native one.
            let shared: Vec<Fr> = zkmargin_evm::encode::decode_inputs(&shared).unwrap();
            assert_eq!(
                folded,
                chain.native_fold_shared(case.keys, &shared),
                "{}",
                case.kind
            );
            let got = verdict(&chain.verify_folded(&case.proof, &per_proof, &folded));
            assert_route(
                "foldShared+verifyFolded",
                case.kind,
                &got,
                expected,
                out_of_field(&per_proof),
            );
            tally.calls += 1;
        }
        Err(reason) => {
            // Only a shared input ≥ r makes foldShared revert.
            assert!(
                out_of_field(&shared),
                "{}: foldShared reverted: {reason:?}",
                case.kind
            );
            assert_eq!(
                reason,
                VerifierRevert::PublicInputNotInField,
                "{}",
                case.kind
            );
            assert!(!expected, "{}", case.kind);
        }
    }

    // The cached tick point in storage, the library inlined and by external call.
    if case.tick_matches {
        for (route, out) in [
            ("verifyMargin", chain.verify_margin(&case.proof, &per_proof)),
            (
                "verifyMarginByCall",
                chain.verify_margin_by_call(&case.proof, &per_proof),
            ),
        ] {
            assert_route(
                route,
                case.kind,
                &verdict(&out),
                expected,
                out_of_field(&per_proof),
            );
            tally.calls += 1;
        }
    }
    *tally.cases.entry(case.kind).or_default() += 1;
    if expected {
        tally.accepted += 1;
    } else {
        tally.rejected += 1;
    }
}

fn add(w: &Word, v: &Word) -> Word {
    w.overflowing_add(v).0
}

/// A point of the twist outside the prime-order subgroup (the twist's cofactor is
/// ≈ 2^254, so the first point found from a small x is outside).
fn b_outside_subgroup() -> G2Affine {
    let b = (1u64..)
        .find_map(|x| {
            G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(x), Fq::from(1u64)), false)
        })
        .unwrap();
    assert!(b.is_on_curve() && !b.is_in_correct_subgroup_assuming_on_curve());
    b
}

/// The word-level mutants of one valid proof: every input, every coordinate, the
/// structural ones; every one judged by every route.
fn mutate_proof(
    chain: &mut Chain,
    tally: &mut Tally,
    keys: &DevKeys,
    proof: &Proof<Bn254>,
    inputs: &[Fr],
    other_proof: &Proof<Bn254>,
    rng: &mut ChaCha20Rng,
) {
    let words = proof_words(proof);
    let inputs = input_words(inputs);
    let r = fr_modulus();
    let p = fq_modulus();
    let one = Word::from_u64(1);
    let (r_minus_1, _) = r.overflowing_sub(&one);
    let case = |kind, proof, inputs: Vec<Word>, tick_matches| Case {
        kind,
        proof,
        inputs,
        bundle_verdict: None,
        tick_matches,
        keys,
    };
    let per_proof = keys_per_proof_count();

    // The unmodified proof.
    check(
        chain,
        tally,
        case("valid proof", words, inputs.clone(), true),
    );

    // Each public input changed.
    for i in 0..inputs.len() {
        let x = inputs[i];
        let tick = i < per_proof;
        let mut variants: Vec<(&'static str, Word)> = vec![
            (
                "input + 1 (mod r)",
                if x == r_minus_1 {
                    Word::ZERO
                } else {
                    add(&x, &one)
                },
            ),
            ("input + r (not < r)", add(&x, &r)),
            ("input = 2^256 - 1", Word([0xff; 32])),
        ];
        if x != r_minus_1 {
            variants.push(("input = r - 1", r_minus_1));
        }
        if x != Word::ZERO {
            variants.push(("input = 0", Word::ZERO));
        }
        if x != one {
            variants.push(("input = 1", one));
        }
        for (kind, v) in variants {
            let mut mutated = inputs.clone();
            mutated[i] = v;
            check(chain, tally, case(kind, words, mutated, tick));
        }
    }

    // Each proof coordinate changed.
    for j in 0..8 {
        for (kind, v) in [
            ("coordinate + 1", add(&words[j], &one)),
            ("coordinate = p", p),
            ("coordinate + p (same residue)", add(&words[j], &p)),
            ("coordinate = 0", Word::ZERO),
        ] {
            let mut mutated = words;
            mutated[j] = v;
            check(chain, tally, case(kind, mutated, inputs.clone(), true));
        }
    }

    // Structural changes of valid points.
    let neg = |q: &Proof<Bn254>, a: bool, b: bool, c: bool| Proof::<Bn254> {
        a: if a { -q.a } else { q.a },
        b: if b { -q.b } else { q.b },
        c: if c { -q.c } else { q.c },
    };
    let structural: Vec<(&'static str, [Word; 8])> = vec![
        ("A negated", proof_words(&neg(proof, true, false, false))),
        (
            "A and B negated (same pairing)",
            proof_words(&neg(proof, true, true, false)),
        ),
        ("C negated", proof_words(&neg(proof, false, false, true))),
        ("B real and imaginary parts swapped", {
            let mut w = words;
            w.swap(2, 3);
            w.swap(4, 5);
            w
        }),
        ("B x and y swapped", {
            let mut w = words;
            w.swap(2, 4);
            w.swap(3, 5);
            w
        }),
        (
            "B outside the subgroup",
            proof_words(&Proof {
                b: b_outside_subgroup(),
                ..proof.clone()
            }),
        ),
        (
            "A at infinity",
            proof_words(&Proof {
                a: G1Affine::zero(),
                ..proof.clone()
            }),
        ),
        (
            "B at infinity",
            proof_words(&Proof {
                b: G2Affine::zero(),
                ..proof.clone()
            }),
        ),
        (
            "C at infinity",
            proof_words(&Proof {
                c: G1Affine::zero(),
                ..proof.clone()
            }),
        ),
        (
            "A and C swapped",
            proof_words(&Proof {
                a: proof.c,
                c: proof.a,
                b: proof.b,
            }),
        ),
        (
            "C moved by the generator",
            proof_words(&Proof {
                c: (G1Projective::from(proof.c) + G1Affine::generator()).into_affine(),
                ..proof.clone()
            }),
        ),
        ("another statement's proof", proof_words(other_proof)),
        (
            "re-randomized proof",
            proof_words(&Groth16::<Bn254>::rerandomize_proof(keys.vk(), proof, rng)),
        ),
        ("all-zero proof", [Word::ZERO; 8]),
    ];
    for (kind, w) in structural {
        check(chain, tally, case(kind, w, inputs.clone(), true));
    }

    // Wrong folds handed to verifyFolded: each shared input changed in the fold only.
    let fields: Vec<Fr> = zkmargin_evm::encode::decode_inputs(&inputs).unwrap();
    let per_proof_words = chain.calls.per_proof_inputs(&inputs).unwrap();
    for k in per_proof..fields.len() {
        let mut wrong = fields.clone();
        wrong[k] += Fr::from(1u64);
        let folded = chain.native_fold(keys, &wrong);
        // The reference: the statement whose shared inputs are the fold's.
        let expected = keys.arkworks_accepts(&words, &input_words(&wrong));
        let got = verdict(&chain.verify_folded(&words, &per_proof_words, &folded));
        assert_route(
            "verifyFolded",
            "fold of another tick",
            &got,
            expected,
            false,
        );
        assert!(!expected);
        *tally.cases.entry("fold of a shared input + 1").or_default() += 1;
        tally.rejected += 1;
        tally.calls += 1;
    }
    // Folded points that are not a fold at all.
    let good = chain.native_fold(keys, &fields);
    let g1 = zkmargin_evm::encode::decode_g1("fold", &good).unwrap();
    for (kind, folded) in [
        ("fold not on the curve", [good[0], add(&good[1], &one)]),
        ("fold with a coordinate + p", [add(&good[0], &p), good[1]]),
        ("fold at infinity", [Word::ZERO; 2]),
        ("fold negated", g1_words(&-g1)),
    ] {
        let got = verdict(&chain.verify_folded(&words, &per_proof_words, &folded));
        assert_eq!(got, Err(VerifierRevert::ProofInvalid), "{kind}");
        *tally.cases.entry(kind).or_default() += 1;
        tally.rejected += 1;
        tally.calls += 1;
    }
}

fn keys_per_proof_count() -> usize {
    MarginPublic::PER_PROOF_INPUTS
}

/// Bundle-level cases: valid bundles of both statuses at several thresholds, and
/// statement and proof changes, judged by zkmargin_verifier as well.
fn bundle_cases(
    chain: &mut Chain,
    tally: &mut Tally,
    keys: &DevKeys,
    bundles: &[ProofBundle],
    rng: &mut ChaCha20Rng,
) {
    let judge = |chain: &mut Chain, tally: &mut Tally, kind, bundle: &ProofBundle| {
        let rust = keys.verifier.verify(bundle).is_ok();
        let (inputs, proof) = keys.statement(bundle);
        check(
            chain,
            tally,
            Case {
                kind,
                proof: proof_words(&proof),
                inputs: input_words(&inputs),
                bundle_verdict: Some(rust),
                tick_matches: true,
                keys,
            },
        );
    };
    for (n, bundle) in bundles.iter().enumerate() {
        judge(chain, tally, "valid bundle", bundle);
        let rerandomized = with_proof(
            bundle,
            &Groth16::<Bn254>::rerandomize_proof(keys.vk(), &testkit::proof_of(bundle), rng),
        );
        judge(chain, tally, "bundle, re-randomized proof", &rerandomized);
        // (−A, −B) pairs to the same value: another valid proof of the same statement.
        let proof = testkit::proof_of(bundle);
        let negated = with_proof(
            bundle,
            &Proof {
                a: -proof.a,
                b: -proof.b,
                c: proof.c,
            },
        );
        judge(chain, tally, "bundle, A and B negated", &negated);
        let mut changed = bundle.clone();
        if let Statement::Margin(s) = &mut changed.statement {
            s.commitment = Commitment(s.commitment.0 + Fr::from(1u64));
        }
        judge(chain, tally, "bundle, commitment + 1", &changed);
        let mut changed = bundle.clone();
        if let Statement::Margin(s) = &mut changed.statement {
            s.status = match s.status {
                Status::Meets => Status::Breaches,
                Status::Breaches => Status::Meets,
            };
        }
        judge(chain, tally, "bundle, status flipped", &changed);
        let mut changed = bundle.clone();
        if let Statement::Margin(s) = &mut changed.statement {
            s.tau_ppm += 1;
        }
        judge(chain, tally, "bundle, tau + 1 ppm", &changed);
        judge(
            chain,
            tally,
            "bundle, tampered proof",
            &testkit::tamper_proof(bundle),
        );
        let other = &bundles[(n + 1) % bundles.len()];
        judge(
            chain,
            tally,
            "bundle, another bundle's proof",
            &ProofBundle {
                proof: other.proof.clone(),
                ..bundle.clone()
            },
        );
    }
}

#[test]
fn contract_verdicts_equal_zkmargin_verifier_and_arkworks() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(keys);
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let report = keys.report();

    // Real proofs of both statuses, at the maintenance line and at other thresholds.
    let mut bundles = Vec::new();
    for (id, status, tau) in [
        (1, Status::Meets, 1_000_000),
        (2, Status::Breaches, 1_000_000),
        (3, Status::Meets, 1_200_000),
        (4, Status::Breaches, 500_000),
        (5, Status::Meets, 1),
        (6, Status::Breaches, 1_000_000),
        (7, Status::Meets, 999_999),
        (8, Status::Breaches, 4_000_000),
    ] {
        let account = testkit::Fixture::account(id, status, &mut rng);
        bundles.push(keys.prove(&account, tau, &report, &mut rng));
    }
    let statuses: Vec<Status> = bundles
        .iter()
        .map(|b| match &b.statement {
            Statement::Margin(s) => s.status,
            Statement::Liquidation(_) => unreachable!(),
        })
        .collect();
    assert!(statuses.contains(&Status::Meets) && statuses.contains(&Status::Breaches));

    // The tick: prices of the report folded onto the weights in the fixture's storage.
    let (inputs0, _) = keys.statement(&bundles[0]);
    let prices = chain
        .calls
        .group_inputs("Prices", &input_words(&inputs0))
        .unwrap();
    assert!(chain.post_tick(&prices).is_success());

    let mut tally = Tally::default();
    bundle_cases(&mut chain, &mut tally, keys, &bundles, &mut rng);

    // Every word-level mutant of a meets proof and of a breach proof.
    for (target, other) in [(0, 1), (1, 0)] {
        let (inputs, proof) = keys.statement(&bundles[target]);
        let (_, other_proof) = keys.statement(&bundles[other]);
        mutate_proof(
            &mut chain,
            &mut tally,
            keys,
            &proof,
            &inputs,
            &other_proof,
            &mut rng,
        );
    }

    println!(
        "differential cases: {} ({} accepted, {} rejected), {} contract calls",
        tally.total(),
        tally.accepted,
        tally.rejected,
        tally.calls
    );
    for (kind, n) in &tally.cases {
        println!("  {n:4}  {kind}");
    }
    // Both verdicts occur, in numbers: a suite that only ever rejects tests nothing.
    assert!(tally.accepted >= 25, "{} accepted", tally.accepted);
    assert!(tally.total() >= 600, "{} cases", tally.total());
}

/// A tick whose prices are not the proof's makes every cached verification fail, and
/// a new tick with the right prices makes it pass again: the cache is the tick's.
#[test]
fn the_cached_tick_point_is_the_posted_tick() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(keys);
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let report = keys.report();
    let bundle = keys.bundle(7, Status::Breaches, &report, &mut rng);
    let (inputs, proof) = keys.statement(&bundle);
    let words = input_words(&inputs);
    let proof = proof_words(&proof);
    let per_proof = chain.calls.per_proof_inputs(&words).unwrap();
    let prices = chain.calls.group_inputs("Prices", &words).unwrap();

    // Before any tick the point is (0, 0) plus nothing: no proof verifies.
    assert_eq!(
        verdict(&chain.verify_margin(&proof, &per_proof)),
        Err(VerifierRevert::ProofInvalid)
    );
    let mut other = prices.clone();
    other[0] = other[0].overflowing_add(&Word::from_u64(1)).0;
    assert!(chain.post_tick(&other).is_success());
    assert_eq!(
        verdict(&chain.verify_margin(&proof, &per_proof)),
        Err(VerifierRevert::ProofInvalid)
    );
    assert!(chain.post_tick(&prices).is_success());
    assert_eq!(verdict(&chain.verify_margin(&proof, &per_proof)), Ok(()));
    assert_eq!(
        verdict(&chain.verify_margin_by_call(&proof, &per_proof)),
        Ok(())
    );
    // A price ≥ r is refused at posting time.
    let mut bad = prices.clone();
    bad[3] = fr_modulus();
    assert_eq!(
        verdict(&chain.post_tick(&bad)),
        Err(VerifierRevert::PublicInputNotInField)
    );
}

/// `foldShared` takes exactly the shared inputs; the group folds compose to it; a
/// fold refuses a base point off the curve.
#[test]
fn folds_check_their_arguments_and_compose() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(keys);
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let report = keys.report();
    let bundle = keys.bundle(8, Status::Meets, &report, &mut rng);
    let (inputs, _) = keys.statement(&bundle);
    let words = input_words(&inputs);
    let shared = chain.calls.shared_inputs(&words).unwrap();
    for n in [0, 39, 41] {
        let mut s = shared.clone();
        s.resize(n, Word::from_u64(1));
        assert_eq!(
            chain.folded(&s),
            Err(VerifierRevert::SharedInputCount {
                given: Word::from_u64(n as u64),
                expected: Word::from_u64(40)
            })
        );
    }
    let full = chain.folded(&shared).unwrap();

    // constantTerm, then Weights, then Prices (any order composes: addition commutes).
    let call = |chain: &mut Chain, data: Vec<u8>| {
        let out = chain.evm.call(chain.verifier, &data).unwrap();
        verdict(&out).map(|()| {
            let w = zkmargin_evm::abi::decode_words("fold", &out.output, 2).unwrap();
            [w[0], w[1]]
        })
    };
    let calls = chain.calls.clone();
    let constant = call(
        &mut chain,
        zkmargin_evm::abi::encode_call("constantTerm()", &[]),
    )
    .unwrap();
    assert_eq!(constant, g1_words(&keys.vk().gamma_abc_g1[0]));
    let weights = chain.calls.group_inputs("Weights", &words).unwrap();
    let prices = chain.calls.group_inputs("Prices", &words).unwrap();
    let after_weights = call(
        &mut chain,
        calls.fold_group("Weights", &weights, &constant).unwrap(),
    )
    .unwrap();
    let both = call(
        &mut chain,
        calls.fold_group("Prices", &prices, &after_weights).unwrap(),
    )
    .unwrap();
    assert_eq!(both, full);

    // A base point off the curve, or with a coordinate ≥ p, is refused even when
    // every input is 0 (no precompile would notice).
    let zeros = vec![Word::ZERO; prices.len()];
    let off = [
        constant[0],
        constant[1].overflowing_add(&Word::from_u64(1)).0,
    ];
    let unreduced = [constant[0].overflowing_add(&fq_modulus()).0, constant[1]];
    for base in [off, unreduced] {
        assert_eq!(
            call(
                &mut chain,
                calls.fold_group("Prices", &zeros, &base).unwrap()
            ),
            Err(VerifierRevert::FoldInvalid)
        );
    }
    // All-zero inputs on a valid base return the base; on infinity, infinity.
    assert_eq!(
        call(
            &mut chain,
            calls.fold_group("Prices", &zeros, &constant).unwrap()
        )
        .unwrap(),
        constant
    );
    assert_eq!(
        call(
            &mut chain,
            calls
                .fold_group("Prices", &zeros, &[Word::ZERO; 2])
                .unwrap()
        )
        .unwrap(),
        [Word::ZERO; 2]
    );
}

/// Why `verifyFolded` must be given the caller's own fold: with a folded point of
/// the submitter's choosing, a proof of one statement passes for another. Folding
/// the per-proof inputs into the point as well and passing zeros gives the same
/// `vk_x`, so the pairing passes for a "statement" whose commitment is 0. The
/// settlement contract keeps the fold in its own storage for this reason.
#[test]
fn a_folded_point_chosen_by_the_submitter_proves_nothing() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(keys);
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let report = keys.report();
    let bundle = keys.bundle(9, Status::Breaches, &report, &mut rng);
    let (inputs, proof) = keys.statement(&bundle);
    let proof = proof_words(&proof);
    let per_proof = chain.calls.per_proof_inputs(&input_words(&inputs)).unwrap();
    let vk = keys.vk();
    let vk_x = zkmargin_evm::fold::fold_inputs(
        vk,
        &(0..inputs.len()).collect::<Vec<_>>(),
        &inputs,
        vk.gamma_abc_g1[0],
    )
    .unwrap();
    let zeros = vec![Word::ZERO; per_proof.len()];
    assert_eq!(
        verdict(&chain.verify_folded(&proof, &zeros, &g1_words(&vk_x))),
        Ok(())
    );
    // arkworks rejects that statement: the fold, not the proof, made it pass.
    let mut forged = input_words(&inputs);
    forged[..per_proof.len()].fill(Word::ZERO);
    assert!(!keys.arkworks_accepts(&proof, &forged));
}
