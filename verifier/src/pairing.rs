//! The parts of BN254's pairing check that the verifier computes itself, on arkworks'
//! field types: the line coefficients of a proof's `B` with its G2 membership decided
//! on the way ([`prepare_in_g2`]), a Miller loop with a verifying key's fixed lines
//! normalized once per key ([`NormalizedLines`], [`miller_loop`]), and the final
//! exponentiation ([`final_exponentiation`]); [`groth16_check`] puts them together.
//!
//! # B's lines and its subgroup check in one pass
//!
//! The Miller loop of `(A, B)` walks `T` through the multiples of `B` along the
//! optimal-ate scalar `6x+2` and ends, with two Frobenius-twisted additions, at
//! `T = [6x+2]B + ψ(B) − ψ²(B)`. For every point of G2 that is `−ψ³(B)`: the ate
//! relation `6x+2 + p − p² + p³ ≡ 0 (mod r)` with ψ acting on G2 as multiplication
//! by `p`. Conversely, let `φ = [6x+2] + ψ − ψ² + ψ³`. On the twist `E'(Fq2)` ψ satisfies
//! `ψ² − tψ + p = 0`, so `φ = a + bψ` with `a = 6x+2 + p − tp` and `b = 1 − t + t² − p`.
//! `p ∤ a`, so φ is separable and its kernel has `N = a² + tab + pb²` points, and
//! `gcd(N, #E'(Fq2)) = r` with `#E'(Fq2) = r·(2p − r)` (the test
//! `the_membership_endomorphism_kills_exactly_g2` computes both). The points of
//! `E'(Fq2)` that φ sends to O therefore form a group whose order divides `r`, and it
//! contains G2: it is G2. So `B ∈ G2 ⟺ T = −ψ³(B)`, and the check
//! costs one ψ³ and a comparison instead of a scalar multiplication (arkworks' check
//! `ψ(B) = [6x²]B` is 127-bit, ePrint 2022/348's is 63-bit, ≈ 0.1 ms here).
//!
//! `T` is computed with arkworks' line formulas in homogeneous coordinates
//! (copied below, because arkworks' `G2HomProjective` has private fields; the tests
//! hold the coefficients equal to `G2Prepared::from`). They are not complete: a step
//! that met `T = O` or `T = ±B` (or, in the two last additions, `T = ±ψ(B)`,
//! `T = ±ψ²(B)`) would give `Z = 0`, and every later step would keep `Z = 0` (both
//! formulas multiply `Z` by a factor). No point of the twist gets there: `T` runs
//! through `[k]B` for the partial sums `k` of the loop, all far below `r`, so a
//! point whose order has the factor `r` never meets one, and an outside audit modelled
//! every prime factor of the cofactor (10069 is the smallest) and found no partial sum
//! that an order made of them divides, or divides once shifted by one. The check
//! still requires `Z ≠ 0`: the guard is sound and costs one comparison, but it is
//! never triggered, so the argument that the formulas compute the true group
//! operation is that computation, not the guard. The test
//! `prepare_in_g2_matches_arkworks` holds the verdicts equal to arkworks' on points
//! of every kind, those of order 10069 included.
//!
//! # The final exponentiation
//!
//! Every check ends in a final exponentiation `f ↦ f^((p¹²−1)/r)`, which cannot be
//! split across threads: it is on the critical path of every verification. Its hard
//! part is three exponentiations by the 63-bit seed `x` in the cyclotomic
//! subgroup (Fuentes-Castañeda, Knapp, Rodríguez-Henríquez, *Faster hashing to G2*,
//! SAC 2011, as arkworks computes it). arkworks raises to `x` with its signed binary
//! (NAF) form: 63 squarings and 23 multiplications. The addition chain below, the one
//! gnark-crypto uses for the same seed, needs 62 squarings and 17 multiplications. A
//! multiplication in `Fq12` costs about two cyclotomic squarings, so the chain saves
//! about 10 % of the final exponentiation. Everything else is arkworks' sequence of
//! operations, unchanged; the tests compare both exponentiations with arkworks' on
//! random inputs, and the chain with `x` at compile time.

