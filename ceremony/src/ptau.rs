//! Phase 1: powers of tau in the snarkjs `.ptau` format (BN254 only).
//!
//! A `.ptau` file is a snarkjs "binfile": the magic `ptau`, a `u32` version (1), a `u32`
//! section count, then sections, each a `u32` id, a `u64` byte length and the bytes. All
//! integers are little-endian. Field elements are 32 bytes, little-endian, in
//! **Montgomery form** (the integer `x·2^256 mod q`); a G1 point is `x‖y` (64 bytes), a
//! G2 point `x.c0‖x.c1‖y.c0‖y.c1` (128 bytes); the point at infinity is all zeros
//! (`(0, 0)` is on neither curve, so the encoding is unambiguous). For power `p`:
//!
//! | id | section | content |
//! |----|---------|---------|
//! | 1  | header | `u32` n8 = 32, q (32 bytes), `u32` power, `u32` ceremony power |
//! | 2  | tauG1 | τ^i·G1 for i < 2·2^p − 1 |
//! | 3  | tauG2 | τ^i·G2 for i < 2^p |
//! | 4  | alphaTauG1 | α·τ^i·G1 for i < 2^p |
//! | 5  | betaTauG1 | β·τ^i·G1 for i < 2^p |
//! | 6  | betaG2 | β·G2 |
//! | 7  | contributions | `u32` count, then each participant's record |
//! | 12–15 | (after `prepare phase2`) | Lagrange-basis versions of 2–5 for every domain 2^0 … 2^p (and 2^(p+1) for 12) |
//!
//! [`Ptau::check`] validates every point (canonical coordinates, on the curve, in the
//! prime-order subgroup, not the identity) and the internal consistency with a handful of
//! pairings over random linear combinations; [`PtauHashes`] gives the BLAKE2b-512 that
//! the public ceremonies publish (`b2sum`) and the SHA-256. [`LocalSecrets`] and
//! [`Ptau::generate`] make small files for development and tests.

use std::{
    fmt,
    fs::File,
    io::{BufReader, Read, Seek, SeekFrom, Write},
    path::Path,
};

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{scalar_mul::BatchMulPreprocessing, AffineRepr, CurveGroup};
use ark_ff::{BigInt, BigInteger, Field, PrimeField, UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use blake2::{Blake2b512, Digest};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sha2::Sha256;

use crate::curve::{generators, msm_g1, msm_g2, random_coefficients, same_ratio, verifier_rng};

/// The largest power a `.ptau` over BN254 can have: the two-adicity of the scalar field.
pub const MAX_POWER: u32 = 28;
/// The largest power [`Ptau::generate`] makes (a development file, kept small).
pub const MAX_GENERATED_POWER: u32 = 20;

const MAGIC: &[u8; 4] = b"ptau";
const VERSION: u32 = 1;
const G1_SIZE: usize = 64;
const G2_SIZE: usize = 128;
/// Bytes of one contribution record before its parameter block (see snarkjs
/// `powersoftau_utils.js`, `readContribution`): five points, the 6 G1 + 3 G2 points of
/// the public key, a 216-byte BLAKE2b state, the 64-byte next challenge, a `u32` type and
/// the `u32` length of the parameters.
const CONTRIBUTION_FIXED: usize =
    3 * G1_SIZE + 2 * G2_SIZE + 6 * G1_SIZE + 3 * G2_SIZE + 216 + 64 + 8;
/// The contributions section is read into memory; this bounds it (a real one is a few
/// kilobytes per participant).
const MAX_CONTRIBUTIONS_BYTES: u64 = 64 << 20;

/// A section of a `.ptau` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Section {
    /// 1: curve and power.
    Header,
    /// 2: τ^i·G1.
    TauG1,
    /// 3: τ^i·G2.
    TauG2,
    /// 4: α·τ^i·G1.
    AlphaTauG1,
    /// 5: β·τ^i·G1.
    BetaTauG1,
    /// 6: β·G2.
    BetaG2,
    /// 7: the participants' records.
    Contributions,
    /// 12: Lagrange basis of section 2.
    LagrangeTauG1,
    /// 13: Lagrange basis of section 3.
    LagrangeTauG2,
    /// 14: Lagrange basis of section 4.
    LagrangeAlphaTauG1,
    /// 15: Lagrange basis of section 5.
    LagrangeBetaTauG1,
}

impl Section {
    const ALL: [Section; 11] = [
        Section::Header,
        Section::TauG1,
        Section::TauG2,
        Section::AlphaTauG1,
        Section::BetaTauG1,
        Section::BetaG2,
        Section::Contributions,
        Section::LagrangeTauG1,
        Section::LagrangeTauG2,
        Section::LagrangeAlphaTauG1,
        Section::LagrangeBetaTauG1,
    ];

    /// The section id in the file.
    pub fn id(self) -> u32 {
        match self {
            Section::Header => 1,
            Section::TauG1 => 2,
            Section::TauG2 => 3,
            Section::AlphaTauG1 => 4,
            Section::BetaTauG1 => 5,
            Section::BetaG2 => 6,
            Section::Contributions => 7,
            Section::LagrangeTauG1 => 12,
            Section::LagrangeTauG2 => 13,
            Section::LagrangeAlphaTauG1 => 14,
            Section::LagrangeBetaTauG1 => 15,
        }
    }

    fn from_id(id: u32) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The section's name in snarkjs.
    pub fn name(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::TauG1 => "tauG1",
            Section::TauG2 => "tauG2",
            Section::AlphaTauG1 => "alphaTauG1",
            Section::BetaTauG1 => "betaTauG1",
            Section::BetaG2 => "betaG2",
            Section::Contributions => "contributions",
            Section::LagrangeTauG1 => "lagrange tauG1",
            Section::LagrangeTauG2 => "lagrange tauG2",
            Section::LagrangeAlphaTauG1 => "lagrange alphaTauG1",
            Section::LagrangeBetaTauG1 => "lagrange betaTauG1",
        }
    }

    /// Byte length of the section in a file of power `p` (`None` for the variable-length
    /// contributions section).
    fn expected_size(self, p: u32) -> Option<u64> {
        let n = 1u64 << p;
        let g1 = G1_SIZE as u64;
        let g2 = G2_SIZE as u64;
        Some(match self {
            Section::Header => 4 + 32 + 4 + 4,
            Section::TauG1 => (2 * n - 1) * g1,
            Section::TauG2 => n * g2,
            Section::AlphaTauG1 | Section::BetaTauG1 => n * g1,
            Section::BetaG2 => g2,
            Section::Contributions => return None,
            // Levels 0..=p (2^(p+1) − 1 points) and, for tauG1 only, level p + 1.
            Section::LagrangeTauG1 => (4 * n - 1) * g1,
            Section::LagrangeTauG2 => (2 * n - 1) * g2,
            Section::LagrangeAlphaTauG1 | Section::LagrangeBetaTauG1 => (2 * n - 1) * g1,
        })
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "section {} ({})", self.id(), self.name())
    }
}

