//! `zkmargin ledger …`: the settlement ledger's commands (`zkmargin_settlement::cli`)
//! and `ledger settle`, which verifies a transition bundle and applies it — never on
//! development trust (`zkmargin_service::trust`) unless given `--allow-development`.

use std::{path::PathBuf, time::Instant};

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;
use zkmargin_circuits::RiskParams;
use zkmargin_prover::{files::load_bundle, registry::LIQUIDATION};
use zkmargin_settlement::{
    cli::{run_blocking, DbArg, LedgerCommand},
    Applied, Ledger, SettleError,
};
use zkmargin_verifier::{Statement, VerifiedTransition};

use zkmargin_service::{trust::Defaulted, TrustCheck};

use crate::{
    oracle::load_config,
    transition::{self, money, params_with_digest},
    ui::{self, Out},
    verify::{load_params, open_verifier},
    KeysArg, Refused, Rejected, Usage,
};

/// `zkmargin ledger …`.
#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    #[command(flatten)]
    Ledger(LedgerCommand),
    /// Verify a liquidation transition bundle, then apply it to the ledger.
    ///
    /// The bundle is verified as `zkmargin verify` does (keys, parameters, oracle
    /// signatures, quorum and freshness, terms recomputed, the Groth16 proof); only a
    /// verified transition reaches the ledger, which applies it atomically: the old
    /// commitment must be the account's current one, the statement must not have been
    /// applied before, the fees are credited and a deficit is paid by the insurance fund
    /// (the rest socialized).
    ///
    /// Settlement writes money, so it refuses development trust — development keys
    /// (give --keys from `zkmargin setup --production`), the development oracle
    /// committee (give --oracle), the development risk parameters (give --params) —
    /// unless given --allow-development, for a test ledger.
    ///
    /// Exit code 0: applied; 3: the bundle is rejected; 4: the ledger refused it
    /// (replay, stale commitment, new commitment already in use, amounts beyond the
    /// ledger's range); 1: an input cannot be used (including a development trust
    /// configuration without --allow-development); 2: bad usage (including --at without
    /// --allow-development).
    Settle(SettleArgs),
}

/// Arguments of `zkmargin ledger settle`.
#[derive(Debug, clap::Args)]
pub struct SettleArgs {
    /// The transition bundle (from `zkmargin liquidate`).
    bundle: PathBuf,
    #[command(flatten)]
    db: DbArg,
    /// Oracle config: the committee, quorum and freshness policy (default: the
    /// development committee, refused without --allow-development).
    #[arg(long, value_name = "FILE")]
    oracle: Option<PathBuf>,
    /// Accepted risk parameters; repeatable (default: the development parameters,
    /// refused without --allow-development).
    #[arg(long = "params", value_name = "FILE")]
    params: Vec<PathBuf>,
    /// Judge the report's freshness at this time instead of now (unix seconds). Only
    /// with --allow-development: it is for settling old fixtures on a test ledger.
    #[arg(long, value_name = "UNIX_SECS")]
    at: Option<u64>,
    #[command(flatten)]
    keys: KeysArg,
    /// Settle even on development keys, the development oracle committee or the
    /// development risk parameters, whose secrets are public (anyone could forge a
    /// liquidation), and allow --at. For test ledgers only; warned on stderr.
    #[arg(long, env = "ZKMARGIN_ALLOW_DEVELOPMENT", value_parser = clap::builder::BoolishValueParser::new())]
    allow_development: bool,
}

pub fn run(cmd: LedgerCmd, out: &Out) -> anyhow::Result<()> {
    match cmd {
        LedgerCmd::Ledger(cmd) => {
            let name = command_name(&cmd);
            let text = run_blocking(cmd, out.json)
                .map_err(|e| anyhow::anyhow!("ledger {name} failed ({}): {e}", e.code()))?;
            println!("{text}");
            Ok(())
        }
        LedgerCmd::Settle(args) => settle(args, out),
    }
}

fn command_name(cmd: &LedgerCommand) -> &'static str {
    match cmd {
        LedgerCommand::Init { .. } => "init",
        LedgerCommand::Register { .. } => "register",
        LedgerCommand::Replace { .. } => "replace",
        LedgerCommand::Show { .. } => "show",
        LedgerCommand::Fund { .. } => "fund",
        LedgerCommand::Events { .. } => "events",
        LedgerCommand::Check { .. } => "check",
    }
}

