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
    #[error("cannot read {path}: {source} (give the directory that holds the keys with --keys, or create keys with `zkmargin setup`)")]
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
    /// The ceremony record beside the manifest is unreadable, or does not describe
    /// these keys.
    #[error("{path} is not a valid ceremony record for these keys: {reason}; finalize the ceremony again (`zkmargin ceremony finalize`), or remove the file if these keys were not made by a ceremony")]
    CeremonyRecord {
        /// The record file.
        path: PathBuf,
        /// What is wrong.
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

/// The ceremony record `zkmargin ceremony finalize` writes beside the manifest.
pub const CEREMONY_FILE: &str = "ceremony.json";
/// Format version of [`CeremonyRecord`].
pub const CEREMONY_RECORD_VERSION: u32 = 1;

/// What a keys directory made by a multi-party ceremony records about it
/// (`ceremony.json`): per circuit, the phase-1 file and the phase-2 transcript, so
/// every participant can check that their contribution is in the keys they use.
///
/// The record is a claim, not a proof: it names what to check. The assurance is
/// `zkmargin ceremony verify` on the published transcript and ptau, which recomputes
/// the keys' parameters and must report the same transcript digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyRecord {
    /// [`CEREMONY_RECORD_VERSION`].
    pub version: u32,
    /// One transcript per circuit of the manifest.
    pub circuits: Vec<CeremonyTranscript>,
}

/// One circuit's ceremony, as [`CeremonyRecord`] records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyTranscript {
    /// The circuit id.
    pub circuit_id: String,
    /// SHA-256 of the verifying-key file the ceremony produced (the manifest's).
    pub verifying_key_sha256: String,
    /// Digest of the circuit's constraint system the ceremony was initialised for.
    pub circuit_digest: String,
    /// BLAKE2b-512 of the powers-of-tau file (compare with the published hash).
    pub ptau_blake2b: String,
    /// The ptau file's power (2^power points).
    pub ptau_power: u32,
    /// The final transcript hash: the last contribution's (the beacon's, if closed).
    pub transcript_digest: String,
    /// Participants who contributed (the beacon not counted).
    pub contribution_count: usize,
    /// Every participant's published contribution hash, in order.
    pub contribution_hashes: Vec<String>,
    /// The beacon value that closed the ceremony (hex), if any.
    pub beacon_value: Option<String>,
    /// The beacon's iterations, as a power of two.
    pub beacon_iterations_exp: Option<u8>,
}

/// How a keys directory was made: what `zkmargin inspect`, `GET /v1/info` and the
/// verifier's start-up line report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyProvenance {
    /// From the public development seed: anyone can forge proofs.
    DevelopmentSeed {
        /// The seed (absent when only the fingerprint says development).
        seed: Option<String>,
    },
    /// One process drew the setup secrets (`zkmargin setup --production`): whoever ran
    /// it could forge proofs.
    SingleParty,
    /// A multi-party ceremony: safe if any one participant was honest.
    Ceremony(CeremonyRecord),
}

/// "1 contribution", "3 contributions": how the provenance lines count them.
pub fn contributions(n: usize) -> String {
    if n == 1 {
        "1 contribution".into()
    } else {
        format!("{n} contributions")
    }
}

