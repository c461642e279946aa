//! The state an account will have after a liquidation job settles: derived from the
//! job alone (its account, report, liquidator and seed), by the engine when it queues
//! the job (recorded as pending) and by the worker, which proves exactly that state
//! (it hands the prover the job's blinding) and refuses to publish if the proof
//! opens to anything else.
//!
//! The derivation is the prover's own, [`plan_liquidation`], with the new blinding
//! drawn from the job's seed ([`liquidation_randomness`]): the engine's write-back
//! and the proof cannot drift apart.

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use zkmargin_circuits::{Account, Blinding, Commitment, RiskParams};
use zkmargin_prover::plan_liquidation;

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

/// A liquidation job's randomness: the new state's blinding, the first draw of the
/// job's RNG, and that RNG advanced past it for the proof, so that the proof's
/// randomness never repeats the blinding.
///
/// # Errors
/// A sentence when the seed is not 32 hex bytes.
pub fn liquidation_randomness(seed_hex: &str) -> Result<(Blinding, ChaCha20Rng), String> {
    let mut rng = job_rng(seed_hex)?;
    let blinding = Blinding::random(&mut rng);
    Ok((blinding, rng))
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
/// price the parameters need, or the rules' refusal (healthy, nothing to act on, no
/// legal action).
pub fn post_state(job: &Job, params: &RiskParams) -> Result<PostState, String> {
    if job.kind != JobKind::Liquidation {
        return Err(format!("a {} job has no post-state", job.kind.as_str()));
    }
    let liquidator = job
        .liquidator
        .ok_or_else(|| "a liquidation job without a liquidator".to_string())?;
    let prices = zkmargin_circuits::Prices::from_feeds(params, |f| job.report.report.price(f))
        .map_err(|e| format!("the report has no price for feed {}", e.feed_id))?;
    let (new_blinding, _) = liquidation_randomness(&job.seed)?;
    let plan = plan_liquidation(&job.account, params, prices, liquidator, new_blinding)
        .map_err(|e| format!("the rules choose no liquidation: {e}"))?;
    Ok(PostState {
        old_commitment: plan.public.old_commitment,
        new_commitment: plan.public.new_commitment,
        statement_digest: plan.public.digest(),
        account: plan.new_account,
    })
}
