//! `zkmargin-verifier`: the verification service (`serve`, with `POST /v1/settle` when
//! given a ledger) and offline verification of bundle files (`verify`), both with the
//! verifier library.
//!
//! With no flags, `serve` uses the repository's development keys (`keys/`), the
//! development oracle committee and the development risk parameters, and binds
//! 127.0.0.1:8080; each development default is announced on stderr at start-up.
//! Settlement writes money, so `serve --ledger` refuses to start on any development
//! trust (`zkmargin_verifier::trust`) unless given `--allow-development`.
//!
//! A thin shell: the verifier is opened by `zkmargin_verifier::VerifierConfig`, bundles
//! are judged by `Verifier::verify_any_batch`, the service is `zkmargin_service`, and
//! settlement goes through its `Settler`.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use zkmargin::runtime::{self, Flavor};
use zkmargin_oracle::development_committee;
use zkmargin_service::{AppState, ConnectionLimits, Limits, Provenance};
use zkmargin_settlement::Ledger;
use zkmargin_verifier::{
    config::DEFAULT_KEYS_DIR,
    keys::{KeyProvenance, Manifest},
    Opened, ProofBundle, TrustCheck, Verdict, Verified, VerifiedLiquidation, Verifier,
    VerifierConfig,
};

/// Verify zkmargin proof bundles: an HTTP service for liquidators, or files offline.
///
/// Verification runs on the development defaults when no --keys, --oracle or --params
/// is given. Settlement (`serve --ledger`) does not: it refuses development keys, the
/// development oracle committee and the development risk parameters unless given
/// --allow-development (for test ledgers only).
#[derive(Debug, Parser)]
#[command(name = "zkmargin-verifier", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve POST /v1/verify, POST /v1/verify/batch, GET /v1/info, /healthz, /metrics,
    /// and POST /v1/settle when a ledger is given.
    ///
    /// With --ledger the server settles money for any client that can reach it, so it
    /// refuses to start on development trust — development keys (give --keys from
    /// `zkmargin setup --production`), the development oracle committee (give --oracle)
    /// or the development risk parameters (give --params) — unless given
    /// --allow-development.
    Serve(ServeArgs),
    /// Verify bundle files (margin and transition) offline; prints one verdict per
    /// file, exits 0 only if all verify.
    Verify(VerifyArgs),
}

