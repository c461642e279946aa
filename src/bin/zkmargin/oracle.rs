//! `zkmargin oracle keygen|sign`: a development oracle committee.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use rand::rngs::OsRng;
use serde_json::json;
use zkmargin_oracle::{PriceFeed, PriceReport, SignedReport, PRICE_EXPONENT, REPORT_VERSION};
use zkmargin_prover::{
    files::{load_committee, load_price_report, write_json, WriteOptions},
    CommitteeFile,
};

use crate::{
    ui::{self, Out},
    units::parse_pair,
};

#[derive(Debug, Subcommand)]
pub enum OracleCommand {
    /// Generate a committee of secp256k1 signer keys and the oracle config verifiers use.
    ///
    /// Writes two files: the committee's SECRET keys (--out, mode 0600; only the
    /// signer needs it) and the public oracle config (--config; give it to verifiers).
    Keygen(KeygenArgs),
    /// Sign a price report with committee keys.
    ///
    /// Prices are integers in 10^-9 quote atomic units per asset atomic unit
    /// (docs/FORMATS.md): with the quote in 1e-6 USD and ETH in 1e-9 ETH, ETH at
    /// 3,000 USD is --price ETH/USD=3000000000.
    Sign(SignArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Committee secrets file to create (mode 0600).
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Oracle config file to create (public).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Number of signers.
    #[arg(long, default_value_t = 3)]
    signers: usize,
    /// Signatures required (default: a majority of the signers).
    #[arg(long)]
    quorum: Option<u32>,
    /// Oldest acceptable report, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    max_age: u64,
    /// Tolerated clock skew for reports observed in the future, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    max_future_skew: u64,
    /// Write the public development committee instead of fresh keys (unsafe).
    #[arg(long, conflicts_with_all = ["signers", "quorum", "max_age", "max_future_skew"])]
    development: bool,
    /// Replace the files if they exist.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Signed report file to create.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Committee secrets file (default: the public development committee).
    #[arg(long, value_name = "FILE")]
    committee: Option<PathBuf>,
    /// A feed price, FEED=PRICE as an integer (10^-9 quote units per atomic unit); repeatable.
    #[arg(long = "price", value_name = "FEED=PRICE", value_parser = parse_pair, required_unless_present = "report")]
    prices: Vec<(String, String)>,
    /// Sign this unsigned report file instead of building one from --price.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["prices", "observed_at", "ttl", "spread_ppm"])]
    report: Option<PathBuf>,
    /// Observation time, unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECS")]
    observed_at: Option<u64>,
    /// Seconds from observation until the report expires.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    ttl: u64,
    /// Bid/ask spread around each price, in ppm of the price.
    #[arg(long, value_name = "PPM", default_value_t = 200)]
    spread_ppm: u64,
    /// Sign with only the first N keys of the committee file (default: all).
    #[arg(long, value_name = "N")]
    signers: Option<usize>,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(cmd: OracleCommand, out: &Out) -> anyhow::Result<()> {
    match cmd {
        OracleCommand::Keygen(args) => keygen(args, out),
        OracleCommand::Sign(args) => sign(args, out),
    }
}

fn keygen(args: KeygenArgs, out: &Out) -> anyhow::Result<()> {
    let committee = if args.development {
        CommitteeFile::development()
    } else {
        let quorum = args.quorum.unwrap_or(args.signers as u32 / 2 + 1);
        CommitteeFile::generate(
            args.signers,
            quorum,
            args.max_age,
            args.max_future_skew,
            &mut OsRng,
        )
        .context("cannot make this committee")?
    };
    if !args.force {
        // Check both before writing either, so a refusal leaves nothing half-made.
        for path in [&args.out, &args.config] {
            if path.exists() {
                bail!(
                    "{} already exists; choose another path or pass --force to overwrite it",
                    path.display()
                );
            }
        }
    }
    write_json(
        &args.out,
        &committee,
        WriteOptions {
            private: true,
            overwrite: args.force,
        },
    )?;
    write_json(
        &args.config,
        &committee.config,
        WriteOptions {
            private: false,
            overwrite: args.force,
        },
    )?;
    if committee.development {
        ui::warn("wrote the DEVELOPMENT oracle committee: its secret keys are public, anyone can sign any price with them");
    }
    let config = &committee.config;
    out.json(&json!({
        "committee_file": args.out,
        "config_file": args.config,
        "development": committee.development,
        "signers": config.signers,
        "quorum": config.quorum,
        "max_age_secs": config.max_age_secs,
        "max_future_skew_secs": config.max_future_skew_secs,
        "config_digest": hex::encode(config.digest()),
    }))?;
    out.line(format!(
        "committee of {} signers, quorum {}, reports at most {} s old",
        config.signers.len(),
        config.quorum,
        config.max_age_secs
    ));
    for s in &config.signers {
        out.line(format!("  signer {s}"));
    }
    out.line(format!(
        "secret keys: {} (mode 0600; keep it private)",
        args.out.display()
    ));
    out.line(format!(
        "oracle config: {} (digest {}; give it to verifiers)",
        args.config.display(),
        hex::encode(config.digest())
    ));
    Ok(())
}

fn sign(args: SignArgs, out: &Out) -> anyhow::Result<()> {
    let committee = match &args.committee {
        Some(path) => {
            let c = load_committee(path)?;
            ui::warn_if_exposed(path, "oracle committee secret keys");
            c
        }
        None => {
            ui::note("no --committee given: signing with the public development committee");
            CommitteeFile::development()
        }
    };
    if committee.development {
        ui::warn("signing with the DEVELOPMENT oracle committee: its keys are public, its signatures prove nothing outside development");
    }
    let report = match &args.report {
        Some(path) => load_price_report(path)?,
        None => build_report(&args)?,
    };
    let n = args.signers.unwrap_or(committee.keys.len());
    if n == 0 || n > committee.keys.len() {
        bail!(
            "--signers {n}: the committee file holds {} keys; choose 1 to {}",
            committee.keys.len(),
            committee.keys.len()
        );
    }
    if n < committee.config.quorum as usize {
        ui::warn(format!(
            "signing with {n} keys, below the quorum of {}: verifiers will reject this report",
            committee.config.quorum
        ));
    }
    let signed = SignedReport::sign(report, &committee.keys[..n]);
    write_json(
        &args.out,
        &signed,
        WriteOptions {
            private: false,
            overwrite: args.force,
        },
    )?;
    let r = &signed.report;
    out.json(&json!({
        "file": args.out,
        "digest": hex::encode(r.digest()),
        "observed_at": r.observed_at,
        "expires_at": r.expires_at,
        "feeds": r.feeds.len(),
        "signers": signed.signatures.iter().map(|s| s.signer).collect::<Vec<_>>(),
    }))?;
    out.line(format!(
        "signed report with {} feeds by {} of {} signers, observed {}, expires {}",
        r.feeds.len(),
        signed.signatures.len(),
        committee.config.signers.len(),
        ui::utc(r.observed_at),
        ui::utc(r.expires_at)
    ));
    out.line(format!("digest {}", hex::encode(r.digest())));
    out.line(format!("written to {}", args.out.display()));
    Ok(())
}

fn build_report(args: &SignArgs) -> anyhow::Result<PriceReport> {
    let mut prices = Vec::with_capacity(args.prices.len());
    for (feed_id, price) in &args.prices {
        let price: u64 = price.parse().with_context(|| {
            format!("--price {feed_id}={price}: the price must be a positive integer (10^-9 quote units per asset atomic unit)")
        })?;
        prices.push((feed_id.clone(), price));
    }
    let observed_at = args.observed_at.unwrap_or_else(ui::now);
    report_from_prices(&prices, observed_at, args.ttl, args.spread_ppm)
}

/// A validated report of `prices` (any order), observed at `observed_at`, valid for
/// `ttl` seconds, with bid and ask `spread_ppm / 2` below and above each price.
pub fn report_from_prices(
    prices: &[(String, u64)],
    observed_at: u64,
    ttl: u64,
    spread_ppm: u64,
) -> anyhow::Result<PriceReport> {
    let expires_at = observed_at
        .checked_add(ttl)
        .context("the observation time plus the ttl overflows")?;
    if spread_ppm >= 2_000_000 {
        bail!("a spread of {spread_ppm} ppm would make bids non-positive; use less than 2000000");
    }
    let mut feeds: Vec<PriceFeed> = prices
        .iter()
        .map(|(feed_id, price)| {
            let half = (u128::from(*price) * u128::from(spread_ppm) / 2_000_000) as u64;
            PriceFeed {
                feed_id: feed_id.clone(),
                price: *price,
                bid: price - half,
                ask: price.saturating_add(half),
            }
        })
        .collect();
    feeds.sort_by(|a, b| a.feed_id.cmp(&b.feed_id));
    let report = PriceReport {
        version: REPORT_VERSION,
        exponent: PRICE_EXPONENT,
        observed_at,
        expires_at,
        feeds,
    };
    report.validate().context("cannot sign this report")?;
    Ok(report)
}
