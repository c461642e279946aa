//! `MarginCircuit`: the committed account meets or breaches its threshold at public prices.

use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::{is_nonnegative_bounded, AccountVar, CommitmentVar, PricesVar, WeightsVar};
use crate::{Account, Fr, MarginPublic, HEALTH_BOUND_BITS};

/// The witness of the margin statement.
#[derive(Clone)]
pub struct MarginPrivate {
    /// The account state inside the commitment.
    pub account: Account,
}

impl std::fmt::Debug for MarginPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarginPrivate").finish_non_exhaustive()
    }
}

/// The margin circuit (statement in `docs/STATEMENT.md`, section "Margin statement").
#[derive(Clone, Debug)]
pub struct MarginCircuit {
    /// The statement.
    pub public: MarginPublic,
    /// The witness; `None` for key generation, where only the shape matters.
    pub private: Option<MarginPrivate>,
}

impl MarginCircuit {
    /// A circuit for key generation: the shape only, no witness.
    pub fn for_setup() -> Self {
        Self {
            public: MarginPublic {
                commitment: crate::Commitment(Fr::from(0u64)),
                status: crate::Status::Meets,
                tau_ppm: 0,
                prices: Default::default(),
                weights: Default::default(),
            },
            private: None,
        }
    }
}

/// The margin statement's public inputs as variables, allocated in the encoder's order.
pub struct MarginPublicVar {
    /// Input 0: the account commitment.
    pub commitment: FpVar<Fr>,
    /// Input 1: status bit, 1 = breaches.
    pub breaches: FpVar<Fr>,
    /// Input 2: τ in ppm.
    pub tau: FpVar<Fr>,
    /// Inputs 3..19.
    pub prices: PricesVar,
    /// Inputs 19..43.
    pub weights: WeightsVar,
}

impl MarginPublicVar {
    /// Allocates the public inputs by walking [`MarginPublic::to_field_elements`], the
    /// only place that orders them.
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn new_input(
        cs: ConstraintSystemRef<Fr>,
        public: &MarginPublic,
    ) -> Result<Self, SynthesisError> {
        let inputs = public
            .to_field_elements()
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<Vec<_>, _>>()?;
        type P = MarginPublic;
        Ok(Self {
            commitment: inputs[P::COMMITMENT].clone(),
            breaches: inputs[P::STATUS].clone(),
            tau: inputs[P::TAU].clone(),
            prices: PricesVar::from_inputs(&inputs[P::PRICES..P::WEIGHTS]),
            weights: WeightsVar::from_inputs(&inputs[P::WEIGHTS..]),
        })
    }
}

impl ConstraintSynthesizer<Fr> for MarginCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        // Witnesses (range checks: every signed slot is 64 boolean-constrained bits).
        let account =
            AccountVar::new_witness(cs.clone(), self.private.as_ref().map(|p| &p.account))?;

        // Public inputs.
        let public = MarginPublicVar::new_input(cs.clone(), &self.public)?;

        // Commitment integrity: the witness is the state inside the published commitment.
        CommitmentVar::of(&account)?.enforce_equal(&public.commitment)?;

        // Margin status: meets ⇔ H(τ) ≥ 0, and the public bit says which.
        // The status input is a bit (the encoder only produces 0 or 1; enforcing it here
        // keeps the statement meaningful for any input vector).
        public
            .breaches
            .mul_equals(&(&public.breaches - Fr::from(1u64)), &FpVar::zero())?;
        let h = account
            .health(&public.prices, &public.weights)?
            .at(&public.tau)?;
        let meets = is_nonnegative_bounded(&h, HEALTH_BOUND_BITS)?;
        (FpVar::from(meets) + &public.breaches).enforce_equal(&FpVar::one())?;
        Ok(())
    }
}
