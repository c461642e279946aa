//! `zkmargin engine`: the venue's side. On each signed report from the reports
//! stream (durable consumer), a native scan of every account in the store, a proof job
//! per breach (and per account in the early-warning band) on the work queue; on each
//! claim on the claims stream (durable consumer), the liquidation the rules choose, as a job naming the
//! claim's liquidator.

use std::{collections::HashMap, future::Future, sync::Arc, time::Instant};

use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use zkmargin_circuits::{Commitment, Prices, RiskParams};
use zkmargin_oracle::{OracleConfig, SignedReport};
use zkmargin_settlement::Ledger;

use crate::{
    bus::Bus,
    error::one_line,
    messages::{
        job_id, parse_claim_key, proof_digest, Claim, FeedItem, Job, JobKind, Settled,
        MESSAGE_VERSION,
    },
    metrics::{self, Metrics},
    now_ms,
    scan::{AccountTable, PreparedTick, ScanParams},
    store::{Pending, Store, TickState, WriteBack},
    writeback::post_state,
    EngineError, Say,
};

/// How often an engine with a ledger looks for settled liquidations no notice
/// announced.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// The venue's settlement ledger, read only: a keeper's settlement notice moves an
    /// account to its post-state only once the ledger shows the new commitment.
    /// `None`: the notice alone does (see `docs/ENGINE.md`, "Write-back").
    pub ledger: Option<Ledger>,
    /// How long (seconds of report time) a breach or early-warning proof of an
    /// unchanged account stands before the engine has it proven again; 0: every tick.
    /// See [`Recent`].
    pub reprove_after_secs: u64,
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
    /// Breaches and warnings not proven again: the same account state has a job at a
    /// report less than `reprove_after_secs` older ([`Recent`]).
    pub still_proven: usize,
}

/// The breach and early-warning jobs queued lately, by kind and commitment, with the
/// observation time of their report.
///
/// A proof at report R stands as long as R is fresh (the committee's maximum age), so
/// an account that still breaches — or is still in the warning band — with the same
/// state (the same commitment) needs no new proof at the next tick: without this rule
/// a 1 s tick with a 10 s drain would prove every breaching account ten times
/// (`docs/SCALE.md`). A changed account has a new commitment and is proven at once;
/// a liquidated one too (the write-back changes it). Held in memory only: after a
/// restart the first tick queues everything again, which costs proofs, never a
/// missed liquidation.
#[derive(Debug, Default)]
pub struct Recent {
    queued: HashMap<(JobKind, Commitment), u64>,
}

impl Recent {
    /// Whether `commitment` needs a `kind` job at a report observed at `observed_at`:
    /// it has none, or its last one is `window` seconds older or more.
    pub fn due(
        &self,
        kind: JobKind,
        commitment: &Commitment,
        observed_at: u64,
        window: u64,
    ) -> bool {
        match self.queued.get(&(kind, *commitment)) {
            Some(&at) => observed_at >= at.saturating_add(window),
            None => true,
        }
    }

    /// Records a job JetStream acknowledged (call only then: a job that failed to
    /// publish must be queued again when the report is redelivered).
    pub fn record(&mut self, kind: JobKind, commitment: Commitment, observed_at: u64) {
        let at = self.queued.entry((kind, commitment)).or_insert(observed_at);
        *at = (*at).max(observed_at);
    }

    /// Forgets the jobs that are no longer recent at `observed_at`.
    pub fn prune(&mut self, observed_at: u64, window: u64) {
        self.queued
            .retain(|_, at| at.saturating_add(window) > observed_at);
    }

    /// How many jobs are remembered.
    pub fn len(&self) -> usize {
        self.queued.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }
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
    let settled = engine
        .config
        .bus
        .consumer(
            &names.settled_stream(),
            &names.engine_settled_consumer(),
            &names.settled_filter(),
            -1,
        )
        .await?;
    let mut tasks = vec![
        tokio::spawn(engine.clone().reports_loop(reports)),
        tokio::spawn(engine.clone().claims_loop(claims)),
        tokio::spawn(engine.clone().settled_loop(settled)),
    ];
    if engine.config.ledger.is_some() {
        tasks.push(tokio::spawn(engine.clone().reconcile_loop()));
    }
    shutdown.await;
    for t in tasks {
        t.abort();
    }
    Ok(())
}

