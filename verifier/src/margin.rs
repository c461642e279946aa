//! Margin statements: single verification, the typed verdicts, and the fold of the
//! shared public inputs that single and batch verification use.

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::PrimeField;
use serde::Serialize;
use zkmargin_circuits::{Commitment, MarginPublic, MarginWeights, Prices, Status, PPM};
use zkmargin_oracle::VerifiedReport;

use crate::{
    bundle::{MarginStatement, ProofBundle, PROOF_BYTES},
    error::VerifyError,
    pairing::{final_exponentiation, miller_loop},
    prepared::{decode_g1, decode_g2_prepared, PreparedProof},
    verifier::{Prechecked, Verifier},
};

/// A verified margin statement. Only this crate constructs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedMargin {
    commitment: Commitment,
    status: Status,
    tau_ppm: u32,
    #[serde(with = "hex::serde")]
    risk_params_digest: [u8; 32],
    #[serde(with = "hex::serde")]
    report_digest: [u8; 32],
    report_observed_at: u64,
    #[serde(with = "hex::serde")]
    oracle_config_digest: [u8; 32],
    key_fingerprint: String,
}

impl VerifiedMargin {
    /// The account commitment.
    pub fn commitment(&self) -> Commitment {
        self.commitment
    }
    /// Meets or breaches.
    pub fn status(&self) -> Status {
        self.status
    }
    /// Threshold τ in ppm.
    pub fn tau_ppm(&self) -> u32 {
        self.tau_ppm
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
    /// Fingerprint of the verifying key.
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }
}

/// A verified breach at threshold τ: the only input settlement accepts to start a
/// liquidation. It has no public constructor.
///
/// Health falls as τ rises, so a breach at τ ≤ 1 (1,000,000 ppm) implies a breach of
/// the maintenance line, while a breach at τ > 1 is only an early warning: settlement
/// must check [`VerifiedBreach::is_liquidatable`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct VerifiedBreach(VerifiedMargin);

impl VerifiedBreach {
    /// True when the breach is at or below the maintenance line (τ ≤ 1,000,000 ppm),
    /// which implies the account breaches maintenance: grounds for liquidation.
    pub fn is_liquidatable(&self) -> bool {
        u64::from(self.0.tau_ppm) <= PPM
    }
}

impl std::ops::Deref for VerifiedBreach {
    type Target = VerifiedMargin;
    fn deref(&self) -> &VerifiedMargin {
        &self.0
    }
}

/// The outcome of verifying a margin bundle. Serialized as the verified statement,
/// whose `status` field (`meets` / `breaches`) tells the variants apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Verdict {
    /// The account meets its threshold.
    Meets(VerifiedMargin),
    /// The account breaches its threshold.
    Breach(VerifiedBreach),
}

impl Verdict {
    /// The verified statement, whatever its status.
    pub fn margin(&self) -> &VerifiedMargin {
        match self {
            Verdict::Meets(m) => m,
            Verdict::Breach(b) => &b.0,
        }
    }
}

impl Verifier {
    /// Verifies one bundle.
    ///
    /// Checks, cheapest first: format version and proof size; key fingerprint; risk
    /// parameters known; oracle signatures (committee members, quorum) and freshness
    /// against the clock; a price for every feed the parameters use; proof points on
    /// the curve and in the subgroup; the pairing check.
    ///
    /// # Errors
    /// The first failed check, as a [`VerifyError`].
    pub fn verify(&self, bundle: &ProofBundle) -> Result<Verdict, VerifyError> {
        let (facts, bytes) = self.check_margin_statement(bundle)?;
        if !self.decode_and_pairing_check(&facts, &bytes)? {
            return Err(VerifyError::InvalidProof);
        }
        Ok(facts.verdict())
    }

    /// Decodes the proof points and checks `e(A, B) · e(vk_x, −γ) · e(C, −δ) = e(α, β)`
    /// in one fork of two halves that each end in a final exponentiation: one decodes A
    /// and B, prepares B's lines with its G2 membership decided on the way
    /// ([`crate::pairing::prepare_in_g2`]) and computes `e(A, B)`; the other decodes C,
    /// folds the public inputs into `vk_x` and computes `e(vk_x, −γ) · e(C, −δ)` (the
    /// lines of −γ and −δ prepared and normalized once per key,
    /// [`crate::pairing::NormalizedLines`]). Their product is compared with the cached
    /// `e(α, β)`.
    ///
    /// Two final exponentiations instead of one cost CPU, but not latency: the final
    /// exponentiation cannot be split, and ending each half with one keeps both threads
    /// busy to the end, so the pool's second thread is still awake when the next
    /// verification forks. With one final exponentiation after the join it falls
    /// asleep during it and is woken late (median 45 µs, p90 0.4 ms on the 2-core VM).
    /// Measured with criterion on that machine: this layout 0.86 ms, one final
    /// exponentiation after the join 1.07 ms, everything on the caller's thread
    /// 1.08 ms. Throughput is the batch path's job ([`Verifier::verify_batch`]).
    ///
    /// # Errors
    /// [`VerifyError::InvalidPoints`] naming the first bad point in the order A, B, C.
    fn decode_and_pairing_check(
        &self,
        facts: &MarginFacts,
        bytes: &[u8; PROOF_BYTES],
    ) -> Result<bool, VerifyError> {
        let pvk = &self.margin.pvk;
        let (ab, rest) = rayon::join(
            || {
                let a = decode_g1("A", &bytes[..32])?;
                let b = decode_g2_prepared("B", &bytes[32..96])?;
                Ok::<_, VerifyError>(final_exponentiation(&miller_loop(&[(&a, &b)], &[])))
            },
            || {
                let c = decode_g1("C", &bytes[96..])?;
                let vk_x = self.margin_vk_x(facts).into_affine();
                Ok::<_, VerifyError>(final_exponentiation(&miller_loop(
                    &[],
                    &[
                        (&vk_x, &self.margin.lines.gamma),
                        (&c, &self.margin.lines.delta),
                    ],
                )))
            },
        );
        // A Miller loop's output is never zero: both exponentiations are `Some`.
        Ok(
            matches!((ab?, rest?), (Some(e_ab), Some(e_rest)) if e_ab * e_rest == pvk.alpha_g1_beta_g2),
        )
    }