use ark_bn254::{Bn254, Config, Fq, Fq12, Fq2, G1Affine, G2Affine};
use ark_ec::{
    bn::{g2::EllCoeff, BnConfig, G2Prepared},
    AffineRepr,
};
use ark_ff::{AdditiveGroup, CyclotomicMultSubgroup, Field, Fp12Config, MontFp, One, Zero};
use ark_groth16::PreparedVerifyingKey;

/// The BN254 seed `x` (positive), 63 bits.
const SEED: u64 = 4_965_661_367_192_848_881;

// It is arkworks' (positive) BN254 seed.
const _: () = {
    assert!(Config::X.len() == 1 && Config::X[0] == SEED);
    assert!(!Config::X_IS_NEGATIVE);
};

/// `1/2` in Fq.
const TWO_INV: Fq =
    MontFp!("10944121435919637611123202872628637544348155578648911831344518947322613104292");

// The loop scalar is 6x+2 (its signed binary digits, least significant first).
const _: () = {
    let digits = Config::ATE_LOOP_COUNT;
    let mut value: i128 = 0;
    let mut i = digits.len();
    while i > 0 {
        i -= 1;
        value = 2 * value + digits[i] as i128;
    }
    assert!(value == 6 * SEED as i128 + 2);
};

/// A point of the twist in homogeneous coordinates, `(X : Y : Z) ↦ (X/Z, Y/Z)`.
struct HomProjective {
    x: Fq2,
    y: Fq2,
    z: Fq2,
}

impl HomProjective {
    /// `T ← 2T` and the tangent line's coefficients: arkworks'
    /// `G2HomProjective::double_in_place` for a D-type twist (BN254's), unchanged.
    fn double_in_place(&mut self) -> EllCoeff<Config> {
        let mut a = self.x * self.y;
        a.mul_assign_by_fp(&TWO_INV);
        let b = self.y.square();
        let c = self.z.square();
        let e = <ark_bn254::g2::Config as ark_ec::short_weierstrass::SWCurveConfig>::COEFF_B
            * (c.double() + c);
        let f = e.double() + e;
        let mut g = b + f;
        g.mul_assign_by_fp(&TWO_INV);
        let h = (self.y + self.z).square() - (b + c);
        let i = e - b;
        let j = self.x.square();
        let e_square = e.square();

        self.x = a * (b - f);
        self.y = g.square() - (e_square.double() + e_square);
        self.z = b * h;
        (-h, j.double() + j, i)
    }

    /// `T ← T + Q` and the chord's coefficients: arkworks'
    /// `G2HomProjective::add_in_place` for a D-type twist, unchanged.
    fn add_in_place(&mut self, q: &G2Affine) -> EllCoeff<Config> {
        let theta = self.y - (q.y * self.z);
        let lambda = self.x - (q.x * self.z);
        let c = theta.square();
        let d = lambda.square();
        let e = lambda * d;
        let f = self.z * c;
        let g = self.x * d;
        let h = e + f - g.double();
        self.x = lambda * h;
        self.y = theta * (g - h) - (e * self.y);
        self.z *= e;
        let j = theta * q.x - (lambda * q.y);
        (lambda, -theta, j)
    }
}

/// ψ, the untwist–Frobenius–twist endomorphism, on an affine point (arkworks'
/// `mul_by_char`).
fn psi(q: &G2Affine) -> G2Affine {
    let mut s = *q;
    s.x.frobenius_map_in_place(1);
    s.x *= Config::TWIST_MUL_BY_Q_X;
    s.y.frobenius_map_in_place(1);
    s.y *= Config::TWIST_MUL_BY_Q_Y;
    s
}

