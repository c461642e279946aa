//! The liquidation statement, natively: actions, their public terms, the rules, and the
//! transition of the private state. The executable specification of
//! `r1cs::LiquidationCircuit` (`docs/STATEMENT.md`, "Liquidation statement").

use ethnum::{I256, U256};
use serde::{Deserialize, Serialize};

use crate::{
    Account, Blinding, Commitment, Fr, Health, MarginWeights, Prices, RiskParams, MARKETS, PPM,
    PRICE_SCALE, TOKENS,
};

/// Circuit id and version of the liquidation statement.
pub const LIQUIDATION_CIRCUIT_ID: &str = "zkmargin.liquidation.v1";
/// Public inputs of the liquidation circuit (the constant 1 not counted).
pub const LIQUIDATION_NUM_PUBLIC_INPUTS: usize = LiquidationPublic::PER_PROOF_INPUTS + 43;

/// `|equity| < 2^EQUITY_BITS` (10^-21 quote units) for an account this circuit liquidates.
pub const EQUITY_BITS: u32 = 125;
/// `requirement < 2^REQUIREMENT_BITS` (10^-15 quote units) likewise.
pub const REQUIREMENT_BITS: u32 = 106;
/// `|health gain| < 2^GAIN_BITS` (10^-21 quote units) for an action this circuit proves.
pub const GAIN_BITS: u32 = 126;

/// The side of a perpetual position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Position > 0.
    Long,
    /// Position < 0.
    Short,
}

/// What a liquidation moves. Revealed by the proof; everything else stays private.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum LiquidationAction {
    /// Close `amount` of the `side` position in perpetual market `market`: the
    /// liquidator takes it over at the oracle price.
    Close {
        /// Market slot.
        market: usize,
        /// Side of the liquidated position.
        side: Side,
        /// Base atomic units closed, ≥ 1.
        amount: u64,
    },
    /// Seize `amount` of the deposit in token slot `token`: the liquidator buys it at
    /// the oracle price less the penalty.
    Seize {
        /// Token slot.
        token: usize,
        /// Token atomic units seized, ≥ 1.
        amount: u64,
    },
}

impl LiquidationAction {
    /// Units moved.
    pub fn amount(&self) -> u64 {
        match *self {
            LiquidationAction::Close { amount, .. } | LiquidationAction::Seize { amount, .. } => {
                amount
            }
        }
    }

    /// The same action with another amount.
    pub fn with_amount(&self, amount: u64) -> Self {
        match *self {
            LiquidationAction::Close { market, side, .. } => LiquidationAction::Close {
                market,
                side,
                amount,
            },
            LiquidationAction::Seize { token, .. } => LiquidationAction::Seize { token, amount },
        }
    }

    /// The signed selector over the 16 slots (tokens, then markets): +1 on the acted
    /// slot of a long close or a seize, −1 for a short close, 0 elsewhere. The slot's
    /// new balance is `old − selector·amount`.
    pub fn selector(&self) -> [i8; TOKENS + MARKETS] {
        let mut s = [0i8; TOKENS + MARKETS];
        match *self {
            LiquidationAction::Close { market, side, .. } => {
                s[TOKENS + market] = match side {
                    Side::Long => 1,
                    Side::Short => -1,
                }
            }
            LiquidationAction::Seize { token, .. } => s[token] = 1,
        }
        s
    }
}

