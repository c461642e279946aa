//! `zkmargin liquidate`: breaching account + signed report → transition bundle and the
//! account's new private state.

use std::{path::PathBuf, time::Instant};

use anyhow::{bail, Context};
use rand::rngs::OsRng;
use serde_json::json;
use zkmargin_circuits::{close_factor_max, Health, RiskParams, PPM};
use zkmargin_prover::{
    files::{load_oracle_config, load_signed_report, write_json, WriteOptions},
    AccountFile, LiquidationProof, LiquidationProver, LiquidationRequest, OracleCheck,
    DEFAULT_TAU_PPM,
};

use crate::{
    account::{params_or_default, read_account},
    describe,
    prove::{health_text, load_key, parse_commitment},
    ui::{self, Out},
    KeysArg,
};

/// Arguments of `zkmargin liquidate`.
#[derive(Debug, clap::Args)]
pub struct LiquidateArgs {
    /// The private account file of the account in breach.
    #[arg(long, value_name = "FILE")]
    account: PathBuf,
    /// The signed price report (from `zkmargin oracle sign`).
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
    /// The venue's id of the liquidator the fee is owed to (bound by the proof).
    #[arg(long, value_name = "ID")]
    liquidator: u64,
    /// Transition bundle file to create (public: give it to verifiers and the ledger).
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// File for the account's new private state (mode 0600): the venue's next witness.
    #[arg(long, value_name = "FILE")]
    new_account: PathBuf,
    /// Risk parameters (default: the development parameters).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Check the report against this oracle config (committee, quorum, freshness) first.
    #[arg(long, value_name = "FILE")]
    oracle: Option<PathBuf>,
    /// Refuse unless the account commits to this (the venue's published commitment).
    #[arg(long, value_name = "0xHEX")]
    commitment: Option<String>,
    /// Check the report's freshness at this time instead of now (unix seconds; needs --oracle).
    #[arg(long, value_name = "UNIX_SECS", requires = "oracle")]
    at: Option<u64>,
    #[command(flatten)]
    keys: KeysArg,
    /// Replace the output files if they exist.
    #[arg(long)]
    force: bool,
}

pub fn run(args: LiquidateArgs, out: &Out) -> anyhow::Result<()> {
    let account = read_account(&args.account)?;
    let params = params_or_default(args.params.as_deref())?;
    let report = load_signed_report(&args.report)?;
    let oracle = args.oracle.as_deref().map(load_oracle_config).transpose()?;
    let commitment = args
        .commitment
        .as_deref()
        .map(parse_commitment)
        .transpose()?;
    check_outputs(&args)?;
    if oracle.is_none() {
        ui::note("no --oracle given: the report's signatures are checked, its committee, quorum and freshness are left to the verifier");
    }

    let started = Instant::now();
    let prover = load_liquidation_prover(&args.keys.dir)?;
    let load_time = started.elapsed();

    let now = args.at.unwrap_or_else(ui::now);
    let request = LiquidationRequest {
        account: &account,
        params: &params,
        report: &report,
        liquidator: args.liquidator,
        oracle: oracle.as_ref().map(|config| OracleCheck { config, now }),
        commitment,
        new_blinding: None,
    };
    let (proven, prove_time) = ui::timed("choosing and proving the liquidation", || {
        prover.prove(&request, &mut OsRng)
    });
    let proven = proven.with_context(|| {
        format!(
            "cannot liquidate account {} at report {}",
            args.account.display(),
            args.report.display()
        )
    })?;
    // The new state first: without it (its blinding) the venue could never prove
    // anything about the account again, while a lost bundle can be proven anew.
    let write = |private| WriteOptions {
        private,
        overwrite: args.force,
    };
    write_json(
        &args.new_account,
        &AccountFile::new(proven.new_account.clone()),
        write(true),
    )?;
    write_json(&args.out, &proven.bundle, write(false))?;

    let p = &proven.public;
    out.json(&json!({
        "file": args.out,
        "new_account_file": args.new_account,
        "old_commitment": p.old_commitment,
        "new_commitment": p.new_commitment,
        "liquidator": p.liquidator,
        "action": p.action,
        "terms": p.terms,
        "deficit": p.deficit,
        "restores_target": proven.chosen.restores_target,
        "statement_digest": hex::encode(p.digest()),
        "key_fingerprint": proven.bundle.key_fingerprint,
        "development_keys": prover.key().development,
        "key_load_ms": ui::millis(load_time),
        "prove_ms": ui::millis(prove_time),
    }))?;
    out.line(format!(
        "liquidated: account {} → {}",
        p.old_commitment, p.new_commitment
    ));
    for line in summary_lines(&proven, &params) {
        out.line(format!("  {line}"));
    }
    out.line(format!(
        "  keys loaded in {}, chosen, proved and self-verified in {}",
        ui::duration(load_time),
        ui::duration(prove_time)
    ));
    out.line(format!(
        "  transition bundle written to {}",
        args.out.display()
    ));
    out.line(format!(
        "  new account written to {} (mode 0600: the account's next private state, nonce {})",
        args.new_account.display(),
        proven.new_account.nonce
    ));
    Ok(())
}

