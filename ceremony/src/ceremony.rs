//! Phase 2: the multi-party ceremony for one circuit, as files passed from participant
//! to participant.
//!
//! - [`init`]: the initial parameters (γ = δ = 1) from the circuit and a checked ptau.
//! - [`CeremonyFile::contribute`]: a participant draws a secret `s` (OS randomness mixed
//!   with its own entropy), sets δ' = δ·s, multiplies every L and H query point by
//!   `s⁻¹`, and appends a record with a proof of knowledge of `s` bound to the hash of
//!   the transcript so far; the record's hash is what the participant publishes.
//! - [`CeremonyFile::beacon`]: the same with `s` derived from a public random value by
//!   2^n iterations of SHA-256 (as snarkjs and Zcash close their ceremonies).
//! - [`verify`]: recomputes the initial parameters and checks every record, the hash
//!   chain and the final parameters; [`verify_contribution`] checks one step.
//! - [`finalize`]: verifies, then hands out the keys and their provenance.
//!
//! The proof of knowledge is bellman's phase 2 (Bowe–Gabizon–Miers 2017): a random G1
//! point `S`, `S·s`, `R = hash_to_G2(previous hash ‖ S ‖ S·s)` and `R·s`, checked with
//! `e(S, R·s) = e(S·s, R)`. Because `R` is a hash output no one can choose, only someone
//! who knows `s` can produce `R·s`; because the hash covers the previous transcript, a
//! proof cannot be carried to another place in the ceremony.
//!
//! The keys are sound if one participant's `s` stayed secret: the final δ is the product
//! of all of them, and every check here ties each record's δ to its proven `s`.

use std::{fmt, path::Path};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, UniformRand, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::error::CeremonyError;
use crate::{
    curve::{
        blake2b, generators, hash_to_g2, msm_g1, random_coefficients, same_ratio, scalar_from_hash,
        scale_g1, uncompressed, verifier_rng,
    },
    phase2::{initial_parameters, CircuitShape},
    ptau::CheckedPtau,
};

/// The first bytes of a ceremony file.
pub const MAGIC: &[u8; 8] = b"ZKMCRMNY";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// The most SHA-256 iterations (as a power of two) a beacon may ask a verifier to spend
/// (2^40 is hours; snarkjs examples use 2^10).
pub const MAX_BEACON_ITERATIONS_EXP: u8 = 40;
/// The longest circuit id.
pub const MAX_CIRCUIT_ID_LEN: usize = 256;
/// The longest beacon value.
pub const MAX_BEACON_VALUE_LEN: usize = 1024;

const KIND_PARTICIPANT: u8 = 1;
const KIND_BEACON: u8 = 2;
const DOMAIN_INIT: &[u8] = b"zkmargin-ceremony/init/v1";
const DOMAIN_RECORD: &[u8] = b"zkmargin-ceremony/contribution/v1";
const DOMAIN_POK: &[u8] = b"zkmargin-ceremony/pok/v1";
const DOMAIN_ENTROPY: &[u8] = b"zkmargin-ceremony/entropy/v1";
const DOMAIN_BEACON: &[u8] = b"zkmargin-ceremony/beacon/v1";

/// Who made a contribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ContributionKind {
    /// A participant with a secret.
    Participant,
    /// The public random beacon that closes the ceremony.
    Beacon {
        /// The public value (e.g. a future block hash), hex in JSON.
        #[serde(with = "hex::serde")]
        value: Vec<u8>,
        /// The value was hashed 2^this many times with SHA-256.
        iterations_exp: u8,
    },
}

/// One record of the transcript: the δ it produced and the proof of knowledge of the
/// secret that produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// Participant or beacon.
    pub kind: ContributionKind,
    /// The transcript hash before this record (the chain link).
    pub previous_hash: [u8; 64],
    /// δ·G1 after this contribution.
    pub delta_g1: G1Affine,
    /// δ·G2 after this contribution.
    pub delta_g2: G2Affine,
    /// The proof of knowledge's random G1 point `S`.
    pub s: G1Affine,
    /// `S·s`.
    pub s_delta: G1Affine,
    /// `R·s` with `R = hash_to_G2(previous hash ‖ S ‖ S·s)`.
    pub r_delta: G2Affine,
}