/// Why an action or a transition is not a legal liquidation. Each variant is a clause
/// of the statement; the circuit is unsatisfiable exactly when one applies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LiquidationError {
    /// The action moves nothing.
    #[error("the liquidation amount must be at least 1")]
    ZeroAmount,
    /// The action names a slot the risk parameters do not define.
    #[error("{kind} slot {slot} is not defined by the risk parameters")]
    UnknownSlot {
        /// `market` or `token`.
        kind: &'static str,
        /// The slot.
        slot: usize,
    },
    /// Seizing this collateral would not raise the account's equity.
    #[error("seizing token slot {token} lowers the account's equity (asset weight ≥ 1 − penalty): not a liquidation")]
    SeizeDoesNotImprove {
        /// The token slot.
        token: usize,
    },
    /// The action's terms exceed what the circuit can represent.
    #[error("the liquidation is too large for the circuit: {0}")]
    TooLarge(&'static str),
    /// The account is above the circuit's size bound.
    #[error("the account is too large for the liquidation circuit ({0})")]
    AccountTooLarge(&'static str),
    /// The account does not breach at τ = 1.
    #[error("the account meets its maintenance margin: it cannot be liquidated")]
    NotInBreach,
    /// The acted slot holds less than the amount, or the other side.
    #[error(
        "the acted slot holds {held} in the action's direction, less than the amount {amount}"
    )]
    ExceedsBalance {
        /// Units held in the action's direction (negative: the other side).
        held: i128,
        /// The amount.
        amount: u64,
    },
    /// More than the close factor of the slot without a dust or deep-breach exemption.
    #[error("amount {amount} exceeds the close factor: at most {max} may be liquidated at once")]
    ExceedsCloseFactor {
        /// The amount.
        amount: u64,
        /// The close-factor maximum.
        max: u64,
    },
    /// A smaller amount already restores health (over-liquidation).
    #[error("amount {amount} is more than needed: {} already restores health", amount - 1)]
    NotMinimal {
        /// The amount.
        amount: u64,
    },
    /// The amount does not restore health yet is below the allowed maximum.
    #[error("amount {amount} neither restores health nor reaches the allowed maximum {max}")]
    NotMaximal {
        /// The amount.
        amount: u64,
        /// The allowed maximum.
        max: u64,
    },
    /// The health ratio equity/requirement does not strictly improve.
    #[error("the account's health ratio does not improve")]
    RatioNotImproved,
    /// The quote balance after the action does not fit 64 bits.
    #[error("the quote balance after the action overflows 64 bits")]
    QuoteOverflow,
    /// The claimed deficit is not the one the state implies.
    #[error("deficit {claimed} claimed, the state implies {actual}")]
    WrongDeficit {
        /// Deficit in the statement.
        claimed: u64,
        /// Deficit the transition produces.
        actual: u64,
    },
    /// The nonce cannot be incremented.
    #[error("the account nonce is at its maximum")]
    NonceExhausted,
    /// The new blinding equals the old one.
    #[error("the new state must have a fresh blinding")]
    BlindingReused,
}

/// The public amounts of an action at given prices and parameters, all derived by
/// [`LiquidationTerms::of`]; rounding always goes against the liquidated account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidationTerms {
    /// Quote units the position or collateral is worth at the oracle price: floor for
    /// what the account sells (long close, seize), ceil for what it buys (short close).
    pub execution_value: u64,
    /// `ceil(execution_value · penalty_ppm / 1e6)`, paid by the account.
    pub penalty: u64,
    /// `floor(penalty · insurance_share_ppm / 1e6)`, credited to the insurance fund.
    pub insurance_fee: u64,
    /// `penalty − insurance_fee`, credited to the liquidator.
    pub liquidator_fee: u64,
    /// Change of the quote balance: `+V − P` (long close, seize) or `−V − P` (short close).
    pub quote_delta: i64,
    /// Change of equity (10^-21 quote units), exact.
    #[serde(with = "i256_string")]
    pub equity_delta: I256,
    /// Decrease of the maintenance requirement (10^-15 quote units), exact.
    #[serde(with = "i256_string")]
    pub requirement_delta: I256,
    /// Change of `H(1)`: `equity_delta + 10^6 · requirement_delta`.
    #[serde(with = "i256_string")]
    pub health_gain: I256,
    /// The same for `amount − 1` (0 when the amount is 1): the minimality witness.
    #[serde(with = "i256_string")]
    pub prev_health_gain: I256,
}

