//! The whole ceremony for both real circuits, as participants run it: a local ptau
//! written to disk and imported → init for the margin and the liquidation circuit →
//! three contributions, each reading the previous file and writing the next (as on
//! different machines) → a beacon → verify → finalize → proofs made with the final keys
//! verify with arkworks' stock verifier, and a proof of a wrong statement does not.

mod common;

use ark_bn254::Fr;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_ceremony::{
    ceremony::{self, CeremonyFile, ContributionKind},
    CircuitShape, Ptau,
};
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, MarginCircuit},
    Status, LIQUIDATION_CIRCUIT_ID, MARGIN_CIRCUIT_ID,
};

#[test]
fn local_ptau_to_working_keys_for_both_circuits() {
    let tmp = tempfile::tempdir().unwrap();
    let ptau_path = tmp.path().join("local-12.ptau");
    let generated = Ptau::generate(12, &common::secrets(), true).unwrap();
    std::fs::write(&ptau_path, generated.to_bytes().unwrap()).unwrap();
    let ptau = Ptau::open(&ptau_path, None).unwrap().check().unwrap();
    assert_eq!(ptau.hashes(), generated.hashes());

    let circuits = [
        (
            MARGIN_CIRCUIT_ID,
            CircuitShape::synthesize(MarginCircuit::for_setup()).unwrap(),
        ),
        (
            LIQUIDATION_CIRCUIT_ID,
            CircuitShape::synthesize(LiquidationCircuit::for_setup()).unwrap(),
        ),
    ];
    let mut final_keys = Vec::new();
    for (id, shape) in &circuits {
        let path = |k: usize| tmp.path().join(format!("{id}.{k:04}.ceremony"));
        ceremony::init(id, shape, &ptau)
            .unwrap()
            .write(&path(0))
            .unwrap();
        let mut receipts = Vec::new();
        for k in 0..3 {
            let file = CeremonyFile::read(&path(k)).unwrap();
            let (next, receipt) = if k == 0 {
                // The first participant draws from the OS.
                file.contribute(b"participant 0's dice").unwrap()
            } else {
                file.contribute_with_rng(&mut ChaCha20Rng::seed_from_u64(k as u64), b"")
                    .unwrap()
            };
            next.write(&path(k + 1)).unwrap();
            // The coordinator checks each returned file against the one it sent.
            let step = ceremony::verify_contribution(&CeremonyFile::read(&path(k)).unwrap(), &next)
                .unwrap();
            assert_eq!(step.hash, receipt.hash_hex());
            receipts.push(receipt);
        }
        let file = CeremonyFile::read(&path(3)).unwrap();
        let (closed, beacon) = file.beacon(&[0xab; 32], 10).unwrap();
        closed.write(&path(4)).unwrap();

        let file = CeremonyFile::read(&path(4)).unwrap();
        let verified = ceremony::verify(&file, id, shape, &ptau).unwrap();
        let listed: Vec<&str> = verified
            .contributions
            .iter()
            .map(|c| c.hash.as_str())
            .collect();
        let published: Vec<String> = receipts
            .iter()
            .chain([&beacon])
            .map(|r| r.hash_hex())
            .collect();
        assert_eq!(listed, published, "every participant finds their hash");
        assert!(matches!(
            verified.contributions[3].kind,
            ContributionKind::Beacon { .. }
        ));

        let keys = ceremony::finalize(&file, id, shape, &ptau).unwrap();
        let p = &keys.provenance;
        assert_eq!(p.circuit_id, *id);
        assert_eq!(p.contribution_count, 3);
        assert_eq!(p.contribution_hashes, published[..3]);
        assert_eq!(p.beacon.as_ref().unwrap().hash, published[3]);
        assert_eq!(p.transcript_digest, published[3]);
        assert_eq!(p.ptau_blake2b, ptau.hashes().blake2b_hex());
        assert_eq!(p.circuit_digest, shape.digest_hex());
        // δ is no longer 1.
        assert_ne!(
            keys.proving_key.delta_g1,
            ceremony::init(id, shape, &ptau)
                .unwrap()
                .parameters
                .delta_g1
        );
        final_keys.push(keys);
    }

    let margin = &final_keys[0].proving_key;
    for status in [Status::Meets, Status::Breaches] {
        let (circuit, inputs) = common::margin_instance(status);
        assert!(
            common::prove_and_verify(margin, circuit, &inputs),
            "{status:?}"
        );
    }
    let (circuit, mut inputs) = common::margin_instance(Status::Meets);
    inputs[1] = Fr::from(1u64); // claims "breaches"
    assert!(!common::prove_and_verify(margin, circuit, &inputs));

    let liquidation = &final_keys[1].proving_key;
    let (circuit, inputs) = common::liquidation_instance();
    assert!(common::prove_and_verify(liquidation, circuit, &inputs));
    let (circuit, mut inputs) = common::liquidation_instance();
    inputs[0] += Fr::from(1u64);
    assert!(!common::prove_and_verify(liquidation, circuit, &inputs));

    // The transcripts are per circuit: the margin file does not verify as liquidation's.
    let margin_file = CeremonyFile::read(
        &tmp.path()
            .join(format!("{MARGIN_CIRCUIT_ID}.0004.ceremony")),
    )
    .unwrap();
    let err =
        ceremony::verify(&margin_file, LIQUIDATION_CIRCUIT_ID, &circuits[1].1, &ptau).unwrap_err();
    assert_eq!(err.code(), "ceremony.circuit_mismatch");
}
