//! Shared fixtures of the contract tests: the repository's development margin keys
//! (whose verifier is the committed artifact), real proofs against them, the
//! reference verdicts, and the deployed contracts.
#![allow(dead_code)]

use std::{path::Path, sync::OnceLock};

use ark_bn254::{Bn254, Fr};
use ark_groth16::{
    prepare_verifying_key, Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{
    r1cs::{MarginCircuit, MarginPrivate},
    Account, Commitment, MarginPublic, RiskParams, Status, MARGIN_CIRCUIT_ID,
};
use zkmargin_evm::{
    abi::{decode_words, encode_call, Arg},
    artifact::{artifacts_dir, Artifact},
    encode::{decode_inputs, decode_proof, g1_words, input_words, Word},
    harness::{precompile_provider, Address, CallOutcome, Evm},
    margin::margin_public,
    margin_split, VerifierCalls, VerifierRevert,
};
use zkmargin_oracle::{development_committee, OracleConfig, SignedReport, SignerKey};
use zkmargin_prover::{registry, setup};
use zkmargin_verifier::{
    bundle::{MarginStatement, ProofBundle, Statement, BUNDLE_VERSION},
    keys::{Manifest, MANIFEST_FILE},
    testkit::{self, Fixture},
    Verifier,
};

/// The repository's keys directory.
pub fn repo_keys() -> &'static Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys"))
}

/// The development margin keys, regenerated from the public seed (the proving key is
/// not committed), and a verifier of them.
pub struct DevKeys {
    pub pk: ProvingKey<Bn254>,
    pub pvk: PreparedVerifyingKey<Bn254>,
    pub fingerprint: String,
    pub params: RiskParams,
    pub signers: Vec<SignerKey>,
    pub oracle: OracleConfig,
    pub verifier: Verifier,
    // Keeps the margin-only keys directory the verifier was loaded from.
    _dir: tempfile::TempDir,
}

impl DevKeys {
    pub fn vk(&self) -> &VerifyingKey<Bn254> {
        &self.pk.vk
    }

    /// A keys directory with the development margin key only (what `verifier` loaded).
    pub fn keys_dir(&self) -> &Path {
        self._dir.path()
    }
}

/// Built once per test binary.
pub fn dev_keys() -> &'static DevKeys {
    static KEYS: OnceLock<DevKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let generated = setup::generate(&registry::MARGIN, setup::KeyMode::Development)
            .expect("development setup of the margin circuit");
        let committed = std::fs::read(repo_keys().join("margin.vk")).expect("keys/margin.vk");
        // The committed key (whose verifier is the committed artifact) is the one the
        // seed gives: proofs below are proofs against the deployed contract's key.
        assert_eq!(
            generated.verifying_key, committed,
            "keys/margin.vk is not the development key of today's circuit"
        );
        let pk =
            ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&generated.proving_key[..])
                .expect("proving key");
        // A keys directory with the margin key only, so that the verifier does not
        // depend on the liquidation key (being redesigned) loading.
        let dir = tempfile::tempdir().expect("temporary keys directory");
        let mut manifest = Manifest::load(repo_keys()).expect("keys/manifest.json");
        manifest.circuits.retain(|c| c.id == MARGIN_CIRCUIT_ID);
        let fingerprint = manifest.circuits[0].verifying_key.sha256.clone();
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("margin.vk"), &committed).unwrap();
        let (signers, oracle) = development_committee();
        let params = RiskParams::development();
        let verifier = Verifier::from_keys_dir(dir.path(), oracle.clone(), vec![params.clone()])
            .expect("verifier of the development keys");
        DevKeys {
            pvk: prepare_verifying_key(&pk.vk),
            pk,
            fingerprint,
            params,
            signers,
            oracle,
            verifier,
            _dir: dir,
        }
    })
}

impl DevKeys {
    /// A fresh signed report (two of three development signers), observed now.
    pub fn report(&self) -> SignedReport {
        SignedReport::sign(Fixture::price_report(testkit::now()), &self.signers[..2])
    }

    /// A real proof of `account`'s true status at `tau_ppm`, as a bundle.
    pub fn prove(
        &self,
        account: &Account,
        tau_ppm: u32,
        report: &SignedReport,
        rng: &mut ChaCha20Rng,
    ) -> ProofBundle {
        let prices =
            zkmargin_circuits::Prices::from_feeds(&self.params, |f| report.report.price(f))
                .expect("every feed");
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
            proof: testkit::proof_to_hex(&proof),
        }
    }

    /// A proof for a fresh account of `status` at τ = 1.
    pub fn bundle(
        &self,
        id: u64,
        status: Status,
        report: &SignedReport,
        rng: &mut ChaCha20Rng,
    ) -> ProofBundle {
        let account = Fixture::account(id, status, rng);
        self.prove(&account, 1_000_000, report, rng)
    }

    /// The bundle's public inputs (circuit order) and proof.
    pub fn statement(&self, bundle: &ProofBundle) -> (Vec<Fr>, Proof<Bn254>) {
        let public = margin_public(bundle, &self.params).expect("margin statement");
        (
            public.to_field_elements().to_vec(),
            testkit::proof_of(bundle),
        )
    }

    /// arkworks' verdict on the words a contract would be given: the words decoded
    /// with the precompiles' rules (coordinates < p, points on their curve, B in the
    /// subgroup, inputs < r), then `Groth16::verify_proof`.
    pub fn arkworks_accepts(&self, proof: &[Word; 8], inputs: &[Word]) -> bool {
        let (Ok(proof), Ok(inputs)) = (decode_proof(proof), decode_inputs(inputs)) else {
            return false;
        };
        Groth16::<Bn254>::verify_proof(&self.pvk, &proof, &inputs).unwrap_or(false)
    }
}

