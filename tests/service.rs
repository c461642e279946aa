//! The real `zkmargin-verifier serve` on a loopback port, over real HTTP: verdicts,
//! batches, every kind of malformed input (a 4xx with a JSON error, and the server
//! keeps serving), metrics, info, and graceful shutdown.

mod common_service;

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use common_service::{assert_error, world, Server, MAX_BATCH, MAX_BODY_BYTES};
use serde_json::{json, Value};
use zkmargin_oracle::{development_committee, SignedReport, SignerKey};
use zkmargin_verifier::{
    testkit::{now, proof_b_outside_subgroup, proof_not_on_curve, tamper_proof, Fixture},
    ProofBundle, Statement,
};

/// A server with the shared test limits, owned by one test: it is killed when the
/// test's `Server` drops (a server in a `static` would never be dropped and would
/// outlive the test process).
fn server() -> Server {
    Server::start(&[
        "--max-body-bytes",
        &MAX_BODY_BYTES.to_string(),
        "--max-batch",
        &MAX_BATCH.to_string(),
    ])
}

fn to_value(bundle: &ProofBundle) -> Value {
    serde_json::to_value(bundle).unwrap()
}

fn commitment_hex(bundle: &ProofBundle) -> String {
    let Statement::Margin(m) = &bundle.statement else {
        unreachable!("a margin bundle")
    };
    m.commitment.to_hex()
}

#[test]
fn valid_meets_and_breach_bundles_verify() {
    let s = server();
    let w = world();
    let (status, body) = s.verify(&w.valid[0]);
    assert_eq!(status, 200, "{body}");
    let v = &body["verdict"];
    assert_eq!(v["status"], "meets");
    assert_eq!(v["liquidatable"], false);
    assert_eq!(v["commitment"], commitment_hex(&w.valid[0]));
    assert_eq!(v["tau_ppm"], 1_000_000);
    assert_eq!(v["key_fingerprint"], w.fixture.fingerprint());
    assert_eq!(v["report_observed_at"], w.report.report.observed_at);

    let (status, body) = s.verify(&w.valid[1]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verdict"]["status"], "breaches");
    assert_eq!(body["verdict"]["liquidatable"], true);
    assert_eq!(body["verdict"]["commitment"], commitment_hex(&w.valid[1]));
}

#[test]
fn a_batch_with_one_tampered_proof_names_exactly_that_one() {
    let s = server();
    let w = world();
    let mut bundles: Vec<Value> = w.valid.iter().map(to_value).collect();
    bundles[5] = to_value(&tamper_proof(&w.valid[5]));
    let (status, body) = s.post_json("/v1/verify/batch", &json!({ "bundles": bundles }));
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), w.valid.len());
    for (i, r) in results.iter().enumerate() {
        if i == 5 {
            assert_eq!(r["error"]["code"], "invalid_proof", "{r}");
            assert!(r.get("verdict").is_none());
        } else {
            let expected = if i % 2 == 0 { "meets" } else { "breaches" };
            assert_eq!(r["verdict"]["status"], expected, "result {i}: {r}");
            assert_eq!(r["verdict"]["commitment"], commitment_hex(&w.valid[i]));
        }
    }
    assert_eq!(
        body["summary"],
        json!({"bundles": 8, "meets": 4, "breaches": 3, "rejected": 1})
    );
}

