//! `ZkMarginSettlement` (the committed artifact) in revm, BN254 precompiles on
//! substrate-bn, with real proofs against the development keys: the liquidation
//! verifier against arkworks, the SQL ledger's safety list on-chain, the end-to-end
//! flow, and the transaction gas of `postReport`, `verifyMargin` and `liquidate`.
//! Gas figures: `cargo test --release -p zkmargin-evm --test settlement -- --nocapture`.

mod common;

use std::sync::OnceLock;

use ark_bn254::Bn254;
use ark_bn254::Fr;
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_serialize::CanonicalDeserialize;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, LiquidationPrivate},
    Account, Commitment, LiquidationAction, LiquidationPublic, LiquidationTerms, MarginPublic,
    Side, Status, LIQUIDATION_CIRCUIT_ID,
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
use zkmargin_verifier::{
    bundle::{LiquidationStatement, MarginStatement, ProofBundle, Statement, BUNDLE_VERSION},
    keys::Manifest,
    testkit::{self, Fixture},
};

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

/// A proven liquidation against the development key, of account `account`.
#[derive(Clone)]
struct Liq {
    account: u64,
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
    Liq {
        account: old.id,
        public,
        proof,
    }
}

fn rerandomize(liq: &Liq, seed: u64) -> Liq {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    Liq {
        account: liq.account,
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
        assert_eq!(id, account.id, "the contract keys accounts by their own id");
        let c = Word::from(&Commitment::of(account).0);
        self.send(OPERATOR, &settlement::register_account(id, &c))
    }

    /// Registers liquidator `id` by the operator, credits owed to `payout`.
    fn register_liquidator(&mut self, id: u64, payout: Address) -> CallOutcome {
        let data = settlement::register_liquidator(id, &payout.into_array());
        self.send(OPERATOR, &data)
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
        let data =
            settlement::liquidate(liq.account, &liq.public, report, &proof_words(&liq.proof));
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

    fn is_current(&mut self, account: u64, c: &Commitment) -> bool {
        let data = settlement::call(
            "isCurrent(uint64,uint256)",
            &[
                settlement::Token::Word(Word::from_u64(account)),
                settlement::Token::Word(Word::from(&c.0)),
            ],
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
    // A feed id with a character the oracle crate refuses (space, control, non-ASCII),
    // even signed by a quorum, is not a valid report.
    for bad in [" ", "\u{7f}", "é", "\u{0}", "\u{1}", "\t"] {
        let mut report = Fixture::price_report(T0);
        report.feeds[0].feed_id.push_str(bad);
        assert!(report.validate().is_err(), "{bad:?}");
        let signed = SignedReport::sign(report, &keys.signers[..2]);
        assert_eq!(
            code(&chain.post(&signed).0),
            Some("oracle_invalid_report"),
            "{bad:?}"
        );
    }
    // The bounds of the range, 0x21 and 0x7e, and a 32-byte id are valid (a feed no
    // slot uses: its price is ignored).
    let mut edge = Fixture::price_report(T0 + 3);
    let mut feed = edge.feeds.last().unwrap().clone();
    feed.feed_id = format!("~!{}", "~".repeat(30));
    edge.feeds.push(feed);
    assert!(edge.validate().is_ok());
    let (out, _) = chain.post(&SignedReport::sign(edge, &keys.signers[..2]));
    assert!(out.is_success(), "{:?}", code(&out));
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
        // Liquidator ids are the venue's: nobody registers one, not even for itself.
        settlement::register_liquidator(7, &LIQUIDATOR_B.into_array()),
        settlement::register_liquidator(7, &LIQUIDATOR_A.into_array()),
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

    // Liquidators register once: a liquidation naming an unregistered one reverts
    // before the proof is checked.
    let liq = prove_liquidation(&a, 7, &report, 12);
    assert_eq!(
        code(&chain.liquidate(LIQUIDATOR_A, &liq, id)),
        Some("unknown_liquidator")
    );
    // By the operator, once per id; never to 0.
    assert!(chain.register_liquidator(7, LIQUIDATOR_A).is_success());
    assert_eq!(
        code(&chain.register_liquidator(7, LIQUIDATOR_B)),
        Some("liquidator_exists")
    );
    assert_eq!(
        code(&chain.register_liquidator(8, Address::ZERO)),
        Some("invalid_argument")
    );
    for id in [1001, 2001] {
        assert!(chain.register_liquidator(id, LIQUIDATOR_B).is_success());
    }

    // Replay, also with a re-randomized proof.
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
        Some("unknown_account")
    );
    // A registered account named for another account's statement: its commitment is
    // not the statement's.
    let misnamed = Liq {
        account: 1,
        ..liq_b.clone()
    };
    assert_eq!(
        code(&chain.liquidate(LIQUIDATOR_A, &misnamed, id)),
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
    assert!(chain.is_current(4, &first.public.new_commitment));
    assert!(!chain.is_current(4, &second.public.new_commitment));

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
        let data = settlement::liquidate_words(5, &w, id, &proof_words(&liq_e.proof));
        let out = chain.send(LIQUIDATOR_A, &data);
        assert!(!out.is_success(), "input {i} + r was accepted");
        // Index 0 + r is no current commitment; index 2 + r names another liquidator
        // id (bits 69.. of the word), which no one registered; the others reach the
        // verifier.
        let expected = match i {
            0 => "stale_commitment",
            2 => "unknown_liquidator",
            _ => "public_input_not_in_field",
        };
        assert_eq!(code(&out), Some(expected), "input {i}");
    }
    // Price inputs ≥ r (or any other value) are not the report's (the parameter
    // inputs are not sent: they are the contract's).
    for i in [4, 11, 19] {
        let mut w = words.clone();
        w[i] = w[i].overflowing_add(&r).0;
        let data = settlement::liquidate_words(5, &w, id, &proof_words(&liq_e.proof));
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

/// The bound on `liquidate`, transaction gas including its storage writes, in
/// every case.
const LIQUIDATE_GAS: u64 = 320_000;

fn assert_liquidate_gas(case: &str, out: &CallOutcome) {
    assert!(
        out.gas.transaction <= LIQUIDATE_GAS,
        "liquidate ({case}): {} > {LIQUIDATE_GAS}",
        out.gas.transaction
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

    // Liquidators are registered once, by the operator: the slot that will hold
    // their credit is written now, not by their first liquidation.
    let register = chain.register_liquidator(7, LIQUIDATOR_A);
    assert!(register.is_success(), "{:?}", code(&register));
    gas_row("registerLiquidator (once per liquidator)", &register);
    assert!(chain.register_liquidator(9, LIQUIDATOR_B).is_success());

    // The liquidation applies on-chain; liquidator and fund are credited.
    let liq = prove_liquidation(&account, 7, &tick2, 34);
    let terms = liq.public.terms;
    assert_eq!(liq.public.deficit, 0);
    let fund_before = chain.fund();
    let out = chain.liquidate(LIQUIDATOR_A, &liq, id2);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("liquidate (first credit of a registered liquidator)", &out);
    assert_liquidate_gas("first credit", &out);
    // The contract's split is apply.rs's (the terms the verifier rebuilds).
    assert_eq!(
        terms.insurance_fee,
        (u128::from(terms.penalty) * u128::from(share) / 1_000_000) as u64
    );
    assert_eq!(chain.credit(7), terms.liquidator_fee);
    assert_eq!(chain.fund(), fund_before + terms.insurance_fee);
    assert!(terms.liquidator_fee > 0 && terms.insurance_fee > 0);
    assert!(!chain.is_current(1, &liq.public.old_commitment));
    assert!(chain.is_current(1, &liq.public.new_commitment));
    let first_liquidation_gas = out.gas.transaction;

    // A second liquidation by the same liquidator (its credit slot exists).
    let other = Fixture::account(2, Status::Breaches, &mut rng);
    assert!(chain.register(2, &other).is_success());
    let liq2 = prove_liquidation(&other, 7, &tick2, 35);
    let out = chain.liquidate(LIQUIDATOR_B, &liq2, id2);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("liquidate (liquidator already credited)", &out);
    assert_liquidate_gas("liquidator already credited", &out);
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
    gas_row(
        "liquidate (deficit: fund emptied, rest socialized, 1st credit)",
        &out,
    );
    assert_liquidate_gas("deficit beyond the fund", &out);
    assert_eq!(chain.fund(), 0);
    assert_eq!(chain.socialized(), deficit - fund_after_fee);
    assert_eq!(chain.credit(9), liq3.public.terms.liquidator_fee);
    // Events: LiquidationApplied, LiquidatorCredited, InsuranceFee, DeficitCovered,
    // LossSocialized — one per movement, as the SQL ledger logs them.
    assert_eq!(out.logs, 5);

    // A second deficit, with socialized losses already recorded (their slot, shared
    // with the fund's balance, is rewritten in place).
    let mut deeper = Account::empty(4, &mut rng);
    deeper.positions[0] = 100_000_000;
    deeper.quote = -62_000 * USD;
    assert!(chain.register(4, &deeper).is_success());
    let liq4 = prove_liquidation(&deeper, 9, &tick2, 37);
    let socialized_before = chain.socialized();
    let out = chain.liquidate(LIQUIDATOR_A, &liq4, id2);
    assert!(out.is_success(), "{:?}", code(&out));
    gas_row("liquidate (deficit, losses already socialized)", &out);
    assert_liquidate_gas("second deficit", &out);
    assert_eq!(
        chain.socialized(),
        socialized_before + liq4.public.deficit - liq4.public.terms.insurance_fee
    );

    // Credits have an owner: only liquidator 9's payout address hands it over, and
    // the credit goes with it.
    let credit9 = chain.credit(9);
    let transfer = settlement::transfer_liquidator(9, &LIQUIDATOR_A.into_array());
    assert_eq!(
        code(&chain.send(LIQUIDATOR_A, &transfer)),
        Some("liquidator_key_rejected")
    );
    assert!(chain.send(LIQUIDATOR_B, &transfer).is_success());
    assert_eq!(chain.credit(9), credit9);

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

/// The constructor refuses an unusable configuration with custom errors (no
/// `require` strings), each mapped to its code.
#[test]
fn the_constructor_refuses_bad_configurations_with_custom_errors() {
    let keys = dev_keys();
    let good = SettlementConfig {
        operator: OPERATOR.into_array(),
        margin_key_fingerprint: keys.fingerprint.clone(),
        liquidation_key_fingerprint: liq_keys().fingerprint.clone(),
        oracle: keys.oracle.clone(),
        params: keys.params.clone(),
    };
    let artifact = Artifact::load(&artifacts_dir(), "ZkMarginSettlement").unwrap();
    let deploy = |config: &SettlementConfig| -> Option<&'static str> {
        let mut evm = Evm::new();
        match evm.deploy_artifact(&artifact, &config.constructor_args().unwrap()) {
            Ok(_) => None,
            Err(zkmargin_evm::harness::HarnessError::Deploy { output, .. }) => {
                Some(revert_code(&hex::decode(output).unwrap()).unwrap_or("unknown revert"))
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(deploy(&good), None);
    let mut cases: Vec<(SettlementConfig, &str)> = Vec::new();
    for quorum in [0, good.oracle.signers.len() as u32 + 1] {
        let mut c = good.clone();
        c.oracle.quorum = quorum;
        cases.push((c, "oracle_invalid_config"));
    }
    let mut c = good.clone();
    c.oracle.max_age_secs = 0;
    cases.push((c, "oracle_invalid_config"));
    let mut c = good.clone();
    c.oracle.signers.push(c.oracle.signers[0]);
    cases.push((c, "oracle_invalid_config"));
    let mut c = good.clone();
    c.params.liquidation.insurance_share_ppm = 1_000_001;
    cases.push((c, "invalid_argument"));
    let mut c = good.clone();
    c.margin_key_fingerprint = c.liquidation_key_fingerprint.clone();
    cases.push((c, "untrusted_verifier"));
    for (config, expected) in &cases {
        assert_eq!(deploy(config), Some(*expected));
    }
    // No `require` message is left in the contract: every revert is a custom error.
    let source = std::fs::read_to_string(
        zkmargin_evm::artifact::contracts_dir().join("ZkMarginSettlement.sol"),
    )
    .unwrap();
    assert!(!source.contains("require("), "a require string is left");
}

/// Every custom error of the contract's ABI has a code in `SETTLEMENT_ERRORS`, and
/// every entry there is an error of the ABI.
#[test]
fn every_contract_error_has_a_code() {
    let abi = Artifact::load(&artifacts_dir(), "ZkMarginSettlement")
        .unwrap()
        .abi;
    let mut in_abi = std::collections::BTreeSet::new();
    for item in abi.as_array().unwrap() {
        if item["type"] == "error" {
            let inputs: Vec<&str> = item["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["type"].as_str().unwrap())
                .collect();
            in_abi.insert(format!(
                "{}({})",
                item["name"].as_str().unwrap(),
                inputs.join(",")
            ));
        }
    }
    let listed: std::collections::BTreeSet<String> = settlement::SETTLEMENT_ERRORS
        .iter()
        .map(|(sig, _)| sig.to_string())
        .collect();
    assert_eq!(in_abi, listed);
}

// ------------------------------------------------------------------ bundle differential

/// The verifier the contract is compared with: `zkmargin_verifier` over the
/// repository's keys (both circuits: the keys the contract inlines), the development
/// committee and parameters, its clock the chain's.
fn reference_verifier(now: u64) -> zkmargin_verifier::Verifier {
    let keys = dev_keys();
    zkmargin_verifier::Verifier::from_keys_dir(
        repo_keys(),
        keys.oracle.clone(),
        vec![keys.params.clone()],
    )
    .expect("verifier of the repository's keys")
    .with_clock(std::sync::Arc::new(zkmargin_verifier::FixedClock(now)))
}

/// `liq` as the transition bundle a prover publishes.
fn liquidation_bundle(liq: &Liq, report: &SignedReport) -> ProofBundle {
    let p = &liq.public;
    ProofBundle {
        version: BUNDLE_VERSION,
        key_fingerprint: liq_keys().fingerprint.clone(),
        statement: Statement::Liquidation(Box::new(LiquidationStatement {
            old_commitment: p.old_commitment,
            new_commitment: p.new_commitment,
            liquidator: p.liquidator,
            action: p.action,
            deficit: p.deficit,
            terms: p.terms,
            risk_params_digest: dev_keys().params.digest(),
        })),
        report: report.clone(),
        proof: testkit::proof_to_hex(&liq.proof),
    }
}

/// The single-field mutants of a bundle, by kind: every field of the bundle, of its
/// statement and of its report, one at a time. `other` is another bundle of the same
/// kind (its proof); `later` a fresh report with the same prices.
fn mutants(
    bundle: &ProofBundle,
    other: &ProofBundle,
    later: &SignedReport,
    rng: &mut ChaCha20Rng,
) -> Vec<(&'static str, ProofBundle)> {
    let keys = dev_keys();
    let params = &keys.params;
    let mut out: Vec<(&'static str, ProofBundle)> = Vec::new();
    let mut with = |kind: &'static str, f: &dyn Fn(&mut ProofBundle)| {
        let mut b = bundle.clone();
        f(&mut b);
        out.push((kind, b));
    };
    // The bundle's own fields.
    with("version + 1", &|b| b.version += 1);
    with("key fingerprint of the other circuit", &|b| {
        b.key_fingerprint = if b.key_fingerprint == keys.fingerprint {
            liq_keys().fingerprint.clone()
        } else {
            keys.fingerprint.clone()
        }
    });
    with("proof tampered (C + G)", &|b| *b = testkit::tamper_proof(b));
    with("proof of another statement", &|b| {
        b.proof = other.proof.clone()
    });
    with("proof not on the curve", &|b| {
        *b = testkit::proof_not_on_curve(b)
    });
    with("proof B outside the subgroup", &|b| {
        *b = testkit::proof_b_outside_subgroup(b)
    });
    with("proof (-A, -B): valid", &|b| {
        let p = testkit::proof_of(b);
        *b = common::with_proof(
            b,
            &Proof {
                a: -p.a,
                b: -p.b,
                c: p.c,
            },
        );
    });
    let vk = match bundle.statement {
        Statement::Margin(_) => keys.vk().clone(),
        Statement::Liquidation(_) => liq_keys().pk.vk.clone(),
    };
    let rerandomized = Groth16::<Bn254>::rerandomize_proof(&vk, &testkit::proof_of(bundle), rng);
    with("proof re-randomized: valid", &|b| {
        *b = common::with_proof(b, &rerandomized)
    });
    // The report.
    with("report price + 1 (signatures over the original)", &|b| {
        b.report.report.feeds[0].price += 1
    });
    with("report observed 1 s later (unsigned)", &|b| {
        b.report.report.observed_at += 1
    });
    with("report below quorum", &|b| {
        b.report.signatures.truncate(1);
    });
    with("report signer twice", &|b| {
        b.report.signatures[1] = b.report.signatures[0].clone()
    });
    with("report signature of another report", &|b| {
        b.report.signatures[1] = later.signatures[1].clone()
    });
    with("a later report, same prices: valid", &|b| {
        b.report = later.clone()
    });
    with("report expired (observed 400 s earlier)", &|b| {
        b.report = report_at(keys, b.report.report.observed_at - 400, 1, 1, 2)
    });
    // The statement.
    match &bundle.statement {
        Statement::Margin(_) => {
            let margin = |f: fn(&mut MarginStatement)| {
                move |b: &mut ProofBundle| {
                    if let Statement::Margin(s) = &mut b.statement {
                        f(s)
                    }
                }
            };
            with(
                "commitment + 1",
                &margin(|s| s.commitment = Commitment(s.commitment.0 + Fr::from(1u64))),
            );
            with(
                "status flipped",
                &margin(|s| {
                    s.status = match s.status {
                        Status::Meets => Status::Breaches,
                        Status::Breaches => Status::Meets,
                    }
                }),
            );
            with("tau + 1 ppm", &margin(|s| s.tau_ppm += 1));
            with("tau - 1 ppm", &margin(|s| s.tau_ppm -= 1));
            with(
                "risk parameters digest changed",
                &margin(|s| s.risk_params_digest[0] ^= 1),
            );
        }
        Statement::Liquidation(_) => {
            let liq = |f: &dyn Fn(&mut LiquidationStatement)| {
                let mut b = bundle.clone();
                f(testkit::liquidation_statement_mut(&mut b));
                b
            };
            // With the terms recomputed for the changed action, so the change reaches
            // the proof (else the terms check refuses it first).
            let recomputed = |f: &dyn Fn(&mut LiquidationStatement)| {
                liq(&|s| {
                    f(s);
                    let prices = zkmargin_circuits::Prices::from_feeds(params, |f| {
                        bundle.report.report.price(f)
                    })
                    .unwrap();
                    if let Ok(t) = LiquidationTerms::of(&s.action, &prices, params) {
                        s.terms = t;
                    }
                })
            };
            let one = Fr::from(1u64);
            out.push(("old commitment + 1", liq(&|s| s.old_commitment.0 += one)));
            out.push(("new commitment + 1", liq(&|s| s.new_commitment.0 += one)));
            out.push((
                "new commitment = old",
                liq(&|s| s.new_commitment = s.old_commitment),
            ));
            out.push(("liquidator + 1 (registered)", liq(&|s| s.liquidator += 1)));
            out.push(("liquidator = 0 (unregistered)", liq(&|s| s.liquidator = 0)));
            out.push(("deficit + 1", liq(&|s| s.deficit += 1)));
            out.push((
                "deficit - 1 (wrapping)",
                liq(&|s| s.deficit = s.deficit.wrapping_sub(1)),
            ));
            let amount = |d: i64| {
                move |s: &mut LiquidationStatement| {
                    s.action = s
                        .action
                        .with_amount(s.action.amount().saturating_add_signed(d))
                }
            };
            out.push(("action amount + 1", liq(&amount(1))));
            out.push((
                "action amount + 1, terms recomputed",
                recomputed(&amount(1)),
            ));
            out.push((
                "action amount - 1, terms recomputed",
                recomputed(&amount(-1)),
            ));
            let other_slot = |s: &mut LiquidationStatement| {
                s.action = match s.action {
                    LiquidationAction::Close {
                        market,
                        side,
                        amount,
                    } => LiquidationAction::Close {
                        market: market + 1,
                        side,
                        amount,
                    },
                    LiquidationAction::Seize { token, amount } => LiquidationAction::Seize {
                        token: token + 1,
                        amount,
                    },
                    LiquidationAction::Repay { token, amount } => LiquidationAction::Repay {
                        token: token + 1,
                        amount,
                    },
                }
            };
            out.push(("action slot + 1", liq(&other_slot)));
            out.push(("action slot + 1, terms recomputed", recomputed(&other_slot)));
            let other_kind = |s: &mut LiquidationStatement| {
                s.action = match s.action {
                    LiquidationAction::Close {
                        market,
                        side,
                        amount,
                    } => LiquidationAction::Close {
                        market,
                        side: match side {
                            Side::Long => Side::Short,
                            Side::Short => Side::Long,
                        },
                        amount,
                    },
                    LiquidationAction::Seize { token, amount } => {
                        LiquidationAction::Repay { token, amount }
                    }
                    LiquidationAction::Repay { token, amount } => {
                        LiquidationAction::Seize { token, amount }
                    }
                }
            };
            out.push(("action direction flipped", liq(&other_kind)));
            out.push((
                "action direction flipped, terms recomputed",
                recomputed(&other_kind),
            ));
            // Terms: V and P are in the money word; the fee split and the quote delta
            // are not in the calldata (the contract recomputes the split).
            out.push((
                "terms: execution value + 1",
                liq(&|s| s.terms.execution_value += 1),
            ));
            out.push(("terms: penalty + 1", liq(&|s| s.terms.penalty += 1)));
            out.push(("terms: quote delta + 1", liq(&|s| s.terms.quote_delta += 1)));
            out.push((
                "terms: insurance fee + 1, liquidator fee - 1",
                liq(&|s| {
                    s.terms.insurance_fee += 1;
                    s.terms.liquidator_fee = s.terms.liquidator_fee.wrapping_sub(1);
                }),
            ));
            out.push((
                "terms: liquidator fee + 1",
                liq(&|s| s.terms.liquidator_fee += 1),
            ));
            out.push((
                "risk parameters digest changed",
                liq(&|s| s.risk_params_digest[0] ^= 1),
            ));
        }
    }
    out
}

/// What the settlement contract made of one bundle: refused by the calldata encoder
/// (never submitted), reverted (with its code) or applied.
#[derive(Debug, PartialEq, Eq)]
enum OnChain {
    Refused,
    Reverted(&'static str),
    Applied,
}

/// Posts the bundle's report (already posted is fine) and runs its call.
fn submit(chain: &mut Chain, bundle: &ProofBundle, account: Option<u64>) -> (OnChain, Vec<u8>) {
    let Ok(calls) = settlement::bundle_calldata(bundle, &dev_keys().params, account) else {
        return (OnChain::Refused, Vec::new());
    };
    let post = chain.send(LIQUIDATOR_A, &calls.post_report);
    match code(&post) {
        None | Some("report_posted") => {}
        Some(c) => return (OnChain::Reverted(c), calls.call),
    }
    let out = chain.send(LIQUIDATOR_B, &calls.call);
    let verdict = match code(&out) {
        None => OnChain::Applied,
        Some(c) => OnChain::Reverted(c),
    };
    (verdict, calls.call)
}

/// Every bundle of a corpus like the verifier's own (valid margin bundles of both
/// statuses at several thresholds; valid transitions of each action kind, with and
/// without a deficit) and every single-field mutant of each, judged by
/// `zkmargin_verifier` and by the settlement contract itself (`verifyMargin`,
/// `liquidate` on a chain where the account is current and the liquidators are
/// registered). Same verdict on every case, with one written exception: the key
/// fingerprint is a label the calldata does not carry (the contract verifies against
/// its inlined key), so that mutant encodes to the original's calldata and the
/// contract applies exactly the original's verified terms (docs/ONCHAIN.md).
#[test]
fn bundle_verdicts_of_the_settlement_contract_equal_zkmargin_verifier() {
    let keys = dev_keys();
    let now = T0 + 10;
    let verifier = reference_verifier(now);
    let report = report_at(keys, T0, 1, 1, 2);
    let later = report_at(keys, T0 + 5, 1, 1, 2);
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let mut tally: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut accepted, mut rejected, mut labels) = (0usize, 0usize, 0usize);

    // Margin bundles, through ZkMarginSettlement.verifyMargin.
    let mut margin = Vec::new();
    for (id, status, tau) in [
        (1, Status::Meets, 1_000_000),
        (2, Status::Breaches, 1_000_000),
        (3, Status::Meets, 1_200_000),
        (4, Status::Breaches, 500_000),
        (5, Status::Breaches, 4_000_000),
        (6, Status::Meets, 999_999),
    ] {
        let account = Fixture::account(id, status, &mut rng);
        margin.push(keys.prove(&account, tau, &report, &mut rng));
    }
    for (n, bundle) in margin.iter().enumerate() {
        let other = &margin[(n + 1) % margin.len()];
        let mut cases = vec![("valid margin bundle", bundle.clone())];
        cases.extend(mutants(bundle, other, &later, &mut rng));
        for (kind, case) in cases {
            let rust = verifier.verify(&case).is_ok();
            // A fresh chain: the case's report is judged when it is posted (once per
            // report id; a posted report's signatures are not read again).
            let (got, _) = submit(&mut Chain::deploy(now), &case, None);
            let contract = got == OnChain::Applied;
            if kind.starts_with("key fingerprint") {
                assert!(!rust, "{kind}");
                labels += 1;
            } else {
                assert_eq!(contract, rust, "margin, {kind}: contract {got:?}");
            }
            *tally.entry(format!("margin: {kind}")).or_default() += 1;
            if rust {
                accepted += 1
            } else {
                rejected += 1
            }
        }
    }

    // Transition bundles, through ZkMarginSettlement.liquidate: a fresh chain per
    // case, on which the account is registered at its old commitment, the fund holds
    // 100 USD, liquidators 7 and 8 are registered.
    let mut states = vec![
        Fixture::account(11, Status::Breaches, &mut rng),
        Fixture::account(12, Status::Breaches, &mut rng),
    ];
    let mut short = Account::empty(13, &mut rng);
    short.positions[0] = -100_000_000;
    short.quote = 63_000 * USD;
    let mut seize = Account::empty(14, &mut rng);
    seize.tokens[0] = 10_000_000_000;
    seize.quote = -28_000 * USD;
    let mut repay = Account::empty(15, &mut rng);
    repay.tokens[0] = -10_000_000_000;
    repay.quote = 31_000 * USD;
    let mut underwater = Account::empty(16, &mut rng);
    underwater.positions[0] = 100_000_000;
    underwater.quote = -61_000 * USD;
    states.extend([short, seize, repay, underwater]);
    let mut liqs = Vec::new();
    for (n, old) in states.iter().enumerate() {
        let planned = liq_keys()
            .planner
            .plan_liquidation(old, 7, &report, &mut ChaCha20Rng::seed_from_u64(50))
            .is_ok();
        if planned {
            liqs.push(prove_liquidation(old, 7, &report, 50 + n as u64));
        }
    }
    let kinds: std::collections::BTreeSet<&str> = liqs
        .iter()
        .map(|l| match l.public.action {
            LiquidationAction::Close { .. } => "close",
            LiquidationAction::Seize { .. } => "seize",
            LiquidationAction::Repay { .. } => "repay",
        })
        .collect();
    println!("transitions: {} ({kinds:?})", liqs.len());
    assert!(liqs.len() >= 4 && kinds.len() >= 2, "{kinds:?}");
    assert!(liqs.iter().any(|l| l.public.deficit > 0), "a deficit case");
    let fresh = |liq: &Liq, old: &Account| {
        let mut chain = Chain::deploy(now);
        assert!(chain.register(liq.account, old).is_success());
        for id in [7, 8] {
            assert!(chain.register_liquidator(id, LIQUIDATOR_A).is_success());
        }
        let deposit = settlement::fund_deposit(100 * USD as u64);
        assert!(chain.send(OPERATOR, &deposit).is_success());
        chain
    };
    let bundles: Vec<ProofBundle> = liqs
        .iter()
        .map(|l| liquidation_bundle(l, &report))
        .collect();
    for (n, (liq, bundle)) in liqs.iter().zip(&bundles).enumerate() {
        let old = states.iter().find(|a| a.id == liq.account).unwrap();
        let original = verifier
            .verify_liquidation(bundle)
            .expect("the original transition verifies");
        let terms = original.statement().terms;
        let (_, original_call) = submit(&mut fresh(liq, old), bundle, Some(liq.account));
        let other = &bundles[(n + 1) % bundles.len()];
        let mut cases = vec![("valid transition bundle", bundle.clone())];
        cases.extend(mutants(bundle, other, &later, &mut rng));
        for (kind, case) in cases {
            let rust = verifier.verify_liquidation(&case);
            let mut chain = fresh(liq, old);
            let (got, call) = submit(&mut chain, &case, Some(liq.account));
            let contract = got == OnChain::Applied;
            if kind.starts_with("key fingerprint") {
                // The written exception: same calldata, same effects.
                assert!(rust.is_err(), "{kind}");
                assert_eq!(call, original_call, "{kind}");
                labels += 1;
            } else {
                assert_eq!(
                    contract,
                    rust.is_ok(),
                    "transition {n}, {kind}: contract {got:?}, verifier {:?}",
                    rust.as_ref().err()
                );
            }
            if contract {
                // What the contract applied is the verifier's terms of the original.
                let s = chain.socialized();
                let fund_after_fee = 100 * USD as u64 + terms.insurance_fee;
                let paid = liq.public.deficit.min(fund_after_fee);
                assert_eq!(chain.credit(7), terms.liquidator_fee, "{kind}");
                assert_eq!(chain.fund(), fund_after_fee - paid, "{kind}");
                assert_eq!(s, liq.public.deficit - paid, "{kind}");
                assert!(chain.is_current(liq.account, &liq.public.new_commitment));
            }
            *tally.entry(format!("transition: {kind}")).or_default() += 1;
            if rust.is_ok() {
                accepted += 1
            } else {
                rejected += 1
            }
        }
    }

    let total = accepted + rejected;
    println!(
        "bundle-level differential: {total} cases ({accepted} valid, {rejected} refused; {labels} key-fingerprint label cases)"
    );
    for (kind, n) in &tally {
        println!("  {n:4}  {kind}");
    }
    assert!(accepted >= 30, "{accepted} accepted");
    assert!(total >= 250, "{total} cases");
}