type PullConsumer = jetstream::consumer::Consumer<jetstream::consumer::pull::Config>;

/// The messages of one durable consumer, for as long as the engine runs. The server may
/// restart or be unreachable for a while (the NATS-restart fault test does exactly
/// that): a stream that cannot be opened is retried every 500 ms, a failed delivery
/// after 200 ms, each said once per attempt, and [`Deliveries::next`] waits through it
/// rather than ending the loop that reads it.
struct Deliveries<'a> {
    consumer: PullConsumer,
    what: &'static str,
    say: &'a Say,
    messages: Option<jetstream::consumer::pull::Stream>,
}

impl<'a> Deliveries<'a> {
    fn new(consumer: PullConsumer, what: &'static str, say: &'a Say) -> Self {
        Self {
            consumer,
            what,
            say,
            messages: None,
        }
    }

    async fn next(&mut self) -> jetstream::Message {
        loop {
            let messages = match &mut self.messages {
                Some(m) => m,
                None => match self.consumer.messages().await {
                    Ok(m) => self.messages.insert(m),
                    Err(e) => {
                        (self.say)(format!(
                            "engine: waiting for the {} stream: {}",
                            self.what,
                            one_line(&e.to_string())
                        ));
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        continue;
                    }
                },
            };
            match messages.next().await {
                Some(Ok(m)) => return m,
                Some(Err(e)) => {
                    (self.say)(format!(
                        "engine: {} consumer: {}",
                        self.what,
                        one_line(&e.to_string())
                    ));
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                // The stream of messages ended: open a new one.
                None => self.messages = None,
            }
        }
    }
}

struct Engine {
    config: EngineConfig,
    secret: [u8; 32],
}

/// The accounts the tick loop holds between ticks, and the largest change sequence
/// number it has read from the store.
struct Book {
    table: AccountTable,
    seq: i64,
    recent: Recent,
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

    async fn reports_loop(self: Arc<Self>, consumer: PullConsumer) {
        let mut book = Book {
            table: AccountTable::new(),
            seq: -1,
            recent: Recent::default(),
        };
        let mut reports = Deliveries::new(consumer, "reports", &self.config.say);
        loop {
            let m = reports.next().await;
            self.tick(&m, &mut book).await;
        }
    }

    async fn ignore(&self, message: &jetstream::Message, why: String) {
        self.config.metrics.reports_ignored.inc();
        self.say(format!("engine: report ignored: {why}"));
        let _ = message.ack().await;
    }

    async fn tick(&self, message: &jetstream::Message, book: &mut Book) {
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
        // Only what changed since the last tick (imports, write-backs) is read.
        let load_started = Instant::now();
        let changed = match store.changes_since(book.seq).await {
            Ok(c) => c,
            Err(e) => {
                self.say(format!("engine: {e}; the report will be redelivered"));
                return;
            }
        };
        let loaded = changed.len();
        for (seq, account) in changed {
            book.seq = book.seq.max(seq);
            book.table.upsert(account);
        }
        let load_time = load_started.elapsed();
        let scan_started = Instant::now();
        let (table, breaches, warnings) = {
            let table = std::mem::take(&mut book.table);
            let params = self.config.params.clone();
            let tau_warn = self.config.tau_warn_ppm;
            match tokio::task::spawn_blocking(move || {
                let r = table.scan(&PreparedTick::new(&ScanParams::new(
                    &params, prices, tau_warn,
                )));
                (table, r.breaches, r.warnings)
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    // The table went with the failed task: reload every account.
                    book.seq = -1;
                    self.say(format!("engine: the scan failed: {e}"));
                    return;
                }
            }
        };
        book.table = table;
        let accounts = &book.table;
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
            "engine: tick {short}: read {loaded} changed accounts in {:.1} ms, scanned {} accounts in {:.1} ms: {} breach, {} in the warning band; queueing jobs",
            load_time.as_secs_f64() * 1e3,
            accounts.len(),
            scan_time.as_secs_f64() * 1e3,
            breaches.len(),
            warnings.len()
        ));

