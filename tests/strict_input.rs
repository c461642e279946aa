//! One reading of every document (issue 15, items 2 and 3): the CLI and the service
//! decode with the same strict decoder (`zkmargin_verifier::json`), so a duplicate
//! key, a number that is not a 64-bit integer or a hex string in another spelling is
//! refused by both, with the same words, and never verified as something a client's
//! own parser would read differently.

mod common_cli;
mod common_service;

use std::path::PathBuf;

use common_cli::{s, zk, Run};
use common_service::{assert_error, world, Server};
use serde_json::Value;
use zkmargin_verifier::ProofBundle;

/// The breaching bundle of the shared world, as compact JSON text.
fn breaching_text() -> String {
    let bundle: &ProofBundle = &world().valid[1];
    serde_json::to_string(bundle).unwrap()
}

/// `text` with `from` replaced once (it must occur).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} not in the bundle");
    text.replacen(from, to, 1)
}

/// The value of string field `key` in `text` (the first occurrence).
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    let start = text.find(&format!("\"{key}\":\"")).expect(key) + key.len() + 4;
    let end = start + text[start..].find('"').unwrap();
    &text[start..end]
}

/// `zkmargin verify FILE` with the world's keys, oracle config and parameters.
fn cli_verify(dir: &tempfile::TempDir, name: &str, text: &str) -> Run {
    let w = world();
    let path: PathBuf = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let files = w.files.path();
    zk(
        dir.path(),
        &[
            "verify",
            s(&path),
            "--keys",
            s(w.fixture.keys_dir()),
            "--oracle",
            s(&files.join("oracle.json")),
            "--params",
            s(&files.join("params.json")),
        ],
    )
}

/// Every mutant is refused by the service with `status`/`code` and a message holding
/// `needle`, and by the CLI with exit code 1 and an error line holding it too.
fn refused_by_both(cases: &[(&str, String, u16, &str, &str)]) {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for (name, text, status, code, needle) in cases {
        let response = server.post("/v1/verify", text.as_bytes());
        assert_error(&response, *status, code);
        let message = response.1["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{name}: service said {message}");
        let line = cli_verify(&dir, &format!("{name}.json"), text).fails(1, &[needle]);
        assert!(!line.contains("floating point"), "{name}: {line}");
    }
    // The unedited bundle verifies on both: the refusals are the edits'.
    let text = breaching_text();
    let (status, body) = server.post("/v1/verify", text.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert!(cli_verify(&dir, "valid.json", &text).ok().contains("VALID"));
}

#[test]
fn duplicate_keys_are_refused_by_the_cli_and_the_service() {
    let text = breaching_text();
    refused_by_both(&[
        (
            "status-twice",
            edit(
                &text,
                "\"status\":\"breaches\"",
                "\"status\":\"breaches\",\"status\":\"meets\"",
            ),
            400,
            "invalid_json",
            "duplicate key \"status\"",
        ),
        (
            "version-twice",
            edit(&text, "\"version\":1", "\"version\":1,\"version\":1"),
            400,
            "invalid_json",
            "duplicate key \"version\"",
        ),
    ]);

    // Inside a batch element too: the whole request is one document.
    let server = Server::start(&[]);
    let inner = edit(
        &text,
        "\"status\":\"breaches\"",
        "\"status\":\"meets\",\"status\":\"breaches\"",
    );
    let batch = format!("{{\"bundles\":[{inner}]}}");
    let response = server.post("/v1/verify/batch", batch.as_bytes());
    assert_error(&response, 400, "invalid_json");
    assert!(response.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("duplicate key \"status\""));
    let (status, _): (u16, Value) = server.get_json("/healthz");
    assert_eq!(status, 200);
}

#[test]
fn hex_has_one_spelling_everywhere() {
    let text = breaching_text();
    let upper = |key: &str| {
        let value = field(&text, key);
        let up = match value.strip_prefix("0x") {
            Some(digits) => format!("0x{}", digits.to_ascii_uppercase()),
            None => value.to_ascii_uppercase(),
        };
        assert_ne!(up, value, "{key} has letters");
        edit(&text, value, &up)
    };
    let no_prefix = {
        let c = field(&text, "commitment");
        edit(&text, c, &c[2..])
    };
    refused_by_both(&[
        (
            "commitment",
            upper("commitment"),
            400,
            "invalid_bundle",
            "lowercase",
        ),
        (
            "commitment-prefix",
            no_prefix,
            400,
            "invalid_bundle",
            "0x prefix is missing",
        ),
        ("proof", upper("proof"), 400, "invalid_bundle", "lowercase"),
        (
            "key-fingerprint",
            upper("key_fingerprint"),
            400,
            "invalid_bundle",
            "lowercase",
        ),
        (
            "risk-digest",
            upper("risk_params_digest"),
            400,
            "invalid_bundle",
            "lowercase",
        ),
    ]);
    // A signature is read by the oracle's verification, not by the bundle decoder: the
    // same lowercase rule refuses it there, as a rejected report (422, exit 3).
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let text = upper("signature");
    let response = server.post("/v1/verify", text.as_bytes());
    assert_error(&response, 422, "oracle_malformed_signature");
    let message = response.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("lowercase"), "service said {message}");
    cli_verify(&dir, "signature.json", &text).fails(3, &["lowercase"]);
}

#[test]
fn numbers_are_integers_written_one_way() {
    let text = breaching_text();
    let tau_field = {
        let start = text.find("\"tau_ppm\":").unwrap();
        let end = start + text[start..].find(',').unwrap();
        text[start..end].to_owned()
    };
    refused_by_both(&[
        (
            "tau-exponent",
            edit(&text, &tau_field, "\"tau_ppm\":1e6"),
            400,
            "invalid_json",
            "is not an integer",
        ),
        (
            "tau-fraction",
            edit(&text, &tau_field, "\"tau_ppm\":1000000.0"),
            400,
            "invalid_json",
            "is not an integer",
        ),
        (
            "observed-at-beyond-u64",
            edit(
                &text,
                "\"observed_at\":",
                "\"observed_at\":18446744073709551616,\"x\":",
            ),
            400,
            "invalid_json",
            "not an integer of 64 bits",
        ),
        (
            "minus-zero",
            edit(&text, "\"version\":1", "\"version\":-0"),
            400,
            "invalid_json",
            "-0 is not a canonical integer",
        ),
    ]);
}
