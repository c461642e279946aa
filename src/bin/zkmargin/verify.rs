//! `zkmargin verify`: bundle + oracle config + risk parameters + keys → verdict.
//!
//! Both bundle kinds: a margin bundle gets the verifier's `Verdict` (meets or
//! breaches), a liquidation transition bundle `verify_transition`'s verified
//! transition (the action, its terms, the deficit and the statement digest).

use std::{path::PathBuf, sync::Arc, time::Instant};

use anyhow::Context;
use serde_json::json;
use zkmargin_circuits::RiskParams;
use zkmargin_prover::{
    files::load_bundle,
    files::load_risk_params,
    keys::manifest_entry,
    registry::{LIQUIDATION, MARGIN},
    CircuitDef,
};
use zkmargin_verifier::{
    FixedClock, ProofBundle, Statement, SystemClock, Verdict, VerifiedTransition, Verifier,
};

use crate::{
    oracle::config_or_default,
    transition::{self, params_with_digest},
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
    let params = params_or_development(&args.params)?;

    let started = Instant::now();
    let verifier = load_verifier(
        &args.keys.dir,
        oracle,
        params.clone(),
        circuit_of(&bundle),
        args.at,
    )?;
    let load_time = started.elapsed();

    let started = Instant::now();
    let result = match &bundle.statement {
        Statement::Margin(_) => verifier.verify(&bundle).map(Verified::Margin),
        Statement::Liquidation(_) => verifier
            .verify_transition(&bundle)
            .map(|t| Verified::Transition(Box::new(t))),
    };
    let verify_time = started.elapsed();
    match result {
        Ok(verified) => {
            match &verified {
                Verified::Margin(verdict) => report_valid(out, &args, &bundle, verdict, &verifier)?,
                Verified::Transition(t) => {
                    report_transition(out, &args, &bundle, t, &verifier, &params)?
                }
            }
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
                "circuit": bundle.statement.circuit_id(),
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

/// What a valid bundle proved.
enum Verified {
    Margin(Verdict),
    Transition(Box<VerifiedTransition>),
}

/// The circuit whose keys verify `bundle`.
pub fn circuit_of(bundle: &ProofBundle) -> &'static CircuitDef {
    match bundle.statement {
        Statement::Margin(_) => &MARGIN,
        Statement::Liquidation(_) => &LIQUIDATION,
    }
}

/// The `--params` files, or the development parameters (announced).
pub fn params_or_development(paths: &[PathBuf]) -> anyhow::Result<Vec<RiskParams>> {
    if paths.is_empty() {
        ui::note("no --params given: accepting the development risk parameters");
    }
    load_params(paths)
}

/// The `--params` files, or the development parameters (not announced).
pub fn load_params(paths: &[PathBuf]) -> anyhow::Result<Vec<RiskParams>> {
    if paths.is_empty() {
        return Ok(vec![RiskParams::development()]);
    }
    Ok(paths
        .iter()
        .map(|p| load_risk_params(p))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Builds a verifier from `dir` after checking that the manifest describes this
/// build's margin circuit and `circuit` (the one the bundle needs), with the clock
/// at `at` (or the system's), and prints the development-keys warning when it applies.
pub fn load_verifier(
    dir: &std::path::Path,
    oracle: zkmargin_oracle::OracleConfig,
    params: Vec<RiskParams>,
    circuit: &'static CircuitDef,
    at: Option<u64>,
) -> anyhow::Result<Verifier> {
    let verifier = open_verifier(dir, oracle, params, circuit, at)?;
    if verifier.development_keys() {
        ui::development_keys_warning(dir);
    }
    Ok(verifier)
}

/// [`load_verifier`] without the development-keys warning.
pub fn open_verifier(
    dir: &std::path::Path,
    oracle: zkmargin_oracle::OracleConfig,
    params: Vec<RiskParams>,
    circuit: &'static CircuitDef,
    at: Option<u64>,
) -> anyhow::Result<Verifier> {
    let context = || format!("cannot load the verifying key from {}", dir.display());
    manifest_entry(dir, &MARGIN).with_context(context)?;
    if circuit.id != MARGIN.id {
        manifest_entry(dir, circuit).with_context(context)?;
    }
    let verifier = Verifier::from_keys_dir(dir, oracle, params).with_context(context)?;
    Ok(match at {
        Some(t) => verifier.with_clock(Arc::new(FixedClock(t))),
        None => verifier.with_clock(Arc::new(SystemClock)),
    })
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
        "circuit": bundle.statement.circuit_id(),
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
    provenance(
        out,
        Provenance {
            report_digest: m.report_digest(),
            observed_at: m.report_observed_at(),
            oracle_config_digest: m.oracle_config_digest(),
            risk_params_digest: m.risk_params_digest(),
            key_fingerprint: m.key_fingerprint(),
        },
        now,
        bundle,
        verifier,
    );
    Ok(())
}

/// What a verified statement was checked against.
struct Provenance<'a> {
    report_digest: [u8; 32],
    observed_at: u64,
    oracle_config_digest: [u8; 32],
    risk_params_digest: [u8; 32],
    key_fingerprint: &'a str,
}

/// The lines saying which report, committee, parameters and key a verdict rests on.
fn provenance(out: &Out, p: Provenance<'_>, now: u64, bundle: &ProofBundle, verifier: &Verifier) {
    out.line(format!(
        "  prices     report {} observed {}, {} signatures (quorum {})",
        ui::short(&hex::encode(p.report_digest)),
        ui::age(p.observed_at, now),
        bundle.report.signatures.len(),
        verifier.oracle_config().quorum
    ));
    out.line(format!(
        "  oracle     config {}",
        hex::encode(p.oracle_config_digest)
    ));
    out.line(format!(
        "  params     {}",
        hex::encode(p.risk_params_digest)
    ));
    out.line(format!(
        "  key        {}{}",
        p.key_fingerprint,
        if verifier.development_keys() {
            " (DEVELOPMENT keys)"
        } else {
            ""
        }
    ));
}

fn report_transition(
    out: &Out,
    args: &VerifyArgs,
    bundle: &ProofBundle,
    t: &VerifiedTransition,
    verifier: &Verifier,
    params: &[RiskParams],
) -> anyhow::Result<()> {
    out.json(&json!({
        "valid": true,
        "file": args.bundle,
        "circuit": bundle.statement.circuit_id(),
        "transition": t,
        "development_keys": verifier.development_keys(),
    }))?;
    let s = t.statement();
    let labels = params_with_digest(params, &t.risk_params_digest());
    out.line(format!(
        "VALID: liquidation of account {} → {}",
        s.old_commitment, s.new_commitment
    ));
    out.line(format!(
        "  action     {}",
        transition::action(&s.action, labels)
    ));
    for line in transition::terms_lines(&s.terms, s.deficit, s.liquidator, labels, 10) {
        out.line(format!("  {line}"));
    }
    out.line(format!(
        "  statement  {} (the settlement ledger's replay key)",
        hex::encode(t.statement_digest())
    ));
    let now = args.at.unwrap_or_else(ui::now);
    provenance(
        out,
        Provenance {
            report_digest: t.report_digest(),
            observed_at: t.report_observed_at(),
            oracle_config_digest: t.oracle_config_digest(),
            risk_params_digest: t.risk_params_digest(),
            key_fingerprint: t.key_fingerprint(),
        },
        now,
        bundle,
        verifier,
    );
    Ok(())
}
