//! The initial phase-2 parameters of a circuit (γ = δ = 1), from a checked ptau.
//!
//! They are exactly what ark-groth16 0.6's `generate_parameters_with_qap` with
//! `LibsnarkReduction` computes with the ptau's τ, α, β and γ = δ = 1, only computed
//! from group elements instead of the secrets. With `n` the radix-2 domain of size
//! `next_pow2(constraints + instance variables)`, `L_i` its Lagrange polynomials and
//! `m` the number of constraints, the reduction evaluates for every variable `j`
//!
//! - `A_j(τ) = Σ_i A[i][j]·L_i(τ)`, plus `L_{m+j}(τ)` for each instance variable `j`
//!   (libsnark's input-consistency constraints `x_j · 0 = 0` placed after the real ones,
//!   which make the instance polynomials linearly independent);
//! - `B_j(τ) = Σ_i B[i][j]·L_i(τ)` and `C_j(τ) = Σ_i C[i][j]·L_i(τ)`.
//!
//! Then `a_query_j = A_j(τ)·G1`, `b_g1_query_j = B_j(τ)·G1`, `b_g2_query_j = B_j(τ)·G2`,
//! `(β·A_j + α·B_j + C_j)(τ)·G1` goes to `gamma_abc_g1` for instance variables and to
//! `l_query` for witnesses (divided by γ and δ, both 1 here), and
//! `h_query_i = τ^i·t(τ)·G1 = (τ^{n+i} − τ^i)·G1` for `i < n − 1` (`t = X^n − 1`), which
//! needs the ptau's powers up to `τ^{2n−2}`: the 2·2^p − 1 points of tauG1.
//! Every `L_i(τ)·G`, `α·L_i(τ)·G1` and `β·L_i(τ)·G1` is a Lagrange-basis point of the
//! ptau ([`CheckedPtau::lagrange_basis`]).

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;

use crate::{curve::generators, error::CeremonyError, ptau::CheckedPtau};

/// The largest FFT domain BN254's scalar field has (its two-adicity).
const MAX_LOG_DOMAIN: u32 = 28;

/// A circuit's constraint system as Groth16 setup sees it: counts, matrices and their
/// digest.
#[derive(Clone)]
pub struct CircuitShape {
    /// R1CS constraints.
    pub num_constraints: usize,
    /// Instance variables, the constant 1 included.
    pub num_instance_variables: usize,
    /// Witness variables.
    pub num_witness_variables: usize,
    /// log2 of the FFT domain.
    pub log_domain: u32,
    /// BLAKE2b-512 of the counts and of the A, B, C matrices (see `FORMAT.md`): a
    /// ceremony file records it so that a transcript for another circuit is refused.
    pub digest: [u8; 64],
    matrices: Vec<Matrix<Fr>>,
}

impl std::fmt::Debug for CircuitShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitShape")
            .field("num_constraints", &self.num_constraints)
            .field("num_instance_variables", &self.num_instance_variables)
            .field("num_witness_variables", &self.num_witness_variables)
            .field("log_domain", &self.log_domain)
            .field("digest", &hex::encode(self.digest))
            .finish_non_exhaustive()
    }
}