impl LiquidationTerms {
    /// The terms of `action` at `prices` under `params`.
    ///
    /// # Errors
    /// [`LiquidationError::ZeroAmount`], [`LiquidationError::UnknownSlot`],
    /// [`LiquidationError::SeizeDoesNotImprove`], [`LiquidationError::TooLarge`].
    pub fn of(
        action: &LiquidationAction,
        prices: &Prices,
        params: &RiskParams,
    ) -> Result<Self, LiquidationError> {
        if action.amount() == 0 {
            return Err(LiquidationError::ZeroAmount);
        }
        match *action {
            LiquidationAction::Close { market, .. } if market >= params.markets.len() => {
                return Err(LiquidationError::UnknownSlot {
                    kind: "market",
                    slot: market,
                })
            }
            LiquidationAction::Seize { token, .. } if token >= params.tokens.len() => {
                return Err(LiquidationError::UnknownSlot {
                    kind: "token",
                    slot: token,
                })
            }
            _ => {}
        }
        let now = raw_terms(action, prices, params, action.amount())?;
        let prev = raw_terms(action, prices, params, action.amount() - 1)?;
        let (equity_delta, requirement_delta) = (now.equity_delta, now.requirement_delta);
        let (gain, prev_gain) = (now.health_gain(), prev.health_gain());
        if let LiquidationAction::Seize { token, .. } = *action {
            if equity_delta <= 0 {
                return Err(LiquidationError::SeizeDoesNotImprove { token });
            }
        }
        let penalty = now.penalty;
        let insurance_fee = (u128::from(penalty)
            * u128::from(params.liquidation.insurance_share_ppm)
            / u128::from(PPM)) as u64;
        let bound = |x: I256, bits: u32| x.unsigned_abs() < U256::ONE << bits;
        if !bound(equity_delta, EQUITY_BITS) {
            return Err(LiquidationError::TooLarge("equity change ≥ 2^125"));
        }
        if !(requirement_delta >= 0 && bound(requirement_delta, REQUIREMENT_BITS)) {
            return Err(LiquidationError::TooLarge("requirement change ≥ 2^106"));
        }
        if !bound(gain, GAIN_BITS) || !bound(prev_gain, GAIN_BITS) {
            return Err(LiquidationError::TooLarge("health change ≥ 2^126"));
        }
        Ok(Self {
            execution_value: now.value,
            penalty,
            insurance_fee,
            liquidator_fee: penalty - insurance_fee,
            quote_delta: now.quote_delta,
            equity_delta,
            requirement_delta,
            health_gain: gain,
            prev_health_gain: prev_gain,
        })
    }
}

/// The amounts of `action` with `amount` units, before bounds checks.
struct RawTerms {
    value: u64,
    penalty: u64,
    quote_delta: i64,
    /// 10^-21 quote units.
    equity_delta: I256,
    /// 10^-15 quote units.
    requirement_delta: I256,
}

impl RawTerms {
    /// Change of H(1) = equity − 10^6·requirement.
    fn health_gain(&self) -> I256 {
        self.equity_delta + I256::from(PPM) * self.requirement_delta
    }
}

fn raw_terms(
    action: &LiquidationAction,
    prices: &Prices,
    params: &RiskParams,
    amount: u64,
) -> Result<RawTerms, LiquidationError> {
    let (price, buys) = match *action {
        LiquidationAction::Close { market, side, .. } => {
            (prices.markets[market], side == Side::Short)
        }
        LiquidationAction::Seize { token, .. } => (prices.tokens[token], false),
    };
    // Price units (10^-9 quote units); < 2^128.
    let notional = u128::from(amount) * u128::from(price);
    let scale = u128::from(PRICE_SCALE);
    let value = if buys {
        notional.div_ceil(scale)
    } else {
        notional / scale
    };
    let value =
        u64::try_from(value)
            .ok()
            .filter(|v| *v < 1 << 62)
            .ok_or(LiquidationError::TooLarge(
                "execution value ≥ 2^62 quote units",
            ))?;
    let penalty = (u128::from(value) * u128::from(params.liquidation.penalty_ppm))
        .div_ceil(u128::from(PPM)) as u64;
    // value, penalty < 2^62 (penalty ≤ value): the sums below fit an i64.
    let quote_delta = if buys {
        -((value + penalty) as i64)
    } else {
        (value - penalty) as i64
    };
    let q = I256::from(quote_delta) * I256::from(QUOTE_SCALE);
    let notional = I256::from(notional);
    let (equity_delta, requirement_delta) = match *action {
        LiquidationAction::Close { market, side, .. } => {
            let position_change = if side == Side::Long {
                -notional
            } else {
                notional
            };
            let mmf = I256::from(params.markets[market].maintenance_margin_ppm);
            (q + position_change * I256::from(PPM * PPM), notional * mmf)
        }
        LiquidationAction::Seize { token, .. } => {
            let w = I256::from(params.tokens[token].asset_weight_ppm);
            (q - notional * w * I256::from(PPM), I256::ZERO)
        }
    };
    Ok(RawTerms {
        value,
        penalty,
        quote_delta,
        equity_delta,
        requirement_delta,
    })
}