/// Everything that can be wrong with a `.ptau` file, or with its use for a circuit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PtauError {
    /// The file could not be read or written.
    #[error("ptau I/O: {0}")]
    Io(#[source] std::io::Error),
    /// The file ends before a part it announces.
    #[error("truncated .ptau file: {0} runs past the end")]
    Truncated(&'static str),
    /// The first four bytes are not `ptau`.
    #[error("not a .ptau file: the magic bytes are not \"ptau\"")]
    BadMagic,
    /// A binfile version other than 1.
    #[error("unsupported .ptau version {0} (version 1 is supported)")]
    UnsupportedVersion(u32),
    /// A section id that no snarkjs ptau has.
    #[error("unknown .ptau section id {0}")]
    UnknownSection(u32),
    /// A section that appears twice.
    #[error("{0} appears more than once")]
    DuplicateSection(Section),
    /// A required section is absent.
    #[error("{0} is missing")]
    MissingSection(Section),
    /// Bytes after the last section.
    #[error("{0} bytes after the last section")]
    TrailingBytes(u64),
    /// The header names another curve (or another field element size).
    #[error("the ptau is not over BN254 (snarkjs bn128): {0}")]
    WrongCurve(&'static str),
    /// A power outside `1..=28`.
    #[error("power {0} is outside 1..={MAX_POWER}")]
    BadPower(u32),
    /// A section's length is not the one its power implies.
    #[error("{section} has {found} bytes, {expected} expected at power {power}")]
    SectionSize {
        /// The section.
        section: Section,
        /// Bytes the power implies.
        expected: u64,
        /// Bytes in the file.
        found: u64,
        /// The header's power.
        power: u32,
    },
    /// Some but not all of the prepared-phase-2 sections (12–15) are present.
    #[error("the file is prepared for phase 2 only in part: {0} is missing")]
    PartialPreparation(Section),
    /// A coordinate is not below the base-field modulus (a non-canonical encoding).
    #[error("{section}, point {index}: a coordinate is not below the field modulus")]
    NonCanonicalCoordinate {
        /// The section.
        section: Section,
        /// Index of the point in the section (or in the contributions section's points).
        index: usize,
    },
    /// A point is not on the curve.
    #[error("{section}, point {index}: not on the curve")]
    NotOnCurve {
        /// The section.
        section: Section,
        /// Index of the point.
        index: usize,
    },
    /// A G2 point is on the curve but outside the prime-order subgroup.
    #[error("{section}, point {index}: not in the prime-order subgroup")]
    NotInSubgroup {
        /// The section.
        section: Section,
        /// Index of the point.
        index: usize,
    },
    /// The point at infinity where a power of a non-zero secret must be.
    #[error("{section}, point {index}: the point at infinity (a zero secret)")]
    IdentityPoint {
        /// The section.
        section: Section,
        /// Index of the point.
        index: usize,
    },
    /// The first power is not the standard generator.
    #[error("{0}: the first point is not the standard generator")]
    WrongGenerator(Section),
    /// τ·G1 and τ·G2 hold different secrets.
    #[error("τ·G1 (tauG1[1]) and τ·G2 (tauG2[1]) hold different secrets")]
    TauG1G2Mismatch,
    /// Some point of a section is not τ times the previous one.
    #[error("the powers in {0} do not follow: some point is not τ times the previous one")]
    PowersDoNotFollow(Section),
    /// β·G2 and β·G1 (betaTauG1[0]) hold different secrets.
    #[error("β·G2 and β·G1 (betaTauG1[0]) hold different secrets")]
    BetaG2Mismatch,
    /// A prepared Lagrange level is not the inverse FFT of the powers.
    #[error("{section} at domain 2^{power}: not the inverse FFT of the powers")]
    LagrangeMismatch {
        /// The Lagrange section.
        section: Section,
        /// The level (log2 of the domain).
        power: u32,
    },
    /// The last contribution record names points other than the file's.
    #[error("the last contribution's {0} is not the file's")]
    LastContributionMismatch(&'static str),
    /// The contributions section does not parse.
    #[error("malformed contributions section: {0}")]
    MalformedContributions(&'static str),
    /// The ptau is too small for a circuit.
    #[error(
        "the ptau has powers for domains up to 2^{power}; the circuit's FFT domain is 2^{needed}"
    )]
    TooSmall {
        /// log2 of the circuit's domain.
        needed: u32,
        /// log2 of the largest domain the loaded ptau serves.
        power: u32,
    },
    /// Writing needs every power loaded.
    #[error(
        "only 2^{loaded} of the file's 2^{power} powers are loaded; load it whole to write it"
    )]
    NotFullyLoaded {
        /// The loaded power.
        loaded: u32,
        /// The file's power.
        power: u32,
    },
    /// The local generator's bound.
    #[error("the local generator makes powers 1..={MAX_GENERATED_POWER}, not {0}")]
    GeneratorPower(u32),
}

impl PtauError {
    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            PtauError::Io(_) => "ptau.io",
            PtauError::Truncated(_) => "ptau.truncated",
            PtauError::BadMagic => "ptau.bad_magic",
            PtauError::UnsupportedVersion(_) => "ptau.unsupported_version",
            PtauError::UnknownSection(_) => "ptau.unknown_section",
            PtauError::DuplicateSection(_) => "ptau.duplicate_section",
            PtauError::MissingSection(_) => "ptau.missing_section",
            PtauError::TrailingBytes(_) => "ptau.trailing_bytes",
            PtauError::WrongCurve(_) => "ptau.wrong_curve",
            PtauError::BadPower(_) => "ptau.bad_power",
            PtauError::SectionSize { .. } => "ptau.section_size",
            PtauError::PartialPreparation(_) => "ptau.partial_preparation",
            PtauError::NonCanonicalCoordinate { .. } => "ptau.non_canonical_coordinate",
            PtauError::NotOnCurve { .. } => "ptau.not_on_curve",
            PtauError::NotInSubgroup { .. } => "ptau.not_in_subgroup",
            PtauError::IdentityPoint { .. } => "ptau.identity_point",
            PtauError::WrongGenerator(_) => "ptau.wrong_generator",
            PtauError::TauG1G2Mismatch => "ptau.tau_g1_g2_mismatch",
            PtauError::PowersDoNotFollow(_) => "ptau.powers_do_not_follow",
            PtauError::BetaG2Mismatch => "ptau.beta_g2_mismatch",
            PtauError::LagrangeMismatch { .. } => "ptau.lagrange_mismatch",
            PtauError::LastContributionMismatch(_) => "ptau.last_contribution_mismatch",
            PtauError::MalformedContributions(_) => "ptau.malformed_contributions",
            PtauError::TooSmall { .. } => "ptau.too_small",
            PtauError::NotFullyLoaded { .. } => "ptau.not_fully_loaded",
            PtauError::GeneratorPower(_) => "ptau.generator_power",
        }
    }
}

fn io_error(what: &'static str) -> impl Fn(std::io::Error) -> PtauError {
    move |e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            PtauError::Truncated(what)
        } else {
            PtauError::Io(e)
        }
    }
}

