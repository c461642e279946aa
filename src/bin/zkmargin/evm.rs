//! `zkmargin export solidity`, `zkmargin evm calldata` and `zkmargin evm deploy-args`:
//! the Solidity verifiers of a keys directory, the ABI-encoded settlement-contract
//! calls of a proof bundle, and the contract's constructor arguments
//! (docs/ONCHAIN.md), for an integrator to submit with their own tools.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;
use zkmargin_circuits::RiskParams;
use zkmargin_evm::settlement::{bundle_calldata, SettlementConfig};
use zkmargin_verifier::{
    config::VerifierConfig,
    files::{load_bundle, load_risk_params},
};

use crate::{
    ui::{self, Out},
    KeysArg,
};

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
    /// Nothing is verified here: the contract does that. A transition bundle does not
    /// carry the liquidated account's id (its commitment hides it): give it with
    /// `--account-id`.
    Calldata(CalldataArgs),
    /// Print the ABI-encoded constructor arguments of ZkMarginSettlement.
    ///
    /// The `Config` tuple from the keys directory (both verifying keys' fingerprints,
    /// checked against their files), the oracle committee and the risk parameters, and
    /// the operator address: append it to the creation code in
    /// evm/artifacts/ZkMarginSettlement.json. The constructor reverts unless the
    /// fingerprints are those of the verifying keys the contract was generated from.
    DeployArgs(DeployArgs),
}

/// Arguments of `zkmargin evm calldata`.
#[derive(Debug, clap::Args)]
pub struct CalldataArgs {
    /// The proof bundle.
    bundle: PathBuf,
    /// Risk parameters the bundle was proven under (default: the development parameters).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// The liquidated account's id (required for a transition bundle): from the
    /// account, or from the contract's events of the old commitment.
    #[arg(long = "account-id", value_name = "ID")]
    account_id: Option<u64>,
}

/// Arguments of `zkmargin evm deploy-args`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The operator's address (0x + 40 hex digits): registers accounts, replaces
    /// commitments, funds the insurance fund.
    #[arg(long, value_name = "ADDRESS")]
    operator: String,
    /// Oracle config: the committee, quorum and freshness policy (default: the development committee).
    #[arg(long, value_name = "FILE")]
    oracle: Option<PathBuf>,
    /// Risk parameters (default: the development parameters).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    #[command(flatten)]
    keys: KeysArg,
}

/// An Ethereum address: `0x` and 40 hex digits.
fn parse_address(text: &str) -> anyhow::Result<[u8; 20]> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits)
        .ok()
        .and_then(|b| <[u8; 20]>::try_from(b).ok())
        .with_context(|| format!("operator address {text:?} is not 0x and 40 hex digits"))?;
    anyhow::ensure!(
        bytes != [0u8; 20],
        "the operator address is the zero address"
    );
    Ok(bytes)
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
            let calls = bundle_calldata(&bundle, &params, args.account_id)
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
        EvmCommand::DeployArgs(args) => {
            let operator = parse_address(&args.operator)?;
            if args.oracle.is_none() {
                ui::note("no --oracle given: using the development oracle committee (3 signers, quorum 2, reports at most 300 s old); its secret keys are public");
            }
            if args.params.is_none() {
                ui::note("no --params given: using the development risk parameters");
            }
            // The keys, committee and parameters opened as the verifier opens them:
            // fingerprints checked against the key files, configuration validated.
            let opened = VerifierConfig {
                keys_dir: Some(args.keys.dir.clone()),
                oracle: args.oracle.clone(),
                params: args.params.iter().cloned().collect(),
                at: None,
            }
            .open()?;
            if opened.verifier.development_keys() {
                ui::development_keys_warning(&opened.keys_dir);
            }
            let liquidation = opened
                .verifier
                .liquidation_key_fingerprint()
                .with_context(|| {
                    format!(
                        "{} has no liquidation key: the settlement contract inlines both verifiers",
                        opened.keys_dir.display()
                    )
                })?
                .to_owned();
            let params = opened
                .params
                .first()
                .cloned()
                .unwrap_or_else(RiskParams::development);
            let config = SettlementConfig {
                operator,
                margin_key_fingerprint: opened.verifier.margin_key_fingerprint().to_owned(),
                liquidation_key_fingerprint: liquidation,
                oracle: opened.oracle.clone(),
                params,
            };
            let encoded = config
                .constructor_args()
                .context("cannot encode the constructor arguments")?;
            let encoded = format!("0x{}", hex::encode(encoded));
            out.line(format!("constructorArgs: {encoded}"));
            out.json(&json!({
                "constructor_args": encoded,
                "operator": format!("0x{}", hex::encode(operator)),
                "margin_key_fingerprint": config.margin_key_fingerprint,
                "liquidation_key_fingerprint": config.liquidation_key_fingerprint,
                "oracle_config_digest": hex::encode(config.oracle.digest()),
                "risk_params_digest": hex::encode(config.params.digest()),
            }))
        }
    }
}