impl KeyProvenance {
    /// One line for people.
    pub fn summary(&self) -> String {
        match self {
            KeyProvenance::DevelopmentSeed { .. } => {
                "development seed (public: anyone can forge proofs)".to_owned()
            }
            KeyProvenance::SingleParty => "single-party setup (`zkmargin setup --production`): whoever ran it could forge proofs".to_owned(),
            KeyProvenance::Ceremony(record) => format!(
                "ceremony: {}",
                record
                    .circuits
                    .iter()
                    .map(|t| format!(
                        "{} ({}, transcript {})",
                        t.circuit_id,
                        contributions(t.contribution_count),
                        t.transcript_digest
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl Manifest {
    /// How these keys were made: the development seed (the manifest says so, or a key
    /// is one of the [`DEVELOPMENT_KEY_FINGERPRINTS`]), a ceremony (a valid
    /// [`CEREMONY_FILE`] in `dir` that describes exactly these keys), or a single party.
    ///
    /// # Errors
    /// [`KeyError::CeremonyRecord`] when `dir` holds a ceremony record that cannot be
    /// read or names other keys.
    pub fn provenance(&self, dir: &Path) -> Result<KeyProvenance, KeyError> {
        let development_key = self
            .circuits
            .iter()
            .any(|c| DEVELOPMENT_KEY_FINGERPRINTS.contains(&c.verifying_key.sha256.as_str()));
        if self.development || development_key {
            return Ok(KeyProvenance::DevelopmentSeed {
                seed: self.seed.clone(),
            });
        }
        let path = dir.join(CEREMONY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KeyProvenance::SingleParty)
            }
            Err(source) => return Err(KeyError::Read { path, source }),
        };
        let bad = |reason: String| KeyError::CeremonyRecord {
            path: path.clone(),
            reason,
        };
        let record: CeremonyRecord = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if record.version != CEREMONY_RECORD_VERSION {
            return Err(bad(format!(
                "record version {}, this build reads version {CEREMONY_RECORD_VERSION}",
                record.version
            )));
        }
        if record.circuits.len() != self.circuits.len() {
            return Err(bad(format!(
                "{} transcripts for {} circuits",
                record.circuits.len(),
                self.circuits.len()
            )));
        }
        for keys in &self.circuits {
            let t = record
                .circuits
                .iter()
                .find(|t| t.circuit_id == keys.id)
                .ok_or_else(|| bad(format!("no transcript for circuit {}", keys.id)))?;
            if t.verifying_key_sha256 != keys.verifying_key.sha256 {
                return Err(bad(format!(
                    "circuit {}: the ceremony made verifying key {}, the manifest lists {}",
                    keys.id, t.verifying_key_sha256, keys.verifying_key.sha256
                )));
            }
            if t.contribution_count == 0 || t.contribution_count != t.contribution_hashes.len() {
                return Err(bad(format!(
                    "circuit {}: {} contributions but {} contribution hashes",
                    keys.id,
                    t.contribution_count,
                    t.contribution_hashes.len()
                )));
            }
        }
        Ok(KeyProvenance::Ceremony(record))
    }
}

#[cfg(test)]
mod provenance_tests {
    use super::*;

    fn manifest(development: bool, vk_sha256: &str) -> Manifest {
        let file = |name: &str, sha256: &str| KeyFile {
            file: name.to_owned(),
            bytes: 1,
            sha256: sha256.to_owned(),
        };
        Manifest {
            version: MANIFEST_VERSION,
            development,
            notice: String::new(),
            seed: development.then(|| "seed".to_owned()),
            circuits: vec![CircuitKeys {
                id: "zkmargin.margin.v1".to_owned(),
                constraints: 1,
                public_inputs: 1,
                proving_key: file("margin.pk", "00"),
                verifying_key: file("margin.vk", vk_sha256),
            }],
        }
    }

    fn record(vk_sha256: &str, count: usize) -> CeremonyRecord {
        CeremonyRecord {
            version: CEREMONY_RECORD_VERSION,
            circuits: vec![CeremonyTranscript {
                circuit_id: "zkmargin.margin.v1".to_owned(),
                verifying_key_sha256: vk_sha256.to_owned(),
                circuit_digest: "cd".to_owned(),
                ptau_blake2b: "b2".to_owned(),
                ptau_power: 12,
                transcript_digest: "td".to_owned(),
                contribution_count: count,
                contribution_hashes: vec!["h".to_owned(); 3],
                beacon_value: None,
                beacon_iterations_exp: None,
            }],
        }
    }

    fn write(dir: &Path, record: &CeremonyRecord) {
        std::fs::write(dir.join(CEREMONY_FILE), serde_json::to_vec(record).unwrap()).unwrap();
    }

    #[test]
    fn development_single_party_and_ceremony_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(false, "aa");
        assert_eq!(
            m.provenance(dir.path()).unwrap(),
            KeyProvenance::SingleParty
        );
        write(dir.path(), &record("aa", 3));
        let p = m.provenance(dir.path()).unwrap();
        assert_eq!(p, KeyProvenance::Ceremony(record("aa", 3)));
        assert!(p
            .summary()
            .contains("zkmargin.margin.v1 (3 contributions, transcript td)"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["kind"], "ceremony");
        assert_eq!(json["circuits"][0]["contribution_count"], 3);

        // Development keys stay development whatever lies beside them, including a
        // development key relabelled as production.
        assert!(matches!(
            manifest(true, "aa").provenance(dir.path()).unwrap(),
            KeyProvenance::DevelopmentSeed { seed: Some(_) }
        ));
        let relabelled = manifest(false, DEVELOPMENT_KEY_FINGERPRINTS[0]);
        assert!(matches!(
            relabelled.provenance(dir.path()).unwrap(),
            KeyProvenance::DevelopmentSeed { seed: None }
        ));
    }

    #[test]
    fn a_record_of_other_keys_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(false, "aa");
        for (bad, needle) in [
            (record("bb", 3), "the ceremony made verifying key bb"),
            (record("aa", 2), "2 contributions but 3 contribution hashes"),
            (
                CeremonyRecord {
                    version: 2,
                    ..record("aa", 3)
                },
                "record version 2",
            ),
        ] {
            write(dir.path(), &bad);
            let e = m.provenance(dir.path()).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("ceremony finalize"), "{e}");
        }
        std::fs::write(dir.path().join(CEREMONY_FILE), b"{\"version\": 1}").unwrap();
        assert!(matches!(
            m.provenance(dir.path()),
            Err(KeyError::CeremonyRecord { .. })
        ));
    }
}
