//! Groth16 key setup and the keys directory.
//!
//! Development keys are deterministic: circuit `id`'s setup randomness is
//! `ChaCha20Rng::from_seed(SHA-256(DEVELOPMENT_SEED || "/" || id))`, so anyone can
//! regenerate them byte for byte (and forge proofs with them: the seed is public),
//! and adding a circuit never changes another circuit's keys. Production keys draw
//! from the operating system's RNG and their manifest carries no seed.
//!
//! Files: `<stem>.pk` and `<stem>.vk` per circuit (arkworks
//! `serialize_uncompressed`) and `manifest.json` (the verifier crate's
//! [`Manifest`]), written last so that a manifest always describes complete files.

use std::path::Path;

use ark_serialize::CanonicalSerialize;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use zkmargin_verifier::keys::{
    fingerprint, CircuitKeys, KeyFile, Manifest, MANIFEST_FILE, MANIFEST_VERSION,
};

use crate::{
    files::{write_file, write_json, FileError, WriteOptions},
    registry::{CircuitDef, Shape, CIRCUITS},
};

/// The public seed of the development keys. Anyone can derive the keys from it and
/// forge proofs: development keys are for development and tests only.
pub const DEVELOPMENT_SEED: &str =
    "zkmargin development keys v1 (public seed; anyone can forge proofs; never use in production)";

/// Manifest notice of development keys.
pub const DEVELOPMENT_NOTICE: &str = "DEVELOPMENT KEYS, UNSAFE FOR PRODUCTION: generated from a public seed, so anyone can forge proofs that verify against them. Use them for development and tests only; run `zkmargin setup --production` for real keys.";

/// Manifest notice of production keys.
pub const PRODUCTION_NOTICE: &str = "Production keys from a single-party Groth16 setup with the operating system's RNG: whoever ran the setup must be trusted to have discarded its randomness. Keep the proving keys; they cannot be regenerated.";

/// Where setup randomness comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// Deterministic from [`DEVELOPMENT_SEED`]: reproducible, and unsafe.
    Development,
    /// The operating system's RNG: keys nobody can regenerate.
    Production,
}

/// Why key setup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Constraint synthesis or key generation failed (a circuit bug).
    #[error("Groth16 setup of circuit {id} failed: {reason}")]
    Generate {
        /// The circuit.
        id: &'static str,
        /// The synthesis error.
        reason: String,
    },
    /// A key could not be serialized.
    #[error("cannot serialize the keys of circuit {id}: {reason}")]
    Serialize {
        /// The circuit.
        id: &'static str,
        /// The serializer's message.
        reason: String,
    },
    /// The keys directory could not be created.
    #[error("cannot create keys directory {}: {source}; check the path and its permissions", path.display())]
    CreateDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file or the manifest could not be written.
    #[error(transparent)]
    Write(#[from] FileError),
}

/// The setup RNG of development keys for circuit `circuit_id` derived from `seed`.
pub fn development_rng(seed: &str, circuit_id: &str) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(b"/");
    h.update(circuit_id.as_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// One circuit's freshly generated keys, serialized.
#[derive(Clone)]
pub struct GeneratedKeys {
    /// The circuit.
    pub circuit: &'static CircuitDef,
    /// Its shape (constraint count and variables).
    pub shape: Shape,
    /// `ProvingKey::serialize_uncompressed`.
    pub proving_key: Vec<u8>,
    /// `VerifyingKey::serialize_uncompressed`.
    pub verifying_key: Vec<u8>,
}

impl std::fmt::Debug for GeneratedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKeys")
            .field("circuit", &self.circuit.id)
            .field("proving_key_bytes", &self.proving_key.len())
            .field("verifying_key_bytes", &self.verifying_key.len())
            .finish()
    }
}

impl GeneratedKeys {
    /// The manifest entry describing these keys.
    pub fn manifest_entry(&self) -> CircuitKeys {
        let file = |name: String, bytes: &[u8]| KeyFile {
            file: name,
            bytes: bytes.len() as u64,
            sha256: fingerprint(bytes),
        };
        CircuitKeys {
            id: self.circuit.id.to_owned(),
            constraints: self.shape.constraints,
            public_inputs: self.circuit.public_inputs,
            proving_key: file(self.circuit.proving_key_file(), &self.proving_key),
            verifying_key: file(self.circuit.verifying_key_file(), &self.verifying_key),
        }
    }
}

/// Runs Groth16 setup for `circuit`, randomness per `mode`.
///
/// # Errors
/// [`SetupError::Generate`], [`SetupError::Serialize`].
pub fn generate(circuit: &'static CircuitDef, mode: KeyMode) -> Result<GeneratedKeys, SetupError> {
    match mode {
        KeyMode::Development => {
            generate_with(circuit, &mut development_rng(DEVELOPMENT_SEED, circuit.id))
        }
        KeyMode::Production => generate_with(circuit, &mut OsRng),
    }
}

