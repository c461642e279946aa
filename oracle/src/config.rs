//! The verifier's oracle configuration and the verification of signed reports.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::parse_signature;
use crate::report::{PriceReport, ReportError};
use crate::{SignedReport, SignerId, CONFIG_VERSION};

/// Domain tag that starts every config encoding.
pub const CONFIG_DOMAIN: &[u8] = b"zkmargin/oracle-config/v1";
/// Largest committee.
pub const MAX_SIGNERS: usize = 32;

/// Which oracle committee a verifier trusts, how many of them must sign, and how
/// fresh a report must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    /// Encoding version; must be [`CONFIG_VERSION`].
    pub version: u32,
    /// The committee: 1..=32 distinct signers, in any order.
    pub signers: Vec<SignerId>,
    /// Distinct committee signatures required, `1..=signers.len()` (k of n).
    pub quorum: u32,
    /// Oldest acceptable report: `now - observed_at <= max_age_secs`; > 0.
    pub max_age_secs: u64,
    /// Tolerated clock skew: `observed_at <= now + max_future_skew_secs`.
    pub max_future_skew_secs: u64,
}

/// Why an oracle configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `version` is not [`CONFIG_VERSION`].
    #[error(
        "oracle config version {found} is not supported; this verifier reads version {expected}"
    )]
    UnsupportedVersion {
        /// Version in the config.
        found: u32,
        /// Version this crate reads.
        expected: u32,
    },
    /// `signers` is empty.
    #[error("oracle config has no signers; list at least one committee public key")]
    NoSigners,
    /// More than [`MAX_SIGNERS`] signers.
    #[error(
        "oracle config lists {count} signers, at most {max} are allowed; shrink the committee"
    )]
    TooManySigners {
        /// Signers listed.
        count: usize,
        /// [`MAX_SIGNERS`].
        max: usize,
    },
    /// A signer listed twice.
    #[error("oracle config lists signer {0} twice; list each committee member once")]
    DuplicateSigner(SignerId),
    /// `quorum == 0`.
    #[error(
        "oracle config quorum is 0, which would accept unsigned reports; set quorum to at least 1"
    )]
    ZeroQuorum,
    /// `quorum > signers.len()`.
    #[error("oracle config quorum {quorum} exceeds the {signers} listed signers; lower the quorum or add signers")]
    QuorumAboveSigners {
        /// Quorum asked for.
        quorum: u32,
        /// Signers listed.
        signers: usize,
    },
    /// `max_age_secs == 0`.
    #[error("oracle config max_age_secs is 0, which rejects every report; set it to the oldest acceptable report age in seconds")]
    ZeroMaxAge,
}

impl ConfigError {
    /// Stable snake_case code of this error, for machine-readable error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedVersion { .. } => "config_unsupported_version",
            Self::NoSigners => "config_no_signers",
            Self::TooManySigners { .. } => "config_too_many_signers",
            Self::DuplicateSigner(_) => "config_duplicate_signer",
            Self::ZeroQuorum => "config_zero_quorum",
            Self::QuorumAboveSigners { .. } => "config_quorum_above_signers",
            Self::ZeroMaxAge => "config_zero_max_age",
        }
    }
}

