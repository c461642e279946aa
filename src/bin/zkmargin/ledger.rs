//! `zkmargin ledger …`: the settlement ledger's command line. The commands themselves
//! are `zkmargin_settlement::commands`; `ledger settle` verifies a liquidation bundle
//! and applies it through the `Settler` — never on development trust
//! (`zkmargin_verifier::trust`) unless given `--allow-development`.

use std::{path::PathBuf, sync::Arc};

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::json;
use zkmargin::runtime::{self, Flavor};
use zkmargin_circuits::RiskParams;
use zkmargin_settlement::{
    commands::{self, LedgerCommand as Command, ShowTarget},
    Applied, Ledger, PinnedTrust, SettleError, SettleFailure, Settled, Settler, DEFAULT_DB_URL,
};
use zkmargin_verifier::{files::load_bundle, Statement, VerifiedLiquidation, VerifierConfig};

use crate::{
    describe::{self, money, params_with_digest},
    ui::{self, Out},
    KeysArg, Refused, Rejected, Usage,
};

/// The ledger database option.
#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// Ledger database: sqlite://PATH?mode=rwc (default) or postgres://USER:PASS@HOST:PORT/DB.
    #[arg(long = "db", value_name = "URL", env = "ZKMARGIN_LEDGER_DB", default_value = DEFAULT_DB_URL)]
    pub url: String,
}

/// The operator secret option.
#[derive(Debug, Clone, Args)]
pub struct OperatorArg {
    /// File holding the operator secret (≥ 16 random bytes, e.g. 64 hex digits; a
    /// trailing newline is ignored). The ledger stores only its SHA-256.
    #[arg(
        long = "operator-secret-file",
        value_name = "FILE",
        env = "ZKMARGIN_OPERATOR_SECRET_FILE"
    )]
    pub path: PathBuf,
}

/// What the ledger is pinned to accept liquidations under: the verifier these flags
/// load (the same flags `ledger settle` takes).
#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    #[command(flatten)]
    keys: KeysArg,
    /// Oracle config: the committee whose reports the ledger accepts (default: the
    /// development committee, refused without --allow-development).
    #[arg(long, value_name = "FILE")]
    oracle: Option<PathBuf>,
    /// Accepted risk parameters; repeatable (default: the development parameters,
    /// refused without --allow-development).
    #[arg(long = "params", value_name = "FILE")]
    params: Vec<PathBuf>,
    /// Pin development keys, the development committee or the development parameters,
    /// whose secrets are public. For test ledgers only; warned on stderr.
    #[arg(long, env = "ZKMARGIN_ALLOW_DEVELOPMENT", value_parser = clap::builder::BoolishValueParser::new())]
    allow_development: bool,
}

impl TrustArgs {
    /// Loads the verifier the flags name, judges its trust and returns its pin.
    fn pin(&self) -> anyhow::Result<PinnedTrust> {
        let opened = VerifierConfig {
            keys_dir: Some(self.keys.dir.clone()),
            oracle: self.oracle.clone(),
            params: self.params.clone(),
            at: None,
        }
        .open()?;
        if opened.trust.is_development() {
            if !self.allow_development {
                bail!("{}", opened.trust.refusal());
            }
            ui::warn(opened.trust.warning());
        }
        Ok(PinnedTrust::of(&opened.verifier)?)
    }
}

