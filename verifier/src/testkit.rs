//! Fixtures for tests and benchmarks (feature `testkit`): fresh margin keys (and, with
//! [`Fixture::with_liquidation`], liquidation keys) from a seed, written as a keys
//! directory the [`Verifier`] loads, accounts that meet or breach, signed development
//! price reports, real Groth16 proofs of both statements, re-randomized proofs, and
//! tampering.
//!
//! It proves with `zkmargin_circuits::r1cs` and `ark_groth16` directly, so the
//! verifier's tests do not depend on the prover crate. Keys made here are
//! development keys (`"development": true` in their manifest): their seed is in the
//! source.

use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use ark_bn254::{Bn254, G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_groth16::{Groth16, Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{
    legal_liquidations,
    r1cs::{LiquidationCircuit, LiquidationPrivate, MarginCircuit, MarginPrivate},
    state_after, Account, Blinding, Commitment, LegalLiquidation, LiquidationError,
    LiquidationPublic, LiquidationRules, MarginPublic, Prices, RiskParams, Status,
    LIQUIDATION_CIRCUIT_ID, LIQUIDATION_NUM_PUBLIC_INPUTS, MARGIN_CIRCUIT_ID,
    MARGIN_NUM_PUBLIC_INPUTS,
};
use zkmargin_oracle::{
    development_committee, OracleConfig, PriceFeed, PriceReport, SignedReport, SignerKey,
    PRICE_EXPONENT, REPORT_VERSION,
};

use crate::{
    bundle::{LiquidationStatement, MarginStatement, ProofBundle, Statement, BUNDLE_VERSION},
    error::SetupError,
    keys::{fingerprint, CircuitKeys, KeyFile, Manifest, MANIFEST_FILE, MANIFEST_VERSION},
    verifier::Verifier,
};

/// Seconds a fixture report stays valid after observation (the development
/// committee accepts reports up to 300 s old).
pub const REPORT_LIFETIME_SECS: u64 = 600;

/// The clock's current unix time, seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Fresh keys in a temporary keys directory, with the development oracle committee and
/// [`RiskParams::development`].
pub struct Fixture {
    policy: Policy,
    dir: tempfile::TempDir,
    pk: ProvingKey<Bn254>,
    fingerprint: String,
    liquidation: Option<CircuitFixture>,
    params: RiskParams,
    signers: Vec<SignerKey>,
    oracle: OracleConfig,
}

/// Which legal liquidation a fixture proves ([`Fixture::with_policy`]).
pub type Policy = fn(&Account, &RiskParams, &Prices) -> Result<LegalLiquidation, LiquidationError>;

/// The default [`Policy`]: the first legal liquidation in slot order (closes, then
/// seizes). The prover's policy ranks the candidates; the verifier crate sits below the
/// prover, so tests that want its choice pass `zkmargin_prover::choose_liquidation`.
pub fn first_legal(
    account: &Account,
    params: &RiskParams,
    prices: &Prices,
) -> Result<LegalLiquidation, LiquidationError> {
    legal_liquidations(account, params, prices)?
        .into_iter()
        .next()
        .unwrap_or(Err(LiquidationError::NotInBreach))
}

/// The proving key and verifying-key fingerprint of one circuit.
struct CircuitFixture {
    pk: ProvingKey<Bn254>,
    fingerprint: String,
}

/// A real liquidation transition: the bundle and the private states on both sides
/// (what the venue knows; the verifier and the ledger see only the bundle).
#[derive(Clone)]
pub struct ProvenLiquidation {
    /// The transition bundle (`zkmargin.liquidation.v2`).
    pub bundle: ProofBundle,
    /// The breaching state inside the old commitment.
    pub old: Account,
    /// The state inside the new commitment.
    pub new: Account,
    /// The proven statement, as the verifier rebuilds it.
    pub public: LiquidationPublic,
}

impl std::fmt::Debug for ProvenLiquidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvenLiquidation")
            .field("old_commitment", &self.public.old_commitment)
            .field("new_commitment", &self.public.new_commitment)
            .field("liquidator", &self.public.liquidator)
            .field("action", &self.public.action)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("keys_dir", &self.dir.path())
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Fixture {
    /// Groth16 setup of the margin circuit from `ChaCha20Rng::seed_from_u64(seed)`,
    /// written to a new temporary directory: `manifest.json`, `margin.vk`
    /// (uncompressed) and `margin.pk` (uncompressed), with sizes and SHA-256
    /// fingerprints.
    ///
    /// # Panics
    /// If setup or writing the directory fails (a fixture has nothing to recover).
    pub fn new(seed: u64) -> Self {
        Self::build(seed, false)
    }

    /// [`Fixture::new`] plus keys of the liquidation circuit (`liquidation.vk`,
    /// `liquidation.pk`), listed in the same manifest after the margin keys, from the
    /// same seeded RNG. The margin keys equal those of `Fixture::new(seed)`.
    ///
    /// # Panics
    /// If setup or writing the directory fails.
    pub fn with_liquidation(seed: u64) -> Self {
        Self::build(seed, true)
    }

    fn build(seed: u64, liquidation: bool) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let dir = tempfile::tempdir().expect("temporary keys directory");
        let (pk, margin_entry) = setup_circuit(
            dir.path(),
            "margin",
            MARGIN_CIRCUIT_ID,
            MARGIN_NUM_PUBLIC_INPUTS,
            MarginCircuit::for_setup(),
            &mut rng,
        );
        let fingerprint = margin_entry.verifying_key.sha256.clone();
        let mut circuits = vec![margin_entry];
        let liquidation = liquidation.then(|| {
            let (pk, entry) = setup_circuit(
                dir.path(),
                "liquidation",
                LIQUIDATION_CIRCUIT_ID,
                LIQUIDATION_NUM_PUBLIC_INPUTS,
                LiquidationCircuit::for_setup(),
                &mut rng,
            );
            let fingerprint = entry.verifying_key.sha256.clone();
            circuits.push(entry);
            CircuitFixture { pk, fingerprint }
        });
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            development: true,
            notice: format!(
                "DEVELOPMENT KEYS (test fixture, seed {seed}): anyone can forge proofs against them"
            ),
            seed: Some(format!("testkit:{seed}")),
            circuits,
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest JSON");
        std::fs::write(dir.path().join(MANIFEST_FILE), json).expect("write manifest");

        let (signers, oracle) = development_committee();
        Self {
            policy: first_legal,
            dir,
            pk,
            fingerprint,
            liquidation,
            params: RiskParams::development(),
            signers,
            oracle,
        }
    }

    /// The same fixture, choosing liquidations with `policy`.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The keys directory.
    pub fn keys_dir(&self) -> &Path {
        self.dir.path()
    }

    /// SHA-256 of the margin verifying key file: every margin bundle's `key_fingerprint`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// SHA-256 of the liquidation verifying key file (`None` without liquidation keys).
    pub fn liquidation_fingerprint(&self) -> Option<&str> {
        self.liquidation.as_ref().map(|l| l.fingerprint.as_str())
    }

    /// The margin circuit's verifying key.
    pub fn margin_vk(&self) -> &VerifyingKey<Bn254> {
        &self.pk.vk
    }

    /// The liquidation circuit's verifying key (`None` without liquidation keys).
    pub fn liquidation_vk(&self) -> Option<&VerifyingKey<Bn254>> {
        self.liquidation.as_ref().map(|l| &l.pk.vk)
    }

    /// The risk parameters the fixture proves under ([`RiskParams::development`]).
    pub fn params(&self) -> &RiskParams {
        &self.params
    }

    /// The oracle committee's configuration (the development committee).
    pub fn oracle_config(&self) -> &OracleConfig {
        &self.oracle
    }

    /// The committee's secret keys (public development keys).
    pub fn signers(&self) -> &[SignerKey] {
        &self.signers
    }

    /// A verifier of this fixture's keys, committee and parameters (system clock).
    ///
    /// # Errors
    /// [`SetupError`] if the keys directory was tampered with.
    pub fn verifier(&self) -> Result<Verifier, SetupError> {
        Verifier::from_keys_dir(
            self.keys_dir(),
            self.oracle.clone(),
            vec![self.params.clone()],
        )
    }

    /// Development prices for every feed of the parameters, observed at
    /// `observed_at`, valid for [`REPORT_LIFETIME_SECS`]: ETH 3,000, BTC 60,000,
    /// SOL 150, USDC 1, DOGE 0.10 USD.
    pub fn price_report(observed_at: u64) -> PriceReport {
        // 10^-9 quote atomic units (1e-6 USD) per asset atomic unit.
        let feed = |feed_id: &str, price: u64| PriceFeed {
            feed_id: feed_id.to_owned(),
            price,
            bid: price - price / 10_000,
            ask: price + price / 10_000,
        };
        PriceReport {
            version: REPORT_VERSION,
            exponent: PRICE_EXPONENT,
            observed_at,
            expires_at: observed_at + REPORT_LIFETIME_SECS,
            feeds: vec![
                feed("BTC/USD", 600_000_000_000),
                feed("DOGE/USD", 100_000_000),
                feed("ETH/USD", 3_000_000_000),
                feed("SOL/USD", 150_000_000),
                feed("USDC/USD", 1_000_000_000),
            ],
        }
    }

    /// [`Fixture::price_report`] at `observed_at`, signed by two of the three
    /// development signers (the quorum).
    pub fn signed_report(&self, observed_at: u64) -> SignedReport {
        SignedReport::sign(Self::price_report(observed_at), &self.signers[..2])
    }

    /// The slot prices the verifier derives from `report` for the fixture's parameters.
    ///
    /// # Panics
    /// If the report lacks a feed the parameters use.
    pub fn prices(&self, report: &PriceReport) -> Prices {
        Prices::from_feeds(&self.params, |feed| report.price(feed)).expect("report has every feed")
    }

    /// An account holding 10 ETH and a 1 BTC perpetual long, with a quote balance that
    /// puts it on the side of `status` at τ = 1 under the development prices: −80,000
    /// USD meets (health +3,100 USD), −84,000 USD breaches (−900 USD).
    pub fn account<R: RngCore + CryptoRng>(id: u64, status: Status, rng: &mut R) -> Account {
        let mut account = Account::empty(id, rng);
        account.tokens[0] = 10_000_000_000; // 10 ETH, 1e-9 ETH units
        account.positions[0] = 100_000_000; // 1 BTC, satoshis
        account.quote = match status {
            Status::Meets => -80_000_000_000,
            Status::Breaches => -84_000_000_000,
        };
        account
    }

    /// A real proof of `account`'s true status at `tau_ppm` at `report`'s prices,
    /// as a bundle.
    ///
    /// # Panics
    /// If proving fails (the account does not fit the parameters).
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        account: &Account,
        tau_ppm: u32,
        report: &SignedReport,
        rng: &mut R,
    ) -> ProofBundle {
        let prices = self.prices(&report.report);
        let weights = self.params.weights();
        let public = MarginPublic {
            commitment: Commitment::of(account),
            status: account.status(&weights, &prices, tau_ppm),
            tau_ppm,
            prices,
            weights,
        };
        let circuit = MarginCircuit {
            public,
            private: Some(MarginPrivate {
                account: account.clone(),
            }),
        };
        let proof = Groth16::<Bn254>::create_random_proof_with_reduction(circuit, &self.pk, rng)
            .expect("prove");
        ProofBundle {
            version: BUNDLE_VERSION,
            key_fingerprint: self.fingerprint.clone(),
            statement: Statement::Margin(MarginStatement {
                commitment: public.commitment,
                status: public.status,
                tau_ppm,
                risk_params_digest: self.params.digest(),
            }),
            report: report.clone(),
            proof: proof_to_hex(&proof),
        }
    }

    /// A proof for a fresh account of `status` at τ = 1 with `report`.
    pub fn bundle<R: RngCore + CryptoRng>(
        &self,
        id: u64,
        status: Status,
        report: &SignedReport,
        rng: &mut R,
    ) -> ProofBundle {
        let account = Self::account(id, status, rng);
        self.prove(&account, 1_000_000, report, rng)
    }
}

