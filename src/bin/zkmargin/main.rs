//! `zkmargin`: the prover's and operator's command line.
//!
//! Every command is a thin shell around the libraries: the prover crate (keys,
//! account files, proving; `setup`, `account`, `oracle`, `prove`, `liquidate`,
//! `inspect`, `demo`), the oracle crate (reports, signatures), the verifier crate
//! (opening a verifier from configuration, judging bundles; `verify`) and the
//! settlement crate (`ledger`, whose `settle` goes through its `Settler`). The
//! verifier-side commands (`verify`, `ledger`) use no prover code. Output goes to stdout (text, or JSON with `--json`); warnings,
//! notes and progress go to stderr, so `--json` output stays parseable. Every error
//! is one line, `error: …`, naming the file and the fix.
//!
//! Exit codes: 0 success; 1 an input could not be used (missing or malformed file,
//! wrong keys, a refused proof, an unusable ledger, development trust for `ledger
//! settle` without `--allow-development`); 2 bad command-line usage; 3
//! `verify` (or `ledger settle`) rejected the bundle; 4 `ledger settle`: the ledger
//! refused a valid transition (replay, stale commitment, new commitment in use,
//! amounts beyond the ledger's range).

mod account;
mod ceremony;
mod demo;
mod describe;
mod engine;
mod evm;
mod inspect;
mod ledger;
mod liquidate;
mod oracle;
mod prove;
mod setup;
mod ui;
mod units;
mod verify;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

/// Zero-knowledge margin proofs: keys, accounts, signed oracle prices, proofs, verification.
///
/// Quick start: `zkmargin demo` runs the whole flow in a temporary directory.
/// File formats: docs/FORMATS.md. Keys: keys/README.md.
#[derive(Debug, Parser)]
#[command(name = "zkmargin", version, max_term_width = 100)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Groth16 setup for every circuit; write proving keys, verifying keys and the manifest.
    ///
    /// Without --production the keys come from the public development seed: they are
    /// reproducible byte for byte and UNSAFE (anyone can forge proofs with them). With
    /// --production the randomness comes from the operating system's RNG. See
    /// keys/README.md.
    Setup(setup::SetupArgs),
    /// Create private account files and compute their commitments.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Development oracle committee: generate signer keys, sign price reports.
    #[command(subcommand)]
    Oracle(oracle::OracleCommand),
    /// Trusted setup without a trusted party: import powers of tau, run a multi-party
    /// phase 2 per circuit, finalize it into a keys directory.
    #[command(subcommand)]
    Ceremony(ceremony::CeremonyCommand),
    /// Prove an account's margin status at signed prices; write a proof bundle.
    ///
    /// The status (meets or breaches at threshold τ) is computed from the account and
    /// the report's prices and then proven; it is not an input, and the circuit cannot
    /// prove a false status. The bundle is verified with the verifier library before it
    /// is written.
    Prove(prove::ProveArgs),
    /// Liquidate an account in breach: write a transition bundle and its new private state.
    ///
    /// The action is not an input: the circuit's rules choose it — the smallest
    /// close of a position or seizure of a deposit that returns the account to health,
    /// or, when none within the close factor does, the largest allowed. The new state
    /// (nonce + 1, fresh blinding) is written to --new-account (mode 0600); the bundle
    /// reveals the old and new commitments, the action, its terms, the deficit and the
    /// liquidator, and is verified with the verifier library before it is written.
    Liquidate(liquidate::LiquidateArgs),
    /// Verify a proof bundle against an oracle config; exit 0 only when it is valid.
    ///
    /// Margin bundles (meets or breaches) and liquidation transition bundles. Checks
    /// the key fingerprint, the risk parameters, the oracle signatures, quorum and
    /// freshness, for a transition the terms recomputed from its action, then the
    /// Groth16 proof. Exit code 0: valid; 3: the bundle is rejected; 1: an input cannot
    /// be used.
    Verify(verify::VerifyArgs),
    /// Print a human-readable summary of any zkmargin file.
    ///
    /// Accounts, risk parameters, price reports, signed reports, oracle configs,
    /// committee secrets (public parts only), proof bundles, key manifests, and key
    /// files (size and fingerprint against the manifest beside them). The kind is
    /// recognized from the content.
    Inspect(inspect::InspectArgs),
    /// The settlement ledger (SQLite or PostgreSQL): operator calls, reads, settlement.
    ///
    /// The ledger knows each account by its current commitment only; it applies
    /// verified liquidations (`ledger settle`, which refuses development keys, oracle
    /// committee and risk parameters unless given --allow-development) and the venue's
    /// own updates (operator calls authenticated by the operator secret). See
    /// docs/SETTLEMENT.md.
    #[command(subcommand)]
    Ledger(ledger::LedgerCmd),
    /// Run the whole flow end to end in a temporary directory, with timings.
    ///
    /// Development keys, a fresh oracle committee, two accounts (one healthy, one in
    /// breach), a signed report, both proofs, both verified, tampered bundles
    /// rejected; then the breaching account liquidated, the transition verified and
    /// settled on a throwaway SQLite ledger, its new state proven, and a replay
    /// refused. Needs nothing but the binary.
    ///
    /// A development demo: it settles on development keys and risk parameters, which
    /// anyone can forge against. It is not a template for a real ledger: `ledger settle`
    /// and `zkmargin-verifier serve --ledger` refuse that trust without
    /// --allow-development.
    Demo(demo::DemoArgs),
    /// Export artifacts for other toolchains: `export solidity` writes the EVM verifiers.
    #[command(subcommand)]
    Export(evm::ExportCommand),
    /// The on-chain settlement contract: `evm calldata` encodes a bundle's calls.
    #[command(subcommand)]
    Evm(evm::EvmCommand),
    /// The venue's liquidation engine on NATS JetStream (run, import, publish-report).
    #[command(subcommand)]
    Engine(engine::EngineCommand),
    /// A proving worker: pull proof jobs from the engine's work queue, prove, publish.
    Worker(engine::WorkerArgs),
    /// A liquidator's keeper: verify the proof feed in batches, claim, settle.
    Keeper(engine::KeeperArgs),
}