impl Contribution {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(match self.kind {
            ContributionKind::Participant => KIND_PARTICIPANT,
            ContributionKind::Beacon { .. } => KIND_BEACON,
        });
        out.extend_from_slice(&self.previous_hash);
        out.extend(uncompressed(&self.delta_g1));
        out.extend(uncompressed(&self.delta_g2));
        out.extend(uncompressed(&self.s));
        out.extend(uncompressed(&self.s_delta));
        out.extend(uncompressed(&self.r_delta));
        if let ContributionKind::Beacon {
            value,
            iterations_exp,
        } = &self.kind
        {
            out.push(*iterations_exp);
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
            out.extend_from_slice(value);
        }
    }

    /// The contribution hash: BLAKE2b-512 of a domain tag and the record's encoding. It
    /// covers the previous transcript hash, so it is also the transcript hash after this
    /// record; the participant publishes it.
    pub fn hash(&self) -> [u8; 64] {
        let mut bytes = Vec::new();
        self.encode(&mut bytes);
        blake2b(&[DOMAIN_RECORD, &bytes])
    }

    /// `R`, the G2 point the proof of knowledge is about.
    fn r(&self) -> G2Affine {
        pok_base(&self.previous_hash, &self.s, &self.s_delta)
    }
}

fn pok_base(previous: &[u8; 64], s: &G1Affine, s_delta: &G1Affine) -> G2Affine {
    hash_to_g2(
        DOMAIN_POK,
        &[&previous[..], &uncompressed(s), &uncompressed(s_delta)].concat(),
    )
}

/// What a participant gets back from [`CeremonyFile::contribute`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ContributionReceipt {
    /// 0-based position of the record in the transcript.
    pub index: usize,
    /// The contribution hash to publish.
    pub hash: [u8; 64],
}

impl ContributionReceipt {
    /// The contribution hash in lowercase hex.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

impl fmt::Debug for ContributionReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContributionReceipt")
            .field("index", &self.index)
            .field("hash", &self.hash_hex())
            .finish()
    }
}

/// The phase-2 state of one circuit: what participants pass along (format in
/// `FORMAT.md`). Everything in it is untrusted until [`verify`] accepts it.
#[derive(Clone, PartialEq)]
pub struct CeremonyFile {
    /// The circuit id, e.g. `zkmargin.margin.v1`.
    pub circuit_id: String,
    /// [`CircuitShape::digest`] of the circuit.
    pub circuit_digest: [u8; 64],
    /// BLAKE2b-512 of the ptau file the initial parameters came from.
    pub ptau_blake2b: [u8; 64],
    /// The current parameters.
    pub parameters: ProvingKey<Bn254>,
    /// The records, oldest first.
    pub contributions: Vec<Contribution>,
}

impl fmt::Debug for CeremonyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CeremonyFile")
            .field("circuit_id", &self.circuit_id)
            .field("circuit_digest", &hex::encode(self.circuit_digest))
            .field("ptau_blake2b", &hex::encode(self.ptau_blake2b))
            .field("contributions", &self.contributions.len())
            .finish_non_exhaustive()
    }
}

/// The transcript hash before any record: BLAKE2b-512 of a domain tag, the circuit id,
/// the circuit digest, the ptau hash and the BLAKE2b-512 of the initial parameters.
fn initial_hash(
    circuit_id: &str,
    circuit_digest: &[u8; 64],
    ptau_blake2b: &[u8; 64],
    parameters: &ProvingKey<Bn254>,
) -> [u8; 64] {
    let params = blake2b(&[&uncompressed(parameters)]);
    blake2b(&[
        DOMAIN_INIT,
        &(circuit_id.len() as u16).to_le_bytes(),
        circuit_id.as_bytes(),
        circuit_digest,
        ptau_blake2b,
        &params,
    ])
}

/// Starts the ceremony of a circuit: the initial parameters (γ = δ = 1) and an empty
/// transcript.
///
/// # Errors
/// [`CeremonyError::Ptau`] when the ptau is too small for the circuit;
/// [`CeremonyError::Malformed`] for an id longer than [`MAX_CIRCUIT_ID_LEN`].
pub fn init(
    circuit_id: &str,
    shape: &CircuitShape,
    ptau: &CheckedPtau,
) -> Result<CeremonyFile, CeremonyError> {
    if circuit_id.len() > MAX_CIRCUIT_ID_LEN {
        return Err(CeremonyError::Malformed(format!(
            "a circuit id of {} bytes (at most {MAX_CIRCUIT_ID_LEN})",
            circuit_id.len()
        )));
    }
    Ok(CeremonyFile {
        circuit_id: circuit_id.to_owned(),
        circuit_digest: shape.digest,
        ptau_blake2b: ptau.hashes().blake2b,
        parameters: initial_parameters(shape, ptau)?,
        contributions: Vec::new(),
    })
}

