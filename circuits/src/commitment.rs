//! The account commitment: circomlib-compatible Poseidon over BN254's scalar field.
//!
//! `C = Poseidon([tag, version, id, nonce, packed_0, …, packed_5, blinding])` with the
//! circomlib parameters for 11 inputs (width 12, 8 full and 60 partial rounds, x^5).
//! `packed_e = u_{3e} + u_{3e+1}·2^64 + u_{3e+2}·2^128`, where `u_k = v_k + 2^63` are
//! the 17 signed slots (tokens, quote, positions) in offset encoding. Any tool with
//! circomlib's Poseidon (circomlibjs, light-poseidon, poseidon-lite) recomputes it.

use ark_ff::Field;
use light_poseidon::{Poseidon, PoseidonHasher};
use serde::{Deserialize, Serialize};

use crate::{fr_hex::serde_fr, Account, Fr, SLOTS};

/// Domain tag, the first hash input: the ASCII bytes `zkmargin.account`, big-endian.
pub const COMMITMENT_DOMAIN_TAG: u128 = u128::from_be_bytes(*b"zkmargin.account");
/// Commitment format version, the second hash input.
pub const COMMITMENT_VERSION: u64 = 1;
/// Number of Poseidon inputs of a commitment.
pub const COMMITMENT_INPUTS: usize = 11;
/// Signed slots packed into one field element (3 × 64 = 192 bits < 253).
pub const SLOTS_PER_ELEMENT: usize = 3;
/// Field elements holding the packed slots: ⌈17 / 3⌉.
pub const PACKED_ELEMENTS: usize = SLOTS.div_ceil(SLOTS_PER_ELEMENT);

/// A commitment to an account state; the only thing about an account a venue publishes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Commitment(#[serde(with = "serde_fr")] pub Fr);

impl Commitment {
    /// Commits to `account` (its id, nonce, slots and blinding).
    pub fn of(account: &Account) -> Self {
        Self(poseidon_hash(&commitment_inputs(account)))
    }

    /// The commitment as `0x` + 64 big-endian hex digits.
    pub fn to_hex(&self) -> String {
        crate::fr_to_hex(&self.0)
    }
}

impl std::fmt::Debug for Commitment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Commitment({})", self.to_hex())
    }
}

impl std::fmt::Display for Commitment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Offset encoding of a signed slot: `v + 2^63 ∈ [0, 2^64)`; bit 63 is set iff `v ≥ 0`.
pub fn offset(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

/// The 11 Poseidon inputs of an account's commitment, in order.
pub fn commitment_inputs(account: &Account) -> [Fr; COMMITMENT_INPUTS] {
    let slots = account.slots();
    let mut inputs = [Fr::from(0u64); COMMITMENT_INPUTS];
    inputs[0] = Fr::from(COMMITMENT_DOMAIN_TAG);
    inputs[1] = Fr::from(COMMITMENT_VERSION);
    inputs[2] = Fr::from(account.id);
    inputs[3] = Fr::from(account.nonce);
    for (e, chunk) in slots.chunks(SLOTS_PER_ELEMENT).enumerate() {
        let mut packed = 0u128;
        let mut high = 0u64;
        for (l, v) in chunk.iter().enumerate() {
            match l {
                0 => packed |= u128::from(offset(*v)),
                1 => packed |= u128::from(offset(*v)) << 64,
                _ => high = offset(*v),
            }
        }
        // packed_e = low128 + high·2^128 (< 2^192, no reduction).
        inputs[4 + e] = Fr::from(packed) + Fr::from(high) * pow2(128);
    }
    inputs[4 + PACKED_ELEMENTS] = account.blinding.0;
    inputs
}

/// circomlib's Poseidon of `N` inputs (1 ≤ N ≤ 12), as light-poseidon implements it.
pub fn poseidon_hash<const N: usize>(inputs: &[Fr; N]) -> Fr {
    const {
        assert!(
            N >= 1 && N <= 12,
            "circomlib Poseidon takes 1 to 12 inputs here"
        )
    };
    Poseidon::<Fr>::new_circom(N)
        .and_then(|mut h| h.hash(inputs))
        .expect("widths 2..=13 are in light-poseidon's parameter table")
}

/// 2^k as a field element.
pub(crate) fn pow2(k: u32) -> Fr {
    Fr::from(2u64).pow([u64::from(k)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fr_from_hex, Blinding};

    /// Published vectors of circomlib's Poseidon (iden3/circomlib `test/poseidon.js`,
    /// reproduced by circomlibjs and light-poseidon): a third party's numbers, so our
    /// parameters are circomlib's and not merely self-consistent.
    #[test]
    fn circomlib_vectors() {
        let f = |x: u64| Fr::from(x);
        assert_eq!(
            poseidon_hash(&[f(1), f(2)]),
            fr_from_hex("0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a")
                .unwrap()
        );
        assert_eq!(
            poseidon_hash(&[f(1), f(2), f(3), f(4)]),
            fr_from_hex("0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465")
                .unwrap()
        );
    }

    #[test]
    fn offset_encoding() {
        assert_eq!(offset(0), 1 << 63);
        assert_eq!(offset(-1), (1 << 63) - 1);
        assert_eq!(offset(i64::MIN), 0);
        assert_eq!(offset(i64::MAX), u64::MAX);
    }

    #[test]
    fn commitment_binds_every_field() {
        let a = Account {
            id: 9,
            nonce: 3,
            tokens: [1, 2, 3, 4, 5, 6, 7, 8],
            quote: -7,
            positions: [-1, -2, -3, -4, -5, -6, -7, -8],
            blinding: Blinding(Fr::from(11u64)),
        };
        let c = Commitment::of(&a);
        let changed = |f: &dyn Fn(&mut Account)| {
            let mut b = a.clone();
            f(&mut b);
            Commitment::of(&b)
        };
        assert_ne!(changed(&|b| b.id += 1), c);
        assert_ne!(changed(&|b| b.nonce += 1), c);
        assert_ne!(changed(&|b| b.tokens[7] += 1), c);
        assert_ne!(changed(&|b| b.quote = 7), c);
        assert_ne!(changed(&|b| b.positions[0] = 2), c);
        assert_ne!(changed(&|b| b.blinding = Blinding(Fr::from(12u64))), c);
        // Swapping two slots changes the packing.
        assert_ne!(changed(&|b| b.tokens.swap(0, 1)), c);
        assert_ne!(changed(&|b| b.positions.swap(6, 7)), c);
        // Moving a value between the quote and a position slot changes it too.
        assert_ne!(
            changed(&|b| std::mem::swap(&mut b.quote, &mut b.positions[0])),
            c
        );
    }
}