        let params_digest = hex::encode(self.config.params.digest());
        let observed_at = report.report.observed_at;
        let window = self.config.reprove_after_secs;
        book.recent.prune(observed_at, window);
        let mut still_proven = 0;
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
                let account = accounts.account(i);
                let commitment = Commitment::of(account);
                if !book.recent.due(kind, &commitment, observed_at, window) {
                    still_proven += 1;
                    continue;
                }
                let id = job_id(kind, &commitment, &digest, tau, None);
                jobs.push((
                    commitment,
                    Job {
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
                    },
                ));
            }
        }
        let total = jobs.len();
        let mut summary = TickSummary {
            scanned: accounts.len(),
            breaches: breaches.len(),
            warnings: warnings.len(),
            still_proven,
            ..Default::default()
        };
        let mut results =
            futures_util::stream::iter(jobs)
                .map(|(commitment, job)| async move {
                    (job.kind, commitment, self.publish_job(&job).await)
                })
                .buffer_unordered(256);
        let mut last_progress = Instant::now();
        let mut failed = None;
        let mut done = 0usize;
        while let Some((kind, commitment, r)) = results.next().await {
            done += 1;
            if r.is_ok() {
                book.recent.record(kind, commitment, observed_at);
            }
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
            "engine: tick {short} done in {:.1} ms: {} accounts scanned, {} breaches, {} warnings, {} jobs queued, {} still proven{}",
            started.elapsed().as_secs_f64() * 1e3,
            summary.scanned,
            summary.breaches,
            summary.warnings,
            summary.jobs,
            summary.still_proven,
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

    async fn claims_loop(self: Arc<Self>, consumer: PullConsumer) {
        let mut claims = Deliveries::new(consumer, "claims", &self.config.say);
        loop {
            let m = claims.next().await;
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
        // The state the account will have once this job settles: recorded before the
        // job is published (a claim redelivered after a crash records it again, once),
        // applied only when the settlement is confirmed. The rules, not the claimant,
        // decide: an account they would not liquidate at the report's prices is
        // refused here.
        let post = match post_state(&job, &self.config.params) {
            Ok(p) => p,
            Err(e) => return refuse(e),
        };
        if let Err(e) = self.config.store.add_pending(&post, &job.job_id).await {
            self.say(format!("engine: claim {key}: {e}; retried"));
            return false;
        }
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

    async fn settled_loop(self: Arc<Self>, consumer: PullConsumer) {
        let mut notices = Deliveries::new(consumer, "settled", &self.config.say);
        loop {
            let m = notices.next().await;
            if self.settled(&m.payload).await {
                let _ = m.double_ack().await;
            } else {
                let _ = m
                    .ack_with(AckKind::Nak(Some(std::time::Duration::from_secs(1))))
                    .await;
            }
        }
    }

    /// A keeper says it settled a liquidation. Returns false to have the notice
    /// redelivered (the store or the ledger failed), true when done with it.
    async fn settled(&self, payload: &[u8]) -> bool {
        let notice: Settled = match serde_json::from_slice(payload) {
            Ok(n) => n,
            Err(e) => {
                self.say(format!("engine: not a settlement notice, ignored: {e}"));
                return true;
            }
        };
        let new = notice.new_commitment.to_hex();
        let pending = match self.config.store.pending(&new).await {
            Ok(Some(p)) => p,
            // Not a liquidation this engine queued, or one already applied.
            Ok(None) => return true,
            Err(e) => {
                self.say(format!("engine: settlement notice: {e}; retried"));
                return false;
            }
        };
        if pending.old_commitment != notice.old_commitment.to_hex()
            || pending.statement_digest != notice.statement_digest
        {
            self.say(format!(
                "engine: settlement notice of liquidator {} for account {} ignored: it does not match the queued liquidation",
                notice.liquidator, pending.account.id
            ));
            return true;
        }
        match self.confirmed(&pending).await {
            Ok(true) => {}
            Ok(false) => {
                self.say(format!(
                    "engine: settlement notice of liquidator {} for account {} not confirmed by the ledger; the account keeps its state",
                    notice.liquidator, pending.account.id
                ));
                return true;
            }
            Err(e) => {
                self.say(format!("engine: settlement notice: {e}; retried"));
                return false;
            }
        }
        self.write_back(&pending).await
    }

    /// Whether the ledger (if the engine has one) holds `pending`'s new commitment as
    /// the account's current one. Without a ledger, the keeper's notice is taken.
    async fn confirmed(&self, pending: &Pending) -> Result<bool, EngineError> {
        let Some(ledger) = &self.config.ledger else {
            return Ok(true);
        };
        let record = ledger.account(pending.account.id).await.map_err(|e| {
            EngineError::Store(format!(
                "ledger: {} ({})",
                one_line(&e.to_string()),
                e.code()
            ))
        })?;
        Ok(record.is_some_and(|r| r.commitment.to_hex() == pending.new_commitment))
    }

    /// Applies a confirmed post-state. Returns false when the store failed (retried).
    async fn write_back(&self, pending: &Pending) -> bool {
        match self
            .config
            .store
            .apply_pending(&pending.new_commitment)
            .await
        {
            Ok(WriteBack::Applied(id)) => {
                self.config.metrics.written_back.inc();
                self.say(format!(
                    "engine: account {id} moved to its post-liquidation state (settlement confirmed)"
                ));
                true
            }
            Ok(WriteBack::Superseded(id)) => {
                self.say(format!(
                    "engine: the settled liquidation of account {id} starts from a state the store no longer holds (imported since); not applied"
                ));
                true
            }
            Ok(WriteBack::AlreadyApplied | WriteBack::Unknown) => true,
            Err(e) => {
                self.say(format!("engine: write-back: {e}; retried"));
                false
            }
        }
    }

    /// With a ledger: every few seconds, every pending post-state whose commitment the
    /// ledger already holds is applied — the backstop for a notice that never came (a
    /// keeper that settled and stopped for good).
    async fn reconcile_loop(self: Arc<Self>) {
        loop {
            tokio::time::sleep(RECONCILE_EVERY).await;
            let pendings = match self.config.store.pendings().await {
                Ok(p) => p,
                Err(e) => {
                    self.say(format!("engine: reconcile: {e}"));
                    continue;
                }
            };
            for p in pendings {
                match self.confirmed(&p).await {
                    Ok(true) => {
                        self.write_back(&p).await;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        self.say(format!("engine: reconcile: {e}"));
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkmargin_circuits::Fr;

    fn c(n: u64) -> Commitment {
        Commitment(Fr::from(n))
    }

    #[test]
    fn an_unchanged_account_is_proven_again_only_when_its_last_proof_ages_out() {
        let mut recent = Recent::default();
        let window = 150;
        assert!(recent.due(JobKind::Breach, &c(1), 1_000, window));
        recent.record(JobKind::Breach, c(1), 1_000);
        // The next ticks: the same state is still proven.
        assert!(!recent.due(JobKind::Breach, &c(1), 1_001, window));
        assert!(!recent.due(JobKind::Breach, &c(1), 1_149, window));
        // Aged out: proven again.
        assert!(recent.due(JobKind::Breach, &c(1), 1_150, window));
        // Another state of the account (a new commitment), another kind: due at once.
        assert!(recent.due(JobKind::Breach, &c(2), 1_001, window));
        assert!(recent.due(JobKind::Warning, &c(1), 1_001, window));
        // Window 0: every tick.
        assert!(recent.due(JobKind::Breach, &c(1), 1_000, 0));
        // A record never moves back in time.
        recent.record(JobKind::Breach, c(1), 900);
        assert!(!recent.due(JobKind::Breach, &c(1), 1_100, window));
    }

    #[test]
    fn prune_forgets_exactly_what_is_no_longer_recent() {
        let mut recent = Recent::default();
        recent.record(JobKind::Breach, c(1), 1_000);
        recent.record(JobKind::Warning, c(2), 1_100);
        recent.prune(1_149, 150);
        assert_eq!(recent.len(), 2);
        recent.prune(1_150, 150);
        assert_eq!(recent.len(), 1);
        assert!(recent.due(JobKind::Breach, &c(1), 1_150, 150));
        assert!(!recent.due(JobKind::Warning, &c(2), 1_150, 150));
        recent.prune(1_250, 150);
        assert!(recent.is_empty());
    }
}