/// `q`'s line coefficients for the Miller loop, the same as `G2Prepared::from(q)`,
/// or `None` when `q`, a point on the twist, is not in G2 (module documentation).
pub(crate) fn prepare_in_g2(q: &G2Affine) -> Option<G2Prepared<Config>> {
    if q.is_zero() {
        // O is in G2; arkworks prepares it as "no lines".
        return Some(G2Prepared::from(*q));
    }
    let mut ell_coeffs = Vec::with_capacity(ELL_COEFFS);
    let mut t = HomProjective {
        x: q.x,
        y: q.y,
        z: Fq2::one(),
    };
    let neg_q = -*q;
    for digit in Config::ATE_LOOP_COUNT.iter().rev().skip(1) {
        ell_coeffs.push(t.double_in_place());
        match digit {
            1 => ell_coeffs.push(t.add_in_place(q)),
            -1 => ell_coeffs.push(t.add_in_place(&neg_q)),
            _ => {}
        }
    }
    let q1 = psi(q);
    let q2 = psi(&q1);
    let q3 = psi(&q2);
    ell_coeffs.push(t.add_in_place(&q1));
    ell_coeffs.push(t.add_in_place(&-q2));
    // T = [6x+2]q + ψ(q) − ψ²(q); q ∈ G2 ⟺ T = −ψ³(q) with Z ≠ 0.
    let in_g2 = !t.z.is_zero() && t.x == q3.x * t.z && t.y == -(q3.y * t.z);
    in_g2.then_some(G2Prepared {
        ell_coeffs,
        infinity: false,
    })
}

/// A fixed G2 point's lines (a verifying key's `−γ` or `−δ`), each divided by its
/// constant coefficient `c0`. A line evaluated at `P` is `c0·y_P + c1·x_P·w³ + c2·w⁴`
/// (the `034` positions of arkworks' `mul_by_034` for a D-type twist); divided by the
/// `Fq2` element `c0·y_P` it is `1 + (c1/c0)·(x_P/y_P)·w³ + (c2/c0)·(1/y_P)·w⁴`, whose
/// product into the Miller loop's accumulator costs 10 `Fq2` multiplications instead
/// of 13. Dividing by an element of `Fq2` changes the Miller loop's output by a factor
/// in `Fq2*`, which the final exponentiation removes (`p² − 1` divides `(p¹² − 1)/r`),
/// so the pairing value is arkworks' exactly; the tests compare them.
pub(crate) struct NormalizedLines(Vec<(Fq2, Fq2)>);

impl NormalizedLines {
    /// `q`'s lines divided by their `c0`. For a point of G2 (the key loader checks
    /// membership) no `c0` is zero: it is `−2YZ` after a doubling and `X − x_Q·Z`
    /// after an addition, which vanish only at 2-torsion or `T = ±Q`, and neither
    /// happens (module documentation). The `unwrap_or_default` is therefore never
    /// taken; were it taken, the inverse would be 0 and the normalized line
    /// `1 + 0·w³ + 0·w⁴` would be 1, not 0: that line would drop out of the product,
    /// the key's pairing values would be wrong, and honest proofs would fail.
    pub(crate) fn new(q: &G2Prepared<Config>) -> Self {
        Self(
            q.ell_coeffs
                .iter()
                .map(|(c0, c1, c2)| {
                    let inv = c0.inverse().unwrap_or_default();
                    (*c1 * inv, *c2 * inv)
                })
                .collect(),
        )
    }
}

/// A verifying key's fixed lines, `−γ`'s and `−δ`'s, normalized once per key.
pub(crate) struct KeyLines {
    pub(crate) gamma: NormalizedLines,
    pub(crate) delta: NormalizedLines,
}

impl KeyLines {
    pub(crate) fn new(pvk: &PreparedVerifyingKey<Bn254>) -> Self {
        Self {
            gamma: NormalizedLines::new(&pvk.gamma_g2_neg_pc),
            delta: NormalizedLines::new(&pvk.delta_g2_neg_pc),
        }
    }
}

/// Groth16's check `e(A, B) · e(vk_x, −γ) · e(C, −δ) = e(α, β)` in one thread: one
/// Miller loop over the three pairs, one final exponentiation.
pub(crate) fn groth16_check(
    pvk: &PreparedVerifyingKey<Bn254>,
    lines: &KeyLines,
    a: &G1Affine,
    b: &G2Prepared<Config>,
    c: &G1Affine,
    vk_x: &G1Affine,
) -> bool {
    let ml = miller_loop(&[(a, b)], &[(vk_x, &lines.gamma), (c, &lines.delta)]);
    final_exponentiation(&ml).is_some_and(|e| e == pvk.alpha_g1_beta_g2)
}

