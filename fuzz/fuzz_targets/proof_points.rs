//! Proof points: arbitrary bytes as BN254 G1 and G2 points and Groth16 proofs and
//! verifying keys, compressed and uncompressed, with validation (on curve, in the
//! prime-order subgroup), as every decoder of outside bytes in zkmargin does; and the
//! same bytes as the 128-byte proof of the example bundles, through the verifier
//! (its own point decoding, subgroup checks and pairing).
//!
//! Properties beyond "never panics": whatever decodes with validation is on the curve
//! and in the subgroup, and re-encodes to bytes that decode to the same value; nothing
//! but the examples' own proofs (or a re-randomization of one, which bytes from a
//! fuzzer cannot be) makes an example bundle verify.
#![no_main]

use std::sync::OnceLock;

use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use libfuzzer_sys::fuzz_target;
use zkmargin_fuzz::{verifier, EXAMPLE_BUNDLE, EXAMPLE_TRANSITION};
use zkmargin_verifier::ProofBundle;

fn examples() -> &'static [ProofBundle; 2] {
    static EXAMPLES: OnceLock<[ProofBundle; 2]> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        [
            ProofBundle::from_json(EXAMPLE_BUNDLE).expect("examples/bundle.json"),
            ProofBundle::from_json(EXAMPLE_TRANSITION).expect("examples/transition.json"),
        ]
    })
}

/// Decodes `bytes` as `T` with validation in `compress` form; on success, checks the
/// round trip and returns the value.
fn decode<T>(bytes: &[u8], compress: Compress) -> Option<T>
where
    T: CanonicalDeserialize + CanonicalSerialize + PartialEq + std::fmt::Debug,
{
    // Unvalidated decoding must not panic either (the verifier never uses it on
    // outside bytes, but arkworks' parsing is shared).
    let _ = T::deserialize_with_mode(bytes, compress, Validate::No);
    let value = T::deserialize_with_mode(bytes, compress, Validate::Yes).ok()?;
    let mut out = Vec::new();
    value
        .serialize_with_mode(&mut out, compress)
        .expect("a decoded value re-encodes");
    assert_eq!(out.len(), value.serialized_size(compress));
    let back = T::deserialize_with_mode(&out[..], compress, Validate::Yes)
        .expect("a re-encoded value decodes");
    assert_eq!(back, value);
    Some(value)
}

fn check_g1(p: &G1Affine) {
    assert!(p.is_zero() || (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()));
}

fn check_g2(p: &G2Affine) {
    assert!(p.is_zero() || (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()));
}

fuzz_target!(|data: &[u8]| {
    for compress in [Compress::Yes, Compress::No] {
        if let Some(p) = decode::<G1Affine>(data, compress) {
            check_g1(&p);
        }
        if let Some(p) = decode::<G2Affine>(data, compress) {
            check_g2(&p);
        }
        if let Some(proof) = decode::<Proof<Bn254>>(data, compress) {
            check_g1(&proof.a);
            check_g2(&proof.b);
            check_g1(&proof.c);
        }
        if let Some(vk) = decode::<VerifyingKey<Bn254>>(data, compress) {
            check_g1(&vk.alpha_g1);
            check_g2(&vk.beta_g2);
            check_g2(&vk.gamma_g2);
            check_g2(&vk.delta_g2);
            vk.gamma_abc_g1.iter().for_each(check_g1);
        }
    }

    // The bytes as the proof of each example bundle (zero-padded or cut to 128 bytes).
    let mut proof = [0u8; 128];
    let n = data.len().min(128);
    proof[..n].copy_from_slice(&data[..n]);
    let v = verifier();
    for example in examples() {
        let bundle = ProofBundle {
            proof: hex::encode(proof),
            ..example.clone()
        };
        if v.verify_any(&bundle).is_ok() {
            assert_eq!(
                bundle.proof, example.proof,
                "bytes that are not the example's proof verified its statement"
            );
        }
    }
});