/// The action, its terms and the health change, as labelled lines.
pub fn summary_lines(proven: &LiquidationProof, params: &RiskParams) -> Vec<String> {
    let p = &proven.public;
    let mut lines = vec![format!(
        "action     {}",
        describe::action(&p.action, Some(params))
    )];
    lines.extend(describe::terms_lines(
        &p.terms,
        p.deficit,
        p.liquidator,
        Some(params),
        10,
    ));
    lines.push(format!(
        "health     {} → {}: {} (private: not in the bundle)",
        health_text(&proven.health_before, DEFAULT_TAU_PPM, params),
        health_text(&proven.health_after, DEFAULT_TAU_PPM, params),
        health_verdict(proven, params)
    ));
    lines
}

fn health_verdict(proven: &LiquidationProof, params: &RiskParams) -> String {
    let after: &Health = &proven.health_after;
    let target = params.liquidation.liquidation_target_ppm;
    let target_text = format!("τ = {}", crate::units::format_amount(i128::from(target), 6));
    if proven.public.deficit > 0 {
        "closed out, the deficit left to the insurance fund".to_owned()
    } else if after.at(target) >= 0 {
        format!("restored above the target buffer ({target_text})")
    } else {
        let state = if after.at(PPM as u32) >= 0 {
            "meets its maintenance margin"
        } else {
            "NOT restored yet"
        };
        let why = stopped_short_because(proven);
        format!(
            "{state} ({why}, below the target buffer {target_text}): liquidate the new state again"
        )
    }
}

/// Why an action that leaves the account below the target buffer stopped where it did:
/// the bound the rules put on its amount, recomputed on the old state
/// ([`close_factor_max`]), so the close factor is named only when it applied.
fn stopped_short_because(proven: &LiquidationProof) -> &'static str {
    let action = &proven.public.action;
    let amount = action.amount();
    let left = action.held_in(&proven.new_account);
    let held = u64::try_from(left + i128::from(amount)).unwrap_or(u64::MAX);
    let (max, deep) = close_factor_max(action, held, &proven.health_before, &proven.public);
    if left <= 0 {
        if deep {
            "in deep breach the close factor does not apply, and the whole slot was taken"
        } else if max == held {
            "the slot is dust, so the close factor does not apply, and the whole of it was taken"
        } else {
            "the whole slot was taken"
        }
    } else if amount == max {
        "the close factor capped the action"
    } else {
        // The rules' amount is the least whose linear gain reaches the target; the
        // account's rounding can leave it a hair short.
        "rounding left the rules' amount just short of the target"
    }
}

/// Loads the liquidation proving key (regenerating a missing development key) and
/// prints the development-keys warning when it applies.
pub fn load_liquidation_prover(dir: &std::path::Path) -> anyhow::Result<LiquidationProver> {
    let prover = load_key(dir, |on_event| LiquidationProver::load(dir, on_event))?;
    if prover.key().development {
        ui::development_keys_warning(dir);
    }
    Ok(prover)
}

/// Refuses before any work when the outputs collide or exist (unless --force), so a
/// refusal leaves nothing half-written.
fn check_outputs(args: &LiquidateArgs) -> anyhow::Result<()> {
    if args.out == args.new_account {
        bail!(
            "-o and --new-account are both {}: the transition bundle is public and the new account private; give two files",
            args.out.display()
        );
    }
    if !args.force {
        for path in [&args.new_account, &args.out] {
            if path.exists() {
                bail!(
                    "{} already exists; choose another path or pass --force to overwrite it",
                    path.display()
                );
            }
        }
    }
    Ok(())
}
