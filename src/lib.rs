//! zkmargin: zero-knowledge private margin verification.
//!
//! This facade re-exports the workspace crates so that integrators depend on one name;
//! the root package also owns the end-to-end tests (`tests/`) and the benchmarks
//! (`benches/`). See `README.md` and `docs/ARCHITECTURE.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Account model, statements, public-input encoding and circuits.
pub use zkmargin_circuits as circuits;
