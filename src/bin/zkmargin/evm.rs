//! `zkmargin export solidity` and `zkmargin evm calldata`: the Solidity verifiers of a
//! keys directory, and the ABI-encoded settlement-contract calls of a proof bundle
//! (docs/ONCHAIN.md), for an integrator to submit with their own tools.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;
use zkmargin_circuits::RiskParams;
use zkmargin_evm::settlement::bundle_calldata;
use zkmargin_verifier::files::{load_bundle, load_risk_params};

use crate::{ui::Out, KeysArg};

/// `zkmargin export …`.
#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Write a Solidity Groth16 verifier per circuit of the keys directory.
    ///
    /// One `<Name>Verifier.sol` per circuit with an EVM verifier (margin, liquidation
    /// v2): a library to inline and a contract with the same functions, BN254
    /// precompiles, every public input checked below r, shared inputs foldable once
    /// per price tick. Deterministic: the same key gives the same bytes.
    Solidity(SolidityArgs),
}

/// Arguments of `zkmargin export solidity`.
#[derive(Debug, clap::Args)]
pub struct SolidityArgs {
    #[command(flatten)]
    keys: KeysArg,
    /// Output directory (created if missing; existing files of the same name are replaced).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: PathBuf,
}

/// `zkmargin evm …`.
#[derive(Debug, clap::Subcommand)]
pub enum EvmCommand {
    /// Print the ABI-encoded ZkMarginSettlement calls of a proof bundle.
    ///
    /// `postReport` for the bundle's signed report (its id is the report's SHA-256
    /// digest), then `verifyMargin` for a margin bundle or `liquidate` for a
    /// transition bundle (with the statement digest, the contract's replay key).
    /// Nothing is verified here: the contract does that.
    Calldata(CalldataArgs),
}

/// Arguments of `zkmargin evm calldata`.
#[derive(Debug, clap::Args)]
pub struct CalldataArgs {
    /// The proof bundle.
    bundle: PathBuf,
    /// Risk parameters the bundle was proven under (default: the development parameters).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
}

pub fn run_export(cmd: ExportCommand, out: &Out) -> anyhow::Result<()> {
    match cmd {
        ExportCommand::Solidity(args) => {
            let written = zkmargin_evm::write_sources(&args.keys.dir, &args.out)?;
            for path in &written {
                out.line(format!("wrote {}", path.display()));
            }
            out.json(&json!({
                "written": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            }))
        }
    }
}

pub fn run_evm(cmd: EvmCommand, out: &Out) -> anyhow::Result<()> {
    match cmd {
        EvmCommand::Calldata(args) => {
            let bundle = load_bundle(&args.bundle)?;
            let params = match &args.params {
                Some(path) => load_risk_params(path)?,
                None => RiskParams::development(),
            };
            let calls = bundle_calldata(&bundle, &params)
                .with_context(|| format!("cannot encode the calls of {}", args.bundle.display()))?;
            out.line(format!("reportId: {}", calls.report_id));
            out.line(format!("postReport: 0x{}", hex::encode(&calls.post_report)));
            out.line(format!(
                "{}: 0x{}",
                calls.function,
                hex::encode(&calls.call)
            ));
            if let Some(d) = &calls.statement_digest {
                out.line(format!("statementDigest: {d}"));
            }
            out.json(&calls)
        }
    }
}