impl CeremonyFile {
    /// The transcript hash so far: the last record's hash, or the initial hash.
    pub fn transcript_digest(&self) -> [u8; 64] {
        match self.contributions.last() {
            Some(c) => c.hash(),
            None => initial_hash(
                &self.circuit_id,
                &self.circuit_digest,
                &self.ptau_blake2b,
                &self.parameters,
            ),
        }
    }

    /// Whether a beacon closed the ceremony.
    pub fn is_closed(&self) -> bool {
        self.contributions
            .iter()
            .any(|c| matches!(c.kind, ContributionKind::Beacon { .. }))
    }

    /// Contributes with 64 bytes of OS randomness mixed with `user_entropy` (anything the
    /// participant types or rolls; it only adds to the OS randomness).
    ///
    /// # Errors
    /// [`CeremonyError::Closed`] after a beacon; [`CeremonyError::Entropy`] when the OS
    /// has no randomness to give.
    pub fn contribute(
        self,
        user_entropy: &[u8],
    ) -> Result<(Self, ContributionReceipt), CeremonyError> {
        let mut os = [0u8; 64];
        rand::rngs::OsRng
            .try_fill_bytes(&mut os)
            .map_err(|e| CeremonyError::Entropy(e.to_string()))?;
        self.contribute_from(&os, user_entropy)
    }

    /// [`CeremonyFile::contribute`] drawing the 64 bytes from `rng` instead of the OS
    /// (tests; reproducible runs).
    ///
    /// # Errors
    /// [`CeremonyError::Closed`] after a beacon.
    pub fn contribute_with_rng<R: RngCore + CryptoRng>(
        self,
        rng: &mut R,
        user_entropy: &[u8],
    ) -> Result<(Self, ContributionReceipt), CeremonyError> {
        let mut os = [0u8; 64];
        rng.fill_bytes(&mut os);
        self.contribute_from(&os, user_entropy)
    }

    fn contribute_from(
        self,
        random: &[u8; 64],
        user_entropy: &[u8],
    ) -> Result<(Self, ContributionReceipt), CeremonyError> {
        if self.is_closed() {
            return Err(CeremonyError::Closed);
        }
        // Hashing mixes the two sources: the secret is as unpredictable as the better one.
        let seed = blake2b(&[
            DOMAIN_ENTROPY,
            random,
            &(user_entropy.len() as u64).to_le_bytes(),
            user_entropy,
        ]);
        let mut rng = ChaCha20Rng::from_seed(seed[..32].try_into().expect("32 bytes"));
        let s = loop {
            let s = Fr::rand(&mut rng);
            if !s.is_zero() {
                break s;
            }
        };
        let big_s = loop {
            let p = G1Projective::rand(&mut rng).into_affine();
            if !p.is_zero() {
                break p;
            }
        };
        Ok(self.apply(s, big_s, ContributionKind::Participant))
    }

    /// Closes the ceremony with a public random `value` (e.g. the hash of a block mined
    /// after the last contribution), hashed 2^`iterations_exp` times with SHA-256, as
    /// snarkjs `zkey beacon` does. Anyone recomputes the secret, so a beacon adds no
    /// secrecy: it rules out a last participant choosing its secret to bias the keys.
    ///
    /// # Errors
    /// [`CeremonyError::Closed`] after a beacon; [`CeremonyError::BeaconTooSlow`] above
    /// [`MAX_BEACON_ITERATIONS_EXP`]; [`CeremonyError::Malformed`] for a value longer than
    /// [`MAX_BEACON_VALUE_LEN`].
    pub fn beacon(
        self,
        value: &[u8],
        iterations_exp: u8,
    ) -> Result<(Self, ContributionReceipt), CeremonyError> {
        if self.is_closed() {
            return Err(CeremonyError::Closed);
        }
        let s = beacon_secret(value, iterations_exp)?;
        let kind = ContributionKind::Beacon {
            value: value.to_vec(),
            iterations_exp,
        };
        Ok(self.apply(s, G1Affine::generator(), kind))
    }

    fn apply(
        mut self,
        s: Fr,
        big_s: G1Affine,
        kind: ContributionKind,
    ) -> (Self, ContributionReceipt) {
        let previous_hash = self.transcript_digest();
        let s_delta = (big_s * s).into_affine();
        let r = pok_base(&previous_hash, &big_s, &s_delta);
        let r_delta = (r * s).into_affine();
        let s_inv = s.inverse().expect("a non-zero secret");
        let p = &mut self.parameters;
        p.delta_g1 = (p.delta_g1 * s).into_affine();
        p.vk.delta_g2 = (p.vk.delta_g2 * s).into_affine();
        p.h_query = scale_g1(&p.h_query, s_inv);
        p.l_query = scale_g1(&p.l_query, s_inv);
        let record = Contribution {
            kind,
            previous_hash,
            delta_g1: p.delta_g1,
            delta_g2: p.vk.delta_g2,
            s: big_s,
            s_delta,
            r_delta,
        };
        let receipt = ContributionReceipt {
            index: self.contributions.len(),
            hash: record.hash(),
        };
        self.contributions.push(record);
        (self, receipt)
    }

