//! `ZkMarginSettlement` (the committed artifact) in revm, BN254 precompiles on
//! substrate-bn, with real proofs against the development keys: the liquidation
//! verifier against arkworks, the SQL ledger's safety list on-chain, the end-to-end
//! flow, and the transaction gas of `postReport`, `verifyMargin` and `liquidate`.
//! Gas figures: `cargo test --release -p zkmargin-evm --test settlement -- --nocapture`.

mod common;

use std::sync::OnceLock;

use ark_bn254::Bn254;
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_serialize::CanonicalDeserialize;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, LiquidationPrivate},
    Account, Commitment, LiquidationPublic, MarginPublic, Status, LIQUIDATION_CIRCUIT_ID,
};
use zkmargin_evm::{
    abi::VerifierRevert,
    artifact::{artifacts_dir, Artifact},
    encode::{decode_inputs, decode_proof, fr_modulus, input_words, proof_words, Word},
    harness::{Address, CallOutcome, Evm},
    liquidation_split,
    settlement::{self, revert_code, SettlementConfig},
    VerifierCalls,
};
use zkmargin_oracle::SignedReport;
use zkmargin_prover::{registry, setup};
use zkmargin_verifier::{keys::Manifest, testkit::Fixture};

use common::{dev_keys, repo_keys, DevKeys};

const OPERATOR: Address = Address::repeat_byte(0x0b);
const LIQUIDATOR_A: Address = Address::repeat_byte(0x1a);
const LIQUIDATOR_B: Address = Address::repeat_byte(0x1b);
const USD: i64 = 1_000_000;

/// The development liquidation keys (regenerated from the public seed; the committed
/// `keys/liquidation.vk` is checked to be their verifying key).
struct LiqKeys {
    pk: ProvingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    fingerprint: String,
    /// Plans liquidations (policy, parameters, prices); its own keys are unused.
    planner: Fixture,
}

fn liq_keys() -> &'static LiqKeys {
    static KEYS: OnceLock<LiqKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let generated = setup::generate(&registry::LIQUIDATION, setup::KeyMode::Development)
            .expect("development setup of the liquidation circuit");
        let committed =
            std::fs::read(repo_keys().join("liquidation.vk")).expect("keys/liquidation.vk");
        assert_eq!(
            generated.verifying_key, committed,
            "keys/liquidation.vk is not the development key of today's circuit"
        );
        let pk =
            ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&generated.proving_key[..])
                .expect("proving key");
        let manifest = Manifest::load(repo_keys()).unwrap();
        let fingerprint = manifest
            .circuits
            .iter()
            .find(|c| c.id == LIQUIDATION_CIRCUIT_ID)
            .unwrap()
            .verifying_key
            .sha256
            .clone();
        LiqKeys {
            pvk: prepare_verifying_key(&pk.vk),
            pk,
            fingerprint,
            planner: Fixture::new(1),
        }
    })
}

/// A proven liquidation against the development key.
#[derive(Clone)]
struct Liq {
    public: LiquidationPublic,
    proof: Proof<Bn254>,
}

impl Liq {
    fn words(&self) -> Vec<Word> {
        input_words(&self.public.to_field_elements())
    }
}

fn prove_liquidation(old: &Account, liquidator: u64, report: &SignedReport, seed: u64) -> Liq {
    let keys = liq_keys();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (public, new) = keys
        .planner
        .plan_liquidation(old, liquidator, report, &mut rng)
        .expect("a legal liquidation");
    let circuit = LiquidationCircuit {
        public,
        private: Some(LiquidationPrivate {
            old: old.clone(),
            new_blinding: new.blinding,
        }),
    };
    let proof = Groth16::<Bn254>::create_random_proof_with_reduction(circuit, &keys.pk, &mut rng)
        .expect("prove");
    Liq { public, proof }
}

fn rerandomize(liq: &Liq, seed: u64) -> Liq {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    Liq {
        public: liq.public,
        proof: Groth16::<Bn254>::rerandomize_proof(&liq_keys().pk.vk, &liq.proof, &mut rng),
    }
}

