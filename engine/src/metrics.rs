//! Prometheus metrics of the engine, the workers and the keepers, and the `/metrics`
//! endpoint each process serves (`--metrics-addr`).

use std::{net::SocketAddr, sync::Arc};

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

use crate::EngineError;

/// Label set: the job kind.
pub type KindLabel = Vec<(String, String)>;

/// Every metric of the three roles (a process exports the ones its role moves).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Ticks processed by the engine.
    pub ticks: Counter,
    /// Reports ignored (stale, duplicate, badly signed, malformed).
    pub reports_ignored: Counter,
    /// Accounts scanned.
    pub accounts_scanned: Counter,
    /// Jobs queued, by kind.
    pub jobs_queued: Family<KindLabel, Counter>,
    /// Jobs proved and published, by kind.
    pub jobs_proved: Family<KindLabel, Counter>,
    /// Jobs delivered more than once (a worker died or was too slow).
    pub jobs_redelivered: Counter,
    /// Bundles JetStream reported as duplicates (a job proved twice).
    pub bundles_deduplicated: Counter,
    /// Jobs that failed to prove (terminated).
    pub jobs_failed: Counter,
    /// Claims won by this keeper.
    pub claims_won: Counter,
    /// Claims lost to another keeper.
    pub claims_lost: Counter,
    /// Liquidations settled by this keeper.
    pub settled: Counter,
    /// Bundles the keeper's verifier rejected.
    pub bundles_rejected: Counter,
    /// Accounts the engine moved to their post-liquidation state (settlement confirmed).
    pub written_back: Counter,
    /// Seconds from the engine receiving the report to a bundle published.
    pub tick_to_proof: Histogram,
    /// Seconds from the engine receiving the report to a liquidation settled.
    pub tick_to_settled: Histogram,
    /// Seconds of a tick's native scan.
    pub scan_seconds: Histogram,
}

/// A kind label.
pub fn kind(kind: crate::names::JobKind) -> KindLabel {
    vec![("kind".into(), kind.as_str().into())]
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered under `zkmargin_engine_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("zkmargin_engine");
        let m = Self {
            ticks: Counter::default(),
            reports_ignored: Counter::default(),
            accounts_scanned: Counter::default(),
            jobs_queued: Family::default(),
            jobs_proved: Family::default(),
            jobs_redelivered: Counter::default(),
            bundles_deduplicated: Counter::default(),
            jobs_failed: Counter::default(),
            claims_won: Counter::default(),
            claims_lost: Counter::default(),
            settled: Counter::default(),
            bundles_rejected: Counter::default(),
            written_back: Counter::default(),
            // 5 ms … ≈ 10 min.
            tick_to_proof: Histogram::new(exponential_buckets(0.005, 2.0, 18)),
            tick_to_settled: Histogram::new(exponential_buckets(0.005, 2.0, 18)),
            // 0.1 ms … ≈ 6.5 s.
            scan_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 17)),
            registry: Registry::default(),
        };
        registry.register("ticks", "Ticks processed", m.ticks.clone());
        registry.register(
            "written_back",
            "Accounts moved to their post-liquidation state once the settlement was confirmed",
            m.written_back.clone(),
        );
        registry.register(
            "reports_ignored",
            "Reports ignored: stale, duplicate, badly signed or malformed",
            m.reports_ignored.clone(),
        );
        registry.register(
            "accounts_scanned",
            "Accounts scanned",
            m.accounts_scanned.clone(),
        );
        registry.register("jobs_queued", "Proof jobs queued", m.jobs_queued.clone());
        registry.register(
            "jobs_proved",
            "Proof jobs proved and published",
            m.jobs_proved.clone(),
        );
        registry.register(
            "jobs_redelivered",
            "Proof jobs delivered more than once",
            m.jobs_redelivered.clone(),
        );
        registry.register(
            "bundles_deduplicated",
            "Bundles the feed already held (a job proved twice)",
            m.bundles_deduplicated.clone(),
        );
        registry.register(
            "jobs_failed",
            "Proof jobs that failed",
            m.jobs_failed.clone(),
        );
        registry.register("claims_won", "Claims won", m.claims_won.clone());
        registry.register(
            "claims_lost",
            "Claims lost to another keeper",
            m.claims_lost.clone(),
        );
        registry.register("settled", "Liquidations settled", m.settled.clone());
        registry.register(
            "bundles_rejected",
            "Bundles rejected by the verifier",
            m.bundles_rejected.clone(),
        );
        registry.register(
            "tick_to_proof_seconds",
            "Seconds from the tick's report to a bundle published",
            m.tick_to_proof.clone(),
        );
        registry.register(
            "tick_to_settled_seconds",
            "Seconds from the tick's report to a liquidation settled",
            m.tick_to_settled.clone(),
        );
        registry.register(
            "scan_seconds",
            "Seconds of a tick's native scan",
            m.scan_seconds.clone(),
        );
        Self { registry, ..m }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Serves `GET /metrics` on `addr` until the process ends. Returns the bound address
/// (port 0 picks a free one).
///
/// # Errors
/// [`EngineError::Metrics`] when the address cannot be bound.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<SocketAddr, EngineError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| EngineError::Metrics(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| EngineError::Metrics(e.to_string()))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    m.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