    /// The file's bytes (`FORMAT.md`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(self.circuit_id.len() as u16).to_le_bytes());
        out.extend_from_slice(self.circuit_id.as_bytes());
        out.extend_from_slice(&self.circuit_digest);
        out.extend_from_slice(&self.ptau_blake2b);
        let params = uncompressed(&self.parameters);
        out.extend_from_slice(&(params.len() as u64).to_le_bytes());
        out.extend_from_slice(&params);
        out.extend_from_slice(&(self.contributions.len() as u32).to_le_bytes());
        for c in &self.contributions {
            let mut record = Vec::new();
            c.encode(&mut record);
            out.extend_from_slice(&(record.len() as u32).to_le_bytes());
            out.extend_from_slice(&record);
        }
        out
    }

    /// Decodes a ceremony file, validating every point (on the curve, in the subgroup).
    ///
    /// # Errors
    /// [`CeremonyError::BadMagic`], [`CeremonyError::UnsupportedVersion`],
    /// [`CeremonyError::Truncated`], [`CeremonyError::TrailingBytes`],
    /// [`CeremonyError::Malformed`] or [`CeremonyError::InvalidParameters`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CeremonyError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len(), "the magic bytes")? != MAGIC {
            return Err(CeremonyError::BadMagic);
        }
        let version = r.u32("the version")?;
        if version != VERSION {
            return Err(CeremonyError::UnsupportedVersion(version));
        }
        let id_len = r.u16("the circuit id")? as usize;
        if id_len > MAX_CIRCUIT_ID_LEN {
            return Err(CeremonyError::Malformed(format!(
                "a circuit id of {id_len} bytes"
            )));
        }
        let circuit_id = std::str::from_utf8(r.take(id_len, "the circuit id")?)
            .map_err(|_| CeremonyError::Malformed("the circuit id is not UTF-8".into()))?
            .to_owned();
        let circuit_digest = r.array64("the circuit digest")?;
        let ptau_blake2b = r.array64("the ptau hash")?;
        let params_len = r.u64("the parameters")?;
        let params_len =
            usize::try_from(params_len).map_err(|_| CeremonyError::Truncated("the parameters"))?;
        let mut params = r.take(params_len, "the parameters")?;
        // Checked deserialization: every point on the curve and in the prime-order
        // subgroup (arkworks' `Validate::Yes`).
        let parameters = ProvingKey::<Bn254>::deserialize_uncompressed(&mut params)
            .map_err(|e| CeremonyError::InvalidParameters(e.to_string()))?;
        if !params.is_empty() {
            return Err(CeremonyError::InvalidParameters(format!(
                "{} bytes after the proving key",
                params.len()
            )));
        }
        let count = r.u32("the record count")? as usize;
        let mut contributions = Vec::with_capacity(count.min(1024));
        for index in 0..count {
            let len = r.u32("a contribution record")? as usize;
            let record = r.take(len, "a contribution record")?;
            contributions.push(decode_record(record, index)?);
        }
        if r.pos != bytes.len() {
            return Err(CeremonyError::TrailingBytes(bytes.len() - r.pos));
        }
        Ok(Self {
            circuit_id,
            circuit_digest,
            ptau_blake2b,
            parameters,
            contributions,
        })
    }

    /// Reads and decodes a ceremony file.
    ///
    /// # Errors
    /// [`CeremonyError::Io`], or as [`CeremonyFile::from_bytes`].
    pub fn read(path: &Path) -> Result<Self, CeremonyError> {
        Self::from_bytes(&std::fs::read(path).map_err(CeremonyError::Io)?)
    }

    /// Writes the file to `path`.
    ///
    /// # Errors
    /// [`CeremonyError::Io`].
    pub fn write(&self, path: &Path) -> Result<(), CeremonyError> {
        std::fs::write(path, self.to_bytes()).map_err(CeremonyError::Io)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CeremonyError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(CeremonyError::Truncated(what))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, CeremonyError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, CeremonyError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, CeremonyError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
    fn array64(&mut self, what: &'static str) -> Result<[u8; 64], CeremonyError> {
        Ok(self.take(64, what)?.try_into().expect("64 bytes"))
    }
    fn point<T: CanonicalDeserialize + CanonicalSerialize + Default>(
        &mut self,
        index: usize,
        what: &'static str,
    ) -> Result<T, CeremonyError> {
        let size = T::default().uncompressed_size();
        let mut b = self.take(size, "a contribution record")?;
        T::deserialize_uncompressed(&mut b).map_err(|e| {
            CeremonyError::Malformed(format!(
                "contribution {index}: {what} is not a valid point: {e}"
            ))
        })
    }
}

