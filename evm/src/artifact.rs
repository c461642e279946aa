//! Compiled contracts as `scripts/evm/compile.sh` writes them: one JSON file per
//! contract under `evm/artifacts/`, committed, so that Rust code needs no compiler.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The committed artifacts of this crate's contracts (`evm/artifacts`).
pub fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

/// The contract sources of this crate (`evm/contracts`); artifact source names are
/// relative to it.
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts")
}

/// One compiled contract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Artifact {
    /// The contract's name.
    pub contract_name: String,
    /// Its source file, relative to `evm/contracts`.
    pub source_name: String,
    /// SHA-256 of that source file when it was compiled, lowercase hex.
    pub source_sha256: String,
    /// The compiler's full version string.
    pub compiler: String,
    /// Optimizer and EVM-version settings.
    pub settings: serde_json::Value,
    /// The ABI.
    pub abi: serde_json::Value,
    /// Function signature → 4-byte selector (hex), as solc reports them.
    pub method_identifiers: BTreeMap<String, String>,
    /// Creation bytecode, hex without `0x`.
    pub bytecode: String,
    /// Runtime bytecode, hex without `0x`.
    pub deployed_bytecode: String,
}

/// Why an artifact could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}; run scripts/evm/compile.sh", path = .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not an artifact.
    #[error("{path} is not a contract artifact: {reason}", path = .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Artifact {
    /// Reads `dir/<name>.json`.
    ///
    /// # Errors
    /// [`ArtifactError`].
    pub fn load(dir: &Path, name: &str) -> Result<Self, ArtifactError> {
        let path = dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).map_err(|source| ArtifactError::Read {
            path: path.clone(),
            source,
        })?;
        let artifact: Artifact =
            serde_json::from_str(&text).map_err(|e| ArtifactError::Format {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        // Validate the hex once here so the accessors cannot fail later.
        for (what, code) in [
            ("bytecode", &artifact.bytecode),
            ("deployedBytecode", &artifact.deployed_bytecode),
        ] {
            hex::decode(code).map_err(|e| ArtifactError::Format {
                path: path.clone(),
                reason: format!("{what} is not hex: {e}"),
            })?;
        }
        Ok(artifact)
    }

    /// Creation bytecode.
    ///
    /// # Errors
    /// [`hex::FromHexError`] if the field is not hex ([`Artifact::load`] checks it).
    pub fn creation_code(&self) -> Result<Vec<u8>, hex::FromHexError> {
        hex::decode(&self.bytecode)
    }

    /// Runtime bytecode.
    ///
    /// # Errors
    /// [`hex::FromHexError`] if the field is not hex ([`Artifact::load`] checks it).
    pub fn runtime_code(&self) -> Result<Vec<u8>, hex::FromHexError> {
        hex::decode(&self.deployed_bytecode)
    }

    /// True when `contracts_dir/source_name` still has the SHA-256 it was compiled
    /// from: the artifact is not stale.
    ///
    /// # Errors
    /// [`ArtifactError::Read`] if the source cannot be read.
    pub fn matches_source(&self, contracts_dir: &Path) -> Result<bool, ArtifactError> {
        let path = contracts_dir.join(&self.source_name);
        let bytes = std::fs::read(&path).map_err(|source| ArtifactError::Read { path, source })?;
        Ok(hex::encode(Sha256::digest(&bytes)) == self.source_sha256)
    }
}
