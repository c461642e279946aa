//! Bounded caches of pure functions of the verifier's inputs.
//!
//! Both cache exact results of deterministic computations, so a hit returns what a
//! recomputation would: the verdicts never depend on what is cached.
//!
//! - [`FoldCache`]: the shared public-input point of one price tick,
//!   `IC_0 + Σ_{k≥3} x_k·IC_k`, keyed by (risk-parameter digest, prices).
//! - [`ReportCache`]: the outcome of [`OracleConfig::verify`] keyed by (SHA-256 of the
//!   signed report's JSON, the clock's second). Every proof of one tick carries the
//!   same signed report; without the cache each would pay the committee's ECDSA
//!   verifications (≈ 2 × 60 µs), more than the rest of the per-proof checks.
//!
//! [`OracleConfig::verify`]: zkmargin_oracle::OracleConfig::verify

use std::{collections::HashMap, hash::Hash, sync::Mutex};

use ark_bn254::G1Projective;
use sha2::{Digest, Sha256};
use zkmargin_circuits::Prices;
use zkmargin_oracle::{OracleError, SignedReport, VerifiedReport};

/// Entries kept per cache before it is emptied (a tick changes prices every few
/// seconds; 256 ticks is minutes of history).
const ENTRIES: usize = 256;

/// A mutex-guarded map that empties itself when full.
pub(crate) struct Bounded<K, V> {
    map: Mutex<HashMap<K, V>>,
}

impl<K: Eq + Hash, V: Clone> Bounded<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value of `key`, or `compute()` (outside the lock) cached.
    pub(crate) fn get_or_insert_with(&self, key: K, compute: impl FnOnce() -> V) -> V {
        if let Some(v) = self.lock().get(&key) {
            return v.clone();
        }
        let value = compute();
        let mut map = self.lock();
        if map.len() >= ENTRIES {
            map.clear();
        }
        map.insert(key, value.clone());
        value
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
        // A panic while holding the lock cannot leave the map inconsistent (inserts
        // and clears are single calls), so a poisoned lock is still usable.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Folded shared public inputs per (risk-parameter digest, prices).
pub(crate) type FoldCache = Bounded<([u8; 32], Prices), G1Projective>;

/// Oracle verification outcomes per (signed report hash, now).
pub(crate) type ReportCache = Bounded<([u8; 32], u64), Result<VerifiedReport, OracleError>>;

/// SHA-256 of the signed report's JSON: injective, since the JSON encodes every field
/// of the report and of each signature, in order. `None` (never expected: the types
/// serialize infallibly) means "do not cache".
pub(crate) fn signed_report_key(signed: &SignedReport) -> Option<[u8; 32]> {
    let json = serde_json::to_vec(signed).ok()?;
    Some(Sha256::digest(json).into())
}
