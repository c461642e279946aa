//! The HTTP service in process: `zkmargin_service::router` driven with
//! `tower::ServiceExt::oneshot` on one tokio runtime made once, with a settlement
//! ledger (in-memory SQLite, the example transition's account registered, the trust
//! pinned) so `/v1/settle` runs to the ledger.
//!
//! Input: byte 0 picks the method, byte 1 the path (or, past the table, the path is
//! the body's first line), byte 2's bits the headers, and the rest is the body
//! (wrapped as `{"bundles":[…]}` when bit 7 of byte 2 is set).
//!
//! Properties beyond "never panics": no 5xx but 503 (the documented overload and
//! timeout answers), and every 4xx/5xx carries the JSON error body
//! `{"error": {"code", "message"}}` with a JSON content type (an empty body to HEAD).
#![no_main]

use std::{sync::Arc, sync::OnceLock, time::Duration};

use axum::{
    body::Body,
    http::{header, HeaderValue, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use zkmargin_service::{router, AppState, Limits, Provenance};
use zkmargin_settlement::{Ledger, OperatorKey, PinnedTrust};
use zkmargin_verifier::{Manifest, ProofBundle, Statement};

const METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "VERIFY",
];
const PATHS: [&str; 14] = [
    "/v1/verify",
    "/v1/verify/batch",
    "/v1/settle",
    "/v1/info",
    "/healthz",
    "/metrics",
    "/",
    "/v1/verify/",
    "//v1/verify",
    "/v1/verify?x=1&x=2",
    "/v1/%2e%2e/healthz",
    "/v1/settle/batch",
    "/V1/VERIFY",
    "http://example.com/v1/verify",
];

struct World {
    runtime: tokio::runtime::Runtime,
    app: Router,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let opened = zkmargin_fuzz::open();
        let keys_dir = opened.keys_dir.clone();
        let keys_provenance = Manifest::load(&keys_dir)
            .and_then(|m| m.provenance(&keys_dir))
            .expect("keys provenance");
        let transition = ProofBundle::from_json(zkmargin_fuzz::EXAMPLE_TRANSITION).unwrap();
        let Statement::Liquidation(statement) = &transition.statement else {
            panic!("examples/transition.json is a liquidation bundle");
        };
        let ledger = runtime.block_on(async {
            let ledger = Ledger::open("sqlite::memory:")
                .await
                .expect("in-memory ledger");
            let key = OperatorKey::new(&b"fuzz operator secret, 32 bytes.."[..]).unwrap();
            ledger.init(&key).await.expect("init");
            let trust = PinnedTrust::of(&opened.verifier).expect("liquidation key");
            ledger.pin_trust(&key, &trust).await.expect("pin trust");
            ledger
                .register_account(&key, 42, &statement.old_commitment)
                .await
                .expect("register the example account");
            ledger
        });
        let limits = Limits {
            max_body_bytes: 256 * 1024,
            max_batch: 16,
            request_timeout: Duration::from_secs(30),
            workers: 1,
            queue_capacity: 64,
            max_coalesce: 8,
        };
        let provenance = Provenance {
            development_oracle: opened.trust.development_oracle(),
            development_defaults: vec!["fuzzing".to_owned()],
            trust: opened.trust,
            keys_provenance,
        };
        let state: Arc<AppState> =
            AppState::with_ledger(opened.verifier, limits, provenance, Some(ledger));
        World {
            runtime,
            app: router(state),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let (head, rest) = data.split_at(data.len().min(3));
    let [m, p, flags] = [0, 1, 2].map(|i| head.get(i).copied().unwrap_or(0));
    let method = METHODS[m as usize % METHODS.len()];
    let (path, body): (String, &[u8]) = match PATHS.get(p as usize) {
        Some(path) => ((*path).to_owned(), rest),
        None => {
            let cut = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let Ok(path) = std::str::from_utf8(&rest[..cut]) else {
                return;
            };
            (path.to_owned(), rest.get(cut + 1..).unwrap_or(&[]))
        }
    };
    let body = if flags & 0x80 != 0 {
        [&b"{\"bundles\":["[..], body, b"]}"].concat()
    } else {
        body.to_vec()
    };

    let mut builder = Request::builder().method(method).uri(path.as_str());
    match flags & 0b11 {
        0 => {}
        1 => builder = builder.header(header::CONTENT_TYPE, "application/json"),
        2 => builder = builder.header(header::CONTENT_TYPE, "text/plain"),
        _ => builder = builder.header(header::CONTENT_TYPE, "application/json; charset=utf-8"),
    }
    if flags & 0b100 != 0 {
        builder = builder.header(header::CONTENT_LENGTH, body.len().to_string());
    }
    if flags & 0b1000 != 0 {
        builder = builder.header(header::CONTENT_LENGTH, "0");
    }
    if flags & 0b1_0000 != 0 {
        builder = builder.header(header::TRANSFER_ENCODING, "chunked");
    }
    if flags & 0b10_0000 != 0 {
        builder = builder.header(header::ACCEPT, "text/html");
    }
    if flags & 0b100_0000 != 0 {
        builder = builder.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let Ok(request) = builder.body(Body::from(body)) else {
        return; // not a request http can represent (e.g. an invalid URI)
    };

    let (status, content_type, bytes) = w.runtime.block_on(async {
        let response = w
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("response body")
            .to_bytes();
        (status, content_type, bytes)
    });

    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    // A response to HEAD has no body (RFC 9110 §9.3.2; axum strips it): only its
    // content type is checked.
    if (status.is_client_error() || status.is_server_error()) && method == "HEAD" {
        assert!(
            content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json")),
            "{method} {path}: {status} with content type {content_type:?}"
        );
        assert!(bytes.is_empty(), "{method} {path}: {status} with a body");
    } else if status.is_client_error() || status.is_server_error() {
        let json = content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"));
        let error: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let shaped = error
            .as_ref()
            .is_some_and(|e| e["error"]["code"].is_string() && e["error"]["message"].is_string());
        assert!(
            json && shaped,
            "{method} {path}: {status} without a JSON error body ({content_type:?}): {}",
            String::from_utf8_lossy(&bytes)
        );
    }
});
