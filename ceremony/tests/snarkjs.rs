//! The `.ptau` reader against files the real snarkjs made.
//!
//! `tests/data/snarkjs-bn128-p8.ptau` was made by `scripts/ceremony/make-ptau-fixture.sh`
//! with the snarkjs CLI pinned in `scripts/ceremony/package.json`: `powersoftau new bn128
//! 8`, one named contribution, a beacon, `prepare phase2`. This test always runs. The
//! last test also runs snarkjs itself on a file of our generator, when
//! `scripts/ceremony/node_modules` is installed (it says so and skips otherwise).

mod common;

use std::path::{Path, PathBuf};

use ark_bn254::Fr;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_ceremony::{ceremony, ptau::Section, CircuitShape, Ptau, PtauError};

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snarkjs-bn128-p8.ptau")
}

fn fixture_bytes() -> Vec<u8> {
    std::fs::read(fixture_path()).expect("the committed snarkjs fixture")
}

/// (id, offset of the section's data) for each section of a `.ptau`.
fn sections(bytes: &[u8]) -> Vec<(u32, usize)> {
    let n = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let mut pos = 12;
    let mut out = Vec::new();
    for _ in 0..n {
        let id = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap());
        let size = u64::from_le_bytes(bytes[pos + 4..pos + 12].try_into().unwrap()) as usize;
        out.push((id, pos + 12));
        pos += 12 + size;
    }
    out
}

fn offset(bytes: &[u8], id: u32) -> usize {
    sections(bytes).into_iter().find(|s| s.0 == id).unwrap().1
}

