//! The ledger's operator and read commands as a library: each runs against a ledger
//! URL and returns the text (or JSON) to print. The `zkmargin` binary parses its
//! command line into a [`LedgerCommand`] (clap lives there, not here), prints the
//! result, and maps an error to a one-line message and a non-zero exit code.
//!
//! Settling (verify a liquidation bundle, then apply it) is [`crate::Settler`].

use std::path::PathBuf;

use serde::Serialize;
use zkmargin_circuits::{fr_from_hex, Commitment};

use crate::{events::Event, Ledger, OperatorKey, PinnedTrust, SettleError};

/// A ledger command: the database URL and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCommand {
    /// Create the ledger if needed, apply its schema, set the operator key and pin the
    /// trust.
    Init {
        /// The ledger database URL.
        db: String,
        /// The operator secret file.
        operator: PathBuf,
        /// What the ledger will accept liquidations under.
        trust: PinnedTrust,
    },
    /// Pin another trust (operator): a key, committee or parameter rotation.
    Trust {
        /// The ledger database URL.
        db: String,
        /// The operator secret file.
        operator: PathBuf,
        /// The new pin.
        trust: PinnedTrust,
    },
    /// Register an account with its first commitment (operator).
    Register {
        /// The ledger database URL.
        db: String,
        /// The operator secret file.
        operator: PathBuf,
        /// The venue's account id.
        account: u64,
        /// Its commitment, 0x + 64 hex digits.
        commitment: String,
    },
    /// Replace an account's commitment if it is still the expected one (operator).
    Replace {
        /// The ledger database URL.
        db: String,
        /// The operator secret file.
        operator: PathBuf,
        /// The venue's account id.
        account: u64,
        /// The commitment the update starts from.
        expected: String,
        /// The commitment after the update.
        new: String,
    },
    /// Show one record, or the ledger's totals.
    Show {
        /// The ledger database URL.
        db: String,
        /// What to show.
        target: ShowTarget,
    },
    /// Deposit into the insurance fund (operator).
    Fund {
        /// The ledger database URL.
        db: String,
        /// The operator secret file.
        operator: PathBuf,
        /// Quote atomic units.
        amount: u64,
    },
    /// The event log after a sequence number.
    Events {
        /// The ledger database URL.
        db: String,
        /// Events with a larger sequence number.
        since: u64,
        /// At most this many.
        limit: u32,
    },
    /// Recompute everything from the event log and compare.
    Check {
        /// The ledger database URL.
        db: String,
    },
}

/// What `show` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowTarget {
    /// The ledger's totals.
    Summary,
    /// An account by id.
    Account(u64),
    /// The account whose current commitment this is (hex).
    Commitment(String),
    /// A liquidation by statement digest (64 hex digits).
    Liquidation(String),
    /// A liquidator's credit.
    Liquidator(u64),
}

/// Runs `cmd`; returns what to print (JSON when `json`).
///
/// # Errors
/// Any [`SettleError`]; the binary prints it on one line and exits non-zero.
pub async fn run(cmd: LedgerCommand, json: bool) -> Result<String, SettleError> {
    match cmd {
        LedgerCommand::Init {
            db,
            operator,
            trust,
        } => {
            let key = OperatorKey::from_file(&operator)?;
            // The one command that creates a ledger.
            let ledger = Ledger::open(&db).await?;
            let pinned = async {
                ledger.init(&key).await?;
                ledger.pin_trust(&key, &trust).await
            }
            .await;
            let s = ledger.summary().await;
            ledger.close().await;
            let (previous, s) = (pinned?, s?);
            let rotated = previous.is_some_and(|p| p != trust);
            // The summary, as before, with the pin beside it.
            let mut record = serde_json::to_value(&s).expect("a summary encodes as JSON");
            record["trust"] = serde_json::to_value(&trust).expect("a pin encodes as JSON");
            out(json, &record, || {
                format!(
                    "ledger ready: {}, schema version {}, operator key set, {} {}",
                    s.backend.name(),
                    s.schema_version,
                    if rotated {
                        "trust rotated to"
                    } else {
                        "trust pinned:"
                    },
                    describe_trust(&trust)
                )
            })
        }
        LedgerCommand::Trust {
            db,
            operator,
            trust,
        } => {
            let key = OperatorKey::from_file(&operator)?;
            let ledger = Ledger::open_existing(&db).await?;
            let previous = ledger.pin_trust(&key, &trust).await;
            ledger.close().await;
            let previous = previous?;
            let unchanged = previous.as_ref() == Some(&trust);
            out(
                json,
                &serde_json::json!({ "previous": previous, "pinned": trust, "changed": !unchanged }),
                || {
                    if unchanged {
                        format!("trust unchanged: {}", describe_trust(&trust))
                    } else {
                        let was = previous.as_ref().map_or("none".to_owned(), describe_trust);
                        format!("trust pinned: {} (was: {was})", describe_trust(&trust))
                    }
                },
            )
        }
        LedgerCommand::Register {
            db,
            operator,
            account,
            commitment,
        } => {
            let key = OperatorKey::from_file(&operator)?;
            let c = parse_commitment("commitment", &commitment)?;
            let ledger = Ledger::open_existing(&db).await?;
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
            let key = OperatorKey::from_file(&operator)?;
            let expected = parse_commitment("expected commitment", &expected)?;
            let new = parse_commitment("new commitment", &new)?;
            let ledger = Ledger::open_existing(&db).await?;
            let a = ledger
                .replace_commitment(&key, account, &expected, &new)
                .await;
            ledger.close().await;
            let a = a?;
            out(json, &a, || {
                format!("account {}: {} (nonce {})", a.id, a.commitment, a.nonce)
            })
        }
        LedgerCommand::Show { db, target } => {
            let ledger = Ledger::open_existing(&db).await?;
            let text = show(&ledger, json, target).await;
            ledger.close().await;
            text
        }
        LedgerCommand::Fund {
            db,
            operator,
            amount,
        } => {
            let key = OperatorKey::from_file(&operator)?;
            let ledger = Ledger::open_existing(&db).await?;
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
            let ledger = Ledger::open_existing(&db).await?;
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
            let ledger = Ledger::open_existing(&db).await?;
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

async fn show(ledger: &Ledger, json: bool, target: ShowTarget) -> Result<String, SettleError> {
    let account_text = |a: &crate::AccountRecord| {
        format!(
            "account {}\n  commitment  {}\n  nonce       {}\n  updated at  {}",
            a.id, a.commitment, a.nonce, a.updated_at
        )
    };
    let (account, commitment, liquidation, liquidator) = match target {
        ShowTarget::Summary => (None, None, None, None),
        ShowTarget::Account(id) => (Some(id), None, None, None),
        ShowTarget::Commitment(c) => (None, Some(c), None, None),
        ShowTarget::Liquidation(d) => (None, None, Some(d), None),
        ShowTarget::Liquidator(id) => (None, None, None, Some(id)),
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
        let digest: [u8; 32] =
            zkmargin_circuits::hex_text::decode(&d).map_err(|e| SettleError::InvalidArgument {
                what: "statement digest",
                reason: e.to_string(),
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

/// A pin in one line.
fn describe_trust(t: &PinnedTrust) -> String {
    format!(
        "liquidation key {}, oracle config {}, risk parameters {}",
        t.key_fingerprint,
        t.oracle_config_digest,
        t.risk_params_digests.join(", ")
    )
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
