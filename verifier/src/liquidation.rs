//! Liquidation statements: [`Verifier::verify_liquidation`] and the
//! [`VerifiedLiquidation`] type that settlement consumes.
//!
//! The liquidation circuit proves the old state breaches at τ = 1 at the signed prices,
//! so a verified liquidation is itself the verified breach that justifies it.

use ark_bn254::{G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::PrimeField;
use serde::Serialize;
use zkmargin_circuits::{
    LiquidationAction, LiquidationPublic, LiquidationRules, LiquidationTerms,
    LIQUIDATION_CIRCUIT_ID,
};

use crate::{
    bundle::{LiquidationStatement, ProofBundle},
    error::VerifyError,
    pairing::groth16_check,
    prepared::{LiquidationKey, PreparedProof},
    verifier::{Prechecked, Verifier},
};

/// A liquidation whose proof verified. It has no public constructor: the
/// settlement ledger takes this type, so it can only apply verified transitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLiquidation {
    statement: LiquidationPublic,
    statement_digest: [u8; 32],
    risk_params_digest: [u8; 32],
    report_digest: [u8; 32],
    report_observed_at: u64,
    oracle_config_digest: [u8; 32],
    key_fingerprint: String,
}

impl VerifiedLiquidation {
    /// The proven statement: commitments, liquidator, action, terms, deficit, prices,
    /// weights and rules.
    pub fn statement(&self) -> &LiquidationPublic {
        &self.statement
    }
    /// SHA-256 of the statement ([`LiquidationPublic::digest`]): the replay key.
    pub fn statement_digest(&self) -> [u8; 32] {
        self.statement_digest
    }
    /// Digest of the risk parameters.
    pub fn risk_params_digest(&self) -> [u8; 32] {
        self.risk_params_digest
    }
    /// Digest of the oracle report the prices came from.
    pub fn report_digest(&self) -> [u8; 32] {
        self.report_digest
    }
    /// Observation time of that report (unix seconds).
    pub fn report_observed_at(&self) -> u64 {
        self.report_observed_at
    }
    /// Digest of the oracle configuration that accepted the report.
    pub fn oracle_config_digest(&self) -> [u8; 32] {
        self.oracle_config_digest
    }
    /// Fingerprint of the liquidation verifying key.
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }
}

/// The JSON view of a verified liquidation (what services and the CLI print).
#[derive(Serialize)]
struct LiquidationView<'a> {
    circuit: &'static str,
    old_commitment: String,
    new_commitment: String,
    liquidator: u64,
    action: &'a LiquidationAction,
    terms: &'a LiquidationTerms,
    deficit: u64,
    statement_digest: String,
    risk_params_digest: String,
    report_digest: String,
    report_observed_at: u64,
    oracle_config_digest: String,
    key_fingerprint: &'a str,
}

impl Serialize for VerifiedLiquidation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let st = &self.statement;
        LiquidationView {
            circuit: LIQUIDATION_CIRCUIT_ID,
            old_commitment: st.old_commitment.to_hex(),
            new_commitment: st.new_commitment.to_hex(),
            liquidator: st.liquidator,
            action: &st.action,
            terms: &st.terms,
            deficit: st.deficit,
            statement_digest: hex::encode(self.statement_digest),
            risk_params_digest: hex::encode(self.risk_params_digest),
            report_digest: hex::encode(self.report_digest),
            report_observed_at: self.report_observed_at,
            oracle_config_digest: hex::encode(self.oracle_config_digest),
            key_fingerprint: &self.key_fingerprint,
        }
        .serialize(s)
    }
}

impl Verifier {
    /// Verifies a liquidation bundle.
    ///
    /// Checks, cheapest first: the shared pre-checks of [`Verifier::precheck`] (format
    /// version and proof size; the statement is a liquidation; key fingerprint; risk
    /// parameters known; oracle signatures and freshness; prices for every feed); the action's terms recomputed from the action,
    /// the signed prices and the parameters (and equal to the bundle's: the circuit
    /// enforces value and penalty itself, the fee split is checked here); proof points;
    /// the pairing check, with the 45 shared inputs folded once per (parameters, prices)
    /// and only the 4 per-proof inputs multiplied per proof.
    ///
    /// # Errors
    /// The first failed check, as a [`VerifyError`].
    pub fn verify_liquidation(
        &self,
        bundle: &ProofBundle,
    ) -> Result<VerifiedLiquidation, VerifyError> {
        let Prechecked {
            statement,
            params,
            weights,
            report,
            prices,
            proof,
        } = self.precheck::<LiquidationStatement>(bundle)?;
        let key = self
            .liquidation
            .as_ref()
            .ok_or(VerifyError::NoKeys(LIQUIDATION_CIRCUIT_ID))?;
        // The terms are derived here, never taken from the prover.
        let terms = LiquidationTerms::of(&statement.action, &prices, params)
            .map_err(|e| VerifyError::InvalidAction(e.to_string()))?;
        if terms != statement.terms {
            return Err(VerifyError::TermsMismatch);
        }
        let public = LiquidationPublic {
            old_commitment: statement.old_commitment,
            new_commitment: statement.new_commitment,
            liquidator: statement.liquidator,
            action: statement.action,
            terms,
            deficit: statement.deficit,
            prices,
            weights,
            rules: LiquidationRules::from(params),
        };
        let proof = PreparedProof::decode(&proof)?;
        let vk_x = self.liquidation_vk_x(key, &public, statement.risk_params_digest);
        if !groth16_check(&key.pvk, &key.lines, &proof.a, &proof.b, &proof.c, &vk_x) {
            return Err(VerifyError::InvalidProof);
        }
        Ok(VerifiedLiquidation {
            statement_digest: public.digest(),
            statement: public,
            risk_params_digest: statement.risk_params_digest,
            report_digest: report.digest(),
            report_observed_at: report.observed_at(),
            oracle_config_digest: self.oracle_digest,
            key_fingerprint: key.fingerprint.clone(),
        })
    }
}

impl Verifier {
    /// `vk_x` of a liquidation statement: `IC_0` plus the shared inputs (prices, weights,
    /// rules), folded once per (parameters, prices) and cached, plus the four per-proof
    /// inputs (two commitments, two packed words) in one small MSM.
    fn liquidation_vk_x(
        &self,
        key: &LiquidationKey,
        public: &LiquidationPublic,
        risk_params_digest: [u8; 32],
    ) -> G1Affine {
        let ic = &key.pvk.vk.gamma_abc_g1;
        let shared = self.liquidation_fold_cache.get_or_insert_with(
            (risk_params_digest, public.prices),
            || {
                let scalars: Vec<_> = LiquidationPublic::shared_field_elements(
                    &public.prices,
                    &public.weights,
                    &public.rules,
                )
                .iter()
                .map(|x| x.into_bigint())
                .collect();
                ic[0].into_group()
                    + G1Projective::msm_bigint(&ic[1 + LiquidationPublic::PRICES..], &scalars)
            },
        );
        let inputs = public.to_field_elements();
        let per_proof: Vec<_> = inputs[..LiquidationPublic::PER_PROOF_INPUTS]
            .iter()
            .map(|x| x.into_bigint())
            .collect();
        (shared
            + G1Projective::msm_bigint(&ic[1..1 + LiquidationPublic::PER_PROOF_INPUTS], &per_proof))
        .into_affine()
    }
}
