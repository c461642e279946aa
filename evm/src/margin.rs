//! Calldata of the margin verifier for a margin bundle: what the CLI prints for a
//! proof bundle ([`margin_bundle_calldata`]), and the statement and proof it is made of.

use std::path::Path;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::CanonicalDeserialize;
use zkmargin_circuits::{
    MarginPublic, Prices, RiskParams, MARGIN_CIRCUIT_ID, MARGIN_NUM_PUBLIC_INPUTS,
};
use zkmargin_verifier::{
    bundle::{ProofBundle, Statement},
    keys::{load_verifying_key, KeyError},
};

use crate::{
    abi::{CalldataError, VerifierCalls},
    encode::{g1_words, input_words, proof_words, Word},
    fold::fold_shared,
    split::margin_split,
};

/// Every call of the margin verifier for one proof. Serializes (for the CLI's JSON)
/// with words and calldata as `0x` hex.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarginCalldata {
    /// The proof as 8 words.
    pub proof: [Word; 8],
    /// The 43 public inputs, circuit order.
    pub inputs: Vec<Word>,
    /// The shared inputs folded natively: what `foldShared` returns for this tick.
    pub folded: [Word; 2],
    /// `verifyProof(proof, inputs)`.
    #[serde(serialize_with = "hex_0x")]
    pub verify_proof: Vec<u8>,
    /// `verifyFolded(proof, perProof, folded)`.
    #[serde(serialize_with = "hex_0x")]
    pub verify_folded: Vec<u8>,
    /// `foldShared(shared)`.
    #[serde(serialize_with = "hex_0x")]
    pub fold_shared: Vec<u8>,
}

fn hex_0x<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("0x{}", hex::encode(bytes)))
}

/// Why a bundle's calldata could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MarginCalldataError {
    /// The verifying key could not be loaded.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The bundle is not a margin bundle.
    #[error("the bundle proves {0}, not {MARGIN_CIRCUIT_ID}")]
    WrongStatement(&'static str),
    /// The bundle was proven against another key.
    #[error("the bundle was proven against key {bundle}, the keys directory has {keys}")]
    KeyMismatch {
        /// The bundle's key fingerprint.
        bundle: String,
        /// The key's fingerprint.
        keys: String,
    },
    /// The risk parameters are not the bundle's.
    #[error("the bundle names risk parameters {bundle}, the given parameters have digest {given}")]
    ParamsMismatch {
        /// The bundle's digest, hex.
        bundle: String,
        /// The given parameters' digest, hex.
        given: String,
    },
    /// The report lacks a price the parameters use.
    #[error("the bundle's report has no price for feed {0:?}")]
    MissingPrice(String),
    /// The proof does not decode (hex, length, points).
    #[error("the bundle's proof is malformed: {0}")]
    Proof(String),
    /// Encoding failed.
    #[error(transparent)]
    Calldata(#[from] CalldataError),
}

/// The margin statement of `bundle` under `params`: commitment, status and τ from
/// the statement, prices from the bundle's report as `params` maps feeds to slots,
/// weights from `params`.
///
/// The report's signatures and freshness are not checked here — that is the
/// verifier's job (and the settlement contract's): these are the inputs the
/// contract is asked to check the proof against.
///
/// # Errors
/// [`MarginCalldataError::WrongStatement`], [`MarginCalldataError::ParamsMismatch`],
/// [`MarginCalldataError::MissingPrice`].
pub fn margin_public(
    bundle: &ProofBundle,
    params: &RiskParams,
) -> Result<MarginPublic, MarginCalldataError> {
    let statement = match &bundle.statement {
        Statement::Margin(s) => s,
        other => return Err(MarginCalldataError::WrongStatement(other.circuit_id())),
    };
    let digest = params.digest();
    if statement.risk_params_digest != digest {
        return Err(MarginCalldataError::ParamsMismatch {
            bundle: hex::encode(statement.risk_params_digest),
            given: hex::encode(digest),
        });
    }
    let prices = Prices::from_feeds(params, |feed| bundle.report.report.price(feed))
        .map_err(|e| MarginCalldataError::MissingPrice(e.feed_id))?;
    Ok(MarginPublic {
        commitment: statement.commitment,
        status: statement.status,
        tau_ppm: statement.tau_ppm,
        prices,
        weights: params.weights(),
    })
}

/// The bundle's proof, decoded with full point validation.
///
/// # Errors
/// [`MarginCalldataError::Proof`].
pub fn bundle_proof(bundle: &ProofBundle) -> Result<Proof<Bn254>, MarginCalldataError> {
    let bytes =
        hex::decode(&bundle.proof).map_err(|e| MarginCalldataError::Proof(e.to_string()))?;
    Proof::<Bn254>::deserialize_compressed(&bytes[..])
        .map_err(|e| MarginCalldataError::Proof(e.to_string()))
}

/// Every margin-verifier call for `proof` of `public` under `vk`.
///
/// # Errors
/// [`MarginCalldataError::Calldata`] if `vk` is not a margin key.
pub fn margin_calldata(
    vk: &VerifyingKey<Bn254>,
    public: &MarginPublic,
    proof: &Proof<Bn254>,
) -> Result<MarginCalldata, MarginCalldataError> {
    let calls = VerifierCalls::new(margin_split());
    let fields: [Fr; MARGIN_NUM_PUBLIC_INPUTS] = public.to_field_elements();
    let inputs = input_words(&fields);
    let proof = proof_words(proof);
    let folded = g1_words(&fold_shared(
        vk,
        calls.split(),
        &calls.shared_inputs(&fields)?,
    )?);
    Ok(MarginCalldata {
        verify_proof: calls.verify_proof(&proof, &inputs)?,
        verify_folded: calls.verify_folded(&proof, &calls.per_proof_inputs(&inputs)?, &folded)?,
        fold_shared: calls.fold_shared(&calls.shared_inputs(&inputs)?),
        proof,
        inputs,
        folded,
    })
}

/// [`margin_calldata`] for a bundle, with the margin key from `keys_dir`
/// (fingerprint checked, and required to be the bundle's).
///
/// # Errors
/// Any [`MarginCalldataError`].
pub fn margin_bundle_calldata(
    keys_dir: &Path,
    bundle: &ProofBundle,
    params: &RiskParams,
) -> Result<MarginCalldata, MarginCalldataError> {
    let key = load_verifying_key(keys_dir, MARGIN_CIRCUIT_ID, MARGIN_NUM_PUBLIC_INPUTS)?;
    if bundle.key_fingerprint != key.fingerprint {
        return Err(MarginCalldataError::KeyMismatch {
            bundle: bundle.key_fingerprint.clone(),
            keys: key.fingerprint,
        });
    }
    let public = margin_public(bundle, params)?;
    margin_calldata(&key.key, &public, &bundle_proof(bundle)?)
}
