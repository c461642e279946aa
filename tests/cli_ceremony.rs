//! End-to-end acceptance of the ceremony through the real binaries: a local ptau
//! (`zkmargin ceremony dev-ptau`) →
//! `zkmargin ceremony init` for both circuits → three contributions (each file read and
//! written as on another machine) + a beacon → `verify` lists every published hash →
//! `finalize` into a keys directory → `inspect` reports the ceremony → a proof made with
//! those keys verifies with `zkmargin verify` and with `zkmargin-verifier serve` over
//! loopback HTTP, whose `/v1/info` reports non-development keys.

mod common_cli;
mod common_service;

use std::path::Path;

use common_cli::{s, zk};
use zkmargin_ceremony::Ptau;

const CIRCUITS: [(&str, &str); 2] = [
    ("margin", "zkmargin.margin.v1"),
    ("liquidation", "zkmargin.liquidation.v2"),
];

/// Runs one circuit's ceremony in `dir`; returns the closed file and the hashes the
/// participants and the beacon were told to publish.
fn run_ceremony(dir: &Path, ptau: &Path, stem: &str, id: &str) -> (String, Vec<String>) {
    let file = |k: usize| dir.join(format!("{stem}.{k:04}.ceremony"));
    let init = zk(
        dir,
        &[
            "ceremony",
            "init",
            "--ptau",
            s(ptau),
            "--circuit",
            id,
            "-o",
            s(&file(0)),
            "--json",
        ],
    );
    // The local ptau lists no phase-1 contribution, and init says what that means.
    assert!(
        init.stderr.contains("records no phase-1 contribution"),
        "{}",
        init.stderr
    );
    let init = init.json();
    assert_eq!(init["circuit"], id);
    let mut published = Vec::new();
    for k in 0..3 {
        let entropy = format!("participant {k} rolled dice");
        let run = zk(
            dir,
            &[
                "ceremony",
                "contribute",
                s(&file(k)),
                "-o",
                s(&file(k + 1)),
                "--entropy",
                &entropy,
                "--json",
            ],
        );
        let v = run.json();
        assert_eq!(v["index"], k);
        published.push(v["contribution_hash"].as_str().unwrap().to_owned());
    }
    let closed = dir.join(format!("{stem}.final.ceremony"));
    let beacon = zk(
        dir,
        &[
            "ceremony",
            "beacon",
            s(&file(3)),
            "-o",
            s(&closed),
            "--beacon",
            "00000000000000000001a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
            "--iterations",
            "8",
            "--json",
        ],
    );
    published.push(
        beacon.json()["contribution_hash"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    // Contributing to a closed ceremony is refused with a one-line error.
    zk(
        dir,
        &[
            "ceremony",
            "contribute",
            s(&closed),
            "-o",
            s(&dir.join("late")),
        ],
    )
    .fails(1, &["closed"]);

    let verified = zk(
        dir,
        &[
            "ceremony",
            "verify",
            "--ptau",
            s(ptau),
            "--circuit",
            id,
            s(&closed),
            "--json",
        ],
    )
    .json();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["participants"], 3);
    let listed: Vec<String> = verified["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["hash"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, published, "every participant finds their hash");
    assert_eq!(verified["transcript_digest"], published[3]);
    (s(&closed).to_owned(), published)
}

#[test]
fn ceremony_keys_prove_and_verify_with_the_cli_and_the_service() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A local powers of tau from the CLI, which says plainly what it is.
    let ptau = dir.join("local-12.ptau");
    let made = zk(dir, &["ceremony", "dev-ptau", "-o", s(&ptau), "--json"]);
    assert!(
        made.stderr.contains("a development powers of tau"),
        "{}",
        made.stderr
    );
    let made = made.json();
    assert_eq!(made["power"], 12);
    assert_eq!(made["development"], true);
    let ptau_blake2b = Ptau::open(&ptau, None).unwrap().hashes().blake2b_hex();
    assert_eq!(made["blake2b"], ptau_blake2b.as_str());
    // Bad requests are one-line errors that leave the file alone.
    zk(dir, &["ceremony", "dev-ptau", "-o", s(&ptau)]).fails(1, &["exists", "--force"]);
    for power in ["0", "21"] {
        zk(
            dir,
            &[
                "ceremony",
                "dev-ptau",
                "--power",
                power,
                "-o",
                s(&dir.join("x.ptau")),
            ],
        )
        .fails(1, &["--power", "12 covers both circuits"]);
    }
    assert!(!dir.join("x.ptau").exists());
    assert_eq!(
        Ptau::open(&ptau, None).unwrap().hashes().blake2b_hex(),
        ptau_blake2b
    );

    let mut finals = Vec::new();
    for (stem, id) in CIRCUITS {
        finals.push((stem, run_ceremony(dir, &ptau, stem, id)));
    }
    // A transcript verified as the other circuit's is refused.
    zk(
        dir,
        &[
            "ceremony",
            "verify",
            "--ptau",
            s(&ptau),
            "--circuit",
            CIRCUITS[1].1,
            &finals[0].1 .0,
        ],
    )
    .fails(1, &["another circuit"]);

    let keys = dir.join("keys-ceremony");
    let fin = zk(
        dir,
        &[
            "ceremony",
            "finalize",
            "--ptau",
            s(&ptau),
            "--margin",
            &finals[0].1 .0,
            "--liquidation",
            &finals[1].1 .0,
            "--keys",
            s(&keys),
            "--json",
        ],
    )
    .json();
    assert_eq!(fin["manifest"]["development"], false);
    assert_eq!(fin["provenance"]["kind"], "ceremony");
    let inspected = zk(dir, &["inspect", s(&keys.join("manifest.json")), "--json"]).json();
    let transcripts = inspected["provenance"]["circuits"].as_array().unwrap();
    assert_eq!(transcripts.len(), 2);
    for (t, (_, (_, published))) in transcripts.iter().zip(&finals) {
        assert_eq!(t["contribution_count"], 3);
        assert_eq!(t["transcript_digest"], published[3]);
        assert_eq!(t["ptau_blake2b"], ptau_blake2b.as_str());
    }

    // Prove a breach with the ceremony keys; verify with the CLI.
    let w = common_cli::world();
    let bundle = dir.join("breach.bundle.json");
    w.prove(
        &w.breaching,
        &w.report,
        &bundle,
        &["--keys", s(&keys), "--oracle", s(&w.oracle)],
    )
    .ok();
    let verified = w.verify_with(&keys, &bundle, &["--json"]).json();
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["verdict"]["status"], "breaches", "{verified}");
    // The development keys do not accept it (other keys, other fingerprint).
    assert_ne!(w.verify(&bundle, &[]).code, 0);

    // And with the service over loopback HTTP.
    let server = common_service::Server::spawn(common_service::Server::bare_command(
        &["--keys", s(&keys), "--oracle", s(&w.oracle)],
        &[],
    ));
    let (status, info) = server.get_json("/v1/info");
    assert_eq!(status, 200);
    assert_eq!(info["development_keys"], false, "{info}");
    // /v1/info says how the keys were made, with each circuit's transcript.
    let provenance = &info["keys_provenance"];
    assert_eq!(provenance["kind"], "ceremony", "{info}");
    for (t, (_, (_, published))) in provenance["circuits"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&finals)
    {
        assert_eq!(t["contribution_count"], 3);
        assert_eq!(t["transcript_digest"], published[3]);
    }
    // So does the start-up line.
    assert!(
        server
            .stderr()
            .contains("ceremony: zkmargin.margin.v1 (3 contributions"),
        "{}",
        server.stderr()
    );
    let (status, answer) = server.post("/v1/verify", &std::fs::read(&bundle).unwrap());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["verdict"]["status"], "breaches", "{answer}");
}