/// What the verifier trusts: keys, oracle committee, risk parameters.
#[derive(Debug, Args)]
struct TrustArgs {
    /// Keys directory (manifest.json, margin.vk and, to verify and settle
    /// liquidations, liquidation.vk). Default: the repository's development keys in
    /// `keys/`.
    #[arg(long, env = "ZKMARGIN_KEYS", value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Oracle committee configuration (JSON: version, signers, quorum, max_age_secs,
    /// max_future_skew_secs). Default: the development committee (public keys!).
    #[arg(long, env = "ZKMARGIN_ORACLE", value_name = "FILE")]
    oracle: Option<PathBuf>,
    /// Accepted risk parameters (JSON), repeatable; in the environment, separate files
    /// with commas. Default: the development parameters.
    #[arg(
        long = "params",
        env = "ZKMARGIN_PARAMS",
        value_name = "FILE",
        value_delimiter = ','
    )]
    params: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (use port 0 for any free port; the bound address is logged).
    #[arg(long, env = "ZKMARGIN_BIND", value_name = "ADDR")]
    bind: Option<SocketAddr>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Largest request body in bytes.
    #[arg(long, env = "ZKMARGIN_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most bundles in one batch request.
    #[arg(long, env = "ZKMARGIN_MAX_BATCH", default_value_t = Limits::default().max_batch)]
    max_batch: usize,
    /// Request timeout in milliseconds (body upload 408, waiting for a verdict 503).
    #[arg(long, env = "ZKMARGIN_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Milliseconds a client has to send a request's head (request line and headers)
    /// in full, however slowly it trickles; then the connection is closed.
    #[arg(long, env = "ZKMARGIN_HEADER_TIMEOUT_MS", default_value_t = millis(ConnectionLimits::default().header_timeout))]
    header_timeout_ms: u64,
    /// Milliseconds a connection may stay open with no request being handled and no
    /// byte moving either way (a kept-alive connection between requests, a client
    /// that stops reading its answer); then it is closed.
    #[arg(long, env = "ZKMARGIN_IDLE_TIMEOUT_MS", default_value_t = millis(ConnectionLimits::default().idle_timeout))]
    idle_timeout_ms: u64,
    /// Most client connections open at once; beyond it new connections wait in the
    /// listen backlog until one closes. Keep it well below the open-file limit
    /// (`ulimit -n`).
    #[arg(long, env = "ZKMARGIN_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections)]
    max_connections: usize,
    /// Verification workers: jobs verified at once (the concurrency limit).
    /// Default: the number of cores.
    #[arg(long, env = "ZKMARGIN_WORKERS")]
    workers: Option<usize>,
    /// Verification jobs that may wait for a worker; beyond that, 503 overloaded.
    #[arg(long, env = "ZKMARGIN_QUEUE_CAPACITY", default_value_t = Limits::default().queue_capacity)]
    queue_capacity: usize,
    /// Most waiting single-proof requests one worker verifies together as a batch
    /// (1 disables coalescing).
    #[arg(long, env = "ZKMARGIN_MAX_COALESCE", default_value_t = Limits::default().max_coalesce)]
    max_coalesce: usize,
    /// Settlement ledger (`sqlite://PATH?mode=rwc` or `postgres://USER:PASS@HOST/DB`):
    /// enables POST /v1/settle, which verifies a liquidation transition and applies it
    /// to this ledger. Needs the liquidation keys in the keys directory, and production
    /// trust: --keys, --oracle and --params that are not development ones (or
    /// --allow-development). Without it, /v1/settle answers 404
    /// settlement_not_configured.
    #[arg(
        long,
        env = "ZKMARGIN_LEDGER_DB",
        value_name = "URL",
        hide_env_values = true
    )]
    ledger: Option<String>,
    /// Settle (--ledger) even on development keys, the development oracle committee or
    /// the development risk parameters, whose secrets are public: anyone who reaches
    /// POST /v1/settle could forge a liquidation and drain the insurance fund. For test
    /// ledgers only; announced on stderr and in /v1/info. No effect without --ledger.
    #[arg(long, env = "ZKMARGIN_ALLOW_DEVELOPMENT", value_parser = clap::builder::BoolishValueParser::new())]
    allow_development: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Bundle files (JSON).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Verify against this unix time instead of the clock (replaying old reports).
    #[arg(long, value_name = "UNIX_SECS")]
    at: Option<u64>,
}

