//! The circuits that have EVM verifiers, and their generated sources for a keys
//! directory: what `zkmargin export solidity --keys DIR -o DIR` writes, and what the
//! repository keeps under `evm/contracts/generated/` for the development keys.

use std::path::{Path, PathBuf};

use zkmargin_circuits::{LIQUIDATION_CIRCUIT_ID, MARGIN_CIRCUIT_ID};
use zkmargin_verifier::keys::{load_verifying_key, KeyError, Manifest};

use crate::{
    solidity::{generate_verifier, ContractInfo, GenerateError},
    split::{liquidation_split, margin_split, InputSplit},
};

/// A circuit with an EVM verifier: its id, the generated contract's name and how its
/// public inputs split.
#[derive(Debug, Clone, Copy)]
pub struct EvmCircuit {
    /// Circuit id and version, as in the keys manifest.
    pub circuit_id: &'static str,
    /// Contract name (the library is `<name>Lib`, the file `<name>.sol`).
    pub contract_name: &'static str,
    /// The input split.
    pub split: fn() -> InputSplit,
}

/// The margin statement's verifier.
pub const MARGIN: EvmCircuit = EvmCircuit {
    circuit_id: MARGIN_CIRCUIT_ID,
    contract_name: "MarginVerifier",
    split: margin_split,
};

/// The liquidation statement's verifier (version 2, sized for the EVM).
pub const LIQUIDATION: EvmCircuit = EvmCircuit {
    circuit_id: LIQUIDATION_CIRCUIT_ID,
    contract_name: "LiquidationVerifier",
    split: liquidation_split,
};

/// Every circuit with an EVM verifier.
pub const EVM_CIRCUITS: &[EvmCircuit] = &[MARGIN, LIQUIDATION];

impl EvmCircuit {
    /// The generated file's name, `<contract_name>.sol`.
    pub fn file_name(&self) -> String {
        format!("{}.sol", self.contract_name)
    }
}

/// One generated source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedSource {
    /// The circuit.
    pub circuit_id: &'static str,
    /// File name, `<contract>.sol`.
    pub file_name: String,
    /// The Solidity source.
    pub contents: String,
}

/// Why sources could not be exported or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The keys could not be loaded (manifest, fingerprint, point validation, shape).
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The generator refused the key or split.
    #[error("cannot generate the verifier of {circuit}: {source}")]
    Generate {
        /// The circuit.
        circuit: &'static str,
        /// Why.
        source: GenerateError,
    },
    /// The keys directory has keys for no circuit with an EVM verifier.
    #[error("{dir} has keys for none of the circuits with an EVM verifier ({known})", dir = .dir.display())]
    NoCircuits {
        /// The keys directory.
        dir: PathBuf,
        /// The circuit ids with EVM verifiers.
        known: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Sources on disk differ from what the keys generate.
    #[error("the generated Solidity in {dir} is stale: {differences}; regenerate it with `zkmargin export solidity`", dir = .dir.display(), differences = .differences.join(", "))]
    Stale {
        /// The directory checked.
        dir: PathBuf,
        /// One entry per differing, missing or extra file.
        differences: Vec<String>,
    },
}

/// The verifier sources of every circuit in [`EVM_CIRCUITS`] that `keys_dir`'s
/// manifest lists, from its verifying keys (fingerprints and points checked).
///
/// # Errors
/// [`ExportError::Keys`], [`ExportError::Generate`], [`ExportError::NoCircuits`].
pub fn generate_sources(keys_dir: &Path) -> Result<Vec<GeneratedSource>, ExportError> {
    let manifest = Manifest::load(keys_dir)?;
    let mut out = Vec::new();
    for circuit in EVM_CIRCUITS {
        if !manifest.circuits.iter().any(|c| c.id == circuit.circuit_id) {
            continue;
        }
        let split = (circuit.split)();
        let key = load_verifying_key(keys_dir, circuit.circuit_id, split.num_inputs)?;
        let info = ContractInfo {
            name: circuit.contract_name.to_owned(),
            circuit_id: circuit.circuit_id.to_owned(),
            key_fingerprint: key.fingerprint.clone(),
            development: key.development,
        };
        let contents =
            generate_verifier(&key.key, &info, &split).map_err(|source| ExportError::Generate {
                circuit: circuit.circuit_id,
                source,
            })?;
        out.push(GeneratedSource {
            circuit_id: circuit.circuit_id,
            file_name: circuit.file_name(),
            contents,
        });
    }
    if out.is_empty() {
        return Err(ExportError::NoCircuits {
            dir: keys_dir.to_owned(),
            known: EVM_CIRCUITS
                .iter()
                .map(|c| c.circuit_id)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(out)
}

/// Writes [`generate_sources`] into `out_dir` (created if missing), replacing files of
/// the same names. Returns the paths written.
///
/// # Errors
/// Any [`ExportError`].
pub fn write_sources(keys_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let sources = generate_sources(keys_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|source| ExportError::Io {
        path: out_dir.to_owned(),
        source,
    })?;
    let mut written = Vec::with_capacity(sources.len());
    for s in sources {
        let path = out_dir.join(&s.file_name);
        std::fs::write(&path, &s.contents).map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Checks that `dir` holds exactly the `.sol` files [`generate_sources`] makes from
/// `keys_dir`, byte for byte.
///
/// # Errors
/// [`ExportError::Stale`] listing every differing, missing or extra file; any other
/// [`ExportError`] if generation fails.
pub fn check_sources(keys_dir: &Path, dir: &Path) -> Result<(), ExportError> {
    let sources = generate_sources(keys_dir)?;
    let mut differences = Vec::new();
    for s in &sources {
        let path = dir.join(&s.file_name);
        match std::fs::read_to_string(&path) {
            Ok(on_disk) if on_disk == s.contents => {}
            Ok(_) => differences.push(format!("{} differs", s.file_name)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                differences.push(format!("{} is missing", s.file_name));
            }
            Err(source) => return Err(ExportError::Io { path, source }),
        }
    }
    let entries = std::fs::read_dir(dir).map_err(|source| ExportError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut extra = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ExportError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sol") && !sources.iter().any(|s| s.file_name == name) {
            extra.push(format!("{name} is not generated from these keys"));
        }
    }
    extra.sort();
    differences.extend(extra);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(ExportError::Stale {
            dir: dir.to_owned(),
            differences,
        })
    }
}
