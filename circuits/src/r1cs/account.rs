//! `AccountVar` and `CommitmentVar`: the in-circuit twins of [`Account`] and [`Commitment`].

use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use super::{PoseidonVar, SignedVar};
use crate::{
    commitment::{pow2, COMMITMENT_INPUTS, PACKED_ELEMENTS, SLOTS_PER_ELEMENT},
    Account, Fr, MARKETS, PPM, PRICE_SCALE, SLOTS, SLOT_BITS, TOKENS,
};

/// An account state as witnesses; every signed slot range-checked at allocation.
#[derive(Clone)]
pub struct AccountVar {
    /// Account id; bound by the commitment (its 64-bit width comes from the native
    /// value the commitment was made of, so it is not decomposed here).
    pub id: FpVar<Fr>,
    /// State nonce; bound by the commitment like the id.
    pub nonce: FpVar<Fr>,
    /// Token balances.
    pub tokens: Vec<SignedVar>,
    /// Quote balance.
    pub quote: SignedVar,
    /// Perpetual positions.
    pub positions: Vec<SignedVar>,
    /// Commitment randomness.
    pub blinding: FpVar<Fr>,
}

impl AccountVar {
    /// Allocates `account` (`None` in setup mode) as witnesses.
    /// Cost: 64 constraints per signed slot, 17 slots.
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        account: Option<&Account>,
    ) -> Result<Self, SynthesisError> {
        let get =
            |f: &dyn Fn(&Account) -> i64| account.map(f).ok_or(SynthesisError::AssignmentMissing);
        let field = |f: &dyn Fn(&Account) -> Fr| {
            FpVar::new_witness(cs.clone(), || {
                account.map(f).ok_or(SynthesisError::AssignmentMissing)
            })
        };
        Ok(Self {
            id: field(&|a| Fr::from(a.id))?,
            nonce: field(&|a| Fr::from(a.nonce))?,
            tokens: (0..TOKENS)
                .map(|i| SignedVar::new_witness(cs.clone(), || get(&|a| a.tokens[i])))
                .collect::<Result<_, _>>()?,
            quote: SignedVar::new_witness(cs.clone(), || get(&|a| a.quote))?,
            positions: (0..MARKETS)
                .map(|j| SignedVar::new_witness(cs.clone(), || get(&|a| a.positions[j])))
                .collect::<Result<_, _>>()?,
            blinding: field(&|a| a.blinding.0)?,
        })
    }

    /// The 17 signed slots in commitment order: tokens, quote, positions.
    pub fn slots(&self) -> impl Iterator<Item = &SignedVar> {
        self.tokens
            .iter()
            .chain(std::iter::once(&self.quote))
            .chain(&self.positions)
    }

    /// Health at `prices` under `weights`; twin of [`Account::health`].
    ///
    /// Cost: 3 constraints per token slot (t·p, the weight select, ·w) and 3 per
    /// market slot (pos·p, |·|, ·mmf). Overflow budget (all bounds are type maxima, so
    /// they hold for any public input the encoder can produce):
    /// - `t·p·w·10^6`: < 2^63·2^64·2^32·2^20 = 2^179, 8 of them < 2^182;
    /// - `quote·10^21` < 2^133; `pos·p·10^12` < 2^167, 8 of them < 2^170;
    /// - `|pos·p|·mmf` < 2^159, 8 of them < 2^162.
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn health(
        &self,
        prices: &PricesVar,
        weights: &WeightsVar,
    ) -> Result<HealthVar, SynthesisError> {
        let ppm = Fr::from(PPM);
        let mut weighted_tokens = FpVar::zero();
        let mut haircut = FpVar::zero();
        let mut token_values = Vec::with_capacity(TOKENS);
        let mut notionals = Vec::with_capacity(MARKETS);
        for (i, t) in self.tokens.iter().enumerate() {
            let value = &t.value * &prices.tokens[i];
            token_values.push(value.clone());
            // w = w_liab + [t ≥ 0]·(w_asset − w_liab): the deposit weight exactly when
            // the balance is non-negative, by the sign bit of the range check.
            let weight = &weights.liability[i]
                + FpVar::from(t.is_nonnegative.clone())
                    * (&weights.asset[i] - &weights.liability[i]);
            let weighted = value.clone() * weight;
            // K = Σ t·p·10^6 − t·p·w: linear in the products already made.
            haircut += value * ppm - &weighted;
            weighted_tokens += weighted;
        }
        let mut notional = FpVar::zero();
        let mut requirement = FpVar::zero();
        for (j, pos) in self.positions.iter().enumerate() {
            let n = &pos.value * &prices.markets[j];
            // |n| = (2·[pos ≥ 0] − 1)·n.
            let sign = FpVar::from(pos.is_nonnegative.clone()).double()? - Fr::from(1u64);
            requirement += (sign * &n) * &weights.maintenance[j];
            notional += &n;
            notionals.push(n);
        }
        let equity = &self.quote.value * (Fr::from(PRICE_SCALE) * ppm * ppm)
            + weighted_tokens * ppm
            + notional * (ppm * ppm);
        Ok(HealthVar {
            equity,
            requirement,
            haircut,
            token_values,
            notionals,
        })
    }
}

