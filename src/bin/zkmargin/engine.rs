//! `zkmargin engine`, `zkmargin worker`, `zkmargin keeper`: the liquidation engine on
//! NATS JetStream (issue 16; `docs/ENGINE.md`). Thin shells around `zkmargin_engine`.

use std::{io::BufRead, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use zkmargin::runtime::{self, Flavor};
use zkmargin_circuits::RiskParams;
use zkmargin_engine::{
    bus::{Bus, BusSettings},
    engine::{self, EngineConfig},
    keeper::{self, KeeperConfig, Settlement},
    metrics::{self, Metrics},
    names::{Names, DEFAULT_PREFIX},
    store::Store,
    worker::{self, Provers, WorkerConfig},
    Say,
};
use zkmargin_oracle::OracleConfig;
use zkmargin_prover::AccountFile;
use zkmargin_settlement::{redact_url, Ledger, Settler};
use zkmargin_verifier::VerifierConfig;

use crate::{ui::Out, Usage};

/// Where the engine's store lives by default.
const DEFAULT_STORE: &str = "sqlite://engine.db";

/// The NATS connection and names every role shares.
#[derive(Debug, Clone, clap::Args)]
pub struct BusArgs {
    /// NATS server URL (JetStream enabled: `nats-server -js`).
    #[arg(
        long,
        value_name = "URL",
        env = "ZKMARGIN_NATS",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats: String,
    /// Prefix of every stream, subject, consumer and bucket name ([A-Za-z0-9_-], 1..=32).
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_PREFIX)]
    prefix: String,
    /// Milliseconds a pulled job (report, feed item) may stay unacknowledged before it is
    /// redelivered (100..=3600000); must exceed one proof.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    ack_wait_ms: u64,
    /// Seconds of JetStream's duplicate window on the jobs and feed streams (1..=86400).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    duplicate_window_secs: u64,
    /// Serve Prometheus metrics on http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
}

impl BusArgs {
    /// The names and timings, every flag checked (before anything is opened).
    fn validate(&self) -> anyhow::Result<(Names, BusSettings)> {
        if !(100..=3_600_000).contains(&self.ack_wait_ms) {
            return Err(Usage(format!(
                "--ack-wait-ms {} is outside 100..=3600000",
                self.ack_wait_ms
            ))
            .into());
        }
        if !(1..=86_400).contains(&self.duplicate_window_secs) {
            return Err(Usage(format!(
                "--duplicate-window-secs {} is outside 1..=86400",
                self.duplicate_window_secs
            ))
            .into());
        }
        let names = Names::new(&self.prefix).map_err(|e| Usage(format!("--prefix: {e}")))?;
        Ok((
            names,
            BusSettings {
                ack_wait: Duration::from_millis(self.ack_wait_ms),
                duplicate_window: Duration::from_secs(self.duplicate_window_secs),
                ..BusSettings::default()
            },
        ))
    }

    async fn connect(&self, role: &str) -> anyhow::Result<Bus> {
        let (names, settings) = self.validate()?;
        Ok(Bus::connect(&self.nats, names, settings, &format!("zkmargin-{role}")).await?)
    }

    async fn metrics(&self, out: &Say) -> anyhow::Result<Arc<Metrics>> {
        let m = Arc::new(Metrics::new());
        if let Some(addr) = self.metrics_addr {
            let bound = metrics::serve(addr, m.clone()).await?;
            out(format!("metrics on http://{bound}/metrics"));
        }
        Ok(m)
    }
}

/// The trust a role uses: risk parameters and oracle committee.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Risk parameters file (default: the development parameters).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Oracle committee configuration (default: the development committee).
    #[arg(long, value_name = "FILE")]
    oracle: Option<PathBuf>,
}

impl TrustArgs {
    fn config(&self, keys: Option<PathBuf>) -> VerifierConfig {
        VerifierConfig {
            keys_dir: keys,
            oracle: self.oracle.clone(),
            params: self.params.iter().cloned().collect(),
            at: None,
        }
    }

