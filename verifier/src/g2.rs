//! G2 subgroup membership in one 64-bit scalar multiplication.
//!
//! A proof's `B` is a point of the twist `E'(Fq2)`, whose group order is `r · h` with a
//! large cofactor `h`: a point on the curve need not be in the order-`r` subgroup G2, and
//! the pairing check is only meaningful on G2. arkworks checks membership as
//! `ψ(P) = [6x²]P` (El Housni, Guillevic, Piellard, ePrint 2022/352, §4.3), a 127-bit
//! multiplication. The same authors show (ePrint 2022/348, Co-factor clearing and
//! subgroup membership testing on pairing-friendly curves, §5.1) that for a BN curve with
//! seed `x ≢ 4 (mod 13)` and `x ≢ 92 (mod 97)`,
//!
//! ```text
//! P ∈ G2  ⟺  [x+1]P + ψ([x]P) + ψ²([x]P) = ψ³([2x]P)
//! ```
//!
//! which costs one multiplication by the 63-bit seed, half of arkworks' check. The
//! batch and transition paths use it; a single verification decides B's membership
//! for free while preparing B's lines ([`crate::pairing::prepare_in_g2`]). BN254's
//! seed meets both conditions (asserted at compile time), and the tests compare this
//! check with arkworks' on points inside and outside the subgroup.
//!
//! `ψ` is the untwist–Frobenius–twist endomorphism (Galbraith–Scott):
//! `ψ(x, y) = (x̄ · (u+9)^((p−1)/3), ȳ · (u+9)^((p−1)/2))`, where `x̄` is conjugation in
//! `Fq2 = Fq[u]/(u²+1)` (the p-power Frobenius). Conjugation is a field automorphism, so
//! on Jacobian coordinates `(X : Y : Z)` it is `(X̄·c_x : Ȳ·c_y : Z̄)`.

use ark_bn254::{Fq2, G2Affine, G2Projective};
use ark_ec::AffineRepr;
use ark_ff::MontFp;

/// The BN254 seed `x` (positive), 63 bits.
pub(crate) const SEED: u64 = 4_965_661_367_192_848_881;

// The theorem's conditions on the seed, and the seed is arkworks' (positive) BN254
// seed: checked at compile time.
const _: () = {
    use ark_ec::bn::BnConfig;
    assert!(SEED % 13 != 4 && SEED % 97 != 92);
    assert!(ark_bn254::Config::X.len() == 1 && ark_bn254::Config::X[0] == SEED);
    assert!(!ark_bn254::Config::X_IS_NEGATIVE);
};

/// `(u+9)^((p−1)/3)`: ψ's factor on the x-coordinate.
const PSI_X: Fq2 = Fq2::new(
    MontFp!("21575463638280843010398324269430826099269044274347216827212613867836435027261"),
    MontFp!("10307601595873709700152284273816112264069230130616436755625194854815875713954"),
);

/// `(u+9)^((p−1)/2)`: ψ's factor on the y-coordinate.
const PSI_Y: Fq2 = Fq2::new(
    MontFp!("2821565182194536844548159561693502659359617185244120367078079554186484126554"),
    MontFp!("3505843767911556378687030309984248845540243509899259641013678093033130930403"),
);

/// ψ on Jacobian coordinates.
fn psi(p: &G2Projective) -> G2Projective {
    let mut x = p.x;
    let mut y = p.y;
    let mut z = p.z;
    x.conjugate_in_place();
    y.conjugate_in_place();
    z.conjugate_in_place();
    G2Projective::new_unchecked(x * PSI_X, y * PSI_Y, z)
}

