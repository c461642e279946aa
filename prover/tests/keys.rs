//! Key files: reproducible development setup, the drift test against the shipped
//! keys, and refusal of tampered, truncated, foreign and missing keys.

mod common;

use std::{fs, sync::Arc};

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};
use ark_serialize::CanonicalSerialize;
use common::*;
use zkmargin_circuits::{Commitment, Status};
use zkmargin_oracle::development_committee;
use zkmargin_prover::{
    keys::manifest_entry,
    load_proving_key,
    registry::{LIQUIDATION, MARGIN},
    setup::{self, development_rng, generate, generate_with},
    KeyLoadError, KeyMode, LiquidationProver, LiquidationRequest, LoadEvent, MarginProver,
    MarginRequest, CIRCUITS, DEFAULT_TAU_PPM,
};
use zkmargin_verifier::{
    keys::{fingerprint, KeyError},
    FixedClock, Manifest, Verdict, Verifier,
};

fn load(dir: &std::path::Path) -> Result<zkmargin_prover::LoadedProvingKey, KeyLoadError> {
    load_proving_key(dir, &MARGIN, &mut |_| {})
}

#[test]
fn development_setup_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ma = setup::setup(a.path(), KeyMode::Development).unwrap();
    let mb = setup::setup(b.path(), KeyMode::Development).unwrap();
    assert_eq!(ma, mb);
    for file in [
        "manifest.json",
        "margin.pk",
        "margin.vk",
        "liquidation.pk",
        "liquidation.vk",
    ] {
        let x = fs::read(a.path().join(file)).unwrap();
        let y = fs::read(b.path().join(file)).unwrap();
        assert!(x == y, "{file} differs between two development setups");
    }
    // A different seed gives different keys: the seed, not luck, makes them equal.
    let other = generate_with(&MARGIN, &mut development_rng("another seed", MARGIN.id)).unwrap();
    assert_ne!(
        fingerprint(&other.verifying_key),
        ma.circuits[0].verifying_key.sha256
    );
}

#[test]
fn production_setup_is_random_and_has_no_seed() {
    let dir = tempfile::tempdir().unwrap();
    let m = setup::setup(dir.path(), KeyMode::Production).unwrap();
    assert!(!m.development);
    assert_eq!(m.seed, None);
    let dev = Manifest::load(dev_keys()).unwrap();
    assert_ne!(
        m.circuits[0].verifying_key.sha256,
        dev.circuits[0].verifying_key.sha256
    );
    let key = load(dir.path()).unwrap();
    assert!(!key.development);
}

/// The drift test: the keys shipped in `keys/` are exactly what today's circuits and
/// the development seed produce — every circuit of the registry — and they prove and
/// verify, margin statements and liquidation transitions alike.
#[test]
fn shipped_keys_match_todays_circuit_and_prove() {
    let repo = repo_keys();
    let shipped = Manifest::load(&repo).unwrap_or_else(|e| {
        panic!("{e}: the repository ships keys/manifest.json; run `cargo run --release -- setup`")
    });
    let regenerated: Vec<_> = CIRCUITS
        .iter()
        .map(|c| generate(c, KeyMode::Development).unwrap())
        .collect();
    assert_eq!(
        shipped,
        setup::manifest(KeyMode::Development, &regenerated),
        "keys/manifest.json is not what today's circuits and the development seed produce: the circuit changed; run `cargo run --release -- setup` and commit keys/"
    );
    for keys in &regenerated {
        let vk = fs::read(repo.join(keys.circuit.verifying_key_file())).unwrap();
        assert!(
            vk == keys.verifying_key,
            "keys/{} drifted",
            keys.circuit.verifying_key_file()
        );
        // A local proving key (git-ignored) must be the regenerated one too.
        if let Ok(pk) = fs::read(repo.join(keys.circuit.proving_key_file())) {
            assert!(
                pk == keys.proving_key,
                "keys/{} drifted",
                keys.circuit.proving_key_file()
            );
        }
    }

    // Prove with the shipped keys (the proving key regenerated on demand when it is
    // not checked out) and verify with the verifier library.
    let dir = copy_keys(&repo);
    let prover = MarginProver::load(dir.path(), &mut |_| {}).unwrap();
    assert!(prover.key().development);
    let (_, committee) = development_committee();
    let verifier = Verifier::from_keys_dir(dir.path(), committee.clone(), vec![params()])
        .unwrap()
        .with_clock(Arc::new(FixedClock(NOW + 1)));
    let report = report();
    for (account, status) in [(healthy(), Status::Meets), (breaching(), Status::Breaches)] {
        let proof = prover
            .prove(
                &MarginRequest {
                    account: &account,
                    params: &params(),
                    report: &report,
                    tau_ppm: DEFAULT_TAU_PPM,
                    expect: Some(status),
                    commitment: Some(Commitment::of(&account)),
                    oracle: None,
                },
                &mut rand::thread_rng(),
            )
            .unwrap();
        assert_eq!(
            proof.bundle.key_fingerprint,
            shipped.circuits[0].verifying_key.sha256
        );
        let verdict = verifier.verify(&proof.bundle).unwrap();
        assert_eq!(verdict.margin().status(), status);
        assert!(matches!(
            (status, verdict),
            (Status::Meets, Verdict::Meets(_)) | (Status::Breaches, Verdict::Breach(_))
        ));
    }

    // And the liquidation of the breaching account, with its own shipped keys.
    let prover = LiquidationProver::load(dir.path(), &mut |_| {}).unwrap();
    let account = breaching();
    let proof = prover
        .prove(
            &LiquidationRequest {
                account: &account,
                params: &params(),
                report: &report,
                liquidator: 7,
                oracle: None,
                commitment: Some(Commitment::of(&account)),
                new_blinding: None,
            },
            &mut rand::thread_rng(),
        )
        .unwrap();
    let entry = shipped
        .circuits
        .iter()
        .find(|c| c.id == LIQUIDATION.id)
        .expect("keys/manifest.json lists the liquidation circuit");
    assert_eq!(proof.bundle.key_fingerprint, entry.verifying_key.sha256);
    let verified = verifier.verify_liquidation(&proof.bundle).unwrap();
    assert_eq!(verified.statement_digest(), proof.public.digest());
}

