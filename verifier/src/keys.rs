//! Key files and their manifest.
//!
//! `keys/manifest.json` lists, per circuit, the proving and verifying key files with
//! their byte size and SHA-256 fingerprint, the circuit's constraint and public-input
//! counts, and whether the keys are development keys. Loading reads the bytes, checks
//! size and fingerprint, and only then deserializes: verifying keys with full point
//! validation (they are small), proving keys without (their fingerprint was just
//! checked, and validating a proving key's points costs seconds).

use std::path::{Path, PathBuf};

use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;
use ark_serialize::CanonicalDeserialize;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name of the manifest inside a keys directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// SHA-256 fingerprints of the verifying keys made from the public development seed
/// (the repository's `keys/`, which `zkmargin setup` without `--production` rebuilds
/// byte for byte). Keys with one of these fingerprints are development keys whatever
/// their manifest says: an edited `"development": false` cannot pass them off as
/// production keys. A test holds this list equal to `keys/manifest.json`.
pub const DEVELOPMENT_KEY_FINGERPRINTS: &[&str] = &[
    // zkmargin.margin.v1
    "c48cac1a5d7803419663f4d07c3135be29dde11a7e88fe5e6bd124d948d664bc",
    // zkmargin.liquidation.v1
    "9241ae50955f521641a381a58ddf6b0de5f0d0bdbf807d4741ebd8be32b02c7a",
];

/// The manifest of a keys directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version, [`MANIFEST_VERSION`].
    pub version: u32,
    /// True for keys made from the public development seed: anyone can forge proofs
    /// against them. Never accept them in production.
    pub development: bool,
    /// A human-readable notice shown wherever the keys are used.
    pub notice: String,
    /// The public seed of development keys (absent for production keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// One entry per circuit.
    pub circuits: Vec<CircuitKeys>,
}

/// The keys of one circuit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitKeys {
    /// Circuit id and version, e.g. `zkmargin.margin.v1`.
    pub id: String,
    /// Number of R1CS constraints.
    pub constraints: usize,
    /// Number of public inputs (the constant 1 not counted).
    pub public_inputs: usize,
    /// The proving key file.
    pub proving_key: KeyFile,
    /// The verifying key file.
    pub verifying_key: KeyFile,
}

