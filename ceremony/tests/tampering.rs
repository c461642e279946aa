//! Every way a transcript can be tampered with is caught, each with its own error.
//!
//! The ceremony here is the small test circuit's (domain 2^10): init, three
//! contributions, a beacon. Each test alters one file the way a dishonest participant
//! (or a broken tool) would and checks the exact error of `verify` (the whole
//! transcript) and, where it applies, of `verify_contribution` (one step).

mod common;

use std::sync::OnceLock;

use ark_bn254::{Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_ceremony::{
    ceremony::{self, CeremonyFile},
    CeremonyError, CheckedPtau, CircuitShape, ContributionKind, LocalSecrets, Ptau,
};

const ID: &str = "zkmargin.test.toy.v1";

struct Setup {
    shape: CircuitShape,
    ptau: CheckedPtau,
    /// files[0] is the initial file, files[k] has k records (files[4] ends with the beacon).
    files: Vec<CeremonyFile>,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let shape = CircuitShape::synthesize(common::Toy::setup()).unwrap();
        let ptau = common::ptau(10, true);
        let mut files = vec![ceremony::init(ID, &shape, &ptau).unwrap()];
        for k in 0..3u64 {
            let mut rng = ChaCha20Rng::seed_from_u64(100 + k);
            let (next, _) = files
                .last()
                .unwrap()
                .clone()
                .contribute_with_rng(&mut rng, b"entropy")
                .unwrap();
            files.push(next);
        }
        let (closed, _) = files
            .last()
            .unwrap()
            .clone()
            .beacon(b"block 0000abcd", 8)
            .unwrap();
        files.push(closed);
        Setup { shape, ptau, files }
    })
}

fn verify(file: &CeremonyFile) -> Result<ceremony::VerifiedCeremony, CeremonyError> {
    let s = setup();
    ceremony::verify(file, ID, &s.shape, &s.ptau)
}

/// Both verifications of `after` as the third contribution (index 2) fail with `code`.
fn assert_step_fails(after: &CeremonyFile, code: &str) {
    let s = setup();
    let whole = verify(after).unwrap_err();
    assert_eq!(whole.code(), code, "verify: {whole}");
    let step = ceremony::verify_contribution(&s.files[2], after).unwrap_err();
    assert_eq!(step.code(), code, "verify_contribution: {step}");
}

fn third() -> CeremonyFile {
    setup().files[3].clone()
}

#[test]
fn the_honest_transcript_verifies_step_by_step_and_whole() {
    let s = setup();
    for k in 1..s.files.len() {
        let v = ceremony::verify_contribution(&s.files[k - 1], &s.files[k]).unwrap();
        assert_eq!(v.index, k - 1);
        assert_eq!(v.hash, hex::encode(s.files[k].contributions[k - 1].hash()));
    }
    let v = verify(&s.files[4]).unwrap();
    assert_eq!(v.contributions.len(), 4);
    assert_eq!(v.participant_count(), 3);
    assert!(matches!(
        v.contributions[3].kind,
        ContributionKind::Beacon {
            iterations_exp: 8,
            ..
        }
    ));
    assert_eq!(v.transcript_digest, v.contributions[3].hash);
    assert_eq!(
        v.transcript_digest,
        hex::encode(s.files[4].transcript_digest())
    );
    // Every intermediate file verifies as a transcript too.
    for f in &s.files {
        verify(f).unwrap();
    }
    // The bytes round-trip.
    let bytes = s.files[4].to_bytes();
    assert!(CeremonyFile::from_bytes(&bytes).unwrap() == s.files[4]);
}

#[test]
fn inconsistent_delta_g1_and_g2_is_caught() {
    // The contributor multiplies δ·G2 by another secret than δ·G1 (in the record and in
    // the parameters alike).
    let mut f = third();
    let two = Fr::from(2u64);
    f.contributions[2].delta_g2 = (f.contributions[2].delta_g2 * two).into_affine();
    f.parameters.vk.delta_g2 = f.contributions[2].delta_g2;
    assert_step_fails(&f, "ceremony.delta_inconsistent");
}

#[test]
fn a_delta_updated_by_another_secret_than_the_proven_one_is_caught() {
    // δ·G1 and δ·G2 agree with each other, and L, H follow them, but the factor is not
    // the secret of the proof of knowledge.
    let mut f = third();
    let two = Fr::from(2u64);
    let half = ark_ff::Field::inverse(&two).unwrap();
    let c = &mut f.contributions[2];
    c.delta_g1 = (c.delta_g1 * two).into_affine();
    c.delta_g2 = (c.delta_g2 * two).into_affine();
    f.parameters.delta_g1 = c.delta_g1;
    f.parameters.vk.delta_g2 = c.delta_g2;
    f.parameters.l_query = scale(&f.parameters.l_query, half);
    f.parameters.h_query = scale(&f.parameters.h_query, half);
    assert_step_fails(&f, "ceremony.delta_update_invalid");
}

