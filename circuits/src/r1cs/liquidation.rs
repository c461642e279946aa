//! `LiquidationCircuit`: the move from a breaching committed state to its
//! post-liquidation state, revealing only what the liquidation moves.

use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::{
    enforce_in_range, is_nonnegative_bounded, AccountVar, CommitmentVar, PricesVar, SignedVar,
    WeightsVar,
};
use crate::{
    commitment::pow2, Account, Blinding, Commitment, Fr, LiquidationAction, LiquidationPublic,
    LiquidationRules, LiquidationTerms, Side, EQUITY_BITS, GAIN_BITS, MARKETS, PPM,
    REQUIREMENT_BITS, TOKENS,
};

/// The witness of the liquidation statement.
#[derive(Clone)]
pub struct LiquidationPrivate {
    /// The breaching state inside the old commitment.
    pub old: Account,
    /// The blinding of the new state.
    pub new_blinding: Blinding,
}

impl std::fmt::Debug for LiquidationPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiquidationPrivate").finish_non_exhaustive()
    }
}

/// The liquidation circuit (`docs/STATEMENT.md`, "Liquidation statement").
#[derive(Clone, Debug)]
pub struct LiquidationCircuit {
    /// The statement.
    pub public: LiquidationPublic,
    /// The witness; `None` for key generation.
    pub private: Option<LiquidationPrivate>,
}

impl LiquidationCircuit {
    /// A circuit for key generation: the shape only, no witness.
    pub fn for_setup() -> Self {
        let zero = LiquidationTerms {
            execution_value: 0,
            penalty: 0,
            insurance_fee: 0,
            liquidator_fee: 0,
            quote_delta: 0,
            equity_delta: 0.into(),
            requirement_delta: 0.into(),
            health_gain: 0.into(),
            prev_health_gain: 0.into(),
        };
        Self {
            public: LiquidationPublic {
                old_commitment: Commitment(Fr::from(0u64)),
                new_commitment: Commitment(Fr::from(0u64)),
                liquidator: 0,
                action: LiquidationAction::Close {
                    market: 0,
                    side: Side::Long,
                    amount: 0,
                },
                terms: zero,
                deficit: 0,
                prices: Default::default(),
                weights: Default::default(),
                rules: LiquidationRules::default(),
            },
            private: None,
        }
    }
}

/// The liquidation statement's public inputs, allocated in the encoder's order.
pub struct LiquidationPublicVar {
    /// 0: old commitment.
    pub old_commitment: FpVar<Fr>,
    /// 1: new commitment.
    pub new_commitment: FpVar<Fr>,
    /// 3: amount Δ.
    pub amount: FpVar<Fr>,
    /// 4..20: signed selector per slot (tokens, then markets).
    pub selector: Vec<FpVar<Fr>>,
    /// 20: quote delta.
    pub quote_delta: FpVar<Fr>,
    /// 21: deficit.
    pub deficit: FpVar<Fr>,
    /// 22: deficit flag.
    pub has_deficit: FpVar<Fr>,
    /// 23: equity delta.
    pub equity_delta: FpVar<Fr>,
    /// 24: requirement delta.
    pub requirement_delta: FpVar<Fr>,
    /// 25: health gain G(Δ).
    pub health_gain: FpVar<Fr>,
    /// 26: health gain G(Δ − 1).
    pub prev_health_gain: FpVar<Fr>,
    /// 27: the action is a close.
    pub is_close: FpVar<Fr>,
    /// 28..44.
    pub prices: PricesVar,
    /// 44..68.
    pub weights: WeightsVar,
    /// 68: close factor, ppm.
    pub close_factor: FpVar<Fr>,
    /// 69: dust notional in price units.
    pub dust: FpVar<Fr>,
    /// 70: deep-breach ratio, ppm.
    pub deep_ratio: FpVar<Fr>,
}

