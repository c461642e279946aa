//! `zkmargin verify`: bundle + oracle config + risk parameters + keys → verdict.

use std::{path::PathBuf, sync::Arc, time::Instant};

use anyhow::Context;
use serde_json::json;
use zkmargin_circuits::RiskParams;
use zkmargin_prover::{files::load_bundle, files::load_risk_params, keys::manifest_entry};
use zkmargin_verifier::{FixedClock, ProofBundle, SystemClock, Verdict, Verifier};

use crate::{
    oracle::config_or_default,
    ui::{self, Out},
    KeysArg, Rejected,
};

/// Arguments of `zkmargin verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The proof bundle.
    bundle: PathBuf,
    /// Oracle config: the committee, quorum and freshness policy (default: the development committee).
    #[arg(long, value_name = "FILE")]
    oracle: Option<PathBuf>,
    /// Accepted risk parameters; repeatable (default: the development parameters).
    #[arg(long = "params", value_name = "FILE")]
    params: Vec<PathBuf>,
    /// Judge the report's freshness at this time instead of now (unix seconds).
    #[arg(long, value_name = "UNIX_SECS")]
    at: Option<u64>,
    #[command(flatten)]
    keys: KeysArg,
}

pub fn run(args: VerifyArgs, out: &Out) -> anyhow::Result<()> {
    let bundle = load_bundle(&args.bundle)?;
    let oracle = config_or_default(args.oracle.as_deref())?;
    let params = if args.params.is_empty() {
        ui::note("no --params given: accepting the development risk parameters");
        vec![RiskParams::development()]
    } else {
        args.params
            .iter()
            .map(|p| load_risk_params(p))
            .collect::<Result<Vec<_>, _>>()?
    };

    let started = Instant::now();
    let verifier = load_verifier(&args.keys.dir, oracle, params)?;
    let verifier = match args.at {
        Some(t) => verifier.with_clock(Arc::new(FixedClock(t))),
        None => verifier.with_clock(Arc::new(SystemClock)),
    };
    let load_time = started.elapsed();

    let started = Instant::now();
    let result = verifier.verify(&bundle);
    let verify_time = started.elapsed();
    match result {
        Ok(verdict) => {
            report_valid(out, &args, &bundle, &verdict, &verifier)?;
            out.line(format!(
                "  keys loaded in {}, verified in {}",
                ui::duration(load_time),
                ui::duration(verify_time)
            ));
            Ok(())
        }
        Err(e) => {
            out.json(&json!({
                "valid": false,
                "file": args.bundle,
                "error": { "code": e.code(), "message": e.to_string() },
            }))?;
            out.line(format!("INVALID: {}", args.bundle.display()));
            Err(Rejected(format!(
                "bundle {} rejected ({}): {e}",
                args.bundle.display(),
                e.code()
            ))
            .into())
        }
    }
}

/// Builds a verifier from `dir` after checking that the manifest describes this
/// build's circuit, and prints the development-keys warning when it applies.
pub fn load_verifier(
    dir: &std::path::Path,
    oracle: zkmargin_oracle::OracleConfig,
    params: Vec<RiskParams>,
) -> anyhow::Result<Verifier> {
    let context = || format!("cannot load the verifying key from {}", dir.display());
    manifest_entry(dir, &zkmargin_prover::registry::MARGIN).with_context(context)?;
    let verifier = Verifier::from_keys_dir(dir, oracle, params).with_context(context)?;
    if verifier.development_keys() {
        ui::development_keys_warning(dir);
    }
    Ok(verifier)
}

fn report_valid(
    out: &Out,
    args: &VerifyArgs,
    bundle: &ProofBundle,
    verdict: &Verdict,
    verifier: &Verifier,
) -> anyhow::Result<()> {
    let m = verdict.margin();
    out.json(&json!({
        "valid": true,
        "file": args.bundle,
        "verdict": verdict,
        "development_keys": verifier.development_keys(),
    }))?;
    let now = args.at.unwrap_or_else(ui::now);
    out.line(format!(
        "VALID: account {} {} its margin threshold (τ = {} ppm)",
        m.commitment(),
        m.status().to_string().to_uppercase(),
        ui::thousands(u128::from(m.tau_ppm()))
    ));
    out.line(format!(
        "  prices     report {} observed {}, {} signatures (quorum {})",
        ui::short(&hex::encode(m.report_digest())),
        ui::age(m.report_observed_at(), now),
        bundle.report.signatures.len(),
        verifier.oracle_config().quorum
    ));
    out.line(format!(
        "  oracle     config {}",
        hex::encode(m.oracle_config_digest())
    ));
    out.line(format!(
        "  params     {}",
        hex::encode(m.risk_params_digest())
    ));
    out.line(format!(
        "  key        {}{}",
        m.key_fingerprint(),
        if verifier.development_keys() {
            " (DEVELOPMENT keys)"
        } else {
            ""
        }
    ));
    Ok(())
}
