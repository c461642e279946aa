//! The JSON messages on the bus: proof jobs (private: they carry the account), feed
//! items (public: a bundle) and claims. Every message has a `version`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zkmargin_circuits::{Account, Commitment};
use zkmargin_oracle::SignedReport;
use zkmargin_verifier::ProofBundle;

pub use crate::names::JobKind;

/// Version of every message this crate writes and reads.
pub const MESSAGE_VERSION: u32 = 1;

/// A proof job. **Private**: it carries the account's balances and blinding, so the
/// jobs stream must be readable by the venue's workers only (NATS permissions).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// [`MESSAGE_VERSION`].
    pub version: u32,
    /// What to prove.
    pub kind: JobKind,
    /// [`job_id`] of the job, hex: its `Nats-Msg-Id` on the work queue.
    pub job_id: String,
    /// The account state to prove about.
    pub account: Account,
    /// The signed report of the tick.
    pub report: SignedReport,
    /// Threshold τ (ppm) of a margin job; 1,000,000 for a liquidation.
    pub tau_ppm: u32,
    /// The liquidator the claim named (liquidation jobs only).
    pub liquidator: Option<u64>,
    /// SHA-256 of the risk parameters the engine scanned with, hex.
    pub params_digest: String,
    /// Seed of the prover's randomness (hex, 32 bytes, secret): derived from the
    /// engine's secret and the job id, so a job proved twice gives the same statement
    /// (the liquidation's new blinding included) and JetStream dedupes the bundle.
    pub seed: String,
    /// When the engine received the tick's report, unix ms.
    pub tick_ms: u64,
}

impl std::fmt::Debug for Job {
    // The account and the seed are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("kind", &self.kind)
            .field("job_id", &self.job_id)
            .field("account", &self.account)
            .field("tau_ppm", &self.tau_ppm)
            .field("liquidator", &self.liquidator)
            .finish_non_exhaustive()
    }
}

/// A job's id: SHA-256 over its kind, the account's commitment, the report digest, τ
/// and the liquidator. Equal jobs have equal ids, whoever publishes them and however
/// often (an engine restarted mid-tick republishes the same ids).
pub fn job_id(
    kind: JobKind,
    commitment: &Commitment,
    report_digest: &[u8; 32],
    tau_ppm: u32,
    liquidator: Option<u64>,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zkmargin.engine.job.v1\0");
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(commitment.to_hex().as_bytes());
    h.update(report_digest);
    h.update(tau_ppm.to_be_bytes());
    match liquidator {
        Some(l) => {
            h.update([1]);
            h.update(l.to_be_bytes());
        }
        None => h.update([0]),
    }
    h.finalize().into()
}

/// A bundle on the feed (public) or on an account's warning subject.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedItem {
    /// [`MESSAGE_VERSION`].
    pub version: u32,
    /// What the bundle proves.
    pub kind: JobKind,
    /// The job it answers.
    pub job_id: String,
    /// When the engine received the tick's report, unix ms (for tick-to-settled).
    pub tick_ms: u64,
    /// The proof.
    pub bundle: ProofBundle,
}

/// The digest of what a bundle states: SHA-256 over a domain tag, the statement's JSON
/// and the report's digest. Proof bytes are left out (Groth16 proofs are
/// re-randomizable): two proofs of one statement share the digest, and the feed's
/// `Nats-Msg-Id` is this digest, so JetStream stores the statement once.
pub fn statement_digest(bundle: &ProofBundle) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zkmargin.engine.statement.v1\0");
    h.update(serde_json::to_vec(&bundle.statement).unwrap_or_default());
    h.update(bundle.report.report.digest());
    h.finalize().into()
}

/// A keeper's claim of a breaching account at one report, published on the claim
/// subject of [`claim_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// [`MESSAGE_VERSION`].
    pub version: u32,
    /// The venue's id of the liquidator the fee goes to.
    pub liquidator: u64,
    /// The breaching commitment.
    pub commitment: Commitment,
    /// The report the breach was proven at, hex.
    pub report_digest: String,
    /// The breach bundle's statement digest, hex.
    pub breach_statement: String,
    /// When the keeper claimed, unix ms.
    pub claimed_ms: u64,
    /// The tick's time, unix ms (carried on to the liquidation job).
    pub tick_ms: u64,
}

