//! The R1CS side: gadgets (each the twin of a native function) and the circuits.

mod account;
mod liquidation;
mod margin;
mod poseidon;
mod signed;

pub use account::{AccountVar, CommitmentVar, HealthVar, PricesVar, WeightsVar};
pub use liquidation::{LiquidationCircuit, LiquidationPrivate, LiquidationPublicVar};
pub use margin::{MarginCircuit, MarginPrivate, MarginPublicVar};
pub use poseidon::PoseidonVar;
pub use signed::{enforce_in_range, fr_from_i256, is_nonnegative_bounded, SignedVar};