/// A report at `observed_at` with every price scaled by `num / den`, signed by the
/// first `signers` development signers.
fn report_at(keys: &DevKeys, observed_at: u64, num: u64, den: u64, signers: usize) -> SignedReport {
    let mut report = Fixture::price_report(observed_at);
    for f in &mut report.feeds {
        f.price = f.price * num / den;
        f.bid = f.bid * num / den;
        f.ask = f.ask * num / den;
    }
    SignedReport::sign(report, &keys.signers[..signers])
}

struct Chain {
    evm: Evm,
    settlement: Address,
}

fn code(out: &CallOutcome) -> Option<&'static str> {
    if out.is_success() {
        None
    } else {
        Some(revert_code(&out.output).unwrap_or("unknown revert"))
    }
}

impl Chain {
    fn deploy(now: u64) -> Self {
        let keys = dev_keys();
        let config = SettlementConfig {
            operator: OPERATOR.into_array(),
            margin_key_fingerprint: keys.fingerprint.clone(),
            liquidation_key_fingerprint: liq_keys().fingerprint.clone(),
            oracle: keys.oracle.clone(),
            params: keys.params.clone(),
        };
        let mut evm = Evm::new();
        evm.set_timestamp(now);
        let artifact = Artifact::load(&artifacts_dir(), "ZkMarginSettlement").unwrap();
        let settlement = evm
            .deploy_artifact(&artifact, &config.constructor_args().unwrap())
            .unwrap();
        Self { evm, settlement }
    }

    fn send(&mut self, from: Address, data: &[u8]) -> CallOutcome {
        self.evm.call_from(from, self.settlement, data).unwrap()
    }

    fn post(&mut self, report: &SignedReport) -> (CallOutcome, [u8; 32]) {
        let out = self.send(LIQUIDATOR_A, &settlement::post_report(report).unwrap());
        (out, report.report.digest())
    }

    fn register(&mut self, id: u64, account: &Account) -> CallOutcome {
        let c = Word::from(&Commitment::of(account).0);
        self.send(OPERATOR, &settlement::register_account(id, &c))
    }

    fn verify_margin(
        &mut self,
        public: &MarginPublic,
        report: [u8; 32],
        proof: &Proof<Bn254>,
    ) -> CallOutcome {
        let data = settlement::verify_margin(public, report, &proof_words(proof));
        self.send(LIQUIDATOR_A, &data)
    }

    fn liquidate(&mut self, from: Address, liq: &Liq, report: [u8; 32]) -> CallOutcome {
        let data = settlement::liquidate(&liq.public, report, &proof_words(&liq.proof));
        self.send(from, &data)
    }

    fn view_u64(&mut self, signature: &str, arg: Option<u64>) -> u64 {
        let args: Vec<settlement::Token> = arg
            .map(|a| vec![settlement::Token::Word(Word::from_u64(a))])
            .unwrap_or_default();
        let out = self.send(LIQUIDATOR_A, &settlement::call(signature, &args));
        assert!(out.is_success(), "{signature}");
        u64::from_be_bytes(out.output[24..32].try_into().unwrap())
    }

    fn fund(&mut self) -> u64 {
        self.view_u64("fundBalance()", None)
    }

    fn socialized(&mut self) -> u64 {
        self.view_u64("socializedLoss()", None)
    }

    fn credit(&mut self, liquidator: u64) -> u64 {
        self.view_u64("liquidatorCredit(uint64)", Some(liquidator))
    }

    fn is_current(&mut self, c: &Commitment) -> bool {
        let data = settlement::call(
            "isCurrent(uint256)",
            &[settlement::Token::Word(Word::from(&c.0))],
        );
        let out = self.send(LIQUIDATOR_A, &data);
        assert!(out.is_success());
        out.output[31] == 1
    }
}

fn margin_public(
    keys: &DevKeys,
    account: &Account,
    report: &SignedReport,
    tau: u32,
) -> MarginPublic {
    let prices =
        zkmargin_circuits::Prices::from_feeds(&keys.params, |f| report.report.price(f)).unwrap();
    let weights = keys.params.weights();
    MarginPublic {
        commitment: Commitment::of(account),
        status: account.status(&weights, &prices, tau),
        tau_ppm: tau,
        prices,
        weights,
    }
}