fn decode_record(bytes: &[u8], index: usize) -> Result<Contribution, CeremonyError> {
    let mut r = Reader { bytes, pos: 0 };
    let kind = r.take(1, "a contribution record")?[0];
    let previous_hash = r.array64("a contribution record")?;
    let delta_g1 = r.point(index, "δ·G1")?;
    let delta_g2 = r.point(index, "δ·G2")?;
    let s = r.point(index, "S")?;
    let s_delta = r.point(index, "S·s")?;
    let r_delta = r.point(index, "R·s")?;
    let kind = match kind {
        KIND_PARTICIPANT => ContributionKind::Participant,
        KIND_BEACON => {
            let iterations_exp = r.take(1, "a beacon record")?[0];
            let len = r.u16("a beacon record")? as usize;
            if len > MAX_BEACON_VALUE_LEN {
                return Err(CeremonyError::Malformed(format!(
                    "contribution {index}: a beacon value of {len} bytes"
                )));
            }
            ContributionKind::Beacon {
                value: r.take(len, "a beacon record")?.to_vec(),
                iterations_exp,
            }
        }
        k => {
            return Err(CeremonyError::Malformed(format!(
                "contribution {index}: unknown kind {k}"
            )))
        }
    };
    if r.pos != bytes.len() {
        return Err(CeremonyError::Malformed(format!(
            "contribution {index}: bytes after the record"
        )));
    }
    Ok(Contribution {
        kind,
        previous_hash,
        delta_g1,
        delta_g2,
        s,
        s_delta,
        r_delta,
    })
}

/// The beacon's secret: SHA-256 applied 2^`iterations_exp` times to `value` (snarkjs's
/// `rngFromBeaconParams` iteration), then BLAKE2b-512 with a domain tag, reduced mod r.
fn beacon_secret(value: &[u8], iterations_exp: u8) -> Result<Fr, CeremonyError> {
    if iterations_exp > MAX_BEACON_ITERATIONS_EXP {
        return Err(CeremonyError::BeaconTooSlow(iterations_exp));
    }
    if value.len() > MAX_BEACON_VALUE_LEN {
        return Err(CeremonyError::Malformed(format!(
            "a beacon value of {} bytes",
            value.len()
        )));
    }
    let mut h: [u8; 32] = Sha256::digest(value).into();
    for _ in 1..(1u64 << iterations_exp) {
        h = Sha256::digest(h).into();
    }
    scalar_from_hash(&blake2b(&[DOMAIN_BEACON, &h]))
        .ok_or_else(|| CeremonyError::Malformed("the beacon derives a zero secret".into()))
}

/// One record as verification saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedContribution {
    /// 0-based position.
    pub index: usize,
    /// Participant or beacon.
    #[serde(flatten)]
    pub kind: ContributionKind,
    /// The contribution hash (lowercase hex), for participants to find theirs.
    pub hash: String,
}

/// What [`verify`] establishes about a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCeremony {
    /// The circuit id.
    pub circuit_id: String,
    /// The circuit digest (hex).
    pub circuit_digest: String,
    /// The transcript hash before any record (hex).
    pub initial_hash: String,
    /// Every record, in order, with its hash.
    pub contributions: Vec<VerifiedContribution>,
    /// The final transcript hash (hex): the last record's hash.
    pub transcript_digest: String,
}

impl VerifiedCeremony {
    /// Records made by participants (the beacon not counted).
    pub fn participant_count(&self) -> usize {
        self.contributions
            .iter()
            .filter(|c| c.kind == ContributionKind::Participant)
            .count()
    }
}