/// `zkmargin ledger …` commands run by `zkmargin_settlement::commands`.
#[derive(Debug, Clone, Subcommand)]
pub enum LedgerCommand {
    /// Create the ledger if needed, apply its schema, set the operator key, and pin
    /// the trust: the liquidation key, oracle committee and risk parameters the ledger
    /// will accept liquidations under (the same flags as `ledger settle`). A
    /// liquidation verified under anything else is refused (`untrusted_verifier`).
    Init {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// The operator secret.
        #[command(flatten)]
        operator: OperatorArg,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Rotate the pinned trust (operator): new keys after a ceremony, another oracle
    /// committee, new risk parameters. Writes a `trust_pinned` event with the previous
    /// and the new pin.
    Trust {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// The operator secret.
        #[command(flatten)]
        operator: OperatorArg,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Register an account with its first commitment (operator).
    Register {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// The operator secret.
        #[command(flatten)]
        operator: OperatorArg,
        /// The venue's account id.
        #[arg(long, value_name = "ID")]
        account: u64,
        /// Its commitment, 0x + 64 hex digits (`zkmargin account commit`).
        #[arg(long, value_name = "HEX")]
        commitment: String,
    },
    /// Replace an account's commitment if it is still the expected one (operator):
    /// the venue's own updates — trades, deposits, withdrawals.
    Replace {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// The operator secret.
        #[command(flatten)]
        operator: OperatorArg,
        /// The venue's account id.
        #[arg(long, value_name = "ID")]
        account: u64,
        /// The commitment the update starts from; refused if the account moved on.
        #[arg(long, value_name = "HEX")]
        expected: String,
        /// The commitment after the update.
        #[arg(long, value_name = "HEX")]
        new: String,
    },
    /// Show an account, a liquidation or a liquidator's credit; without a selector,
    /// the ledger's totals.
    Show {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// An account by id.
        #[arg(long, value_name = "ID", group = "target")]
        account: Option<u64>,
        /// The account whose current commitment this is.
        #[arg(long, value_name = "HEX", group = "target")]
        commitment: Option<String>,
        /// A liquidation by statement digest (64 hex digits).
        #[arg(long, value_name = "DIGEST", group = "target")]
        liquidation: Option<String>,
        /// A liquidator's credit.
        #[arg(long, value_name = "ID", group = "target")]
        liquidator: Option<u64>,
    },
    /// Deposit into the insurance fund (operator).
    Fund {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// The operator secret.
        #[command(flatten)]
        operator: OperatorArg,
        /// Quote atomic units (1e-6 USD).
        #[arg(long, value_name = "UNITS")]
        amount: u64,
    },
    /// Print the event log after a sequence number.
    Events {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// Print events with a larger sequence number.
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        since: u64,
        /// At most this many.
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: u32,
    },
    /// Recompute the fund, every credit and every account from the event log and
    /// compare with the ledger; exit non-zero on any difference.
    Check {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
    },
}

impl LedgerCommand {
    /// The library command this command line names.
    fn into_command(self) -> anyhow::Result<Command> {
        Ok(match self {
            LedgerCommand::Init {
                db,
                operator,
                trust,
            } => Command::Init {
                db: db.url,
                operator: operator.path,
                trust: trust.pin()?,
            },
            LedgerCommand::Trust {
                db,
                operator,
                trust,
            } => Command::Trust {
                db: db.url,
                operator: operator.path,
                trust: trust.pin()?,
            },
            LedgerCommand::Register {
                db,
                operator,
                account,
                commitment,
            } => Command::Register {
                db: db.url,
                operator: operator.path,
                account,
                commitment,
            },
            LedgerCommand::Replace {
                db,
                operator,
                account,
                expected,
                new,
            } => Command::Replace {
                db: db.url,
                operator: operator.path,
                account,
                expected,
                new,
            },
            LedgerCommand::Show {
                db,
                account,
                commitment,
                liquidation,
                liquidator,
            } => Command::Show {
                db: db.url,
                target: match (account, commitment, liquidation, liquidator) {
                    (Some(id), ..) => ShowTarget::Account(id),
                    (_, Some(c), ..) => ShowTarget::Commitment(c),
                    (_, _, Some(d), _) => ShowTarget::Liquidation(d),
                    (.., Some(id)) => ShowTarget::Liquidator(id),
                    _ => ShowTarget::Summary,
                },
            },
            LedgerCommand::Fund {
                db,
                operator,
                amount,
            } => Command::Fund {
                db: db.url,
                operator: operator.path,
                amount,
            },
            LedgerCommand::Events { db, since, limit } => Command::Events {
                db: db.url,
                since,
                limit,
            },
            LedgerCommand::Check { db } => Command::Check { db: db.url },
        })
    }
}

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
    /// (replay, stale commitment, stale report, untrusted verifier — keys, committee
    /// or parameters other than the pinned ones —, new commitment already in use,
    /// amounts beyond the ledger's range); 1: an input cannot be used (including a development trust
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
            let cmd = cmd.into_command()?;
            let text = runtime::new(Flavor::CurrentThread)
                .map_err(|e| SettleError::Runtime(e.to_string()))
                .and_then(|rt| rt.block_on(commands::run(cmd, out.json)))
                .map_err(|e| anyhow::anyhow!("ledger {name} failed ({}): {e}", e.code()))?;
            crate::ui::stdout_line(&text);
            Ok(())
        }
        LedgerCmd::Settle(args) => settle(args, out),
    }
}

