//! zkmargin's trusted setup: production Groth16 keys that no single party can forge with.
//!
//! Two phases, as in Zcash's Sapling ceremony and in snarkjs:
//!
//! 1. **Phase 1 (universal)** — [`ptau`]: powers of a secret τ (and α·τ^i, β·τ^i) in the
//!    snarkjs `.ptau` format, imported from a public ceremony (Perpetual Powers of Tau,
//!    Hermez) and checked with pairings over random linear combinations. A seeded local
//!    generator makes small files for development and tests.
//! 2. **Phase 2 (per circuit)** — [`phase2`] computes the initial Groth16 parameters
//!    (γ = δ = 1) of any arkworks circuit from a checked ptau, exactly as ark-groth16's
//!    `LibsnarkReduction` would with the same τ, α, β; [`ceremony`] runs the multi-party
//!    part: each participant multiplies δ by a secret and proves knowledge of it, a
//!    public random beacon closes the ceremony, and anyone verifies the whole transcript
//!    from the circuit and the ptau before [`ceremony::finalize`] hands out the keys.
//!
//! The keys are sound if at least one phase-1 participant and one phase-2 participant
//! destroyed their secret. The binary format of a ceremony file is in `FORMAT.md`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use zkmargin_ceremony::{ceremony, CeremonyFile, CircuitShape, Ptau};
//! # struct C;
//! # impl ark_relations::gr1cs::ConstraintSynthesizer<ark_bn254::Fr> for C {
//! #     fn generate_constraints(
//! #         self,
//! #         _: ark_relations::gr1cs::ConstraintSystemRef<ark_bn254::Fr>,
//! #     ) -> ark_relations::gr1cs::Result<()> {
//! #         Ok(())
//! #     }
//! # }
//! let ptau = Ptau::open("powersOfTau28_hez_final_12.ptau".as_ref(), Some(12))?.check()?;
//! println!("ptau blake2b {}", ptau.hashes().blake2b_hex());
//! let shape = CircuitShape::synthesize(C)?;
//! let file = ceremony::init("zkmargin.margin.v1", &shape, &ptau)?;
//! file.write("margin.0000.ceremony".as_ref())?;
//!
//! // Each participant, on their own machine:
//! let file = CeremonyFile::read("margin.0000.ceremony".as_ref())?;
//! let (file, receipt) = file.contribute(b"dice rolls, keyboard noise")?;
//! println!("publish your contribution hash: {}", receipt.hash_hex());
//!
//! // The coordinator closes with a public beacon, then anyone verifies and finalizes.
//! let (file, _) = file.beacon(&[0u8; 32], 10)?;
//! let keys = ceremony::finalize(&file, "zkmargin.margin.v1", &shape, &ptau)?;
//! println!("transcript {}", keys.provenance.transcript_digest);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ceremony;
mod curve;
mod error;
pub mod phase2;
pub mod ptau;

pub use ceremony::{
    finalize, init, verify, verify_contribution, BeaconProvenance, CeremonyFile, Contribution,
    ContributionKind, ContributionReceipt, FinalizedKeys, Provenance, VerifiedCeremony,
    VerifiedContribution,
};
pub use error::CeremonyError;
pub use phase2::{initial_parameters, CircuitShape};
pub use ptau::{CheckedPtau, LocalSecrets, Ptau, PtauError, PtauHashes};