/// The parts of the parameters that no contribution changes.
fn check_unchanged(a: &ProvingKey<Bn254>, b: &ProvingKey<Bn254>) -> Result<(), CeremonyError> {
    let checks = [
        (a.vk.alpha_g1 == b.vk.alpha_g1, "α·G1"),
        (a.vk.beta_g2 == b.vk.beta_g2, "β·G2"),
        (a.vk.gamma_g2 == b.vk.gamma_g2, "γ·G2"),
        (
            a.vk.gamma_abc_g1 == b.vk.gamma_abc_g1,
            "verifying-key input points (gamma_abc_g1)",
        ),
        (a.beta_g1 == b.beta_g1, "β·G1"),
        (a.a_query == b.a_query, "A query"),
        (a.b_g1_query == b.b_g1_query, "B query in G1"),
        (a.b_g2_query == b.b_g2_query, "B query in G2"),
        (a.h_query.len() == b.h_query.len(), "H query length"),
        (a.l_query.len() == b.l_query.len(), "L query length"),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(CeremonyError::ParametersAltered(what)),
        None => Ok(()),
    }
}

/// δ in G1 and in G2.
type Delta = (G1Affine, G2Affine);

/// The records `check_records` verified, the transcript hash after them and their δ.
type Checked = (Vec<VerifiedContribution>, [u8; 64], Delta);

/// Checks `records` (which extend a transcript whose hash is `hash` and whose δ is
/// `delta`) one by one; returns the verified records and the final (hash, δ).
///
/// For each record, in this order (each its own error):
/// 1. its previous hash is the running transcript hash (the chain);
/// 2. no record follows a beacon;
/// 3. none of its points is the identity (with `S = 0` every `R·s` would pass);
/// 4. its `S` is no earlier participant's (a copied proof of knowledge);
/// 5. `e(S, R·s) = e(S·s, R)` with `R` re-derived from the chain: it knows `s`;
/// 6. `e(δ·G1, G2) = e(G1, δ·G2)`: its two δ agree;
/// 7. `e(δ_prev·G1, R·s) = e(δ·G1, R)`: the new δ is the old times that same `s`;
/// 8. for a beacon, `s` recomputed from the public value gives exactly its points.
fn check_records(
    records: &[Contribution],
    first_index: usize,
    mut hash: [u8; 64],
    mut delta: (G1Affine, G2Affine),
    earlier: &[Contribution],
    already_closed: bool,
) -> Result<Checked, CeremonyError> {
    let (g1, g2) = generators();
    let mut closed = already_closed;
    let mut out = Vec::with_capacity(records.len());
    for (k, c) in records.iter().enumerate() {
        let index = first_index + k;
        if c.previous_hash != hash {
            return Err(CeremonyError::HashChainBroken { index });
        }
        if closed {
            return Err(CeremonyError::ContributionAfterBeacon { index });
        }
        for (p, which) in [
            (c.delta_g1.is_zero(), "δ·G1"),
            (c.delta_g2.is_zero(), "δ·G2"),
            (c.s.is_zero(), "S"),
            (c.s_delta.is_zero(), "S·s"),
            (c.r_delta.is_zero(), "R·s"),
        ] {
            if p {
                return Err(CeremonyError::DegeneratePoint { index, which });
            }
        }
        if c.kind == ContributionKind::Participant {
            let before = earlier.iter().chain(&records[..k]);
            if let Some(original) = before
                .enumerate()
                .find(|(_, e)| e.kind == ContributionKind::Participant && e.s == c.s)
                .map(|(i, _)| i)
            {
                return Err(CeremonyError::ProofOfKnowledgeReplayed { index, original });
            }
        }
        let r = c.r();
        if !same_ratio((c.s.into(), c.s_delta.into()), (r.into(), c.r_delta.into())) {
            return Err(CeremonyError::ProofOfKnowledgeInvalid { index });
        }
        if !same_ratio(
            (g1.into(), c.delta_g1.into()),
            (g2.into(), c.delta_g2.into()),
        ) {
            return Err(CeremonyError::DeltaInconsistent { index });
        }
        if !same_ratio(
            (delta.0.into(), c.delta_g1.into()),
            (r.into(), c.r_delta.into()),
        ) {
            return Err(CeremonyError::DeltaUpdateInvalid { index });
        }
        if let ContributionKind::Beacon {
            value,
            iterations_exp,
        } = &c.kind
        {
            let s = beacon_secret(value, *iterations_exp)?;
            let exact = c.s == g1
                && c.s_delta == (g1 * s).into_affine()
                && c.r_delta == (r * s).into_affine()
                && c.delta_g1 == (delta.0 * s).into_affine();
            if !exact {
                return Err(CeremonyError::BeaconMismatch { index });
            }
            closed = true;
        }
        hash = c.hash();
        delta = (c.delta_g1, c.delta_g2);
        out.push(VerifiedContribution {
            index,
            kind: c.kind.clone(),
            hash: hex::encode(hash),
        });
    }
    Ok((out, hash, delta))
}