fn prove_margin(
    keys: &DevKeys,
    account: &Account,
    report: &SignedReport,
    seed: u64,
) -> (MarginPublic, Proof<Bn254>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let bundle = keys.prove(account, 1_000_000, report, &mut rng);
    (
        margin_public(keys, account, report, 1_000_000),
        zkmargin_verifier::testkit::proof_of(&bundle),
    )
}

const T0: u64 = 1_800_000_000;

// ---------------------------------------------------------------------------------

#[test]
fn liquidation_verifier_agrees_with_arkworks_on_every_single_word_mutant() {
    let keys = dev_keys();
    let lk = liq_keys();
    let report = report_at(keys, T0, 1, 1, 2);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let liq = prove_liquidation(
        &Fixture::account(1, Status::Breaches, &mut rng),
        7,
        &report,
        6,
    );
    let mut evm = Evm::new();
    let verifier = evm
        .deploy_artifact(
            &Artifact::load(&artifacts_dir(), "LiquidationVerifier").unwrap(),
            &[],
        )
        .unwrap();
    let calls = VerifierCalls::new(liquidation_split());
    let accepts = |proof: &[Word; 8], inputs: &[Word]| {
        let (Ok(p), Ok(x)) = (decode_proof(proof), decode_inputs(inputs)) else {
            return false;
        };
        Groth16::<Bn254>::verify_proof(&lk.pvk, &p, &x).unwrap_or(false)
    };
    let proof = proof_words(&liq.proof);
    let inputs = liq.words();
    let r = fr_modulus();
    let mut cases: Vec<([Word; 8], Vec<Word>)> = vec![(proof, inputs.clone())];
    for i in 0..inputs.len() {
        for m in [
            inputs[i].overflowing_add(&Word::from_u64(1)).0,
            inputs[i].overflowing_add(&r).0,
            Word::ZERO,
            r,
        ] {
            if m != inputs[i] {
                let mut x = inputs.clone();
                x[i] = m;
                cases.push((proof, x));
            }
        }
    }
    for k in 0..8 {
        for m in [proof[k].overflowing_add(&Word::from_u64(1)).0, Word::ZERO] {
            let mut p = proof;
            p[k] = m;
            cases.push((p, inputs.clone()));
        }
    }
    let mut accepted = 0;
    for (p, x) in &cases {
        let expected = accepts(p, x);
        let out = evm
            .call(verifier, &calls.verify_proof(p, x).unwrap())
            .unwrap();
        assert_eq!(out.is_success(), expected, "contract and arkworks disagree");
        if !out.is_success() {
            // A revert with one of the verifier's reasons, never a halt.
            assert!(!matches!(
                VerifierRevert::decode(&out.output),
                VerifierRevert::Other(_)
            ));
        }
        accepted += usize::from(expected);
    }
    assert_eq!(accepted, 1, "only the original proof verifies");
    println!(
        "liquidation verifier: {} cases, contract = arkworks on every one",
        cases.len()
    );
}