/// A bundle's proof re-encoded (compressed hex), for the Rust verifier.
pub fn with_proof(bundle: &ProofBundle, proof: &Proof<Bn254>) -> ProofBundle {
    let mut bytes = Vec::new();
    proof.serialize_compressed(&mut bytes).unwrap();
    ProofBundle {
        proof: hex::encode(bytes),
        ..bundle.clone()
    }
}

/// The committed artifacts, deployed: the margin verifier and the tick-cache fixture
/// (weights of the development parameters folded at construction).
pub struct Chain {
    pub evm: Evm,
    pub verifier: Address,
    pub cache: Address,
    pub calls: VerifierCalls,
}

/// What a contract said about a proof.
pub type ContractVerdict = Result<(), VerifierRevert>;

pub fn verdict(outcome: &CallOutcome) -> ContractVerdict {
    if outcome.is_success() {
        Ok(())
    } else {
        Err(VerifierRevert::decode(&outcome.output))
    }
}

impl Chain {
    pub fn deploy(keys: &DevKeys) -> Self {
        let mut evm = Evm::new();
        // Not a provider some code installed (it could run the precompiles on
        // arkworks, the library the contracts are compared with): tests/backend.rs.
        assert_eq!(precompile_provider(), "DefaultCrypto");
        let verifier_artifact = Artifact::load(&artifacts_dir(), "MarginVerifier").unwrap();
        let verifier = evm.deploy_artifact(&verifier_artifact, &[]).unwrap();
        let calls = VerifierCalls::new(margin_split());
        // The weights group of any statement under the development parameters.
        let statement = MarginPublic {
            commitment: Commitment(Fr::from(0u64)),
            status: Status::Meets,
            tau_ppm: 0,
            prices: Default::default(),
            weights: keys.params.weights(),
        };
        let weights = calls
            .group_inputs("Weights", &input_words(&statement.to_field_elements()))
            .unwrap();
        let mut args = Vec::new();
        args.extend_from_slice(&[0u8; 12]);
        args.extend_from_slice(verifier.as_slice());
        for w in &weights {
            args.extend_from_slice(&w.0);
        }
        let cache_artifact = Artifact::load(&artifacts_dir(), "MarginTickCache").unwrap();
        let cache = evm.deploy_artifact(&cache_artifact, &args).unwrap();
        Self {
            evm,
            verifier,
            cache,
            calls,
        }
    }

    pub fn verify_proof(&mut self, proof: &[Word; 8], inputs: &[Word]) -> CallOutcome {
        let data = self.calls.verify_proof(proof, inputs).unwrap();
        self.evm.call(self.verifier, &data).unwrap()
    }

    pub fn fold_shared(&mut self, shared: &[Word]) -> CallOutcome {
        let data = self.calls.fold_shared(shared);
        self.evm.call(self.verifier, &data).unwrap()
    }

    /// `foldShared` on-chain; the point, or why it reverted.
    pub fn folded(&mut self, shared: &[Word]) -> Result<[Word; 2], VerifierRevert> {
        let out = self.fold_shared(shared);
        verdict(&out)?;
        let w = decode_words("foldShared", &out.output, 2).unwrap();
        Ok([w[0], w[1]])
    }

    pub fn verify_folded(
        &mut self,
        proof: &[Word; 8],
        per_proof: &[Word],
        folded: &[Word; 2],
    ) -> CallOutcome {
        let data = self.calls.verify_folded(proof, per_proof, folded).unwrap();
        self.evm.call(self.verifier, &data).unwrap()
    }

    /// `postTick(prices)` on the cache fixture.
    pub fn post_tick(&mut self, prices: &[Word]) -> CallOutcome {
        let data = encode_call("postTick(uint256[16])", &[Arg::Static(prices)]);
        self.evm.call(self.cache, &data).unwrap()
    }

    fn cached_call(
        &mut self,
        function: &str,
        proof: &[Word; 8],
        per_proof: &[Word],
    ) -> CallOutcome {
        let sig = format!("{function}(uint256[8],uint256,uint256,uint256)");
        let data = encode_call(&sig, &[Arg::Static(proof), Arg::Static(per_proof)]);
        self.evm.call(self.cache, &data).unwrap()
    }

    /// `verifyMargin` of the cache fixture: the library inlined, the point in storage.
    pub fn verify_margin(&mut self, proof: &[Word; 8], per_proof: &[Word]) -> CallOutcome {
        self.cached_call("verifyMargin", proof, per_proof)
    }

    /// `verifyMarginByCall`: the same through an external call.
    pub fn verify_margin_by_call(&mut self, proof: &[Word; 8], per_proof: &[Word]) -> CallOutcome {
        self.cached_call("verifyMarginByCall", proof, per_proof)
    }

    /// The natively folded shared point of a full input vector.
    pub fn native_fold(&self, keys: &DevKeys, inputs: &[Fr]) -> [Word; 2] {
        self.native_fold_shared(keys, &self.calls.shared_inputs(inputs).unwrap())
    }

    /// The natively folded point of the shared inputs (foldShared order).
    pub fn native_fold_shared(&self, keys: &DevKeys, shared: &[Fr]) -> [Word; 2] {
        g1_words(&zkmargin_evm::fold::fold_shared(keys.vk(), self.calls.split(), shared).unwrap())
    }
}