fn command_name(cmd: &LedgerCommand) -> &'static str {
    match cmd {
        LedgerCommand::Init { .. } => "init",
        LedgerCommand::Trust { .. } => "trust",
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
    let opened = VerifierConfig {
        keys_dir: Some(args.keys.dir.clone()),
        oracle: args.oracle.clone(),
        params: args.params.clone(),
        at: args.at,
    }
    .open()?;
    let trust = &opened.trust;
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

    if opened.verifier.liquidation_key_fingerprint().is_none() {
        // Checked before the ledger is opened: nothing to settle with.
        bail!(
            "cannot settle {} with the keys in {}: {}",
            args.bundle.display(),
            args.keys.dir.display(),
            zkmargin_verifier::VerifyError::NoKeys(zkmargin_circuits::LIQUIDATION_CIRCUIT_ID)
        );
    }
    let params = opened.params;
    let verifier = Arc::new(opened.verifier);
    let settled = runtime::new(Flavor::CurrentThread)
        .map_err(|e| SettleError::Runtime(e.to_string()))
        .and_then(|rt| {
            rt.block_on(async {
                let settler = Settler::new(verifier, Ledger::open_existing(&args.db.url).await?);
                let settled = settler.settle(&bundle).await;
                settler.ledger().close().await;
                Ok(settled)
            })
        });
    let settled = match settled {
        Ok(Ok(s)) => s,
        Ok(Err(SettleFailure::Verify(e))) => {
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
        Ok(Err(SettleFailure::Apply {
            statement_digest,
            error,
        })) => return Err(apply_failed(out, &args, Some(&statement_digest), &error)),
        Ok(Err(other)) => {
            return Err(anyhow::anyhow!(
                "cannot settle {}: {other}",
                args.bundle.display()
            ))
        }
        Err(error) => return Err(apply_failed(out, &args, None, &error)),
    };

    let Settled {
        settled: applied,
        liquidation: verified,
        timings,
    } = settled;
    out.json(&json!({
        "settled": true,
        "file": args.bundle,
        "transition": verified,
        "applied": applied,
        "verify_ms": ui::millis(timings.verify),
        "apply_ms": ui::millis(timings.apply),
    }))?;
    let labels = params_with_digest(&params, &verified.risk_params_digest());
    for line in applied_lines(&verified, &applied, labels) {
        out.line(line);
    }
    out.line(format!(
        "  verified in {}, applied in {}",
        ui::duration(timings.verify),
        ui::duration(timings.apply)
    ));
    Ok(())
}

/// The ledger could not apply (or open for) a verified liquidation: the JSON record and
/// the error to exit with (4 for a refusal, 1 for a ledger that cannot be used).
fn apply_failed(
    out: &Out,
    args: &SettleArgs,
    statement_digest: Option<&str>,
    e: &SettleError,
) -> anyhow::Error {
    if let Err(json_error) = out.json(&json!({
        "settled": false,
        "file": args.bundle,
        "stage": "apply",
        "statement_digest": statement_digest,
        "error": { "code": e.code(), "message": e.to_string() },
    })) {
        return json_error;
    }
    let text = format!(
        "cannot settle {} ({}): {e}{}",
        args.bundle.display(),
        e.code(),
        settle_hint(e)
    );
    if refusal(e) {
        Refused(text).into()
    } else {
        anyhow::anyhow!(text)
    }
}

/// The ledger's refusals of a valid transition (exit code 4), as opposed to a ledger
/// that cannot be used (exit code 1).
fn refusal(e: &SettleError) -> bool {
    matches!(
        e,
        SettleError::Replay { .. }
            | SettleError::StaleCommitment { .. }
            | SettleError::StaleReport { .. }
            | SettleError::UntrustedVerifier { .. }
            | SettleError::TrustNotPinned
            | SettleError::CommitmentInUse { .. }
            | SettleError::OutOfRange { .. }
            | SettleError::Overflow(_)
    )
}

/// What to do about a refused settlement.
fn settle_hint(e: &SettleError) -> &'static str {
    match e {
        SettleError::Replay { .. } => "; it is settled already, nothing was applied again",
        SettleError::StaleReport { .. } => {
            "; make the liquidation again at the newest report (`zkmargin liquidate` with a fresh signed report)"
        }
        SettleError::StaleCommitment { .. } => {
            "; the account moved on since this liquidation was proven: liquidate its current state (`zkmargin ledger show --account ID` shows its commitment)"
        }
        _ => "",
    }
}

/// What applying did, as lines: the account move, the credits, the fund.
pub fn applied_lines(
    verified: &VerifiedLiquidation,
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
        format!("  action     {}", describe::action(&s.action, params)),
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// Stand-in for the binary: `zkmargin [--json] ledger <command>`.
    #[derive(Debug, Parser)]
    struct Cli {
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        ledger: LedgerCommand,
    }

    fn parse(args: &[&str]) -> LedgerCommand {
        Cli::try_parse_from(std::iter::once("ledger").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .ledger
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
        let LedgerCommand::Check { db } = parse(&["check"]) else {
            panic!("check parses as Check")
        };
        // The default unless ZKMARGIN_LEDGER_DB is set in the environment.
        if std::env::var_os("ZKMARGIN_LEDGER_DB").is_none() {
            assert_eq!(db.url, DEFAULT_DB_URL);
        }
        // One selector at most.
        assert!(
            Cli::try_parse_from(["ledger", "show", "--account", "1", "--liquidator", "2"]).is_err()
        );
        let help = Cli::command()
            .find_subcommand_mut("register")
            .unwrap()
            .render_long_help()
            .to_string();
        for option in [
            "--db <URL>",
            "--operator-secret-file <FILE>",
            "--account <ID>",
        ] {
            assert!(help.contains(option), "{help}");
        }
    }

    #[test]
    fn each_selector_of_show_names_its_target() {
        for (args, target) in [
            (vec!["show"], ShowTarget::Summary),
            (vec!["show", "--account", "7"], ShowTarget::Account(7)),
            (vec!["show", "--liquidator", "9"], ShowTarget::Liquidator(9)),
            (
                vec!["show", "--commitment", "0x01"],
                ShowTarget::Commitment("0x01".into()),
            ),
            (
                vec!["show", "--liquidation", "ab"],
                ShowTarget::Liquidation("ab".into()),
            ),
        ] {
            let Command::Show { target: got, .. } = parse(&args).into_command().unwrap() else {
                panic!("{args:?} parses as Show")
            };
            assert_eq!(got, target, "{args:?}");
        }
    }
}