impl Fixture {
    fn liquidation_keys(&self) -> &CircuitFixture {
        self.liquidation
            .as_ref()
            .expect("a fixture made with Fixture::with_liquidation")
    }

    /// The liquidation the fixture's [`Policy`] chooses for the breaching `old` at
    /// `report`'s prices, owed to `liquidator`, with a fresh random blinding for the new
    /// state: statement and new state, not yet proven.
    ///
    /// # Errors
    /// [`LiquidationError`] when `old` cannot be liquidated (it meets its margin, or no
    /// action is legal).
    pub fn plan_liquidation<R: RngCore + CryptoRng>(
        &self,
        old: &Account,
        liquidator: u64,
        report: &SignedReport,
        rng: &mut R,
    ) -> Result<(LiquidationPublic, Account), LiquidationError> {
        let prices = self.prices(&report.report);
        let chosen = (self.policy)(old, &self.params, &prices)?;
        let (mut new, deficit) = state_after(old, &chosen.action, &chosen.terms)?;
        new.nonce = old.nonce + 1;
        new.blinding = Blinding::random(rng);
        let public = LiquidationPublic {
            old_commitment: Commitment::of(old),
            new_commitment: Commitment::of(&new),
            liquidator,
            action: chosen.action,
            terms: chosen.terms,
            deficit,
            prices,
            weights: self.params.weights(),
            rules: LiquidationRules::from(&self.params),
        };
        Ok((public, new))
    }

