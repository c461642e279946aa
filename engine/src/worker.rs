//! `zkmargin worker`: pulls proof jobs from the work queue (the shared durable
//! consumer), proves them with the repository's provers, publishes each bundle with
//! `Nats-Msg-Id` = its statement digest, and acknowledges the job only after JetStream
//! acknowledged the bundle. A worker that dies mid-job leaves its job unacknowledged:
//! JetStream redelivers it after `ack_wait`; a job proved twice gives the same
//! statement (seeded randomness) and the feed stores it once.

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use zkmargin_circuits::{Commitment, RiskParams, Status};
use zkmargin_oracle::OracleConfig;
use zkmargin_prover::{
    LiquidationProver, LiquidationRequest, MarginProver, MarginRequest, OracleCheck,
};
use zkmargin_verifier::ProofBundle;

use crate::{
    bus::Bus,
    error::one_line,
    messages::{statement_digest, FeedItem, Job, JobKind, MESSAGE_VERSION},
    metrics::{self, Metrics},
    now_ms,
    writeback::{job_rng, liquidation_randomness, post_state},
    EngineError, Say,
};

/// The two provers, loaded once.
pub struct Provers {
    /// Margin (breach, early-warning) proofs.
    pub margin: MarginProver,
    /// Liquidation transitions.
    pub liquidation: LiquidationProver,
}

impl Provers {
    /// Loads both proving keys from `dir` (a missing development key is regenerated
    /// from its public seed).
    ///
    /// # Errors
    /// [`EngineError::Keys`] naming the directory.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let keys = |e: &dyn std::fmt::Display| {
            EngineError::Keys(format!(
                "cannot load the proving keys from {}: {}",
                dir.display(),
                one_line(&e.to_string())
            ))
        };
        let margin = MarginProver::load(dir, &mut |_| {}).map_err(|e| keys(&e))?;
        let liquidation = LiquidationProver::load(dir, &mut |_| {}).map_err(|e| keys(&e))?;
        Ok(Self {
            margin,
            liquidation,
        })
    }
}

/// What a worker runs with.
#[derive(Clone)]
pub struct WorkerConfig {
    /// The bus.
    pub bus: Bus,
    /// The provers.
    pub provers: Arc<Provers>,
    /// The risk parameters (their digest must match each job's).
    pub params: RiskParams,
    /// The oracle committee (the prover checks each job's report against it).
    pub oracle: OracleConfig,
    /// Jobs proved at once; each proof gets `threads / parallel` threads.
    pub parallel: usize,
    /// Threads for proving in all.
    pub threads: usize,
    /// Where lines go.
    pub say: Say,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// Runs the worker until `shutdown` completes.
///
/// # Errors
/// [`EngineError`] when the consumer cannot be opened or a thread pool built.
pub async fn run(
    config: WorkerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), EngineError> {
    let names = &config.bus.names;
    let consumer = config
        .bus
        .consumer(
            &names.jobs_stream(),
            &names.workers_consumer(),
            &names.jobs_filter(),
            -1,
        )
        .await?;
    let parallel = config.parallel.max(1);
    let per_job = (config.threads / parallel).max(1);
    let config = Arc::new(config);
    let mut slots = Vec::new();
    for slot in 0..parallel {
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(per_job)
                .thread_name(move |i| format!("prove-{slot}-{i}"))
                .build()
                .map_err(|e| EngineError::Config(format!("cannot build a thread pool: {e}")))?,
        );
        slots.push(tokio::spawn(slot_loop(
            config.clone(),
            consumer.clone(),
            pool,
        )));
    }
    shutdown.await;
    for s in slots {
        s.abort();
    }
    Ok(())
}