/// `f · (1 + c3·w³ + c4·w⁴)`: arkworks' `mul_by_034` with `c0 = 1`.
fn mul_by_34(f: &mut Fq12, c3: &Fq2, c4: &Fq2) {
    let a = f.c0;
    let mut b = f.c1;
    b.mul_by_01(c3, c4);
    let mut e = f.c0 + f.c1;
    e.mul_by_01(&(Fq2::one() + c3), c4);
    f.c1 = e - (a + b);
    f.c0 = b;
    <ark_bn254::Fq12Config as Fp12Config>::mul_fp6_by_nonresidue_in_place(&mut f.c0);
    f.c0 += a;
}

/// The Miller loop of `prepared` pairs (arkworks' lines) and `fixed` pairs (normalized
/// lines), up to a factor in `Fq2*`: only its final exponentiation is meaningful. The
/// same loop as arkworks' `multi_miller_loop`. A pair with a zero point is skipped
/// (its pairing is 1).
pub(crate) fn miller_loop(
    prepared: &[(&G1Affine, &G2Prepared<Config>)],
    fixed: &[(&G1Affine, &NormalizedLines)],
) -> Fq12 {
    let mut prepared: Vec<_> = prepared
        .iter()
        .filter(|(p, q)| !p.is_zero() && !q.infinity)
        .map(|(p, q)| (*p, q.ell_coeffs.iter()))
        .collect();
    // (x_P/y_P, 1/y_P) for each fixed pair's G1 point; a G1 point other than O has
    // y ≠ 0 (BN254's G1 has odd prime order: no 2-torsion), so the `?` that would drop
    // a pair with y = 0 never drops one. Every point here (vk_x, a proof's C) is a
    // decoded point on the curve, and every point on BN254's G1 curve is in G1
    // (cofactor 1).
    let mut fixed: Vec<_> = fixed
        .iter()
        .filter(|(p, lines)| !p.is_zero() && !lines.0.is_empty())
        .filter_map(|(p, lines)| {
            let y_inv = p.y.inverse()?;
            Some((p.x * y_inv, y_inv, lines.0.iter()))
        })
        .collect();

    let mut step = |f: &mut Fq12| {
        for (p, coeffs) in prepared.iter_mut() {
            let (mut c0, mut c1, c2) = *coeffs.next().expect("a prepared point has every line");
            c0.mul_assign_by_fp(&p.y);
            c1.mul_assign_by_fp(&p.x);
            f.mul_by_034(&c0, &c1, &c2);
        }
        for (u, v, lines) in fixed.iter_mut() {
            let (mut c3, mut c4) = *lines.next().expect("normalized lines have every line");
            c3.mul_assign_by_fp(u);
            c4.mul_assign_by_fp(v);
            mul_by_34(f, &c3, &c4);
        }
    };

    let digits = Config::ATE_LOOP_COUNT;
    let mut f = Fq12::one();
    for i in (1..digits.len()).rev() {
        if i != digits.len() - 1 {
            f.square_in_place();
        }
        step(&mut f);
        if digits[i - 1] != 0 {
            step(&mut f);
        }
    }
    // The two Frobenius additions (BN254's seed is positive: no inversion first).
    step(&mut f);
    step(&mut f);
    f
}

/// Line coefficients per prepared point: 64 doublings, 21 additions for the nonzero
/// digits below the top one, two Frobenius additions.
const ELL_COEFFS: usize = 64 + 21 + 2;

