//! Fixtures for tests and benchmarks (feature `testkit`): fresh margin keys from a
//! seed, written as a keys directory the [`Verifier`] loads, accounts that meet or
//! breach, signed development price reports, real Groth16 proofs, and tampering.
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
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{
    r1cs::{MarginCircuit, MarginPrivate},
    Account, Commitment, MarginPublic, Prices, RiskParams, Status, MARGIN_CIRCUIT_ID,
    MARGIN_NUM_PUBLIC_INPUTS,
};
use zkmargin_oracle::{
    development_committee, OracleConfig, PriceFeed, PriceReport, SignedReport, SignerKey,
    PRICE_EXPONENT, REPORT_VERSION,
};

use crate::{
    bundle::{MarginStatement, ProofBundle, Statement, BUNDLE_VERSION},
    keys::{fingerprint, CircuitKeys, KeyFile, Manifest, MANIFEST_FILE, MANIFEST_VERSION},
    verify::{SetupError, Verifier},
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

/// Fresh margin keys in a temporary keys directory, with the development oracle
/// committee and [`RiskParams::development`].
pub struct Fixture {
    dir: tempfile::TempDir,
    pk: ProvingKey<Bn254>,
    fingerprint: String,
    params: RiskParams,
    signers: Vec<SignerKey>,
    oracle: OracleConfig,
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
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
            MarginCircuit::for_setup(),
            &mut rng,
        )
        .expect("margin circuit setup");
        let dir = tempfile::tempdir().expect("temporary keys directory");

        let mut vk_bytes = Vec::new();
        pk.vk
            .serialize_uncompressed(&mut vk_bytes)
            .expect("serialize verifying key");
        let mut pk_bytes = Vec::new();
        pk.serialize_uncompressed(&mut pk_bytes)
            .expect("serialize proving key");
        let vk_file = write_key(dir.path(), "margin.vk", &vk_bytes);
        let pk_file = write_key(dir.path(), "margin.pk", &pk_bytes);

        let cs = ConstraintSystem::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        MarginCircuit::for_setup()
            .generate_constraints(cs.clone())
            .expect("synthesize the margin circuit");
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            development: true,
            notice: format!(
                "DEVELOPMENT KEYS (test fixture, seed {seed}): anyone can forge proofs against them"
            ),
            seed: Some(format!("testkit:{seed}")),
            circuits: vec![CircuitKeys {
                id: MARGIN_CIRCUIT_ID.to_owned(),
                constraints: cs.num_constraints(),
                public_inputs: MARGIN_NUM_PUBLIC_INPUTS,
                proving_key: pk_file,
                verifying_key: vk_file.clone(),
            }],
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest JSON");
        std::fs::write(dir.path().join(MANIFEST_FILE), json).expect("write manifest");

        let (signers, oracle) = development_committee();
        Self {
            dir,
            pk,
            fingerprint: vk_file.sha256,
            params: RiskParams::development(),
            signers,
            oracle,
        }
    }

    /// The keys directory.
    pub fn keys_dir(&self) -> &Path {
        self.dir.path()
    }

    /// SHA-256 of the verifying key file: every bundle's `key_fingerprint`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
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