impl LiquidationPublicVar {
    /// Allocates the public inputs by walking [`LiquidationPublic::to_field_elements`].
    /// Input 2 (the liquidator) appears in no constraint; Groth16 binds every public
    /// input regardless (arkworks' QAP reduction gives each input its own term).
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn new_input(
        cs: ConstraintSystemRef<Fr>,
        public: &LiquidationPublic,
    ) -> Result<Self, SynthesisError> {
        let x = public
            .to_field_elements()
            .iter()
            .map(|v| FpVar::new_input(cs.clone(), || Ok(*v)))
            .collect::<Result<Vec<_>, _>>()?;
        type P = LiquidationPublic;
        let slots = TOKENS + MARKETS;
        Ok(Self {
            old_commitment: x[P::OLD_COMMITMENT].clone(),
            new_commitment: x[P::NEW_COMMITMENT].clone(),
            amount: x[P::AMOUNT].clone(),
            selector: x[P::SELECTORS..P::SELECTORS + slots].to_vec(),
            quote_delta: x[P::QUOTE_DELTA].clone(),
            deficit: x[P::DEFICIT].clone(),
            has_deficit: x[P::HAS_DEFICIT].clone(),
            equity_delta: x[P::EQUITY_DELTA].clone(),
            requirement_delta: x[P::REQUIREMENT_DELTA].clone(),
            health_gain: x[P::HEALTH_GAIN].clone(),
            prev_health_gain: x[P::PREV_HEALTH_GAIN].clone(),
            is_close: x[P::IS_CLOSE].clone(),
            prices: PricesVar::from_inputs(&x[P::PRICES..P::WEIGHTS]),
            weights: WeightsVar::from_inputs(&x[P::WEIGHTS..P::CLOSE_FACTOR]),
            close_factor: x[P::CLOSE_FACTOR].clone(),
            dust: x[P::DUST].clone(),
            deep_ratio: x[P::DEEP_RATIO].clone(),
        })
    }
}

/// `1 − b` for a bit-valued variable.
fn not(b: &FpVar<Fr>) -> FpVar<Fr> {
    FpVar::one() - b
}

/// Enforces `b ∈ {0, 1}`.
fn enforce_bit(b: &FpVar<Fr>) -> Result<(), SynthesisError> {
    b.mul_equals(&(b - Fr::from(1u64)), &FpVar::zero())
}