/// 10^21: quote atomic units → equity units.
const QUOTE_SCALE: u128 = (PRICE_SCALE as u128) * (PPM as u128) * (PPM as u128);

/// The liquidation rules the circuit takes as public inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiquidationRules {
    /// Close factor, ppm.
    pub close_factor_ppm: u32,
    /// Dust notional, quote atomic units.
    pub dust_notional: u64,
    /// Deep-breach health ratio, ppm.
    pub deep_breach_ratio_ppm: u32,
}

impl From<&RiskParams> for LiquidationRules {
    fn from(p: &RiskParams) -> Self {
        Self {
            close_factor_ppm: p.liquidation.close_factor_ppm,
            dust_notional: p.liquidation.dust_notional,
            deep_breach_ratio_ppm: p.liquidation.deep_breach_ratio_ppm,
        }
    }
}

/// The liquidation statement: "the account inside `old_commitment` breaches at `prices`
/// under the published parameters, and `new_commitment` holds exactly that account
/// after `action` with `terms`, nonce + 1 and a fresh blinding; the action is legal
/// (close factor, minimality, ratio improvement) and `deficit` is what is left unpaid."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationPublic {
    /// Commitment of the breaching state.
    pub old_commitment: Commitment,
    /// Commitment of the state after the liquidation.
    pub new_commitment: Commitment,
    /// The venue's id of the liquidator the fee is owed to (bound by the proof).
    pub liquidator: u64,
    /// The action.
    pub action: LiquidationAction,
    /// Its public terms.
    pub terms: LiquidationTerms,
    /// Quote units the account cannot pay after everything is closed (0 otherwise).
    pub deficit: u64,
    /// Oracle prices per slot.
    pub prices: Prices,
    /// Risk weights per slot.
    pub weights: MarginWeights,
    /// Close factor, dust and deep-breach thresholds.
    pub rules: LiquidationRules,
}

impl LiquidationPublic {
    /// Inputs that differ per proof (0..28).
    pub const PER_PROOF_INPUTS: usize = 12 + TOKENS + MARKETS;

    /// The public inputs in circuit order (`docs/STATEMENT.md`, "Liquidation statement"):
    ///
    /// | index | input | width |
    /// |---|---|---|
    /// | 0, 1 | old, new commitment | field |
    /// | 2 | liquidator id | 64 bits |
    /// | 3 | amount Δ | 64 bits |
    /// | 4..20 | selector σ per slot (tokens, markets) | −1, 0, 1 |
    /// | 20 | quote delta | signed 63 bits |
    /// | 21 | deficit | 64 bits |
    /// | 22 | deficit flag | bit |
    /// | 23 | equity delta | signed 125 bits |
    /// | 24 | requirement delta | 106 bits |
    /// | 25 | health gain G(Δ) | signed 126 bits |
    /// | 26 | health gain G(Δ − 1) | signed 126 bits |
    /// | 27 | action is a close | bit |
    /// | 28..44 | prices | 64 bits |
    /// | 44..68 | weights | 32 bits |
    /// | 68 | close factor, ppm | 32 bits |
    /// | 69 | dust notional ×10^9 (price units) | 94 bits |
    /// | 70 | deep-breach ratio, ppm | 32 bits |
    pub fn to_field_elements(&self) -> [Fr; LIQUIDATION_NUM_PUBLIC_INPUTS] {
        let Self {
            old_commitment,
            new_commitment,
            liquidator,
            action,
            terms,
            deficit,
            prices,
            weights,
            rules,
        } = self;
        let LiquidationRules {
            close_factor_ppm,
            dust_notional,
            deep_breach_ratio_ppm,
        } = rules;
        let mut out = Vec::with_capacity(LIQUIDATION_NUM_PUBLIC_INPUTS);
        out.push(old_commitment.0);
        out.push(new_commitment.0);
        out.push(Fr::from(*liquidator));
        out.push(Fr::from(action.amount()));
        out.extend(action.selector().iter().map(|s| fr_i128(i128::from(*s))));
        out.push(fr_i128(i128::from(terms.quote_delta)));
        out.push(Fr::from(*deficit));
        out.push(Fr::from(*deficit > 0));
        out.push(crate::fr_from_i256(terms.equity_delta));
        out.push(crate::fr_from_i256(terms.requirement_delta));
        out.push(crate::fr_from_i256(terms.health_gain));
        out.push(crate::fr_from_i256(terms.prev_health_gain));
        out.push(Fr::from(matches!(action, LiquidationAction::Close { .. })));
        out.extend(crate::MarginPublic::shared_field_elements(prices, weights));
        out.push(Fr::from(*close_factor_ppm));
        out.push(Fr::from(
            u128::from(*dust_notional) * u128::from(PRICE_SCALE),
        ));
        out.push(Fr::from(*deep_breach_ratio_ppm));
        out.try_into()
            .expect("the table above has LIQUIDATION_NUM_PUBLIC_INPUTS rows")
    }
}

