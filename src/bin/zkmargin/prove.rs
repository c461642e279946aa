//! `zkmargin prove`: account + risk parameters + signed report → proof bundle.

use std::{path::PathBuf, time::Instant};

use anyhow::Context;
use rand::rngs::OsRng;
use serde_json::json;
use zkmargin_circuits::{fr_from_hex, Commitment, Health, RiskParams, Status};
use zkmargin_prover::{
    files::{load_signed_report, write_json, WriteOptions},
    KeyLoadError, LoadEvent, MarginProver, MarginRequest, OracleCheck, DEFAULT_TAU_PPM,
};

use crate::{
    account::{params_or_default, read_account},
    ui::{self, Out, Spinner},
    units::format_amount,
    KeysArg,
};

/// Arguments of `zkmargin prove`.
#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    /// The private account file.
    #[arg(long, value_name = "FILE")]
    account: PathBuf,
    /// The signed price report (from `zkmargin oracle sign`).
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
    /// Proof bundle file to create.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Risk parameters (default: the development parameters).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Check the report against this oracle config (committee, quorum, freshness) first.
    #[arg(long, value_name = "FILE")]
    oracle: Option<PathBuf>,
    /// Threshold τ in ppm: 1000000 is the maintenance line, more asks for a buffer.
    #[arg(long, value_name = "PPM", default_value_t = DEFAULT_TAU_PPM)]
    tau_ppm: u32,
    /// Refuse unless the account's true status is this one.
    #[arg(long, value_enum)]
    expect: Option<Expect>,
    /// Refuse unless the account commits to this (the venue's published commitment).
    #[arg(long, value_name = "0xHEX")]
    commitment: Option<String>,
    /// Check the report's freshness at this time instead of now (unix seconds; needs --oracle).
    #[arg(long, value_name = "UNIX_SECS", requires = "oracle")]
    at: Option<u64>,
    #[command(flatten)]
    keys: KeysArg,
    /// Replace the bundle file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Expect {
    /// H(τ) ≥ 0.
    Meets,
    /// H(τ) < 0.
    Breaches,
}

impl From<Expect> for Status {
    fn from(e: Expect) -> Status {
        match e {
            Expect::Meets => Status::Meets,
            Expect::Breaches => Status::Breaches,
        }
    }
}

pub fn run(args: ProveArgs, out: &Out) -> anyhow::Result<()> {
    let account = read_account(&args.account)?;
    let params = params_or_default(args.params.as_deref())?;
    let report = load_signed_report(&args.report)?;
    let oracle = args
        .oracle
        .as_deref()
        .map(zkmargin_prover::files::load_oracle_config)
        .transpose()?;
    let commitment = args
        .commitment
        .as_deref()
        .map(parse_commitment)
        .transpose()?;

    if oracle.is_none() {
        ui::note("no --oracle given: the report's signatures are checked, its committee, quorum and freshness are left to the verifier");
    }

    let started = Instant::now();
    let prover = load_prover(&args.keys.dir)?;
    let load_time = started.elapsed();

    let now = args.at.unwrap_or_else(ui::now);
    let request = MarginRequest {
        account: &account,
        params: &params,
        report: &report,
        tau_ppm: args.tau_ppm,
        expect: args.expect.map(Status::from),
        commitment,
        oracle: oracle.as_ref().map(|config| OracleCheck { config, now }),
    };
    let (proven, prove_time) = ui::timed("proving", || prover.prove(&request, &mut OsRng));
    let proven = proven.with_context(|| {
        format!(
            "cannot prove account {} at report {}",
            args.account.display(),
            args.report.display()
        )
    })?;
    write_json(
        &args.out,
        &proven.bundle,
        WriteOptions {
            private: false,
            overwrite: args.force,
        },
    )?;

    let status = proven.public.status;
    out.json(&json!({
        "file": args.out,
        "commitment": proven.public.commitment,
        "status": status,
        "tau_ppm": args.tau_ppm,
        "key_fingerprint": proven.bundle.key_fingerprint,
        "development_keys": prover.key().development,
        "key_load_ms": ui::millis(load_time),
        "prove_ms": ui::millis(prove_time),
    }))?;
    out.line(format!(
        "proved: account {} {} its margin threshold (τ = {} ppm)",
        proven.public.commitment,
        status,
        ui::thousands(u128::from(args.tau_ppm))
    ));
    out.line(format!(
        "  health {} (private: not in the bundle)",
        health_text(&proven.health, args.tau_ppm, &params)
    ));
    out.line(format!(
        "  keys loaded in {}, proved and self-verified in {}",
        ui::duration(load_time),
        ui::duration(prove_time)
    ));
    out.line(format!("  bundle written to {}", args.out.display()));
    Ok(())
}

/// Loads the margin proving key, regenerating a missing development key with a
/// spinner, and prints the development-keys warning when it applies.
pub fn load_prover(dir: &std::path::Path) -> anyhow::Result<MarginProver> {
    let prover = load_key(dir, |on_event| MarginProver::load(dir, on_event))?;
    if prover.key().development {
        ui::development_keys_warning(dir);
    }
    Ok(prover)
}

/// Runs a proving-key loader, showing the regeneration of a missing development key
/// (a note and a spinner) and turning its error into one line naming the directory.
pub fn load_key<T>(
    dir: &std::path::Path,
    load: impl FnOnce(&mut dyn FnMut(LoadEvent<'_>)) -> Result<T, KeyLoadError>,
) -> anyhow::Result<T> {
    let mut spinner: Option<Spinner> = None;
    let loaded = load(&mut |event| match event {
        LoadEvent::Regenerating { path } => {
            ui::note(format!(
                "{} is missing: regenerating the development proving key from the public seed",
                path.display()
            ));
            spinner = Some(Spinner::start("regenerating the development proving key"));
        }
        LoadEvent::Regenerated { .. } => {
            if let Some(s) = spinner.take() {
                s.finish();
            }
        }
        LoadEvent::NotSaved { error } => {
            ui::warn(format!(
                "the regenerated proving key was not saved: {error}"
            ));
        }
        _ => {}
    });
    if let Some(s) = spinner.take() {
        s.finish();
    }
    loaded.with_context(|| format!("cannot load the proving key from {}", dir.display()))
}

/// The `--commitment` argument.
pub fn parse_commitment(hex: &str) -> anyhow::Result<Commitment> {
    fr_from_hex(hex)
        .map(Commitment)
        .with_context(|| format!("--commitment {hex} is not a commitment (0x + 64 hex digits)"))
}

/// `+190 USD` style text of H(τ) in quote units.
pub fn health_text(health: &Health, tau_ppm: u32, params: &RiskParams) -> String {
    let excess = health.excess_quote_units(tau_ppm).to_string();
    match excess.parse::<i128>() {
        // Above the line by less than one quote unit (a minimal liquidation's result).
        Ok(0) if health.at(tau_ppm) > 0 => format!(
            "H = +{} {} (less than {} {} above the line)",
            format_amount(0, params.quote_decimals),
            params.quote_symbol,
            format_amount(1, params.quote_decimals),
            params.quote_symbol
        ),
        Ok(v) => format!(
            "H = {}{} {}",
            if v >= 0 { "+" } else { "" },
            format_amount(v, params.quote_decimals),
            params.quote_symbol
        ),
        Err(_) => format!("H = {excess} quote units"),
    }
}
