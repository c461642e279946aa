//! An in-process EVM (revm) to deploy compiled contracts and run calls as
//! transactions, with their gas (feature `harness`).
//!
//! The BN254 precompiles of this build run on substrate-bn: the workspace enables
//! revm's `bn` feature, and a test (`tests/backend.rs`) fails if the resolved build of
//! this crate ever has revm-precompile without it, where they would run on arkworks —
//! the library the generated verifiers are compared with — or if a custom crypto
//! provider replaced revm's default one ([`precompile_provider`]).
//!
//! Gas is reported as a transaction pays it: 21,000, plus 16 per non-zero and 4 per
//! zero calldata byte (EIP-2028), plus execution. [`EvmSpec`] pins the fork; at
//! Cancun there is no calldata floor (EIP-7623 came with Prague), so revm's total is
//! exactly that sum, which [`Evm::call`] checks on every call.

use revm::{
    context::{Context, TxEnv},
    context_interface::result::{ExecutionResult, Output},
    database::CacheDB,
    database_interface::EmptyDB,
    handler::{MainnetContext, MainnetEvm},
    primitives::{hardfork::SpecId, Bytes, TxKind, U256},
    ExecuteCommitEvm, MainBuilder,
};

pub use revm::primitives::Address;

use crate::artifact::Artifact;

/// The fork the harness runs, and the `evmVersion` the contracts are compiled for
/// (`scripts/evm/compile.js`).
pub const EVM_SPEC: SpecId = SpecId::CANCUN;

/// Transaction base cost.
pub const TX_BASE_GAS: u64 = 21_000;
/// Calldata cost of a non-zero byte (EIP-2028).
pub const CALLDATA_NONZERO_GAS: u64 = 16;
/// Calldata cost of a zero byte.
pub const CALLDATA_ZERO_GAS: u64 = 4;
/// Gas limit of every transaction the harness sends (below EIP-7825's cap).
pub const TX_GAS_LIMIT: u64 = 16_000_000;

/// The fork as named by revm.
pub type EvmSpec = SpecId;

/// The crypto provider revm's precompiles run on in this process, by its `Debug` name:
/// `"DefaultCrypto"` unless some code called `revm::install_crypto` (a process-wide
/// replacement that could put the BN254 precompiles back on arkworks). Calling this
/// also fixes the provider for the rest of the process: none can be installed after.
pub fn precompile_provider() -> String {
    format!("{:?}", revm::precompile::crypto())
}

/// Calldata cost of `data`: 16 per non-zero byte, 4 per zero byte.
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter()
        .map(|&b| {
            if b == 0 {
                CALLDATA_ZERO_GAS
            } else {
                CALLDATA_NONZERO_GAS
            }
        })
        .sum()
}

/// Gas of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gas {
    /// What the transaction pays: `21,000 + calldata + execution` (revm's gas used).
    pub transaction: u64,
    /// Calldata cost alone.
    pub calldata: u64,
    /// Execution alone: `transaction − 21,000 − calldata` (for a deployment this
    /// includes CREATE's 32,000 and the initcode word cost).
    pub execution: u64,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStatus {
    /// Returned; the output is the return data.
    Success,
    /// Reverted; the output is the revert data.
    Revert,
    /// Halted (out of gas, invalid opcode, …): no output.
    Halt(String),
}

/// The outcome of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// How it ended.
    pub status: CallStatus,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Its gas.
    pub gas: Gas,
    /// Number of events (logs) it emitted (0 unless it returned).
    pub logs: usize,
}

impl CallOutcome {
    /// True when the call returned.
    pub fn is_success(&self) -> bool {
        self.status == CallStatus::Success
    }
}

/// Why the harness could not run a transaction (not a revert: those are outcomes).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// revm refused the transaction (invalid transaction, database error).
    #[error("the EVM refused the transaction: {0}")]
    Evm(String),
    /// A deployment did not create a contract.
    #[error("deployment of {contract} failed: {status:?}, output 0x{output}")]
    Deploy {
        /// The contract.
        contract: String,
        /// How it ended.
        status: CallStatus,
        /// Revert data, hex.
        output: String,
    },
    /// revm charged less than 21,000 + calldata: the accounting this harness reports
    /// would be wrong.
    #[error("revm charged {revm} gas, less than 21,000 + calldata ({calldata})")]
    GasAccounting {
        /// revm's gas used.
        revm: u64,
        /// The calldata cost.
        calldata: u64,
    },
    /// The artifact's bytecode is not hex.
    #[error("artifact {0} has no valid bytecode")]
    Bytecode(String),
}

type Db = CacheDB<EmptyDB>;

/// An EVM with an empty state, one funded-by-nobody caller (gas price 0) and the
/// [`EVM_SPEC`] fork.
pub struct Evm {
    inner: MainnetEvm<MainnetContext<Db>>,
    caller: Address,
    /// The next nonce of every address that sent a transaction.
    nonces: std::collections::HashMap<Address, u64>,
}

impl std::fmt::Debug for Evm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evm")
            .field("spec", &EVM_SPEC)
            .field("caller", &self.caller)
            .field("nonces", &self.nonces)
            .finish_non_exhaustive()
    }
}

impl Default for Evm {
    fn default() -> Self {
        Self::new()
    }
}

impl Evm {
    /// A fresh EVM at [`EVM_SPEC`].
    pub fn new() -> Self {
        let ctx: MainnetContext<Db> = Context::new(CacheDB::new(EmptyDB::new()), EVM_SPEC);
        Self {
            inner: ctx.build_mainnet(),
            caller: Address::repeat_byte(0xca),
            nonces: Default::default(),
        }
    }