/// The hashes of a `.ptau` file, to compare with the ones its ceremony published.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PtauHashes {
    /// BLAKE2b-512 of the whole file (`b2sum`; what snarkjs's README and the Perpetual
    /// Powers of Tau list).
    pub blake2b: [u8; 64],
    /// SHA-256 of the whole file (`sha256sum`).
    pub sha256: [u8; 32],
}

impl PtauHashes {
    /// Hashes a whole file's bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self {
            blake2b: Blake2b512::digest(bytes).into(),
            sha256: Sha256::digest(bytes).into(),
        }
    }

    fn of_reader<R: Read>(mut r: R) -> std::io::Result<Self> {
        let mut b = Blake2b512::new();
        let mut s = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            b.update(&buf[..n]);
            s.update(&buf[..n]);
        }
        Ok(Self {
            blake2b: b.finalize().into(),
            sha256: s.finalize().into(),
        })
    }

    /// The BLAKE2b-512 in lowercase hex, as `b2sum` prints it.
    pub fn blake2b_hex(&self) -> String {
        hex::encode(self.blake2b)
    }

    /// The SHA-256 in lowercase hex, as `sha256sum` prints it.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

impl fmt::Debug for PtauHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PtauHashes")
            .field("blake2b", &self.blake2b_hex())
            .field("sha256", &self.sha256_hex())
            .finish()
    }
}

/// A beacon closing a phase-1 ceremony (snarkjs `powersoftau beacon`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauBeacon {
    /// The beacon hash was iterated 2^this many times.
    pub iterations_exp: u8,
    /// The public beacon value.
    pub hash: Vec<u8>,
}

/// One participant's record in the contributions section (section 7).
///
/// Its proofs of knowledge are not re-verified here: they use snarkjs's own
/// hash-to-G2 and its chained challenge hashes, and what makes the file usable is the
/// pairing consistency [`Ptau::check`] verifies; the file as a whole is authenticated by
/// its published hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtauContribution {
    /// The participant's name, if it gave one.
    pub name: Option<String>,
    /// The beacon parameters, for a beacon contribution (type 1).
    pub beacon: Option<PtauBeacon>,
    /// The challenge hash after this contribution (BLAKE2b-512).
    pub next_challenge: [u8; 64],
    /// τ·G1 after this contribution.
    pub tau_g1: G1Affine,
    /// τ·G2 after this contribution.
    pub tau_g2: G2Affine,
    /// α·G1 after this contribution.
    pub alpha_g1: G1Affine,
    /// β·G1 after this contribution.
    pub beta_g1: G1Affine,
    /// β·G2 after this contribution.
    pub beta_g2: G2Affine,
}

/// The Lagrange-basis points of one domain 2^k: `L_i(τ)·G1`, `L_i(τ)·G2`,
/// `α·L_i(τ)·G1`, `β·L_i(τ)·G1` for `i < 2^k`, where `L_i` is the i-th Lagrange
/// polynomial of arkworks' radix-2 domain of that size (roots `ω^i` in natural order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LagrangeBasis {
    /// `L_i(τ)·G1`.
    pub tau_g1: Vec<G1Affine>,
    /// `L_i(τ)·G2`.
    pub tau_g2: Vec<G2Affine>,
    /// `α·L_i(τ)·G1`.
    pub alpha_tau_g1: Vec<G1Affine>,
    /// `β·L_i(τ)·G1`.
    pub beta_tau_g1: Vec<G1Affine>,
}

/// Sections 12–15 as loaded: one [`LagrangeBasis`] per level `0..=loaded_power`, and the
/// extra level `power + 1` of section 12 when the whole file is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prepared {
    levels: Vec<LagrangeBasis>,
    tau_g1_top: Option<Vec<G1Affine>>,
}

/// The contents of a `.ptau` file, possibly truncated to the powers a caller needs.
///
/// Decoding validates every point it loads; [`Ptau::check`] adds the pairing checks and
/// returns a [`CheckedPtau`], the only form phase 2 accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct Ptau {
    power: u32,
    ceremony_power: u32,
    loaded_power: u32,
    tau_g1: Vec<G1Affine>,
    tau_g2: Vec<G2Affine>,
    alpha_tau_g1: Vec<G1Affine>,
    beta_tau_g1: Vec<G1Affine>,
    beta_g2: G2Affine,
    contributions: Vec<PtauContribution>,
    /// Section 7 as read, written back unchanged (the records' public keys and BLAKE2b
    /// midstates are not decoded).
    contributions_raw: Vec<u8>,
    prepared: Option<Prepared>,
    hashes: PtauHashes,
}

impl fmt::Debug for Ptau {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ptau")
            .field("power", &self.power)
            .field("ceremony_power", &self.ceremony_power)
            .field("loaded_power", &self.loaded_power)
            .field("contributions", &self.contributions.len())
            .field("prepared", &self.prepared.is_some())
            .field("hashes", &self.hashes)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
struct SectionEntry {
    pos: u64,
    size: u64,
}

/// `R = 2^256 mod q`: snarkjs stores `x·R`.
fn montgomery_r() -> Fq {
    Fq::from(2u64).pow([256u64])
}

fn fq_from_montgomery(bytes: &[u8], r_inv: &Fq) -> Option<Fq> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        *limb = u64::from_le_bytes(chunk.try_into().ok()?);
    }
    // `from_bigint` refuses integers ≥ q: a non-canonical encoding.
    Fq::from_bigint(BigInt::new(limbs)).map(|m| m * r_inv)
}

fn fq_to_montgomery(x: &Fq, r: &Fq, out: &mut Vec<u8>) {
    out.extend_from_slice(&(*x * r).into_bigint().to_bytes_le());
}

/// What decoding a point can find wrong, turned into a [`PtauError`] with its place.
enum PointFault {
    NonCanonical,
    NotOnCurve,
    NotInSubgroup,
}

impl PointFault {
    fn at(self, section: Section, index: usize) -> PtauError {
        match self {
            PointFault::NonCanonical => PtauError::NonCanonicalCoordinate { section, index },
            PointFault::NotOnCurve => PtauError::NotOnCurve { section, index },
            PointFault::NotInSubgroup => PtauError::NotInSubgroup { section, index },
        }
    }
}

fn decode_g1(b: &[u8], r_inv: &Fq) -> Result<G1Affine, PointFault> {
    if b.iter().all(|&x| x == 0) {
        return Ok(G1Affine::identity());
    }
    let x = fq_from_montgomery(&b[..32], r_inv).ok_or(PointFault::NonCanonical)?;
    let y = fq_from_montgomery(&b[32..64], r_inv).ok_or(PointFault::NonCanonical)?;
    let p = G1Affine::new_unchecked(x, y);
    // G1 of BN254 is the whole curve group E(Fq) (cofactor 1): on the curve suffices.
    if !p.is_on_curve() {
        return Err(PointFault::NotOnCurve);
    }
    Ok(p)
}

