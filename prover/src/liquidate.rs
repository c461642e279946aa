//! Proving a liquidation: the breaching state → the state after the smallest legal
//! action, packaged as a transition bundle.
//!
//! [`LiquidationProver::prove`] runs the margin prover's input checks (same checks,
//! same order, same errors), reads the prices, lets the policy
//! ([`choose_liquidation`]) pick the action — the smallest legal one that returns the
//! account to health where one exists, else the largest the close factor allows —
//! draws a fresh blinding (or takes the caller's), computes the new state with the
//! native twin ([`apply_liquidation`], which refuses exactly what the circuit cannot
//! prove), proves it, and verifies the bundle with the verifier library before
//! returning it. [`plan_liquidation`] is the same derivation without the proof, for a
//! venue that records the new state before proving it.
//!
//! The action is not a choice of the caller: the circuit's minimality clause accepts
//! only the amount the rules imply, so the prover finds it rather than takes it.

use std::{path::PathBuf, sync::Arc};

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_serialize::CanonicalSerialize;
use rand_core::{CryptoRng, RngCore};
use zkmargin_circuits::{
    apply_liquidation,
    r1cs::{LiquidationCircuit, LiquidationPrivate},
    Account, Blinding, Commitment, Health, LiquidationError, LiquidationPublic, LiquidationRules,
    Prices, RiskParams, Status,
};
use zkmargin_oracle::{OracleConfig, SignedReport};
use zkmargin_verifier::{
    bundle::{LiquidationStatement, Statement, PROOF_BYTES},
    FixedClock, ProofBundle, VerifiedLiquidation, Verifier, VerifyError, BUNDLE_VERSION,
};

use crate::{
    keys::{load_proving_key, KeyLoadError, LoadEvent, LoadedProvingKey},
    policy::{choose_liquidation, ChosenLiquidation},
    prove::{check_inputs, Checked, OracleCheck, ProveError, DEFAULT_TAU_PPM},
    registry::LIQUIDATION,
};

/// The largest liquidator id the settlement ledger stores (its columns are signed
/// 64-bit).
pub const MAX_LIQUIDATOR_ID: u64 = i64::MAX as u64;

/// What to liquidate.
#[derive(Debug, Clone, Copy)]
pub struct LiquidationRequest<'a> {
    /// The private account in breach.
    pub account: &'a Account,
    /// The risk parameters (their digest goes into the bundle).
    pub params: &'a RiskParams,
    /// The signed oracle report whose prices the liquidation uses.
    pub report: &'a SignedReport,
    /// The venue's id of the liquidator the fee is owed to (bound by the proof).
    pub liquidator: u64,
    /// Check the report against the verifier's oracle config before proving, and
    /// self-verify with it (as [`crate::MarginRequest::oracle`]).
    pub oracle: Option<OracleCheck<'a>>,
    /// Refuse unless the account commits to this (the venue's published commitment).
    pub commitment: Option<Commitment>,
    /// The new state's blinding. `None` draws a fresh one from the proving RNG; a
    /// venue that records the new state before the proof exists (the engine's
    /// write-back, through [`plan_liquidation`]) fixes it here, so the proof opens to
    /// the state it recorded.
    pub new_blinding: Option<Blinding>,
}

/// A liquidation worked out but not proven: the action, the statement and the state
/// after it ([`plan_liquidation`]).
#[derive(Clone)]
pub struct LiquidationPlan {
    /// The action the rules chose, its terms, the deficit, and whether health returns.
    pub chosen: ChosenLiquidation,
    /// The statement a proof of this liquidation proves (its `new_commitment` opens
    /// to `new_account`).
    pub public: LiquidationPublic,
    /// The account after the liquidation: nonce + 1, the given blinding.
    pub new_account: Account,
}

impl std::fmt::Debug for LiquidationPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The new account is the venue's secret.
        f.debug_struct("LiquidationPlan")
            .field("chosen", &self.chosen)
            .finish_non_exhaustive()
    }
}

