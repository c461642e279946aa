//! Fixed-base scalar multiplication by a precomputed window table.
//!
//! The public-input points `IC_k` of a verifying key never change, so the per-proof
//! products (commitment · IC_1, τ · IC_3) use a table of every multiple
//! `j · 2^(8w) · IC_k` (`j < 256`): a full-width multiplication becomes 32 mixed
//! additions instead of ~254 doublings and ~127 additions.

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField};

/// Bits per window.
const WINDOW: usize = 8;

/// `table[w][j] = j · 2^(8w) · base` for every window `w` of a `bits`-bit scalar.
pub(crate) struct FixedBaseTable {
    table: Vec<Vec<G1Affine>>,
}

impl FixedBaseTable {
    /// Precomputes the table of `base` for scalars below `2^bits` (≈ 4 ms for 254 bits).
    pub(crate) fn new(base: G1Affine, bits: usize) -> Self {
        let windows = bits.div_ceil(WINDOW);
        let mut outer = base.into_group();
        let mut rows = Vec::with_capacity(windows);
        for _ in 0..windows {
            let mut row = Vec::with_capacity(1 << WINDOW);
            let mut acc = G1Projective::ZERO;
            for _ in 0..(1 << WINDOW) {
                row.push(acc);
                acc += outer;
            }
            rows.push(G1Projective::normalize_batch(&row));
            for _ in 0..WINDOW {
                outer.double_in_place();
            }
        }
        Self { table: rows }
    }

    /// `scalar · base`. Scalars wider than the table was built for are a caller bug;
    /// they fall back to a variable-base multiplication rather than a wrong answer.
    pub(crate) fn mul(&self, scalar: &Fr) -> G1Projective {
        let bytes = scalar.into_bigint().to_bytes_le();
        let used = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        if used > self.table.len() {
            let base = self.table[0][1];
            return base.into_group() * scalar;
        }
        let mut acc = G1Projective::ZERO;
        for (row, byte) in self.table.iter().zip(&bytes[..used]) {
            if *byte != 0 {
                acc += row[*byte as usize];
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn table_agrees_with_variable_base_multiplication() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let base = (G1Affine::generator() * Fr::rand(&mut rng)).into_affine();
        let full = FixedBaseTable::new(base, Fr::MODULUS_BIT_SIZE as usize);
        let narrow = FixedBaseTable::new(base, 32);
        for s in [Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64)]
            .into_iter()
            .chain((0..32).map(|_| Fr::rand(&mut rng)))
        {
            assert_eq!(full.mul(&s), base * s);
            // Wider than the narrow table: the fallback still multiplies correctly.
            assert_eq!(narrow.mul(&s), base * s);
        }
        for t in [0u32, 1, 1_000_000, u32::MAX] {
            assert_eq!(narrow.mul(&Fr::from(t)), base * Fr::from(t));
        }
    }
}
