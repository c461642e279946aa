//! `PoseidonVar`: the in-circuit twin of [`crate::poseidon_hash`] (circomlib parameters).
//!
//! Between S-boxes the Poseidon permutation is a fixed affine map (round constants and
//! MDS mixing), independent of the inputs. We run the permutation once *symbolically*
//! per width, recording each S-box input as an affine combination of the hash inputs and
//! of earlier S-box outputs, and cache that program. Synthesis then emits one flat
//! linear combination per S-box input. Building the same combinations gate by gate
//! (nested `a + m·b` chains through 68 rounds of 12×12 mixing) leaves arkworks tens of
//! milliseconds of linear-combination inlining per proof; the flat form costs nothing.

use std::sync::OnceLock;

use ark_ff::{Field, Zero};
use ark_r1cs_std::{
    fields::fp::{AllocatedFp, FpVar},
    prelude::*,
};
use ark_relations::gr1cs::{LinearCombination, SynthesisError, Variable};
use light_poseidon::parameters::bn254_x5;

use crate::Fr;

/// Largest number of inputs light-poseidon has circomlib parameters for (state width 13).
const MAX_INPUTS: usize = 12;

/// circomlib's Poseidon as R1CS.
///
/// Cost: 3 constraints per S-box (x², x⁴, x⁵) and `8·t + RP` S-boxes for width `t`,
/// less those whose input is a constant (computed natively: the capacity element's
/// first-round S-box always, and the first-round S-box of every constant input).
pub struct PoseidonVar;

impl PoseidonVar {
    /// Hashes `N` inputs (1 ≤ N ≤ 12); equals [`crate::poseidon_hash`] on the values.
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn hash<const N: usize>(inputs: &[FpVar<Fr>; N]) -> Result<FpVar<Fr>, SynthesisError> {
        const {
            assert!(
                N >= 1 && N <= MAX_INPUTS,
                "circomlib Poseidon takes 1 to 12 inputs here"
            )
        };
        let program = program(N);
        let mut basis: Vec<FpVar<Fr>> = Vec::with_capacity(N + program.sboxes.len());
        basis.extend(inputs.iter().cloned());
        for input in &program.sboxes {
            let x = input.eval(&basis)?;
            let x2 = x.square()?;
            let x4 = x2.square()?;
            basis.push(x4 * &x);
        }
        program.output.eval(&basis)
    }
}

/// An affine combination `constant + Σ coeff·basis[index]`, where the basis is the hash
/// inputs followed by the S-box outputs in order.
struct Affine {
    terms: Vec<(usize, Fr)>,
    constant: Fr,
}

impl Affine {
    fn constant(c: Fr) -> Self {
        Self {
            terms: Vec::new(),
            constant: c,
        }
    }

    fn basis(index: usize) -> Self {
        Self {
            terms: vec![(index, Fr::ONE)],
            constant: Fr::zero(),
        }
    }

    /// `Σ m_j · xs_j`, merged into one sparse combination over `basis_len` elements.
    fn mix(row: &[Fr], xs: &[Affine], basis_len: usize) -> Self {
        let mut dense = vec![Fr::zero(); basis_len];
        let mut constant = Fr::zero();
        for (m, x) in row.iter().zip(xs) {
            constant += *m * x.constant;
            for (i, c) in &x.terms {
                dense[*i] += *m * c;
            }
        }
        Self {
            terms: dense
                .into_iter()
                .enumerate()
                .filter(|(_, c)| !c.is_zero())
                .collect(),
            constant,
        }
    }

    /// The combination as a variable: a constant when every term is constant (no
    /// constraint), otherwise one flat linear combination of the basis variables.
    fn eval(&self, basis: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
        let mut constant = self.constant;
        let mut lc = LinearCombination::<Fr>::zero();
        let mut value = Some(Fr::zero());
        let mut cs = None;
        for (i, c) in &self.terms {
            match &basis[*i] {
                FpVar::Constant(v) => constant += *c * v,
                FpVar::Var(v) => {
                    lc.0.push((*c, v.variable));
                    value = value.zip(v.value().ok()).map(|(acc, x)| acc + *c * x);
                    cs = Some(v.cs.clone());
                }
            }
        }
        let Some(cs) = cs else {
            return Ok(FpVar::Constant(constant));
        };
        lc.0.push((constant, Variable::One));
        let value = if cs.is_in_setup_mode() {
            None
        } else {
            value.map(|v| v + constant)
        };
        let variable = cs.new_lc(|| lc)?;
        Ok(FpVar::Var(AllocatedFp::new(value, variable, cs)))
    }
}