fn scale(points: &[G1Affine], s: Fr) -> Vec<G1Affine> {
    points.iter().map(|p| (*p * s).into_affine()).collect()
}

#[test]
fn l_query_not_rescaled_is_caught() {
    let mut f = third();
    f.parameters.l_query = setup().files[2].parameters.l_query.clone();
    assert_step_fails(&f, "ceremony.l_query_not_rescaled");
    // One point left behind is enough.
    let mut f = third();
    f.parameters.l_query[7] = setup().files[2].parameters.l_query[7];
    assert_step_fails(&f, "ceremony.l_query_not_rescaled");
}

#[test]
fn h_query_not_rescaled_is_caught() {
    let mut f = third();
    f.parameters.h_query = setup().files[2].parameters.h_query.clone();
    assert_step_fails(&f, "ceremony.h_query_not_rescaled");
    let mut f = third();
    let last = f.parameters.h_query.len() - 1;
    f.parameters.h_query[last] = setup().files[2].parameters.h_query[last];
    assert_step_fails(&f, "ceremony.h_query_not_rescaled");
}

#[test]
fn a_forged_proof_of_knowledge_is_caught() {
    let mut f = third();
    let c = &mut f.contributions[2];
    c.r_delta = (G2Affine::generator() * Fr::from(12345u64)).into_affine();
    assert_step_fails(&f, "ceremony.pok_invalid");
}

#[test]
fn a_replayed_proof_of_knowledge_is_caught() {
    // The third record reuses the first one's proof of knowledge (S, S·s, R·s) with the
    // right chain link.
    let mut f = third();
    let first = f.contributions[0].clone();
    let c = &mut f.contributions[2];
    c.s = first.s;
    c.s_delta = first.s_delta;
    c.r_delta = first.r_delta;
    let err = verify(&f).unwrap_err();
    assert!(
        matches!(
            err,
            CeremonyError::ProofOfKnowledgeReplayed {
                index: 2,
                original: 0
            }
        ),
        "{err}"
    );
    assert_step_fails(&f, "ceremony.pok_replayed");
}

#[test]
fn a_proof_of_knowledge_carried_from_another_transcript_does_not_verify() {
    // The same secret and S contributed on top of another transcript (another first
    // participant): its R·s is for that transcript's hash, so here it fails.
    let s = setup();
    let mut rng = ChaCha20Rng::seed_from_u64(555);
    let (other_first, _) = s.files[0]
        .clone()
        .contribute_with_rng(&mut rng, b"other")
        .unwrap();
    let (other_second, _) = other_first
        .contribute_with_rng(&mut ChaCha20Rng::seed_from_u64(101), b"entropy")
        .unwrap();
    let mut f = s.files[2].clone();
    let foreign = other_second.contributions[1].clone();
    // files[2]'s second record is the honest one made with seed 101: same secret, same S.
    assert_eq!(foreign.s, f.contributions[1].s);
    assert_ne!(foreign.r_delta, f.contributions[1].r_delta);
    f.contributions[1].r_delta = foreign.r_delta;
    let err = verify(&f).unwrap_err();
    assert!(
        matches!(err, CeremonyError::ProofOfKnowledgeInvalid { index: 1 }),
        "{err}"
    );
}

#[test]
fn a_broken_hash_chain_is_caught() {
    let mut f = third();
    f.contributions[2].previous_hash[0] ^= 1;
    assert_step_fails(&f, "ceremony.hash_chain_broken");
    // A record removed from the middle breaks the chain at the next one.
    let mut f = setup().files[4].clone();
    f.contributions.remove(1);
    let err = verify(&f).unwrap_err();
    assert!(
        matches!(err, CeremonyError::HashChainBroken { index: 1 }),
        "{err}"
    );
    // Records reordered.
    let mut f = third();
    f.contributions.swap(1, 2);
    let err = verify(&f).unwrap_err();
    assert!(
        matches!(err, CeremonyError::HashChainBroken { index: 1 }),
        "{err}"
    );
}

/// Another circuit (one multiplication).
struct Other;

impl ConstraintSynthesizer<Fr> for Other {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
        let x = FpVar::new_input(cs.clone(), || Ok(Fr::from(9u64)))?;
        let w = FpVar::new_witness(cs, || Ok(Fr::from(3u64)))?;
        (&w * &w).enforce_equal(&x)
    }
}