/// Checks that `after`'s L and H queries are `before`'s times `δ_before/δ_after`:
/// `e(Σρ_i·L'_i, δ'·G2) = e(Σρ_i·L_i, δ·G2)` with random ρ, and the same for H. The
/// δ in G2 were tied to the proven secrets by the record checks, so this pins every
/// point to the same factor `s⁻¹` except with probability 2^-128.
fn check_rescaled(
    before: &ProvingKey<Bn254>,
    after: &ProvingKey<Bn254>,
) -> Result<(), CeremonyError> {
    let mut rng = verifier_rng();
    let (d0, d1): (G2Projective, G2Projective) =
        (before.vk.delta_g2.into(), after.vk.delta_g2.into());
    for (b, a, err) in [
        (
            &before.l_query,
            &after.l_query,
            CeremonyError::LQueryNotRescaled,
        ),
        (
            &before.h_query,
            &after.h_query,
            CeremonyError::HQueryNotRescaled,
        ),
    ] {
        let rho = random_coefficients(&mut rng, b.len());
        if !same_ratio((msm_g1(a, &rho), msm_g1(b, &rho)), (d0, d1)) {
            return Err(err);
        }
    }
    Ok(())
}

fn check_header(
    file: &CeremonyFile,
    circuit_id: &str,
    shape: &CircuitShape,
    ptau: &CheckedPtau,
) -> Result<(), CeremonyError> {
    if file.circuit_digest != shape.digest {
        return Err(CeremonyError::CircuitMismatch {
            expected: shape.digest_hex(),
            found: hex::encode(file.circuit_digest),
        });
    }
    if file.circuit_id != circuit_id {
        return Err(CeremonyError::CircuitIdMismatch {
            expected: circuit_id.to_owned(),
            found: file.circuit_id.clone(),
        });
    }
    if file.ptau_blake2b != ptau.hashes().blake2b {
        return Err(CeremonyError::PtauMismatch {
            expected: ptau.hashes().blake2b_hex(),
            found: hex::encode(file.ptau_blake2b),
        });
    }
    Ok(())
}

/// Verifies a whole transcript from the circuit and the ptau: recomputes the initial
/// parameters, checks that nothing but δ, L and H changed, every record (see the
/// numbered list in the source of `check_records`: hash chain, proofs of knowledge,
/// δ updates in G1 and G2, replays, the beacon), that the final δ is the last record's,
/// and that L and H were rescaled by exactly the inverse of the total δ.
///
/// # Errors
/// The first failed check, each its own [`CeremonyError`] variant.
pub fn verify(
    file: &CeremonyFile,
    circuit_id: &str,
    shape: &CircuitShape,
    ptau: &CheckedPtau,
) -> Result<VerifiedCeremony, CeremonyError> {
    check_header(file, circuit_id, shape, ptau)?;
    let initial = initial_parameters(shape, ptau)?;
    check_unchanged(&initial, &file.parameters)?;
    let h0 = initial_hash(
        &file.circuit_id,
        &file.circuit_digest,
        &file.ptau_blake2b,
        &initial,
    );
    let (g1, g2) = generators();
    let (records, digest, delta) = check_records(&file.contributions, 0, h0, (g1, g2), &[], false)?;
    if (file.parameters.delta_g1, file.parameters.vk.delta_g2) != delta {
        return Err(CeremonyError::ParametersDeltaMismatch);
    }
    check_rescaled(&initial, &file.parameters)?;
    Ok(VerifiedCeremony {
        circuit_id: file.circuit_id.clone(),
        circuit_digest: hex::encode(file.circuit_digest),
        initial_hash: hex::encode(h0),
        contributions: records,
        transcript_digest: hex::encode(digest),
    })
}