#[test]
fn post_report_checks_the_committee_and_freshness() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(T0 + 10);
    // Quorum not met: one signature of a 2-of-3 committee.
    let one = report_at(keys, T0, 1, 1, 1);
    assert_eq!(code(&chain.post(&one).0), Some("oracle_quorum_not_met"));
    // Unknown signer: a key outside the committee.
    let mut unknown = report_at(keys, T0, 1, 1, 2);
    let outsider = zkmargin_oracle::SignerKey::generate(&mut ChaCha20Rng::seed_from_u64(3));
    unknown.signatures[1] = outsider.sign(&unknown.report);
    assert_eq!(code(&chain.post(&unknown).0), Some("oracle_unknown_signer"));
    // Duplicate signer.
    let mut dup = report_at(keys, T0, 1, 1, 2);
    dup.signatures[1] = dup.signatures[0].clone();
    assert_eq!(code(&chain.post(&dup).0), Some("oracle_duplicate_signer"));
    // A signature over another report.
    let mut bad = report_at(keys, T0, 1, 1, 2);
    bad.signatures[1] = report_at(keys, T0 + 1, 1, 1, 2).signatures[1].clone();
    assert_eq!(code(&chain.post(&bad).0), Some("oracle_bad_signature"));
    // From the future (beyond the 5 s skew), stale (older than 300 s), expired.
    assert_eq!(
        code(&chain.post(&report_at(keys, T0 + 16, 1, 1, 2)).0),
        Some("oracle_report_from_future")
    );
    assert_eq!(
        code(&chain.post(&report_at(keys, T0 - 291, 1, 1, 2)).0),
        Some("oracle_stale_report")
    );
    // A tampered price: the digest changes, so the signatures no longer verify.
    let mut tampered = report_at(keys, T0, 1, 1, 2);
    tampered.report.feeds[0].price += 1;
    assert_eq!(code(&chain.post(&tampered).0), Some("oracle_bad_signature"));
    // The valid one is accepted once; its id is the oracle crate's digest.
    let good = report_at(keys, T0, 1, 1, 2);
    let (out, _) = chain.post(&good);
    assert!(out.is_success(), "{:?}", code(&out));
    assert_eq!(out.output, good.report.digest());
    assert_eq!(code(&chain.post(&good).0), Some("report_posted"));
    // Later, the posted report expires for verification.
    chain.evm.next_block(T0 + 301);
    let account = Fixture::account(1, Status::Meets, &mut ChaCha20Rng::seed_from_u64(1));
    let (public, proof) = prove_margin(keys, &account, &good, 1);
    assert_eq!(
        code(&chain.verify_margin(&public, good.report.digest(), &proof)),
        Some("oracle_stale_report")
    );
    assert_eq!(
        code(&chain.verify_margin(&public, [7; 32], &proof)),
        Some("unknown_report")
    );
}