const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// A flag's default in milliseconds.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Verify(args) => verify_files(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zkmargin-verifier: error: {}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text an outer
/// message already quotes (library errors often say their source in their own words).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    // The arkworks constraint-system target is off even if RUST_LOG asks for more:
    // it costs CPU and memory and says nothing about verification.
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(format!("{filter},r1cs=off"))
        .unwrap_or_else(|_| EnvFilter::new("info,r1cs=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// A loaded verifier and what is development about it, not yet announced: a server
/// that refuses to settle says only why.
struct Loaded {
    verifier: Verifier,
    /// The development parts of the keys, committee and parameters.
    trust: TrustCheck,
    /// How the keys were made (development seed, single party, ceremony).
    keys: KeyProvenance,
    /// Settings that fell back to development defaults, in words (for /v1/info).
    notes: Vec<String>,
    /// Further warnings for stderr.
    warnings: Vec<String>,
}

impl Loaded {
    /// Records a development default, to be announced and shown in /v1/info.
    fn development_default(&mut self, what: String) {
        self.notes.push(what);
    }

    /// Announces every development default and warning on stderr, loudly.
    fn announce(&self) {
        for what in &self.notes {
            eprintln!("zkmargin-verifier: DEVELOPMENT DEFAULT: {what}");
        }
        for warning in &self.warnings {
            eprintln!("zkmargin-verifier: {warning}");
        }
    }
}

impl TrustArgs {
    /// The verifier configuration these flags name.
    fn config(&self, at: Option<u64>) -> VerifierConfig {
        VerifierConfig {
            keys_dir: self.keys.clone(),
            oracle: self.oracle.clone(),
            params: self.params.clone(),
            at,
        }
    }
}

/// Opens the verifier; records each development default and warning for announcing.
fn build_verifier(trust: &TrustArgs, at: Option<u64>) -> Result<Loaded> {
    // The default keys directory is relative: it exists only in the repository.
    let default_manifest = std::path::Path::new(DEFAULT_KEYS_DIR).join("manifest.json");
    if trust.keys.is_none() && !default_manifest.exists() {
        bail!(
            "no --keys given and there is no {} here (the development keys are the default only inside the repository): pass --keys DIR (or ZKMARGIN_KEYS) with the keys directory to verify against",
            default_manifest.display()
        );
    }
    let Opened {
        verifier,
        keys_dir,
        oracle,
        params,
        defaulted,
        default_keys,
        trust: check,
    } = trust.config(at).open()?;
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    if default_keys {
        notes.push(format!("keys directory {DEFAULT_KEYS_DIR}/ (the repository's development keys; pass --keys for production keys)"));
    }
    let (_, dev_oracle) = development_committee();
    if defaulted.oracle {
        notes.push(format!(
            "oracle committee = the development committee (quorum {} of {}, max age {} s): its secret keys are public, anyone can sign any price; pass --oracle FILE",
            dev_oracle.quorum,
            dev_oracle.signers.len(),
            dev_oracle.max_age_secs
        ));
    } else if let Some(file) = &trust.oracle {
        if oracle.digest() == dev_oracle.digest() {
            warnings.push(format!(
                "WARNING: {} is the development committee: anyone can sign any price",
                file.display()
            ));
        } else if oracle
            .signers
            .iter()
            .any(|s| dev_oracle.signers.contains(s))
        {
            warnings.push(format!(
                "WARNING: {} lists signers of the development committee, whose secret keys are public",
                file.display()
            ));
        }
    }
    if defaulted.params {
        let p = &params[0];
        notes.push(format!(
            "risk parameters = RiskParams::development() (revision {}, digest {}); pass --params FILE",
            p.revision,
            hex::encode(p.digest())
        ));
    }
    if verifier.development_keys() {
        warnings.push(format!(
            "DEVELOPMENT KEYS: {} holds development keys (public seed): anyone can forge proofs against them",
            keys_dir.display()
        ));
    }
    // Said in the start-up line and /v1/info; single-party keys are a deployment's
    // informed choice (`setup --production` warned when it made them), not a warning
    // on every start.
    let keys = Manifest::load(&keys_dir)?.provenance(&keys_dir)?;
    Ok(Loaded {
        verifier,
        trust: check,
        keys,
        notes,
        warnings,
    })
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    let mut loaded = build_verifier(&args.trust, None)?;
    // Settlement writes money: never on trust anyone can forge against, unless told.
    if args.ledger.is_some() && loaded.trust.is_development() {
        if !args.allow_development {
            bail!("{}", loaded.trust.refusal());
        }
        loaded
            .warnings
            .push(format!("WARNING: {}", loaded.trust.warning()));
    }
    let bind = match args.bind {
        Some(b) => b,
        None => {
            loaded.development_default(format!(
                "bind address {DEFAULT_BIND} (loopback only; pass --bind)"
            ));
            DEFAULT_BIND.parse().context("default bind address")?
        }
    };
    loaded.announce();
    let Loaded {
        verifier,
        trust,
        keys,
        notes,
        ..
    } = loaded;
    if args.max_batch == 0
        || args.max_body_bytes == 0
        || args.request_timeout_ms == 0
        || args.header_timeout_ms == 0
        || args.idle_timeout_ms == 0
        || args.max_connections == 0
    {
        bail!("--max-batch, --max-body-bytes, --request-timeout-ms, --header-timeout-ms, --idle-timeout-ms and --max-connections must be positive");
    }
    let connections = ConnectionLimits {
        header_timeout: Duration::from_millis(args.header_timeout_ms),
        idle_timeout: Duration::from_millis(args.idle_timeout_ms),
        max_connections: args.max_connections,
    };
    if args.ledger.is_some() && verifier.liquidation_key_fingerprint().is_none() {
        bail!(
            "--ledger needs the liquidation circuit's keys, and the keys directory lists none \
             ({}): run `zkmargin setup` or pass --keys with a directory that has them",
            zkmargin_circuits::LIQUIDATION_CIRCUIT_ID
        );
    }
    let defaults = Limits::default();
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_batch: args.max_batch,
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        workers: args.workers.unwrap_or(defaults.workers).max(1),
        queue_capacity: args.queue_capacity.max(1),
        max_coalesce: args.max_coalesce.max(1),
    };
    let runtime = runtime::new(Flavor::MultiThread).context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // The ledger's messages never contain its URL (which may hold a password).
        let ledger = match &args.ledger {
            Some(url) => {
                let ledger = Ledger::open(url)
                    .await
                    .context("cannot open the settlement ledger (--ledger)")?;
                let summary = ledger
                    .summary()
                    .await
                    .context("cannot read the settlement ledger (--ledger)")?;
                tracing::info!(
                    backend = ledger.backend().name(),
                    accounts = summary.accounts,
                    liquidations = summary.liquidations,
                    insurance_fund = summary.insurance_fund,
                    "settlement ledger open: POST /v1/settle enabled"
                );
                if !summary.initialized {
                    tracing::warn!("the ledger has no operator key yet (`zkmargin ledger init`): no account can be registered");
                }
                Some(ledger)
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot bind {bind}"))?;
        let local = listener.local_addr().context("bound address")?;
        tracing::info!(
            key = verifier.margin_key_fingerprint(),
            liquidation_key = verifier.liquidation_key_fingerprint().unwrap_or("none"),
            oracle = %hex::encode(verifier.oracle_config_digest()),
            keys = %keys.summary(),
            workers = limits.workers,
            max_batch = limits.max_batch,
            max_body_bytes = limits.max_body_bytes,
            max_connections = connections.max_connections,
            header_timeout_ms = args.header_timeout_ms,
            idle_timeout_ms = args.idle_timeout_ms,
            "verifier loaded"
        );
        let state = AppState::with_ledger(
            verifier,
            limits,
            Provenance {
                development_oracle: trust.development_oracle(),
                development_defaults: notes,
                trust,
                keys_provenance: keys,
            },
            ledger,
        );
        eprintln!("zkmargin-verifier: listening on http://{local}");
        zkmargin_service::serve(listener, state, connections, shutdown_signal()).await;
        tracing::info!("shut down cleanly");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: finishing in-flight requests, then stopping"),
        () = term => tracing::info!("SIGTERM: finishing in-flight requests, then stopping"),
    }
}

fn verify_files(args: VerifyArgs) -> Result<ExitCode> {
    let loaded = build_verifier(&args.trust, args.at)?;
    loaded.announce();
    let verifier = loaded.verifier;
    // Files that decode are verified together (margin bundles as one batch).
    let decoded: Vec<_> = args
        .files
        .iter()
        .map(|file| {
            std::fs::read(file)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| {
                    ProofBundle::from_json(&bytes).map_err(|e| format!("{}: {e}", e.code()))
                })
        })
        .collect();
    let bundles: Vec<_> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .cloned()
        .collect();
    let mut outcomes = verifier.verify_any_batch(&bundles).into_iter();
    let mut all_valid = true;
    for (file, decoded) in args.files.iter().zip(&decoded) {
        let file = file.display().to_string();
        let line = match decoded {
            Err(msg) => Err(msg.clone()),
            Ok(_) => match outcomes.next() {
                Some(Ok(Verified::Margin(v))) => Ok(describe(&file, &v)),
                Some(Ok(Verified::Liquidation(l))) => Ok(describe_transition(&file, &l)),
                Some(Err(e)) => Err(format!("{}: {e}", e.code())),
                None => Err("internal_error: no verdict for this bundle".to_owned()),
            },
        };
        match line {
            Ok(line) => println!("{line}"),
            Err(msg) => {
                all_valid = false;
                println!("{file}: INVALID {msg}");
            }
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe_transition(file: &str, t: &VerifiedLiquidation) -> String {
    let s = t.statement();
    format!(
        "{file}: VALID liquidation {} -> {} liquidator {} action {} deficit {} statement {} report observed_at {} key {}",
        s.old_commitment,
        s.new_commitment,
        s.liquidator,
        serde_json::to_string(&s.action).unwrap_or_default(),
        s.deficit,
        hex::encode(t.statement_digest()),
        t.report_observed_at(),
        t.key_fingerprint()
    )
}

fn describe(file: &str, verdict: &Verdict) -> String {
    let m = verdict.margin();
    let liquidatable = match verdict {
        Verdict::Breach(b) if b.is_liquidatable() => " (liquidatable)",
        Verdict::Breach(_) => " (early warning: τ above the maintenance line)",
        Verdict::Meets(_) => "",
    };
    format!(
        "{file}: VALID {}{liquidatable} commitment {} tau_ppm {} report observed_at {} key {}",
        m.status(),
        m.commitment(),
        m.tau_ppm(),
        m.report_observed_at(),
        m.key_fingerprint()
    )
}
