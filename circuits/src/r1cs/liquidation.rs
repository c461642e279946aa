//! `LiquidationCircuit` (statement `zkmargin.liquidation.v2`): the move from a breaching
//! committed state to its post-liquidation state, revealing only what the liquidation
//! moves. Every relation between the public inputs is enforced here, so a verifier (or
//! a contract) only packs the statement and checks the pairing.

use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ethnum::I256;

use super::{
    enforce_in_range, is_nonnegative_bounded, AccountVar, CommitmentVar, PricesVar, SignedVar,
    WeightsVar,
};
use crate::{
    action_word, commitment::pow2, money_word, unit_gain, Account, Blinding, Commitment, Field, Fr,
    LiquidationAction, LiquidationPublic, LiquidationRules, LiquidationTerms, Side, BREACH_BITS,
    MARKETS, PPM, PRICE_SCALE, REQUIREMENT_BITS, ROUNDING_ALLOWANCE, TOKENS,
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
            quote_delta: 0,
            insurance_fee: 0,
            liquidator_fee: 0,
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
    /// Old commitment.
    pub old_commitment: FpVar<Fr>,
    /// New commitment.
    pub new_commitment: FpVar<Fr>,
    /// The action word ([`action_word`]).
    pub action_word: FpVar<Fr>,
    /// The money word ([`money_word`]).
    pub money_word: FpVar<Fr>,
    /// Prices.
    pub prices: PricesVar,
    /// Weights.
    pub weights: WeightsVar,
    /// Close factor, ppm.
    pub close_factor: FpVar<Fr>,
    /// Dust notional in price units.
    pub dust: FpVar<Fr>,
    /// Deep-breach ratio, ppm.
    pub deep_ratio: FpVar<Fr>,
    /// Penalty, ppm.
    pub penalty: FpVar<Fr>,
    /// Target buffer τ_target, ppm.
    pub target: FpVar<Fr>,
}

impl LiquidationPublicVar {
    /// Allocates the public inputs by walking [`LiquidationPublic::to_field_elements`].
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
        Ok(Self {
            old_commitment: x[P::OLD_COMMITMENT].clone(),
            new_commitment: x[P::NEW_COMMITMENT].clone(),
            action_word: x[P::ACTION_WORD].clone(),
            money_word: x[P::MONEY_WORD].clone(),
            prices: PricesVar::from_inputs(&x[P::PRICES..P::WEIGHTS]),
            weights: WeightsVar::from_inputs(&x[P::WEIGHTS..P::CLOSE_FACTOR]),
            close_factor: x[P::CLOSE_FACTOR].clone(),
            dust: x[P::DUST].clone(),
            deep_ratio: x[P::DEEP_RATIO].clone(),
            penalty: x[P::PENALTY].clone(),
            target: x[P::TARGET].clone(),
        })
    }
}