#[test]
fn a_batch_reports_malformed_bundles_in_place() {
    let s = server();
    let w = world();
    let mut broken = to_value(&w.valid[2]);
    broken["statement"]["tau_ppm"] = json!("high");
    let mut stale = w.valid[0].clone();
    stale.report = stale_report();
    let bundles = vec![
        to_value(&w.valid[0]),
        broken,
        json!(42),
        to_value(&stale),
        to_value(&w.valid[3]),
    ];
    let (status, body) = s.post_json("/v1/verify/batch", &json!({ "bundles": bundles }));
    assert_eq!(status, 200, "{body}");
    let r = body["results"].as_array().unwrap();
    assert_eq!(r[0]["verdict"]["status"], "meets");
    assert_eq!(r[1]["error"]["code"], "invalid_bundle");
    assert!(r[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("statement.tau_ppm"));
    assert_eq!(r[2]["error"]["code"], "invalid_bundle");
    assert_eq!(r[3]["error"]["code"], "oracle_stale_report");
    assert_eq!(r[4]["verdict"]["status"], "breaches");

    let (status, body) = s.post_json("/v1/verify/batch", &json!({ "bundles": [] }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"], json!([]));
}

fn stale_report() -> SignedReport {
    let (keys, _) = development_committee();
    let mut r = Fixture::price_report(now() - 400);
    r.expires_at = now() + 600;
    SignedReport::sign(r, &keys[..2])
}

#[test]
fn malformed_inputs_get_json_4xx_and_the_server_keeps_serving() {
    let s = server();
    let w = world();
    let valid = &w.valid[0];
    let (keys, _) = development_committee();
    let with = |f: &dyn Fn(&mut ProofBundle)| {
        let mut b = valid.clone();
        f(&mut b);
        b
    };

    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        (
            "invalid JSON",
            s.post("/v1/verify", b"{\"version\": 1,"),
            400,
            "invalid_json",
        ),
        ("empty body", s.post("/v1/verify", b""), 400, "invalid_json"),
        (
            "not an object",
            s.post("/v1/verify", b"[1,2,3]"),
            400,
            "invalid_bundle",
        ),
        (
            "wrong field type",
            {
                let mut v = to_value(valid);
                v["statement"]["tau_ppm"] = json!("one million");
                s.post_json("/v1/verify", &v)
            },
            400,
            "invalid_bundle",
        ),
        (
            "negative timestamp",
            {
                let mut v = to_value(valid);
                v["report"]["report"]["observed_at"] = json!(-1);
                s.post_json("/v1/verify", &v)
            },
            400,
            "invalid_bundle",
        ),
        (
            "missing field",
            {
                let mut v = to_value(valid);
                v.as_object_mut().unwrap().remove("proof");
                s.post_json("/v1/verify", &v)
            },
            400,
            "invalid_bundle",
        ),
        (
            "garbage commitment hex",
            {
                let mut v = to_value(valid);
                v["statement"]["commitment"] = json!("0xnothex");
                s.post_json("/v1/verify", &v)
            },
            400,
            "invalid_bundle",
        ),
        (
            // Not hex at all: the strict decoder refuses the field before any point is
            // read (docs/FORMATS.md), so it is a bundle that does not decode.
            "garbage proof hex",
            s.verify(&with(&|b| b.proof = "zz".repeat(128))),
            400,
            "invalid_bundle",
        ),
        (
            "wrong proof length",
            s.verify(&with(&|b| b.proof.truncate(200))),
            400,
            "invalid_bundle",
        ),
        (
            "proof too long",
            s.verify(&with(&|b| b.proof.push_str("0000"))),
            400,
            "invalid_bundle",
        ),
        (
            "points not on the curve",
            s.verify(&proof_not_on_curve(valid)),
            422,
            "invalid_proof_points",
        ),
        (
            "B on the curve but outside G2",
            s.verify(&proof_b_outside_subgroup(valid)),
            422,
            "invalid_proof_points",
        ),
        (
            "tampered proof",
            s.verify(&tamper_proof(valid)),
            422,
            "invalid_proof",
        ),
        (
            "wrong statement",
            s.verify(&with(&|b| {
                let Statement::Margin(m) = &mut b.statement else {
                    unreachable!("a margin bundle")
                };
                m.tau_ppm = 999_999;
            })),
            422,
            "invalid_proof",
        ),
        (
            "unknown version",
            s.verify(&with(&|b| b.version = 2)),
            422,
            "unsupported_version",
        ),
        (
            "unknown circuit",
            {
                let mut v = to_value(valid);
                v["statement"]["circuit"] = json!("zkmargin.margin.v2");
                s.post_json("/v1/verify", &v)
            },
            422,
            "unsupported_circuit",
        ),
        (
            "another key",
            s.verify(&with(&|b| b.key_fingerprint = "ab".repeat(32))),
            422,
            "key_fingerprint_mismatch",
        ),
        (
            "unknown risk parameters",
            s.verify(&with(&|b| {
                let Statement::Margin(m) = &mut b.statement else {
                    unreachable!("a margin bundle")
                };
                m.risk_params_digest = [1; 32];
            })),
            422,
            "unknown_risk_params",
        ),
        (
            "stale report",
            s.verify(&with(&|b| b.report = stale_report())),
            422,
            "oracle_stale_report",
        ),
        (
            "unknown signers",
            s.verify(&with(&|b| {
                let outsiders = [
                    SignerKey::from_bytes(&[5; 32]).unwrap(),
                    SignerKey::from_bytes(&[6; 32]).unwrap(),
                ];
                b.report = SignedReport::sign(b.report.report.clone(), &outsiders);
            })),
            422,
            "oracle_unknown_signer",
        ),
        (
            "quorum not met",
            s.verify(&with(&|b| b.report.signatures.truncate(1))),
            422,
            "oracle_quorum_not_met",
        ),
        (
            "bad signature",
            s.verify(&with(&|b| {
                b.report.signatures[1] = keys[1].sign(&Fixture::price_report(1))
            })),
            422,
            "oracle_bad_signature",
        ),
        (
            "garbage signature hex",
            s.verify(&with(&|b| b.report.signatures[0].signature = "xyz".into())),
            422,
            "oracle_malformed_signature",
        ),
        (
            "garbage signer id",
            {
                let mut v = to_value(valid);
                v["report"]["signatures"][0]["signer"] = json!("02zz");
                s.post_json("/v1/verify", &v)
            },
            400,
            "invalid_bundle",
        ),
        (
            "prices changed after signing",
            s.verify(&with(&|b| b.report.report.feeds[0].price += 1)),
            422,
            "oracle_bad_signature",
        ),
        (
            "oversized body",
            s.post("/v1/verify", &vec![b' '; MAX_BODY_BYTES + 1]),
            413,
            "payload_too_large",
        ),
        (
            "oversized batch",
            s.post_json(
                "/v1/verify/batch",
                &json!({ "bundles": vec![to_value(valid); MAX_BATCH + 1] }),
            ),
            413,
            "batch_too_large",
        ),
        (
            "batch without bundles",
            s.post_json("/v1/verify/batch", &json!({"proofs": []})),
            400,
            "invalid_request",
        ),
        (
            "batch of the wrong type",
            s.post_json("/v1/verify/batch", &json!({"bundles": "all"})),
            400,
            "invalid_request",
        ),
    ];
    for (what, response, status, code) in &cases {
        assert_error(response, *status, code);
        assert!(*status >= 400 && *status < 500, "{what}");
        s.assert_healthy();
    }

    // Transport-level mistakes are JSON errors too.
    let r = s
        .post_raw("/v1/verify", "text/plain", b"hello")
        .expect("answer");
    assert_error(&r, 415, "unsupported_media_type");
    let (status, body) = s.get("/v1/verify");
    assert_error(
        &(status, serde_json::from_str(&body).unwrap()),
        405,
        "method_not_allowed",
    );
    let (status, body) = s.get("/v2/anything");
    assert_error(
        &(status, serde_json::from_str(&body).unwrap()),
        404,
        "not_found",
    );
    s.assert_healthy();

    // Still verifying after all that.
    let (status, body) = s.verify(&w.valid[1]);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_body_far_over_the_limit_is_refused_without_reading_it() {
    let s = server();
    // Declared length far beyond what the server drains: refused from the headers.
    let mut stream = TcpStream::connect(s.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /v1/verify HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY_BYTES * 100
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"payload_too_large\""), "{response}");
    s.assert_healthy();
}

#[test]
fn metrics_count_requests_verdicts_and_rejections() {
    let s = server();
    let w = world();
    let meets = "zkmargin_verdicts_total{status=\"meets\"}";
    let stale = "zkmargin_rejections_total{code=\"oracle_stale_report\"}";
    let ok_requests =
        "zkmargin_http_requests_total{route=\"/v1/verify\",method=\"POST\",status=\"200\"}";
    let (m0, s0, r0) = (s.metric(meets), s.metric(stale), s.metric(ok_requests));

    assert_eq!(s.verify(&w.valid[2]).0, 200);
    let mut b = w.valid[4].clone();
    b.report = stale_report();
    assert_eq!(s.verify(&b).0, 422);

    assert!(s.metric(meets) >= m0 + 1.0);
    assert!(s.metric(stale) >= s0 + 1.0);
    assert!(s.metric(ok_requests) >= r0 + 1.0);

    let (_, text) = s.get("/metrics");
    for family in [
        "# TYPE zkmargin_http_requests counter",
        "# TYPE zkmargin_http_request_duration_seconds histogram",
        "# TYPE zkmargin_verification_duration_seconds histogram",
        "# TYPE zkmargin_batch_size histogram",
        "# TYPE zkmargin_verification_queue_depth gauge",
        "zkmargin_build_info{version=",
    ] {
        assert!(text.contains(family), "missing {family}:\n{text}");
    }
    assert!(text.contains("zkmargin_verification_duration_seconds_count{kind=\"single\"}"));
}

#[test]
fn info_names_keys_oracle_and_parameters() {
    let s = server();
    let w = world();
    let (status, info) = s.get_json("/v1/info");
    assert_eq!(status, 200);
    assert_eq!(
        info["circuits"][0]["verifying_key_sha256"],
        w.fixture.fingerprint()
    );
    assert_eq!(info["circuits"][0]["id"], "zkmargin.margin.v1");
    assert_eq!(info["development_keys"], true);
    assert_eq!(
        info["oracle"]["config_digest"],
        hex::encode(w.fixture.oracle_config().digest())
    );
    assert_eq!(info["oracle"]["development_committee"], true);
    assert_eq!(
        info["risk_params"][0]["digest"],
        hex::encode(w.fixture.params().digest())
    );
    assert_eq!(info["limits"]["max_batch"], MAX_BATCH);
    assert_eq!(info["build_version"], env!("CARGO_PKG_VERSION"));
    // Keys, oracle and parameters were given: no development default was used.
    assert_eq!(info["development_defaults"], json!([]));
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_cleanly() {
    let w = world();
    let mut s = Server::start(&[]);
    s.assert_healthy();

    // A request whose body is half sent: in flight when the signal arrives.
    let body = serde_json::to_vec(&w.valid[1]).unwrap();
    let mut stream = TcpStream::connect(s.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /v1/verify HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    s.sigterm();
    std::thread::sleep(Duration::from_millis(300));
    // No new connections once shutdown has begun.
    assert!(
        TcpStream::connect_timeout(&s.addr, Duration::from_secs(2)).is_err(),
        "the listener is closed"
    );

    stream.write_all(rest).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"breaches\""), "{response}");

    let status = s.wait_exit(Duration::from_secs(20));
    assert!(
        status.success(),
        "exit status {status}; stderr:\n{}",
        s.stderr()
    );
    let log = s.stderr();
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("shut down cleanly"), "{log}");
}

#[test]
fn concurrent_single_requests_are_coalesced_and_all_answered() {
    let s = server();
    let w = world();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let s = &s;
            scope.spawn(move || {
                for i in 0..12 {
                    let b = &w.valid[(t + i) % 8];
                    let (status, body) = s.verify(b);
                    assert_eq!(status, 200, "{body}");
                    let expected = if (t + i) % 2 == 0 {
                        "meets"
                    } else {
                        "breaches"
                    };
                    assert_eq!(body["verdict"]["status"], expected);
                }
            });
        }
    });
    assert!(s.metric("zkmargin_batch_size_count{kind=\"coalesced\"}") >= 1.0);
}

