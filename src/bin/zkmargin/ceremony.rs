//! `zkmargin ceremony init|contribute|beacon|verify|finalize`: a multi-party phase-2
//! trusted setup over an imported powers of tau (docs/CEREMONY.md); `dev-ptau` makes a
//! local one to rehearse with.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::json;
use zkmargin_ceremony::{ceremony, CeremonyFile, CheckedPtau, CircuitShape, LocalSecrets, Ptau};
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, MarginCircuit},
    LIQUIDATION_CIRCUIT_ID, MARGIN_CIRCUIT_ID,
};
use zkmargin_prover::{
    files::{write_json, WriteOptions},
    setup::{write_keys, GeneratedKeys},
    KeyMode, CIRCUITS,
};
use zkmargin_verifier::keys::{
    CeremonyRecord, CeremonyTranscript, CEREMONY_FILE, CEREMONY_RECORD_VERSION, MANIFEST_FILE,
};

use crate::ui::{self, Out};

/// The manifest notice of ceremony keys.
const CEREMONY_NOTICE: &str = "Production keys from a multi-party ceremony: sound if at least one phase-1 and one phase-2 participant destroyed their secret. Check the transcript with `zkmargin ceremony verify` and compare the contribution hashes with the ones participants published (ceremony.json).";

#[derive(Debug, Subcommand)]
pub enum CeremonyCommand {
    /// Start a circuit's phase 2 from a checked .ptau: initial parameters (δ = 1).
    Init(InitArgs),
    /// Add your secret: OS randomness mixed with optional --entropy; prints the
    /// contribution hash to publish.
    Contribute(ContributeArgs),
    /// Close the ceremony with a public random value (e.g. a future block hash).
    Beacon(BeaconArgs),
    /// Verify a whole transcript from the circuit and the .ptau; list every
    /// contribution hash.
    Verify(VerifyArgs),
    /// Verify the final file of every circuit and write a keys directory.
    Finalize(FinalizeArgs),
    /// Make a local .ptau from fresh OS randomness, to rehearse a ceremony.
    /// Development only: this one process knew its secrets; production imports a
    /// public ceremony's file (docs/CEREMONY.md).
    DevPtau(DevPtauArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The phase-1 powers of tau (snarkjs .ptau, e.g. Hermez powersOfTau28_hez_final_12.ptau).
    #[arg(long, value_name = "FILE")]
    ptau: PathBuf,
    /// Circuit id: zkmargin.margin.v1 or zkmargin.liquidation.v2.
    #[arg(long, value_name = "ID")]
    circuit: String,
    /// Ceremony file to create.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct ContributeArgs {
    /// The ceremony file you received.
    input: PathBuf,
    /// The ceremony file to send on.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Extra entropy (typed, dice); mixed with 64 bytes of OS randomness.
    #[arg(long)]
    entropy: Option<String>,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct BeaconArgs {
    /// The last participant's ceremony file.
    input: PathBuf,
    /// The closed ceremony file.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// The public random value, hex (announced before it was known).
    #[arg(long, value_name = "HEX")]
    beacon: String,
    /// SHA-256 iterations as a power of two (2^N), at most 40.
    #[arg(long, value_name = "N", default_value_t = 10)]
    iterations: u8,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The phase-1 powers of tau the ceremony started from.
    #[arg(long, value_name = "FILE")]
    ptau: PathBuf,
    /// Circuit id.
    #[arg(long, value_name = "ID")]
    circuit: String,
    /// The ceremony file to verify.
    file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct FinalizeArgs {
    /// The phase-1 powers of tau the ceremonies started from.
    #[arg(long, value_name = "FILE")]
    ptau: PathBuf,
    /// The final (closed) ceremony file of the margin circuit.
    #[arg(long, value_name = "FILE")]
    margin: PathBuf,
    /// The final (closed) ceremony file of the liquidation circuit.
    #[arg(long, value_name = "FILE")]
    liquidation: PathBuf,
    /// Keys directory to write.
    #[arg(long = "keys", value_name = "DIR")]
    keys: PathBuf,
    /// Replace keys already in DIR.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct DevPtauArgs {
    /// Log2 of the number of powers: 12 covers both circuits (the liquidation
    /// circuit's domain is 2^12), at most 20.
    #[arg(long, value_name = "N", default_value_t = 12)]
    power: u32,
    /// Write only the monomial powers, as `snarkjs powersoftau` does before
    /// `prepare phase2`: a smaller file, but `init` then computes the Lagrange points
    /// itself (about 4× slower).
    #[arg(long)]
    unprepared: bool,
    /// The .ptau to create.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
}

/// Printed by `ceremony dev-ptau`, on standard error.
const DEV_PTAU_WARNING: &str = "a development powers of tau. This process drew τ, α and β and nothing proves they were destroyed: keys made from this file are only as trustworthy as this machine. Use it to rehearse a ceremony; production imports a public ceremony's .ptau (docs/CEREMONY.md).";

pub fn run(cmd: CeremonyCommand, out: &Out) -> anyhow::Result<()> {
    match cmd {
        CeremonyCommand::Init(a) => init(a, out),
        CeremonyCommand::Contribute(a) => contribute(a, out),
        CeremonyCommand::Beacon(a) => beacon(a, out),
        CeremonyCommand::Verify(a) => verify(a, out),
        CeremonyCommand::Finalize(a) => finalize(a, out),
        CeremonyCommand::DevPtau(a) => dev_ptau(a, out),
    }
}

fn dev_ptau(a: DevPtauArgs, out: &Out) -> anyhow::Result<()> {
    refuse_overwrite(&a.out, a.force)?;
    if !(1..=zkmargin_ceremony::ptau::MAX_GENERATED_POWER).contains(&a.power) {
        bail!(
            "--power {} is out of range: give 1..={} (12 covers both circuits)",
            a.power,
            zkmargin_ceremony::ptau::MAX_GENERATED_POWER
        );
    }
    ui::warn(DEV_PTAU_WARNING);
    let secrets = LocalSecrets::random(&mut rand::rngs::OsRng);
    let (ptau, took) = ui::timed(format!("generating 2^{} powers of tau", a.power), || {
        Ptau::generate(a.power, &secrets, !a.unprepared)
    });
    let ptau = ptau.context("cannot generate the powers of tau")?;
    let bytes = ptau.to_bytes().context("cannot encode the powers of tau")?;
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    let hashes = zkmargin_ceremony::PtauHashes::of_bytes(&bytes);
    out.json(&json!({
        "file": a.out,
        "power": a.power,
        "prepared": !a.unprepared,
        "bytes": bytes.len(),
        "blake2b": hashes.blake2b_hex(),
        "development": true,
        "generate_ms": ui::millis(took),
    }))?;
    out.line(format!(
        "development powers of tau 2^{} ({}) written to {} in {}",
        a.power,
        if a.unprepared {
            "unprepared"
        } else {
            "prepared"
        },
        a.out.display(),
        ui::duration(took)
    ));
    out.line(format!("  blake2b {}", hashes.blake2b_hex()));
    Ok(())
}

/// The circuit's setup-mode shape, by id.
fn shape_of(id: &str) -> anyhow::Result<CircuitShape> {
    let shape = match id {
        MARGIN_CIRCUIT_ID => CircuitShape::synthesize(MarginCircuit::for_setup()),
        LIQUIDATION_CIRCUIT_ID => CircuitShape::synthesize(LiquidationCircuit::for_setup()),
        other => bail!(
            "unknown circuit {other:?}: give --circuit {MARGIN_CIRCUIT_ID} or {LIQUIDATION_CIRCUIT_ID}"
        ),
    };
    shape.with_context(|| format!("cannot synthesize circuit {id}"))
}

/// Opens and checks a .ptau for a circuit's domain, printing its hash.
fn open_ptau(path: &Path, log_domain: u32, out: &Out) -> anyhow::Result<CheckedPtau> {
    let (ptau, took) = ui::timed(format!("checking {}", path.display()), || {
        Ptau::open(path, Some(log_domain)).and_then(Ptau::check)
    });
    let ptau = ptau.with_context(|| {
        format!(
            "{} is not a usable powers of tau (use a snarkjs .ptau of power ≥ {log_domain}, e.g. Hermez powersOfTau28_hez_final_{log_domain}.ptau)",
            path.display()
        )
    })?;
    ptau.require_domain(log_domain).with_context(|| {
        format!(
            "{} is too small: use a .ptau of power ≥ {log_domain}",
            path.display()
        )
    })?;
    out.line(format!(
        "ptau {} (power {}, checked in {})",
        path.display(),
        ptau.ptau().power(),
        ui::duration(took)
    ));
    out.line(format!("  blake2b {}", ptau.hashes().blake2b_hex()));
    out.line("  compare it with the hash the ceremony published (b2sum)");
    if ptau.ptau().contributions().is_empty() {
        // A public ceremony's file lists its phase-1 contributions; ours
        // (`ceremony dev-ptau`, Ptau::generate) lists none.
        ui::warn(format!(
            "{} records no phase-1 contribution: it is not a public ceremony's file (`ceremony dev-ptau` makes such files); keys made from it are only as trustworthy as whoever made it",
            path.display()
        ));
    }
    Ok(ptau)
}

fn refuse_overwrite(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!(
            "{} exists: pass --force to replace it, or choose another -o",
            path.display()
        );
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<CeremonyFile> {
    CeremonyFile::read(path)
        .with_context(|| format!("{} is not a readable ceremony file", path.display()))
}

fn write(file: &CeremonyFile, path: &Path) -> anyhow::Result<()> {
    file.write(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn init(a: InitArgs, out: &Out) -> anyhow::Result<()> {
    refuse_overwrite(&a.out, a.force)?;
    let shape = shape_of(&a.circuit)?;
    let ptau = open_ptau(&a.ptau, shape.log_domain, out)?;
    let (file, took) = ui::timed(format!("initial parameters of {}", a.circuit), || {
        ceremony::init(&a.circuit, &shape, &ptau)
    });
    let file = file.context("cannot compute the initial parameters")?;
    write(&file, &a.out)?;
    let digest = hex::encode(file.transcript_digest());
    out.json(&json!({
        "circuit": a.circuit,
        "file": a.out,
        "constraints": shape.num_constraints,
        "log_domain": shape.log_domain,
        "circuit_digest": shape.digest_hex(),
        "ptau_blake2b": ptau.hashes().blake2b_hex(),
        "initial_hash": digest,
        "init_ms": ui::millis(took),
    }))?;
    out.line(format!(
        "{}: {} constraints, domain 2^{}; initial parameters written to {} in {}",
        a.circuit,
        ui::thousands(shape.num_constraints as u128),
        shape.log_domain,
        a.out.display(),
        ui::duration(took)
    ));
    out.line(format!("initial transcript hash {digest}"));
    Ok(())
}

fn contribute(a: ContributeArgs, out: &Out) -> anyhow::Result<()> {
    refuse_overwrite(&a.out, a.force)?;
    let file = read(&a.input)?;
    let entropy = a.entropy.unwrap_or_default();
    let (result, took) = ui::timed("contributing", || file.contribute(entropy.as_bytes()));
    let (next, receipt) = result.context("cannot contribute")?;
    write(&next, &a.out)?;
    out.json(&json!({
        "circuit": next.circuit_id,
        "file": a.out,
        "index": receipt.index,
        "contribution_hash": receipt.hash_hex(),
        "contribute_ms": ui::millis(took),
    }))?;
    out.line(format!(
        "contribution {} to {} written to {} in {}",
        receipt.index,
        next.circuit_id,
        a.out.display(),
        ui::duration(took)
    ));
    out.line(format!(
        "publish your contribution hash: {}",
        receipt.hash_hex()
    ));
    Ok(())
}

fn beacon(a: BeaconArgs, out: &Out) -> anyhow::Result<()> {
    refuse_overwrite(&a.out, a.force)?;
    let value = hex::decode(a.beacon.trim_start_matches("0x"))
        .context("--beacon is not hex: give the public value as hex, e.g. a block hash")?;
    let file = read(&a.input)?;
    let (result, took) = ui::timed(
        format!("beacon (2^{} SHA-256 iterations)", a.iterations),
        || file.beacon(&value, a.iterations),
    );
    let (closed, receipt) = result.context("cannot apply the beacon")?;
    write(&closed, &a.out)?;
    out.json(&json!({
        "circuit": closed.circuit_id,
        "file": a.out,
        "index": receipt.index,
        "contribution_hash": receipt.hash_hex(),
        "beacon_ms": ui::millis(took),
    }))?;
    out.line(format!(
        "beacon applied to {}; closed ceremony written to {}",
        closed.circuit_id,
        a.out.display()
    ));
    out.line(format!("beacon contribution hash: {}", receipt.hash_hex()));
    Ok(())
}

fn verify(a: VerifyArgs, out: &Out) -> anyhow::Result<()> {
    let shape = shape_of(&a.circuit)?;
    let ptau = open_ptau(&a.ptau, shape.log_domain, out)?;
    let file = read(&a.file)?;
    let (verified, took) = ui::timed("verifying the transcript", || {
        ceremony::verify(&file, &a.circuit, &shape, &ptau)
    });
    let v = verified.with_context(|| format!("{} does not verify", a.file.display()))?;
    out.json(&json!({
        "circuit": v.circuit_id,
        "valid": true,
        "circuit_digest": v.circuit_digest,
        "initial_hash": v.initial_hash,
        "contributions": v.contributions,
        "participants": v.participant_count(),
        "closed": file.is_closed(),
        "transcript_digest": v.transcript_digest,
        "verify_ms": ui::millis(took),
    }))?;
    out.line(format!(
        "{}: transcript valid ({} participant{}{}), verified in {}",
        v.circuit_id,
        v.participant_count(),
        if v.participant_count() == 1 { "" } else { "s" },
        if file.is_closed() {
            ", closed by a beacon"
        } else {
            ", not closed yet"
        },
        ui::duration(took)
    ));
    for c in &v.contributions {
        let who = match &c.kind {
            zkmargin_ceremony::ContributionKind::Participant => "participant".to_owned(),
            zkmargin_ceremony::ContributionKind::Beacon { iterations_exp, .. } => {
                format!("beacon 2^{iterations_exp}")
            }
        };
        out.line(format!("  {:>3} {:<12} {}", c.index, who, c.hash));
    }
    out.line(format!("transcript digest {}", v.transcript_digest));
    Ok(())
}

fn finalize(a: FinalizeArgs, out: &Out) -> anyhow::Result<()> {
    if a.keys.join(MANIFEST_FILE).exists() && !a.force {
        bail!(
            "{} already holds keys: pass --force to replace them, or choose another --keys directory",
            a.keys.display()
        );
    }
    let mut generated = Vec::new();
    let mut transcripts = Vec::new();
    for circuit in CIRCUITS {
        let path = match circuit.id {
            MARGIN_CIRCUIT_ID => &a.margin,
            LIQUIDATION_CIRCUIT_ID => &a.liquidation,
            other => bail!("this build has circuit {other} with no ceremony flag; update zkmargin ceremony finalize"),
        };
        let shape = shape_of(circuit.id)?;
        let ptau = open_ptau(&a.ptau, shape.log_domain, out)?;
        let file = read(path)?;
        if !file.is_closed() {
            bail!(
                "{} is not closed by a beacon: run `zkmargin ceremony beacon` on it first",
                path.display()
            );
        }
        let (keys, took) = ui::timed(format!("verifying {}", circuit.id), || {
            ceremony::finalize(&file, circuit.id, &shape, &ptau)
        });
        let keys = keys.with_context(|| format!("{} does not verify", path.display()))?;
        out.line(format!(
            "{}: {} verified in {}",
            circuit.id,
            zkmargin_verifier::keys::contributions(keys.provenance.contribution_count),
            ui::duration(took)
        ));
        let verifying_key = keys.verifying_key_bytes();
        let p = &keys.provenance;
        transcripts.push(CeremonyTranscript {
            circuit_id: circuit.id.to_owned(),
            verifying_key_sha256: zkmargin_verifier::keys::fingerprint(&verifying_key),
            circuit_digest: p.circuit_digest.clone(),
            ptau_blake2b: p.ptau_blake2b.clone(),
            ptau_power: p.ptau_power,
            transcript_digest: p.transcript_digest.clone(),
            contribution_count: p.contribution_count,
            contribution_hashes: p.contribution_hashes.clone(),
            beacon_value: p.beacon.as_ref().map(|b| b.value.clone()),
            beacon_iterations_exp: p.beacon.as_ref().map(|b| b.iterations_exp),
        });
        generated.push(GeneratedKeys {
            circuit,
            shape: circuit
                .shape()
                .with_context(|| format!("cannot synthesize circuit {}", circuit.id))?,
            proving_key: keys.proving_key_bytes(),
            verifying_key,
        });
    }
    let mut manifest = write_keys(&a.keys, KeyMode::Production, &generated)
        .with_context(|| format!("cannot write keys to {}", a.keys.display()))?;
    manifest.notice = CEREMONY_NOTICE.to_owned();
    let replace = WriteOptions {
        private: false,
        overwrite: true,
    };
    write_json(&a.keys.join(MANIFEST_FILE), &manifest, replace)
        .with_context(|| format!("cannot write {}", a.keys.join(MANIFEST_FILE).display()))?;
    let record = CeremonyRecord {
        version: CEREMONY_RECORD_VERSION,
        circuits: transcripts,
    };
    write_json(&a.keys.join(CEREMONY_FILE), &record, replace)
        .with_context(|| format!("cannot write {}", a.keys.join(CEREMONY_FILE).display()))?;
    // Read back exactly as the verifier will.
    let provenance = manifest
        .provenance(&a.keys)
        .context("the keys just written do not match their ceremony record")?;
    out.json(&json!({
        "keys_dir": a.keys,
        "manifest": manifest,
        "provenance": provenance,
    }))?;
    out.line(format!("ceremony keys written to {}", a.keys.display()));
    out.line(format!("provenance: {}", provenance.summary()));
    Ok(())
}
