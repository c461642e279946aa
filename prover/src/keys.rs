//! Loading a proving key: manifest checks, fingerprint once, fast deserialization.
//!
//! [`load_proving_key`] reads `manifest.json`, checks that the manifest's entry
//! describes this build's circuit (id, public inputs, constraints), reads the key
//! file and checks its size and SHA-256 against the manifest, and only then
//! deserializes it *without* point validation (`deserialize_uncompressed_unchecked`,
//! milliseconds instead of seconds: the bytes are the ones setup wrote, as the
//! fingerprint just proved). It then checks the key's vector lengths against the
//! circuit and that its embedded verifying key is the manifest's verifying-key file,
//! so a proof made with it carries the right `key_fingerprint`.
//!
//! A missing development proving key is regenerated from the manifest's public seed
//! (and checked against the manifest's fingerprints); a missing production proving
//! key is an error.

use std::{
    io,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use zkmargin_verifier::keys::{fingerprint, CircuitKeys, KeyError, Manifest, MANIFEST_FILE};

use crate::{
    files::{write_file, FileError, WriteOptions},
    registry::{CircuitDef, Shape},
    setup::{development_rng, generate_with, SetupError},
};

/// A proving key that passed every check, with what a prover needs to know about it.
pub struct LoadedProvingKey {
    /// The circuit it proves.
    pub circuit: &'static CircuitDef,
    /// The key.
    pub key: ProvingKey<Bn254>,
    /// SHA-256 of the verifying-key file: the `key_fingerprint` of every bundle.
    pub verifying_key_fingerprint: String,
    /// True for development keys (public seed: anyone can forge proofs).
    pub development: bool,
    /// The manifest's notice.
    pub notice: String,
    /// True when the key file was missing and regenerated from the development seed.
    pub regenerated: bool,
}

impl std::fmt::Debug for LoadedProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedProvingKey")
            .field("circuit", &self.circuit.id)
            .field("verifying_key_fingerprint", &self.verifying_key_fingerprint)
            .field("development", &self.development)
            .finish_non_exhaustive()
    }
}

/// What [`load_proving_key`] reports while it works (for progress display).
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadEvent<'a> {
    /// The development proving key is missing and is being regenerated from the seed.
    Regenerating {
        /// The file being regenerated.
        path: &'a Path,
    },
    /// Regeneration finished and matched the manifest.
    Regenerated {
        /// How long setup took.
        elapsed: Duration,
    },
    /// The regenerated key could not be saved (it is used from memory this time).
    NotSaved {
        /// Why.
        error: &'a FileError,
    },
}