impl LiquidationPublic {
    /// SHA-256 of the statement: the tag `zkmargin/liquidation-statement/v1` and the 71
    /// public inputs as 32-byte big-endian field elements. Settlement keys replays on
    /// it — never on proof bytes, which Groth16 lets anyone re-randomize.
    pub fn digest(&self) -> [u8; 32] {
        use ark_ff::{BigInteger, PrimeField};
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let tag: &[u8] = b"zkmargin/liquidation-statement/v1";
        h.update([tag.len() as u8]);
        h.update(tag);
        for x in self.to_field_elements() {
            h.update(x.into_bigint().to_bytes_be());
        }
        h.finalize().into()
    }
}

fn fr_i128(x: i128) -> Fr {
    let m = Fr::from(x.unsigned_abs());
    if x < 0 {
        -m
    } else {
        m
    }
}

/// The state after `action` with `terms` (nonce and blinding unchanged) and the deficit
/// it leaves: when every token and position is zero afterwards and the quote balance
/// is negative, the deficit is that debt and the new quote balance is zero.
///
/// # Errors
/// [`LiquidationError::ExceedsBalance`] when the acted slot holds less than the
/// amount in the action's direction; [`LiquidationError::QuoteOverflow`].
pub fn state_after(
    old: &Account,
    action: &LiquidationAction,
    terms: &LiquidationTerms,
) -> Result<(Account, u64), LiquidationError> {
    let amount = action.amount();
    let held = acted_balance(old, action);
    if held < i128::from(amount) {
        return Err(LiquidationError::ExceedsBalance { held, amount });
    }
    let mut new = old.clone();
    for (slot, s) in new
        .tokens
        .iter_mut()
        .chain(new.positions.iter_mut())
        .zip(action.selector())
    {
        // |slot| ≥ amount in the selector's direction: moves toward zero, fits an i64.
        *slot = (i128::from(*slot) - i128::from(s) * i128::from(amount)) as i64;
    }
    let raw_quote = old
        .quote
        .checked_add(terms.quote_delta)
        .ok_or(LiquidationError::QuoteOverflow)?;
    let closed = new.tokens.iter().chain(&new.positions).all(|v| *v == 0);
    let deficit = if closed && raw_quote < 0 {
        raw_quote.unsigned_abs()
    } else {
        0
    };
    new.quote = if deficit > 0 { 0 } else { raw_quote };
    Ok((new, deficit))
}

/// The acted slot's balance in the action's direction (`Σ σ_k·slot_k`).
fn acted_balance(old: &Account, action: &LiquidationAction) -> i128 {
    action
        .selector()
        .iter()
        .zip(old.tokens.iter().chain(&old.positions))
        .map(|(s, v)| i128::from(*s) * i128::from(*v))
        .sum()
}

/// The price of the acted slot.
fn acted_price(prices: &Prices, action: &LiquidationAction) -> u64 {
    match *action {
        LiquidationAction::Close { market, .. } => prices.markets[market],
        LiquidationAction::Seize { token, .. } => prices.tokens[token],
    }
}

