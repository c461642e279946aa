//! Verifying keys prepared for pairing checks, and proofs decoded and checked.

use ark_bn254::{Bn254, Fr, G1Affine, G2Affine};
use ark_ec::bn::G2Prepared;
use ark_ff::PrimeField;
use ark_groth16::{prepare_verifying_key, PreparedVerifyingKey, VerifyingKey};
use ark_serialize::CanonicalDeserialize;
use zkmargin_circuits::MarginPublic;

use crate::{
    bundle::PROOF_BYTES, error::VerifyError, fixed_base::FixedBaseTable, pairing::KeyLines,
};

/// The BN254 pairing parameters (for the prepared-point types).
pub(crate) type BnConfig = ark_bn254::Config;

/// The margin circuit's verifying key prepared for pairing checks, with its fingerprint.
pub(crate) struct MarginKey {
    pub(crate) pvk: PreparedVerifyingKey<Bn254>,
    /// `-β` prepared, for the `e(Σr·α, -β)` term of a batch.
    pub(crate) beta_g2_neg_pc: G2Prepared<BnConfig>,
    /// `−γ` and `−δ`'s lines, normalized for the single-proof Miller loop.
    pub(crate) lines: KeyLines,
    /// Window table of the commitment's point: 254-bit scalars.
    pub(crate) ic_commitment: FixedBaseTable,
    /// Window table of τ's point: 32-bit scalars.
    pub(crate) ic_tau: FixedBaseTable,
    pub(crate) fingerprint: String,
}

impl MarginKey {
    pub(crate) fn new(key: &VerifyingKey<Bn254>, fingerprint: String) -> Self {
        let pvk = prepare_verifying_key(key);
        Self {
            lines: KeyLines::new(&pvk),
            beta_g2_neg_pc: G2Prepared::from(-key.beta_g2),
            ic_commitment: FixedBaseTable::new(
                ic(key, MarginPublic::COMMITMENT),
                Fr::MODULUS_BIT_SIZE as usize,
            ),
            ic_tau: FixedBaseTable::new(ic(key, MarginPublic::TAU), 32),
            pvk,
            fingerprint,
        }
    }

    /// The point of public input `index` (`IC_{index+1}`; `IC_0` is the constant's).
    pub(crate) fn ic(&self, index: usize) -> G1Affine {
        ic(&self.pvk.vk, index)
    }
}

/// `IC_{index+1}`: the point public input `index` (in the encoder's order) multiplies.
pub(crate) fn ic(key: &VerifyingKey<Bn254>, index: usize) -> G1Affine {
    key.gamma_abc_g1[1 + index]
}

/// The liquidation circuit's verifying key, prepared.
pub(crate) struct LiquidationKey {
    pub(crate) pvk: PreparedVerifyingKey<Bn254>,
    /// `−γ` and `−δ`'s lines, normalized.
    pub(crate) lines: KeyLines,
    pub(crate) fingerprint: String,
}

impl LiquidationKey {
    pub(crate) fn new(key: &VerifyingKey<Bn254>, fingerprint: String) -> Self {
        let pvk = prepare_verifying_key(key);
        Self {
            lines: KeyLines::new(&pvk),
            pvk,
            fingerprint,
        }
    }
}

/// A proof's points, checked, with B's lines prepared for a Miller loop.
pub(crate) struct PreparedProof {
    pub(crate) a: G1Affine,
    pub(crate) b: G2Prepared<BnConfig>,
    pub(crate) c: G1Affine,
}

impl PreparedProof {
    /// Decodes A, B and C (each checked on the curve and in its subgroup, B's
    /// membership decided while its lines are prepared); errors name the first bad
    /// point in the order A, B, C.
    pub(crate) fn decode(bytes: &[u8; PROOF_BYTES]) -> Result<Self, VerifyError> {
        Ok(Self {
            a: decode_g1("A", &bytes[..32])?,
            b: decode_g2_prepared("B", &bytes[32..96])?,
            c: decode_g1("C", &bytes[96..])?,
        })
    }
}

/// A compressed G1 point, on the curve (BN254's G1 has cofactor 1).
pub(crate) fn decode_g1(name: &str, bytes: &[u8]) -> Result<G1Affine, VerifyError> {
    G1Affine::deserialize_compressed(bytes)
        .map_err(|e| VerifyError::InvalidPoints(format!("{name}: {e}")))
}

/// A compressed G2 point, on the curve (its y is recovered from the curve equation;
/// no square root, no point).
fn decode_g2_on_curve(name: &str, bytes: &[u8]) -> Result<G2Affine, VerifyError> {
    G2Affine::deserialize_compressed_unchecked(bytes)
        .map_err(|e| VerifyError::InvalidPoints(format!("{name}: {e}")))
}

/// A compressed G2 point, on the curve and prepared for the Miller loop, with its
/// membership in the prime-order subgroup decided by the preparation
/// ([`crate::pairing::prepare_in_g2`]: the same verdict as arkworks' checked decoding).
pub(crate) fn decode_g2_prepared(
    name: &str,
    bytes: &[u8],
) -> Result<G2Prepared<BnConfig>, VerifyError> {
    crate::pairing::prepare_in_g2(&decode_g2_on_curve(name, bytes)?).ok_or_else(|| {
        VerifyError::InvalidPoints(format!("{name}: not in the prime-order subgroup"))
    })
}

/// Lowercase hex → exactly [`PROOF_BYTES`] bytes.
pub(crate) fn decode_proof_hex(s: &str) -> Result<[u8; PROOF_BYTES], VerifyError> {
    zkmargin_circuits::hex_text::decode(s).map_err(|e| VerifyError::MalformedProof(e.to_string()))
}