async fn slot_loop(
    config: Arc<WorkerConfig>,
    consumer: jetstream::consumer::Consumer<jetstream::consumer::pull::Config>,
    pool: Arc<rayon::ThreadPool>,
) {
    loop {
        // One job at a time per slot: a prefetched job would wait out its ack_wait.
        let batch = consumer
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(1))
            .messages()
            .await;
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => {
                (config.say)(format!(
                    "worker: waiting for the jobs stream: {}",
                    one_line(&e.to_string())
                ));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        while let Some(message) = batch.next().await {
            match message {
                Ok(m) => job(&config, &pool, m).await,
                Err(e) => {
                    (config.say)(format!(
                        "worker: jobs consumer: {}",
                        one_line(&e.to_string())
                    ));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

async fn job(
    config: &Arc<WorkerConfig>,
    pool: &Arc<rayon::ThreadPool>,
    message: jetstream::Message,
) {
    let say = &config.say;
    let job: Job = match serde_json::from_slice(&message.payload) {
        Ok(j) => j,
        Err(e) => {
            say(format!(
                "worker: not a job, dropped: {}",
                one_line(&e.to_string())
            ));
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    if job.version != MESSAGE_VERSION {
        say(format!(
            "worker: job {} has version {}, this worker reads {MESSAGE_VERSION}; dropped",
            job.job_id, job.version
        ));
        let _ = message.ack_with(AckKind::Term).await;
        return;
    }
    if message.info().map(|i| i.delivered > 1).unwrap_or(false) {
        config.metrics.jobs_redelivered.inc();
    }
    if job.params_digest != hex::encode(config.params.digest()) {
        say(format!(
            "worker: job {} uses risk parameters {}, this worker has {}; dropped",
            job.job_id,
            job.params_digest,
            hex::encode(config.params.digest())
        ));
        config.metrics.jobs_failed.inc();
        let _ = message.ack_with(AckKind::Term).await;
        return;
    }
    let kind = job.kind;
    let proved = {
        let config = config.clone();
        let pool = pool.clone();
        let job = job.clone();
        tokio::task::spawn_blocking(move || pool.install(|| prove(&config, &job)))
            .await
            .unwrap_or_else(|e| Err(format!("the prover stopped: {e}")))
    };
    let bundle = match proved {
        Ok(b) => b,
        Err(reason) => {
            say(format!(
                "worker: job {} ({}) failed: {reason}",
                job.job_id,
                kind.as_str()
            ));
            config.metrics.jobs_failed.inc();
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let names = &config.bus.names;
    let subject = match kind {
        JobKind::Warning => names.warning_subject(job.account.id),
        k => names.feed_account_subject(k, &Commitment::of(&job.account).to_hex()),
    };
    let item = FeedItem {
        version: MESSAGE_VERSION,
        kind,
        job_id: job.job_id.clone(),
        tick_ms: job.tick_ms,
        bundle,
    };
    let msg_id = hex::encode(statement_digest(&item.bundle));
    let payload = match serde_json::to_vec(&item) {
        Ok(p) => p,
        Err(e) => {
            say(format!("worker: cannot encode a bundle: {e}"));
            return;
        }
    };
    match config
        .bus
        .publish_dedup(&subject, &msg_id, payload.into(), Duration::from_secs(60))
        .await
    {
        Ok(duplicate) => {
            if duplicate {
                config.metrics.bundles_deduplicated.inc();
            }
            // Acknowledged only now: a worker dying before this line leaves the job
            // to be redelivered, and its bundle (if published) is deduplicated.
            if let Err(e) = message.double_ack().await {
                say(format!("worker: job {} published but not acknowledged ({}); it may be proved again and is deduplicated", job.job_id, one_line(&e.to_string())));
            }
            config
                .metrics
                .jobs_proved
                .get_or_create(&metrics::kind(kind))
                .inc();
            config
                .metrics
                .tick_to_proof
                .observe(now_ms().saturating_sub(job.tick_ms) as f64 / 1e3);
        }
        Err(e) => say(format!(
            "worker: job {}: {e}; left for redelivery",
            job.job_id
        )),
    }
}

fn prove(config: &WorkerConfig, job: &Job) -> Result<ProofBundle, String> {
    let oracle = OracleCheck {
        config: &config.oracle,
        now: now_ms() / 1000,
    };
    match job.kind {
        JobKind::Breach | JobKind::Warning => {
            let request = MarginRequest {
                account: &job.account,
                params: &config.params,
                report: &job.report,
                tau_ppm: job.tau_ppm,
                expect: Some(Status::Breaches),
                commitment: Some(Commitment::of(&job.account)),
                oracle: Some(oracle),
            };
            config
                .provers
                .margin
                .prove(&request, &mut job_rng(&job.seed)?)
                .map(|p| p.bundle)
                .map_err(|e| one_line(&e.to_string()))
        }
        JobKind::Liquidation => {
            let liquidator = job
                .liquidator
                .ok_or_else(|| "a liquidation job without a liquidator".to_string())?;
            // What the engine recorded as this job's pending post-state: the proof is
            // made with its blinding and must open to exactly that state.
            let expected = post_state(job, &config.params)?;
            let (new_blinding, mut rng) = liquidation_randomness(&job.seed)?;
            let request = LiquidationRequest {
                account: &job.account,
                params: &config.params,
                report: &job.report,
                liquidator,
                oracle: Some(oracle),
                commitment: Some(Commitment::of(&job.account)),
                new_blinding: Some(new_blinding),
            };
            let proof = config
                .provers
                .liquidation
                .prove(&request, &mut rng)
                .map_err(|e| one_line(&e.to_string()))?;
            // The same derivation on both sides; only a report whose checked prices
            // differ from its raw feeds could make them disagree.
            if proof.new_account != expected.account
                || proof.public.new_commitment != expected.new_commitment
                || proof.public.digest() != expected.statement_digest
            {
                return Err("the proven new state differs from the engine's expected post-state; not published".into());
            }
            Ok(proof.bundle)
        }
    }
}