impl CircuitShape {
    /// Synthesizes `circuit` in setup mode with the settings of ark-groth16's generator
    /// (optimization goal: constraints; then `finalize`), so the matrices are the ones
    /// its keys are made for.
    ///
    /// # Errors
    /// [`CeremonyError::Synthesis`], [`CeremonyError::NotR1cs`] or
    /// [`CeremonyError::DomainTooLarge`].
    pub fn synthesize<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<Self, CeremonyError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        circuit
            .generate_constraints(cs.clone())
            .map_err(CeremonyError::Synthesis)?;
        cs.finalize();
        let mut all = cs.to_matrices().map_err(CeremonyError::Synthesis)?;
        let matrices = all.remove(R1CS_PREDICATE_LABEL).unwrap_or_default();
        if !all.is_empty() || matrices.len() != 3 {
            return Err(CeremonyError::NotR1cs);
        }
        let num_constraints = cs.num_constraints();
        let num_instance_variables = cs.num_instance_variables();
        let num_witness_variables = cs.num_witness_variables();
        let size = (num_constraints + num_instance_variables).next_power_of_two();
        let log_domain = size.trailing_zeros();
        if log_domain > MAX_LOG_DOMAIN {
            return Err(CeremonyError::DomainTooLarge(size));
        }
        let digest = matrix_digest(
            num_constraints,
            num_instance_variables,
            num_witness_variables,
            &matrices,
        );
        Ok(Self {
            num_constraints,
            num_instance_variables,
            num_witness_variables,
            log_domain,
            digest,
            matrices,
        })
    }

    /// The FFT domain size, `next_pow2(constraints + instance variables)`.
    pub fn domain_size(&self) -> usize {
        1 << self.log_domain
    }

    /// Instance plus witness variables.
    pub fn num_variables(&self) -> usize {
        self.num_instance_variables + self.num_witness_variables
    }

    /// The digest in lowercase hex.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }
}

/// BLAKE2b-512 over a domain tag, the three counts (`u64` LE) and, for A, B, C in turn,
/// each row as its `u64` length then `(u64 variable index, 32-byte LE coefficient)`.
fn matrix_digest(
    constraints: usize,
    instance: usize,
    witness: usize,
    matrices: &[Matrix<Fr>],
) -> [u8; 64] {
    let mut h = Blake2b512::new();
    h.update(b"zkmargin-ceremony/circuit/v1");
    for n in [constraints, instance, witness] {
        h.update((n as u64).to_le_bytes());
    }
    for m in matrices {
        h.update((m.len() as u64).to_le_bytes());
        for row in m {
            h.update((row.len() as u64).to_le_bytes());
            for (coeff, var) in row {
                h.update((*var as u64).to_le_bytes());
                h.update(coeff.into_bigint().to_bytes_le());
            }
        }
    }
    h.finalize().into()
}

/// `Σ c·P` over the (point, coefficient) pairs of one or more matrix columns.
///
/// Most coefficients of real circuits are ±1 or short (range-check bits carry powers of
/// two, subtractions carry `−c`): those become additions or short multiplications. The
/// full-width ones (Poseidon's constants) go to one MSM, cheaper than separate
/// multiplications once there are more than a few.
fn column_sum<A>(terms: impl Iterator<Item = (A, Fr)>) -> A::Group
where
    A: AffineRepr<ScalarField = Fr>,
    A::Group: VariableBaseMSM<MulBase = A, ScalarField = Fr>,
{
    const SHORT_BITS: u32 = 64;
    const MSM_FROM: usize = 8;
    let mut acc = A::Group::zero();
    let (mut bases, mut scalars) = (Vec::new(), Vec::new());
    for (p, c) in terms {
        if c.is_one() {
            acc += p;
        } else if (-c).is_one() {
            acc -= p;
        } else {
            let (pos, neg) = (c.into_bigint(), (-c).into_bigint());
            if neg.num_bits() < pos.num_bits().min(SHORT_BITS) {
                acc -= p.mul_bigint(neg);
            } else if pos.num_bits() <= SHORT_BITS {
                acc += p.mul_bigint(pos);
            } else {
                bases.push(p);
                scalars.push(c);
            }
        }
    }
    if bases.len() >= MSM_FROM {
        acc += <A::Group as VariableBaseMSM>::msm_unchecked(&bases, &scalars);
    } else {
        for (p, c) in bases.iter().zip(&scalars) {
            acc += p.mul_bigint(c.into_bigint());
        }
    }
    acc
}

/// The (point, coefficient) pairs of a column against the Lagrange points `basis`.
fn over<'a, A: Copy>(
    column: &'a [(usize, Fr)],
    basis: &'a [A],
) -> impl Iterator<Item = (A, Fr)> + 'a {
    column.iter().map(move |(i, c)| (basis[*i], *c))
}

