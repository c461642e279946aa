//! Shared fixture of the verifier's tests: keys made once per test binary, a pool of
//! real proofs at one price tick, and a verifier whose clock is 30 s after that tick.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::Status;
use zkmargin_oracle::SignedReport;
use zkmargin_verifier::{testkit::Fixture, FixedClock, ProofBundle, Verifier};

/// Observation time of the pool's report.
pub const T0: u64 = 1_700_000_000;
/// The verifier's clock: 30 s after [`T0`], inside the development committee's 300 s.
pub const NOW: u64 = T0 + 30;

pub struct Pool {
    pub fixture: Fixture,
    pub report: SignedReport,
    /// Valid proofs at [`T0`]: even indices meet, odd indices breach.
    pub valid: Vec<ProofBundle>,
}

pub fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let fixture = Fixture::new(42);
        let report = fixture.signed_report(T0);
        let mut rng = ChaCha20Rng::seed_from_u64(43);
        let valid = (0..8)
            .map(|i| {
                let status = if i % 2 == 0 {
                    Status::Meets
                } else {
                    Status::Breaches
                };
                fixture.bundle(1000 + i, status, &report, &mut rng)
            })
            .collect();
        Pool {
            fixture,
            report,
            valid,
        }
    })
}

/// A verifier of the pool's keys with the clock at [`NOW`].
pub fn verifier() -> Verifier {
    pool()
        .fixture
        .verifier()
        .expect("fixture keys load")
        .with_clock(Arc::new(FixedClock(NOW)))
}