/// `f^x` for `f` in the cyclotomic subgroup of `Fq12*` (where squaring may use the
/// Granger–Scott formula), by the addition chain
///
/// ```text
/// _10     = 2·1           _10011  = _10 + _10001      _100111 = _10011 + _10100
/// _100    = 2·_10         _10100  = 1 + _10011        _101001 = _10 + _100111
/// _1000   = 2·_100        _11001  = _1000 + _10001
/// _10000  = 2·_1000       _100010 = 2·_10001
/// _10001  = 1 + _10000
/// i27 = ((_100010 << 6) + _100 + _11001) << 7 + _11001
/// i44 = ((i27 << 8) + _101001 + _10) << 6 + _10001
/// i70 = ((((i44 << 8) + _101001) << 6) + _101001) << 10
/// x   = ((_100111 + i70) << 6) + _101001 + _1000
/// ```
fn exp_by_seed(f: &Fq12) -> Fq12 {
    // n cyclotomic squarings.
    fn sq(mut a: Fq12, n: usize) -> Fq12 {
        for _ in 0..n {
            a.cyclotomic_square_in_place();
        }
        a
    }
    let b10 = sq(*f, 1);
    let b100 = sq(b10, 1);
    let b1000 = sq(b100, 1);
    let b10000 = sq(b1000, 1);
    let b10001 = b10000 * f;
    let b10011 = b10 * b10001;
    let b10100 = b10011 * f;
    let b11001 = b1000 * b10001;
    let b100010 = sq(b10001, 1);
    let b100111 = b10011 * b10100;
    let b101001 = b10 * b100111;
    let i27 = sq(sq(b100010, 6) * b100 * b11001, 7) * b11001;
    let i44 = sq(sq(i27, 8) * b101001 * b10, 6) * b10001;
    let i70 = sq(sq(sq(i44, 8) * b101001, 6) * b101001, 10);
    sq(b100111 * i70, 6) * b101001 * b1000
}

// The chain above computes exactly the seed (62 doublings, 17 additions).
const _: () = {
    const fn chain() -> u64 {
        let (b10, b100, b1000, b10001) = (2u64, 4u64, 8u64, 17u64);
        let b10011 = b10 + b10001;
        let b10100 = 1 + b10011;
        let b11001 = b1000 + b10001;
        let b100010 = 2 * b10001;
        let b100111 = b10011 + b10100;
        let b101001 = b10 + b100111;
        let i27 = (((b100010 << 6) + b100 + b11001) << 7) + b11001;
        let i44 = (((i27 << 8) + b101001 + b10) << 6) + b10001;
        let i70 = ((((i44 << 8) + b101001) << 6) + b101001) << 10;
        (((b100111 + i70) << 6) + b101001) + b1000
    }
    assert!(chain() == SEED);
};

/// `f^(−x)` in the cyclotomic subgroup, where inversion is conjugation. BN254's seed is
/// positive (asserted above).
fn exp_by_neg_seed(f: &Fq12) -> Fq12 {
    let mut y = exp_by_seed(f);
    y.cyclotomic_inverse_in_place();
    y
}

/// `f^((p¹²−1)/r)`, the same value as `Bn254::final_exponentiation`; `None` when `f`
/// is zero (no Miller loop output is).
pub(crate) fn final_exponentiation(f: &Fq12) -> Option<Fq12> {
    // Easy part: f^((p⁶−1)(p²+1)) = (conj(f) · f⁻¹)^(p²+1).
    let f_inv = f.inverse()?;
    let mut r = *f;
    r.cyclotomic_inverse_in_place();
    r *= f_inv;
    let f2 = r;
    r.frobenius_map_in_place(2);
    r *= f2;

    // Hard part, arkworks' sequence (Fuentes-Castañeda et al.):
    // r^(2x(6x² + 3x + 1)(p⁴ − p² + 1)/r).
    let y0 = exp_by_neg_seed(&r);
    let y1 = y0.cyclotomic_square();
    let y2 = y1.cyclotomic_square();
    let mut y3 = y2 * y1;
    let y4 = exp_by_neg_seed(&y3);
    let y5 = y4.cyclotomic_square();
    let mut y6 = exp_by_neg_seed(&y5);
    y3.cyclotomic_inverse_in_place();
    y6.cyclotomic_inverse_in_place();
    let y7 = y6 * y4;
    let mut y8 = y7 * y3;
    let y9 = y8 * y1;
    let y10 = y8 * y4;
    let y11 = y10 * r;
    let mut y12 = y9;
    y12.frobenius_map_in_place(1);
    let y13 = y12 * y11;
    y8.frobenius_map_in_place(2);
    let y14 = y8 * y13;
    r.cyclotomic_inverse_in_place();
    let mut y15 = r * y9;
    y15.frobenius_map_in_place(3);
    Some(y15 * y14)
}

#[cfg(test)]
mod tests {
    use ark_bn254::{Bn254, Fr, G1Projective, G2Projective};
    use ark_ec::{
        pairing::{MillerLoopOutput, Pairing},
        CurveGroup, PrimeGroup,
    };
    use ark_ff::UniformRand;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    use super::*;

