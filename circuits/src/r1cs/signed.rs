//! Range-checked integers: the signed slots and the sign test of the health sum.

use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::{commitment::pow2, Fr, SLOT_BITS};

/// A signed 64-bit slot in offset encoding: `offset = value + 2^63`, held as 64
/// boolean witnesses. Cost: 64 constraints (one booleanity check per bit).
///
/// Soundness: `offset` is a sum of 64 bits, so `offset ∈ [0, 2^64)` and
/// `value ∈ [−2^63, 2^63)` as integers; a negative number cannot hide as a huge
/// field element, because no such element has a 64-bit decomposition.
#[derive(Clone)]
pub struct SignedVar {
    /// `value + 2^63`, the 64 bits recombined (a linear combination, no constraint).
    pub offset: FpVar<Fr>,
    /// The signed value, `offset − 2^63`.
    pub value: FpVar<Fr>,
    /// Bit 63 of the offset: true iff `value ≥ 0`.
    pub is_nonnegative: Boolean<Fr>,
    /// All 64 bits, least significant first.
    pub bits: Vec<Boolean<Fr>>,
}

impl SignedVar {
    /// Allocates `value` as a range-checked witness.
    ///
    /// # Errors
    /// Propagates synthesis errors (and the closure's, outside setup mode).
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        value: impl FnOnce() -> Result<i64, SynthesisError>,
    ) -> Result<Self, SynthesisError> {
        let offset = if cs.is_in_setup_mode() {
            None
        } else {
            Some(value().map(crate::commitment::offset)?)
        };
        let bits = (0..SLOT_BITS)
            .map(|i| {
                Boolean::new_witness(cs.clone(), || {
                    offset
                        .map(|u| (u >> i) & 1 == 1)
                        .ok_or(SynthesisError::AssignmentMissing)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_bits(bits)
    }

    /// Wraps 64 bits that are already boolean-constrained.
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn from_bits(bits: Vec<Boolean<Fr>>) -> Result<Self, SynthesisError> {
        assert_eq!(bits.len(), SLOT_BITS, "a slot is 64 bits");
        let offset = Boolean::le_bits_to_fp(&bits)?;
        let value = &offset - pow2(63);
        Ok(Self {
            offset,
            value,
            is_nonnegative: bits[SLOT_BITS - 1].clone(),
            bits,
        })
    }
}

/// Returns whether `x ≥ 0`, for an `x` the caller's overflow budget bounds by
/// `|x| < 2^bound_bits` (with `bound_bits + 1 < 253`).
///
/// Decomposes `x + 2^bound_bits` into `bound_bits + 1` bits and returns the top one.
/// Cost: `bound_bits + 2` constraints. If the precondition failed, `x + 2^bound_bits`
/// would have no such decomposition and the system would be unsatisfiable — never
/// a wrong answer, because `2^(bound_bits+1)` is far below the field modulus.
///
/// # Errors
/// Propagates synthesis errors.
pub fn is_nonnegative_bounded(
    x: &FpVar<Fr>,
    bound_bits: usize,
) -> Result<Boolean<Fr>, SynthesisError> {
    assert!(
        bound_bits + 1 < Fr::MODULUS_BIT_SIZE as usize - 1,
        "comparison must not wrap"
    );
    let shifted = x + pow2(bound_bits as u32);
    let cs = x.cs();
    let value = shifted.value().ok().map(|v| v.into_bigint());
    let bits = (0..=bound_bits)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .map(|v| v.get_bit(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(&shifted)?;
    Ok(bits[bound_bits].clone())
}

/// Enforces `0 ≤ x < 2^bits` (with `bits < 252`): decomposes `x` into `bits` boolean
/// witnesses and recomposes. Cost: `bits + 1` constraints. A negative `x` is a field
/// element ≥ r − 2^bits, which has no such decomposition.
///
/// # Errors
/// Propagates synthesis errors.
pub fn enforce_in_range(x: &FpVar<Fr>, bits: usize) -> Result<(), SynthesisError> {
    assert!(
        bits < Fr::MODULUS_BIT_SIZE as usize - 1,
        "range must stay below the modulus"
    );
    let cs = x.cs();
    let value = x.value().ok().map(|v| v.into_bigint());
    let limbs = (0..bits)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .map(|v| v.get_bit(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&limbs)?.enforce_equal(x)
}

pub use crate::fr_from_i256;

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;
    use ethnum::I256;

    #[test]
    fn slot_round_trip_and_cost() {
        for v in [0i64, 1, -1, i64::MIN, i64::MAX, 123_456_789, -987_654_321] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let s = SignedVar::new_witness(cs.clone(), || Ok(v)).unwrap();
            assert_eq!(s.value.value().unwrap(), fr_from_i256(I256::from(v)));
            assert_eq!(s.is_nonnegative.value().unwrap(), v >= 0);
            assert!(cs.is_satisfied().unwrap());
            assert_eq!(cs.num_constraints(), SLOT_BITS);
        }
    }

    #[test]
    fn sign_test_boundaries() {
        let bound: u32 = 100;
        for (x, expect) in [
            (I256::ZERO, true),
            (I256::from(-1), false),
            (I256::ONE, true),
            ((I256::ONE << bound) - 1, true),
            (-(I256::ONE << bound) + 1, false),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let xv = FpVar::new_witness(cs.clone(), || Ok(fr_from_i256(x))).unwrap();
            let b = is_nonnegative_bounded(&xv, bound as usize).unwrap();
            assert_eq!(b.value().unwrap(), expect, "{x}");
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn range_check_boundaries() {
        for (x, ok) in [
            (I256::ZERO, true),
            ((I256::ONE << 10u32) - 1, true),
            (I256::ONE << 10u32, false),
            (I256::from(-1), false),
            (-(I256::ONE << 200u32), false),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let xv = FpVar::new_witness(cs.clone(), || Ok(fr_from_i256(x))).unwrap();
            enforce_in_range(&xv, 10).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "{x}");
            assert_eq!(cs.num_constraints(), 11);
        }
    }

    #[test]
    fn sign_test_out_of_budget_is_unsatisfiable() {
        let bound: u32 = 100;
        for x in [
            I256::ONE << bound,
            -(I256::ONE << bound) - 1,
            -(I256::ONE << 200u32),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let xv = FpVar::new_witness(cs.clone(), || Ok(fr_from_i256(x))).unwrap();
            let _sign = is_nonnegative_bounded(&xv, bound as usize).unwrap();
            assert!(!cs.is_satisfied().unwrap(), "{x}");
        }
    }
}