/// Verifies one step: `after` is `before` plus one valid record, with δ, L and H
/// updated by the record's secret and nothing else changed. What a coordinator runs on
/// each file a participant returns, without the ptau or the circuit (the whole
/// transcript is still checked by [`verify`] before [`finalize`]).
///
/// # Errors
/// [`CeremonyError::NotAnExtension`] unless `after` has the same header and the same
/// records plus one; then as [`verify`].
pub fn verify_contribution(
    before: &CeremonyFile,
    after: &CeremonyFile,
) -> Result<VerifiedContribution, CeremonyError> {
    let n = before.contributions.len();
    let same_header = before.circuit_id == after.circuit_id
        && before.circuit_digest == after.circuit_digest
        && before.ptau_blake2b == after.ptau_blake2b;
    if !same_header
        || after.contributions.len() != n + 1
        || after.contributions[..n] != before.contributions[..]
    {
        return Err(CeremonyError::NotAnExtension);
    }
    check_unchanged(&before.parameters, &after.parameters)?;
    let delta = (before.parameters.delta_g1, before.parameters.vk.delta_g2);
    let (mut records, _, new_delta) = check_records(
        &after.contributions[n..],
        n,
        before.transcript_digest(),
        delta,
        &before.contributions,
        before.is_closed(),
    )?;
    if (after.parameters.delta_g1, after.parameters.vk.delta_g2) != new_delta {
        return Err(CeremonyError::ParametersDeltaMismatch);
    }
    check_rescaled(&before.parameters, &after.parameters)?;
    Ok(records.remove(0))
}

/// The beacon that closed a ceremony, as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconProvenance {
    /// The public value (hex).
    pub value: String,
    /// SHA-256 iterations as a power of two.
    pub iterations_exp: u8,
    /// The beacon record's hash (hex).
    pub hash: String,
}

/// How the keys were made: what the keys manifest records for a ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The circuit id.
    pub circuit_id: String,
    /// The circuit digest (hex, `CircuitShape::digest`).
    pub circuit_digest: String,
    /// BLAKE2b-512 of the ptau (hex; compare with the published one).
    pub ptau_blake2b: String,
    /// SHA-256 of the ptau (hex).
    pub ptau_sha256: String,
    /// The power of the ptau file.
    pub ptau_power: u32,
    /// The final transcript hash (hex).
    pub transcript_digest: String,
    /// Participants who contributed (the beacon not counted).
    pub contribution_count: usize,
    /// Every participant's contribution hash (hex), in order.
    pub contribution_hashes: Vec<String>,
    /// The closing beacon, if any.
    pub beacon: Option<BeaconProvenance>,
}

/// The output of [`finalize`].
#[derive(Clone, Debug)]
pub struct FinalizedKeys {
    /// The proving key.
    pub proving_key: ProvingKey<Bn254>,
    /// The verifying key (the proving key's).
    pub verifying_key: VerifyingKey<Bn254>,
    /// Where they came from.
    pub provenance: Provenance,
}

impl FinalizedKeys {
    /// `ProvingKey::serialize_uncompressed`: the bytes `zkmargin setup` writes to `<stem>.pk`.
    pub fn proving_key_bytes(&self) -> Vec<u8> {
        uncompressed(&self.proving_key)
    }

    /// `VerifyingKey::serialize_uncompressed`: the bytes of `<stem>.vk`.
    pub fn verifying_key_bytes(&self) -> Vec<u8> {
        uncompressed(&self.verifying_key)
    }
}

/// Verifies the whole transcript ([`verify`]) and returns the keys with their
/// provenance. Refuses a ceremony no participant contributed to: with δ = 1 (or δ from
/// a public beacon only) anyone could forge proofs.
///
/// # Errors
/// As [`verify`]; [`CeremonyError::NoContributions`].
pub fn finalize(
    file: &CeremonyFile,
    circuit_id: &str,
    shape: &CircuitShape,
    ptau: &CheckedPtau,
) -> Result<FinalizedKeys, CeremonyError> {
    let verified = verify(file, circuit_id, shape, ptau)?;
    if verified.participant_count() == 0 {
        return Err(CeremonyError::NoContributions);
    }
    let beacon = verified.contributions.iter().find_map(|c| match &c.kind {
        ContributionKind::Beacon {
            value,
            iterations_exp,
        } => Some(BeaconProvenance {
            value: hex::encode(value),
            iterations_exp: *iterations_exp,
            hash: c.hash.clone(),
        }),
        ContributionKind::Participant => None,
    });
    let provenance = Provenance {
        circuit_id: verified.circuit_id.clone(),
        circuit_digest: verified.circuit_digest.clone(),
        ptau_blake2b: ptau.hashes().blake2b_hex(),
        ptau_sha256: ptau.hashes().sha256_hex(),
        ptau_power: ptau.ptau().power(),
        transcript_digest: verified.transcript_digest.clone(),
        contribution_count: verified.participant_count(),
        contribution_hashes: verified
            .contributions
            .iter()
            .filter(|c| c.kind == ContributionKind::Participant)
            .map(|c| c.hash.clone())
            .collect(),
        beacon,
    };
    Ok(FinalizedKeys {
        verifying_key: file.parameters.vk.clone(),
        proving_key: file.parameters.clone(),
        provenance,
    })
}