fn settle(args: SettleArgs, out: &Out) -> anyhow::Result<()> {
    if args.at.is_some() && !args.allow_development {
        return Err(Usage(
            "--at judges the report's freshness at a chosen time, which a command that writes to the ledger allows only with --allow-development (settling old fixtures on a test ledger); settle a fresh transition without --at".to_owned(),
        )
        .into());
    }
    // Nothing is announced, and the ledger not opened, before the trust is judged: a
    // refusal is one line and leaves no trace.
    let oracle = load_config(args.oracle.as_deref())?;
    let params = load_params(&args.params)?;
    let verifier = open_verifier(
        &args.keys.dir,
        oracle,
        params.clone(),
        &LIQUIDATION,
        args.at,
    )?;
    let trust = TrustCheck::of(
        &verifier,
        &args.keys.dir,
        Defaulted {
            oracle: args.oracle.is_none(),
            params: args.params.is_empty(),
        },
    );
    if trust.is_development() {
        if !args.allow_development {
            bail!("{}", trust.refusal());
        }
        ui::warn(trust.warning());
    }
    let bundle = load_bundle(&args.bundle)?;
    if !matches!(bundle.statement, Statement::Liquidation(_)) {
        bail!(
            "{} proves the {} statement, not a liquidation: `ledger settle` takes the transition bundle `zkmargin liquidate` writes",
            args.bundle.display(),
            bundle.statement.circuit_id()
        );
    }

    let started = Instant::now();
    let verified = verifier.verify_transition(&bundle);
    let verify_time = started.elapsed();
    let verified = match verified {
        Ok(v) => v,
        Err(e) => {
            out.json(&json!({
                "settled": false,
                "file": args.bundle,
                "stage": "verify",
                "error": { "code": e.code(), "message": e.to_string() },
            }))?;
            return Err(Rejected(format!(
                "transition {} rejected ({}): {e}; nothing was applied",
                args.bundle.display(),
                e.code()
            ))
            .into());
        }
    };

    let started = Instant::now();
    let applied = apply(&args.db.url, &verified);
    let apply_time = started.elapsed();
    let applied = match applied {
        Ok(a) => a,
        Err(e) => {
            out.json(&json!({
                "settled": false,
                "file": args.bundle,
                "stage": "apply",
                "statement_digest": hex::encode(verified.statement_digest()),
                "error": { "code": e.code(), "message": e.to_string() },
            }))?;
            let text = format!(
                "cannot settle {} ({}): {e}{}",
                args.bundle.display(),
                e.code(),
                settle_hint(&e)
            );
            return Err(if refusal(&e) {
                Refused(text).into()
            } else {
                anyhow::anyhow!(text)
            });
        }
    };

    out.json(&json!({
        "settled": true,
        "file": args.bundle,
        "transition": verified,
        "applied": applied,
        "verify_ms": ui::millis(verify_time),
        "apply_ms": ui::millis(apply_time),
    }))?;
    let labels = params_with_digest(&params, &verified.risk_params_digest());
    for line in applied_lines(&verified, &applied, labels) {
        out.line(line);
    }
    out.line(format!(
        "  verified in {}, applied in {}",
        ui::duration(verify_time),
        ui::duration(apply_time)
    ));
    Ok(())
}

/// The ledger's refusals of a valid transition (exit code 4), as opposed to a ledger
/// that cannot be used (exit code 1).
fn refusal(e: &SettleError) -> bool {
    matches!(
        e,
        SettleError::Replay { .. }
            | SettleError::StaleCommitment { .. }
            | SettleError::CommitmentInUse { .. }
            | SettleError::OutOfRange { .. }
            | SettleError::Overflow(_)
    )
}

/// What to do about a refused settlement.
fn settle_hint(e: &SettleError) -> &'static str {
    match e {
        SettleError::Replay { .. } => "; it is settled already, nothing was applied again",
        SettleError::StaleCommitment { .. } => {
            "; the account moved on since this liquidation was proven: liquidate its current state (`zkmargin ledger show --account ID` shows its commitment)"
        }
        _ => "",
    }
}

/// Opens the ledger at `url`, applies `verified` in one transaction, closes it.
///
/// # Errors
/// Any [`SettleError`].
pub fn apply(url: &str, verified: &VerifiedTransition) -> Result<Applied, SettleError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SettleError::Runtime(e.to_string()))?
        .block_on(async {
            let ledger = Ledger::open(url).await?;
            let applied = ledger.apply(verified).await;
            ledger.close().await;
            applied
        })
}

/// What applying did, as lines: the account move, the credits, the fund.
pub fn applied_lines(
    verified: &VerifiedTransition,
    a: &Applied,
    params: Option<&RiskParams>,
) -> Vec<String> {
    let s = verified.statement();
    let m = |units: u64| money(i128::from(units), params);
    let mut lines = vec![
        format!(
            "SETTLED: liquidation {} applied to account {}",
            a.statement_digest, a.account_id
        ),
        format!(
            "  account    {}: {} → {} (ledger nonce {})",
            a.account_id, s.old_commitment, a.new_commitment, a.account_nonce
        ),
        format!("  action     {}", transition::action(&s.action, params)),
        format!(
            "  liquidator {} credited {} (owed {} in total)",
            a.liquidator,
            m(a.liquidator_fee),
            m(a.liquidator_balance)
        ),
    ];
    let fund = if a.deficit == 0 {
        format!("+{} insurance fee", m(a.insurance_fee))
    } else {
        format!(
            "+{} insurance fee; deficit {}: the fund paid {}, {} socialized",
            m(a.insurance_fee),
            m(a.deficit),
            m(a.fund_paid),
            m(a.socialized)
        )
    };
    lines.push(format!(
        "  fund       {fund}; balance {}",
        m(a.fund_balance)
    ));
    lines.push(format!("  events     #{}..#{}", a.events.0, a.events.1));
    lines
}
