//! Curve helpers shared by phase 1 and phase 2: same-ratio pairing checks, random
//! linear combinations, hashing to G2, and the hashes the transcripts use.

use ark_bn254::{Bn254, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{pairing::Pairing, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, Zero};
use ark_serialize::CanonicalSerialize;
use blake2::{Blake2b512, Digest};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// BLAKE2b-512 of the concatenation of `parts`.
pub(crate) fn blake2b(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Blake2b512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// arkworks' uncompressed encoding of a point (what the transcript hashes).
pub(crate) fn uncompressed<T: CanonicalSerialize>(p: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.uncompressed_size());
    // Writing into a Vec cannot fail.
    p.serialize_uncompressed(&mut out)
        .expect("serialize into a Vec");
    out
}

/// An RNG for the verifier's random linear combinations, seeded from the OS.
///
/// The coefficients must be unpredictable to whoever made the file under test, so they
/// are drawn after the file is fixed, from the OS; a fixed seed would let a forger
/// cancel its errors against known coefficients.
pub(crate) fn verifier_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_rng(rand::rngs::OsRng).expect("OS randomness")
}

/// `n` random 128-bit scalars: a random linear combination of `n` group elements is zero
/// for a non-zero vector with probability at most 2^-128, and 128-bit scalars halve the
/// cost of the MSMs against full-width ones.
pub(crate) fn random_coefficients(rng: &mut impl Rng, n: usize) -> Vec<Fr> {
    (0..n).map(|_| Fr::from(rng.gen::<u128>())).collect()
}

/// `Σ coeffs[i]·bases[i]` (lengths must match; callers slice both).
pub(crate) fn msm_g1(bases: &[G1Affine], coeffs: &[Fr]) -> G1Projective {
    debug_assert_eq!(bases.len(), coeffs.len());
    G1Projective::msm_unchecked(bases, coeffs)
}

/// `Σ coeffs[i]·bases[i]` in G2.
pub(crate) fn msm_g2(bases: &[G2Affine], coeffs: &[Fr]) -> G2Projective {
    debug_assert_eq!(bases.len(), coeffs.len());
    G2Projective::msm_unchecked(bases, coeffs)
}

/// `e(a1, b2) == e(b1, a2)`: the pairs `(a1, b1)` in G1 and `(a2, b2)` in G2 have the
/// same ratio, i.e. `b1 = x·a1` and `b2 = x·a2` for one `x` (pairings are non-degenerate
/// and both groups have prime order). Computed as one multi-pairing
/// `e(a1, b2)·e(−b1, a2) == 1`.
pub(crate) fn same_ratio(
    (a1, b1): (G1Projective, G1Projective),
    (a2, b2): (G2Projective, G2Projective),
) -> bool {
    let g1 = G1Projective::normalize_batch(&[a1, -b1]);
    let g2 = G2Projective::normalize_batch(&[b2, a2]);
    Bn254::multi_pairing(g1, g2).is_zero()
}

/// Hashes `msg` to a point of the order-r subgroup of G2 whose discrete logarithm
/// nobody knows: try-and-increment on the x-coordinate from BLAKE2b-512, then the
/// cofactor is cleared.
///
/// Why it is sound for the proofs of knowledge: the point comes out of a hash of the
/// transcript and the prover's commitment, so the prover cannot choose it as a known
/// multiple of anything (the random-oracle argument of Bowe–Gabizon–Miers 2017, as in
/// bellman's phase 2). The construction is fixed here, not borrowed from an RNG's
/// `rand()` implementation, so a transcript verifies the same under any arkworks version.
pub(crate) fn hash_to_g2(domain: &[u8], msg: &[u8]) -> G2Affine {
    // Each attempt succeeds with probability about 1/2, so the loop ends after a few
    // rounds (the chance of 128 failures is 2^-128).
    for counter in 0u32.. {
        let c = counter.to_le_bytes();
        let c0 = ark_bn254::Fq::from_le_bytes_mod_order(&blake2b(&[domain, &c, &[0], msg]));
        let c1 = ark_bn254::Fq::from_le_bytes_mod_order(&blake2b(&[domain, &c, &[1], msg]));
        let greatest = blake2b(&[domain, &c, &[2], msg])[0] & 1 == 1;
        let x = Fq2::new(c0, c1);
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, greatest) {
            let p = p.clear_cofactor();
            if !p.is_zero() {
                return p;
            }
        }
    }
    unreachable!("2^32 failed attempts to hash to G2")
}

/// `R` as `Fr`: a 2^-256-close-to-uniform non-zero scalar from 64 bytes of hash output.
pub(crate) fn scalar_from_hash(bytes: &[u8; 64]) -> Option<Fr> {
    let s = Fr::from_le_bytes_mod_order(bytes);
    (!s.is_zero()).then_some(s)
}

/// Multiplies every point by `s` (in parallel) and converts back to affine.
pub(crate) fn scale_g1(points: &[G1Affine], s: Fr) -> Vec<G1Affine> {
    use rayon::prelude::*;
    let bigint = s.into_bigint();
    let scaled: Vec<G1Projective> = points.par_iter().map(|p| p.mul_bigint(bigint)).collect();
    G1Projective::normalize_batch(&scaled)
}

/// The G1 and G2 generators.
pub(crate) fn generators() -> (G1Affine, G2Affine) {
    (G1Affine::generator(), G2Affine::generator())
}