/// The permutation of one width as a straight-line program over its basis.
struct Program {
    /// Input of each S-box, in order; S-box `k`'s output is basis element `inputs + k`.
    sboxes: Vec<Affine>,
    /// State element 0 after the last round: the hash.
    output: Affine,
}

/// Runs circomlib's permutation symbolically for `n` inputs (state `[0, inputs…]`),
/// exactly as light-poseidon does natively: add round constants, S-box (all elements
/// in full rounds, the first in partial rounds), multiply by the MDS matrix.
fn build(n: usize) -> Program {
    let params = bn254_x5::get_poseidon_parameters::<Fr>((n + 1) as u8)
        .expect("widths 2..=16 are in light-poseidon's circomlib table");
    let t = params.width;
    let half = params.full_rounds / 2;
    let rounds = params.full_rounds + params.partial_rounds;
    let mut state: Vec<Affine> = std::iter::once(Affine::constant(Fr::zero()))
        .chain((0..n).map(Affine::basis))
        .collect();
    let mut sboxes = Vec::new();
    for round in 0..rounds {
        for (i, x) in state.iter_mut().enumerate() {
            x.constant += params.ark[round * t + i];
        }
        let full = round < half || round >= half + params.partial_rounds;
        for x in state.iter_mut().take(if full { t } else { 1 }) {
            let input = std::mem::replace(x, Affine::basis(n + sboxes.len()));
            sboxes.push(input);
        }
        let basis_len = n + sboxes.len();
        state = (0..t)
            .map(|i| Affine::mix(&params.mds[i], &state, basis_len))
            .collect();
    }
    Program {
        sboxes,
        output: state.swap_remove(0),
    }
}

/// The cached program for `n` inputs.
fn program(n: usize) -> &'static Program {
    static CACHE: [OnceLock<Program>; MAX_INPUTS + 1] = [const { OnceLock::new() }; MAX_INPUTS + 1];
    CACHE[n].get_or_init(|| build(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::UniformRand;

    #[test]
    fn agrees_with_native_and_counts() {
        let mut rng = ark_std::test_rng();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let xs: [Fr; 11] = std::array::from_fn(|_| Fr::rand(&mut rng));
        let vars = xs.map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
        let h = PoseidonVar::hash(&vars).unwrap();
        assert_eq!(h.value().unwrap(), crate::poseidon_hash(&xs));
        assert!(cs.is_satisfied().unwrap());
        // Width 12: (8·12 + 60) S-boxes × 3 constraints, less the first-round S-box of
        // the constant capacity element.
        assert_eq!(cs.num_constraints(), 3 * (8 * 12 + 60 - 1));
    }

    #[test]
    fn every_width_and_constant_inputs_agree() {
        fn check<const N: usize>() {
            let mut rng = ark_std::test_rng();
            let xs: [Fr; N] = std::array::from_fn(|_| Fr::rand(&mut rng));
            let cs = ConstraintSystem::<Fr>::new_ref();
            // Even inputs as constants, odd as witnesses: both paths of `eval`.
            let vars: [FpVar<Fr>; N] = std::array::from_fn(|i| {
                if i % 2 == 0 {
                    FpVar::constant(xs[i])
                } else {
                    FpVar::new_witness(cs.clone(), || Ok(xs[i])).unwrap()
                }
            });
            let h = PoseidonVar::hash(&vars).unwrap();
            assert_eq!(h.value().unwrap(), crate::poseidon_hash(&xs), "N = {N}");
            assert!(cs.is_satisfied().unwrap());
            // All-constant inputs hash natively, without constraints.
            let all_constant = xs.map(FpVar::constant);
            assert_eq!(
                PoseidonVar::hash(&all_constant).unwrap().value().unwrap(),
                crate::poseidon_hash(&xs)
            );
        }
        check::<1>();
        check::<2>();
        check::<5>();
        check::<11>();
        check::<12>();
    }

    #[test]
    fn forged_output_fails() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let xs = [Fr::from(1u64), Fr::from(2u64)];
        let vars = xs.map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
        let h = PoseidonVar::hash(&vars).unwrap();
        let claimed =
            FpVar::new_input(
                cs.clone(),
                || Ok(crate::poseidon_hash(&xs) + Fr::from(1u64)),
            )
            .unwrap();
        h.enforce_equal(&claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
