//! Prometheus metrics (text exposition at `GET /metrics`).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `zkmargin_http_requests_total` | counter | `route`, `method`, `status` |
//! | `zkmargin_http_request_duration_seconds` | histogram | `route` |
//! | `zkmargin_verdicts_total` | counter | `status` (`meets`, `breaches`; `transition` for a liquidation transition verified by `/v1/verify`) |
//! | `zkmargin_rejections_total` | counter | `code` (every error code, decoding and verification) |
//! | `zkmargin_verification_duration_seconds` | histogram | `kind` (`single`, `batch`, `transition`): time on a verification worker |
//! | `zkmargin_settlements_total` | counter | `outcome` (`applied`, or the error code of a refused `/v1/settle`: `replay`, `stale_commitment`, `invalid_proof`, …) |
//! | `zkmargin_ledger_apply_duration_seconds` | histogram | — (time in `Ledger::apply`, lock wait included) |
//! | `zkmargin_batch_size` | histogram | `kind` (`request`: bundles per batch request; `coalesced`: single requests verified together) |
//! | `zkmargin_verification_queue_depth` | gauge | jobs waiting for a worker |
//! | `zkmargin_build_info` | gauge (1) | `version` |

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// Labels of a request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route, e.g. `/v1/verify` (`unmatched` for 404s).
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// HTTP status code.
    pub status: u16,
}

/// A label set with one `route` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The matched route.
    pub route: String,
}

/// A label set with one `status` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// `meets` or `breaches`.
    pub status: &'static str,
}

/// A label set with one `code` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    /// The error code.
    pub code: &'static str,
}

/// A label set with one `kind` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// What was measured.
    pub kind: &'static str,
}

/// A label set with one `outcome` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `applied` or an error code.
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the service, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route, method, status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency by route.
    pub request_duration: HistogramFamily<RouteLabels>,
    /// Verdicts by status.
    pub verdicts: Family<StatusLabels, Counter>,
    /// Rejections by error code.
    pub rejections: Family<CodeLabels, Counter>,
    /// Time a worker spent verifying, by kind.
    pub verification_duration: HistogramFamily<KindLabels>,
    /// Bundles verified together, by kind.
    pub batch_size: HistogramFamily<KindLabels>,
    /// Jobs waiting for a worker.
    pub queue_depth: Gauge,
    /// `/v1/settle` outcomes: `applied` or the error code.
    pub settlements: Family<OutcomeLabels, Counter>,
    /// Time in `Ledger::apply`.
    pub ledger_apply_duration: Histogram,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~26 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

fn size_histogram() -> Histogram {
    // 1 … 4096.
    Histogram::new(exponential_buckets(1.0, 2.0, 13))
}

impl Metrics {
    /// Registers every metric under the `zkmargin` prefix.
    pub fn new(version: &'static str) -> Self {
        let mut registry = Registry::with_prefix("zkmargin");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let request_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route, from the first byte of the body to the response",
            request_duration.clone(),
        );
        let verdicts = Family::<StatusLabels, Counter>::default();
        registry.register(
            "verdicts",
            "Proofs that verified, by status",
            verdicts.clone(),
        );
        let rejections = Family::<CodeLabels, Counter>::default();
        registry.register(
            "rejections",
            "Bundles and requests rejected, by error code",
            rejections.clone(),
        );
        let verification_duration: HistogramFamily<KindLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "verification_duration_seconds",
            "Time on a verification worker per job (single proof, batch or transition)",
            verification_duration.clone(),
        );
        let batch_size: HistogramFamily<KindLabels> = Family::new_with_constructor(size_histogram);
        registry.register(
            "batch_size",
            "Bundles per batch request (kind=request) and single requests verified together (kind=coalesced)",
            batch_size.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "verification_queue_depth",
            "Verification jobs waiting for a worker",
            queue_depth.clone(),
        );
        let settlements = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "settlements",
            "POST /v1/settle outcomes: applied, or the error code of the refusal",
            settlements.clone(),
        );
        let ledger_apply_duration = latency_histogram();
        registry.register(
            "ledger_apply_duration_seconds",
            "Time applying a verified transition to the ledger (lock wait included)",
            ledger_apply_duration.clone(),
        );
        let build = Family::<VersionLabels, Gauge>::default();
        build.get_or_create(&VersionLabels { version }).set(1);
        registry.register("build_info", "Build version of the service", build);
        Self {
            registry,
            requests,
            request_duration,
            verdicts,
            rejections,
            verification_duration,
            batch_size,
            queue_depth,
            settlements,
            ledger_apply_duration,
        }
    }

    /// Counts a `/v1/settle` outcome.
    pub fn settle(&self, outcome: &'static str) {
        self.settlements
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts a rejection with `code`.
    pub fn reject(&self, code: &'static str) {
        self.rejections.get_or_create(&CodeLabels { code }).inc();
    }

    /// Counts a verdict with `status`.
    pub fn verdict(&self, status: &'static str) {
        self.verdicts.get_or_create(&StatusLabels { status }).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
