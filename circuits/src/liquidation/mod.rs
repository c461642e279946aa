//! The liquidation statement, natively: actions, their public terms, the rules, the
//! statement and its public-input encoding, and the move of the private state. The
//! executable specification of `r1cs::LiquidationCircuit` (`docs/STATEMENT.md`,
//! "Liquidation statement").
//!
//! | module | what |
//! |---|---|
//! | `action` | [`LiquidationAction`], [`Side`]: what a liquidation moves |
//! | `terms` | [`LiquidationTerms::of`]: the public amounts an action implies; [`unit_gain`], [`ROUNDING_ALLOWANCE`]: the minimality clause's `d` and allowance |
//! | `statement` | [`LiquidationPublic`], [`LiquidationRules`]: the statement, its encoder (two packed words: [`action_word`], [`money_word`]) and digest |
//! | `apply` | [`state_after`], [`apply_liquidation`]: the native twin of the circuit |
//! | `candidates` | [`legal_liquidations`]: each allowed action with the amount the rules imply |
//! | `error` | [`LiquidationError`]: one variant per clause |
//!
//! Which action to take is the prover's policy, not part of the statement: it lives in
//! the prover crate (`zkmargin_prover::policy`).

mod action;
mod apply;
mod candidates;
mod error;
mod statement;
mod terms;

pub use action::{LiquidationAction, Side};
pub use apply::{apply_liquidation, check_size_bounds, close_factor_max, state_after};
pub use candidates::{legal_liquidations, templates, LegalLiquidation};
pub use error::LiquidationError;
pub use statement::{action_word, money_word, Field, LiquidationPublic, LiquidationRules};
pub use terms::{unit_gain, LiquidationTerms, ROUNDING_ALLOWANCE, VALUE_BITS};

/// Circuit id and version of the liquidation statement.
pub const LIQUIDATION_CIRCUIT_ID: &str = "zkmargin.liquidation.v2";
/// Circuit ids of earlier versions of the liquidation statement, which this build
/// refuses with a message naming the current one.
pub const RETIRED_LIQUIDATION_CIRCUIT_IDS: &[&str] = &["zkmargin.liquidation.v1"];
/// R1CS constraints of the liquidation circuit: what a key manifest must list for it
/// (`circuits/tests/shape.rs` holds it equal to the synthesized circuit).
pub const LIQUIDATION_CONSTRAINTS: usize = 3_998;
/// Public inputs of the liquidation circuit (the constant 1 not counted).
pub const LIQUIDATION_NUM_PUBLIC_INPUTS: usize =
    LiquidationPublic::PER_PROOF_INPUTS + LiquidationPublic::SHARED_INPUTS;

/// `requirement + haircut < 2^REQUIREMENT_BITS` (10^-15 quote units) for an account
/// this circuit liquidates (about 1.6·10^11 USD at 1e-6 USD quote units).
pub const REQUIREMENT_BITS: u32 = 107;
/// `−2^BREACH_BITS ≤ H(1) < 0` (10^-21 quote units) for an account this circuit
/// liquidates; with the requirement bound it gives `|equity| < 2^127`.
pub const BREACH_BITS: u32 = 127;