    /// The default caller of [`Evm::call`] and [`Evm::deploy`].
    pub fn caller(&self) -> Address {
        self.caller
    }

    /// Sets the block timestamp (unix seconds) of the following transactions; every
    /// transaction until the next change is in the same block.
    pub fn set_timestamp(&mut self, unix_secs: u64) {
        self.inner.ctx.block.timestamp = U256::from(unix_secs);
    }

    /// Starts the next block: number + 1, at `unix_secs`.
    pub fn next_block(&mut self, unix_secs: u64) {
        self.inner.ctx.block.number += U256::from(1u64);
        self.set_timestamp(unix_secs);
    }

    /// The current block number.
    pub fn block_number(&self) -> u64 {
        self.inner.ctx.block.number.saturating_to()
    }

    fn transact(&mut self, kind: TxKind, data: &[u8]) -> Result<CallOutcome, HarnessError> {
        self.transact_from(self.caller, kind, data)
    }

    fn transact_from(
        &mut self,
        caller: Address,
        kind: TxKind,
        data: &[u8],
    ) -> Result<CallOutcome, HarnessError> {
        let nonce = self.nonces.get(&caller).copied().unwrap_or(0);
        let tx = TxEnv::builder()
            .caller(caller)
            .kind(kind)
            .data(Bytes::copy_from_slice(data))
            .nonce(nonce)
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(0)
            .build()
            .map_err(|e| HarnessError::Evm(format!("{e:?}")))?;
        let result = self
            .inner
            .transact_commit(tx)
            .map_err(|e| HarnessError::Evm(e.to_string()))?;
        // Every transaction that reached execution used the caller's nonce.
        self.nonces.insert(caller, nonce + 1);
        let (status, output, gas, logs) = match result {
            ExecutionResult::Success {
                gas, output, logs, ..
            } => {
                let bytes = match output {
                    Output::Call(b) => b.to_vec(),
                    Output::Create(b, address) => {
                        let mut out = address.map(|a| a.to_vec()).unwrap_or_default();
                        if out.is_empty() {
                            out = b.to_vec();
                        }
                        out
                    }
                };
                (CallStatus::Success, bytes, gas, logs.len())
            }
            ExecutionResult::Revert { gas, output, .. } => {
                (CallStatus::Revert, output.to_vec(), gas, 0)
            }
            ExecutionResult::Halt { reason, gas, .. } => {
                (CallStatus::Halt(format!("{reason:?}")), Vec::new(), gas, 0)
            }
        };
        // What the transaction pays: spent less the (capped) refund, at least the floor.
        let transaction = gas.tx_gas_used();
        let calldata = calldata_gas(data);
        let execution =
            transaction
                .checked_sub(TX_BASE_GAS + calldata)
                .ok_or(HarnessError::GasAccounting {
                    revm: transaction,
                    calldata,
                })?;
        Ok(CallOutcome {
            status,
            output,
            gas: Gas {
                transaction,
                calldata,
                execution,
            },
            logs,
        })
    }

    /// Deploys `creation_code` (constructor arguments appended, if any); returns the
    /// new contract's address and the deployment's outcome.
    ///
    /// # Errors
    /// [`HarnessError::Deploy`] if the constructor reverts or halts;
    /// [`HarnessError::Evm`] if revm refuses the transaction.
    pub fn deploy(
        &mut self,
        contract: &str,
        creation_code: &[u8],
    ) -> Result<(Address, CallOutcome), HarnessError> {
        let outcome = self.transact(TxKind::Create, creation_code)?;
        if outcome.is_success() && outcome.output.len() == 20 {
            let address = Address::from_slice(&outcome.output);
            return Ok((address, outcome));
        }
        Err(HarnessError::Deploy {
            contract: contract.to_owned(),
            status: outcome.status,
            output: hex::encode(outcome.output),
        })
    }

    /// Deploys a compiled artifact followed by ABI-encoded constructor `args`.
    ///
    /// # Errors
    /// As [`Evm::deploy`], and [`HarnessError::Bytecode`].
    pub fn deploy_artifact(
        &mut self,
        artifact: &Artifact,
        args: &[u8],
    ) -> Result<Address, HarnessError> {
        let mut code = artifact
            .creation_code()
            .map_err(|_| HarnessError::Bytecode(artifact.contract_name.clone()))?;
        code.extend_from_slice(args);
        Ok(self.deploy(&artifact.contract_name, &code)?.0)
    }

    /// Sends a transaction calling `to` with `data` and commits its effects (none, for
    /// a view function). Reverts and halts are outcomes, not errors.
    ///
    /// # Errors
    /// [`HarnessError::Evm`] if revm refuses the transaction,
    /// [`HarnessError::GasAccounting`] if its gas cannot be reconciled.
    pub fn call(&mut self, to: Address, data: &[u8]) -> Result<CallOutcome, HarnessError> {
        self.transact(TxKind::Call(to), data)
    }

    /// [`Evm::call`] sent by `caller` (gas price 0: no balance needed).
    ///
    /// # Errors
    /// As [`Evm::call`].
    pub fn call_from(
        &mut self,
        caller: Address,
        to: Address,
        data: &[u8],
    ) -> Result<CallOutcome, HarnessError> {
        self.transact_from(caller, TxKind::Call(to), data)
    }
}