    fn load(&self) -> anyhow::Result<(RiskParams, OracleConfig)> {
        let c = self.config(None);
        let params = c
            .risk_params()?
            .into_iter()
            .next()
            .context("no risk parameters")?;
        Ok((params, c.oracle_config()?))
    }
}

/// `zkmargin engine …`.
#[derive(Debug, clap::Subcommand)]
pub enum EngineCommand {
    /// Run the venue's engine: scan every account on each signed report, queue proof jobs.
    Run(RunArgs),
    /// Import accounts into the engine's store (JSON Lines of account files, or one
    /// file); a running engine picks them up at its next tick.
    Import(ImportArgs),
    /// Publish a signed report on the reports subject (as an oracle relay does).
    PublishReport(PublishArgs),
}

/// `zkmargin engine run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    bus: BusArgs,
    #[command(flatten)]
    trust: TrustArgs,
    /// The engine's private store: sqlite://PATH (created 0600) or postgres://….
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
    /// Early-warning threshold τ_warn in ppm (> 1000000, ≤ 10000000): accounts that meet
    /// at τ = 1 but breach at τ_warn get a proof on their own subject.
    #[arg(long, value_name = "PPM")]
    tau_warn_ppm: Option<u32>,
    /// The venue's settlement ledger (sqlite://PATH or postgres://…), read only: an
    /// account moves to its post-liquidation state only once the ledger holds the new
    /// commitment. Without it, a keeper's settlement notice alone moves it.
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,
    /// How long a breach or early-warning proof of an unchanged account stands before
    /// it is proven again (seconds of report time; below the committee's maximum age;
    /// 0: every tick). Default: half the committee's maximum age.
    #[arg(long, value_name = "SECS")]
    reprove_after_secs: Option<u64>,
}

/// `zkmargin engine import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The engine's private store.
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
    /// Accounts: one account file (`zkmargin account new`), or JSON Lines of them.
    #[arg(long, value_name = "FILE")]
    accounts: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
}

/// `zkmargin engine publish-report`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    #[command(flatten)]
    bus: BusArgs,
    /// The signed report (`zkmargin oracle sign`).
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
}

/// `zkmargin worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    bus: BusArgs,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    keys: crate::KeysArg,
    /// Jobs proved at once (default: one per core, each proof on one core; 1 gives one
    /// proof all cores, the lowest latency per proof).
    #[arg(long, value_name = "N")]
    parallel: Option<usize>,
}

/// `zkmargin keeper`.
#[derive(Debug, clap::Args)]
pub struct KeeperArgs {
    #[command(flatten)]
    bus: BusArgs,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    keys: crate::KeysArg,
    /// This liquidator's id at the venue (credited with the fees it wins).
    #[arg(long, value_name = "ID")]
    liquidator: u64,
    /// Settle on this ledger directly (sqlite://PATH or postgres://…, initialized by
    /// the operator). Give this or --settle-url.
    #[arg(long, value_name = "URL", conflicts_with = "settle_url")]
    ledger: Option<String>,
    /// Settle through the venue's verification service instead:
    /// `zkmargin-verifier serve --ledger …` at http://HOST:PORT (POST /v1/settle).
    #[arg(long, value_name = "URL")]
    settle_url: Option<String>,
    /// Bundles verified per batch (1..=4096).
    #[arg(long, value_name = "N", default_value_t = 64)]
    batch: usize,
    /// Accept development keys, committee or parameters (never in production).
    #[arg(long)]
    allow_development: bool,
}

fn say() -> Say {
    Arc::new(|line: String| eprintln!("{line}"))
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn rt() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime::new(Flavor::MultiThread).context("cannot start the async runtime")
}