/// Decomposes `word` into `low` boolean witnesses (least significant first) and the
/// field element above them, `word = Σ b_i·2^i + 2^low·top`. Cost: `low + 1`
/// constraints. With every low field range-checked by its bits the decomposition is
/// unique, so the fields are exactly the encoder's; the top field is not range-checked:
/// its width is the encoder's (the statement's types, a contract's ABI types), which
/// is all a public value needs, since the prover cannot choose it.
fn unpack(word: &FpVar<Fr>, low: u32) -> Result<(Vec<Boolean<Fr>>, FpVar<Fr>), SynthesisError> {
    let cs = word.cs();
    let value = word.value().ok().map(|v| v.into_bigint());
    let bits = (0..low as usize)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .map(|v| v.get_bit(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let top = FpVar::new_witness(cs.clone(), || {
        let v = value.ok_or(SynthesisError::AssignmentMissing)? >> low;
        Ok(Fr::from_bigint(v).unwrap_or_default())
    })?;
    (Boolean::le_bits_to_fp(&bits)? + &top * pow2(low)).enforce_equal(word)?;
    Ok((bits, top))
}

/// The field `f` of an unpacked word, recombined (a linear combination, no constraint).
fn field(bits: &[Boolean<Fr>], f: Field) -> Result<FpVar<Fr>, SynthesisError> {
    Boolean::le_bits_to_fp(&bits[f.offset as usize..(f.offset + f.bits) as usize])
}

/// `1 − b` for a bit-valued variable.
fn not(b: &FpVar<Fr>) -> FpVar<Fr> {
    FpVar::one() - b
}

/// `Σ e_k·x_k` (one constraint per slot).
fn select(one_hot: &[FpVar<Fr>], xs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut acc = FpVar::zero();
    for (e, x) in one_hot.iter().zip(xs) {
        acc += e * x;
    }
    Ok(acc)
}

impl LiquidationCircuit {
    /// `[Δ·d ≥ S]`, the prover's hint for the minimality clause (checked either way).
    fn restores_hint(&self) -> Result<bool, SynthesisError> {
        let old = &self
            .private
            .as_ref()
            .ok_or(SynthesisError::AssignmentMissing)?
            .old;
        let p = &self.public;
        let health = old.health(&p.weights, &p.prices);
        let d = I256::from(p.action.price_in(&p.prices))
            * I256::from(unit_gain(&p.action, &p.weights, &p.rules));
        let s = -health.target(p.rules.target_ppm) + I256::from(ROUNDING_ALLOWANCE);
        Ok(I256::from(p.action.amount()) * d >= s)
    }
}

impl ConstraintSynthesizer<Fr> for LiquidationCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let ppm = Fr::from(PPM);
        let slots = TOKENS + MARKETS;

        // Witnesses (range checks: the old slots are 64 boolean-constrained bits each).
        let old = AccountVar::new_witness(cs.clone(), self.private.as_ref().map(|p| &p.old))?;
        let new_blinding = FpVar::new_witness(cs.clone(), || {
            self.private
                .as_ref()
                .map(|p| p.new_blinding.0)
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        let restores = FpVar::from(Boolean::new_witness(cs.clone(), || self.restores_hint())?);
        // The acted slot as a one-hot vector: 16 bits summing to 1, whose index is the
        // public slot (both linear constraints below).
        let acted = self.public.action.slot();
        let one_hot: Vec<FpVar<Fr>> = (0..slots)
            .map(|k| Boolean::new_witness(cs.clone(), || Ok(k == acted)).map(FpVar::from))
            .collect::<Result<_, _>>()?;

        // Public inputs, and the packed words unpacked (every field but the top one
        // range-checked by its bits).
        let p = LiquidationPublicVar::new_input(cs.clone(), &self.public)?;
        let action_low = action_word::LIQUIDATOR.offset;
        let (a_bits, _liquidator) = unpack(&p.action_word, action_low)?;
        let buys = FpVar::from(a_bits[action_word::BUYS.offset as usize].clone());
        let slot = field(&a_bits, action_word::SLOT)?;
        let amount = field(&a_bits, action_word::AMOUNT)?;
        let (m_bits, deficit) = unpack(&p.money_word, money_word::DEFICIT.offset)?;
        let value = field(&m_bits, money_word::VALUE)?;
        let penalty = field(&m_bits, money_word::PENALTY)?;
        // Δ ≥ 1: a liquidation moves something (Δ·Δ⁻¹ = 1).
        let _amount_inverse = amount.inverse()?;
        one_hot
            .iter()
            .fold(FpVar::zero(), |acc, e| acc + e)
            .enforce_equal(&FpVar::one())?;
        one_hot
            .iter()
            .enumerate()
            .fold(FpVar::zero(), |acc, (k, e)| acc + e * Fr::from(k as u64))
            .enforce_equal(&slot)?;
        let is_market: FpVar<Fr> = one_hot[TOKENS..]
            .iter()
            .fold(FpVar::zero(), |acc, e| acc + e);
        let is_token = not(&is_market);
        // σ = +1 when the acted balance is positive and shrinks, −1 when it is negative
        // and grows (linear in the bit).
        let sign = FpVar::one() - buys.double()?;

        // Commitment integrity (old state).
        CommitmentVar::of(&old)?.enforce_equal(&p.old_commitment)?;

        // Margin status: the old state breaches at τ = 1, within the size bounds that
        // keep every product below the field size: 0 ≤ R + K < 2^107 (both are sums of
        // non-negative terms below 2^163, so neither wraps and each is < 2^107) and
        // −2^127 ≤ H(1) < 0, hence −2^127 ≤ E = H(1) + 10^6·R < 2^127.
        let health = old.health(&p.prices, &p.weights)?;
        let (equity, requirement) = (&health.equity, &health.requirement);
        enforce_in_range(&(requirement + &health.haircut), REQUIREMENT_BITS as usize)?;
        let h1 = equity - requirement * ppm;
        enforce_in_range(
            &(FpVar::zero() - &h1 - Fr::from(1u64)),
            BREACH_BITS as usize,
        )?;
        // The target health T(τ) = E − τ·R − (τ − 10^6)·K: the target buffer scales
        // every requirement, the perpetuals' and the tokens' haircuts.
        // |T| < 2^127 + 2^32·2^107 + 2^32·2^107 < 2^141.
        let h_target = equity - &p.target * requirement - (&p.target - ppm) * &health.haircut;

        // Action: the acted slot's balance in the action's direction, its notional and
        // price; Δ ≤ held < Δ + 2^64, so the slot holds at least Δ on the side the word
        // names and moves toward zero without flipping (its offset stays in [0, 2^64)).
        let values: Vec<FpVar<Fr>> = old
            .tokens
            .iter()
            .chain(&old.positions)
            .map(|s| s.value.clone())
            .collect();
        let products: Vec<FpVar<Fr>> = health
            .token_values
            .iter()
            .chain(&health.notionals)
            .cloned()
            .collect();
        let price_list: Vec<FpVar<Fr>> = p
            .prices
            .tokens
            .iter()
            .chain(&p.prices.markets)
            .cloned()
            .collect();
        let held = &sign * select(&one_hot, &values)?;
        enforce_in_range(&(&held - &amount), 64)?;
        // held·p_a ∈ [0, 2^127].
        let notional = &sign * select(&one_hot, &products)?;
        let price = select(&one_hot, &price_list)?;
        // N = Δ·p_a < 2^64·2^64 (and < 2^92 once V is pinned below).
        let n = &amount * &price;
        let moved = &sign * &amount;
        let mut new_values = Vec::with_capacity(slots);
        let mut new_offsets = Vec::with_capacity(slots);
        for (k, e) in one_hot.iter().enumerate() {
            let shift = e * &moved;
            new_values.push(&values[k] - &shift);
            let old_offset = if k < TOKENS {
                &old.tokens[k].offset
            } else {
                &old.positions[k - TOKENS].offset
            };
            new_offsets.push(old_offset - shift);
        }

        // Terms: V = floor(N/10^9) when the account sells, ceil when it buys:
        // r = σ·(N − 10^9·V) ∈ [0, 10^9). V < 2^62 (its field of the word), so
        // 10^9·V + r < 2^92 does not wrap and V is the exact quotient.
        let r = &sign * (&n - &value * Fr::from(PRICE_SCALE));
        enforce_in_range(&r, 30)?;
        enforce_in_range(&(FpVar::constant(Fr::from(PRICE_SCALE - 1)) - &r), 30)?;
        // P = ceil(V·penalty/10^6): r2 = 10^6·P − V·penalty ∈ [0, 10^6); V·penalty < 2^94.
        let r2 = &penalty * ppm - &value * &p.penalty;
        enforce_in_range(&r2, 20)?;
        enforce_in_range(&(FpVar::constant(Fr::from(PPM - 1)) - &r2), 20)?;
        // Q = σ·V − P: +V − P when the account sells, −V − P when it buys.
        let quote_delta = &sign * &value - &penalty;

        // New quote: old + Q, or 0 on the deficit path where old + Q = −deficit.
        // Range-checked as a 64-bit slot.
        let raw_quote = &old.quote.value + &quote_delta;
        let has_deficit = FpVar::from(!deficit.is_zero()?);
        let new_quote_value = &raw_quote - &has_deficit * &raw_quote;
        (&has_deficit * (&raw_quote + &deficit)).enforce_equal(&FpVar::zero())?;
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
        let closed_sum = new_values.iter().try_fold(FpVar::zero(), |acc, v| {
            Ok::<_, SynthesisError>(acc + v.square()?)
        })?;
        let closed = FpVar::from(closed_sum.is_zero()?);
        (&has_deficit * not(&closed)).enforce_equal(&FpVar::zero())?;
        let closed_without_deficit = &closed * not(&has_deficit);
        (closed_without_deficit * not(&FpVar::from(new_quote.is_nonnegative.clone())))
            .enforce_equal(&FpVar::zero())?;

        // Close factor: Δ·10^6 ≤ close_factor·held, unless the slot's notional is below
        // the dust notional or the account is in deep breach (E < deep·R).
        // notional ∈ [0, 2^127], dust < 2^94: the difference is within ±2^128.
        let is_dust = FpVar::from(is_nonnegative_bounded(
            &(&p.dust - &notional - Fr::from(1u64)),
            128,
        )?);
        // deep·R < 2^32·2^107, |E| ≤ 2^127: within ±2^140.
        let is_deep = FpVar::from(is_nonnegative_bounded(
            &(&p.deep_ratio * requirement - equity - Fr::from(1u64)),
            140,
        )?);
        let full = &is_dust + &is_deep - &is_dust * &is_deep;
        let cap_scaled = &p.close_factor * &held; // < 2^32·2^64 = 2^96
        let amount_scaled = &amount * ppm; // < 2^84
        enforce_in_range(&(not(&full) * (&cap_scaled - &amount_scaled)), 96)?;

        // Progress per unit: f, the gain of H(τ_target) per unit of Δ divided by the
        // acted price (terms::unit_gain), is at least 1. The weights of the acted slot
        // are selected by the one-hot vector, so a market slot reads no token weight and
        // a token slot no maintenance fraction.
        let mmf = select(&one_hot[TOKENS..], &p.weights.maintenance)?;
        let w_asset = select(&one_hot[..TOKENS], &p.weights.asset)?;
        let w_liab = select(&one_hot[..TOKENS], &p.weights.liability)?;
        let repays = &buys * &is_token;
        let seizes = &is_token - &repays;
        let penalty_ppm = &p.penalty;
        // A seize removes the deposit's haircut 10^6 − w_a per unit, a repay the borrow's
        // w_l − 10^6; the target scales them by τ − 10^6.
        let tau_excess = &p.target - ppm;
        let seize_haircut = FpVar::constant(ppm) - &w_asset;
        let repay_haircut = &w_liab - ppm;
        let seize_gain = (&seize_haircut - penalty_ppm) * ppm + &tau_excess * &seize_haircut;
        let repay_gain = (&repay_haircut - penalty_ppm) * ppm + &tau_excess * &repay_haircut;
        let f = &p.target * &mmf - &is_market * penalty_ppm * ppm
            + &seizes * seize_gain
            + &repays * repay_gain;
        // f ≤ τ·mmf < 2^64, or 10^6·2^32 + 2^32·2^32 < 2^65 for a token: f − 1 is
        // range-checked to 65 bits.
        enforce_in_range(&(&f - Fr::from(1u64)), 65)?;
        let d = &price * &f; // < 2^129

        // Minimality: with S = −T(τ_target) + the rounding allowance (< 2^141), Δ is the
        // smallest amount with Δ·d ≥ S — (Δ−1)·d < S — and when Δ·d < S (the hint says
        // it does not restore) Δ is the maximum allowed: the whole slot when exempt,
        // else the largest Δ with Δ·10^6 ≤ close_factor·held.
        let shortfall = FpVar::constant(Fr::from(ROUNDING_ALLOWANCE)) - &h_target;
        let gain = &amount * &d; // < 2^193
                                 // S − (Δ−1)·d − 1 ∈ [0, 2^141): negative values wrap far above 2^141.
        enforce_in_range(&(&shortfall - &gain + &d - Fr::from(1u64)), 141)?;
        // Restores ⇒ Δ·d − S ∈ [0, 2^129) (it is below d by the previous check).
        enforce_in_range(&(&restores * (&gain - &shortfall)), 129)?;
        let short_full = not(&restores) * &full;
        (&short_full * (&held - &amount)).enforce_equal(&FpVar::zero())?;
        let short_capped = not(&restores) - &short_full;
        enforce_in_range(
            &(short_capped * (&amount_scaled + ppm - &cap_scaled - Fr::from(1u64))),
            85,
        )?;

        // Progress, exactly: a close strictly improves the health ratio,
        // E'·R > E·R' ⟺ dE·R + E·dR > 0; a token action strictly raises the equity.
        // Waived on the deficit path, and for a close in deep breach (where no close
        // can lift a ratio below penalty/mmf).
        //   dE = Q·10^21 − [close] σ·N·10^12 − [seize] N·w_a·10^6 + [repay] N·w_l·10^6
        //   dR = N·mmf (0 for a token: its mmf reads 0)
        // Budget: for a close dE = −(P·10^21 + r·10^12), |dE| < 2^133, and
        // 0 ≤ dR ≤ R < 2^107 (the acted position's share of R), so
        // |dE·R + E·dR| < 2^240 + 2^234; for a token |dE| < 2^63·2^70 + 2^92·2^52.
        let scale_12 = Fr::from(PPM) * ppm;
        let signed_n = &sign * &n;
        let de = &quote_delta * (Fr::from(PRICE_SCALE) * scale_12)
            - &is_market * &signed_n * scale_12
            - (&seizes * (&n * &w_asset) - &repays * (&n * &w_liab)) * ppm;
        let dr = &n * &mmf;
        let ratio = &de * requirement + equity * &dr;
        let progress = &de + &is_market * (ratio - &de);
        let guard = not(&has_deficit) * not(&(&is_market * &is_deep));
        enforce_in_range(&(guard * (progress - Fr::from(1u64))), 241)?;

        // Nonce + 1, within 64 bits (a nonce at 2^64 − 1 cannot move on), and a fresh
        // blinding: (b' − b)·inv = 1 has a solution iff b' ≠ b.
        let new_nonce = &old.nonce + Fr::from(1u64);
        enforce_in_range(&new_nonce, 64)?;
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