    /// Every check of [`Self::verify`] except the pairing; what a batch needs per bundle.
    pub(crate) fn check_margin(&self, bundle: &ProofBundle) -> Result<CheckedMargin, VerifyError> {
        let (facts, bytes) = self.check_margin_statement(bundle)?;
        Ok(CheckedMargin {
            proof: PreparedProof::decode(&bytes)?,
            facts,
        })
    }

    /// Every check but the proof points and the pairing ([`Verifier::precheck`]);
    /// returns the proof bytes.
    fn check_margin_statement(
        &self,
        bundle: &ProofBundle,
    ) -> Result<(MarginFacts, [u8; PROOF_BYTES]), VerifyError> {
        let Prechecked {
            statement,
            weights,
            report,
            prices,
            proof,
            ..
        } = self.precheck::<MarginStatement>(bundle)?;
        let facts = MarginFacts {
            public: MarginPublic {
                commitment: statement.commitment,
                status: statement.status,
                tau_ppm: statement.tau_ppm,
                prices,
                weights,
            },
            statement: statement.clone(),
            report,
            oracle_digest: self.oracle_digest,
            key_fingerprint: self.margin.fingerprint.clone(),
        };
        Ok((facts, proof))
    }

    /// `vk_x = IC_0 + Σ x_k·IC_{k+1}` with the shared inputs (prices, weights) folded
    /// once per (parameters, prices) and cached: per proof only the commitment (a
    /// window-table multiplication), the status bit (an addition) and τ (a 32-bit
    /// window-table multiplication) cost anything.
    pub(crate) fn margin_vk_x(&self, checked: &MarginFacts) -> G1Projective {
        let shared = self.shared_fold(
            checked.statement.risk_params_digest,
            &checked.public.prices,
            &checked.public.weights,
        );
        self.per_proof_fold(&checked.public) + shared
    }

    /// `IC_0 + Σ_{k ≥ PER_PROOF_INPUTS} x_k·IC_{k+1}` for one tick, from the cache.
    pub(crate) fn shared_fold(
        &self,
        digest: [u8; 32],
        prices: &Prices,
        weights: &MarginWeights,
    ) -> G1Projective {
        self.fold_cache.get_or_insert_with((digest, *prices), || {
            fold_shared_inputs(&self.margin.pvk.vk.gamma_abc_g1, prices, weights)
        })
    }

    /// `Σ_{k < PER_PROOF_INPUTS} x_k·IC_{k+1}`: commitment, status bit and τ.
    pub(crate) fn per_proof_fold(&self, public: &MarginPublic) -> G1Projective {
        let key = &self.margin;
        let mut acc = key.ic_commitment.mul(&public.commitment.0);
        if public.status.bit() {
            acc += key.ic(MarginPublic::STATUS);
        }
        acc + key.ic_tau.mul(&Fr::from(public.tau_ppm))
    }
}

/// `IC_0 + Σ_{k ≥ PER_PROOF_INPUTS} x_k·IC_{k+1}`: the shared inputs of the margin
/// statement, one MSM.
pub(crate) fn fold_shared_inputs(
    ic: &[G1Affine],
    prices: &Prices,
    weights: &MarginWeights,
) -> G1Projective {
    let scalars = MarginPublic::shared_field_elements(prices, weights);
    let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
    ic[0].into_group() + G1Projective::msm_bigint(&ic[1 + MarginPublic::PRICES..], &bigints)
}

/// What a margin bundle states, after every check but the proof's points and pairing.
pub(crate) struct MarginFacts {
    pub(crate) public: MarginPublic,
    pub(crate) statement: MarginStatement,
    pub(crate) report: VerifiedReport,
    pub(crate) oracle_digest: [u8; 32],
    pub(crate) key_fingerprint: String,
}

/// A bundle that passed every check but the pairing: its facts and decoded proof.
pub(crate) struct CheckedMargin {
    pub(crate) facts: MarginFacts,
    pub(crate) proof: PreparedProof,
}

impl std::ops::Deref for CheckedMargin {
    type Target = MarginFacts;
    fn deref(&self) -> &MarginFacts {
        &self.facts
    }
}

impl CheckedMargin {
    pub(crate) fn verdict(self) -> Verdict {
        self.facts.verdict()
    }
}

impl MarginFacts {
    pub(crate) fn verdict(self) -> Verdict {
        let m = VerifiedMargin {
            commitment: self.public.commitment,
            status: self.public.status,
            tau_ppm: self.public.tau_ppm,
            risk_params_digest: self.statement.risk_params_digest,
            report_digest: self.report.digest(),
            report_observed_at: self.report.observed_at(),
            oracle_config_digest: self.oracle_digest,
            key_fingerprint: self.key_fingerprint,
        };
        match m.status {
            Status::Meets => Verdict::Meets(m),
            Status::Breaches => Verdict::Breach(VerifiedBreach(m)),
        }
    }
}