    /// The number theory behind [`prepare_in_g2`]'s membership test.
    #[test]
    fn the_membership_endomorphism_kills_exactly_g2() {
        use num_bigint::{BigInt, BigUint};
        use num_integer::Integer;

        let x = BigInt::from(SEED);
        let p = BigInt::from(36u64) * x.pow(4) + 36 * x.pow(3) + 24 * x.pow(2) + 6 * &x + 1;
        let r = BigInt::from(36u64) * x.pow(4) + 36 * x.pow(3) + 18 * x.pow(2) + 6 * &x + 1;
        assert_eq!(p, BigUint::from(<Fq as ark_ff::PrimeField>::MODULUS).into());
        assert_eq!(r, BigUint::from(<Fr as ark_ff::PrimeField>::MODULUS).into());
        let t: BigInt = BigInt::from(6u64) * x.pow(2) + 1;
        // φ = [6x+2] + ψ − ψ² + ψ³ = a + bψ, using ψ² = tψ − p.
        let a: BigInt = 6 * &x + 2 + &p - &t * &p;
        let b: BigInt = 1 - &t + t.pow(2) - &p;
        let kernel_size: BigInt = &a * &a + &t * &a * &b + &p * &b * &b;
        assert!(!a.is_multiple_of(&p), "φ is separable");
        let twist_order = &r * (2 * &p - &r);
        assert_eq!(kernel_size.gcd(&twist_order), r);
    }