/// Whether `p`, a point on the twist, is in the prime-order subgroup G2.
pub(crate) fn in_subgroup(p: &G2Affine) -> bool {
    let x_p = p.mul_bigint([SEED]);
    let psi_x_p = psi(&x_p);
    let lhs = x_p + p.into_group() + psi_x_p + psi(&psi_x_p);
    let mut two_x_p = x_p;
    two_x_p += x_p;
    let rhs = psi(&psi(&psi(&two_x_p)));
    lhs == rhs
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fq;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::{Field, UniformRand};
    use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
    use rand::Rng;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// `PSI_X³ = PSI_Y² = ξ^(p−1) = ξ̄ / ξ` with `ξ = u + 9` (since `ξ^p = ξ̄`): each
    /// constant is a root of the right power; `psi_is_the_endomorphism` pins which root.
    #[test]
    fn psi_constants_are_roots_of_the_twist_frobenius_factor() {
        let xi = Fq2::new(Fq::from(9u64), Fq::from(1u64));
        let mut xi_bar = xi;
        xi_bar.conjugate_in_place();
        let xi_p_minus_1 = xi_bar * xi.inverse().unwrap();
        assert_eq!(PSI_X.square() * PSI_X, xi_p_minus_1);
        assert_eq!(PSI_Y.square(), xi_p_minus_1);
    }

    /// On G2, ψ acts as multiplication by `6x²` (arkworks' own characterization), and
    /// it maps the curve to itself.
    #[test]
    fn psi_is_the_endomorphism() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..16 {
            let p = G2Projective::rand(&mut rng);
            let six_x2 = ark_bn254::Fr::from(6u64) * ark_bn254::Fr::from(SEED).square();
            assert_eq!(psi(&p), p * six_x2);
            assert!(psi(&p).into_affine().is_on_curve());
        }
    }

    /// A random point of the twist: random x until x³ + b' is a square. Almost never
    /// in G2 (the cofactor is ≈ 2^254).
    fn random_twist_point(rng: &mut ChaCha20Rng) -> G2Affine {
        loop {
            let x = Fq2::rand(rng);
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, rng.gen::<bool>()) {
                return p;
            }
        }
    }

    #[test]
    fn agrees_with_arkworks_inside_and_outside_the_subgroup() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let g = G2Projective::generator();
        let mut outside = 0;
        for i in 0..256 {
            let inside = (g * ark_bn254::Fr::rand(&mut rng)).into_affine();
            assert!(in_subgroup(&inside), "sample {i}");
            let any = random_twist_point(&mut rng);
            assert!(any.is_on_curve());
            let expected = any.is_in_correct_subgroup_assuming_on_curve();
            assert_eq!(in_subgroup(&any), expected, "sample {i}");
            outside += usize::from(!expected);
            // A subgroup point plus a non-subgroup point is outside.
            if !expected {
                let mixed = (inside + any).into_affine();
                assert!(!mixed.is_in_correct_subgroup_assuming_on_curve());
                assert!(!in_subgroup(&mixed), "sample {i}");
            }
        }
        assert!(outside > 250, "the sample must exercise the outside case");
        assert!(in_subgroup(&G2Affine::zero()));
        assert!(in_subgroup(&G2Affine::generator()));
    }

    /// A twist point cleared of its cofactor is inside; small multiples of one that is
    /// not cleared stay outside, and the two checks agree on each.
    #[test]
    fn agrees_with_arkworks_on_the_cofactor_multiples() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for _ in 0..8 {
            let any = random_twist_point(&mut rng);
            let cleared = any.clear_cofactor();
            assert!(in_subgroup(&cleared));
            assert!(cleared.is_in_correct_subgroup_assuming_on_curve());
            for k in [2u64, 3, 5, 7, 13] {
                let p = (any * ark_bn254::Fr::from(k)).into_affine();
                assert_eq!(
                    in_subgroup(&p),
                    p.is_in_correct_subgroup_assuming_on_curve()
                );
            }
        }
    }

    /// The decoded form the verifier uses: unchecked deserialization plus this check
    /// accepts exactly what arkworks' checked deserialization accepts.
    #[test]
    fn unchecked_decoding_plus_this_check_equals_checked_decoding() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        for _ in 0..64 {
            let p = random_twist_point(&mut rng);
            let mut bytes = Vec::new();
            p.serialize_compressed(&mut bytes).unwrap();
            let checked = G2Affine::deserialize_compressed(&bytes[..]).is_ok();
            let ours = G2Affine::deserialize_compressed_unchecked(&bytes[..])
                .is_ok_and(|q| in_subgroup(&q));
            assert_eq!(checked, ours);
        }
    }
}