fn decode_g2(b: &[u8], r_inv: &Fq) -> Result<G2Affine, PointFault> {
    if b.iter().all(|&x| x == 0) {
        return Ok(G2Affine::identity());
    }
    let mut c = [Fq::zero(); 4];
    for (i, ci) in c.iter_mut().enumerate() {
        *ci =
            fq_from_montgomery(&b[32 * i..32 * (i + 1)], r_inv).ok_or(PointFault::NonCanonical)?;
    }
    let p = G2Affine::new_unchecked(Fq2::new(c[0], c[1]), Fq2::new(c[2], c[3]));
    if !p.is_on_curve() {
        return Err(PointFault::NotOnCurve);
    }
    // The twist has a large cofactor: a point off the subgroup would break the pairing
    // arguments (small-subgroup attacks), so every G2 point is checked.
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(PointFault::NotInSubgroup);
    }
    Ok(p)
}

fn encode_g1(p: &G1Affine, r: &Fq, out: &mut Vec<u8>) {
    match p.xy() {
        None => out.extend_from_slice(&[0u8; G1_SIZE]),
        Some((x, y)) => {
            fq_to_montgomery(&x, r, out);
            fq_to_montgomery(&y, r, out);
        }
    }
}

fn encode_g2(p: &G2Affine, r: &Fq, out: &mut Vec<u8>) {
    match p.xy() {
        None => out.extend_from_slice(&[0u8; G2_SIZE]),
        Some((x, y)) => {
            for c in [x.c0, x.c1, y.c0, y.c1] {
                fq_to_montgomery(&c, r, out);
            }
        }
    }
}

fn decode_points<T: Send>(
    bytes: &[u8],
    size: usize,
    section: Section,
    first_index: usize,
    allow_identity: bool,
    decode: impl Fn(&[u8], &Fq) -> Result<T, PointFault> + Sync,
    is_identity: impl Fn(&T) -> bool + Sync,
) -> Result<Vec<T>, PtauError> {
    let r_inv = montgomery_r().inverse().expect("R is invertible");
    bytes
        .par_chunks_exact(size)
        .enumerate()
        .map(|(i, b)| {
            let index = first_index + i;
            let p = decode(b, &r_inv).map_err(|f| f.at(section, index))?;
            if !allow_identity && is_identity(&p) {
                return Err(PtauError::IdentityPoint { section, index });
            }
            Ok(p)
        })
        .collect()
}

fn read_points_g1<R: Read + Seek>(
    r: &mut R,
    entry: SectionEntry,
    section: Section,
    skip: u64,
    count: u64,
    allow_identity: bool,
) -> Result<Vec<G1Affine>, PtauError> {
    let bytes = read_at(
        r,
        entry.pos + skip * G1_SIZE as u64,
        count * G1_SIZE as u64,
        section.name(),
    )?;
    decode_points(
        &bytes,
        G1_SIZE,
        section,
        skip as usize,
        allow_identity,
        decode_g1,
        |p| p.is_zero(),
    )
}

fn read_points_g2<R: Read + Seek>(
    r: &mut R,
    entry: SectionEntry,
    section: Section,
    skip: u64,
    count: u64,
    allow_identity: bool,
) -> Result<Vec<G2Affine>, PtauError> {
    let bytes = read_at(
        r,
        entry.pos + skip * G2_SIZE as u64,
        count * G2_SIZE as u64,
        section.name(),
    )?;
    decode_points(
        &bytes,
        G2_SIZE,
        section,
        skip as usize,
        allow_identity,
        decode_g2,
        |p| p.is_zero(),
    )
}

fn read_at<R: Read + Seek>(
    r: &mut R,
    pos: u64,
    len: u64,
    what: &'static str,
) -> Result<Vec<u8>, PtauError> {
    r.seek(SeekFrom::Start(pos)).map_err(PtauError::Io)?;
    let mut buf = vec![0u8; usize::try_from(len).map_err(|_| PtauError::Truncated(what))?];
    r.read_exact(&mut buf).map_err(io_error(what))?;
    Ok(buf)
}

fn read_u32<R: Read>(r: &mut R, what: &'static str) -> Result<u32, PtauError> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).map_err(io_error(what))?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64<R: Read>(r: &mut R, what: &'static str) -> Result<u64, PtauError> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).map_err(io_error(what))?;
    Ok(u64::from_le_bytes(b))
}

/// A cursor over the contributions section's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PtauError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(PtauError::MalformedContributions(
                "a record runs past the section",
            ))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, PtauError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}

fn parse_contributions(bytes: &[u8]) -> Result<Vec<PtauContribution>, PtauError> {
    let section = Section::Contributions;
    let r_inv = montgomery_r().inverse().expect("R is invertible");
    let mut c = Cursor { bytes, pos: 0 };
    let count = c.u32()? as usize;
    if count > bytes.len() / CONTRIBUTION_FIXED + 1 {
        return Err(PtauError::MalformedContributions(
            "more records than the section can hold",
        ));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // Point indices in errors count the five points of each record.
        let g1 = |c: &mut Cursor<'_>, k: usize| -> Result<G1Affine, PtauError> {
            decode_g1(c.take(G1_SIZE)?, &r_inv).map_err(|f| f.at(section, 5 * i + k))
        };
        let g2 = |c: &mut Cursor<'_>, k: usize| -> Result<G2Affine, PtauError> {
            decode_g2(c.take(G2_SIZE)?, &r_inv).map_err(|f| f.at(section, 5 * i + k))
        };
        let tau_g1 = g1(&mut c, 0)?;
        let tau_g2 = g2(&mut c, 1)?;
        let alpha_g1 = g1(&mut c, 2)?;
        let beta_g1 = g1(&mut c, 3)?;
        let beta_g2 = g2(&mut c, 4)?;
        // The public key (6 G1, 3 G2) and snarkjs's 216-byte BLAKE2b midstate.
        c.take(6 * G1_SIZE + 3 * G2_SIZE + 216)?;
        let next_challenge: [u8; 64] = c.take(64)?.try_into().expect("64 bytes");
        let kind = c.u32()?;
        let params_len = c.u32()? as usize;
        let params = c.take(params_len)?;
        let (name, beacon) = parse_contribution_params(params)?;
        if kind == 1 && beacon.is_none() {
            return Err(PtauError::MalformedContributions(
                "a beacon record without beacon parameters",
            ));
        }
        out.push(PtauContribution {
            name,
            beacon,
            next_challenge,
            tau_g1,
            tau_g2,
            alpha_g1,
            beta_g1,
            beta_g2,
        });
    }
    if c.pos != bytes.len() {
        return Err(PtauError::MalformedContributions(
            "bytes after the last record",
        ));
    }
    Ok(out)
}