#[test]
fn the_sql_ledgers_safety_list_holds_on_chain() {
    let keys = dev_keys();
    let mut chain = Chain::deploy(T0 + 10);
    let report = report_at(keys, T0, 1, 1, 2);
    let (out, id) = chain.post(&report);
    assert!(out.is_success());
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    // No way for the contract to receive ether: nothing payable, no receive/fallback.
    let abi = Artifact::load(&artifacts_dir(), "ZkMarginSettlement")
        .unwrap()
        .abi;
    for item in abi.as_array().unwrap() {
        assert_ne!(item["stateMutability"], "payable", "{item}");
        assert!(
            item["type"] != "receive" && item["type"] != "fallback",
            "{item}"
        );
    }

    // Unauthorised operator calls.
    let a = Fixture::account(1, Status::Breaches, &mut rng);
    let c = Word::from(&Commitment::of(&a).0);
    for data in [
        settlement::register_account(1, &c),
        settlement::replace_commitment(1, &c, &Word::from_u64(5)),
        settlement::fund_deposit(100),
    ] {
        assert_eq!(
            code(&chain.send(LIQUIDATOR_A, &data)),
            Some("operator_key_rejected")
        );
    }
    assert!(chain.register(1, &a).is_success());
    assert_eq!(code(&chain.register(1, &a)), Some("account_exists"));
    assert_eq!(
        code(&chain.send(OPERATOR, &settlement::fund_deposit(0))),
        Some("zero_deposit")
    );

    // Replay, also with a re-randomized proof.
    let liq = prove_liquidation(&a, 7, &report, 12);
    let again = rerandomize(&liq, 13);
    assert_ne!(proof_words(&liq.proof), proof_words(&again.proof));
    assert!(chain.liquidate(LIQUIDATOR_A, &liq, id).is_success());
    let replayed = chain.liquidate(LIQUIDATOR_A, &liq, id);
    assert_eq!(code(&replayed), Some("replay"));
    // The replay key is the SQL ledger's: `LiquidationPublic::digest`.
    assert_eq!(replayed.output[4..36], liq.public.digest());
    assert_eq!(
        code(&chain.liquidate(LIQUIDATOR_B, &again, id)),
        Some("replay")
    );

    // Stale commitment: the operator moved the account first.
    let b = Fixture::account(2, Status::Breaches, &mut rng);
    assert!(chain.register(2, &b).is_success());
    let liq_b = prove_liquidation(&b, 7, &report, 14);
    let mut traded = b.clone();
    traded.nonce += 1;
    traded.quote += 5_000 * USD;
    let moved = settlement::replace_commitment(
        2,
        &Word::from(&Commitment::of(&b).0),
        &Word::from(&Commitment::of(&traded).0),
    );
    assert!(chain.send(OPERATOR, &moved).is_success());
    assert_eq!(
        code(&chain.send(OPERATOR, &moved)),
        Some("stale_commitment")
    );
    assert_eq!(
        code(&chain.liquidate(LIQUIDATOR_A, &liq_b, id)),
        Some("stale_commitment")
    );
    // An account never registered.
    let never = prove_liquidation(
        &Fixture::account(3, Status::Breaches, &mut rng),
        7,
        &report,
        15,
    );
    assert_eq!(
        code(&chain.liquidate(LIQUIDATOR_A, &never, id)),
        Some("stale_commitment")
    );

    // Two liquidators in one block: exactly one applies.
    let block = chain.evm.block_number();
    let d = Fixture::account(4, Status::Breaches, &mut rng);
    assert!(chain.register(4, &d).is_success());
    let first = prove_liquidation(&d, 1001, &report, 16);
    let second = prove_liquidation(&d, 2001, &report, 17);
    let outs = [
        chain.liquidate(LIQUIDATOR_A, &first, id),
        chain.liquidate(LIQUIDATOR_B, &second, id),
    ];
    assert_eq!(chain.evm.block_number(), block);
    assert!(outs[0].is_success());
    assert_eq!(code(&outs[1]), Some("stale_commitment"));
    assert!(chain.is_current(&first.public.new_commitment));
    assert!(!chain.is_current(&second.public.new_commitment));

    // Any input of the statement ≥ r (its value + r) reverts, and the per-proof
    // words changed to a value the proof is not of too.
    let e = Fixture::account(5, Status::Breaches, &mut rng);
    assert!(chain.register(5, &e).is_success());
    let liq_e = prove_liquidation(&e, 7, &report, 18);
    let words = liq_e.words();
    let r = fr_modulus();
    for i in 0..4 {
        let mut w = words.clone();
        w[i] = w[i].overflowing_add(&r).0;
        let data = settlement::liquidate_words(&w, id, &proof_words(&liq_e.proof));
        let out = chain.send(LIQUIDATOR_A, &data);
        assert!(!out.is_success(), "input {i} + r was accepted");
        // Index 0 + r is no current commitment; the others reach the verifier.
        let expected = if i == 0 {
            "stale_commitment"
        } else {
            "public_input_not_in_field"
        };
        assert_eq!(code(&out), Some(expected), "input {i}");
    }
    // Price inputs ≥ r (or any other value) are not the report's (the parameter
    // inputs are not sent: they are the contract's).
    for i in [4, 11, 19] {
        let mut w = words.clone();
        w[i] = w[i].overflowing_add(&r).0;
        let data = settlement::liquidate_words(&w, id, &proof_words(&liq_e.proof));
        assert_eq!(
            code(&chain.send(LIQUIDATOR_A, &data)),
            Some("statement_mismatch")
        );
    }
    // A margin input ≥ r.
    let (public, proof) = prove_margin(keys, &e, &report, 19);
    let mut data = settlement::verify_margin(&public, id, &proof_words(&proof));
    let tau = Word::from_u64(u64::from(public.tau_ppm))
        .overflowing_add(&r)
        .0;
    data[4 + 64..4 + 96].copy_from_slice(&tau.0);
    assert_eq!(
        code(&chain.send(LIQUIDATOR_A, &data)),
        Some("public_input_not_in_field")
    );
    // And the untouched transition still applies.
    assert!(chain.liquidate(LIQUIDATOR_A, &liq_e, id).is_success());

    // A liquidation at a report older than the account's last one: stale_report.
    // The older report is a crash (half prices), at which the account's state after
    // its liquidation at the newer report breaches again.
    let crash = report_at(keys, T0 + 1, 1, 2, 2);
    let (out, crash_id) = chain.post(&crash);
    assert!(out.is_success(), "{:?}", code(&out));
    chain.evm.next_block(T0 + 60);
    let newer = report_at(keys, T0 + 50, 1, 1, 2);
    let (out, newer_id) = chain.post(&newer);
    assert!(out.is_success());
    let f = Fixture::account(6, Status::Breaches, &mut rng);
    assert!(chain.register(6, &f).is_success());
    let at_newer = prove_liquidation(&f, 7, &newer, 20);
    assert!(chain
        .liquidate(LIQUIDATOR_A, &at_newer, newer_id)
        .is_success());
    let (planned, after) = liq_keys()
        .planner
        .plan_liquidation(&f, 7, &newer, &mut ChaCha20Rng::seed_from_u64(20))
        .unwrap();
    assert_eq!(
        planned, at_newer.public,
        "the planner is deterministic per seed"
    );
    let older = prove_liquidation(&after, 7, &crash, 21);
    assert_eq!(
        code(&chain.liquidate(LIQUIDATOR_A, &older, crash_id)),
        Some("stale_report")
    );
}