    /// A real Groth16 proof of the liquidation of the breaching `old` that
    /// [`Fixture::plan_liquidation`] chooses, as a transition bundle with `report`.
    ///
    /// # Panics
    /// Without liquidation keys ([`Fixture::with_liquidation`]), or when `old` cannot
    /// be liquidated at the report's prices.
    pub fn liquidate<R: RngCore + CryptoRng>(
        &self,
        old: &Account,
        liquidator: u64,
        report: &SignedReport,
        rng: &mut R,
    ) -> ProvenLiquidation {
        let (public, new) = self
            .plan_liquidation(old, liquidator, report, rng)
            .unwrap_or_else(|e| panic!("account {} cannot be liquidated: {e}", old.id));
        let bundle = self.prove_liquidation(old, &public, new.blinding, report, rng);
        ProvenLiquidation {
            bundle,
            old: old.clone(),
            new,
            public,
        }
    }

    /// A Groth16 proof of `public` with witness (`old`, `new_blinding`), as a bundle
    /// carrying `report`. The proof verifies only if the witness satisfies the circuit
    /// for `public` and `public`'s prices are the report's.
    ///
    /// # Panics
    /// Without liquidation keys, or if proving fails.
    pub fn prove_liquidation<R: RngCore + CryptoRng>(
        &self,
        old: &Account,
        public: &LiquidationPublic,
        new_blinding: Blinding,
        report: &SignedReport,
        rng: &mut R,
    ) -> ProofBundle {
        let keys = self.liquidation_keys();
        let circuit = LiquidationCircuit {
            public: *public,
            private: Some(LiquidationPrivate {
                old: old.clone(),
                new_blinding,
            }),
        };
        let proof = Groth16::<Bn254>::create_random_proof_with_reduction(circuit, &keys.pk, rng)
            .expect("prove the liquidation");
        ProofBundle {
            version: BUNDLE_VERSION,
            key_fingerprint: keys.fingerprint.clone(),
            statement: Statement::Liquidation(Box::new(LiquidationStatement {
                old_commitment: public.old_commitment,
                new_commitment: public.new_commitment,
                liquidator: public.liquidator,
                action: public.action,
                deficit: public.deficit,
                terms: public.terms,
                risk_params_digest: self.params.digest(),
            })),
            report: report.clone(),
            proof: proof_to_hex(&proof),
        }
    }