#[test]
fn the_snarkjs_file_imports_and_checks() {
    let ptau = Ptau::open(&fixture_path(), None).unwrap();
    assert_eq!(ptau.power(), 8);
    assert_eq!(ptau.ceremony_power(), 8);
    assert!(ptau.is_prepared());
    assert_eq!(ptau.tau_g1().len(), 511);
    assert_eq!(ptau.tau_g2().len(), 256);
    // The records snarkjs wrote: the named contribution, then the beacon.
    let c = ptau.contributions();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].name.as_deref(), Some("zkmargin fixture contribution"));
    assert!(c[0].beacon.is_none());
    assert_eq!(c[1].name.as_deref(), Some("zkmargin fixture beacon"));
    let beacon = c[1].beacon.as_ref().unwrap();
    assert_eq!(beacon.iterations_exp, 10);
    assert_eq!(
        hex::encode(&beacon.hash),
        "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    );
    // The hashes `b2sum` and `sha256sum` print for the file.
    let bytes = fixture_bytes();
    assert_eq!(
        ptau.hashes().blake2b_hex(),
        hex::encode(<blake2::Blake2b512 as blake2::Digest>::digest(&bytes))
    );
    assert_eq!(
        ptau.hashes().sha256_hex(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    // Our encoder writes snarkjs's bytes back exactly (Montgomery form, infinity, layout).
    assert!(ptau.to_bytes().unwrap() == bytes);
    let checked = ptau.check().unwrap();
    // snarkjs's prepared Lagrange sections equal arkworks' inverse FFT (same roots of
    // unity, same order): `check` verified it with random combinations, and here point by
    // point at a few levels.
    for k in [0, 1, 4, 8] {
        assert_eq!(
            checked.lagrange_basis(k).unwrap(),
            checked.lagrange_basis_by_fft(k).unwrap()
        );
    }
}

#[test]
fn a_truncated_load_of_the_snarkjs_file_checks_too() {
    let ptau = Ptau::from_bytes(&fixture_bytes(), Some(5)).unwrap();
    assert_eq!(ptau.loaded_power(), 5);
    assert_eq!(ptau.tau_g1().len(), 63);
    let checked = ptau.check().unwrap();
    assert_eq!(
        checked.require_domain(6).unwrap_err().code(),
        "ptau.too_small"
    );
    assert!(matches!(
        checked.ptau().to_bytes(),
        Err(PtauError::NotFullyLoaded {
            loaded: 5,
            power: 8
        })
    ));
}

/// Swaps two (valid) points of a section: each stays on the curve, the chain breaks.
fn swapped(bytes: &[u8], id: u32, size: usize, i: usize, j: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let o = offset(bytes, id);
    let (pi, pj) = (o + i * size, o + j * size);
    let tmp = b[pi..pi + size].to_vec();
    b.copy_within(pj..pj + size, pi);
    b[pj..pj + size].copy_from_slice(&tmp);
    b
}

fn check_err(bytes: &[u8]) -> PtauError {
    Ptau::from_bytes(bytes, None)
        .and_then(|p| p.check())
        .unwrap_err()
}

#[test]
fn tampered_snarkjs_files_fail_with_the_section_named() {
    let bytes = fixture_bytes();
    for (section, id, size) in [
        (Section::TauG1, 2, 64),
        (Section::TauG2, 3, 128),
        (Section::AlphaTauG1, 4, 64),
        (Section::BetaTauG1, 5, 64),
    ] {
        let err = check_err(&swapped(&bytes, id, size, 5, 6));
        assert!(
            matches!(err, PtauError::PowersDoNotFollow(s) if s == section),
            "{section}: {err}"
        );
    }
    // A Lagrange point out of place.
    let err = check_err(&swapped(&bytes, 12, 64, 300, 301));
    assert!(
        matches!(
            err,
            PtauError::LagrangeMismatch {
                section: Section::LagrangeTauG1,
                ..
            }
        ),
        "{err}"
    );
    let err = check_err(&swapped(&bytes, 13, 128, 100, 101));
    assert!(
        matches!(
            err,
            PtauError::LagrangeMismatch {
                section: Section::LagrangeTauG2,
                ..
            }
        ),
        "{err}"
    );
    // β·G2 replaced by τ·G2.
    let mut b = bytes.clone();
    let (beta, tau2) = (offset(&bytes, 6), offset(&bytes, 3) + 128);
    b.copy_within(tau2..tau2 + 128, beta);
    assert!(
        matches!(check_err(&b), PtauError::BetaG2Mismatch),
        "{}",
        check_err(&b)
    );
    // The first power is not the generator.
    let err = check_err(&swapped(&bytes, 2, 64, 0, 1));
    assert!(
        matches!(err, PtauError::WrongGenerator(Section::TauG1)),
        "{err}"
    );
    // τ·G2 from another power than τ·G1.
    let err = check_err(&swapped(&bytes, 3, 128, 1, 2));
    assert!(matches!(err, PtauError::TauG1G2Mismatch), "{err}");
    // The last contribution record names another τ·G1 (a valid point: τ²·G1).
    let mut b = bytes.clone();
    let (records, tau2) = (offset(&bytes, 7), offset(&bytes, 2) + 2 * 64);
    // Five points, the public key (6 G1, 3 G2), the BLAKE2b state, the challenge, two u32.
    let record_size = 3 * 64 + 2 * 128 + 6 * 64 + 3 * 128 + 216 + 64 + 8;
    let first_params = u32::from_le_bytes(
        b[records + 4 + record_size - 4..records + 4 + record_size]
            .try_into()
            .unwrap(),
    );
    let last = records + 4 + record_size + first_params as usize;
    b.copy_within(tau2..tau2 + 64, last);
    let err = check_err(&b);
    assert!(
        matches!(err, PtauError::LastContributionMismatch("τ·G1")),
        "{err}"
    );
    // A flipped bit: off the curve (or not canonical), caught at decoding.
    let mut b = bytes.clone();
    b[offset(&bytes, 2) + 64 * 9 + 3] ^= 0x10;
    let err = Ptau::from_bytes(&b, None).unwrap_err();
    assert!(
        matches!(
            err,
            PtauError::NotOnCurve {
                section: Section::TauG1,
                index: 9
            }
        ),
        "{err}"
    );
    // A point replaced by the point at infinity.
    let mut b = bytes.clone();
    let o = offset(&bytes, 4) + 64 * 3;
    b[o..o + 64].fill(0);
    let err = Ptau::from_bytes(&b, None).unwrap_err();
    assert!(
        matches!(
            err,
            PtauError::IdentityPoint {
                section: Section::AlphaTauG1,
                index: 3
            }
        ),
        "{err}"
    );
    // A coordinate ≥ q.
    let mut b = bytes.clone();
    let o = offset(&bytes, 5);
    b[o..o + 32].fill(0xff);
    let err = Ptau::from_bytes(&b, None).unwrap_err();
    assert!(
        matches!(
            err,
            PtauError::NonCanonicalCoordinate {
                section: Section::BetaTauG1,
                index: 0
            }
        ),
        "{err}"
    );
}

#[test]
fn malformed_snarkjs_files_are_clear_errors() {
    let bytes = fixture_bytes();
    let err = |b: &[u8]| Ptau::from_bytes(b, None).unwrap_err().code();
    let mut b = bytes.clone();
    b[0] = b'x';
    assert_eq!(err(&b), "ptau.bad_magic");
    let mut b = bytes.clone();
    b[4] = 2;
    assert_eq!(err(&b), "ptau.unsupported_version");
    let mut b = bytes.clone();
    b.push(1);
    assert_eq!(err(&b), "ptau.trailing_bytes");
    // The header's modulus changed (another curve).
    let mut b = bytes.clone();
    b[offset(&bytes, 1) + 4] ^= 1;
    assert_eq!(err(&b), "ptau.wrong_curve");
    // A section table entry renamed: unknown, duplicated, or a required one missing.
    let header_entry = offset(&bytes, 2) - 12;
    let mut b = bytes.clone();
    b[header_entry] = 9;
    assert_eq!(err(&b), "ptau.unknown_section");
    let mut b = bytes.clone();
    b[header_entry] = 3;
    assert_eq!(err(&b), "ptau.duplicate_section");
    let mut b = bytes.clone();
    b[offset(&bytes, 15) - 12] = 14;
    assert_eq!(err(&b), "ptau.duplicate_section");
    // The header's power changed: the sections no longer have its sizes.
    let mut b = bytes.clone();
    b[offset(&bytes, 1) + 36] = 7;
    assert_eq!(err(&b), "ptau.section_size");
    let mut b = bytes.clone();
    b[offset(&bytes, 1) + 36] = 29;
    assert_eq!(err(&b), "ptau.bad_power");
    // Only some of the prepared sections: the file cut after section 12.
    let s13 = offset(&bytes, 13) - 12;
    let mut b = bytes[..s13].to_vec();
    b[8..12].copy_from_slice(&8u32.to_le_bytes());
    assert_eq!(err(&b), "ptau.partial_preparation");
    for len in (0..bytes.len()).step_by(1_009) {
        let code = err(&bytes[..len]);
        assert!(
            ["ptau.truncated", "ptau.trailing_bytes"].contains(&code),
            "prefix {len}: {code}"
        );
    }
}

/// A circuit small enough for the power-8 file: `x = w²`, `y = w³ + 2w`.
struct Tiny(Option<u64>);

impl ConstraintSynthesizer<Fr> for Tiny {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
        let w = self.0.map(Fr::from);
        let val = || w.ok_or(SynthesisError::AssignmentMissing);
        let x = FpVar::new_input(cs.clone(), || Ok(val()? * val()?))?;
        let y = FpVar::new_input(cs.clone(), || {
            Ok(val()? * val()? * val()? + val()? + val()?)
        })?;
        let wv = FpVar::new_witness(cs, val)?;
        let sq = &wv * &wv;
        sq.enforce_equal(&x)?;
        (&sq * &wv + &wv + &wv).enforce_equal(&y)
    }
}

#[test]
fn a_phase2_ceremony_on_the_snarkjs_ptau_gives_working_keys() {
    let ptau = Ptau::open(&fixture_path(), None).unwrap().check().unwrap();
    let shape = CircuitShape::synthesize(Tiny(None)).unwrap();
    let file = ceremony::init("zkmargin.test.tiny.v1", &shape, &ptau).unwrap();
    let (file, _) = file
        .contribute_with_rng(&mut ChaCha20Rng::seed_from_u64(1), b"")
        .unwrap();
    let (file, _) = file.beacon(b"beacon", 3).unwrap();
    let keys = ceremony::finalize(&file, "zkmargin.test.tiny.v1", &shape, &ptau).unwrap();
    assert_eq!(keys.provenance.ptau_power, 8);
    assert_eq!(keys.provenance.ptau_blake2b, ptau.hashes().blake2b_hex());
    let w = 77u64;
    let (x, y) = (Fr::from(w * w), Fr::from(w * w * w + 2 * w));
    assert!(common::prove_and_verify(
        &keys.proving_key,
        Tiny(Some(w)),
        &[x, y]
    ));
    assert!(!common::prove_and_verify(
        &keys.proving_key,
        Tiny(Some(w)),
        &[x, y + Fr::from(1u64)]
    ));
    // The test circuit's domain (2^10) does not fit a power-8 ptau.
    let toy = CircuitShape::synthesize(common::Toy::setup()).unwrap();
    assert_eq!(
        ceremony::init("toy", &toy, &ptau).unwrap_err().code(),
        "ptau.too_small"
    );
}

/// snarkjs reads our generator's file: `powersoftau prepare phase2` on our unprepared
/// file yields exactly the bytes of our prepared one, so snarkjs decodes every point as
/// we encoded it and its Lagrange sections are ours. Runs only with
/// `scripts/ceremony/node_modules` (from `npm ci` there), else prints why it skips.
#[test]
fn snarkjs_prepares_our_generated_file_exactly_as_we_do() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ceremony");
    let cli = dir.join("node_modules/snarkjs/build/cli.cjs");
    if !cli.exists() {
        println!("SKIPPED: snarkjs is not installed (run `npm ci` in scripts/ceremony)");
        return;
    }
    let secrets = zkmargin_ceremony::LocalSecrets::from_seed(5);
    let plain = Ptau::generate(6, &secrets, false).unwrap();
    let prepared = Ptau::generate(6, &secrets, true).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours.ptau");
    let theirs = tmp.path().join("theirs.ptau");
    std::fs::write(&ours, plain.to_bytes().unwrap()).unwrap();
    let out = std::process::Command::new("node")
        .arg(&cli)
        .args(["powersoftau", "prepare", "phase2"])
        .arg(&ours)
        .arg(&theirs)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "snarkjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = std::fs::read(&theirs).unwrap();
    assert!(
        theirs == prepared.to_bytes().unwrap(),
        "snarkjs's prepared file differs from ours"
    );
    // snarkjs's own `verify` refuses a file without contribution records ("It cannot be
    // used in production"); our generator writes none, so that is all it can say.
    let out = std::process::Command::new("node")
        .arg(&cli)
        .args(["powersoftau", "verify"])
        .arg(&ours)
        .output()
        .expect("run node");
    println!(
        "snarkjs powersoftau verify on our file: {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
}