impl ConstraintSynthesizer<Fr> for LiquidationCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let ppm = Fr::from(PPM);

        // Witnesses (range checks: the old slots are 64 boolean-constrained bits each).
        let old = AccountVar::new_witness(cs.clone(), self.private.as_ref().map(|p| &p.old))?;
        let new_blinding = FpVar::new_witness(cs.clone(), || {
            self.private
                .as_ref()
                .map(|p| p.new_blinding.0)
                .ok_or(SynthesisError::AssignmentMissing)
        })?;

        // Public inputs. The two flags are bits (the encoder makes them so; enforcing
        // keeps the statement meaningful for any input vector).
        let p = LiquidationPublicVar::new_input(cs.clone(), &self.public)?;
        enforce_bit(&p.has_deficit)?;
        enforce_bit(&p.is_close)?;

        // Commitment integrity (old state).
        CommitmentVar::of(&old)?.enforce_equal(&p.old_commitment)?;

        // Margin status: the old state breaches at τ = 1, within the size bounds that
        // keep the ratio comparison below the field size.
        let health = old.health(&p.prices, &p.weights)?;
        let (equity, requirement) = (&health.equity, &health.requirement);
        enforce_in_range(&(equity + pow2(EQUITY_BITS)), EQUITY_BITS as usize + 1)?;
        enforce_in_range(requirement, REQUIREMENT_BITS as usize)?;
        // h = H(1) ∈ (−2^127, 2^127); h < 0 ⇔ −h − 1 ∈ [0, 2^127).
        let h = equity - requirement * ppm;
        enforce_in_range(&(FpVar::zero() - &h - Fr::from(1u64)), 127)?;

        // Action: the acted slot's balance in the action's direction and its notional.
        let values: Vec<&FpVar<Fr>> = old
            .tokens
            .iter()
            .chain(&old.positions)
            .map(|s| &s.value)
            .collect();
        let products: Vec<&FpVar<Fr>> = health
            .token_values
            .iter()
            .chain(&health.notionals)
            .collect();
        let mut held = FpVar::zero();
        let mut notional = FpVar::zero();
        let mut new_offsets = Vec::with_capacity(TOKENS + MARKETS);
        let mut closed_sum = FpVar::zero();
        for (k, sigma) in p.selector.iter().enumerate() {
            held += sigma * values[k];
            notional += sigma * products[k];
            // The slot after the action: old − σ·Δ (moves toward zero, see below).
            let moved = sigma * &p.amount;
            let new_value = values[k] - &moved;
            closed_sum += new_value.square()?;
            let old_offset = if k < TOKENS {
                &old.tokens[k].offset
            } else {
                &old.positions[k - TOKENS].offset
            };
            new_offsets.push(old_offset - moved);
        }
        // Δ ≤ held < Δ + 2^64: with Δ ≥ 1 the slot holds at least Δ on the side the
        // action names, so the new balance lies between 0 and the old one (no flip, no
        // overflow) and its offset stays in [0, 2^64).
        enforce_in_range(&(&held - &p.amount), 64)?;

        // New quote: old + quote delta, or 0 on the deficit path where
        // old + quote delta = −deficit. Range-checked as a 64-bit slot.
        let raw_quote = &old.quote.value + &p.quote_delta;
        let new_quote_value = &raw_quote - &p.has_deficit * &raw_quote;
        (&p.has_deficit * (&raw_quote + &p.deficit)).enforce_equal(&FpVar::zero())?;
        let new_quote = SignedVar::new_witness(cs.clone(), || {
            let old = &self
                .private
                .as_ref()
                .ok_or(SynthesisError::AssignmentMissing)?
                .old;
            Ok(if self.public.deficit > 0 {
                0
            } else {
                // An overflow cannot satisfy the range check; saturate to keep a witness.
                old.quote.saturating_add(self.public.terms.quote_delta)
            })
        })?;
        new_quote.value.enforce_equal(&new_quote_value)?;

        // Deficit: revealed only when everything is closed, and always then if the quote
        // is negative. Σ new_k² < 16·2^126 does not wrap, so it is 0 iff all are 0.
        let closed = FpVar::from(closed_sum.is_zero()?);
        (&p.has_deficit * not(&closed)).enforce_equal(&FpVar::zero())?;
        let closed_without_deficit = &closed * not(&p.has_deficit);
        (closed_without_deficit * not(&FpVar::from(new_quote.is_nonnegative.clone())))
            .enforce_equal(&FpVar::zero())?;

        // Close factor: Δ·10^6 ≤ close_factor·held, unless the slot's notional is below
        // the dust notional or the account is in deep breach (E < deep·R).
        // notional ∈ [0, 2^127], dust < 2^94: the difference is within ±2^128.
        let is_dust = FpVar::from(is_nonnegative_bounded(
            &(&p.dust - &notional - Fr::from(1u64)),
            128,
        )?);
        // deep·R < 2^32·2^106, |E| < 2^125: within ±2^139.
        let is_deep = FpVar::from(is_nonnegative_bounded(
            &(&p.deep_ratio * requirement - equity - Fr::from(1u64)),
            139,
        )?);
        let full = &is_dust + &is_deep - &is_dust * &is_deep;
        let cap_scaled = &p.close_factor * &held; // < 2^96
        let amount_scaled = &p.amount * ppm; // < 2^84
        enforce_in_range(&(not(&full) * (&cap_scaled - &amount_scaled)), 96)?;

        // Minimality: if Δ restores health (h + G(Δ) ≥ 0) then Δ − 1 does not
        // (h + G(Δ−1) < 0); otherwise Δ is the maximum allowed: the whole slot when
        // exempt, else the largest Δ with Δ·10^6 ≤ close_factor·held.
        // |h| < 2^127, |G| < 2^126.
        let gain_test_bits = GAIN_BITS as usize + 2; // |h + G| < 2^127 + 2^126 < 2^128
        let restores = FpVar::from(is_nonnegative_bounded(
            &(&h + &p.health_gain),
            gain_test_bits,
        )?);
        enforce_in_range(
            &(&restores * (FpVar::zero() - &h - &p.prev_health_gain - Fr::from(1u64))),
            gain_test_bits,
        )?;
        let short_full = not(&restores) * &full;
        (&short_full * (&held - &p.amount)).enforce_equal(&FpVar::zero())?;
        let short_capped = not(&restores) - &short_full;
        enforce_in_range(
            &(short_capped * (&amount_scaled + ppm - &cap_scaled - Fr::from(1u64))),
            85,
        )?;

        // Health ratio strictly improves for a close: E'·R > E·R' ⇔ dE·R + E·dR > 0,
        // |·| < 2·2^125·2^106 = 2^232. Waived in deep breach and on the deficit path;
        // a seize's improvement (dE > 0 at constant R) is a public check of its terms.
        let d = &p.equity_delta * requirement + equity * &p.requirement_delta;
        let guard = &p.is_close * (not(&is_deep) * not(&p.has_deficit));
        enforce_in_range(&(guard * (d - Fr::from(1u64))), 232)?;

        // Nonce + 1 and a fresh blinding.
        let new_nonce = &old.nonce + Fr::from(1u64);
        // (b' − b)·inv = 1 has a solution iff b' ≠ b.
        let _inverse = (&new_blinding - &old.blinding).inverse()?;

        // Commitment integrity (new state).
        let mut offsets: Vec<FpVar<Fr>> = new_offsets[..TOKENS].to_vec();
        offsets.push(new_quote.offset.clone());
        offsets.extend_from_slice(&new_offsets[TOKENS..]);
        CommitmentVar::of_parts(&old.id, &new_nonce, &offsets, &new_blinding)?
            .enforce_equal(&p.new_commitment)?;
        Ok(())
    }
}