#[test]
fn the_verify_subcommand_checks_files_offline() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("breach.json");
    let bad = dir.path().join("tampered.json");
    let junk = dir.path().join("junk.json");
    std::fs::write(&good, serde_json::to_vec(&w.valid[1]).unwrap()).unwrap();
    std::fs::write(
        &bad,
        serde_json::to_vec(&tamper_proof(&w.valid[0])).unwrap(),
    )
    .unwrap();
    std::fs::write(&junk, b"{not json").unwrap();
    let run = |files: &[&std::path::Path]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_zkmargin-verifier"))
            .arg("verify")
            .arg("--keys")
            .arg(w.fixture.keys_dir())
            .arg("--oracle")
            .arg(w.oracle_file())
            .arg("--params")
            .arg(w.params_file())
            .args(files)
            .output()
            .expect("run zkmargin-verifier verify")
    };

    let out = run(&[&good]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("VALID breaches (liquidatable)"), "{stdout}");
    assert!(stdout.contains(&commitment_hex(&w.valid[1])), "{stdout}");

    let out = run(&[&good, &bad, &junk]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].contains("VALID breaches"), "{stdout}");
    assert!(lines[1].contains("INVALID invalid_proof"), "{stdout}");
    assert!(lines[2].contains("INVALID invalid_json"), "{stdout}");

    // A keys directory that does not exist is a setup error: exit 2, one clear line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkmargin-verifier"))
        .args(["verify", "--keys", "/nonexistent/keys"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/keys"), "{stderr}");
}