/// The parameter block of a record: type-tagged entries in increasing type order
/// (1 name, 2 iterations exponent, 3 beacon hash), as snarkjs writes and requires.
fn parse_contribution_params(
    params: &[u8],
) -> Result<(Option<String>, Option<PtauBeacon>), PtauError> {
    let mut c = Cursor {
        bytes: params,
        pos: 0,
    };
    let (mut name, mut exp, mut hash) = (None, None, None);
    let mut last = 0u8;
    while c.pos < params.len() {
        let t = c.take(1)?[0];
        if t <= last {
            return Err(PtauError::MalformedContributions("parameters out of order"));
        }
        last = t;
        match t {
            1 => {
                let len = c.take(1)?[0] as usize;
                let s = std::str::from_utf8(c.take(len)?)
                    .map_err(|_| PtauError::MalformedContributions("a name that is not UTF-8"))?;
                name = Some(s.to_owned());
            }
            2 => exp = Some(c.take(1)?[0]),
            3 => {
                let len = c.take(1)?[0] as usize;
                hash = Some(c.take(len)?.to_vec());
            }
            _ => {
                return Err(PtauError::MalformedContributions(
                    "an unknown parameter type",
                ))
            }
        }
    }
    let beacon = match (exp, hash) {
        (Some(iterations_exp), Some(hash)) => Some(PtauBeacon {
            iterations_exp,
            hash,
        }),
        (None, None) => None,
        _ => {
            return Err(PtauError::MalformedContributions(
                "a beacon parameter without the other",
            ))
        }
    };
    Ok((name, beacon))
}

fn check_size(section: Section, entry: SectionEntry, power: u32) -> Result<(), PtauError> {
    if let Some(expected) = section.expected_size(power) {
        if entry.size != expected {
            return Err(PtauError::SectionSize {
                section,
                expected,
                found: entry.size,
                power,
            });
        }
    }
    Ok(())
}

impl Ptau {
    /// Reads and decodes a `.ptau` file, hashing all of it, and loading the powers for
    /// domains up to `2^max_power` only (all of them with `None`): a circuit with domain
    /// 2^12 needs 2^13 − 1 points of tauG1 even from a file of power 28.
    ///
    /// # Errors
    /// [`PtauError`] for an unreadable, malformed or invalid file: every point loaded is
    /// decoded and validated (canonical, on the curve, in the subgroup, non-zero where a
    /// power must be).
    pub fn open(path: &Path, max_power: Option<u32>) -> Result<Self, PtauError> {
        let file = File::open(path).map_err(PtauError::Io)?;
        Self::read(BufReader::with_capacity(1 << 20, file), max_power)
    }

    /// [`Ptau::open`] over bytes in memory.
    ///
    /// # Errors
    /// As [`Ptau::open`].
    pub fn from_bytes(bytes: &[u8], max_power: Option<u32>) -> Result<Self, PtauError> {
        Self::read(std::io::Cursor::new(bytes), max_power)
    }

    /// [`Ptau::open`] over any seekable reader.
    ///
    /// # Errors
    /// As [`Ptau::open`].
    pub fn read<R: Read + Seek>(mut r: R, max_power: Option<u32>) -> Result<Self, PtauError> {
        let file_len = r.seek(SeekFrom::End(0)).map_err(PtauError::Io)?;
        r.seek(SeekFrom::Start(0)).map_err(PtauError::Io)?;
        let hashes = PtauHashes::of_reader(&mut r).map_err(PtauError::Io)?;
        r.seek(SeekFrom::Start(0)).map_err(PtauError::Io)?;

        // Binfile header and section table.
        let mut magic = [0u8; 4];
        r.read_exact(&mut magic)
            .map_err(io_error("the magic bytes"))?;
        if &magic != MAGIC {
            return Err(PtauError::BadMagic);
        }
        let version = read_u32(&mut r, "the version")?;
        if version != VERSION {
            return Err(PtauError::UnsupportedVersion(version));
        }
        let n_sections = read_u32(&mut r, "the section count")?;
        let mut table: std::collections::HashMap<Section, SectionEntry> = Default::default();
        let mut pos = 12u64;
        for _ in 0..n_sections {
            let id = read_u32(&mut r, "a section header")?;
            let size = read_u64(&mut r, "a section header")?;
            let section = Section::from_id(id).ok_or(PtauError::UnknownSection(id))?;
            let start = pos + 12;
            let end = start
                .checked_add(size)
                .filter(|&e| e <= file_len)
                .ok_or(PtauError::Truncated(section.name()))?;
            if table
                .insert(section, SectionEntry { pos: start, size })
                .is_some()
            {
                return Err(PtauError::DuplicateSection(section));
            }
            r.seek(SeekFrom::Start(end)).map_err(PtauError::Io)?;
            pos = end;
        }
        if pos != file_len {
            return Err(PtauError::TrailingBytes(file_len - pos));
        }
        let entry = |s: Section| table.get(&s).copied().ok_or(PtauError::MissingSection(s));

        // Header: BN254's base field, 32-byte elements, the power.
        let header = entry(Section::Header)?;
        check_size(Section::Header, header, 1)?;
        let hb = read_at(&mut r, header.pos, header.size, "the header")?;
        if u32::from_le_bytes(hb[0..4].try_into().expect("4 bytes")) != 32 {
            return Err(PtauError::WrongCurve("field elements are not 32 bytes"));
        }
        if hb[4..36] != Fq::MODULUS.to_bytes_le()[..] {
            return Err(PtauError::WrongCurve(
                "the base-field modulus is not BN254's",
            ));
        }
        let power = u32::from_le_bytes(hb[36..40].try_into().expect("4 bytes"));
        let ceremony_power = u32::from_le_bytes(hb[40..44].try_into().expect("4 bytes"));
        if !(1..=MAX_POWER).contains(&power) {
            return Err(PtauError::BadPower(power));
        }

        let sections = [
            Section::TauG1,
            Section::TauG2,
            Section::AlphaTauG1,
            Section::BetaTauG1,
            Section::BetaG2,
            Section::Contributions,
        ];
        for s in sections {
            check_size(s, entry(s)?, power)?;
        }
        let lagrange = [
            Section::LagrangeTauG1,
            Section::LagrangeTauG2,
            Section::LagrangeAlphaTauG1,
            Section::LagrangeBetaTauG1,
        ];
        let prepared = lagrange.iter().any(|s| table.contains_key(s));
        if prepared {
            for s in lagrange {
                let e = table
                    .get(&s)
                    .copied()
                    .ok_or(PtauError::PartialPreparation(s))?;
                check_size(s, e, power)?;
            }
        }

        let loaded = max_power.map_or(power, |m| m.clamp(1, power));
        let n = 1u64 << loaded;
        // Sections 2–6 hold powers of non-zero secrets: the identity is refused there,
        // which also refuses τ = 0, α = 0 or β = 0 (all of whose ratio checks would
        // otherwise pass with zero points).
        let tau_g1 = read_points_g1(
            &mut r,
            entry(Section::TauG1)?,
            Section::TauG1,
            0,
            2 * n - 1,
            false,
        )?;
        let tau_g2 = read_points_g2(&mut r, entry(Section::TauG2)?, Section::TauG2, 0, n, false)?;
        let alpha_tau_g1 = read_points_g1(
            &mut r,
            entry(Section::AlphaTauG1)?,
            Section::AlphaTauG1,
            0,
            n,
            false,
        )?;
        let beta_tau_g1 = read_points_g1(
            &mut r,
            entry(Section::BetaTauG1)?,
            Section::BetaTauG1,
            0,
            n,
            false,
        )?;
        let beta_g2 = read_points_g2(
            &mut r,
            entry(Section::BetaG2)?,
            Section::BetaG2,
            0,
            1,
            false,
        )?[0];

        let contributions_entry = entry(Section::Contributions)?;
        if contributions_entry.size > MAX_CONTRIBUTIONS_BYTES {
            return Err(PtauError::MalformedContributions(
                "the section is implausibly large",
            ));
        }
        let cb = read_at(
            &mut r,
            contributions_entry.pos,
            contributions_entry.size,
            "contributions",
        )?;
        let contributions = parse_contributions(&cb)?;

        let prepared = if prepared {
            let mut levels = Vec::with_capacity(loaded as usize + 1);
            for k in 0..=loaded {
                // Level k starts after levels 0..k: 2^k − 1 points.
                let (skip, count) = ((1u64 << k) - 1, 1u64 << k);
                // Lagrange points may be the identity (L_i(τ) = 0 only if τ is a root of
                // unity); their correctness is what `check` verifies.
                levels.push(LagrangeBasis {
                    tau_g1: read_points_g1(
                        &mut r,
                        entry(Section::LagrangeTauG1)?,
                        Section::LagrangeTauG1,
                        skip,
                        count,
                        true,
                    )?,
                    tau_g2: read_points_g2(
                        &mut r,
                        entry(Section::LagrangeTauG2)?,
                        Section::LagrangeTauG2,
                        skip,
                        count,
                        true,
                    )?,
                    alpha_tau_g1: read_points_g1(
                        &mut r,
                        entry(Section::LagrangeAlphaTauG1)?,
                        Section::LagrangeAlphaTauG1,
                        skip,
                        count,
                        true,
                    )?,
                    beta_tau_g1: read_points_g1(
                        &mut r,
                        entry(Section::LagrangeBetaTauG1)?,
                        Section::LagrangeBetaTauG1,
                        skip,
                        count,
                        true,
                    )?,
                });
            }
            let tau_g1_top = if loaded == power {
                let (skip, count) = ((2u64 << power) - 1, 2u64 << power);
                Some(read_points_g1(
                    &mut r,
                    entry(Section::LagrangeTauG1)?,
                    Section::LagrangeTauG1,
                    skip,
                    count,
                    true,
                )?)
            } else {
                None
            };
            Some(Prepared { levels, tau_g1_top })
        } else {
            None
        };

        Ok(Self {
            power,
            ceremony_power,
            loaded_power: loaded,
            tau_g1,
            tau_g2,
            alpha_tau_g1,
            beta_tau_g1,
            beta_g2,
            contributions,
            contributions_raw: cb,
            prepared,
            hashes,
        })
    }