/// Why a proving key could not be loaded. Each message names the file and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLoadError {
    /// The manifest or a key file failed the verifier crate's checks (unreadable,
    /// malformed, unknown version, unknown circuit, wrong size, wrong fingerprint).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The manifest describes another version of the circuit.
    #[error("{} lists {what} = {manifest} for circuit {id}, but this build's circuit has {circuit}: the keys are from another circuit version; run `zkmargin setup` to make keys for this build", path.display())]
    CircuitMismatch {
        /// The manifest.
        path: PathBuf,
        /// The circuit id.
        id: &'static str,
        /// Which number differs.
        what: &'static str,
        /// The manifest's number.
        manifest: usize,
        /// This build's number.
        circuit: usize,
    },
    /// A production proving key file is missing.
    #[error("proving key {} is missing; production proving keys cannot be regenerated: restore the file from the setup's backup, or run `zkmargin setup --production --force` to make new keys (proofs made with the old keys will no longer verify)", path.display())]
    MissingProductionKey {
        /// The file.
        path: PathBuf,
    },
    /// A development manifest without its seed.
    #[error("{} marks the keys as development keys but has no seed to regenerate the missing proving key; run `zkmargin setup`", path.display())]
    NoSeed {
        /// The manifest.
        path: PathBuf,
    },
    /// Regenerating a development key failed.
    #[error("cannot regenerate the development proving key: {0}")]
    Regenerate(#[from] SetupError),
    /// The seed no longer produces the manifest's keys.
    #[error("the development seed in {} no longer produces {file} (fingerprint {actual}, the manifest says {expected}): the circuit changed since the keys were made; run `zkmargin setup`", manifest.display())]
    RegeneratedMismatch {
        /// The manifest.
        manifest: PathBuf,
        /// Which file differs.
        file: String,
        /// Fingerprint in the manifest.
        expected: String,
        /// Fingerprint of the regenerated bytes.
        actual: String,
    },
    /// The bytes passed the fingerprint but do not decode as a proving key.
    #[error("{} does not decode as a Groth16 proving key: {reason}; run `zkmargin setup`", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// The key's vectors do not fit the circuit.
    #[error("{} does not fit circuit {id} ({reason}): the key is from another circuit version; run `zkmargin setup`", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The circuit id.
        id: &'static str,
        /// Which length differs.
        reason: String,
    },
    /// The proving key's embedded verifying key is not the manifest's verifying key.
    #[error("{} and {} come from different setups (the proving key's verifying key has fingerprint {actual}, the manifest's verifying key {expected}); run `zkmargin setup`", pk.display(), vk.display())]
    Pair {
        /// The proving key file.
        pk: PathBuf,
        /// The verifying key file.
        vk: PathBuf,
        /// The manifest's verifying-key fingerprint.
        expected: String,
        /// The fingerprint of the proving key's embedded verifying key.
        actual: String,
    },
    /// The circuit could not be synthesized (a bug, not an input error).
    #[error("cannot synthesize circuit {id}: {reason}")]
    Synthesis {
        /// The circuit id.
        id: &'static str,
        /// The synthesis error.
        reason: String,
    },
}

fn shape_of(circuit: &'static CircuitDef) -> Result<Shape, KeyLoadError> {
    circuit.shape().map_err(|e| KeyLoadError::Synthesis {
        id: circuit.id,
        reason: e.to_string(),
    })
}

/// Reads `dir`'s manifest and the entry of `circuit`, checking that the entry
/// describes this build's circuit: same id, public-input count and constraint count.
///
/// # Errors
/// [`KeyLoadError::Key`] (unreadable or malformed manifest, circuit missing),
/// [`KeyLoadError::CircuitMismatch`].
pub fn manifest_entry(
    dir: &Path,
    circuit: &'static CircuitDef,
) -> Result<(Manifest, CircuitKeys), KeyLoadError> {
    let manifest = Manifest::load(dir)?;
    let entry = manifest.circuit(dir, circuit.id)?.clone();
    let shape = shape_of(circuit)?;
    let mismatch = |what, manifest, circuit_n| KeyLoadError::CircuitMismatch {
        path: dir.join(MANIFEST_FILE),
        id: circuit.id,
        what,
        manifest,
        circuit: circuit_n,
    };
    if entry.public_inputs != circuit.public_inputs {
        return Err(mismatch(
            "public_inputs",
            entry.public_inputs,
            circuit.public_inputs,
        ));
    }
    if entry.constraints != shape.constraints {
        return Err(mismatch(
            "constraints",
            entry.constraints,
            shape.constraints,
        ));
    }
    Ok((manifest, entry))
}

