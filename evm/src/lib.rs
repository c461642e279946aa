//! zkmargin on the EVM: Solidity Groth16 verifiers generated from verifying keys,
//! the encoders that turn arkworks values into their calldata, and (feature
//! `harness`) an in-process EVM that runs the compiled contracts.
//!
//! - [`split`]: which public inputs each proof brings and which are shared by every
//!   proof of one price tick ([`InputSplit`]; [`margin_split`] for the margin
//!   statement, [`liquidation_split`] for the liquidation statement).
//! - [`solidity`]: the generator. [`generate_verifier`] writes one circuit's
//!   `library <Name>Lib` (internal functions, inlined by a settlement contract) and
//!   `contract <Name>` (the same as external functions): `foldShared`, `fold<Group>`,
//!   `verifyFolded`, `verifyProof`.
//! - [`export`]: the circuits with EVM verifiers ([`EVM_CIRCUITS`]) and their sources
//!   for a keys directory (`zkmargin export solidity`); the repository keeps those of
//!   the development keys in `evm/contracts/generated/`, and a test regenerates them.
//! - [`encode`] and [`abi`]: proofs and field elements as EVM words (G2 imaginary part
//!   first), calldata of every verifier function, revert reasons; [`fold`] computes the
//!   folded points natively.
//! - [`artifact`]: the compiled contracts (`evm/artifacts/`, written by
//!   `scripts/evm/compile.sh` with the pinned solc, committed so that no Node is needed).
//! - [`settlement`]: calldata of `ZkMarginSettlement` (constructor, `postReport`,
//!   `verifyMargin`, `liquidate`, operator calls) and its revert codes.
//! - `harness` (feature `harness`): revm with its BN254 precompiles on substrate-bn,
//!   deployments and calls with transaction gas.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod abi;
pub mod artifact;
pub mod encode;
pub mod export;
pub mod fold;
#[cfg(feature = "harness")]
pub mod harness;
pub mod margin;
pub mod settlement;
pub mod solidity;
pub mod split;

pub use abi::{VerifierCalls, VerifierRevert};
pub use encode::{proof_words, Word};
pub use export::{
    check_sources, generate_sources, write_sources, EvmCircuit, ExportError, GeneratedSource,
    EVM_CIRCUITS,
};
pub use solidity::{generate_verifier, ContractInfo, GenerateError};
pub use split::{liquidation_split, margin_split, InputSplit, SharedGroup, SplitError};