    /// The same bundle with its proof re-randomized (`Groth16::rerandomize_proof`): a
    /// different, equally valid proof of the same statement, as anyone holding the
    /// bundle can make. Works for both circuits.
    ///
    /// # Panics
    /// For a liquidation bundle without liquidation keys, or an undecodable proof.
    pub fn rerandomize<R: RngCore + CryptoRng>(
        &self,
        bundle: &ProofBundle,
        rng: &mut R,
    ) -> ProofBundle {
        let vk = match bundle.statement {
            Statement::Margin(_) => &self.pk.vk,
            Statement::Liquidation(_) => &self.liquidation_keys().pk.vk,
        };
        let proof = Groth16::<Bn254>::rerandomize_proof(vk, &proof_of(bundle), rng);
        ProofBundle {
            proof: proof_to_hex(&proof),
            ..bundle.clone()
        }
    }
}

/// The liquidation statement of a transition bundle.
///
/// # Panics
/// For a margin bundle.
pub fn liquidation_statement(bundle: &ProofBundle) -> &LiquidationStatement {
    match &bundle.statement {
        Statement::Liquidation(s) => s,
        Statement::Margin(_) => panic!("a liquidation bundle was expected"),
    }
}

/// The liquidation statement of a transition bundle, to alter it.
///
/// # Panics
/// For a margin bundle.
pub fn liquidation_statement_mut(bundle: &mut ProofBundle) -> &mut LiquidationStatement {
    match &mut bundle.statement {
        Statement::Liquidation(s) => s,
        Statement::Margin(_) => panic!("a liquidation bundle was expected"),
    }
}