/// Default keys directory (relative to the working directory).
pub const DEFAULT_KEYS_DIR: &str = "keys";

/// The keys directory option shared by the commands that load keys.
#[derive(Debug, Clone, clap::Args)]
pub struct KeysArg {
    /// Keys directory (manifest.json, *.pk, *.vk).
    #[arg(long = "keys", value_name = "DIR", env = "ZKMARGIN_KEYS", default_value = DEFAULT_KEYS_DIR)]
    pub dir: PathBuf,
}

/// The ledger refused a valid transition: exit code 4 rather than 1.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Bad command-line usage found after parsing: exit code 2 rather than 1.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// `verify` rejected the bundle: exit code 3 rather than 1.
#[derive(Debug)]
pub struct Rejected(pub String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

fn main() -> ExitCode {
    // A panic is a bug; still, the user sees one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error: {}{at}; this is a bug, please report it",
            ui::one_line(&what)
        );
    }));

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    init_tracing();

    let out = ui::Out::new(cli.json);
    let result = match cli.command {
        Command::Setup(args) => setup::run(args, &out),
        Command::Account(cmd) => account::run(cmd, &out),
        Command::Oracle(cmd) => oracle::run(cmd, &out),
        Command::Ceremony(cmd) => ceremony::run(cmd, &out),
        Command::Prove(args) => prove::run(args, &out),
        Command::Liquidate(args) => liquidate::run(args, &out),
        Command::Ledger(cmd) => ledger::run(cmd, &out),
        Command::Verify(args) => verify::run(args, &out),
        Command::Inspect(args) => inspect::run(args, &out),
        Command::Demo(args) => demo::run(args, &out),
        Command::Export(cmd) => evm::run_export(cmd, &out),
        Command::Evm(cmd) => evm::run_evm(cmd, &out),
        Command::Engine(cmd) => engine::run_engine(cmd, &out),
        Command::Worker(args) => engine::run_worker(args, &out),
        Command::Keeper(args) => engine::run_keeper(args, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render(&e));
            if e.downcast_ref::<Rejected>().is_some() {
                ExitCode::from(3)
            } else if e.downcast_ref::<Refused>().is_some() {
                ExitCode::from(4)
            } else if e.downcast_ref::<Usage>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes on one line, `context: cause: cause`, skipping a cause
/// whose text a message before it already quotes (our errors embed their I/O cause).
fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    ui::one_line(&out)
}

/// Logs go to stderr; arkworks' constraint tracing is off unless `RUST_LOG` asks.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,gr1cs=off,r1cs=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