/// Why a signed report was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OracleError {
    /// The verifier's own configuration is invalid (checked before anything else).
    #[error("invalid oracle configuration: {0}")]
    Config(#[from] ConfigError),
    /// The report is malformed.
    #[error("invalid price report: {0}")]
    Report(#[from] ReportError),
    /// A signature string is not a well-formed low-S `r || s`.
    #[error("signature by {signer} is malformed: {reason}")]
    MalformedSignature {
        /// Who the signature claims to be from.
        signer: SignerId,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature names a signer outside the committee.
    #[error(
        "signer {0} is not in the oracle committee; remove its signature or add it to the config"
    )]
    UnknownSigner(SignerId),
    /// Two signatures name the same signer.
    #[error("signer {0} signed more than once; keep one signature per signer")]
    DuplicateSigner(SignerId),
    /// A signature does not verify over the report digest.
    #[error("signature by {0} does not verify over this report; the report was changed after signing or the signature belongs to another report")]
    BadSignature(SignerId),
    /// Fewer distinct valid signatures than the quorum.
    #[error("{valid} valid committee signatures, {required} required; collect more signatures")]
    QuorumNotMet {
        /// Distinct valid committee signatures.
        valid: usize,
        /// The quorum.
        required: usize,
    },
    /// `observed_at` is beyond `now` plus the tolerated skew.
    #[error("report observed_at {observed_at} is in the future (now {now}); check the oracle's and this verifier's clocks")]
    FromFuture {
        /// Observation time.
        observed_at: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// `now >= expires_at`.
    #[error("report expired at {expires_at} (now {now}); fetch a fresh signed report")]
    Expired {
        /// Expiry time.
        expires_at: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// `now - observed_at > max_age_secs`.
    #[error("report is {age_secs} s old, at most {max_age_secs} s is accepted; fetch a fresh signed report")]
    Stale {
        /// `now - observed_at`.
        age_secs: u64,
        /// The configured maximum.
        max_age_secs: u64,
    },
}

impl OracleError {
    /// Stable snake_case code of this error, for machine-readable error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "oracle_invalid_config",
            Self::Report(_) => "oracle_invalid_report",
            Self::MalformedSignature { .. } => "oracle_malformed_signature",
            Self::UnknownSigner(_) => "oracle_unknown_signer",
            Self::DuplicateSigner(_) => "oracle_duplicate_signer",
            Self::BadSignature(_) => "oracle_bad_signature",
            Self::QuorumNotMet { .. } => "oracle_quorum_not_met",
            Self::FromFuture { .. } => "oracle_report_from_future",
            Self::Expired { .. } => "oracle_report_expired",
            Self::Stale { .. } => "oracle_stale_report",
        }
    }
}

/// A report that passed [`OracleConfig::verify`]; only this crate can make one.
///
/// Functions that must only see committee-signed, fresh prices take this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReport {
    report: PriceReport,
    digest: [u8; 32],
    config_digest: [u8; 32],
    signers: Vec<SignerId>,
}

impl VerifiedReport {
    /// The verified report.
    pub fn report(&self) -> &PriceReport {
        &self.report
    }

    /// [`PriceReport::digest`] of the report: what the committee signed.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// When the prices were observed, unix seconds.
    pub fn observed_at(&self) -> u64 {
        self.report.observed_at
    }

    /// When the report expires, unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.report.expires_at
    }

    /// [`OracleConfig::digest`] of the configuration it was verified against.
    pub fn config_digest(&self) -> [u8; 32] {
        self.config_digest
    }

    /// The committee members whose signatures verified, ascending.
    pub fn signers(&self) -> &[SignerId] {
        &self.signers
    }

    /// The signed price of `feed_id`, if the report carries it.
    pub fn price(&self, feed_id: &str) -> Option<u64> {
        self.report.price(feed_id)
    }

    /// Gives back the report, dropping the proof that it was verified.
    pub fn into_report(self) -> PriceReport {
        self.report
    }
}