    /// The file's power: it serves FFT domains up to 2^power.
    pub fn power(&self) -> u32 {
        self.power
    }

    /// The power of the ceremony the file came from (a truncated file keeps it).
    pub fn ceremony_power(&self) -> u32 {
        self.ceremony_power
    }

    /// The power up to which points were loaded.
    pub fn loaded_power(&self) -> u32 {
        self.loaded_power
    }

    /// The hashes of the whole file.
    pub fn hashes(&self) -> &PtauHashes {
        &self.hashes
    }

    /// The participants' records (section 7).
    pub fn contributions(&self) -> &[PtauContribution] {
        &self.contributions
    }

    /// Whether the file carries the prepared-phase-2 sections (12–15).
    pub fn is_prepared(&self) -> bool {
        self.prepared.is_some()
    }

    /// τ^i·G1 for the loaded powers.
    pub fn tau_g1(&self) -> &[G1Affine] {
        &self.tau_g1
    }

    /// τ^i·G2 for the loaded powers.
    pub fn tau_g2(&self) -> &[G2Affine] {
        &self.tau_g2
    }

    /// α·τ^i·G1 for the loaded powers.
    pub fn alpha_tau_g1(&self) -> &[G1Affine] {
        &self.alpha_tau_g1
    }

    /// β·τ^i·G1 for the loaded powers.
    pub fn beta_tau_g1(&self) -> &[G1Affine] {
        &self.beta_tau_g1
    }

    /// β·G2.
    pub fn beta_g2(&self) -> G2Affine {
        self.beta_g2
    }