/// The native twin of the liquidation circuit: checks every clause for `old` and
/// `public` and returns the new state. The circuit is satisfiable with witness
/// (`old`, `new_blinding`) exactly when this returns `Ok(new)`,
/// `Commitment::of(old) == public.old_commitment` and
/// `Commitment::of(&new) == public.new_commitment`.
///
/// # Errors
/// The first [`LiquidationError`] clause that fails.
pub fn apply_liquidation(
    old: &Account,
    public: &LiquidationPublic,
    new_blinding: Blinding,
) -> Result<Account, LiquidationError> {
    let (action, terms, rules) = (&public.action, &public.terms, &public.rules);
    let amount = action.amount();
    let health = old.health(&public.weights, &public.prices);
    check_bounds(&health)?;
    let h = health.at(PPM as u32);
    // Margin status: the old state breaches at τ = 1.
    if h >= 0 {
        return Err(LiquidationError::NotInBreach);
    }
    // Action: the new state, which also checks the acted slot holds the amount.
    let (mut new, deficit) = state_after(old, action, terms)?;
    let held = acted_balance(old, action) as u64; // ≥ amount ≥ 1, ≤ 2^63
                                                  // Close factor, unless the slot is dust or the account is in deep breach.
    let notional = u128::from(held) * u128::from(acted_price(&public.prices, action));
    let dust = notional < u128::from(rules.dust_notional) * u128::from(PRICE_SCALE);
    let deep = health.equity < I256::from(rules.deep_breach_ratio_ppm) * health.requirement;
    let full = dust || deep;
    let cap_scaled = u128::from(rules.close_factor_ppm) * u128::from(held);
    let cap = (cap_scaled / u128::from(PPM)) as u64;
    if !full && u128::from(amount) * u128::from(PPM) > cap_scaled {
        return Err(LiquidationError::ExceedsCloseFactor { amount, max: cap });
    }
    // Minimality: the smallest amount that restores health, else the maximum allowed.
    let restores = h + terms.health_gain >= 0;
    if restores && h + terms.prev_health_gain >= 0 {
        return Err(LiquidationError::NotMinimal { amount });
    }
    let max = if full { held } else { cap };
    if !restores && amount != max {
        return Err(LiquidationError::NotMaximal { amount, max });
    }
    // Deficit: revealed exactly when everything is closed and the quote is negative.
    if deficit != public.deficit {
        return Err(LiquidationError::WrongDeficit {
            claimed: public.deficit,
            actual: deficit,
        });
    }
    // Health ratio strictly improves: E'·R > E·R' ⟺ dE·R + E·dR > 0 (closes; a seize
    // raises equity at constant requirement, which its terms check). Waived in deep
    // breach, where no close can lift a ratio below penalty/mmf, and on the deficit path.
    if matches!(action, LiquidationAction::Close { .. }) && !deep && deficit == 0 {
        let d = terms.equity_delta * health.requirement + health.equity * terms.requirement_delta;
        if d <= 0 {
            return Err(LiquidationError::RatioNotImproved);
        }
    }
    // Nonce + 1, fresh blinding.
    new.nonce = old
        .nonce
        .checked_add(1)
        .ok_or(LiquidationError::NonceExhausted)?;
    if new_blinding == old.blinding {
        return Err(LiquidationError::BlindingReused);
    }
    new.blinding = new_blinding;
    Ok(new)
}

/// The circuit's size bounds on the old account.
fn check_bounds(health: &Health) -> Result<(), LiquidationError> {
    if health.equity.unsigned_abs() >= U256::ONE << EQUITY_BITS {
        return Err(LiquidationError::AccountTooLarge(
            "|equity| ≥ 2^125 · 10^-21 quote units",
        ));
    }
    if health.requirement.unsigned_abs() >= U256::ONE << REQUIREMENT_BITS {
        return Err(LiquidationError::AccountTooLarge(
            "requirement ≥ 2^106 · 10^-15 quote units",
        ));
    }
    Ok(())
}

/// A liquidation chosen by [`choose_liquidation`].
#[derive(Debug, Clone)]
pub struct ChosenLiquidation {
    /// The action.
    pub action: LiquidationAction,
    /// Its terms.
    pub terms: LiquidationTerms,
    /// The deficit it reveals.
    pub deficit: u64,
    /// Whether the account meets its maintenance margin afterwards.
    pub restores_health: bool,
}