#[test]
fn flipped_byte_is_a_fingerprint_error_and_truncation_a_size_error() {
    let dir = copy_keys(dev_keys());
    let pk = dir.path().join("margin.pk");
    let good = fs::read(&pk).unwrap();

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x01;
    fs::write(&pk, &flipped).unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(e, KeyLoadError::Key(KeyError::Fingerprint { .. })),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("margin.pk") && msg.contains("zkmargin setup"),
        "{msg}"
    );

    fs::write(&pk, &good[..good.len() - 1]).unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, KeyLoadError::Key(KeyError::Size { .. })), "{e}");
    assert!(e.to_string().contains("margin.pk"), "{e}");

    fs::write(&pk, &good).unwrap();
    load(dir.path()).unwrap();
}

#[test]
fn tampered_verifying_key_stops_the_prover_before_a_bundle_leaves() {
    let dir = copy_keys(dev_keys());
    let vk = dir.path().join("margin.vk");
    let mut bytes = fs::read(&vk).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&vk, &bytes).unwrap();
    // The proving key itself is intact and still loads...
    let prover = MarginProver::load(dir.path(), &mut |_| {}).unwrap();
    // ...but the self-check loads the verifying-key file, and refuses it.
    let account = healthy();
    let e = prover
        .prove(
            &MarginRequest {
                account: &account,
                params: &params(),
                report: &report(),
                tau_ppm: DEFAULT_TAU_PPM,
                expect: None,
                commitment: None,
                oracle: None,
            },
            &mut rand::thread_rng(),
        )
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("margin.vk") && msg.contains("fingerprint"),
        "{msg}"
    );
}

