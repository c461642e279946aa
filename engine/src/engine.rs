//! `zkmargin engine`: the venue's side. On each signed report from the reports
//! stream (durable consumer), a native scan of every account in the store, a proof job
//! per breach (and per account in the early-warning band) on the work queue; on each
//! claim on the claims stream (durable consumer), the liquidation the rules choose, as a job naming the
//! claim's liquidator.

use std::{future::Future, sync::Arc, time::Instant};

use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use zkmargin_circuits::{Commitment, Prices, RiskParams};
use zkmargin_oracle::{OracleConfig, SignedReport};
use zkmargin_prover::choose_liquidation;

use crate::{
    bus::Bus,
    error::one_line,
    messages::{
        job_id, parse_claim_key, proof_digest, Claim, FeedItem, Job, JobKind, MESSAGE_VERSION,
    },
    metrics::{self, Metrics},
    now_ms,
    scan::{self, ScanParams},
    store::{Store, TickState},
    EngineError, Say,
};

/// τ of the maintenance line, ppm.
pub const MAINTENANCE_TAU_PPM: u32 = 1_000_000;

/// What the engine runs with.
#[derive(Clone)]
pub struct EngineConfig {
    /// The bus.
    pub bus: Bus,
    /// The private account store.
    pub store: Store,
    /// The risk parameters of the venue.
    pub params: RiskParams,
    /// The oracle committee whose reports the engine accepts.
    pub oracle: OracleConfig,
    /// The early-warning threshold τ_warn (ppm, > 1,000,000), if any.
    pub tau_warn_ppm: Option<u32>,
    /// Where lines go.
    pub say: Say,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickSummary {
    /// Accounts scanned.
    pub scanned: usize,
    /// Accounts in breach at τ = 1.
    pub breaches: usize,
    /// Accounts in the early-warning band.
    pub warnings: usize,
    /// Jobs JetStream stored.
    pub jobs: usize,
    /// Jobs JetStream already held (a resumed tick).
    pub duplicates: usize,
}

/// The slot prices of `params` read from `report`.
///
/// # Errors
/// The first feed the parameters need that the report lacks, as a sentence.
pub fn prices_from(params: &RiskParams, report: &SignedReport) -> Result<Prices, String> {
    Prices::from_feeds(params, |feed| report.report.price(feed))
        .map_err(|e| format!("the report has no price for feed {}", e.feed_id))
}

/// Runs the engine until `shutdown` completes.
///
/// # Errors
/// [`EngineError`] when a consumer cannot be opened at start.
pub async fn run(
    config: EngineConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), EngineError> {
    let secret = config.store.secret().await?;
    let engine = Arc::new(Engine { config, secret });
    let names = &engine.config.bus.names;
    let reports = engine
        .config
        .bus
        .consumer(
            &names.reports_stream(),
            &names.engine_consumer(),
            &names.reports_subject(),
            1,
        )
        .await?;
    let claims = engine
        .config
        .bus
        .consumer(
            &names.claims_stream(),
            &names.engine_claims_consumer(),
            &names.claims_filter(),
            -1,
        )
        .await?;
    let ticks = tokio::spawn(engine.clone().reports_loop(reports));
    let liquidations = tokio::spawn(engine.clone().claims_loop(claims));
    shutdown.await;
    ticks.abort();
    liquidations.abort();
    Ok(())
}

struct Engine {
    config: EngineConfig,
    secret: [u8; 32],
}

impl Engine {
    fn say(&self, line: String) {
        (self.config.say)(line);
    }

    fn seed(&self, id: &[u8; 32]) -> String {
        let mut h = Sha256::new();
        h.update(b"zkmargin.engine.seed.v1\0");
        h.update(self.secret);
        h.update(id);
        hex::encode(h.finalize())
    }

