//! The settlement ledger on random operation sequences: a fresh in-memory SQLite
//! ledger per input, then up to 32 operations — `init`, `pin_trust` (the verifier's
//! trust or one of three wrong pins), `register_account`, `replace_commitment`,
//! `fund_deposit` (right or wrong operator key), `apply` of the real example
//! transition (the `VerifiedLiquidation` of `examples/transition.json`), `settle` of
//! re-randomized proofs of it and of byte-mutated transition bundles — then
//! `check_invariants`.
//!
//! Properties beyond "never panics": `check_invariants` holds after every sequence
//! (and whenever an operation asks); `apply` succeeds exactly when a model of the
//! ledger says it must (trust pinned to the verifier's, an account at the old
//! commitment, the new commitment free, the statement not yet applied); a mutated
//! bundle never settles a statement other than the example's; the example account
//! moves to the new commitment with nonce + 1 when it settles.
#![no_main]

use std::{collections::BTreeMap, sync::OnceLock};

use arbitrary::Arbitrary;
use ark_bn254::Bn254;
use ark_groth16::{Groth16, Proof};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use libfuzzer_sys::fuzz_target;
use rand::{rngs::StdRng, SeedableRng};
use zkmargin_circuits::{Commitment, Fr, LIQUIDATION_CIRCUIT_ID, LIQUIDATION_NUM_PUBLIC_INPUTS};
use zkmargin_fuzz::{keys_dir, verifier, EXAMPLE_TRANSITION};
use zkmargin_settlement::{Ledger, OperatorKey, PinnedTrust, SettleError, SettleFailure, Settler};
use zkmargin_verifier::{keys::load_verifying_key, ProofBundle, VerifiedLiquidation};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    transition: VerifiedLiquidation,
    /// The example transition with re-randomized proofs: the same statement.
    rerandomized: Vec<ProofBundle>,
    /// The verifier's trust, then three pins that refuse it.
    pins: [PinnedTrust; 4],
    key: OperatorKey,
    wrong_key: OperatorKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let v = verifier();
        let bundle = ProofBundle::from_json(EXAMPLE_TRANSITION).unwrap();
        let transition = v
            .verify_liquidation(&bundle)
            .expect("examples/transition.json");
        let vk = load_verifying_key(
            &keys_dir(),
            LIQUIDATION_CIRCUIT_ID,
            LIQUIDATION_NUM_PUBLIC_INPUTS,
        )
        .expect("keys/liquidation.vk")
        .key;
        let proof =
            Proof::<Bn254>::deserialize_compressed(&hex::decode(&bundle.proof).unwrap()[..])
                .unwrap();
        let mut rng = StdRng::seed_from_u64(15);
        let rerandomized = (0..2)
            .map(|_| {
                let p = Groth16::<Bn254>::rerandomize_proof(&vk, &proof, &mut rng);
                let mut bytes = Vec::new();
                p.serialize_compressed(&mut bytes).unwrap();
                let b = ProofBundle {
                    proof: hex::encode(bytes),
                    ..bundle.clone()
                };
                assert!(
                    v.verify_liquidation(&b).is_ok(),
                    "a re-randomized proof verifies"
                );
                b
            })
            .collect();
        let good = PinnedTrust::of(v).expect("liquidation key");
        let mut wrong_key = good.clone();
        wrong_key.key_fingerprint = "00".repeat(32);
        let mut wrong_oracle = good.clone();
        wrong_oracle.oracle_config_digest = "11".repeat(32);
        let mut wrong_params = good.clone();
        wrong_params.risk_params_digests = vec!["22".repeat(32)];
        Fixture {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            transition,
            rerandomized,
            pins: [good, wrong_key, wrong_oracle, wrong_params],
            key: OperatorKey::new(&b"fuzz operator secret, 32 bytes.."[..]).unwrap(),
            wrong_key: OperatorKey::new(&b"not the operator secret at all."[..]).unwrap(),
        }
    })
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Id {
    /// The example account's id.
    FortyTwo,
    Seven,
    Any(u64),
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Comm {
    /// The transition's old commitment.
    Old,
    /// The transition's new commitment.
    New,
    Any([u8; 32]),
}

#[derive(Debug, Arbitrary)]
enum Op {
    Init {
        right_key: bool,
    },
    Pin {
        which: u8,
        right_key: bool,
    },
    Register {
        id: Id,
        commitment: Comm,
        right_key: bool,
    },
    Replace {
        id: Id,
        expected: Comm,
        new: Comm,
        right_key: bool,
    },
    Fund {
        amount: u64,
        right_key: bool,
    },
    Apply,
    SettleRerandomized {
        which: bool,
    },
    SettleMutated {
        edits: Vec<(u16, u8)>,
    },
    Check,
}

fn id(i: Id) -> u64 {
    match i {
        Id::FortyTwo => 42,
        Id::Seven => 7,
        Id::Any(n) => n,
    }
}

fn commitment(f: &Fixture, c: Comm) -> Commitment {
    let s = f.transition.statement();
    match c {
        Comm::Old => s.old_commitment,
        Comm::New => s.new_commitment,
        Comm::Any(bytes) => {
            use ark_ff::PrimeField;
            Commitment(Fr::from_le_bytes_mod_order(&bytes))
        }
    }
}

/// What the ledger holds, as far as `apply` depends on it.
#[derive(Default, Debug)]
struct Model {
    initialized: bool,
    pin: Option<usize>,
    /// Account id → current commitment.
    accounts: BTreeMap<u64, Commitment>,
    applied: bool,
}

impl Model {
    fn apply_must_succeed(&self, f: &Fixture) -> bool {
        let s = f.transition.statement();
        self.pin == Some(0)
            && !self.applied
            && self.accounts.values().any(|c| *c == s.old_commitment)
            && !self.accounts.values().any(|c| *c == s.new_commitment)
    }

    /// Records a successful apply of the example transition.
    fn applied(&mut self, f: &Fixture) {
        let s = f.transition.statement();
        let account = self
            .accounts
            .values_mut()
            .find(|c| **c == s.old_commitment)
            .expect("an applied transition had an account at its old commitment");
        *account = s.new_commitment;
        self.applied = true;
    }
}

async fn check(ledger: &Ledger, ops: &[Op]) {
    if let Err(e) = ledger.check_invariants().await {
        panic!("invariants broken after {ops:?}: {e}");
    }
}

async fn run(f: &Fixture, ops: &[Op]) {
    let ledger = Ledger::open("sqlite::memory:")
        .await
        .expect("in-memory ledger");
    let settler = Settler::new(verifier().clone(), ledger);
    let ledger = settler.ledger();
    let mut m = Model::default();
    for op in ops {
        let key = |right: bool| if right { &f.key } else { &f.wrong_key };
        match op {
            Op::Init { right_key } => {
                let r = ledger.init(key(*right_key)).await;
                assert_eq!(
                    r.is_ok(),
                    *right_key || !m.initialized,
                    "init: {r:?} ({m:?})"
                );
                if r.is_ok() && !m.initialized {
                    m.initialized = true;
                    if !right_key {
                        // The wrong key became the operator's: the sequence continues
                        // with the roles swapped, which the model does not follow.
                        return check(ledger, ops).await;
                    }
                }
            }
            Op::Pin { which, right_key } => {
                let which = *which as usize % f.pins.len();
                let r = ledger.pin_trust(key(*right_key), &f.pins[which]).await;
                assert_eq!(
                    r.is_ok(),
                    m.initialized && *right_key,
                    "pin_trust: {r:?} ({m:?})"
                );
                if r.is_ok() {
                    m.pin = Some(which);
                    assert_eq!(ledger.trust().await.unwrap().as_ref(), Some(&f.pins[which]));
                }
            }
            Op::Register {
                id: i,
                commitment: c,
                right_key,
            } => {
                let (i, c) = (id(*i), commitment(f, *c));
                let r = ledger.register_account(key(*right_key), i, &c).await;
                if r.is_ok() {
                    assert!(
                        m.initialized && *right_key,
                        "register without the operator key"
                    );
                    assert!(!m.accounts.contains_key(&i), "registered account {i} twice");
                    assert!(
                        !m.accounts.values().any(|x| *x == c),
                        "a commitment in use was registered"
                    );
                    m.accounts.insert(i, c);
                }
            }
            Op::Replace {
                id: i,
                expected,
                new,
                right_key,
            } => {
                let (i, expected, new) = (id(*i), commitment(f, *expected), commitment(f, *new));
                let r = ledger
                    .replace_commitment(key(*right_key), i, &expected, &new)
                    .await;
                if r.is_ok() {
                    assert!(
                        m.initialized && *right_key,
                        "replace without the operator key"
                    );
                    assert_eq!(
                        m.accounts.get(&i),
                        Some(&expected),
                        "replaced a stale commitment"
                    );
                    m.accounts.insert(i, new);
                }
            }
            Op::Fund { amount, right_key } => {
                let r = ledger.fund_deposit(key(*right_key), *amount).await;
                if r.is_ok() {
                    assert!(
                        m.initialized && *right_key,
                        "funded without the operator key"
                    );
                }
            }
            Op::Apply => {
                let must = m.apply_must_succeed(f);
                let r = ledger.apply(&f.transition).await;
                assert_eq!(r.is_ok(), must, "apply: {r:?} ({m:?})");
                if r.is_ok() {
                    m.applied(f);
                    let record = ledger
                        .account_by_commitment(&f.transition.statement().new_commitment)
                        .await
                        .unwrap()
                        .expect("the account moved to the new commitment");
                    assert_eq!(
                        m.accounts.get(&record.id),
                        Some(&f.transition.statement().new_commitment),
                        "the ledger moved another account than the model"
                    );
                } else if m.applied {
                    assert!(
                        matches!(r, Err(SettleError::Replay { .. })),
                        "a second apply is a replay: {r:?}"
                    );
                }
            }
            Op::SettleRerandomized { which } => {
                let must = m.apply_must_succeed(f);
                let r = settler.settle(&f.rerandomized[usize::from(*which)]).await;
                assert_eq!(
                    r.is_ok(),
                    must,
                    "settle (re-randomized): {:?} ({m:?})",
                    r.as_ref().err()
                );
                if r.is_ok() {
                    m.applied(f);
                }
            }
            Op::SettleMutated { edits } => {
                let mut bytes = EXAMPLE_TRANSITION.to_vec();
                for &(pos, xor) in edits.iter().take(8) {
                    let n = bytes.len();
                    bytes[pos as usize % n] ^= xor;
                }
                let Ok(bundle) = ProofBundle::from_json(&bytes) else {
                    continue;
                };
                let must = m.apply_must_succeed(f);
                match settler.settle(&bundle).await {
                    Ok(settled) => {
                        assert_eq!(
                            settled.liquidation, f.transition,
                            "a mutated bundle settled another statement"
                        );
                        assert!(must, "settled against the model ({m:?})");
                        m.applied(f);
                    }
                    Err(SettleFailure::Verify(_)) => {}
                    // It verified, so it states what the example states: the ledger
                    // refuses it exactly when it would refuse the example.
                    Err(e @ SettleFailure::Apply { .. }) => {
                        assert!(
                            !must,
                            "a verified mutant was refused against the model: {e:?} ({m:?})"
                        );
                    }
                    Err(e) => panic!("an unknown settle failure: {e:?}"),
                }
            }
            Op::Check => check(ledger, ops).await,
        }
    }
    check(ledger, ops).await;
    ledger.close().await;
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(ops) = u
        .arbitrary_iter::<Op>()
        .and_then(|it| it.take(32).collect::<Result<Vec<_>, _>>())
    else {
        return;
    };
    f.runtime.block_on(run(f, &ops));
});
