//! The liquidation statement, natively: actions, their public terms, the rules, the
//! statement and its public-input encoding, and the move of the private state. The
//! executable specification of `r1cs::LiquidationCircuit` (`docs/STATEMENT.md`,
//! "Liquidation statement").
//!
//! | module | what |
//! |---|---|
//! | `action` | [`LiquidationAction`] and [`Side`]: what a liquidation moves |
//! | `terms` | [`LiquidationTerms::of`]: the public amounts an action implies |
//! | `statement` | [`LiquidationPublic`], [`LiquidationRules`]: the statement, its encoder and digest |
//! | `apply` | [`state_after`], [`apply_liquidation`]: the native twin of the circuit |
//! | `candidates` | [`legal_liquidations`]: each slot's action with the amount the rules imply |
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
pub use apply::{apply_liquidation, check_size_bounds, state_after};
pub use candidates::{legal_liquidations, LegalLiquidation};
pub use error::LiquidationError;
pub use statement::{LiquidationPublic, LiquidationRules};
pub use terms::LiquidationTerms;

/// Circuit id and version of the liquidation statement.
pub const LIQUIDATION_CIRCUIT_ID: &str = "zkmargin.liquidation.v1";
/// R1CS constraints of the liquidation circuit: what a key manifest must list for it
/// (`circuits/tests/shape.rs` holds it equal to the synthesized circuit).
pub const LIQUIDATION_CONSTRAINTS: usize = 3_585;
/// Public inputs of the liquidation circuit (the constant 1 not counted).
pub const LIQUIDATION_NUM_PUBLIC_INPUTS: usize =
    LiquidationPublic::PER_PROOF_INPUTS + LiquidationPublic::SHARED_INPUTS;

/// `|equity| < 2^EQUITY_BITS` (10^-21 quote units) for an account this circuit liquidates.
pub const EQUITY_BITS: u32 = 125;
/// `requirement < 2^REQUIREMENT_BITS` (10^-15 quote units) likewise.
pub const REQUIREMENT_BITS: u32 = 106;
/// `|health gain| < 2^GAIN_BITS` (10^-21 quote units) for an action this circuit proves.
pub const GAIN_BITS: u32 = 126;