#[test]
fn a_transcript_for_another_circuit_is_refused() {
    let s = setup();
    let other = CircuitShape::synthesize(Other).unwrap();
    let err = ceremony::verify(&s.files[4], ID, &other, &s.ptau).unwrap_err();
    assert_eq!(err.code(), "ceremony.circuit_mismatch", "{err}");
    // The same circuit under another id.
    let err =
        ceremony::verify(&s.files[4], "zkmargin.test.other.v1", &s.shape, &s.ptau).unwrap_err();
    assert_eq!(err.code(), "ceremony.circuit_id_mismatch", "{err}");
    // A file relabelled with the other circuit's digest: its parameters are not the
    // other circuit's.
    let mut f = s.files[4].clone();
    f.circuit_digest = other.digest;
    let err = ceremony::verify(&f, ID, &other, &s.ptau).unwrap_err();
    assert_eq!(err.code(), "ceremony.parameters_altered", "{err}");
}

#[test]
fn a_transcript_from_another_ptau_is_refused() {
    let s = setup();
    let other = Ptau::generate(10, &LocalSecrets::from_seed(1), true)
        .unwrap()
        .check()
        .unwrap();
    let err = ceremony::verify(&s.files[4], ID, &s.shape, &other).unwrap_err();
    assert_eq!(err.code(), "ceremony.ptau_mismatch", "{err}");
    // Relabelled with the other ptau's hash: the initial parameters differ.
    let mut f = s.files[4].clone();
    f.ptau_blake2b = other.hashes().blake2b;
    let err = ceremony::verify(&f, ID, &s.shape, &other).unwrap_err();
    assert_eq!(err.code(), "ceremony.parameters_altered", "{err}");
}

/// A change to a file.
type Alteration = Box<dyn Fn(&mut CeremonyFile)>;

#[test]
fn altered_fixed_parameters_are_caught() {
    let g = G1Affine::generator();
    let cases: Vec<(&str, Alteration)> = vec![
        ("A query", Box::new(move |f| f.parameters.a_query[3] = g)),
        (
            "B query in G1",
            Box::new(move |f| f.parameters.b_g1_query[3] = g),
        ),
        (
            "B query in G2",
            Box::new(|f| f.parameters.b_g2_query[3] = G2Affine::generator()),
        ),
        ("α·G1", Box::new(move |f| f.parameters.vk.alpha_g1 = g)),
        (
            "verifying-key input points (gamma_abc_g1)",
            Box::new(move |f| f.parameters.vk.gamma_abc_g1[1] = g),
        ),
        (
            "L query length",
            Box::new(|f| {
                f.parameters.l_query.pop();
            }),
        ),
    ];
    for (what, alter) in cases {
        let mut f = third();
        alter(&mut f);
        let err = verify(&f).unwrap_err();
        assert!(
            matches!(err, CeremonyError::ParametersAltered(w) if w == what),
            "{what}: {err}"
        );
        let err = ceremony::verify_contribution(&setup().files[2], &f).unwrap_err();
        assert!(
            matches!(err, CeremonyError::ParametersAltered(w) if w == what),
            "{what}: {err}"
        );
    }
}

#[test]
fn parameters_whose_delta_is_not_the_last_records_are_caught() {
    let mut f = third();
    f.parameters.delta_g1 = setup().files[2].parameters.delta_g1;
    f.parameters.vk.delta_g2 = setup().files[2].parameters.vk.delta_g2;
    assert_step_fails(&f, "ceremony.parameters_delta_mismatch");
}

#[test]
fn a_degenerate_proof_of_knowledge_is_caught() {
    // With S = 0 and S·s = 0 the pairing check e(S, R·s) = e(S·s, R) passes for any R·s.
    let mut f = third();
    f.contributions[2].s = G1Affine::identity();
    f.contributions[2].s_delta = G1Affine::identity();
    let err = verify(&f).unwrap_err();
    assert!(
        matches!(
            err,
            CeremonyError::DegeneratePoint {
                index: 2,
                which: "S"
            }
        ),
        "{err}"
    );
}

#[test]
fn a_beacon_that_does_not_follow_from_its_value_is_caught() {
    let mut f = setup().files[4].clone();
    if let ContributionKind::Beacon { value, .. } = &mut f.contributions[3].kind {
        value[0] ^= 1;
    }
    let err = verify(&f).unwrap_err();
    assert!(
        matches!(err, CeremonyError::BeaconMismatch { index: 3 }),
        "{err}"
    );
    // A beacon asking for too many iterations is refused before any hashing.
    let mut f = setup().files[4].clone();
    if let ContributionKind::Beacon { iterations_exp, .. } = &mut f.contributions[3].kind {
        *iterations_exp = 60;
    }
    assert_eq!(verify(&f).unwrap_err().code(), "ceremony.beacon_too_slow");
}

