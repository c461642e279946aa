//! zkmargin statements: the private account model, the public statements and their
//! public-input encoding, and (feature `r1cs`) the Groth16 circuits over BN254.
//!
//! Every gadget has a native twin of the same name, and the native side is the
//! executable specification: [`Account::health`] ↔ `AccountVar::health`,
//! [`Commitment::of`] ↔ `CommitmentVar::of`. `docs/STATEMENT.md` is the written
//! statement; the clause headings inside the circuits follow it.
//!
//! # Integer widths (statement version 1)
//!
//! | value | Rust type | width | encoding in-circuit |
//! |---|---|---|---|
//! | token balance, quote balance, perp position | `i64` | 64 bits signed | offset `v + 2^63`, 64 range-checked bits |
//! | price (per asset atomic unit, 10^-9 quote units) | `u64` | 64 bits, > 0 | public input |
//! | weights, margin fractions, τ (ppm) | `u32` | 32 bits | public input |
//! | account id, nonce | `u64` | 64 bits | bound by the commitment |
//! | blinding | `Fr` | 254 bits | commitment input |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
pub mod commitment;
mod fr_hex;
mod health;
pub mod hex_text;
mod liquidation;
mod params;
mod prices;
mod statement;

#[cfg(feature = "r1cs")]
pub mod r1cs;

pub use account::{Account, AccountError, Blinding};
pub use commitment::{poseidon_hash, Commitment, COMMITMENT_DOMAIN_TAG, COMMITMENT_VERSION};
pub use fr_hex::{fr_from_hex, fr_from_i256, fr_to_hex, FrHexError};
pub use health::{Health, Status, HEALTH_BOUND_BITS};
pub use liquidation::{
    action_word, apply_liquidation, check_size_bounds, close_factor_max, legal_liquidations,
    money_word, state_after, templates, unit_gain, Field, LegalLiquidation, LiquidationAction,
    LiquidationError, LiquidationPublic, LiquidationRules, LiquidationTerms, Side, BREACH_BITS,
    LIQUIDATION_CIRCUIT_ID, LIQUIDATION_CONSTRAINTS, LIQUIDATION_NUM_PUBLIC_INPUTS,
    REQUIREMENT_BITS, RETIRED_LIQUIDATION_CIRCUIT_IDS, ROUNDING_ALLOWANCE, VALUE_BITS,
};
pub use params::{
    LiquidationParams, MarginWeights, MarketParams, ParamsError, RiskParams, TokenParams,
};
pub use prices::{MissingPrice, Prices};
pub use statement::{
    MarginPublic, MARGIN_CIRCUIT_ID, MARGIN_CONSTRAINTS, MARGIN_NUM_PUBLIC_INPUTS,
};

/// The BN254 scalar field, in which every statement lives.
pub use ark_bn254::Fr;

/// Number of token slots (deposits and borrows) in an account, `K`.
pub const TOKENS: usize = 8;
/// Number of perpetual-market slots in an account, `M`.
pub const MARKETS: usize = 8;
/// Signed slots per account: `K` tokens, the quote balance, `M` positions.
pub const SLOTS: usize = TOKENS + 1 + MARKETS;

/// Parts per million: the fixed-point scale of weights, margin fractions and τ.
pub const PPM: u64 = 1_000_000;
/// Decimal exponent of prices: a price is in 10^-9 quote atomic units per asset atomic unit.
pub const PRICE_DECIMALS: u32 = 9;
/// `10^PRICE_DECIMALS`: multiplies the quote balance into price units.
pub const PRICE_SCALE: u64 = 1_000_000_000;
/// Bits of every signed slot in-circuit (offset encoding of an `i64`).
pub const SLOT_BITS: usize = 64;