    /// Validates the internal consistency with pairings over random linear combinations
    /// (a handful of pairings whatever the power):
    ///
    /// - tauG1[0] and tauG2[0] are the standard generators;
    /// - τ·G1 and τ·G2 hold the same τ: `e(τ·G1, G2) = e(G1, τ·G2)`;
    /// - each of tauG1, tauG2, alphaTauG1, betaTauG1 is a chain of ratio τ: with random
    ///   ρ_i, `e(Σρ_i·P_i, τ·G2) = e(Σρ_i·P_{i+1}, G2)` (tauG2 symmetrically). If some
    ///   `P_{i+1} ≠ τ·P_i`, the differences form a non-zero vector that a random
    ///   combination sends to zero with probability ≤ 2^-128; the chains of alphaTauG1
    ///   and betaTauG1 start at α·G1 and β·G1, so their points are α·τ^i and β·τ^i;
    /// - β·G2 holds the β of betaTauG1[0];
    /// - the last contribution record names the file's τ, α, β;
    /// - each prepared Lagrange level equals the inverse FFT of the powers:
    ///   `Σρ_i·Lag_i = Σ IFFT(ρ)_j·P_j` (the inverse-FFT matrix is symmetric).
    ///
    /// # Errors
    /// The first [`PtauError`] found.
    pub fn check(self) -> Result<CheckedPtau, PtauError> {
        let mut rng = verifier_rng();
        let (g1, g2) = generators();
        if self.tau_g1[0] != g1 {
            return Err(PtauError::WrongGenerator(Section::TauG1));
        }
        if self.tau_g2[0] != g2 {
            return Err(PtauError::WrongGenerator(Section::TauG2));
        }
        let tau1 = self.tau_g1[1].into_group();
        let tau2 = self.tau_g2.get(1).copied().unwrap_or(g2).into_group();
        if !same_ratio((g1.into(), tau1), (g2.into(), tau2)) {
            return Err(PtauError::TauG1G2Mismatch);
        }
        let chain_g1 = |points: &[G1Affine], rng: &mut ChaCha20Rng| -> bool {
            let rho = random_coefficients(rng, points.len() - 1);
            let a = msm_g1(&points[..points.len() - 1], &rho);
            let b = msm_g1(&points[1..], &rho);
            same_ratio((a, b), (g2.into(), tau2))
        };
        for (section, points) in [
            (Section::TauG1, &self.tau_g1),
            (Section::AlphaTauG1, &self.alpha_tau_g1),
            (Section::BetaTauG1, &self.beta_tau_g1),
        ] {
            if !chain_g1(points, &mut rng) {
                return Err(PtauError::PowersDoNotFollow(section));
            }
        }
        let rho = random_coefficients(&mut rng, self.tau_g2.len() - 1);
        let a = msm_g2(&self.tau_g2[..self.tau_g2.len() - 1], &rho);
        let b = msm_g2(&self.tau_g2[1..], &rho);
        if !same_ratio((g1.into(), tau1), (a, b)) {
            return Err(PtauError::PowersDoNotFollow(Section::TauG2));
        }
        if !same_ratio(
            (g1.into(), self.beta_tau_g1[0].into()),
            (g2.into(), self.beta_g2.into()),
        ) {
            return Err(PtauError::BetaG2Mismatch);
        }

        if let Some(last) = self.contributions.last() {
            let checks = [
                (last.tau_g1 == self.tau_g1[1], "τ·G1"),
                (
                    self.tau_g2.len() < 2 || last.tau_g2 == self.tau_g2[1],
                    "τ·G2",
                ),
                (last.alpha_g1 == self.alpha_tau_g1[0], "α·G1"),
                (last.beta_g1 == self.beta_tau_g1[0], "β·G1"),
                (last.beta_g2 == self.beta_g2, "β·G2"),
            ];
            if let Some((_, what)) = checks.iter().find(|(ok, _)| !ok) {
                return Err(PtauError::LastContributionMismatch(what));
            }
        }

        if let Some(prepared) = &self.prepared {
            for (k, level) in prepared.levels.iter().enumerate() {
                let n = 1usize << k;
                let k = k as u32;
                let rho = random_coefficients(&mut rng, n);
                let c = ifft_scalars(&rho);
                let g1_checks = [
                    (Section::LagrangeTauG1, &level.tau_g1, &self.tau_g1),
                    (
                        Section::LagrangeAlphaTauG1,
                        &level.alpha_tau_g1,
                        &self.alpha_tau_g1,
                    ),
                    (
                        Section::LagrangeBetaTauG1,
                        &level.beta_tau_g1,
                        &self.beta_tau_g1,
                    ),
                ];
                for (section, lag, powers) in g1_checks {
                    if msm_g1(lag, &rho) != msm_g1(&powers[..n], &c) {
                        return Err(PtauError::LagrangeMismatch { section, power: k });
                    }
                }
                if msm_g2(&level.tau_g2, &rho) != msm_g2(&self.tau_g2[..n], &c) {
                    return Err(PtauError::LagrangeMismatch {
                        section: Section::LagrangeTauG2,
                        power: k,
                    });
                }
            }
            if let Some(top) = &prepared.tau_g1_top {
                // snarkjs's extra level: the inverse FFT of the 2n − 1 powers of tauG1
                // padded with one point at infinity.
                let n = top.len();
                let rho = random_coefficients(&mut rng, n);
                let c = ifft_scalars(&rho);
                if msm_g1(top, &rho) != msm_g1(&self.tau_g1, &c[..n - 1]) {
                    return Err(PtauError::LagrangeMismatch {
                        section: Section::LagrangeTauG1,
                        power: self.power + 1,
                    });
                }
            }
        }
        Ok(CheckedPtau(self))
    }

    /// The file's bytes in the snarkjs format: header, sections 2–7, and 12–15 if the
    /// file is prepared. A read file written back is byte-identical.
    ///
    /// # Errors
    /// [`PtauError::NotFullyLoaded`] for a file loaded with a smaller `max_power`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PtauError> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }

    /// Writes [`Ptau::to_bytes`] to `w`.
    ///
    /// # Errors
    /// [`PtauError::NotFullyLoaded`], or [`PtauError::Io`] from `w`.
    pub fn write<W: Write>(&self, mut w: W) -> Result<(), PtauError> {
        let bytes = self.encode()?;
        w.write_all(&bytes).map_err(PtauError::Io)
    }

    fn encode(&self) -> Result<Vec<u8>, PtauError> {
        if self.loaded_power != self.power {
            return Err(PtauError::NotFullyLoaded {
                loaded: self.loaded_power,
                power: self.power,
            });
        }
        let r = montgomery_r();
        let mut sections: Vec<(Section, Vec<u8>)> = Vec::new();
        let mut header = Vec::new();
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&Fq::MODULUS.to_bytes_le());
        header.extend_from_slice(&self.power.to_le_bytes());
        header.extend_from_slice(&self.ceremony_power.to_le_bytes());
        sections.push((Section::Header, header));
        let g1s = |points: &[G1Affine]| {
            let mut b = Vec::with_capacity(points.len() * G1_SIZE);
            points.iter().for_each(|p| encode_g1(p, &r, &mut b));
            b
        };
        let g2s = |points: &[G2Affine]| {
            let mut b = Vec::with_capacity(points.len() * G2_SIZE);
            points.iter().for_each(|p| encode_g2(p, &r, &mut b));
            b
        };
        sections.push((Section::TauG1, g1s(&self.tau_g1)));
        sections.push((Section::TauG2, g2s(&self.tau_g2)));
        sections.push((Section::AlphaTauG1, g1s(&self.alpha_tau_g1)));
        sections.push((Section::BetaTauG1, g1s(&self.beta_tau_g1)));
        sections.push((Section::BetaG2, g2s(&[self.beta_g2])));
        sections.push((Section::Contributions, self.contributions_raw.clone()));
        if let Some(p) = &self.prepared {
            let mut s12 = Vec::new();
            let mut s13 = Vec::new();
            let mut s14 = Vec::new();
            let mut s15 = Vec::new();
            for level in &p.levels {
                s12.extend(g1s(&level.tau_g1));
                s13.extend(g2s(&level.tau_g2));
                s14.extend(g1s(&level.alpha_tau_g1));
                s15.extend(g1s(&level.beta_tau_g1));
            }
            let top = p.tau_g1_top.as_ref().ok_or(PtauError::NotFullyLoaded {
                loaded: self.loaded_power,
                power: self.power,
            })?;
            s12.extend(g1s(top));
            sections.push((Section::LagrangeTauG1, s12));
            sections.push((Section::LagrangeTauG2, s13));
            sections.push((Section::LagrangeAlphaTauG1, s14));
            sections.push((Section::LagrangeBetaTauG1, s15));
        }
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        for (s, bytes) in sections {
            out.extend_from_slice(&s.id().to_le_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    /// A valid `.ptau` of `power` from known secrets (development and tests only: whoever
    /// holds `secrets` can forge proofs), with the prepared-phase-2 sections if
    /// `prepared`. Its hashes are those of [`Ptau::to_bytes`].
    ///
    /// # Errors
    /// [`PtauError::GeneratorPower`] outside `1..=20`.
    pub fn generate(power: u32, secrets: &LocalSecrets, prepared: bool) -> Result<Self, PtauError> {
        if !(1..=MAX_GENERATED_POWER).contains(&power) {
            return Err(PtauError::GeneratorPower(power));
        }
        let n = 1usize << power;
        let (g1, g2) = generators();
        let mut powers = Vec::with_capacity(2 * n - 1);
        let mut x = Fr::from(1u64);
        for _ in 0..2 * n - 1 {
            powers.push(x);
            x *= secrets.tau;
        }
        let scaled = |s: Fr, v: &[Fr]| v.iter().map(|x| s * x).collect::<Vec<_>>();
        let table1 = BatchMulPreprocessing::new(G1Projective::from(g1), 4 * n);
        let table2 = BatchMulPreprocessing::new(G2Projective::from(g2), 2 * n);
        let tau_g1 = table1.batch_mul(&powers);
        let tau_g2 = table2.batch_mul(&powers[..n]);
        let alpha_tau_g1 = table1.batch_mul(&scaled(secrets.alpha, &powers[..n]));
        let beta_tau_g1 = table1.batch_mul(&scaled(secrets.beta, &powers[..n]));
        let beta_g2 = (g2 * secrets.beta).into_affine();
        let prepared = prepared.then(|| {
            let levels = (0..=power)
                .map(|k| {
                    let lag = ifft_scalars(&powers[..1 << k]);
                    LagrangeBasis {
                        tau_g1: table1.batch_mul(&lag),
                        tau_g2: table2.batch_mul(&lag),
                        alpha_tau_g1: table1.batch_mul(&scaled(secrets.alpha, &lag)),
                        beta_tau_g1: table1.batch_mul(&scaled(secrets.beta, &lag)),
                    }
                })
                .collect();
            let mut padded = powers.clone();
            padded.push(Fr::zero());
            Prepared {
                levels,
                tau_g1_top: Some(table1.batch_mul(&ifft_scalars(&padded))),
            }
        });
        let mut ptau = Self {
            power,
            ceremony_power: power,
            loaded_power: power,
            tau_g1,
            tau_g2,
            alpha_tau_g1,
            beta_tau_g1,
            beta_g2,
            contributions: Vec::new(),
            // No records: a count of zero.
            contributions_raw: 0u32.to_le_bytes().to_vec(),
            prepared,
            hashes: PtauHashes::of_bytes(&[]),
        };
        ptau.hashes = PtauHashes::of_bytes(&ptau.encode()?);
        Ok(ptau)
    }
}

/// The inverse FFT of `v` over arkworks' radix-2 domain of `v.len()` (a power of two).
fn ifft_scalars(v: &[Fr]) -> Vec<Fr> {
    if v.len() == 1 {
        return v.to_vec();
    }
    let domain = Radix2EvaluationDomain::<Fr>::new(v.len()).expect("a power of two below 2^28");
    domain.ifft(v)
}

/// The secrets of a locally generated ptau (development and tests).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LocalSecrets {
    /// τ.
    pub tau: Fr,
    /// α.
    pub alpha: Fr,
    /// β.
    pub beta: Fr,
}

impl LocalSecrets {
    /// τ, α, β drawn from `ChaCha20Rng::seed_from_u64(seed)`: anyone who knows the seed
    /// can forge proofs against keys made from the file.
    pub fn from_seed(seed: u64) -> Self {
        Self::random(&mut ChaCha20Rng::seed_from_u64(seed))
    }

