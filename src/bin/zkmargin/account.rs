//! `zkmargin account new|commit`: private account files and their commitments.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use rand::rngs::OsRng;
use serde_json::json;
use zkmargin_circuits::{Account, Commitment, RiskParams};
use zkmargin_prover::{
    files::{load_account, load_risk_params, write_json, WriteOptions},
    AccountFile,
};

use crate::{
    ui::{self, Out},
    units::{format_amount, parse_amount, parse_pair},
};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create a private account file with a fresh random blinding (mode 0600).
    ///
    /// Balances are decimal amounts in whole units of each asset, placed in the slot
    /// the risk parameters give the symbol: `--token ETH=10 --quote=-20000
    /// --position BTC-PERP=0.5`. Omitted balances are zero.
    New(NewArgs),
    /// Print an account's commitment (what the venue publishes).
    Commit(CommitArgs),
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Account file to create.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// The venue's account id.
    #[arg(long)]
    id: u64,
    /// State nonce.
    #[arg(long, default_value_t = 0)]
    nonce: u64,
    /// Risk parameters that map symbols to slots (default: the development parameters).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// A token balance, SYMBOL=AMOUNT in whole tokens (negative = borrow); repeatable.
    #[arg(long = "token", value_name = "SYMBOL=AMOUNT", value_parser = parse_pair, allow_hyphen_values = true)]
    tokens: Vec<(String, String)>,
    /// Quote (cash) balance in whole quote units, e.g. USD; negative = owed.
    #[arg(long, value_name = "AMOUNT", allow_negative_numbers = true)]
    quote: Option<String>,
    /// A perpetual position, MARKET=SIZE in whole base units (negative = short); repeatable.
    #[arg(long = "position", value_name = "MARKET=SIZE", value_parser = parse_pair, allow_hyphen_values = true)]
    positions: Vec<(String, String)>,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// The account file.
    account: PathBuf,
    /// Also check the account's slots against these risk parameters.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
}

pub fn run(cmd: AccountCommand, out: &Out) -> anyhow::Result<()> {
    match cmd {
        AccountCommand::New(args) => new(args, out),
        AccountCommand::Commit(args) => commit(args, out),
    }
}

/// The risk parameters of `--params`, or the development parameters (announced).
pub fn params_or_default(path: Option<&Path>) -> anyhow::Result<RiskParams> {
    match path {
        Some(p) => Ok(load_risk_params(p)?),
        None => {
            ui::note("no --params given: using the development risk parameters (4 tokens ETH, BTC, SOL, USDC; 4 perpetual markets BTC, ETH, SOL, DOGE)");
            Ok(RiskParams::development())
        }
    }
}

/// Reads an account file, warning when others may read it.
pub fn read_account(path: &Path) -> anyhow::Result<Account> {
    let file = load_account(path)?;
    ui::warn_if_exposed(path, "a private account (balances and blinding)");
    Ok(file.account)
}

fn new(args: NewArgs, out: &Out) -> anyhow::Result<()> {
    let mut account = Account::empty(args.id, &mut OsRng);
    account.nonce = args.nonce;
    if !args.tokens.is_empty() || !args.positions.is_empty() || args.quote.is_some() {
        let params = params_or_default(args.params.as_deref())?;
        fill(&mut account, &params, &args)?;
    }
    write_json(
        &args.out,
        &AccountFile::new(account.clone()),
        WriteOptions {
            private: true,
            overwrite: args.force,
        },
    )?;
    let commitment = Commitment::of(&account);
    out.json(&json!({
        "file": args.out,
        "id": account.id,
        "nonce": account.nonce,
        "commitment": commitment,
    }))?;
    out.line(format!(
        "account {} (nonce {}) written to {} (mode 0600: it holds the balances and the blinding)",
        account.id,
        account.nonce,
        args.out.display()
    ));
    out.line(format!("commitment {commitment}"));
    Ok(())
}

/// Places each `--token`, `--quote` and `--position` in its slot.
fn fill(account: &mut Account, params: &RiskParams, args: &NewArgs) -> anyhow::Result<()> {
    once("--token", &args.tokens)?;
    once("--position", &args.positions)?;
    for (symbol, amount) in &args.tokens {
        let Some(slot) = params.tokens.iter().position(|t| &t.symbol == symbol) else {
            bail!(
                "--token {symbol}: no such token in the risk parameters (they define: {})",
                list(params.tokens.iter().map(|t| t.symbol.as_str()))
            );
        };
        account.tokens[slot] = parse_amount(amount, params.tokens[slot].decimals)
            .with_context(|| format!("--token {symbol}"))?;
    }
    if let Some(quote) = &args.quote {
        account.quote = parse_amount(quote, params.quote_decimals).context("--quote")?;
    }
    for (symbol, size) in &args.positions {
        let Some(slot) = params.markets.iter().position(|m| &m.symbol == symbol) else {
            bail!(
                "--position {symbol}: no such market in the risk parameters (they define: {})",
                list(params.markets.iter().map(|m| m.symbol.as_str()))
            );
        };
        account.positions[slot] = parse_amount(size, params.markets[slot].size_decimals)
            .with_context(|| format!("--position {symbol}"))?;
    }
    Ok(())
}

/// A repeated `--token ETH=… --token ETH=…` is a mistake, not an update: refuse it
/// rather than silently keep the last one.
fn once(flag: &str, pairs: &[(String, String)]) -> anyhow::Result<()> {
    for (i, (symbol, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(s, _)| s == symbol) {
            bail!("{flag} {symbol} is given twice: give each asset once, with its whole balance");
        }
    }
    Ok(())
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

fn commit(args: CommitArgs, out: &Out) -> anyhow::Result<()> {
    let account = read_account(&args.account)?;
    if let Some(path) = &args.params {
        let params = load_risk_params(path)?;
        account.check_slots(&params).with_context(|| {
            format!(
                "account {} does not fit the risk parameters {}",
                args.account.display(),
                path.display()
            )
        })?;
    }
    let commitment = Commitment::of(&account);
    out.json(&json!({
        "file": args.account,
        "id": account.id,
        "nonce": account.nonce,
        "commitment": commitment,
    }))?;
    out.line(commitment.to_string());
    Ok(())
}

/// The balances of `account` labelled by `params`, for display.
pub fn describe(account: &Account, params: &RiskParams) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, t) in params.tokens.iter().enumerate() {
        if account.tokens[i] != 0 {
            lines.push(format!(
                "{:<10} {}",
                t.symbol,
                format_amount(i128::from(account.tokens[i]), t.decimals)
            ));
        }
    }
    lines.push(format!(
        "{:<10} {}",
        params.quote_symbol,
        format_amount(i128::from(account.quote), params.quote_decimals)
    ));
    for (j, m) in params.markets.iter().enumerate() {
        if account.positions[j] != 0 {
            lines.push(format!(
                "{:<10} {}",
                m.symbol,
                format_amount(i128::from(account.positions[j]), m.size_decimals)
            ));
        }
    }
    lines
}
