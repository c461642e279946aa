//! arkworks values as EVM words, and EVM words back to validated arkworks values.
//!
//! An EVM word is 32 bytes, big-endian. Curve points use the encoding of the BN254
//! precompiles (EIP-196, EIP-197): G1 as `(x, y)`, G2 as `(x.c1, x.c0, y.c1, y.c0)` —
//! the imaginary part of each `Fq2` coordinate **first**, the opposite of arkworks'
//! `Fq2::new(c0, c1)` order — and the point at infinity as all-zero words. A Groth16
//! proof is the 8 words `A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y`, the
//! layout the generated verifiers (and gnark's and snarkjs's) take.

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, PrimeField};
use ark_groth16::Proof;

/// One EVM word: 32 bytes, big-endian.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Word(pub [u8; 32]);

impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Word {
    /// `0x` and 64 lowercase hex digits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// `0x` and 64 hex digits, as EVM tooling writes a `uint256`.
impl serde::Serialize for Word {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Word {
    /// The zero word.
    pub const ZERO: Word = Word([0; 32]);

    /// A small integer.
    pub fn from_u64(v: u64) -> Self {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&v.to_be_bytes());
        Word(w)
    }

    /// A field element of any arkworks prime field of at most 256 bits, canonical.
    pub fn from_field<F: PrimeField<BigInt = BigInt<4>>>(x: &F) -> Self {
        Self::from_bigint(&x.into_bigint())
    }

    /// A 256-bit integer.
    pub fn from_bigint(x: &BigInt<4>) -> Self {
        let bytes = x.to_bytes_be();
        let mut w = [0u8; 32];
        w.copy_from_slice(&bytes);
        Word(w)
    }

    /// The word as a 256-bit integer.
    pub fn to_bigint(&self) -> BigInt<4> {
        let mut limbs = [0u64; 4];
        for (i, chunk) in self.0.chunks_exact(8).enumerate() {
            let mut limb = [0u8; 8];
            limb.copy_from_slice(chunk);
            // Big-endian words: the first 8 bytes are the most significant limb.
            limbs[3 - i] = u64::from_be_bytes(limb);
        }
        BigInt(limbs)
    }

    /// The word as an element of `F` if it is below `F`'s modulus (never reduced:
    /// a non-canonical encoding is a different input, not the same one).
    pub fn to_field<F: PrimeField<BigInt = BigInt<4>>>(&self) -> Option<F> {
        F::from_bigint(self.to_bigint())
    }

    /// `self + other` modulo 2^256, with the carry out.
    pub fn overflowing_add(&self, other: &Word) -> (Word, bool) {
        let mut a = self.to_bigint();
        let carry = a.add_with_carry(&other.to_bigint());
        (Word::from_bigint(&a), carry)
    }

    /// `self − other` modulo 2^256, with the borrow out.
    pub fn overflowing_sub(&self, other: &Word) -> (Word, bool) {
        let mut a = self.to_bigint();
        let borrow = a.sub_with_borrow(&other.to_bigint());
        (Word::from_bigint(&a), borrow)
    }

    /// Parses `0x`-prefixed or bare hex of at most 64 digits (left-padded).
    ///
    /// # Errors
    /// [`DecodeError::Hex`] for anything else.
    pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        if digits.is_empty() || digits.len() > 64 {
            return Err(DecodeError::Hex(s.to_owned()));
        }
        let padded = format!("{digits:0>64}");
        let bytes = hex::decode(padded).map_err(|_| DecodeError::Hex(s.to_owned()))?;
        let mut w = [0u8; 32];
        w.copy_from_slice(&bytes);
        Ok(Word(w))
    }
}

impl From<&Fr> for Word {
    fn from(x: &Fr) -> Self {
        Word::from_field(x)
    }
}

/// The BN254 scalar field modulus `r`: public inputs must be below it.
pub fn fr_modulus() -> Word {
    Word::from_bigint(&Fr::MODULUS)
}

/// The BN254 base field modulus `p`: point coordinates must be below it.
pub fn fq_modulus() -> Word {
    Word::from_bigint(&Fq::MODULUS)
}