/// Runs `zkmargin engine …`.
pub fn run_engine(cmd: EngineCommand, out: &Out) -> anyhow::Result<()> {
    match cmd {
        EngineCommand::Run(args) => {
            let tau_warn = match args.tau_warn_ppm {
                None => None,
                Some(t) if t > 1_000_000 && t <= 10_000_000 => Some(t),
                Some(t) => {
                    return Err(Usage(format!(
                        "--tau-warn-ppm {t} must be above 1000000 (τ = 1) and at most 10000000"
                    ))
                    .into())
                }
            };
            args.bus.validate()?;
            let (params, oracle) = args.trust.load()?;
            let max_age = oracle.max_age_secs;
            let reprove_after_secs = match args.reprove_after_secs {
                None => max_age / 2,
                Some(s) if s < max_age => s,
                Some(s) => {
                    return Err(Usage(format!(
                        "--reprove-after-secs {s} must be below the oracle committee's maximum report age ({max_age} s): a proof at an expired report can no longer be settled"
                    ))
                    .into())
                }
            };
            let say = say();
            rt()?.block_on(async {
                let ledger = match &args.ledger {
                    None => None,
                    Some(url) => Some(
                        Ledger::open_existing(url)
                            .await
                            .map_err(|e| {
                                anyhow::anyhow!("ledger {}: {e} ({})", redact_url(url), e.code())
                            })?,
                    ),
                };
                let bus = args.bus.connect("engine").await?;
                let store = Store::open(&args.store).await?;
                let metrics = args.bus.metrics(&say).await?;
                say(format!(
                    "engine: prefix {}, store {}, reports on {}, jobs on {}, settlements confirmed {}",
                    bus.names.prefix(),
                    redact_url(&args.store),
                    bus.names.reports_subject(),
                    bus.names.jobs_filter(),
                    match &args.ledger {
                        Some(url) => format!("on the ledger {}", redact_url(url)),
                        None => "by the keepers' notices (no --ledger)".into(),
                    }
                ));
                engine::run(
                    EngineConfig {
                        bus,
                        store,
                        params,
                        oracle,
                        tau_warn_ppm: tau_warn,
                        say,
                        metrics,
                        ledger,
                        reprove_after_secs,
                    },
                    shutdown(),
                )
                .await?;
                Ok(())
            })
        }
        EngineCommand::Import(args) => {
            let (params, _) = args.trust.load()?;
            let accounts = read_accounts(&args.accounts)?;
            for a in &accounts {
                a.check_slots(&params).with_context(|| {
                    format!(
                        "{}: account {} does not fit the risk parameters",
                        args.accounts.display(),
                        a.id
                    )
                })?;
            }
            let n = rt()?.block_on(async {
                let store = Store::open(&args.store).await?;
                let n = store.upsert_accounts(&accounts).await?;
                store.close().await;
                Ok::<_, anyhow::Error>(n)
            })?;
            let store = redact_url(&args.store);
            out.json(&serde_json::json!({ "ok": true, "imported": n, "store": store }))?;
            out.line(format!("imported {n} accounts into {store}"));
            Ok(())
        }
        EngineCommand::PublishReport(args) => {
            let text = std::fs::read(&args.report)
                .with_context(|| format!("cannot read {}", args.report.display()))?;
            let report: zkmargin_oracle::SignedReport = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not a signed report", args.report.display()))?;
            args.bus.validate()?;
            let digest = hex::encode(report.report.digest());
            rt()?.block_on(async {
                let bus = args.bus.connect("relay").await?;
                bus.publish_dedup(
                    &bus.names.reports_subject(),
                    &digest,
                    serde_json::to_vec(&report)?.into(),
                    Duration::from_secs(10),
                )
                .await?;
                Ok::<_, anyhow::Error>(())
            })?;
            out.json(&serde_json::json!({ "ok": true, "report_digest": digest }))?;
            out.line(format!("published report {digest}"));
            Ok(())
        }
    }
}

fn read_accounts(path: &PathBuf) -> anyhow::Result<Vec<zkmargin_circuits::Account>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Ok(file) = serde_json::from_str::<AccountFile>(&text) {
        return Ok(vec![file.account]);
    }
    let mut accounts = Vec::new();
    for (i, line) in std::io::Cursor::new(text).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let file: AccountFile = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not an account file", path.display(), i + 1))?;
        accounts.push(file.account);
    }
    if accounts.is_empty() {
        bail!("{} holds no account", path.display());
    }
    Ok(accounts)
}

