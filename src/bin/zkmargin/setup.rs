//! `zkmargin setup`: Groth16 setup of every circuit into a keys directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::json;
use zkmargin_prover::{
    files::{read_json, FileKind},
    setup::{generate, write_keys},
    KeyMode, CIRCUITS,
};
use zkmargin_verifier::{keys::MANIFEST_FILE, Manifest};

use crate::{
    ui::{self, Out},
    DEFAULT_KEYS_DIR,
};

/// Arguments of `zkmargin setup`.
#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// Keys directory to write (created if missing).
    #[arg(long = "keys", value_name = "DIR", env = "ZKMARGIN_KEYS", default_value = DEFAULT_KEYS_DIR)]
    keys: PathBuf,
    /// Draw the setup randomness from the OS RNG (keys nobody can regenerate).
    #[arg(long)]
    production: bool,
    /// Replace existing production keys (proofs made with them stop verifying).
    #[arg(long)]
    force: bool,
}

pub fn run(args: SetupArgs, out: &Out) -> anyhow::Result<()> {
    let mode = if args.production {
        KeyMode::Production
    } else {
        KeyMode::Development
    };
    refuse_to_replace(&args.keys, mode, args.force)?;
    let (manifest, timings) = run_setup(&args.keys, mode)?;
    if manifest.development {
        ui::development_keys_warning(&args.keys);
    } else {
        eprintln!("{SINGLE_PARTY_WARNING}");
    }
    let provenance = manifest
        .provenance(&args.keys)
        .with_context(|| format!("the keys written to {}", args.keys.display()))?;
    out.json(&json!({
        "keys_dir": args.keys,
        "manifest": manifest,
        "provenance": provenance,
        "setup_ms": timings.iter().map(|(id, d)| (id.to_string(), ui::millis(*d))).collect::<std::collections::BTreeMap<_, _>>(),
    }))?;
    out.line(format!(
        "{} keys written to {}",
        if manifest.development {
            "development"
        } else {
            "production"
        },
        args.keys.display()
    ));
    print_manifest(out, &manifest, &timings);
    out.line(format!("provenance: {}", provenance.summary()));
    out.line(format!(
        "manifest: {}",
        args.keys.join(MANIFEST_FILE).display()
    ));
    Ok(())
}

/// What `setup --production` says on stderr: one process made the keys.
pub const SINGLE_PARTY_WARNING: &str = "WARNING: single-party keys. This process drew the setup secrets (toxic waste) and nothing proves they were destroyed: whoever ran it, or could read this machine's memory, can forge proofs that verify against these keys. For keys no single party can forge with, run a ceremony (`zkmargin ceremony`, docs/CEREMONY.md).";

/// Generates and writes every circuit's keys, with a spinner per circuit.
pub fn run_setup(
    dir: &Path,
    mode: KeyMode,
) -> anyhow::Result<(Manifest, Vec<(&'static str, std::time::Duration)>)> {
    let mut keys = Vec::new();
    let mut timings = Vec::new();
    for circuit in CIRCUITS {
        let (generated, elapsed) = ui::timed(format!("Groth16 setup of {}", circuit.id), || {
            generate(circuit, mode)
        });
        keys.push(generated?);
        timings.push((circuit.id, elapsed));
    }
    let manifest = write_keys(dir, mode, &keys)
        .with_context(|| format!("cannot write keys to {}", dir.display()))?;
    // A ceremony record left from earlier keys no longer describes these.
    let record = dir.join(zkmargin_verifier::keys::CEREMONY_FILE);
    if record.exists() {
        std::fs::remove_file(&record)
            .with_context(|| format!("cannot remove the stale {}", record.display()))?;
    }
    Ok((manifest, timings))
}

pub fn print_manifest(
    out: &Out,
    manifest: &Manifest,
    timings: &[(&'static str, std::time::Duration)],
) {
    for c in &manifest.circuits {
        let took = timings
            .iter()
            .find(|(id, _)| *id == c.id)
            .map(|(_, d)| format!(", setup {}", ui::duration(*d)))
            .unwrap_or_default();
        out.line(format!(
            "  {}: {} constraints, {} public inputs{took}",
            c.id,
            ui::thousands(c.constraints as u128),
            c.public_inputs
        ));
        for f in [&c.proving_key, &c.verifying_key] {
            out.line(format!(
                "    {:<10} {:>11} bytes  sha256 {}",
                f.file,
                ui::thousands(u128::from(f.bytes)),
                f.sha256
            ));
        }
    }
}

/// Production keys are not replaced without --force: every proof made with them
/// would stop verifying. Development keys are reproducible, so rewriting them is
/// harmless (it yields the same bytes unless the circuit changed).
fn refuse_to_replace(dir: &Path, mode: KeyMode, force: bool) -> anyhow::Result<()> {
    let path = dir.join(MANIFEST_FILE);
    if force || !path.exists() {
        return Ok(());
    }
    let existing_dev = read_json::<Manifest>(&path, FileKind::KeyManifest)
        .map(|m| m.development)
        .ok();
    match (existing_dev, mode) {
        (Some(true), KeyMode::Development) => Ok(()),
        (Some(false), _) => bail!(
            "{} already holds production keys; replacing them makes every proof made with them fail to verify: pass --force to replace them, or choose another --keys directory",
            dir.display()
        ),
        (Some(true), KeyMode::Production) => bail!(
            "{} already holds development keys; pass --force to replace them with production keys, or choose another --keys directory",
            dir.display()
        ),
        (None, _) => bail!(
            "{} exists but is not a readable key manifest; pass --force to replace the keys in {}, or choose another --keys directory",
            path.display(),
            dir.display()
        ),
    }
}
