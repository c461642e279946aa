//! Verification off the async executor: a bounded queue and a fixed set of worker
//! threads, with opportunistic coalescing of single-proof requests.
//!
//! The HTTP handlers never verify on tokio's threads: they enqueue a job and await
//! its reply. Each of the `workers` threads takes the next job; when it is a single
//! proof, the worker also takes every single proof already waiting (up to
//! `max_coalesce`) and verifies them together with [`Verifier::verify_batch`], whose
//! verdicts equal single verification's (property-tested in the verifier). An idle
//! server therefore verifies a lone request at once, and a busy one turns its backlog
//! into batches: one multi-Miller loop and one final exponentiation per batch instead
//! of per proof, so throughput rises with load instead of the queue.
//!
//! A single request may carry either statement: coalesced singles are verified with
//! [`Verifier::verify_any_batch`] (the margin bundles as one batch, liquidations each
//! on their own). `/v1/settle`'s liquidations are jobs of their own, verified with
//! [`Verifier::verify_liquidation`]: they share the queue, its limit and the workers.
//!
//! The number of workers is the concurrency limit; the queue's capacity bounds the
//! backlog (a full queue answers 503 `overloaded` at once). The pairing arithmetic runs
//! on the rayon pool the verifier uses, sized to the machine's cores.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use tokio::sync::oneshot;
use zkmargin_verifier::{
    ProofBundle, Verdict, Verified, VerifiedLiquidation, Verifier, VerifyError,
};

use crate::metrics::{KindLabels, Metrics};

/// The outcome of one bundle of a single request (either statement).
pub type AnyOutcome = Result<Verified, VerifyError>;

/// The outcome of one margin bundle of a batch request.
pub type Outcome = Result<Verdict, VerifyError>;

/// The outcome of one liquidation bundle to settle.
pub type LiquidationOutcome = Result<VerifiedLiquidation, VerifyError>;

enum Job {
    Single {
        bundle: Box<ProofBundle>,
        reply: oneshot::Sender<AnyOutcome>,
    },
    Batch {
        bundles: Vec<ProofBundle>,
        reply: oneshot::Sender<Vec<Outcome>>,
    },
    Liquidation {
        bundle: Box<ProofBundle>,
        reply: oneshot::Sender<LiquidationOutcome>,
    },
}

/// A job that is not coalesced: a batch request or a liquidation to settle.
enum Alone {
    Batch(Vec<ProofBundle>, oneshot::Sender<Vec<Outcome>>),
    Liquidation(Box<ProofBundle>, oneshot::Sender<LiquidationOutcome>),
}

/// Why a job was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full.
    Overloaded,
    /// The workers have stopped (shutdown).
    Closed,
}

/// The queue and its workers.
pub struct Dispatcher {
    tx: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

/// How often an idle worker looks up from the queue (to notice shutdown).
const IDLE_POLL: Duration = Duration::from_millis(200);

impl Dispatcher {
    /// Starts `workers` threads (at least one) over a queue of `capacity` jobs.
    pub fn start(
        verifier: Arc<Verifier>,
        metrics: Arc<Metrics>,
        workers: usize,
        capacity: usize,
        max_coalesce: usize,
    ) -> Self {
        let (tx, rx) = mpsc::sync_channel::<Job>(capacity.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let handles = (0..workers.max(1))
            .map(|i| {
                let worker = Worker {
                    verifier: verifier.clone(),
                    metrics: metrics.clone(),
                    rx: rx.clone(),
                    max_coalesce: max_coalesce.max(1),
                };
                std::thread::Builder::new()
                    .name(format!("zkmargin-verify-{i}"))
                    .spawn(move || worker.run())
                    .expect("spawn a verification worker thread")
            })
            .collect();
        Self {
            tx: Mutex::new(Some(tx)),
            workers: Mutex::new(handles),
            metrics,
        }
    }

    /// Enqueues one bundle; the receiver yields its outcome.
    ///
    /// # Errors
    /// [`SubmitError`] when the queue is full or closed.
    pub fn submit(
        &self,
        bundle: ProofBundle,
    ) -> Result<oneshot::Receiver<AnyOutcome>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Single {
            bundle: Box::new(bundle),
            reply,
        })?;
        Ok(rx)
    }