/// The liquidation the rules imply for `account` at `prices`, and the state it leads
/// to with `new_blinding`: exactly what [`LiquidationProver::prove`] proves, without
/// the proof or the input checks (report, oracle, commitment). The policy
/// ([`choose_liquidation`]) picks the action; the native twin ([`apply_liquidation`],
/// which refuses exactly what the circuit cannot prove) computes the new state.
///
/// # Errors
/// [`ProveError::LiquidatorOutOfRange`]; [`ProveError::NothingToLiquidate`] for an
/// account that meets its margin; [`ProveError::NothingToActOn`] for a breach without
/// a position or borrow to act on; [`ProveError::Liquidation`] when no legal action
/// exists or the native twin rejects the chosen one.
pub fn plan_liquidation(
    account: &Account,
    params: &RiskParams,
    prices: Prices,
    liquidator: u64,
    new_blinding: Blinding,
) -> Result<LiquidationPlan, ProveError> {
    if liquidator > MAX_LIQUIDATOR_ID {
        return Err(ProveError::LiquidatorOutOfRange(liquidator));
    }
    let refuse = |error: LiquidationError| match error {
        LiquidationError::NotInBreach => ProveError::NothingToLiquidate {
            account: account.id,
        },
        error => ProveError::Liquidation {
            account: account.id,
            error,
        },
    };
    let weights = params.weights();
    if account.health(&weights, &prices).status(DEFAULT_TAU_PPM) == Status::Meets {
        return Err(ProveError::NothingToLiquidate {
            account: account.id,
        });
    }
    let chosen = choose_liquidation(account, params, &prices).map_err(|e| match e {
        // `choose_liquidation` reports an account without candidates as not in
        // breach; it does breach (checked above): it has nothing to act on.
        LiquidationError::NotInBreach => ProveError::NothingToActOn {
            account: account.id,
        },
        e => refuse(e),
    })?;
    let old_commitment = Commitment::of(account);
    let mut public = LiquidationPublic {
        old_commitment,
        // Set below from the new state; the native twin does not read it.
        new_commitment: old_commitment,
        liquidator,
        action: chosen.action,
        terms: chosen.terms,
        deficit: chosen.deficit,
        prices,
        weights,
        rules: LiquidationRules::from(params),
    };
    let new_account = apply_liquidation(account, &public, new_blinding).map_err(refuse)?;
    public.new_commitment = Commitment::of(&new_account);
    Ok(LiquidationPlan {
        chosen,
        public,
        new_account,
    })
}

/// A proven, self-verified liquidation.
#[derive(Clone)]
pub struct LiquidationProof {
    /// The transition bundle to hand to verifiers and the settlement ledger.
    pub bundle: ProofBundle,
    /// The account after the liquidation (nonce + 1, fresh blinding): the venue's new
    /// private state, which opens the bundle's new commitment.
    pub new_account: Account,
    /// The action the rules chose, its terms, the deficit, and whether health returns.
    pub chosen: ChosenLiquidation,
    /// The proven statement, with the prices, weights and rules it was proven at.
    pub public: LiquidationPublic,
    /// The account's health before (private: the prover's own knowledge).
    pub health_before: Health,
    /// Its health after.
    pub health_after: Health,
}

impl std::fmt::Debug for LiquidationProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The new account and the health figures are the venue's secrets.
        f.debug_struct("LiquidationProof")
            .field("bundle", &self.bundle)
            .finish_non_exhaustive()
    }
}

/// A prover holding the liquidation circuit's proving key.
#[derive(Debug)]
pub struct LiquidationProver {
    keys_dir: PathBuf,
    key: LoadedProvingKey,
}

