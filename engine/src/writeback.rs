//! The state an account will have after a liquidation job settles: derived from the
//! job alone (its account, report, liquidator and seed), by the engine when it queues
//! the job (recorded as pending) and by the worker after proving it (which refuses to
//! publish a transition whose new state differs). One function, two callers: the
//! engine's write-back cannot drift from what the prover proves without the worker
//! failing the job loudly.
//!
//! The derivation is [`zkmargin_prover::LiquidationProver::prove`]'s: the rules'
//! action ([`choose_liquidation`]) at the report's prices, the new blinding as the
//! first draw of the job's RNG ([`job_rng`]), the new state from the native twin
//! ([`apply_liquidation`]).

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use zkmargin_circuits::{
    apply_liquidation, Account, Blinding, Commitment, LiquidationPublic, LiquidationRules,
    RiskParams,
};
use zkmargin_prover::choose_liquidation;

use crate::messages::{Job, JobKind};

/// The prover's RNG of a job: ChaCha20 seeded with the job's `seed` (hex, 32 bytes).
///
/// # Errors
/// A sentence when the seed is not 32 hex bytes.
pub fn job_rng(seed_hex: &str) -> Result<ChaCha20Rng, String> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(seed_hex, &mut seed)
        .map_err(|_| "the job's seed is not 32 hex bytes".to_string())?;
    Ok(ChaCha20Rng::from_seed(seed))
}

/// A liquidation's outcome as the engine expects it to settle.
#[derive(Clone)]
pub struct PostState {
    /// The account after the liquidation (nonce + 1, the job's new blinding).
    pub account: Account,
    /// Commitment before.
    pub old_commitment: Commitment,
    /// Commitment after: what the ledger holds once the transition settles.
    pub new_commitment: Commitment,
    /// The statement's digest: the ledger's replay key.
    pub statement_digest: [u8; 32],
}

impl std::fmt::Debug for PostState {
    // The account is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostState")
            .field("old_commitment", &self.old_commitment)
            .field("new_commitment", &self.new_commitment)
            .finish_non_exhaustive()
    }
}

/// The post-state of liquidation `job` under `params`.
///
/// # Errors
/// A sentence: not a liquidation job, no liquidator, a bad seed, a report without a
/// price the parameters need, or the rules' refusal (healthy, nothing to act on).
pub fn post_state(job: &Job, params: &RiskParams) -> Result<PostState, String> {
    if job.kind != JobKind::Liquidation {
        return Err(format!("a {} job has no post-state", job.kind.as_str()));
    }
    let liquidator = job
        .liquidator
        .ok_or_else(|| "a liquidation job without a liquidator".to_string())?;
    let prices = zkmargin_circuits::Prices::from_feeds(params, |f| job.report.report.price(f))
        .map_err(|e| format!("the report has no price for feed {}", e.feed_id))?;
    let chosen = choose_liquidation(&job.account, params, &prices)
        .map_err(|e| format!("the rules choose no liquidation: {e}"))?;
    let old_commitment = Commitment::of(&job.account);
    let mut public = LiquidationPublic {
        old_commitment,
        new_commitment: old_commitment,
        liquidator,
        action: chosen.action,
        terms: chosen.terms,
        deficit: chosen.deficit,
        prices,
        weights: params.weights(),
        rules: LiquidationRules::from(params),
    };
    // The prover's first draw from the job's RNG is the new blinding.
    let new_blinding = Blinding::random(&mut job_rng(&job.seed)?);
    let account = apply_liquidation(&job.account, &public, new_blinding)
        .map_err(|e| format!("the native twin refuses the liquidation: {e}"))?;
    public.new_commitment = Commitment::of(&account);
    Ok(PostState {
        new_commitment: public.new_commitment,
        statement_digest: public.digest(),
        old_commitment,
        account,
    })
}
