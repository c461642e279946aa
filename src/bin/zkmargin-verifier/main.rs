//! `zkmargin-verifier`: the verification service (`serve`) and offline verification of
//! bundle files (`verify`), both with the verifier library.
//!
//! With no flags, `serve` uses the repository's development keys (`keys/`), the
//! development oracle committee and the development risk parameters, and binds
//! 127.0.0.1:8080; each development default is announced on stderr at start-up.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use zkmargin_circuits::RiskParams;
use zkmargin_oracle::{development_committee, OracleConfig};
use zkmargin_service::{AppState, Limits, Provenance};
use zkmargin_verifier::{ProofBundle, Verdict, Verifier};

/// Verify zkmargin proof bundles: an HTTP service for liquidators, or files offline.
#[derive(Debug, Parser)]
#[command(name = "zkmargin-verifier", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve POST /v1/verify, POST /v1/verify/batch, GET /v1/info, /healthz, /metrics.
    Serve(ServeArgs),
    /// Verify bundle files offline; prints one verdict per file, exits 0 only if all verify.
    Verify(VerifyArgs),
}

/// What the verifier trusts: keys, oracle committee, risk parameters.
#[derive(Debug, Args)]
struct TrustArgs {
    /// Keys directory (manifest.json + margin.vk). Default: the repository's
    /// development keys in `keys/`.
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
const DEFAULT_KEYS: &str = "keys";

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
            eprintln!("zkmargin-verifier: error: {e:#}");
            ExitCode::from(2)
        }
    }
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

/// Announces a development default on stderr, loudly, and records it for /v1/info.
fn development_default(notes: &mut Vec<String>, what: String) {
    eprintln!("zkmargin-verifier: DEVELOPMENT DEFAULT: {what}");
    notes.push(what);
}

/// Loads the keys, committee and parameters, announcing each development default.
fn build_verifier(trust: &TrustArgs, notes: &mut Vec<String>) -> Result<(Verifier, bool)> {
    let keys = match &trust.keys {
        Some(dir) => dir.clone(),
        None => {
            development_default(
                notes,
                format!("keys directory {DEFAULT_KEYS}/ (the repository's development keys; pass --keys for production keys)"),
            );
            PathBuf::from(DEFAULT_KEYS)
        }
    };
    let (dev_keys, dev_oracle) = development_committee();
    drop(dev_keys);
    let oracle = match &trust.oracle {
        Some(file) => read_json::<OracleConfig>(file, "oracle config")?,
        None => {
            development_default(
                notes,
                format!(
                    "oracle committee = the development committee (quorum {} of {}, max age {} s): its secret keys are public, anyone can sign any price; pass --oracle FILE",
                    dev_oracle.quorum,
                    dev_oracle.signers.len(),
                    dev_oracle.max_age_secs
                ),
            );
            dev_oracle.clone()
        }
    };
    let development_oracle = oracle.digest() == dev_oracle.digest();
    if development_oracle && trust.oracle.is_some() {
        eprintln!(
            "zkmargin-verifier: WARNING: {} is the development committee: anyone can sign any price",
            trust.oracle.as_deref().map_or_else(String::new, |p| p.display().to_string())
        );
    }
    let params = if trust.params.is_empty() {
        let p = RiskParams::development();
        development_default(
            notes,
            format!(
                "risk parameters = RiskParams::development() (revision {}, digest {}); pass --params FILE",
                p.revision,
                hex::encode(p.digest())
            ),
        );
        vec![p]
    } else {
        trust
            .params
            .iter()
            .map(|f| read_json::<RiskParams>(f, "risk parameters"))
            .collect::<Result<Vec<_>>>()?
    };
    let verifier = Verifier::from_keys_dir(&keys, oracle, params).with_context(|| {
        format!(
            "cannot load the verifier from keys directory {}",
            keys.display()
        )
    })?;
    if verifier.development_keys() {
        eprintln!(
            "zkmargin-verifier: DEVELOPMENT KEYS: {} holds development keys (public seed): anyone can forge proofs against them",
            keys.display()
        );
    }
    Ok((verifier, development_oracle))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid {what} JSON", path.display()))
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    let mut notes = Vec::new();
    let (verifier, development_oracle) = build_verifier(&args.trust, &mut notes)?;
    let bind = match args.bind {
        Some(b) => b,
        None => {
            development_default(
                &mut notes,
                format!("bind address {DEFAULT_BIND} (loopback only; pass --bind)"),
            );
            DEFAULT_BIND.parse().context("default bind address")?
        }
    };
    if args.max_batch == 0 || args.max_body_bytes == 0 || args.request_timeout_ms == 0 {
        bail!("--max-batch, --max-body-bytes and --request-timeout-ms must be positive");
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("zkmargin-http")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot bind {bind}"))?;
        let local = listener.local_addr().context("bound address")?;
        tracing::info!(
            key = verifier.margin_key_fingerprint(),
            oracle = %hex::encode(verifier.oracle_config_digest()),
            workers = limits.workers,
            max_batch = limits.max_batch,
            max_body_bytes = limits.max_body_bytes,
            "verifier loaded"
        );
        let state = AppState::new(
            verifier,
            limits,
            Provenance {
                development_oracle,
                development_defaults: notes,
            },
        );
        eprintln!("zkmargin-verifier: listening on http://{local}");
        zkmargin_service::serve(listener, state, shutdown_signal())
            .await
            .context("server failed")?;
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
    let mut notes = Vec::new();
    let (verifier, _) = build_verifier(&args.trust, &mut notes)?;
    let verifier = match args.at {
        Some(t) => verifier.with_clock(std::sync::Arc::new(zkmargin_verifier::FixedClock(t))),
        None => verifier,
    };
    let mut lines: Vec<Option<String>> = Vec::with_capacity(args.files.len());
    let mut bundles = Vec::new();
    let mut slots = Vec::new();
    for (i, file) in args.files.iter().enumerate() {
        let decoded = std::fs::read(file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|bytes| {
                ProofBundle::from_json(&bytes).map_err(|e| format!("{}: {e}", e.code()))
            });
        match decoded {
            Ok(b) => {
                bundles.push(b);
                slots.push(i);
                lines.push(None);
            }
            Err(msg) => lines.push(Some(format!("{}: INVALID {msg}", file.display()))),
        }
    }
    let outcomes = verifier.verify_batch(&bundles);
    let mut all_valid = bundles.len() == args.files.len();
    for (slot, outcome) in slots.into_iter().zip(outcomes) {
        let file = args.files[slot].display();
        lines[slot] = Some(match outcome {
            Ok(v) => describe(&file.to_string(), &v),
            Err(e) => {
                all_valid = false;
                format!("{file}: INVALID {}: {e}", e.code())
            }
        });
    }
    for line in lines.into_iter().flatten() {
        println!("{line}");
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
