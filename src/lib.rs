//! zkmargin: zero-knowledge private margin verification.
//!
//! This facade re-exports the workspace crates so that integrators depend on one name;
//! the root package also owns the end-to-end tests (`tests/`) and the benchmarks
//! (`benches/`). See `README.md` and `docs/ARCHITECTURE.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Account model, statements, public-input encoding and circuits.
pub use zkmargin_circuits as circuits;

pub mod runtime {
    //! The async runtime both binaries run on (one helper, so the settings agree).

    /// How many threads drive the runtime.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Flavor {
        /// One thread: a command that does one thing at a time (the CLI's ledger
        /// commands, the demo's settlement).
        CurrentThread,
        /// A worker per core, named `zkmargin-http`: the verification service.
        MultiThread,
    }

    /// A tokio runtime with timers and I/O enabled.
    ///
    /// # Errors
    /// The operating system's error when the runtime's threads or its I/O driver cannot
    /// be started.
    pub fn new(flavor: Flavor) -> std::io::Result<tokio::runtime::Runtime> {
        match flavor {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.thread_name("zkmargin-http");
                b
            }
        }
        .enable_all()
        .build()
    }
}