    /// Enqueues a batch; the receiver yields one outcome per bundle, in order.
    ///
    /// # Errors
    /// [`SubmitError`] when the queue is full or closed.
    pub fn submit_batch(
        &self,
        bundles: Vec<ProofBundle>,
    ) -> Result<oneshot::Receiver<Vec<Outcome>>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Batch { bundles, reply })?;
        Ok(rx)
    }

    /// Enqueues one liquidation bundle to settle; the receiver yields its outcome.
    ///
    /// # Errors
    /// [`SubmitError`] when the queue is full or closed.
    pub fn submit_liquidation(
        &self,
        bundle: ProofBundle,
    ) -> Result<oneshot::Receiver<LiquidationOutcome>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Liquidation {
            bundle: Box::new(bundle),
            reply,
        })?;
        Ok(rx)
    }

    fn send(&self, job: Job) -> Result<(), SubmitError> {
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let tx = guard.as_ref().ok_or(SubmitError::Closed)?;
        match tx.try_send(job) {
            Ok(()) => {
                self.metrics.queue_depth.inc();
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(SubmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Closed),
        }
    }

    /// Closes the queue, lets the workers finish every queued job, and waits for them.
    pub fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let handles = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for h in handles {
            let _ = h.join();
        }
    }
}

struct Worker {
    verifier: Arc<Verifier>,
    metrics: Arc<Metrics>,
    rx: Arc<Mutex<Receiver<Job>>>,
    max_coalesce: usize,
}

impl Worker {
    fn run(self) {
        loop {
            let (singles, alone) = match self.take() {
                Ok(jobs) => jobs,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            if !singles.is_empty() {
                self.verify_singles(singles);
            }
            match alone {
                Some(Alone::Batch(bundles, reply)) => self.verify_batch(bundles, reply),
                Some(Alone::Liquidation(bundle, reply)) => self.verify_liquidation(&bundle, reply),
                None => {}
            }
        }
    }

    /// The next job and, if it is a single proof, the single proofs queued behind it
    /// (stopping at a batch or settle job, which comes back too).
    #[allow(clippy::type_complexity)]
    fn take(
        &self,
    ) -> Result<
        (
            Vec<(Box<ProofBundle>, oneshot::Sender<AnyOutcome>)>,
            Option<Alone>,
        ),
        RecvTimeoutError,
    > {
        let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        let mut singles = Vec::new();
        let mut next = Some(rx.recv_timeout(IDLE_POLL)?);
        while let Some(job) = next.take() {
            self.metrics.queue_depth.dec();
            match job {
                Job::Single { bundle, reply } => singles.push((bundle, reply)),
                Job::Batch { bundles, reply } => {
                    return Ok((singles, Some(Alone::Batch(bundles, reply))))
                }
                Job::Liquidation { bundle, reply } => {
                    return Ok((singles, Some(Alone::Liquidation(bundle, reply))))
                }
            }
            if singles.len() < self.max_coalesce {
                next = rx.try_recv().ok();
            }
        }
        Ok((singles, None))
    }

    fn verify_singles(&self, jobs: Vec<(Box<ProofBundle>, oneshot::Sender<AnyOutcome>)>) {
        let started = Instant::now();
        let (bundles, replies): (Vec<ProofBundle>, Vec<_>) =
            jobs.into_iter().map(|(b, r)| (*b, r)).unzip();
        let outcomes = if bundles.len() == 1 {
            guarded(|| vec![self.verifier.verify_any(&bundles[0])])
        } else {
            guarded(|| self.verifier.verify_any_batch(&bundles))
        };
        self.observe("single", bundles.len(), started);
        self.metrics
            .batch_size
            .get_or_create(&KindLabels { kind: "coalesced" })
            .observe(bundles.len() as f64);
        // On a panic (a bug: verification has no panicking path) the replies drop and
        // each handler answers 500.
        if let Some(outcomes) = outcomes {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // The requester may have timed out and gone: nothing to do then.
                let _ = reply.send(outcome);
            }
        }
    }

    fn verify_batch(&self, bundles: Vec<ProofBundle>, reply: oneshot::Sender<Vec<Outcome>>) {
        let started = Instant::now();
        let outcomes = guarded(|| self.verifier.verify_batch(&bundles));
        self.observe("batch", bundles.len(), started);
        if let Some(outcomes) = outcomes {
            let _ = reply.send(outcomes);
        }
    }

    fn verify_liquidation(&self, bundle: &ProofBundle, reply: oneshot::Sender<LiquidationOutcome>) {
        let started = Instant::now();
        let outcome = guarded(|| self.verifier.verify_liquidation(bundle));
        self.observe("transition", 1, started);
        if let Some(outcome) = outcome {
            let _ = reply.send(outcome);
        }
    }

    fn observe(&self, kind: &'static str, n: usize, started: Instant) {
        self.metrics
            .verification_duration
            .get_or_create(&KindLabels { kind })
            .observe(started.elapsed().as_secs_f64());
        tracing::debug!(kind, proofs = n, elapsed = ?started.elapsed(), "verified");
    }
}

/// Runs `f`, turning a panic into `None` (logged) so the worker survives.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(panic = %what, "verification panicked; answering 500");
            None
        }
    }
}