#[test]
fn nothing_comes_after_the_beacon() {
    let s = setup();
    let closed = s.files[4].clone();
    assert!(closed.is_closed());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    assert_eq!(
        closed
            .clone()
            .contribute_with_rng(&mut rng, b"")
            .unwrap_err()
            .code(),
        "ceremony.closed"
    );
    assert_eq!(
        closed.clone().beacon(b"again", 1).unwrap_err().code(),
        "ceremony.closed"
    );
    // A record appended after the beacon by another tool, correctly chained.
    let mut reopened = closed.clone();
    reopened.contributions[3].kind = ContributionKind::Participant;
    let (mut after, _) = reopened.contribute_with_rng(&mut rng, b"late").unwrap();
    after.contributions[3] = closed.contributions[3].clone();
    after.contributions[4].previous_hash = closed.contributions[3].hash();
    let err = verify(&after).unwrap_err();
    assert!(
        matches!(err, CeremonyError::ContributionAfterBeacon { index: 4 }),
        "{err}"
    );
}

#[test]
fn a_step_that_is_not_one_record_more_is_refused() {
    let s = setup();
    for (before, after) in [
        (&s.files[2], &s.files[1]),
        (&s.files[1], &s.files[3]),
        (&s.files[2], &s.files[2]),
    ] {
        let err = ceremony::verify_contribution(before, after).unwrap_err();
        assert_eq!(err.code(), "ceremony.not_an_extension", "{err}");
    }
    // A rewritten earlier record.
    let mut f = third();
    f.contributions[0].previous_hash[5] ^= 1;
    let err = ceremony::verify_contribution(&s.files[2], &f).unwrap_err();
    assert_eq!(err.code(), "ceremony.not_an_extension", "{err}");
}

#[test]
fn finalize_needs_a_participant() {
    let s = setup();
    let err = ceremony::finalize(&s.files[0], ID, &s.shape, &s.ptau).unwrap_err();
    assert_eq!(err.code(), "ceremony.no_contributions");
    let (beacon_only, _) = s.files[0].clone().beacon(b"public", 1).unwrap();
    let err = ceremony::finalize(&beacon_only, ID, &s.shape, &s.ptau).unwrap_err();
    assert_eq!(err.code(), "ceremony.no_contributions");
    let keys = ceremony::finalize(&s.files[4], ID, &s.shape, &s.ptau).unwrap();
    assert_eq!(keys.provenance.contribution_count, 3);
    assert_eq!(keys.provenance.contribution_hashes.len(), 3);
    assert_eq!(keys.provenance.beacon.as_ref().unwrap().iterations_exp, 8);
    assert_eq!(
        keys.provenance.transcript_digest,
        hex::encode(s.files[4].transcript_digest())
    );
    assert!(keys.verifying_key == keys.proving_key.vk);
}

#[test]
fn malformed_files_are_clear_errors_never_panics() {
    let s = setup();
    let bytes = s.files[4].to_bytes();
    let decode = |b: &[u8]| CeremonyFile::from_bytes(b).map(|_| ()).unwrap_err().code();
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    assert_eq!(decode(&bad), "ceremony.bad_magic");
    let mut bad = bytes.clone();
    bad[8] = 2;
    assert_eq!(decode(&bad), "ceremony.unsupported_version");
    let mut bad = bytes.clone();
    bad.push(0);
    assert_eq!(decode(&bad), "ceremony.trailing_bytes");
    // Every truncation is an error (sampled along the file; the records at the end
    // every few bytes).
    let tail = bytes.len() - 1_200;
    for len in (0..bytes.len())
        .step_by(7_919)
        .chain((tail..bytes.len()).step_by(13))
    {
        let code = decode(&bytes[..len]);
        assert!(
            [
                "ceremony.truncated",
                "ceremony.invalid_parameters",
                "ceremony.malformed"
            ]
            .contains(&code),
            "prefix {len}: {code}"
        );
    }
    // A point off the curve in the parameters (a y-coordinate changed).
    let params_start = 8 + 4 + 2 + ID.len() + 64 + 64 + 8;
    let mut bad = bytes.clone();
    bad[params_start + 40] ^= 1;
    assert_eq!(decode(&bad), "ceremony.invalid_parameters");
    // A point off the curve in the last record (its R·s, just before the beacon fields).
    let mut bad = bytes.clone();
    let beacon_fields = 1 + 2 + b"block 0000abcd".len();
    let at = bytes.len() - beacon_fields - 10;
    bad[at] ^= 1;
    assert_eq!(decode(&bad), "ceremony.malformed");
}