    async fn reports_loop(
        self: Arc<Self>,
        consumer: jetstream::consumer::Consumer<jetstream::consumer::pull::Config>,
    ) {
        loop {
            let mut messages = match consumer.messages().await {
                Ok(m) => m,
                Err(e) => {
                    self.say(format!(
                        "engine: waiting for the reports stream: {}",
                        one_line(&e.to_string())
                    ));
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    continue;
                }
            };
            while let Some(message) = messages.next().await {
                match message {
                    Ok(m) => self.tick(&m).await,
                    Err(e) => {
                        self.say(format!(
                            "engine: reports consumer: {}",
                            one_line(&e.to_string())
                        ));
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
            }
        }
    }

    async fn ignore(&self, message: &jetstream::Message, why: String) {
        self.config.metrics.reports_ignored.inc();
        self.say(format!("engine: report ignored: {why}"));
        let _ = message.ack().await;
    }

    async fn tick(&self, message: &jetstream::Message) {
        let tick_ms = now_ms();
        let started = Instant::now();
        let report: SignedReport = match serde_json::from_slice(&message.payload) {
            Ok(r) => r,
            Err(e) => {
                return self
                    .ignore(message, format!("not a signed report: {e}"))
                    .await
            }
        };
        let now = tick_ms / 1000;
        if let Err(e) = self.config.oracle.verify(&report, now) {
            return self
                .ignore(
                    message,
                    format!("{} ({})", one_line(&e.to_string()), e.code()),
                )
                .await;
        }
        let digest = report.report.digest();
        let short = &hex::encode(digest)[..12];
        let store = &self.config.store;
        let state = match store.tick_state(&digest).await {
            Ok(s) => s,
            Err(e) => {
                // Not acknowledged: JetStream redelivers it when the store is back.
                self.say(format!("engine: {e}; the report will be redelivered"));
                return;
            }
        };
        match state {
            Some(TickState::Done) => {
                return self
                    .ignore(message, format!("duplicate: report {short} was already ticked on"))
                    .await
            }
            Some(TickState::Started) => self.say(format!(
                "engine: resuming the tick on report {short} (the engine stopped during it); jobs already queued are deduplicated"
            )),
            None => match store.last_done_observed_at().await {
                Ok(Some(last)) if report.report.observed_at <= last => {
                    return self
                        .ignore(
                            message,
                            format!(
                                "stale: report {short} was observed at {}, not after the last tick's {last}",
                                report.report.observed_at
                            ),
                        )
                        .await
                }
                Ok(_) => {}
                Err(e) => {
                    self.say(format!("engine: {e}; the report will be redelivered"));
                    return;
                }
            },
        }
        let prices = match prices_from(&self.config.params, &report) {
            Ok(p) => p,
            Err(e) => return self.ignore(message, one_line(&e.to_string())).await,
        };
        if let Err(e) = store.begin_tick(&report).await {
            self.say(format!("engine: {e}; the report will be redelivered"));
            return;
        }
        let accounts = match store.accounts().await {
            Ok(a) => Arc::new(a),
            Err(e) => {
                self.say(format!("engine: {e}; the report will be redelivered"));
                return;
            }
        };
        let scan_started = Instant::now();
        let (breaches, warnings) = {
            let accounts = accounts.clone();
            let params = self.config.params.clone();
            let tau_warn = self.config.tau_warn_ppm;
            match tokio::task::spawn_blocking(move || {
                let r = scan::scan(&accounts, &ScanParams::new(&params, prices, tau_warn));
                (r.breaches, r.warnings)
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    self.say(format!("engine: the scan failed: {e}"));
                    return;
                }
            }
        };
        let scan_time = scan_started.elapsed();
        self.config
            .metrics
            .scan_seconds
            .observe(scan_time.as_secs_f64());
        self.config
            .metrics
            .accounts_scanned
            .inc_by(accounts.len() as u64);
        self.say(format!(
            "engine: tick {short}: scanned {} accounts in {:.1} ms: {} breach, {} in the warning band; queueing jobs",
            accounts.len(),
            scan_time.as_secs_f64() * 1e3,
            breaches.len(),
            warnings.len()
        ));

        let params_digest = hex::encode(self.config.params.digest());
        let mut jobs = Vec::with_capacity(breaches.len() + warnings.len());
        for (indices, kind, tau) in [
            (&breaches, JobKind::Breach, MAINTENANCE_TAU_PPM),
            (
                &warnings,
                JobKind::Warning,
                self.config.tau_warn_ppm.unwrap_or(MAINTENANCE_TAU_PPM),
            ),
        ] {
            for &i in indices {
                let account = &accounts[i].1;
                let id = job_id(kind, &Commitment::of(account), &digest, tau, None);
                jobs.push(Job {
                    version: MESSAGE_VERSION,
                    kind,
                    job_id: hex::encode(id),
                    account: account.clone(),
                    report: report.clone(),
                    tau_ppm: tau,
                    liquidator: None,
                    params_digest: params_digest.clone(),
                    seed: self.seed(&id),
                    tick_ms,
                });
            }
        }
        let total = jobs.len();
        let mut summary = TickSummary {
            scanned: accounts.len(),
            breaches: breaches.len(),
            warnings: warnings.len(),
            ..Default::default()
        };
        let mut results = futures_util::stream::iter(jobs)
            .map(|job| async move { (job.kind, self.publish_job(&job).await) })
            .buffer_unordered(256);
        let mut last_progress = Instant::now();
        let mut failed = None;
        let mut done = 0usize;
        while let Some((kind, r)) = results.next().await {
            done += 1;
            match r {
                Ok(false) => {
                    summary.jobs += 1;
                    self.config
                        .metrics
                        .jobs_queued
                        .get_or_create(&metrics::kind(kind))
                        .inc();
                }
                Ok(true) => summary.duplicates += 1,
                Err(e) => failed = Some(e),
            }
            if last_progress.elapsed().as_secs() >= 1 {
                last_progress = Instant::now();
                self.say(format!("engine: tick {short}: {done}/{total} jobs queued"));
                // Keep the report ours while the tick runs.
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
        drop(results);
        if let Some(e) = failed {
            self.say(format!(
                "engine: tick {short}: {e}; the report will be redelivered and the tick resumed"
            ));
            return;
        }
        if let Err(e) = store.finish_tick(&digest, summary.jobs as u64).await {
            self.say(format!("engine: {e}; the report will be redelivered"));
            return;
        }
        let _ = message.double_ack().await;
        self.config.metrics.ticks.inc();
        self.say(format!(
            "engine: tick {short} done in {:.1} ms: {} accounts scanned, {} breaches, {} warnings, {} jobs queued{}",
            started.elapsed().as_secs_f64() * 1e3,
            summary.scanned,
            summary.breaches,
            summary.warnings,
            summary.jobs,
            if summary.duplicates > 0 {
                format!(" ({} already queued before a restart)", summary.duplicates)
            } else {
                String::new()
            }
        ));
    }

    async fn publish_job(&self, job: &Job) -> Result<bool, EngineError> {
        let payload = serde_json::to_vec(job)
            .map_err(|e| EngineError::Config(format!("cannot encode a job: {e}")))?;
        self.config
            .bus
            .publish_dedup(
                &self.config.bus.names.jobs_subject(job.kind),
                &job.job_id,
                payload.into(),
                std::time::Duration::from_secs(60),
            )
            .await
    }

    async fn claims_loop(
        self: Arc<Self>,
        consumer: jetstream::consumer::Consumer<jetstream::consumer::pull::Config>,
    ) {
        loop {
            let mut messages = match consumer.messages().await {
                Ok(m) => m,
                Err(e) => {
                    self.say(format!(
                        "engine: waiting for the claims stream: {}",
                        one_line(&e.to_string())
                    ));
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    continue;
                }
            };
            while let Some(message) = messages.next().await {
                match message {
                    Ok(m) => {
                        let key = self
                            .config
                            .bus
                            .names
                            .claim_key_of(&m.subject)
                            .map(str::to_string);
                        match key {
                            Some(key) => {
                                if self.claimed(&key, &m.payload).await {
                                    let _ = m.double_ack().await;
                                }
                                // Not acknowledged: redelivered after ack_wait.
                            }
                            None => {
                                let _ = m.ack_with(AckKind::Term).await;
                            }
                        }
                    }
                    Err(e) => {
                        self.say(format!(
                            "engine: claims consumer: {}",
                            one_line(&e.to_string())
                        ));
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
            }
        }
    }

    /// The (report digest, proof digest) of the last breach proof the feed holds for
    /// the account with commitment `commitment_hex`.
    async fn published_breach_proof(
        &self,
        commitment_hex: &str,
    ) -> Result<Option<([u8; 32], [u8; 32])>, EngineError> {
        let names = &self.config.bus.names;
        let stream = self
            .config
            .bus
            .js
            .get_stream(names.feed_stream())
            .await
            .map_err(|e| EngineError::nats("opening the feed", e))?;
        let subject = names.feed_account_subject(JobKind::Breach, commitment_hex);
        match stream.get_last_raw_message_by_subject(&subject).await {
            Ok(m) => {
                let item: FeedItem = match serde_json::from_slice(&m.payload) {
                    Ok(i) => i,
                    Err(_) => return Ok(None),
                };
                Ok(Some((
                    item.bundle.report.report.digest(),
                    proof_digest(&item.bundle),
                )))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(EngineError::nats("reading the feed", e)),
        }
    }

    /// A claim was won: publish the liquidation the rules choose, naming its
    /// liquidator. Returns false when the claim should be retried (the job could not
    /// be queued), true when it is done with (queued, or refused for good).
    async fn claimed(&self, key: &str, value: &[u8]) -> bool {
        let refuse = |why: String| {
            self.say(format!("engine: claim {key} refused: {why}"));
            true
        };
        let Some((commitment, digest, proof)) = parse_claim_key(key) else {
            return refuse("not a claim key".into());
        };
        let claim: Claim = match serde_json::from_slice(value) {
            Ok(c) => c,
            Err(e) => return refuse(format!("not a claim: {e}")),
        };
        if claim.commitment.to_hex() != commitment || claim.report_digest != hex::encode(digest) {
            return refuse("the claim does not match its key".into());
        }
        // A valid claim quotes the breach proof the feed published for this account
        // at this report: no one can claim before the proof is public.
        match self.published_breach_proof(&commitment).await {
            Ok(Some((r, p))) if r == digest && p == proof => {}
            Ok(Some(_)) => {
                return refuse("it does not quote the breach proof published on the feed".into())
            }
            Ok(None) => return refuse("no breach proof of that account is on the feed".into()),
            Err(e) => {
                self.say(format!("engine: claim {key}: {e}; retried"));
                return false;
            }
        }
        let account = match self.config.store.account_by_commitment(&commitment).await {
            Ok(Some(a)) => a,
            Ok(None) => return refuse("the engine holds no account with that commitment".into()),
            Err(e) => return refuse(e.to_string()),
        };
        let report = match self.config.store.report(&digest).await {
            Ok(Some(r)) => r,
            Ok(None) => return refuse("the engine did not tick on that report".into()),
            Err(e) => return refuse(e.to_string()),
        };
        let prices = match prices_from(&self.config.params, &report) {
            Ok(p) => p,
            Err(e) => return refuse(one_line(&e.to_string())),
        };
        // The rules, not the claimant, decide: a healthy account has no liquidation.
        if let Err(e) = choose_liquidation(&account, &self.config.params, &prices) {
            return refuse(format!("the rules choose no liquidation: {e}"));
        }
        let id = job_id(
            JobKind::Liquidation,
            &claim.commitment,
            &digest,
            MAINTENANCE_TAU_PPM,
            Some(claim.liquidator),
        );
        let job = Job {
            version: MESSAGE_VERSION,
            kind: JobKind::Liquidation,
            job_id: hex::encode(id),
            account,
            report,
            tau_ppm: MAINTENANCE_TAU_PPM,
            liquidator: Some(claim.liquidator),
            params_digest: hex::encode(self.config.params.digest()),
            seed: self.seed(&id),
            tick_ms: claim.tick_ms,
        };
        match self.publish_job(&job).await {
            Ok(false) => {
                self.config
                    .metrics
                    .jobs_queued
                    .get_or_create(&metrics::kind(JobKind::Liquidation))
                    .inc();
                self.say(format!(
                    "engine: account {} claimed by liquidator {}: liquidation queued",
                    job.account.id, claim.liquidator
                ));
            }
            Ok(true) => {}
            Err(e) => {
                self.say(format!(
                    "engine: liquidation job for claim {key}: {e}; retried"
                ));
                return false;
            }
        }
        true
    }
}