/// Why EVM words are not a valid arkworks value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A coordinate is not below the base field modulus `p`.
    #[error("{what}: coordinate {word} is not below the base field modulus")]
    CoordinateNotInField {
        /// Which value.
        what: &'static str,
        /// The coordinate.
        word: Word,
    },
    /// The coordinates are not a point of the curve.
    #[error("{0} is not on the curve")]
    NotOnCurve(&'static str),
    /// The point is on the curve but not in the prime-order subgroup (G2 only: G1 has
    /// cofactor 1).
    #[error("{0} is not in the prime-order subgroup")]
    NotInSubgroup(&'static str),
    /// A public input is not below the scalar field modulus `r`.
    #[error("public input {index} = {word} is not below the scalar field modulus")]
    InputNotInField {
        /// Position of the input.
        index: usize,
        /// The word.
        word: Word,
    },
    /// Not hex of at most 64 digits.
    #[error("{0:?} is not a hex word")]
    Hex(String),
    /// Wrong number of words or bytes.
    #[error("{what}: expected {expected} words, got {found}")]
    Length {
        /// Which value.
        what: &'static str,
        /// Words expected.
        expected: usize,
        /// Words found.
        found: usize,
    },
}

/// A G1 point as `(x, y)`; the point at infinity as `(0, 0)` (EIP-196).
pub fn g1_words(p: &G1Affine) -> [Word; 2] {
    match p.xy() {
        Some((x, y)) => [Word::from_field(&x), Word::from_field(&y)],
        None => [Word::ZERO; 2],
    }
}

/// A G2 point as `(x.c1, x.c0, y.c1, y.c0)`, imaginary parts first (EIP-197); the
/// point at infinity as four zero words.
pub fn g2_words(p: &G2Affine) -> [Word; 4] {
    match p.xy() {
        Some((x, y)) => [
            Word::from_field(&x.c1),
            Word::from_field(&x.c0),
            Word::from_field(&y.c1),
            Word::from_field(&y.c0),
        ],
        None => [Word::ZERO; 4],
    }
}

/// A proof as the 8 words `A, B, C` the verifiers take.
pub fn proof_words(proof: &Proof<Bn254>) -> [Word; 8] {
    let [ax, ay] = g1_words(&proof.a);
    let [bx1, bx0, by1, by0] = g2_words(&proof.b);
    let [cx, cy] = g1_words(&proof.c);
    [ax, ay, bx1, bx0, by1, by0, cx, cy]
}

/// Public inputs as words.
pub fn input_words(inputs: &[Fr]) -> Vec<Word> {
    inputs.iter().map(Word::from).collect()
}

fn coordinate(what: &'static str, w: &Word) -> Result<Fq, DecodeError> {
    w.to_field()
        .ok_or(DecodeError::CoordinateNotInField { what, word: *w })
}

/// Decodes a G1 point as the precompiles do: coordinates below `p`, `(0, 0)` is
/// infinity, anything else must be on the curve.
///
/// # Errors
/// [`DecodeError::CoordinateNotInField`], [`DecodeError::NotOnCurve`].
pub fn decode_g1(what: &'static str, words: &[Word; 2]) -> Result<G1Affine, DecodeError> {
    let x = coordinate(what, &words[0])?;
    let y = coordinate(what, &words[1])?;
    if words.iter().all(|w| *w == Word::ZERO) {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(DecodeError::NotOnCurve(what));
    }
    // BN254's G1 has cofactor 1: every curve point is in the group.
    Ok(p)
}

/// Decodes a G2 point as the pairing precompile does (EIP-197): coordinates below
/// `p`, imaginary parts first, all zeros is infinity, anything else must be on the
/// twist and in the prime-order subgroup.
///
/// # Errors
/// [`DecodeError::CoordinateNotInField`], [`DecodeError::NotOnCurve`],
/// [`DecodeError::NotInSubgroup`].
pub fn decode_g2(what: &'static str, words: &[Word; 4]) -> Result<G2Affine, DecodeError> {
    let x1 = coordinate(what, &words[0])?;
    let x0 = coordinate(what, &words[1])?;
    let y1 = coordinate(what, &words[2])?;
    let y0 = coordinate(what, &words[3])?;
    if words.iter().all(|w| *w == Word::ZERO) {
        return Ok(G2Affine::zero());
    }
    let p = G2Affine::new_unchecked(Fq2::new(x0, x1), Fq2::new(y0, y1));
    if !p.is_on_curve() {
        return Err(DecodeError::NotOnCurve(what));
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(DecodeError::NotInSubgroup(what));
    }
    Ok(p)
}

/// Decodes the 8 words of a proof with the precompiles' checks ([`decode_g1`],
/// [`decode_g2`]): what a contract accepts as points, as an arkworks proof.
///
/// # Errors
/// The first bad point's [`DecodeError`], in the order A, B, C.
pub fn decode_proof(words: &[Word; 8]) -> Result<Proof<Bn254>, DecodeError> {
    let a = decode_g1("A", &[words[0], words[1]])?;
    let b = decode_g2("B", &[words[2], words[3], words[4], words[5]])?;
    let c = decode_g1("C", &[words[6], words[7]])?;
    Ok(Proof { a, b, c })
}

/// Decodes public inputs, each required below `r` (the contracts revert otherwise).
///
/// # Errors
/// [`DecodeError::InputNotInField`] naming the first input that is not.
pub fn decode_inputs(words: &[Word]) -> Result<Vec<Fr>, DecodeError> {
    words
        .iter()
        .enumerate()
        .map(|(index, w)| {
            w.to_field()
                .ok_or(DecodeError::InputNotInField { index, word: *w })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;
    use ark_ff::{One, UniformRand};
    use ark_std::test_rng;

    #[test]
    fn words_round_trip_fields_big_endian() {
        assert_eq!(Word::from_u64(1).0[31], 1);
        assert_eq!(Word::from_field(&Fr::one()), Word::from_u64(1));
        let mut rng = test_rng();
        for _ in 0..32 {
            let x = Fr::rand(&mut rng);
            assert_eq!(Word::from(&x).to_field::<Fr>(), Some(x));
            let q = Fq::rand(&mut rng);
            assert_eq!(Word::from_field(&q).to_field::<Fq>(), Some(q));
        }
        // The moduli themselves are not field elements: no silent reduction.
        assert_eq!(fr_modulus().to_field::<Fr>(), None);
        assert_eq!(fq_modulus().to_field::<Fq>(), None);
        let (r_minus_1, borrow) = fr_modulus().overflowing_sub(&Word::from_u64(1));
        assert!(!borrow);
        assert_eq!(r_minus_1.to_field::<Fr>(), Some(-Fr::one()));
        assert_eq!(
            fr_modulus().to_string(),
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"
        );
        assert_eq!(
            fq_modulus().to_string(),
            "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47"
        );
        assert_eq!(Word::from_hex("0x01").unwrap(), Word::from_u64(1));
        assert!(Word::from_hex("0x").is_err());
        assert!(Word::from_hex(&"1".repeat(65)).is_err());
    }

    #[test]
    fn g2_is_imaginary_part_first() {
        // The EIP-197 test vector's generator of G2: x = (x.c1, x.c0) as published.
        let g = G2Affine::generator();
        let w = g2_words(&g);
        assert_eq!(
            w[0].to_string(),
            "0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
        );
        assert_eq!(
            w[1].to_string(),
            "0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
        );
        assert_eq!(decode_g2("B", &w).unwrap(), g);
        // Swapped parts are another (here invalid) point, never silently the same one.
        let swapped = [w[1], w[0], w[3], w[2]];
        assert!(decode_g2("B", &swapped).is_err());
    }

    #[test]
    fn points_decode_with_the_precompiles_checks() {
        let mut rng = test_rng();
        let p = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
        assert_eq!(decode_g1("A", &g1_words(&p)).unwrap(), p);
        assert!(decode_g1("A", &[Word::ZERO; 2]).unwrap().is_zero());
        assert!(decode_g2("B", &[Word::ZERO; 4]).unwrap().is_zero());
        let [x, y] = g1_words(&p);
        let (y1, _) = y.overflowing_add(&Word::from_u64(1));
        assert_eq!(decode_g1("A", &[x, y1]), Err(DecodeError::NotOnCurve("A")));
        // y + p encodes the same residue, but the precompiles refuse it.
        let (y_plus_p, _) = y.overflowing_add(&fq_modulus());
        assert!(matches!(
            decode_g1("A", &[x, y_plus_p]),
            Err(DecodeError::CoordinateNotInField { .. })
        ));
        let inputs = [Word::from_u64(7), fr_modulus()];
        assert_eq!(
            decode_inputs(&inputs),
            Err(DecodeError::InputNotInField {
                index: 1,
                word: fr_modulus()
            })
        );
    }
}