/// Runs `zkmargin worker`.
pub fn run_worker(args: WorkerArgs, _out: &Out) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let parallel = match args.parallel {
        None => cores,
        Some(n) if (1..=256).contains(&n) => n,
        Some(n) => return Err(Usage(format!("--parallel {n} is outside 1..=256")).into()),
    };
    args.bus.validate()?;
    let (params, oracle) = args.trust.load()?;
    let provers = Arc::new(Provers::load(&args.keys.dir)?);
    let say = say();
    rt()?.block_on(async {
        let bus = args.bus.connect("worker").await?;
        let metrics = args.bus.metrics(&say).await?;
        say(format!(
            "worker: proving jobs from {} ({parallel} at once on {cores} cores)",
            bus.names.jobs_stream()
        ));
        worker::run(
            WorkerConfig {
                bus,
                provers,
                params,
                oracle,
                parallel,
                threads: cores,
                say,
                metrics,
            },
            shutdown(),
        )
        .await?;
        Ok(())
    })
}

/// Runs `zkmargin keeper`.
pub fn run_keeper(args: KeeperArgs, _out: &Out) -> anyhow::Result<()> {
    if !(1..=4096).contains(&args.batch) {
        return Err(Usage(format!("--batch {} is outside 1..=4096", args.batch)).into());
    }
    // One of the two: clap refuses both; neither is refused here, in one line.
    let ledger_url = match (&args.ledger, &args.settle_url) {
        (Some(url), None) => Some(url.clone()),
        (None, Some(url)) => {
            check_settle_url(url)?;
            None
        }
        _ => return Err(Usage("give one of --ledger URL or --settle-url URL".into()).into()),
    };
    args.bus.validate()?;
    let opened = args.trust.config(Some(args.keys.dir.clone())).open()?;
    if opened.trust.is_development() && !args.allow_development {
        bail!(
            "the keeper would settle on development trust: {} (or pass --allow-development for a test venue)",
            opened.trust.refusal()
        );
    }
    let verifier = Arc::new(opened.verifier);
    let say = say();
    rt()?.block_on(async {
        let settlement = match &ledger_url {
            Some(url) => {
                let ledger = Ledger::open_existing(url).await.map_err(|e| {
                    anyhow::anyhow!("ledger {}: {e} ({})", redact_url(url), e.code())
                })?;
                Settlement::Ledger(Settler::new(verifier.clone(), ledger))
            }
            None => Settlement::service(args.settle_url.as_deref().unwrap_or_default()),
        };
        let bus = args.bus.connect("keeper").await?;
        let metrics = args.bus.metrics(&say).await?;
        say(format!(
            "keeper {}: verifying the feed {} in batches of {}, settling on {}",
            args.liquidator,
            bus.names.feed_filter(),
            args.batch,
            ledger_url
                .as_deref()
                .map_or_else(|| settlement.describe(), redact_url)
        ));
        keeper::run(
            KeeperConfig {
                bus,
                liquidator: args.liquidator,
                verifier,
                settlement,
                batch: args.batch,
                say,
                metrics,
            },
            shutdown(),
        )
        .await?;
        Ok(())
    })
}

/// `--settle-url` is the base URL of a `zkmargin-verifier serve`: `http://HOST[:PORT]`.
fn check_settle_url(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("http://") else {
        let why = if url.starts_with("https://") {
            "https is not built into the keeper: reach the service over http:// (a private network, or a TLS proxy beside the keeper)"
        } else {
            "give the service's base URL as http://HOST:PORT"
        };
        return Err(Usage(format!("--settle-url {url:?}: {why}")).into());
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
        return Err(Usage(format!(
            "--settle-url {url:?}: give the service's base URL as http://HOST:PORT, without a path (the keeper posts to /v1/settle)"
        ))
        .into());
    }
    Ok(())
}