fn gas_row(name: &str, out: &CallOutcome) {
    println!(
        "{name:<58} {:>9} {:>9} {:>9}",
        out.gas.transaction, out.gas.calldata, out.gas.execution
    );
}

#[test]
fn end_to_end_healthy_breach_liquidation_and_deficit_with_gas() {
    let keys = dev_keys();
    let share = u64::from(keys.params.liquidation.insurance_share_ppm);
    let mut rng = ChaCha20Rng::seed_from_u64(31);
    let mut chain = Chain::deploy(T0 + 2);
    println!(
        "{:<58} {:>9} {:>9} {:>9}",
        "transaction", "gas", "calldata", "execution"
    );

    // Tick 1: a healthy account, proven healthy on-chain.
    let tick1 = report_at(keys, T0, 1, 1, 2);
    let (post1, id1) = chain.post(&tick1);
    assert!(post1.is_success(), "{:?}", code(&post1));
    gas_row(
        "postReport (2-of-3 quorum, 5 feeds, 2 folds x 16 prices)",
        &post1,
    );
    let account = Fixture::account(1, Status::Meets, &mut rng);
    assert!(chain.register(1, &account).is_success());
    let deposit = chain.send(OPERATOR, &settlement::fund_deposit(1_000 * USD as u64));
    assert!(deposit.is_success());
    let (healthy, proof) = prove_margin(keys, &account, &tick1, 32);
    assert_eq!(healthy.status, Status::Meets);
    let out = chain.verify_margin(&healthy, id1, &proof);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("verifyMargin (meets)", &out);
    assert!(
        out.gas.transaction <= 230_000,
        "verifyMargin: {}",
        out.gas.transaction
    );
    // The same proof does not prove a breach.
    let claimed = MarginPublic {
        status: Status::Breaches,
        ..healthy
    };
    assert_eq!(
        code(&chain.verify_margin(&claimed, id1, &proof)),
        Some("proof_invalid")
    );
    // Nor can it be liquidated at tick 1: it meets its margin, no legal action.
    assert!(liq_keys()
        .planner
        .plan_liquidation(&account, 7, &tick1, &mut rng)
        .is_err());

    // Tick 2: prices fall 10 %; the breach is proven and verified on-chain.
    chain.evm.next_block(T0 + 62);
    let tick2 = report_at(keys, T0 + 60, 9, 10, 2);
    let (post2, id2) = chain.post(&tick2);
    assert!(post2.is_success(), "{:?}", code(&post2));
    let (breach, proof) = prove_margin(keys, &account, &tick2, 33);
    assert_eq!(breach.status, Status::Breaches);
    let out = chain.verify_margin(&breach, id2, &proof);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("verifyMargin (breaches)", &out);
    assert!(
        out.gas.transaction <= 230_000,
        "verifyMargin: {}",
        out.gas.transaction
    );

    // The liquidation applies on-chain; liquidator and fund are credited.
    let liq = prove_liquidation(&account, 7, &tick2, 34);
    let terms = liq.public.terms;
    assert_eq!(liq.public.deficit, 0);
    let fund_before = chain.fund();
    let out = chain.liquidate(LIQUIDATOR_A, &liq, id2);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("liquidate (first credit of this liquidator)", &out);
    // The contract's split is apply.rs's (the terms the verifier rebuilds).
    assert_eq!(
        terms.insurance_fee,
        (u128::from(terms.penalty) * u128::from(share) / 1_000_000) as u64
    );
    assert_eq!(chain.credit(7), terms.liquidator_fee);
    assert_eq!(chain.fund(), fund_before + terms.insurance_fee);
    assert!(terms.liquidator_fee > 0 && terms.insurance_fee > 0);
    assert!(!chain.is_current(&liq.public.old_commitment));
    assert!(chain.is_current(&liq.public.new_commitment));
    let first_liquidation_gas = out.gas.transaction;

    // A second liquidation by the same liquidator (its credit slot exists).
    let other = Fixture::account(2, Status::Breaches, &mut rng);
    assert!(chain.register(2, &other).is_success());
    let liq2 = prove_liquidation(&other, 7, &tick2, 35);
    let out = chain.liquidate(LIQUIDATOR_B, &liq2, id2);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("liquidate (liquidator already credited)", &out);
    assert!(
        out.gas.transaction <= 320_000,
        "liquidate: {}",
        out.gas.transaction
    );
    assert_eq!(
        chain.credit(7),
        terms.liquidator_fee + liq2.public.terms.liquidator_fee
    );

    // Deficit: an underwater account; the fund pays what it has, the rest is socialized.
    let mut underwater = Account::empty(3, &mut rng);
    underwater.positions[0] = 100_000_000; // 1 BTC, now 54,000 USD
    underwater.quote = -61_000 * USD;
    assert!(chain.register(3, &underwater).is_success());
    let liq3 = prove_liquidation(&underwater, 9, &tick2, 36);
    let deficit = liq3.public.deficit;
    let fund_before = chain.fund();
    let fund_after_fee = fund_before + liq3.public.terms.insurance_fee;
    assert!(
        deficit > fund_after_fee,
        "the case needs a deficit beyond the fund"
    );
    let out = chain.liquidate(LIQUIDATOR_A, &liq3, id2);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("liquidate (deficit: fund emptied, rest socialized)", &out);
    assert_eq!(chain.fund(), 0);
    assert_eq!(chain.socialized(), deficit - fund_after_fee);
    assert_eq!(chain.credit(9), liq3.public.terms.liquidator_fee);
    // Events: LiquidationApplied, LiquidatorCredited, InsuranceFee, DeficitCovered,
    // LossSocialized — one per movement, as the SQL ledger logs them.
    assert_eq!(out.logs, 5);

    // The comparison: a snarkjs/gnark-style verifier, every input per proof.
    let mut evm = Evm::new();
    let margin = evm
        .deploy_artifact(
            &Artifact::load(&artifacts_dir(), "MarginVerifier").unwrap(),
            &[],
        )
        .unwrap();
    let calls = VerifierCalls::new(zkmargin_evm::margin_split());
    let data = calls
        .verify_proof(
            &proof_words(&proof),
            &input_words(&breach.to_field_elements()),
        )
        .unwrap();
    let out = evm.call(margin, &data).unwrap();
    assert!(out.is_success());
    gas_row("MarginVerifier.verifyProof (all 43 inputs per proof)", &out);
    let liquidation = evm
        .deploy_artifact(
            &Artifact::load(&artifacts_dir(), "LiquidationVerifier").unwrap(),
            &[],
        )
        .unwrap();
    let calls = VerifierCalls::new(liquidation_split());
    let data = calls
        .verify_proof(&proof_words(&liq2.proof), &liq2.words())
        .unwrap();
    let out = evm.call(liquidation, &data).unwrap();
    assert!(out.is_success());
    gas_row(
        "LiquidationVerifier.verifyProof (all 49 inputs per proof)",
        &out,
    );
    println!("first liquidation of a liquidator: {first_liquidation_gas}");
}