/// A keeper's notice that it settled a liquidation on the ledger (`Settler::apply`
/// succeeded, or the ledger answered that this statement was already applied). Published
/// on the settled subject of `new_commitment` with `Nats-Msg-Id` = `statement_digest`.
/// The engine moves the account to its pending post-state on it — after checking the
/// ledger when it has one (`zkmargin engine run --ledger`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settled {
    /// [`MESSAGE_VERSION`].
    pub version: u32,
    /// The liquidator that settled it.
    pub liquidator: u64,
    /// The ledger's replay key ([`zkmargin_circuits::LiquidationPublic::digest`]), hex.
    pub statement_digest: String,
    /// The commitment before the liquidation.
    pub old_commitment: Commitment,
    /// The commitment after it: the ledger's current commitment of the account.
    pub new_commitment: Commitment,
    /// When the keeper settled it, unix ms.
    pub settled_ms: u64,
}

/// SHA-256 of a bundle's proof (its hex text): unknown to anyone until a worker
/// publishes the proof, so a claim that names it was made after the proof was public.
pub fn proof_digest(bundle: &ProofBundle) -> [u8; 32] {
    Sha256::digest(bundle.proof.as_bytes()).into()
}

/// The claim key of (commitment, report, breach proof):
/// `c<commitment hex>.r<report digest hex>.p<proof digest hex>`. The proof's digest in
/// the key means nobody can claim before the breach proof is on the feed (a guessed
/// claim lands on another subject, which the engine ignores, and blocks no one).
pub fn claim_key(commitment: &Commitment, report_digest: &[u8; 32], proof: &[u8; 32]) -> String {
    format!(
        "c{}.r{}.p{}",
        commitment.to_hex(),
        hex::encode(report_digest),
        hex::encode(proof)
    )
}

/// The inverse of [`claim_key`]: the commitment hex, the report digest, the proof digest.
pub fn parse_claim_key(key: &str) -> Option<(String, [u8; 32], [u8; 32])> {
    let mut parts = key.split('.');
    let c = parts.next()?.strip_prefix('c')?;
    let r = parts.next()?.strip_prefix('r')?;
    let p = parts.next()?.strip_prefix('p')?;
    if parts.next().is_some() {
        return None;
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(r, &mut digest).ok()?;
    let mut proof = [0u8; 32];
    hex::decode_to_slice(p, &mut proof).ok()?;
    Some((c.to_string(), digest, proof))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_separate_every_field() {
        let c = Commitment::of(&Account::empty(1, &mut rand::thread_rng()));
        let d = [7u8; 32];
        let base = job_id(JobKind::Breach, &c, &d, 1_000_000, None);
        assert_eq!(base, job_id(JobKind::Breach, &c, &d, 1_000_000, None));
        assert_ne!(base, job_id(JobKind::Warning, &c, &d, 1_000_000, None));
        assert_ne!(
            base,
            job_id(JobKind::Breach, &c, &[8u8; 32], 1_000_000, None)
        );
        assert_ne!(base, job_id(JobKind::Breach, &c, &d, 1_000_001, None));
        assert_ne!(base, job_id(JobKind::Breach, &c, &d, 1_000_000, Some(0)));
    }

    #[test]
    fn claim_keys_round_trip() {
        let c = Commitment::of(&Account::empty(1, &mut rand::thread_rng()));
        let key = claim_key(&c, &[9u8; 32], &[3u8; 32]);
        let (ch, d, p) = parse_claim_key(&key).unwrap();
        assert_eq!(ch, c.to_hex());
        assert_eq!(d, [9u8; 32]);
        assert_eq!(p, [3u8; 32]);
        assert!(parse_claim_key("nonsense").is_none());
        assert!(parse_claim_key(&format!("{key}.x")).is_none());
    }
}