#[test]
fn manifest_of_another_circuit_version_is_refused() {
    // Another circuit id.
    let dir = copy_keys(dev_keys());
    edit_manifest(dir.path(), |m| {
        m["circuits"][0]["id"] = "zkmargin.margin.v0".into()
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(e, KeyLoadError::Key(KeyError::UnknownCircuit { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("zkmargin.margin.v0"), "{e}");

    // Another public-input count.
    let dir = copy_keys(dev_keys());
    edit_manifest(dir.path(), |m| {
        m["circuits"][0]["public_inputs"] = 42.into()
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(
            e,
            KeyLoadError::CircuitMismatch {
                what: "public_inputs",
                manifest: 42,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("another circuit version"), "{e}");

    // Another constraint count.
    let dir = copy_keys(dev_keys());
    edit_manifest(dir.path(), |m| {
        m["circuits"][0]["constraints"] = 1000.into()
    });
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(
            e,
            KeyLoadError::CircuitMismatch {
                what: "constraints",
                ..
            }
        ),
        "{e}"
    );
    assert!(manifest_entry(dir.path(), &MARGIN).is_err());
}

/// 43 public inputs like the margin circuit, but another constraint system.
struct Toy;

impl ConstraintSynthesizer<Fr> for Toy {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        for _ in 0..MARGIN.public_inputs {
            let x = cs.new_input_variable(|| Ok(Fr::from(0u64)))?;
            let w = cs.new_witness_variable(|| Ok(Fr::from(0u64)))?;
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(x),
                || LinearCombination::from(Variable::One),
                || LinearCombination::from(w),
            )?;
        }
        Ok(())
    }
}

/// Replaces a key file and makes the manifest describe it, as a careless (or
/// malicious) operator would: fingerprints pass, the content is foreign.
fn replace_consistently(dir: &std::path::Path, file: &str, bytes: &[u8]) {
    fs::write(dir.join(file), bytes).unwrap();
    let which = if file.ends_with(".pk") {
        "proving_key"
    } else {
        "verifying_key"
    };
    edit_manifest(dir, |m| {
        m["circuits"][0][which]["bytes"] = (bytes.len() as u64).into();
        m["circuits"][0][which]["sha256"] = fingerprint(bytes).into();
    });
}

#[test]
fn foreign_proving_key_with_a_matching_manifest_is_refused() {
    let pk =
        Groth16::<Bn254>::generate_random_parameters_with_reduction(Toy, &mut rand::thread_rng())
            .unwrap();
    assert_eq!(pk.vk.gamma_abc_g1.len(), MARGIN.public_inputs + 1);
    let mut bytes = Vec::new();
    pk.serialize_uncompressed(&mut bytes).unwrap();
    let dir = copy_keys(dev_keys());
    replace_consistently(dir.path(), "margin.pk", &bytes);
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, KeyLoadError::Shape { .. }), "{e}");
    assert!(e.to_string().contains("another circuit version"), "{e}");
}

#[test]
fn proving_key_from_another_setup_is_refused() {
    let other = generate_with(&MARGIN, &mut development_rng("another seed", MARGIN.id)).unwrap();
    let dir = copy_keys(dev_keys());
    replace_consistently(dir.path(), "margin.pk", &other.proving_key);
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, KeyLoadError::Pair { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("margin.pk") && msg.contains("margin.vk"),
        "{msg}"
    );
}

#[test]
fn garbage_with_a_matching_manifest_does_not_decode() {
    let dir = copy_keys(dev_keys());
    replace_consistently(dir.path(), "margin.pk", b"not a proving key");
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, KeyLoadError::Decode { .. }), "{e}");
}

#[test]
fn missing_development_proving_key_is_regenerated_and_checked() {
    let dir = copy_keys(dev_keys());
    let pk = dir.path().join("margin.pk");
    let original = fs::read(&pk).unwrap();
    fs::remove_file(&pk).unwrap();
    let mut events = Vec::new();
    let key = load_proving_key(dir.path(), &MARGIN, &mut |e| {
        events.push(match e {
            LoadEvent::Regenerating { .. } => "regenerating",
            LoadEvent::Regenerated { .. } => "regenerated",
            LoadEvent::NotSaved { .. } => "not saved",
            _ => "other",
        })
    })
    .unwrap();
    assert!(key.regenerated && key.development);
    assert_eq!(events, ["regenerating", "regenerated"]);
    assert!(fs::read(&pk).unwrap() == original, "saved byte for byte");
    // Loaded again: from the file this time.
    assert!(!load(dir.path()).unwrap().regenerated);

    // A manifest whose seed no longer produces its keys.
    fs::remove_file(&pk).unwrap();
    edit_manifest(dir.path(), |m| m["seed"] = "some other seed".into());
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, KeyLoadError::RegeneratedMismatch { .. }), "{e}");
    assert!(!pk.exists(), "nothing unverified is saved");

    // A development manifest without a seed.
    edit_manifest(dir.path(), |m| {
        m.as_object_mut().unwrap().remove("seed");
    });
    assert!(matches!(
        load(dir.path()).unwrap_err(),
        KeyLoadError::NoSeed { .. }
    ));
}

#[test]
fn missing_production_proving_key_is_an_error() {
    let dir = copy_keys(dev_keys());
    edit_manifest(dir.path(), |m| {
        m["development"] = false.into();
        m.as_object_mut().unwrap().remove("seed");
    });
    fs::remove_file(dir.path().join("margin.pk")).unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(
        matches!(e, KeyLoadError::MissingProductionKey { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("cannot be regenerated"), "{e}");
}

#[test]
fn missing_manifest_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, KeyLoadError::Key(KeyError::Read { .. })), "{e}");
    assert!(e.to_string().contains("zkmargin setup"), "{e}");
}