impl LiquidationProver {
    /// Loads the liquidation proving key from `keys_dir` ([`load_proving_key`]).
    ///
    /// # Errors
    /// Any [`KeyLoadError`]; a keys directory made before the liquidation circuit
    /// existed has no entry for it ([`KeyLoadError::Key`], "run `zkmargin setup`").
    pub fn load(
        keys_dir: impl Into<PathBuf>,
        on_event: &mut dyn FnMut(LoadEvent<'_>),
    ) -> Result<Self, KeyLoadError> {
        let keys_dir = keys_dir.into();
        let key = load_proving_key(&keys_dir, &LIQUIDATION, on_event)?;
        Ok(Self { keys_dir, key })
    }

    /// The loaded key and what the manifest says about it.
    pub fn key(&self) -> &LoadedProvingKey {
        &self.key
    }

    /// Chooses, proves and self-verifies the liquidation of `request.account`.
    ///
    /// # Errors
    /// Any [`ProveError`]: the margin prover's input checks first, then
    /// [`ProveError::NothingToLiquidate`] for a healthy account,
    /// [`ProveError::Liquidation`] when no legal action exists or the native twin
    /// rejects the chosen one — all before any proving work.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        request: &LiquidationRequest<'_>,
        rng: &mut R,
    ) -> Result<LiquidationProof, ProveError> {
        let LiquidationRequest {
            account,
            params,
            report,
            liquidator,
            oracle,
            commitment,
            new_blinding,
        } = *request;
        if liquidator > MAX_LIQUIDATOR_ID {
            return Err(ProveError::LiquidatorOutOfRange(liquidator));
        }
        let Checked {
            commitment: _,
            config,
            now,
            prices,
        } = check_inputs(account, params, commitment, report, oracle)?;
        let weights = params.weights();
        let health_before = account.health(&weights, &prices);
        let new_blinding = new_blinding.unwrap_or_else(|| Blinding::random(rng));
        let LiquidationPlan {
            chosen,
            public,
            new_account,
        } = plan_liquidation(account, params, prices, liquidator, new_blinding)?;

        let circuit = LiquidationCircuit {
            public,
            private: Some(LiquidationPrivate {
                old: account.clone(),
                new_blinding,
            }),
        };
        let proof =
            Groth16::<Bn254>::create_random_proof_with_reduction(circuit, &self.key.key, rng)
                .map_err(|e| ProveError::Prove(e.to_string()))?;
        let mut proof_bytes = Vec::with_capacity(PROOF_BYTES);
        proof
            .serialize_compressed(&mut proof_bytes)
            .map_err(|e| ProveError::Prove(e.to_string()))?;
        let bundle = ProofBundle {
            version: BUNDLE_VERSION,
            key_fingerprint: self.key.verifying_key_fingerprint.clone(),
            statement: Statement::Liquidation(Box::new(LiquidationStatement {
                old_commitment: public.old_commitment,
                new_commitment: public.new_commitment,
                liquidator,
                action: public.action,
                deficit: public.deficit,
                terms: public.terms,
                risk_params_digest: params.digest(),
            })),
            report: report.clone(),
            proof: hex::encode(proof_bytes),
        };
        self.self_verify(&bundle, params, &public, config, now)?;
        Ok(LiquidationProof {
            bundle,
            health_before,
            health_after: new_account.health(&weights, &public.prices),
            new_account,
            chosen,
            public,
        })
    }

    /// Defence in depth, as the margin prover: the bundle, through its JSON form, must
    /// pass `verify_liquidation` against the verifying-key *file*, and the verified
    /// statement must be the one proven.
    fn self_verify(
        &self,
        bundle: &ProofBundle,
        params: &RiskParams,
        public: &LiquidationPublic,
        config: OracleConfig,
        now: u64,
    ) -> Result<VerifiedLiquidation, ProveError> {
        let verifier = Verifier::from_keys_dir(&self.keys_dir, config, vec![params.clone()])?
            .with_clock(Arc::new(FixedClock(now)));
        let round_trip = crate::prove::json_round_trip(bundle)?;
        let fail = |error: VerifyError| ProveError::SelfVerify {
            code: error.code(),
            error,
        };
        let verified = verifier.verify_liquidation(&round_trip).map_err(fail)?;
        if verified.statement_digest() != public.digest() {
            return Err(fail(VerifyError::InvalidProof));
        }
        Ok(verified)
    }
}
