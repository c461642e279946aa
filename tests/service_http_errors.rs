//! Raw HTTP/1.1 requests no client library sends, against the real
//! `zkmargin-verifier serve` on loopback: every 4xx this service answers has a JSON
//! error body, and the few that hyper answers itself before any handler (with an
//! empty body, then closing) are exactly the ones `docs/openapi.yaml` lists. The
//! content-type rule: `application/json` (any parameters) or none; anything else 415.
//!
//! The server runs on the repository's development keys (no fixture needed).

mod common_service;

use common_service::Server;
use serde_json::Value;

fn server() -> Server {
    Server::spawn(Server::bare_command(&[], &[]))
}

/// A raw response split into its status code, its lower-cased head and its body.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

fn parse(raw: &str) -> Raw {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response: {raw:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {raw:?}"));
    Raw {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// Asserts hyper's own answer: `status`, an empty body, the connection closed (the
/// whole response was read to the end).
#[track_caller]
fn assert_bare(server: &Server, request: &[u8], status: u16) {
    let raw = server.raw(request);
    let r = parse(&raw);
    assert_eq!(r.status, status, "{raw:?}");
    assert!(r.head.contains("content-length: 0"), "{raw:?}");
    assert!(r.body.is_empty(), "{raw:?}");
}

/// Asserts a JSON error body with `status` and `code`.
#[track_caller]
fn assert_json_error(server: &Server, request: &[u8], status: u16, code: &str) {
    let raw = server.raw(request);
    let r = parse(&raw);
    assert_eq!(r.status, status, "{raw:?}");
    assert!(r.head.contains("content-type: application/json"), "{raw:?}");
    let body: Value =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {raw:?}"));
    assert_eq!(body["error"]["code"], code, "{raw:?}");
}

fn post(path: &str, headers: &str, body: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: loopback\r\nConnection: close\r\n{headers}\r\n{body}")
        .into_bytes()
}

/// The requests `docs/openapi.yaml` lists as answered by hyper with an empty body.
#[test]
fn hyper_answers_exactly_the_documented_cases_without_a_body() {
    let s = server();
    // HTTP/0.9: a request line with no version.
    assert_bare(&s, b"GET /healthz\r\n\r\n", 400);
    // An invalid method token and an invalid header name.
    assert_bare(&s, b"G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    assert_bare(&s, b"GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n", 400);
    // Content-Length: negative, not a number, or twice with different values.
    for cl in [
        "Content-Length: -1\r\n",
        "Content-Length: 1e3\r\n",
        "Content-Length: 2\r\nContent-Length: 3\r\n",
    ] {
        assert_bare(&s, &post("/v1/verify", cl, "{}"), 400);
    }
    // Transfer-Encoding whose last coding is not chunked; any on HTTP/1.0.
    assert_bare(
        &s,
        &post("/v1/verify", "Transfer-Encoding: gzip\r\n", ""),
        400,
    );
    assert_bare(
        &s,
        b"POST /v1/verify HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        400,
    );
    // 414: a request target over 65,534 bytes.
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    assert_bare(&s, long.as_bytes(), 414);
    // 431: more than 100 headers; a head over 131,072 bytes (128 KiB).
    let many: String = (0..101).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_bare(
        &s,
        format!("GET /healthz HTTP/1.1\r\n{many}\r\n").as_bytes(),
        431,
    );
    let big = format!(
        "GET /healthz HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(131_072)
    );
    assert_bare(&s, big.as_bytes(), 431);
    // Just under the limits: served.
    let fits = format!(
        "GET /healthz HTTP/1.1\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    assert_eq!(parse(&s.raw(fits.as_bytes())).status, 200);
    // After all that, the server answers.
    let r = parse(&s.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert_eq!(r.status, 200);
}

/// Everything else reaches the service and its 4xx are JSON: unknown routes and
/// methods, the content-type rule, lengths and encodings hyper accepts, bodies that do
/// not decode.
#[test]
fn every_other_4xx_has_a_json_body() {
    let s = server();
    assert_json_error(
        &s,
        b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        404,
        "not_found",
    );
    assert_json_error(
        &s,
        b"DELETE /v1/verify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        405,
        "method_not_allowed",
    );
    assert_json_error(
        &s,
        b"GET /v1/verify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        405,
        "method_not_allowed",
    );
    // Content type: anything but application/json is refused before the body is read.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "multipart/form-data; boundary=x",
    ] {
        let headers = format!("Content-Type: {ct}\r\nContent-Length: 2\r\n");
        assert_json_error(
            &s,
            &post("/v1/verify", &headers, "{}"),
            415,
            "unsupported_media_type",
        );
    }
    // application/json with parameters or in capitals, and no content type at all, are
    // decoded: `{}` is no bundle.
    for ct in [
        "Content-Type: application/json\r\n",
        "Content-Type: Application/JSON; charset=utf-8\r\n",
        "",
    ] {
        let headers = format!("{ct}Content-Length: 2\r\n");
        assert_json_error(
            &s,
            &post("/v1/verify", &headers, "{}"),
            400,
            "invalid_bundle",
        );
    }
    // The same Content-Length twice is one length (RFC 9112 §6.3); chunked bodies,
    // and chunked winning over a Content-Length, are read.
    assert_json_error(
        &s,
        &post(
            "/v1/verify",
            "Content-Length: 2\r\nContent-Length: 2\r\n",
            "{}",
        ),
        400,
        "invalid_bundle",
    );
    assert_json_error(
        &s,
        &post(
            "/v1/verify",
            "Transfer-Encoding: chunked\r\n",
            "2\r\n{}\r\n0\r\n\r\n",
        ),
        400,
        "invalid_bundle",
    );
    assert_json_error(
        &s,
        &post(
            "/v1/verify",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            "2\r\n{}\r\n0\r\n\r\n",
        ),
        400,
        "invalid_bundle",
    );
    // Bodies that are not JSON, or not whole.
    assert_json_error(
        &s,
        &post("/v1/verify", "Content-Length: 5\r\n", "nope!"),
        400,
        "invalid_json",
    );
    assert_json_error(
        &s,
        &post("/v1/verify", "Content-Length: 0\r\n", ""),
        400,
        "invalid_json",
    );
    assert_json_error(
        &s,
        &post("/v1/verify/batch", "Content-Length: 2\r\n", "[]"),
        400,
        "invalid_request",
    );
    // Too large a declared body.
    assert_json_error(
        &s,
        &post("/v1/verify", "Content-Length: 999999999\r\n", ""),
        413,
        "payload_too_large",
    );
    // Settlement without a ledger.
    assert_json_error(
        &s,
        &post("/v1/settle", "Content-Length: 2\r\n", "{}"),
        404,
        "settlement_not_configured",
    );
}
