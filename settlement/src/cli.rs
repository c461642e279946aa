//! `zkmargin ledger …`: the ledger's commands, as a library the `zkmargin` binary
//! wires in. Each returns the text (or JSON) to print; the binary prints it and maps
//! an error to a one-line message and a non-zero exit code.
//!
//! `zkmargin ledger settle` (verify a transition bundle, then apply it) is not here:
//! it needs the verifier and the key files, so the binary defines it
//! (`src/bin/zkmargin/ledger.rs`) around [`Ledger::apply`].

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;
use zkmargin_circuits::{fr_from_hex, Commitment};

use crate::{events::Event, Ledger, OperatorKey, SettleError, DEFAULT_DB_URL};

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

/// `zkmargin ledger …` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum LedgerCommand {
    /// Create the ledger if needed, apply its schema, and set the operator key.
    Init {
        /// The ledger database.
        #[command(flatten)]
        db: DbArg,
        /// The operator secret.
        #[command(flatten)]
        operator: OperatorArg,
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

/// Runs `cmd`; returns what to print (JSON when `json`).
///
/// # Errors
/// Any [`SettleError`]; the binary prints it on one line and exits non-zero.
pub async fn run(cmd: LedgerCommand, json: bool) -> Result<String, SettleError> {
    match cmd {
        LedgerCommand::Init { db, operator } => {
            let key = OperatorKey::from_file(&operator.path)?;
            let ledger = Ledger::open(&db.url).await?;
            ledger.init(&key).await?;
            let s = ledger.summary().await?;
            ledger.close().await;
            out(json, &s, || {
                format!(
                    "ledger ready: {}, schema version {}, operator key set",
                    s.backend.name(),
                    s.schema_version
                )
            })
        }
        LedgerCommand::Register {
            db,
            operator,
            account,
            commitment,
        } => {
            let key = OperatorKey::from_file(&operator.path)?;
            let c = parse_commitment("commitment", &commitment)?;
            let ledger = Ledger::open(&db.url).await?;
            let a = ledger.register_account(&key, account, &c).await;
            ledger.close().await;
            let a = a?;
            out(json, &a, || {
                format!(
                    "account {} registered: {} (nonce {})",
                    a.id, a.commitment, a.nonce
                )
            })
        }
        LedgerCommand::Replace {
            db,
            operator,
            account,
            expected,
            new,
        } => {
            let key = OperatorKey::from_file(&operator.path)?;
            let expected = parse_commitment("expected commitment", &expected)?;
            let new = parse_commitment("new commitment", &new)?;
            let ledger = Ledger::open(&db.url).await?;
            let a = ledger
                .replace_commitment(&key, account, &expected, &new)
                .await;
            ledger.close().await;
            let a = a?;
            out(json, &a, || {
                format!("account {}: {} (nonce {})", a.id, a.commitment, a.nonce)
            })
        }
        LedgerCommand::Show {
            db,
            account,
            commitment,
            liquidation,
            liquidator,
        } => {
            let ledger = Ledger::open(&db.url).await?;
            let text = show(&ledger, json, account, commitment, liquidation, liquidator).await;
            ledger.close().await;
            text
        }
        LedgerCommand::Fund {
            db,
            operator,
            amount,
        } => {
            let key = OperatorKey::from_file(&operator.path)?;
            let ledger = Ledger::open(&db.url).await?;
            let balance = ledger.fund_deposit(&key, amount).await;
            ledger.close().await;
            let balance = balance?;
            #[derive(Serialize)]
            struct Deposit {
                deposited: u64,
                insurance_fund: u64,
            }
            out(
                json,
                &Deposit {
                    deposited: amount,
                    insurance_fund: balance,
                },
                || {
                    format!(
                        "insurance fund: {} (deposited {})",
                        quote(balance as i128),
                        quote(amount as i128)
                    )
                },
            )
        }
        LedgerCommand::Events { db, since, limit } => {
            let ledger = Ledger::open(&db.url).await?;
            let events = ledger.events(since, limit).await;
            ledger.close().await;
            let events = events?;
            out(json, &events, || {
                if events.is_empty() {
                    format!("no events after seq {since}")
                } else {
                    events.iter().map(event_line).collect::<Vec<_>>().join("\n")
                }
            })
        }
        LedgerCommand::Check { db } => {
            let ledger = Ledger::open(&db.url).await?;
            let report = ledger.check_invariants().await;
            ledger.close().await;
            let r = report?;
            out(json, &r, || {
                format!(
                    "ledger consistent: {} events replayed, {} accounts, {} liquidations\n\
                     insurance fund {} = sum of its events\n\
                     liquidator credits {} = sums of their events\n\
                     socialized losses {}\n\
                     event chain head {}",
                    r.events,
                    r.accounts,
                    r.liquidations,
                    quote(r.fund_balance as i128),
                    quote(r.total_credits as i128),
                    quote(r.total_socialized as i128),
                    r.chain_head
                )
            })
        }
    }
}

/// [`run`] on a fresh single-threaded runtime, for the synchronous `zkmargin` binary.
///
/// # Errors
/// As [`run`]; [`SettleError::Runtime`] when no runtime can be started.
pub fn run_blocking(cmd: LedgerCommand, json: bool) -> Result<String, SettleError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SettleError::Runtime(e.to_string()))?
        .block_on(run(cmd, json))
}