/// Twin of [`crate::Health`].
pub struct HealthVar {
    /// Weighted equity, 10^-21 quote atomic units.
    pub equity: FpVar<Fr>,
    /// Maintenance requirement before τ, 10^-15 quote atomic units.
    pub requirement: FpVar<Fr>,
    /// The tokens' haircut `Σ t·p·(10^6 − w)` (no constraint: linear in the products).
    pub haircut: FpVar<Fr>,
    /// `t_i·p_i` per token slot (price units).
    pub token_values: Vec<FpVar<Fr>>,
    /// `n_j·p_j` per market slot (price units).
    pub notionals: Vec<FpVar<Fr>>,
}

impl HealthVar {
    /// `equity − τ·requirement` (one constraint). Budget: τ·requirement < 2^32·2^162
    /// = 2^194, so |H(τ)| < 2^182 + 2^170 + 2^133 + 2^194 < 2^195 = 2^HEALTH_BOUND_BITS.
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn at(&self, tau: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        Ok(&self.equity - tau * &self.requirement)
    }
}

/// Twin of [`crate::Commitment`].
pub struct CommitmentVar;

impl CommitmentVar {
    /// Poseidon of `[tag, version, id, nonce, packed_0..6, blinding]`; twin of
    /// [`crate::Commitment::of`]. Packing 3 slots per element is a linear combination of
    /// the range-checked bits, so it is free, and unambiguous because each slot has
    /// exactly 64 bits and 3·64 < 253. Cost: 459 constraints (the tag and version are
    /// constants, so their first-round S-boxes are free).
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn of(account: &AccountVar) -> Result<FpVar<Fr>, SynthesisError> {
        let offsets: Vec<FpVar<Fr>> = account.slots().map(|s| s.offset.clone()).collect();
        Self::of_parts(&account.id, &account.nonce, &offsets, &account.blinding)
    }

    /// The same from parts: `offsets` are the 17 slot offsets `v + 2^63` in commitment
    /// order, each of which the caller guarantees lies in `[0, 2^64)` (range-checked or
    /// derived from range-checked values), which keeps the packing injective.
    ///
    /// # Errors
    /// Propagates synthesis errors.
    pub fn of_parts(
        id: &FpVar<Fr>,
        nonce: &FpVar<Fr>,
        offsets: &[FpVar<Fr>],
        blinding: &FpVar<Fr>,
    ) -> Result<FpVar<Fr>, SynthesisError> {
        assert_eq!(offsets.len(), SLOTS, "an account has 17 signed slots");
        let mut inputs: [FpVar<Fr>; COMMITMENT_INPUTS] = std::array::from_fn(|_| FpVar::zero());
        inputs[0] = FpVar::constant(Fr::from(crate::COMMITMENT_DOMAIN_TAG));
        inputs[1] = FpVar::constant(Fr::from(crate::COMMITMENT_VERSION));
        inputs[2] = id.clone();
        inputs[3] = nonce.clone();
        for (e, chunk) in offsets.chunks(SLOTS_PER_ELEMENT).enumerate() {
            inputs[4 + e] = chunk.iter().enumerate().fold(FpVar::zero(), |acc, (l, u)| {
                acc + u * pow2((l * SLOT_BITS) as u32)
            });
        }
        inputs[4 + PACKED_ELEMENTS] = blinding.clone();
        PoseidonVar::hash(&inputs)
    }
}

/// Prices as public-input variables, slot by slot.
#[derive(Clone)]
pub struct PricesVar {
    /// Token prices.
    pub tokens: Vec<FpVar<Fr>>,
    /// Market prices.
    pub markets: Vec<FpVar<Fr>>,
}

/// Risk weights as public-input variables, slot by slot.
#[derive(Clone)]
pub struct WeightsVar {
    /// Asset (deposit) weights.
    pub asset: Vec<FpVar<Fr>>,
    /// Liability (borrow) weights.
    pub liability: Vec<FpVar<Fr>>,
    /// Maintenance margin fractions.
    pub maintenance: Vec<FpVar<Fr>>,
}

impl PricesVar {
    /// Splits the 16 price inputs (tokens then markets).
    pub(crate) fn from_inputs(inputs: &[FpVar<Fr>]) -> Self {
        Self {
            tokens: inputs[..TOKENS].to_vec(),
            markets: inputs[TOKENS..TOKENS + MARKETS].to_vec(),
        }
    }
}

impl WeightsVar {
    /// Splits the 24 weight inputs (asset, liability, maintenance).
    pub(crate) fn from_inputs(inputs: &[FpVar<Fr>]) -> Self {
        Self {
            asset: inputs[..TOKENS].to_vec(),
            liability: inputs[TOKENS..2 * TOKENS].to_vec(),
            maintenance: inputs[2 * TOKENS..2 * TOKENS + MARKETS].to_vec(),
        }
    }
}