/// The initial Groth16 parameters (γ = δ = 1) of `shape` from `ptau`: what
/// ark-groth16's `LibsnarkReduction` generator gives with the ptau's τ, α, β (module
/// docs). arkworks' prover and verifier take them as they are; they are not secure until
/// phase-2 contributions randomize δ.
///
/// # Errors
/// [`CeremonyError::Ptau`] with [`crate::PtauError::TooSmall`] when the ptau's powers do
/// not cover the circuit's domain.
pub fn initial_parameters(
    shape: &CircuitShape,
    ptau: &CheckedPtau,
) -> Result<ProvingKey<Bn254>, CeremonyError> {
    let n = shape.domain_size();
    let lag = ptau.lagrange_basis(shape.log_domain)?;
    let powers = &ptau.ptau().tau_g1()[..2 * n - 1];
    let m = shape.num_constraints;
    let num_instance = shape.num_instance_variables;
    let num_vars = shape.num_variables();

    // Columns of A, B, C: for each variable, the (constraint, coefficient) pairs.
    let mut columns = vec![[Vec::new(), Vec::new(), Vec::new()]; num_vars];
    for (k, matrix) in shape.matrices.iter().enumerate() {
        for (i, row) in matrix.iter().enumerate() {
            for (coeff, var) in row {
                columns[*var][k].push((i, *coeff));
            }
        }
    }

    let compute = || -> Vec<(G1Projective, G1Projective, G2Projective, G1Projective)> {
        columns
            .par_iter()
            .enumerate()
            .map(|(j, [a, b, c])| {
                let mut a_j = column_sum(over(a, &lag.tau_g1));
                let b1_j = column_sum(over(b, &lag.tau_g1));
                let b2_j = column_sum(over(b, &lag.tau_g2));
                // β·A_j + α·B_j + C_j in one sum (one MSM for its full-width terms).
                let mut l_j = column_sum(
                    over(a, &lag.beta_tau_g1)
                        .chain(over(b, &lag.alpha_tau_g1))
                        .chain(over(c, &lag.tau_g1)),
                );
                if j < num_instance {
                    // The input-consistency term of instance variable j: L_{m+j}.
                    a_j += lag.tau_g1[m + j];
                    l_j += lag.beta_tau_g1[m + j];
                }
                (a_j, b1_j, b2_j, l_j)
            })
            .collect()
    };
    // The per-column MSMs run rayon jobs inside this parallel loop; nested stealing can
    // stack many of them on one thread, so the loop runs on a pool with roomy stacks.
    let per_var = match rayon::ThreadPoolBuilder::new()
        .stack_size(256 << 20)
        .build()
    {
        Ok(pool) => pool.install(compute),
        Err(_) => compute(),
    };
    let a_query = G1Projective::normalize_batch(&per_var.iter().map(|v| v.0).collect::<Vec<_>>());
    let b_g1_query =
        G1Projective::normalize_batch(&per_var.iter().map(|v| v.1).collect::<Vec<_>>());
    let b_g2_query =
        G2Projective::normalize_batch(&per_var.iter().map(|v| v.2).collect::<Vec<_>>());
    let mut l = G1Projective::normalize_batch(&per_var.iter().map(|v| v.3).collect::<Vec<_>>());
    let l_query = l.split_off(num_instance);
    let gamma_abc_g1 = l;

    // H: τ^i·(τ^n − 1)·G1 for i < n − 1.
    let h: Vec<G1Projective> = (0..n - 1)
        .into_par_iter()
        .map(|i| powers[n + i].into_group() - powers[i])
        .collect();
    let h_query = G1Projective::normalize_batch(&h);

    let (g1, g2): (G1Affine, G2Affine) = generators();
    let p = ptau.ptau();
    Ok(ProvingKey {
        vk: VerifyingKey {
            alpha_g1: p.alpha_tau_g1()[0],
            beta_g2: p.beta_g2(),
            gamma_g2: g2,
            delta_g2: g2,
            gamma_abc_g1,
        },
        beta_g1: p.beta_tau_g1()[0],
        delta_g1: g1,
        a_query,
        b_g1_query,
        b_g2_query,
        h_query,
        l_query,
    })
}