async fn show(
    ledger: &Ledger,
    json: bool,
    account: Option<u64>,
    commitment: Option<String>,
    liquidation: Option<String>,
    liquidator: Option<u64>,
) -> Result<String, SettleError> {
    let account_text = |a: &crate::AccountRecord| {
        format!(
            "account {}\n  commitment  {}\n  nonce       {}\n  updated at  {}",
            a.id, a.commitment, a.nonce, a.updated_at
        )
    };
    if let Some(id) = account {
        let a = ledger
            .account(id)
            .await?
            .ok_or(SettleError::UnknownAccount(id))?;
        return out(json, &a, || account_text(&a));
    }
    if let Some(c) = commitment {
        let c = parse_commitment("commitment", &c)?;
        let a = ledger.account_by_commitment(&c).await?.ok_or_else(|| {
            SettleError::StaleCommitment {
                commitment: c.to_hex(),
            }
        })?;
        return out(json, &a, || account_text(&a));
    }
    if let Some(d) = liquidation {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(d.trim_start_matches("0x"), &mut digest).map_err(|e| {
            SettleError::InvalidArgument {
                what: "statement digest",
                reason: format!("expected 64 hex digits: {e}"),
            }
        })?;
        let l = ledger
            .liquidation(&digest)
            .await?
            .ok_or_else(|| SettleError::InvalidArgument {
                what: "statement digest",
                reason: format!("no liquidation {d} was applied"),
            })?;
        return out(json, &l, || {
            format!(
                "liquidation {}\n  account     {} ({} → {}, nonce {})\n  action      {}\n  \
                 execution   {}\n  penalty     {} (liquidator {} {}, insurance {})\n  \
                 deficit     {} (fund paid {}, socialized {})\n  report      {} observed at {}\n  \
                 oracle      {} (config digest)\n  key         {} (verifying key fingerprint)\n  risk params {}\n  applied at  {}",
                l.statement_digest,
                l.account_id,
                l.old_commitment,
                l.new_commitment,
                l.account_nonce,
                serde_json::to_string(&l.action).unwrap_or_default(),
                quote(l.terms.execution_value as i128),
                quote(l.terms.penalty as i128),
                l.liquidator,
                quote(l.terms.liquidator_fee as i128),
                quote(l.terms.insurance_fee as i128),
                quote(l.deficit as i128),
                quote(l.fund_paid as i128),
                quote(l.socialized as i128),
                l.report_digest,
                l.report_observed_at,
                l.oracle_config_digest,
                l.key_fingerprint,
                l.risk_params_digest,
                l.applied_at
            )
        });
    }
    if let Some(id) = liquidator {
        let balance = ledger.credits(id).await?;
        #[derive(Serialize)]
        struct Credit {
            liquidator: u64,
            balance: u64,
        }
        return out(
            json,
            &Credit {
                liquidator: id,
                balance,
            },
            || format!("liquidator {id}: credit {}", quote(balance as i128)),
        );
    }
    let s = ledger.summary().await?;
    out(json, &s, || {
        format!(
            "{} ledger, schema version {}{}\n  accounts            {}\n  liquidations        {}\n  \
             insurance fund      {}\n  liquidator credits  {}\n  socialized losses   {}\n  events              {}",
            s.backend.name(),
            s.schema_version,
            if s.initialized { "" } else { " (no operator key: run `ledger init`)" },
            s.accounts,
            s.liquidations,
            quote(s.insurance_fund as i128),
            quote(s.total_credits as i128),
            quote(s.total_socialized as i128),
            s.events
        )
    })
}

/// JSON or text.
fn out<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> Result<String, SettleError> {
    if json {
        // Ledger records are strings and integers: encoding cannot fail.
        Ok(serde_json::to_string_pretty(value).expect("ledger records encode as JSON"))
    } else {
        Ok(text())
    }
}

fn parse_commitment(what: &'static str, s: &str) -> Result<Commitment, SettleError> {
    fr_from_hex(s)
        .map(Commitment)
        .map_err(|e| SettleError::InvalidArgument {
            what,
            reason: e.to_string(),
        })
}

/// Quote units (1e-6 USD) as `1,234.567890 USD`.
pub fn quote(units: i128) -> String {
    let sign = if units < 0 { "−" } else { "" };
    let u = units.unsigned_abs();
    let whole = (u / 1_000_000).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:06} USD", u % 1_000_000)
}

fn event_line(e: &Event) -> String {
    let mut s = format!("#{:<6} {:<20}", e.seq, e.kind.as_str());
    if let Some(a) = e.account_id {
        s += &format!(" account={a}");
    }
    if let Some(l) = e.liquidator {
        s += &format!(" liquidator={l}");
    }
    if e.amount != 0 {
        let sign = if e.amount > 0 { "+" } else { "" };
        s += &format!(" amount={sign}{}", quote(i128::from(e.amount)));
    }
    if let Some(d) = &e.statement_digest {
        // By characters, not bytes: a corrupt value may hold multi-byte ones.
        let short: String = d.chars().take(16).collect();
        s += &format!(" statement={short}…");
    }
    s
}