/// Loads `circuit`'s proving key from `dir` with every check of the module doc,
/// regenerating a missing development key from the seed (reported via `on_event`).
///
/// # Errors
/// Any [`KeyLoadError`].
pub fn load_proving_key(
    dir: &Path,
    circuit: &'static CircuitDef,
    on_event: &mut dyn FnMut(LoadEvent<'_>),
) -> Result<LoadedProvingKey, KeyLoadError> {
    let (manifest, entry) = manifest_entry(dir, circuit)?;
    let path = dir.join(&entry.proving_key.file);
    let (bytes, regenerated) = match entry.proving_key.read_verified(dir) {
        Ok(bytes) => (bytes, false),
        Err(KeyError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            if !manifest.development {
                return Err(KeyLoadError::MissingProductionKey { path });
            }
            let bytes = regenerate(dir, &manifest, &entry, circuit, on_event)?;
            (bytes, true)
        }
        Err(e) => return Err(e.into()),
    };
    let key = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&bytes[..]).map_err(|e| {
        KeyLoadError::Decode {
            path: path.clone(),
            reason: e.to_string(),
        }
    })?;
    check_shape(&key, circuit, &path)?;
    // The embedded verifying key must be the manifest's verifying-key file: bundles
    // name their key by that file's fingerprint.
    let mut vk_bytes = Vec::with_capacity(key.vk.uncompressed_size());
    key.vk
        .serialize_uncompressed(&mut vk_bytes)
        .map_err(|e| KeyLoadError::Decode {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let actual = fingerprint(&vk_bytes);
    if actual != entry.verifying_key.sha256 {
        return Err(KeyLoadError::Pair {
            pk: path,
            vk: dir.join(&entry.verifying_key.file),
            expected: entry.verifying_key.sha256.clone(),
            actual,
        });
    }
    Ok(LoadedProvingKey {
        circuit,
        key,
        verifying_key_fingerprint: entry.verifying_key.sha256,
        development: manifest.development,
        notice: manifest.notice,
        regenerated,
    })
}

/// Regenerates a development proving key, checks both fingerprints against the
/// manifest, and saves it (best effort: an unwritable directory only costs the
/// regeneration next time).
fn regenerate(
    dir: &Path,
    manifest: &Manifest,
    entry: &CircuitKeys,
    circuit: &'static CircuitDef,
    on_event: &mut dyn FnMut(LoadEvent<'_>),
) -> Result<Vec<u8>, KeyLoadError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let seed = manifest
        .seed
        .as_deref()
        .ok_or_else(|| KeyLoadError::NoSeed {
            path: manifest_path.clone(),
        })?;
    let path = dir.join(&entry.proving_key.file);
    on_event(LoadEvent::Regenerating { path: &path });
    let started = Instant::now();
    let keys = generate_with(circuit, &mut development_rng(seed, circuit.id))?;
    on_event(LoadEvent::Regenerated {
        elapsed: started.elapsed(),
    });
    for (file, bytes) in [
        (&entry.verifying_key, &keys.verifying_key),
        (&entry.proving_key, &keys.proving_key),
    ] {
        let actual = fingerprint(bytes);
        if actual != file.sha256 || bytes.len() as u64 != file.bytes {
            return Err(KeyLoadError::RegeneratedMismatch {
                manifest: manifest_path,
                file: file.file.clone(),
                expected: file.sha256.clone(),
                actual,
            });
        }
    }
    let save = write_file(
        &path,
        &keys.proving_key,
        WriteOptions {
            private: false,
            overwrite: true,
        },
    );
    if let Err(error) = &save {
        on_event(LoadEvent::NotSaved { error });
    }
    Ok(keys.proving_key)
}

/// Checks every vector length of `key` against the circuit's shape, so that a key of
/// another circuit is refused here rather than producing garbage (or an index panic)
/// inside the prover.
fn check_shape(
    key: &ProvingKey<Bn254>,
    circuit: &'static CircuitDef,
    path: &Path,
) -> Result<(), KeyLoadError> {
    let shape = shape_of(circuit)?;
    let variables = shape.instance_variables + shape.witness_variables;
    let checks = [
        (
            "verifying-key inputs",
            key.vk.gamma_abc_g1.len(),
            shape.instance_variables,
        ),
        ("A query", key.a_query.len(), variables),
        ("B query in G1", key.b_g1_query.len(), variables),
        ("B query in G2", key.b_g2_query.len(), variables),
        ("H query", key.h_query.len(), shape.domain_size() - 1),
        ("L query", key.l_query.len(), shape.witness_variables),
    ];
    for (what, found, expected) in checks {
        if found != expected {
            return Err(KeyLoadError::Shape {
                path: path.to_owned(),
                id: circuit.id,
                reason: format!("{what} has {found} elements, the circuit needs {expected}"),
            });
        }
    }
    Ok(())
}