/// A key file: name (relative to the keys directory), size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// File name inside the keys directory.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// Why keys could not be loaded. Every message names the file and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The manifest or a key file could not be read.
    #[error("cannot read {path}: {source} (run `zkmargin setup` to create keys)")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest is not valid JSON of the expected shape.
    #[error("{path} is not a valid key manifest: {reason}")]
    ManifestFormat {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The manifest has an unknown format version.
    #[error("{path} has manifest version {found}, this build reads version {MANIFEST_VERSION}")]
    ManifestVersion {
        /// The manifest file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The manifest has no keys for the circuit this build needs.
    #[error("no keys for circuit {id} in {path} (it lists: {available}); the keys are from another circuit version: run `zkmargin setup`")]
    UnknownCircuit {
        /// The circuit id this build needs.
        id: String,
        /// The manifest file.
        path: PathBuf,
        /// The circuit ids it lists.
        available: String,
    },
    /// The manifest describes another version of the circuit.
    #[error("{} lists {what} = {manifest} for circuit {id}, but this build's circuit has {circuit}: the keys are from another circuit version; run `zkmargin setup` to make keys for this build", path.display())]
    CircuitMismatch {
        /// The manifest.
        path: PathBuf,
        /// The circuit id.
        id: String,
        /// Which number differs.
        what: &'static str,
        /// The manifest's number.
        manifest: usize,
        /// This build's number.
        circuit: usize,
    },
    /// A key file's size differs from the manifest.
    #[error("{path} is {actual} bytes, the manifest says {expected}: the file is truncated or replaced; regenerate with `zkmargin setup`")]
    Size {
        /// The file.
        path: PathBuf,
        /// Size in the manifest.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// A key file's SHA-256 differs from the manifest.
    #[error("{path} has fingerprint {actual}, the manifest says {expected}: the file was modified; regenerate with `zkmargin setup`")]
    Fingerprint {
        /// The file.
        path: PathBuf,
        /// Fingerprint in the manifest.
        expected: String,
        /// Fingerprint of the bytes on disk.
        actual: String,
    },
    /// The bytes passed the fingerprint but do not decode as a key.
    #[error("{path} does not decode as a Groth16 key: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// The key does not fit the circuit this build proves (different public inputs).
    #[error("{path} is a key for {found} public inputs, circuit {id} has {expected}: keys from another circuit version; run `zkmargin setup`")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The circuit id.
        id: String,
        /// Public inputs the circuit has.
        expected: usize,
        /// Public inputs the key has.
        found: usize,
    },
}

/// SHA-256 of `bytes` as lowercase hex: the fingerprint of a key file.
pub fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    ///
    /// # Errors
    /// [`KeyError::Read`], [`KeyError::ManifestFormat`], [`KeyError::ManifestVersion`].
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| KeyError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| KeyError::ManifestFormat {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if manifest.version != MANIFEST_VERSION {
            return Err(KeyError::ManifestVersion {
                path,
                found: manifest.version,
            });
        }
        Ok(manifest)
    }

    /// The entry of circuit `id`.
    ///
    /// # Errors
    /// [`KeyError::UnknownCircuit`] when the manifest does not list it.
    pub fn circuit(&self, dir: &Path, id: &str) -> Result<&CircuitKeys, KeyError> {
        self.circuits
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| KeyError::UnknownCircuit {
                id: id.to_owned(),
                path: dir.join(MANIFEST_FILE),
                available: self
                    .circuits
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl CircuitKeys {
    /// Checks that this entry describes this build's circuit: `public_inputs` and
    /// `constraints` as the circuit has them (`dir` names the manifest in the error).
    ///
    /// # Errors
    /// [`KeyError::CircuitMismatch`] naming the first number that differs.
    pub fn check_shape(
        &self,
        dir: &Path,
        public_inputs: usize,
        constraints: usize,
    ) -> Result<(), KeyError> {
        let mismatch = |what, manifest, circuit| KeyError::CircuitMismatch {
            path: dir.join(MANIFEST_FILE),
            id: self.id.clone(),
            what,
            manifest,
            circuit,
        };
        if self.public_inputs != public_inputs {
            return Err(mismatch("public_inputs", self.public_inputs, public_inputs));
        }
        if self.constraints != constraints {
            return Err(mismatch("constraints", self.constraints, constraints));
        }
        Ok(())
    }
}

impl KeyFile {
    /// Reads the file from `dir` and checks its size and fingerprint.
    ///
    /// # Errors
    /// [`KeyError::Read`], [`KeyError::Size`], [`KeyError::Fingerprint`].
    pub fn read_verified(&self, dir: &Path) -> Result<Vec<u8>, KeyError> {
        let path = dir.join(&self.file);
        let bytes = std::fs::read(&path).map_err(|source| KeyError::Read {
            path: path.clone(),
            source,
        })?;
        if bytes.len() as u64 != self.bytes {
            return Err(KeyError::Size {
                path,
                expected: self.bytes,
                actual: bytes.len() as u64,
            });
        }
        let actual = fingerprint(&bytes);
        if actual != self.sha256 {
            return Err(KeyError::Fingerprint {
                path,
                expected: self.sha256.clone(),
                actual,
            });
        }
        Ok(bytes)
    }
}

/// A verifying key that passed its fingerprint and point validation.
#[derive(Debug, Clone)]
pub struct LoadedVerifyingKey {
    /// The key.
    pub key: VerifyingKey<Bn254>,
    /// SHA-256 of its file: the `key_fingerprint` of every bundle proven against it.
    pub fingerprint: String,
    /// True for development keys: the manifest says so, or the key is one of the
    /// [`DEVELOPMENT_KEY_FINGERPRINTS`].
    pub development: bool,
}

/// Loads circuit `id`'s verifying key from `dir`, checking size, fingerprint, point
/// validity (on curve, in subgroup) and the number of public inputs. (A verifier also
/// checks the manifest's counts against this build's circuit:
/// [`CircuitKeys::check_shape`].)
///
/// # Errors
/// Any [`KeyError`].
pub fn load_verifying_key(
    dir: &Path,
    id: &str,
    public_inputs: usize,
) -> Result<LoadedVerifyingKey, KeyError> {
    let manifest = Manifest::load(dir)?;
    let entry = manifest.circuit(dir, id)?;
    let path = dir.join(&entry.verifying_key.file);
    let bytes = entry.verifying_key.read_verified(dir)?;
    let key = VerifyingKey::<Bn254>::deserialize_uncompressed(&bytes[..]).map_err(|e| {
        KeyError::Decode {
            path: path.clone(),
            reason: e.to_string(),
        }
    })?;
    if key.gamma_abc_g1.len() != public_inputs + 1 {
        return Err(KeyError::Shape {
            path,
            id: id.to_owned(),
            expected: public_inputs,
            found: key.gamma_abc_g1.len().saturating_sub(1),
        });
    }
    let fingerprint = entry.verifying_key.sha256.clone();
    Ok(LoadedVerifyingKey {
        key,
        development: manifest.development
            || DEVELOPMENT_KEY_FINGERPRINTS.contains(&fingerprint.as_str()),
        fingerprint,
    })
}