impl OracleConfig {
    /// Checks version, committee size (1..=32), distinct signers, `1 <= quorum <= n`
    /// and `max_age_secs > 0`.
    ///
    /// # Errors
    /// The first [`ConfigError`] found, in that order.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.version != CONFIG_VERSION {
            return Err(ConfigError::UnsupportedVersion {
                found: self.version,
                expected: CONFIG_VERSION,
            });
        }
        if self.signers.is_empty() {
            return Err(ConfigError::NoSigners);
        }
        if self.signers.len() > MAX_SIGNERS {
            return Err(ConfigError::TooManySigners {
                count: self.signers.len(),
                max: MAX_SIGNERS,
            });
        }
        let mut seen = BTreeSet::new();
        for signer in &self.signers {
            if !seen.insert(*signer) {
                return Err(ConfigError::DuplicateSigner(*signer));
            }
        }
        if self.quorum == 0 {
            return Err(ConfigError::ZeroQuorum);
        }
        if self.quorum as usize > self.signers.len() {
            return Err(ConfigError::QuorumAboveSigners {
                quorum: self.quorum,
                signers: self.signers.len(),
            });
        }
        if self.max_age_secs == 0 {
            return Err(ConfigError::ZeroMaxAge);
        }
        Ok(())
    }

    /// The canonical encoding (integers big-endian); signers sorted, so the order in
    /// the file does not matter:
    ///
    /// ```text
    /// u8 len || "zkmargin/oracle-config/v1"
    /// version u32 || quorum u32 || max_age_secs u64 || max_future_skew_secs u64
    /// signer count u8 || each signer's 33 compressed bytes, ascending byte order
    /// ```
    ///
    /// Injective on configs that pass [`OracleConfig::validate`] (≤ 32 signers).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut signers = self.signers.clone();
        signers.sort_unstable();
        let mut out = Vec::with_capacity(1 + CONFIG_DOMAIN.len() + 25 + 33 * signers.len());
        out.push(CONFIG_DOMAIN.len() as u8);
        out.extend_from_slice(CONFIG_DOMAIN);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.quorum.to_be_bytes());
        out.extend_from_slice(&self.max_age_secs.to_be_bytes());
        out.extend_from_slice(&self.max_future_skew_secs.to_be_bytes());
        // Truncating cast: valid configs have at most 32 signers.
        out.push(signers.len() as u8);
        for signer in &signers {
            out.extend_from_slice(signer.as_bytes());
        }
        out
    }

    /// SHA-256 of [`OracleConfig::canonical_bytes`]: names this committee and policy.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }

    /// Accepts `signed` only if a quorum of this committee signed exactly its report
    /// and the report is fresh at `now` (unix seconds).
    ///
    /// Checks, in order: this config is valid; `report.validate()`; every signature
    /// parses (128 hex chars, low-S); every signer is in the committee; no signer
    /// appears twice; every signature verifies over `report.digest()`; the number of
    /// distinct valid signers reaches the quorum; then freshness:
    /// `observed_at > now + max_future_skew_secs` is from the future,
    /// `now >= expires_at` is expired, `now - observed_at > max_age_secs` is stale.
    ///
    /// # Errors
    /// The first [`OracleError`] found, in the order above.
    pub fn verify(&self, signed: &SignedReport, now: u64) -> Result<VerifiedReport, OracleError> {
        self.validate()?;
        let report = &signed.report;
        report.validate()?;

        let mut parsed = Vec::with_capacity(signed.signatures.len());
        for sig in &signed.signatures {
            let signature = parse_signature(&sig.signature).map_err(|reason| {
                OracleError::MalformedSignature {
                    signer: sig.signer,
                    reason,
                }
            })?;
            parsed.push((sig.signer, signature));
        }

        let committee: BTreeSet<SignerId> = self.signers.iter().copied().collect();
        if let Some((signer, _)) = parsed.iter().find(|(s, _)| !committee.contains(s)) {
            return Err(OracleError::UnknownSigner(*signer));
        }

        let mut seen = BTreeSet::new();
        for (signer, _) in &parsed {
            if !seen.insert(*signer) {
                return Err(OracleError::DuplicateSigner(*signer));
            }
        }

        // The expensive part last among the signature checks: at most MAX_SIGNERS
        // verifications, since every signer is a distinct committee member by now.
        let digest = report.digest();
        for (signer, signature) in &parsed {
            if !signer.verifies(&digest, signature) {
                return Err(OracleError::BadSignature(*signer));
            }
        }

        let valid = seen.len();
        let required = self.quorum as usize;
        if valid < required {
            return Err(OracleError::QuorumNotMet { valid, required });
        }

        if report.observed_at > now.saturating_add(self.max_future_skew_secs) {
            return Err(OracleError::FromFuture {
                observed_at: report.observed_at,
                now,
            });
        }
        if now >= report.expires_at {
            return Err(OracleError::Expired {
                expires_at: report.expires_at,
                now,
            });
        }
        // Within the tolerated skew observed_at may exceed now: age 0.
        let age_secs = now.saturating_sub(report.observed_at);
        if age_secs > self.max_age_secs {
            return Err(OracleError::Stale {
                age_secs,
                max_age_secs: self.max_age_secs,
            });
        }

        Ok(VerifiedReport {
            report: report.clone(),
            digest,
            config_digest: self.digest(),
            signers: seen.into_iter().collect(),
        })
    }
}