    /// τ, α, β drawn from `rng` (the OS's, for `zkmargin ceremony dev-ptau`): nobody
    /// else knows them, but the one process that drew them did, so a file made this
    /// way is a single-party phase 1: development and rehearsals only.
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Self {
            tau: Fr::rand(rng),
            alpha: Fr::rand(rng),
            beta: Fr::rand(rng),
        }
    }
}

impl fmt::Debug for LocalSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSecrets").finish_non_exhaustive()
    }
}

/// A [`Ptau`] whose pairing checks passed ([`Ptau::check`]): the only form phase 2 takes.
#[derive(Clone, Debug)]
pub struct CheckedPtau(Ptau);

impl CheckedPtau {
    /// The checked file.
    pub fn ptau(&self) -> &Ptau {
        &self.0
    }

    /// The hashes of the whole file.
    pub fn hashes(&self) -> &PtauHashes {
        self.0.hashes()
    }

    /// Refuses a domain of `2^log_size` larger than the loaded powers serve.
    ///
    /// # Errors
    /// [`PtauError::TooSmall`].
    pub fn require_domain(&self, log_size: u32) -> Result<(), PtauError> {
        if log_size > self.0.loaded_power {
            return Err(PtauError::TooSmall {
                needed: log_size,
                power: self.0.loaded_power,
            });
        }
        Ok(())
    }

    /// The Lagrange-basis points of the domain `2^log_size`: the prepared sections when
    /// the file has them (already checked against the powers), else the inverse FFT of
    /// the powers computed over the group elements.
    ///
    /// # Errors
    /// [`PtauError::TooSmall`].
    pub fn lagrange_basis(&self, log_size: u32) -> Result<LagrangeBasis, PtauError> {
        self.require_domain(log_size)?;
        let n = 1usize << log_size;
        if let Some(p) = &self.0.prepared {
            return Ok(p.levels[log_size as usize].clone());
        }
        Ok(LagrangeBasis {
            tau_g1: ifft_g1(&self.0.tau_g1[..n]),
            tau_g2: ifft_g2(&self.0.tau_g2[..n]),
            alpha_tau_g1: ifft_g1(&self.0.alpha_tau_g1[..n]),
            beta_tau_g1: ifft_g1(&self.0.beta_tau_g1[..n]),
        })
    }

    /// [`CheckedPtau::lagrange_basis`] computed by the inverse FFT over group elements
    /// even when the file is prepared (to compare the two ways).
    ///
    /// # Errors
    /// [`PtauError::TooSmall`].
    pub fn lagrange_basis_by_fft(&self, log_size: u32) -> Result<LagrangeBasis, PtauError> {
        self.require_domain(log_size)?;
        let n = 1usize << log_size;
        Ok(LagrangeBasis {
            tau_g1: ifft_g1(&self.0.tau_g1[..n]),
            tau_g2: ifft_g2(&self.0.tau_g2[..n]),
            alpha_tau_g1: ifft_g1(&self.0.alpha_tau_g1[..n]),
            beta_tau_g1: ifft_g1(&self.0.beta_tau_g1[..n]),
        })
    }
}

/// `[L_i(τ)]` from `[τ^j]`: `L_i(X) = (1/n)·Σ_j ω^{-ij}·X^j`, which is the inverse FFT
/// applied to the vector of powers.
fn ifft_g1(powers: &[G1Affine]) -> Vec<G1Affine> {
    if powers.len() == 1 {
        return powers.to_vec();
    }
    let domain = Radix2EvaluationDomain::<Fr>::new(powers.len()).expect("a power of two");
    let mut v: Vec<G1Projective> = powers.iter().map(|p| p.into_group()).collect();
    domain.ifft_in_place(&mut v);
    G1Projective::normalize_batch(&v)
}

fn ifft_g2(powers: &[G2Affine]) -> Vec<G2Affine> {
    if powers.len() == 1 {
        return powers.to_vec();
    }
    let domain = Radix2EvaluationDomain::<Fr>::new(powers.len()).expect("a power of two");
    let mut v: Vec<G2Projective> = powers.iter().map(|p| p.into_group()).collect();
    domain.ifft_in_place(&mut v);
    G2Projective::normalize_batch(&v)
}
