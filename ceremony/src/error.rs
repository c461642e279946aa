//! The phase-2 error type, shared by [`crate::phase2`] and [`crate::ceremony`].

use ark_relations::gr1cs::SynthesisError;

use crate::ptau::PtauError;

/// Everything that can go wrong in phase 2: building the initial parameters, reading or
/// writing a ceremony file, contributing, and verifying a transcript. Each tampering a
/// verifier must catch has its own variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// The ptau is unusable (malformed, inconsistent, too small).
    #[error(transparent)]
    Ptau(#[from] PtauError),
    /// The circuit failed to synthesize.
    #[error("circuit synthesis failed: {0}")]
    Synthesis(#[source] SynthesisError),
    /// The circuit uses constraint predicates other than R1CS, which Groth16 cannot prove.
    #[error("the circuit has constraints other than R1CS; Groth16 proves R1CS only")]
    NotR1cs,
    /// The circuit's FFT domain exceeds what BN254's scalar field supports (2^28).
    #[error("the circuit needs an FFT domain of {0} points, beyond BN254's 2^28")]
    DomainTooLarge(usize),
    /// Reading or writing a ceremony file failed.
    #[error("ceremony file I/O: {0}")]
    Io(#[source] std::io::Error),
    /// The first bytes are not the ceremony magic.
    #[error("not a zkmargin ceremony file (bad magic bytes)")]
    BadMagic,
    /// A format version this build does not read.
    #[error("unsupported ceremony file version {0} (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// The file ends inside a part it announces.
    #[error("truncated ceremony file: {0} runs past the end")]
    Truncated(&'static str),
    /// Bytes after the last record.
    #[error("{0} bytes after the last contribution record")]
    TrailingBytes(usize),
    /// A field that does not decode (text that is not UTF-8, an unknown record kind, a
    /// length out of bounds, an invalid point).
    #[error("malformed ceremony file: {0}")]
    Malformed(String),
    /// The parameters do not decode or hold an invalid point (arkworks' checked
    /// uncompressed deserialization: on the curve and in the subgroup).
    #[error("the parameters in the ceremony file do not decode: {0}")]
    InvalidParameters(String),
    /// The file's constraint-matrix digest is not the circuit's: a transcript for another
    /// circuit.
    #[error("the ceremony file is for another circuit: its constraint digest is {found}, the circuit's is {expected}")]
    CircuitMismatch {
        /// The digest of the circuit given to the verifier (hex).
        expected: String,
        /// The digest in the file (hex).
        found: String,
    },
    /// The file names another circuit id than the one expected.
    #[error("the ceremony file is for circuit id {found:?}, {expected:?} was expected")]
    CircuitIdMismatch {
        /// The expected id.
        expected: String,
        /// The id in the file.
        found: String,
    },
    /// The file was made from another ptau than the one given.
    #[error("the ceremony file was made from the ptau with BLAKE2b {found}, not the one given ({expected})")]
    PtauMismatch {
        /// BLAKE2b of the ptau given (hex).
        expected: String,
        /// BLAKE2b recorded in the file (hex).
        found: String,
    },
    /// A part of the parameters that no contribution may change differs from the initial
    /// parameters (or from the previous file's).
    #[error("the parameters' {0} differ from the initial parameters: only δ, L and H may change")]
    ParametersAltered(&'static str),
    /// A record's previous-transcript hash is not the hash of the transcript before it.
    #[error("contribution {index}: the hash chain is broken (its previous-transcript hash is not the transcript's)")]
    HashChainBroken {
        /// Index of the record (0-based).
        index: usize,
    },
    /// A record carries the point at infinity where a proof of knowledge or a δ needs a
    /// non-zero point (with `S = 0` any `R·s` would pass the pairing check).
    #[error("contribution {index}: {which} is the point at infinity")]
    DegeneratePoint {
        /// Index of the record.
        index: usize,
        /// Which point.
        which: &'static str,
    },
    /// A record's proof of knowledge is copied from an earlier record.
    #[error("contribution {index}: its proof of knowledge replays contribution {original}'s")]
    ProofOfKnowledgeReplayed {
        /// Index of the replaying record.
        index: usize,
        /// Index of the record it copies.
        original: usize,
    },
    /// A record's proof of knowledge does not verify against the transcript it is bound
    /// to (forged, or made for another transcript).
    #[error("contribution {index}: the proof of knowledge of its secret does not verify")]
    ProofOfKnowledgeInvalid {
        /// Index of the record.
        index: usize,
    },
    /// A record's δ in G1 and δ in G2 hold different secrets.
    #[error("contribution {index}: δ in G1 and δ in G2 disagree")]
    DeltaInconsistent {
        /// Index of the record.
        index: usize,
    },
    /// A record's new δ is not the previous δ times the secret its proof of knowledge is
    /// about.
    #[error("contribution {index}: the new δ is not the previous δ times the proven secret")]
    DeltaUpdateInvalid {
        /// Index of the record.
        index: usize,
    },
    /// A beacon record does not match the secret its public value derives.
    #[error("contribution {index}: the beacon's points do not follow from its public value")]
    BeaconMismatch {
        /// Index of the record.
        index: usize,
    },
    /// A beacon asks for more hash iterations than verification will spend.
    #[error("a beacon of 2^{0} iterations is beyond the limit of 2^{max}", max = crate::ceremony::MAX_BEACON_ITERATIONS_EXP)]
    BeaconTooSlow(u8),
    /// A record after the closing beacon.
    #[error("contribution {index} comes after the beacon that closed the ceremony")]
    ContributionAfterBeacon {
        /// Index of the record.
        index: usize,
    },
    /// `contribute` or `beacon` on a ceremony a beacon already closed.
    #[error("the ceremony is closed: a beacon was applied")]
    Closed,
    /// The parameters' δ is not the last record's.
    #[error("the parameters' δ is not the δ of the last contribution")]
    ParametersDeltaMismatch,
    /// The L query was not rescaled by exactly the inverse of the δ update.
    #[error("the L query was not rescaled by the inverse of the δ update")]
    LQueryNotRescaled,
    /// The H query was not rescaled by exactly the inverse of the δ update.
    #[error("the H query was not rescaled by the inverse of the δ update")]
    HQueryNotRescaled,
    /// The next file is not the previous one plus one record.
    #[error("the new file is not the previous one plus one contribution")]
    NotAnExtension,
    /// Finalizing a ceremony that no participant contributed to (δ = 1, or only a
    /// public beacon: anyone could forge proofs).
    #[error("no participant contributed: the keys would be forgeable")]
    NoContributions,
    /// Randomness from the operating system was unavailable.
    #[error("OS randomness unavailable: {0}")]
    Entropy(String),
}

impl CeremonyError {
    /// A stable machine-readable code for the error (`ptau.*` codes pass through).
    pub fn code(&self) -> &'static str {
        match self {
            CeremonyError::Ptau(e) => e.code(),
            CeremonyError::Synthesis(_) => "ceremony.synthesis",
            CeremonyError::NotR1cs => "ceremony.not_r1cs",
            CeremonyError::DomainTooLarge(_) => "ceremony.domain_too_large",
            CeremonyError::Io(_) => "ceremony.io",
            CeremonyError::BadMagic => "ceremony.bad_magic",
            CeremonyError::UnsupportedVersion(_) => "ceremony.unsupported_version",
            CeremonyError::Truncated(_) => "ceremony.truncated",
            CeremonyError::TrailingBytes(_) => "ceremony.trailing_bytes",
            CeremonyError::Malformed(_) => "ceremony.malformed",
            CeremonyError::InvalidParameters(_) => "ceremony.invalid_parameters",
            CeremonyError::CircuitMismatch { .. } => "ceremony.circuit_mismatch",
            CeremonyError::CircuitIdMismatch { .. } => "ceremony.circuit_id_mismatch",
            CeremonyError::PtauMismatch { .. } => "ceremony.ptau_mismatch",
            CeremonyError::ParametersAltered(_) => "ceremony.parameters_altered",
            CeremonyError::HashChainBroken { .. } => "ceremony.hash_chain_broken",
            CeremonyError::DegeneratePoint { .. } => "ceremony.degenerate_point",
            CeremonyError::ProofOfKnowledgeReplayed { .. } => "ceremony.pok_replayed",
            CeremonyError::ProofOfKnowledgeInvalid { .. } => "ceremony.pok_invalid",
            CeremonyError::DeltaInconsistent { .. } => "ceremony.delta_inconsistent",
            CeremonyError::DeltaUpdateInvalid { .. } => "ceremony.delta_update_invalid",
            CeremonyError::BeaconMismatch { .. } => "ceremony.beacon_mismatch",
            CeremonyError::BeaconTooSlow(_) => "ceremony.beacon_too_slow",
            CeremonyError::ContributionAfterBeacon { .. } => "ceremony.contribution_after_beacon",
            CeremonyError::Closed => "ceremony.closed",
            CeremonyError::ParametersDeltaMismatch => "ceremony.parameters_delta_mismatch",
            CeremonyError::LQueryNotRescaled => "ceremony.l_query_not_rescaled",
            CeremonyError::HQueryNotRescaled => "ceremony.h_query_not_rescaled",
            CeremonyError::NotAnExtension => "ceremony.not_an_extension",
            CeremonyError::NoContributions => "ceremony.no_contributions",
            CeremonyError::Entropy(_) => "ceremony.entropy",
        }
    }
}
