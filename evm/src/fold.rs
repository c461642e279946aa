//! The folds of the generated verifiers, computed natively: what `foldShared` and
//! `fold<Group>` return, for a caller that computes a folded point off-chain (and for
//! the tests that hold the two together).

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_groth16::VerifyingKey;

use crate::{abi::CalldataError, split::InputSplit};

/// `IC_0`: the constant term every fold starts from.
///
/// # Errors
/// [`CalldataError::InputCount`] for a key without `IC_0` (no valid key is).
pub fn constant_term(vk: &VerifyingKey<Bn254>) -> Result<G1Affine, CalldataError> {
    vk.gamma_abc_g1
        .first()
        .copied()
        .ok_or(CalldataError::InputCount {
            function: "the verifying key".to_owned(),
            expected: 1,
            found: 0,
        })
}

/// `base + Σ_k values[k]·IC_{indices[k]+1}`.
///
/// # Errors
/// [`CalldataError::InputCount`] if `values` and `indices` differ in length, or an
/// index has no point in the key.
pub fn fold_inputs(
    vk: &VerifyingKey<Bn254>,
    indices: &[usize],
    values: &[Fr],
    base: G1Affine,
) -> Result<G1Affine, CalldataError> {
    if indices.len() != values.len() {
        return Err(CalldataError::InputCount {
            function: "fold".to_owned(),
            expected: indices.len(),
            found: values.len(),
        });
    }
    let mut acc = G1Projective::from(base);
    for (&i, v) in indices.iter().zip(values) {
        let point = vk
            .gamma_abc_g1
            .get(i + 1)
            .ok_or(CalldataError::InputCount {
                function: "the verifying key".to_owned(),
                expected: i + 2,
                found: vk.gamma_abc_g1.len(),
            })?;
        acc += point.into_group() * v;
    }
    Ok(acc.into_affine())
}

/// What `foldShared(shared)` returns: `IC_0` plus every shared input times its point.
///
/// # Errors
/// [`CalldataError::InputCount`] if `shared` is not the split's shared-input count.
pub fn fold_shared(
    vk: &VerifyingKey<Bn254>,
    split: &InputSplit,
    shared: &[Fr],
) -> Result<G1Affine, CalldataError> {
    let indices: Vec<usize> = split.shared_inputs().map(|i| i.index).collect();
    fold_inputs(vk, &indices, shared, constant_term(vk)?)
}

/// What `fold<group>(values, base)` returns.
///
/// # Errors
/// [`CalldataError::UnknownGroup`], [`CalldataError::InputCount`].
pub fn fold_group(
    vk: &VerifyingKey<Bn254>,
    split: &InputSplit,
    group: &str,
    values: &[Fr],
    base: G1Affine,
) -> Result<G1Affine, CalldataError> {
    let g = split
        .shared
        .iter()
        .find(|g| g.name == group)
        .ok_or_else(|| CalldataError::UnknownGroup(group.to_owned()))?;
    let indices: Vec<usize> = g.inputs.iter().map(|i| i.index).collect();
    fold_inputs(vk, &indices, values, base)
}