/// Groth16 setup of `circuit` with `rng`, keys written to `dir` as `<stem>.vk` and
/// `<stem>.pk` (uncompressed); returns the proving key and the manifest entry.
fn setup_circuit<C: ConstraintSynthesizer<ark_bn254::Fr> + Clone>(
    dir: &Path,
    stem: &str,
    id: &str,
    public_inputs: usize,
    circuit: C,
    rng: &mut ChaCha20Rng,
) -> (ProvingKey<Bn254>, CircuitKeys) {
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(circuit.clone(), rng)
        .unwrap_or_else(|e| panic!("{id} setup: {e}"));
    let mut vk_bytes = Vec::new();
    pk.vk
        .serialize_uncompressed(&mut vk_bytes)
        .expect("serialize verifying key");
    let mut pk_bytes = Vec::new();
    pk.serialize_uncompressed(&mut pk_bytes)
        .expect("serialize proving key");
    let verifying_key = write_key(dir, &format!("{stem}.vk"), &vk_bytes);
    let proving_key = write_key(dir, &format!("{stem}.pk"), &pk_bytes);

    let cs = ConstraintSystem::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    circuit
        .generate_constraints(cs.clone())
        .unwrap_or_else(|e| panic!("synthesize {id}: {e}"));
    let entry = CircuitKeys {
        id: id.to_owned(),
        constraints: cs.num_constraints(),
        public_inputs,
        proving_key,
        verifying_key,
    };
    (pk, entry)
}

fn write_key(dir: &Path, name: &str, bytes: &[u8]) -> KeyFile {
    std::fs::write(dir.join(name), bytes).expect("write key file");
    KeyFile {
        file: name.to_owned(),
        bytes: bytes.len() as u64,
        sha256: fingerprint(bytes),
    }
}

/// A proof as a bundle carries it: compressed, lowercase hex.
pub fn proof_to_hex(proof: &Proof<Bn254>) -> String {
    let mut bytes = Vec::new();
    proof
        .serialize_compressed(&mut bytes)
        .expect("serialize proof");
    hex::encode(bytes)
}

/// The bundle's proof, decoded.
///
/// # Panics
/// If the bundle's proof is not a valid compressed proof.
pub fn proof_of(bundle: &ProofBundle) -> Proof<Bn254> {
    let bytes = hex::decode(&bundle.proof).expect("proof hex");
    Proof::deserialize_compressed(&bytes[..]).expect("proof points")
}

/// The same bundle with a proof whose points are valid but which does not verify:
/// `C` moved by the generator of G1.
pub fn tamper_proof(bundle: &ProofBundle) -> ProofBundle {
    let mut proof = proof_of(bundle);
    proof.c = (G1Projective::from(proof.c) + G1Affine::generator()).into_affine();
    ProofBundle {
        proof: proof_to_hex(&proof),
        ..bundle.clone()
    }
}

/// The same bundle whose proof's `A` is an x coordinate with no point on the curve:
/// 128 bytes of the right shape that do not decode.
pub fn proof_not_on_curve(bundle: &ProofBundle) -> ProofBundle {
    let mut bytes = hex::decode(&bundle.proof).expect("proof hex");
    // x = 0 with the flags clear: y² = 0³ + 3 has no solution, since 3 is a quadratic
    // non-residue modulo the BN254 prime (p ≡ 1 mod 3 and p ≡ 3 mod 4).
    bytes[..32].fill(0);
    ProofBundle {
        proof: hex::encode(bytes),
        ..bundle.clone()
    }
}

/// The same bundle whose proof's `B` is a point on the twist curve but outside the
/// prime-order subgroup G2 (the twist's cofactor is ≈ 2^254, so the first point found
/// from a small x is outside): it decodes, and only the subgroup check rejects it.
pub fn proof_b_outside_subgroup(bundle: &ProofBundle) -> ProofBundle {
    use ark_bn254::{Fq, Fq2, G2Affine};
    let b = (1u64..)
        .find_map(|x| {
            G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(x), Fq::from(1u64)), false)
        })
        .expect("a point of the twist");
    assert!(b.is_on_curve() && !b.is_in_correct_subgroup_assuming_on_curve());
    let mut bytes = hex::decode(&bundle.proof).expect("proof hex");
    let mut encoded = Vec::with_capacity(64);
    b.serialize_compressed(&mut encoded).expect("serialize B");
    bytes[32..96].copy_from_slice(&encoded);
    ProofBundle {
        proof: hex::encode(bytes),
        ..bundle.clone()
    }
}
