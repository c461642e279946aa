//! `zkmargin verify`: bundle + oracle config + risk parameters + keys → verdict.
//!
//! Both bundle kinds through `Verifier::verify_any`: a margin bundle gets the
//! verifier's `Verdict` (meets or breaches), a liquidation bundle the verified
//! liquidation (the action, its terms, the deficit and the statement digest). The
//! verifier comes from `VerifierConfig`; nothing here touches the prover.

use std::{path::PathBuf, time::Instant};

use serde_json::json;
use zkmargin_circuits::RiskParams;
use zkmargin_verifier::{
    files::load_bundle, ProofBundle, Verdict, Verified, VerifiedLiquidation, Verifier,
    VerifierConfig,
};

use crate::{
    describe::{self, params_with_digest},
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
    if args.oracle.is_none() {
        ui::note("no --oracle given: using the development oracle committee (3 signers, quorum 2, reports at most 300 s old); its secret keys are public");
    }
    if args.params.is_empty() {
        ui::note("no --params given: accepting the development risk parameters");
    }
    let started = Instant::now();
    let opened = VerifierConfig {
        keys_dir: Some(args.keys.dir.clone()),
        oracle: args.oracle.clone(),
        params: args.params.clone(),
        at: args.at,
    }
    .open()?;
    if opened.verifier.development_keys() {
        ui::development_keys_warning(&opened.keys_dir);
    }
    let (verifier, params) = (&opened.verifier, &opened.params);
    let load_time = started.elapsed();

    let started = Instant::now();
    let result = verifier.verify_any(&bundle);
    let verify_time = started.elapsed();
    match result {
        Ok(verified) => {
            match &verified {
                Verified::Margin(verdict) => report_valid(out, &args, &bundle, verdict, verifier)?,
                Verified::Liquidation(l) => {
                    report_liquidation(out, &args, &bundle, l, verifier, params)?
                }
            }
            out.line(format!(
                "  keys loaded in {}, verified in {}",
                ui::duration(load_time),
                ui::duration(verify_time)
            ));
            Ok(())
        }
        // The keys directory lacks the bundle's circuit: an input that cannot be used.
        Err(e) if e.is_configuration() => Err(anyhow::anyhow!(
            "cannot verify {} with the keys in {}: {e}",
            args.bundle.display(),
            opened.keys_dir.display()
        )),
        Err(e) => {
            out.json(&json!({
                "valid": false,
                "file": args.bundle,
                "circuit": bundle.statement.circuit_id(),
                "error": { "code": e.code(), "message": e.to_string() },
            }))?;
            out.line(format!("INVALID: {}", args.bundle.display()));
            // Without --oracle the committee is the development one: a report signed by
            // any other committee fails on its first signer, and the fix is the flag,
            // not the signature the generic message suggests removing.
            let hint = if args.oracle.is_none() && e.code() == "oracle_unknown_signer" {
                " (no --oracle was given, so the development committee was used: pass --oracle with the committee config that signed the report)"
            } else {
                ""
            };
            Err(Rejected(format!(
                "bundle {} rejected ({}): {e}{hint}",
                args.bundle.display(),
                e.code()
            ))
            .into())
        }
    }
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

fn report_liquidation(
    out: &Out,
    args: &VerifyArgs,
    bundle: &ProofBundle,
    t: &VerifiedLiquidation,
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
        describe::action(&s.action, labels)
    ));
    for line in describe::terms_lines(&s.terms, s.deficit, s.liquidator, labels, 10) {
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