/// Runs Groth16 setup for `circuit` with randomness from `rng`.
///
/// # Errors
/// [`SetupError::Generate`], [`SetupError::Serialize`].
pub fn generate_with(
    circuit: &'static CircuitDef,
    rng: &mut dyn RngCore,
) -> Result<GeneratedKeys, SetupError> {
    let generate_err = |e: ark_relations::gr1cs::SynthesisError| SetupError::Generate {
        id: circuit.id,
        reason: e.to_string(),
    };
    let shape = circuit.shape().map_err(generate_err)?;
    let pk = circuit.generate(rng).map_err(generate_err)?;
    let serialize_err = |e: ark_serialize::SerializationError| SetupError::Serialize {
        id: circuit.id,
        reason: e.to_string(),
    };
    let mut proving_key = Vec::with_capacity(pk.uncompressed_size());
    pk.serialize_uncompressed(&mut proving_key)
        .map_err(serialize_err)?;
    let mut verifying_key = Vec::with_capacity(pk.vk.uncompressed_size());
    pk.vk
        .serialize_uncompressed(&mut verifying_key)
        .map_err(serialize_err)?;
    Ok(GeneratedKeys {
        circuit,
        shape,
        proving_key,
        verifying_key,
    })
}

/// The manifest of `keys` made in `mode`.
pub fn manifest(mode: KeyMode, keys: &[GeneratedKeys]) -> Manifest {
    let development = mode == KeyMode::Development;
    Manifest {
        version: MANIFEST_VERSION,
        development,
        notice: if development {
            DEVELOPMENT_NOTICE
        } else {
            PRODUCTION_NOTICE
        }
        .to_owned(),
        seed: development.then(|| DEVELOPMENT_SEED.to_owned()),
        circuits: keys.iter().map(GeneratedKeys::manifest_entry).collect(),
    }
}

/// Writes `keys` and their manifest into `dir` (created if missing), replacing any
/// previous files of the same names. Returns the manifest written.
///
/// # Errors
/// [`SetupError::CreateDir`], [`SetupError::Write`].
pub fn write_keys(
    dir: &Path,
    mode: KeyMode,
    keys: &[GeneratedKeys],
) -> Result<Manifest, SetupError> {
    std::fs::create_dir_all(dir).map_err(|source| SetupError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;
    let replace = WriteOptions {
        private: false,
        overwrite: true,
    };
    for k in keys {
        write_file(
            &dir.join(k.circuit.proving_key_file()),
            &k.proving_key,
            replace,
        )?;
        write_file(
            &dir.join(k.circuit.verifying_key_file()),
            &k.verifying_key,
            replace,
        )?;
    }
    let manifest = manifest(mode, keys);
    write_json(&dir.join(MANIFEST_FILE), &manifest, replace)?;
    Ok(manifest)
}

/// Generates the keys of every circuit in [`CIRCUITS`] and writes them to `dir`.
///
/// # Errors
/// Any [`SetupError`].
pub fn setup(dir: &Path, mode: KeyMode) -> Result<Manifest, SetupError> {
    let keys = CIRCUITS
        .iter()
        .map(|c| generate(c, mode))
        .collect::<Result<Vec<_>, _>>()?;
    write_keys(dir, mode, &keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::MARGIN;

    #[test]
    fn development_rng_separates_circuits_and_seeds() {
        let mut a = development_rng(DEVELOPMENT_SEED, "zkmargin.margin.v1");
        let mut b = development_rng(DEVELOPMENT_SEED, "zkmargin.liquidation.v1");
        let mut c = development_rng("another seed", "zkmargin.margin.v1");
        let mut a2 = development_rng(DEVELOPMENT_SEED, "zkmargin.margin.v1");
        let x = a.next_u64();
        assert_ne!(x, b.next_u64());
        assert_ne!(x, c.next_u64());
        assert_eq!(x, a2.next_u64());
    }

    #[test]
    fn manifest_says_what_the_keys_are() {
        let keys = generate(&MARGIN, KeyMode::Development).unwrap();
        let dev = manifest(KeyMode::Development, std::slice::from_ref(&keys));
        assert!(dev.development);
        assert_eq!(dev.seed.as_deref(), Some(DEVELOPMENT_SEED));
        assert!(dev.notice.contains("UNSAFE FOR PRODUCTION"));
        let entry = &dev.circuits[0];
        assert_eq!(entry.id, MARGIN.id);
        assert_eq!(entry.public_inputs, MARGIN.public_inputs);
        assert_eq!(entry.constraints, MARGIN.shape().unwrap().constraints);
        assert_eq!(entry.proving_key.file, "margin.pk");
        assert_eq!(entry.verifying_key.file, "margin.vk");
        assert_eq!(entry.proving_key.bytes, keys.proving_key.len() as u64);
        assert_eq!(entry.verifying_key.sha256, fingerprint(&keys.verifying_key));

        let prod = manifest(KeyMode::Production, &[keys]);
        assert!(!prod.development);
        assert_eq!(prod.seed, None);
    }
}