/// Chooses the smallest legal action that returns `account` to health where one
/// exists; otherwise the legal action with the largest health gain (at its
/// close-factor maximum, or a full close when exempt). Every open position and every
/// deposit is a candidate; among actions that restore health the one with the
/// smallest execution value wins.
///
/// # Errors
/// [`LiquidationError::NotInBreach`] for a healthy account, the size-bound errors, or
/// the last candidate's error when no action is legal.
pub fn choose_liquidation(
    account: &Account,
    params: &RiskParams,
    prices: &Prices,
) -> Result<ChosenLiquidation, LiquidationError> {
    let weights = params.weights();
    let rules = LiquidationRules::from(params);
    let health = account.health(&weights, prices);
    check_bounds(&health)?;
    let h = health.at(PPM as u32);
    if h >= 0 {
        return Err(LiquidationError::NotInBreach);
    }
    let deep = health.equity < I256::from(rules.deep_breach_ratio_ppm) * health.requirement;
    let closes = (0..params.markets.len()).filter_map(|j| {
        let n = account.positions[j];
        let side = if n > 0 { Side::Long } else { Side::Short };
        (n != 0).then_some(LiquidationAction::Close {
            market: j,
            side,
            amount: 1,
        })
    });
    let seizes = (0..params.tokens.len())
        .filter(|i| account.tokens[*i] > 0)
        .map(|token| LiquidationAction::Seize { token, amount: 1 });
    let mut best: Option<ChosenLiquidation> = None;
    let mut last_error = LiquidationError::NotInBreach;
    for template in closes.chain(seizes) {
        let held = acted_balance(account, &template) as u64;
        let notional = u128::from(held) * u128::from(acted_price(prices, &template));
        let full = deep || notional < u128::from(rules.dust_notional) * u128::from(PRICE_SCALE);
        let max = if full {
            held
        } else {
            (u128::from(rules.close_factor_ppm) * u128::from(held) / u128::from(PPM)) as u64
        };
        match best_amount(h, &template, max, prices, params)
            .and_then(|amount| candidate(account, &template.with_amount(amount), h, params, prices))
        {
            Ok(c) => {
                let better = match &best {
                    None => true,
                    Some(b) => match (c.restores_health, b.restores_health) {
                        (true, false) => true,
                        (false, true) => false,
                        (true, true) => c.terms.execution_value < b.terms.execution_value,
                        (false, false) => c.terms.health_gain > b.terms.health_gain,
                    },
                };
                if better {
                    best = Some(c);
                }
            }
            Err(e) => last_error = e,
        }
    }
    best.ok_or(last_error)
}

/// The smallest amount in `[1, max]` that restores health, or `max` if none does.
/// Health gains grow with the amount (up to one quote unit of rounding), so bisect.
fn best_amount(
    h: I256,
    template: &LiquidationAction,
    max: u64,
    prices: &Prices,
    params: &RiskParams,
) -> Result<u64, LiquidationError> {
    if max == 0 {
        return Err(LiquidationError::ExceedsCloseFactor { amount: 1, max });
    }
    let restores = |amount: u64| {
        LiquidationTerms::of(&template.with_amount(amount), prices, params)
            .map(|t| h + t.health_gain >= 0)
    };
    if !restores(max)? {
        return Ok(max);
    }
    // Invariant: restores(hi); !restores(lo) (lo = 0 is the breaching state).
    let (mut lo, mut hi) = (0u64, max);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if restores(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// `action` as a checked candidate (the native twin accepts it).
fn candidate(
    account: &Account,
    action: &LiquidationAction,
    h: I256,
    params: &RiskParams,
    prices: &Prices,
) -> Result<ChosenLiquidation, LiquidationError> {
    let terms = LiquidationTerms::of(action, prices, params)?;
    let (_, deficit) = state_after(account, action, &terms)?;
    let public = LiquidationPublic {
        old_commitment: Commitment(Fr::from(0u64)),
        new_commitment: Commitment(Fr::from(0u64)),
        liquidator: 0,
        action: *action,
        terms,
        deficit,
        prices: *prices,
        weights: params.weights(),
        rules: LiquidationRules::from(params),
    };
    let fresh = Blinding(account.blinding.0 + Fr::from(1u64));
    apply_liquidation(account, &public, fresh)?;
    Ok(ChosenLiquidation {
        action: *action,
        terms,
        deficit,
        restores_health: h + terms.health_gain >= 0,
    })
}

/// Serde for `I256` as a decimal string (JSON numbers cannot hold 256 bits).
mod i256_string {
    use ethnum::I256;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &I256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&x.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<I256, D::Error> {
        let s = String::deserialize(d)?;
        I256::from_str_radix(&s, 10).map_err(D::Error::custom)
    }
}