    /// A random point of the twist: random x until x³ + b' is a square. Almost never in
    /// G2 (the cofactor is ≈ 2^254).
    fn random_twist_point(rng: &mut ChaCha20Rng) -> G2Affine {
        loop {
            let x = Fq2::rand(rng);
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, rng.gen::<bool>()) {
                return p;
            }
        }
    }

    /// The same lines as arkworks, and the same membership verdict as arkworks' check,
    /// on points inside G2, random twist points, points of order 10069 (the smallest
    /// prime factor of the cofactor, the likeliest to make a step exceptional; none
    /// does, module documentation), and sums of the two.
    #[test]
    fn prepare_in_g2_matches_arkworks() {
        use num_bigint::BigUint;

        let mut rng = ChaCha20Rng::seed_from_u64(3);
        // #E'(Fq2) / 10069 = r · (cofactor / 10069).
        let cofactor = <ark_bn254::g2::Config as ark_ec::CurveConfig>::COFACTOR;
        let cofactor = BigUint::from_bytes_le(
            &cofactor
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        assert_eq!(&cofactor % 10069u32, BigUint::ZERO);
        let to_order_10069 =
            (cofactor / 10069u32) * BigUint::from(<Fr as ark_ff::PrimeField>::MODULUS);
        let to_order_10069 = to_order_10069.to_u64_digits();

        let mut outside = 0;
        for i in 0..64 {
            let inside = (G2Projective::generator() * Fr::rand(&mut rng)).into_affine();
            let any = random_twist_point(&mut rng);
            let tiny = any.mul_bigint(&to_order_10069).into_affine();
            assert!(
                !tiny.is_zero() && tiny.mul_bigint([10069u64]).is_zero(),
                "sample {i}"
            );
            let mixed = (inside + tiny).into_affine();
            for (name, q) in [
                ("inside", inside),
                ("any", any),
                ("tiny", tiny),
                ("mixed", mixed),
            ] {
                let expected = q.is_in_correct_subgroup_assuming_on_curve();
                let ours = prepare_in_g2(&q);
                assert_eq!(ours.is_some(), expected, "{name} sample {i}");
                outside += usize::from(!expected);
                if let Some(prepared) = ours {
                    assert_eq!(prepared, G2Prepared::from(q), "{name} sample {i}");
                    assert_eq!(prepared.ell_coeffs.len(), ELL_COEFFS);
                }
            }
        }
        assert!(outside >= 3 * 64, "the outside cases are exercised");
        assert!(prepare_in_g2(&G2Affine::zero()).is_some_and(|p| p.infinity));
        assert!(prepare_in_g2(&G2Affine::generator()).is_some());
    }

    /// The normalized loop's pairing value equals arkworks' for the three pairs of a
    /// Groth16 check, including zero points.
    #[test]
    fn miller_loop_matches_arkworks() {
        use ark_bn254::{G1Affine, G1Projective};
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let g1 = |rng: &mut ChaCha20Rng| (G1Projective::generator() * Fr::rand(rng)).into_affine();
        let g2 = |rng: &mut ChaCha20Rng| (G2Projective::generator() * Fr::rand(rng)).into_affine();
        for i in 0..12 {
            let (a, b, p1, q1, p2, q2) = (
                g1(&mut rng),
                g2(&mut rng),
                g1(&mut rng),
                g2(&mut rng),
                g1(&mut rng),
                g2(&mut rng),
            );
            // Zero points in some samples: A, then each fixed pair's G1 point, then B.
            let a = if i == 1 { G1Affine::zero() } else { a };
            let p1 = if i == 2 { G1Affine::zero() } else { p1 };
            let p2 = if i == 3 { G1Affine::zero() } else { p2 };
            let b = if i == 4 { G2Affine::zero() } else { b };
            let (q1p, q2p) = (G2Prepared::from(q1), G2Prepared::from(q2));
            let ours = miller_loop(
                &[(&a, &prepare_in_g2(&b).unwrap())],
                &[
                    (&p1, &NormalizedLines::new(&q1p)),
                    (&p2, &NormalizedLines::new(&q2p)),
                ],
            );
            let theirs = Bn254::multi_pairing([a, p1, p2], [b, q1, q2]).0;
            assert_eq!(final_exponentiation(&ours).unwrap(), theirs, "sample {i}");
        }
    }

    /// What the verifier decodes: unchecked deserialization plus [`prepare_in_g2`]
    /// accepts exactly what arkworks' checked deserialization accepts.
    #[test]
    fn unchecked_decoding_plus_prepare_equals_checked_decoding() {
        use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for i in 0..64 {
            let p = if i % 2 == 0 {
                random_twist_point(&mut rng)
            } else {
                (G2Projective::generator() * Fr::rand(&mut rng)).into_affine()
            };
            let mut bytes = Vec::new();
            p.serialize_compressed(&mut bytes).unwrap();
            let checked = G2Affine::deserialize_compressed(&bytes[..]).is_ok();
            let ours = G2Affine::deserialize_compressed_unchecked(&bytes[..])
                .is_ok_and(|q| prepare_in_g2(&q).is_some());
            assert_eq!(checked, ours, "sample {i}");
            assert_eq!(checked, i % 2 == 1, "sample {i}");
        }
    }

    #[test]
    fn exp_by_seed_matches_the_binary_method() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..16 {
            // A cyclotomic element: the easy part of the final exponentiation of a
            // random element.
            let f = Fq12::rand(&mut rng);
            let mut g = f;
            g.cyclotomic_inverse_in_place();
            g *= f.inverse().unwrap();
            let g2 = g;
            g.frobenius_map_in_place(2);
            g *= g2;
            assert_eq!(exp_by_seed(&g), g.pow([SEED]));
            assert_eq!(exp_by_seed(&g), g.cyclotomic_exp([SEED]));
        }
    }

    #[test]
    fn final_exponentiation_matches_arkworks() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        // Random field elements, and real Miller loop outputs.
        for _ in 0..8 {
            let f = Fq12::rand(&mut rng);
            let ours = final_exponentiation(&f).unwrap();
            let theirs = Bn254::final_exponentiation(MillerLoopOutput(f)).unwrap().0;
            assert_eq!(ours, theirs);
        }
        for _ in 0..8 {
            let a = G1Projective::generator() * Fr::rand(&mut rng);
            let b = G2Projective::generator() * Fr::rand(&mut rng);
            let ml = Bn254::miller_loop(a, b).0;
            assert_eq!(
                final_exponentiation(&ml).unwrap(),
                Bn254::pairing(a, b).0,
                "e(A, B) through our final exponentiation"
            );
        }
        assert!(final_exponentiation(&Fq12::zero()).is_none());
        assert!(final_exponentiation(&Fq12::one()).unwrap().is_one());
    }
}
