//! `zkmargin keeper`: a liquidator's bot. Its own durable consumer of the public feed;
//! bundles verified in batches ([`Verifier::verify_any_batch`]); a verified,
//! liquidatable breach is claimed by publishing the first message on the claim subject of (account,
//! report) — JetStream stores one per subject, so the first valid claim wins and every
//! other keeper learns it lost; a verified liquidation naming this keeper's
//! liquidator is settled ([`Settlement`]): on the ledger itself through the settlement
//! crate's [`Settler`], or through the venue's verification service
//! (`POST /v1/settle`) for a liquidator the venue does not give its database.

use std::{future::Future, sync::Arc, time::Duration};

use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use zkmargin_settlement::{SettleError, SettleFailure, Settler};
use zkmargin_verifier::{Verdict, Verified, Verifier};

use crate::{
    bus::Bus,
    error::one_line,
    messages::{
        claim_key, proof_digest, statement_digest, Claim, FeedItem, Settled, MESSAGE_VERSION,
    },
    metrics::Metrics,
    now_ms, EngineError, Say,
};

/// What a keeper runs with.
#[derive(Clone)]
pub struct KeeperConfig {
    /// The bus.
    pub bus: Bus,
    /// The venue's id of this liquidator (credited by the liquidations it wins).
    pub liquidator: u64,
    /// The verifier this keeper trusts (the feed's bundles are verified with it).
    pub verifier: Arc<Verifier>,
    /// Where the liquidations this keeper wins are settled.
    pub settlement: Settlement,
    /// Bundles verified per batch (at most).
    pub batch: usize,
    /// Where lines go.
    pub say: Say,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// Runs the keeper until `shutdown` completes.
///
/// # Errors
/// [`EngineError`] when the consumer cannot be opened.
pub async fn run(
    config: KeeperConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), EngineError> {
    let names = &config.bus.names;
    let consumer = config
        .bus
        .consumer(
            &names.feed_stream(),
            &names.keeper_consumer(config.liquidator),
            &names.feed_filter(),
            -1,
        )
        .await?;
    let task = tokio::spawn(keeper_loop(Arc::new(config), consumer));
    shutdown.await;
    task.abort();
    Ok(())
}

async fn keeper_loop(
    config: Arc<KeeperConfig>,
    consumer: jetstream::consumer::Consumer<jetstream::consumer::pull::Config>,
) {
    loop {
        let batch = consumer
            .fetch()
            .max_messages(config.batch.max(1))
            .expires(Duration::from_millis(250))
            .messages()
            .await;
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => {
                (config.say)(format!(
                    "keeper: waiting for the feed: {}",
                    one_line(&e.to_string())
                ));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let mut messages = Vec::new();
        while let Some(m) = batch.next().await {
            match m {
                Ok(m) => messages.push(m),
                Err(e) => {
                    (config.say)(format!(
                        "keeper: feed consumer: {}",
                        one_line(&e.to_string())
                    ));
                    break;
                }
            }
        }
        if messages.is_empty() {
            continue;
        }
        process(&config, messages).await;
    }
}

async fn process(config: &Arc<KeeperConfig>, messages: Vec<jetstream::Message>) {
    let say = &config.say;
    let mut items = Vec::with_capacity(messages.len());
    for m in messages {
        match serde_json::from_slice::<FeedItem>(&m.payload) {
            Ok(item) if item.version == MESSAGE_VERSION => items.push((m, item)),
            Ok(item) => {
                say(format!(
                    "keeper: feed item of version {}, ignored",
                    item.version
                ));
                let _ = m.ack_with(AckKind::Term).await;
            }
            Err(e) => {
                say(format!(
                    "keeper: not a feed item, ignored: {}",
                    one_line(&e.to_string())
                ));
                let _ = m.ack_with(AckKind::Term).await;
            }
        }
    }
    let bundles: Vec<_> = items.iter().map(|(_, i)| i.bundle.clone()).collect();
    let verifier = config.verifier.clone();
    let verdicts =
        match tokio::task::spawn_blocking(move || verifier.verify_any_batch(&bundles)).await {
            Ok(v) => v,
            Err(e) => {
                say(format!("keeper: the verifier stopped: {e}"));
                return;
            }
        };
    for ((message, item), verdict) in items.into_iter().zip(verdicts) {
        let ack = match verdict {
            Err(e) => {
                config.metrics.bundles_rejected.inc();
                say(format!(
                    "keeper: bundle of job {} rejected ({}): {}",
                    item.job_id,
                    e.code(),
                    one_line(&e.to_string())
                ));
                AckKind::Term
            }
            Ok(Verified::Margin(Verdict::Breach(b))) if b.is_liquidatable() => {
                let claim = Claim {
                    version: MESSAGE_VERSION,
                    liquidator: config.liquidator,
                    commitment: b.commitment(),
                    report_digest: hex::encode(b.report_digest()),
                    breach_statement: hex::encode(statement_digest(&item.bundle)),
                    claimed_ms: now_ms(),
                    tick_ms: item.tick_ms,
                };
                let key = claim_key(
                    &b.commitment(),
                    &b.report_digest(),
                    &proof_digest(&item.bundle),
                );
                let value = serde_json::to_vec(&claim).unwrap_or_default();
                let msg_id = format!("{key}.l{}", config.liquidator);
                match config
                    .bus
                    .claim(&key, &msg_id, value.into(), Duration::from_secs(10))
                    .await
                {
                    Ok(true) => {
                        config.metrics.claims_won.inc();
                        AckKind::Ack
                    }
                    Ok(false) => {
                        config.metrics.claims_lost.inc();
                        AckKind::Ack
                    }
                    Err(e) => {
                        say(format!("keeper: claim {key} not recorded ({e}); retried"));
                        AckKind::Nak(Some(Duration::from_millis(500)))
                    }
                }
            }
            // A breach above the maintenance line, or a "meets": nothing to claim.
            Ok(Verified::Margin(_)) => AckKind::Ack,
            Ok(Verified::Liquidation(l)) => {
                if l.statement().liquidator != config.liquidator {
                    AckKind::Ack
                } else {
                    let statement = *l.statement();
                    let digest = l.statement_digest();
                    match config.settlement.settle(*l, &item.bundle).await {
                        Settle::Applied(summary) => {
                            config.metrics.settled.inc();
                            config
                                .metrics
                                .tick_to_settled
                                .observe(now_ms().saturating_sub(item.tick_ms) as f64 / 1e3);
                            say(format!("keeper {}: settled {summary}", config.liquidator));
                            announce(config, &statement, &digest).await
                        }
                        // Settled before (by this keeper, which stopped before it
                        // announced it): announce it now; the notice is deduplicated.
                        Settle::Replay => announce(config, &statement, &digest).await,
                        Settle::Retry(why) => {
                            say(format!("keeper: settlement {why}; retried"));
                            AckKind::Nak(Some(Duration::from_millis(500)))
                        }
                        Settle::Refused { code, message } => {
                            say(format!(
                                "keeper: the ledger refused the liquidation of job {} ({code}): {message}",
                                item.job_id
                            ));
                            AckKind::Term
                        }
                    }
                }
            }
        };
        if let Err(e) = message.ack_with(ack).await {
            say(format!(
                "keeper: acknowledging a feed item failed: {}",
                one_line(&e.to_string())
            ));
        }
    }
}

/// Where a keeper settles the liquidations it wins.
#[derive(Clone)]
pub enum Settlement {
    /// On the ledger itself (the keeper holds its URL): verified and applied in this
    /// process.
    Ledger(Settler),
    /// Through the venue's verification service: `POST {base}/v1/settle`, which
    /// verifies the bundle again and applies it (docs/openapi.yaml).
    Service {
        /// The service's base URL, `http://HOST:PORT` (no trailing slash).
        base: String,
        /// The HTTP client (30 s timeout per request).
        agent: ureq::Agent,
    },
}

/// What became of one settlement attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Applied now: a one-line summary (account, fee).
    Applied(String),
    /// Already applied (the statement digest is on the ledger): announce it anyway.
    Replay,
    /// The ledger or the service could not answer now (busy, unavailable, a timeout, a
    /// lost connection): try again; re-submitting is safe (a second apply is a replay).
    Retry(String),
    /// Refused for good (stale commitment, untrusted verifier, an invalid bundle, …).
    Refused {
        /// The stable error code.
        code: String,
        /// Its message, one line.
        message: String,
    },
}

impl Settlement {
    /// A service settlement at `base` (`http://HOST:PORT`).
    pub fn service(base: &str) -> Self {
        Self::Service {
            base: base.trim_end_matches('/').to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
        }
    }

    /// Where it settles, for the start-up line.
    pub fn describe(&self) -> String {
        match self {
            Self::Ledger(_) => "the ledger".into(),
            Self::Service { base, .. } => format!("{base}/v1/settle"),
        }
    }

    /// Settles `verified`, whose bundle is `bundle`.
    pub async fn settle(
        &self,
        verified: zkmargin_verifier::VerifiedLiquidation,
        bundle: &zkmargin_verifier::ProofBundle,
    ) -> Settle {
        match self {
            Self::Ledger(settler) => match settler.apply(verified).await {
                Ok(s) => Settle::Applied(format!(
                    "the liquidation of account {} (fee {})",
                    s.settled.account_id, s.settled.liquidator_fee
                )),
                Err(SettleFailure::Apply {
                    error: SettleError::Replay { .. },
                    ..
                }) => Settle::Replay,
                Err(SettleFailure::Apply {
                    error: e @ (SettleError::Busy | SettleError::Unavailable { .. }),
                    ..
                }) => Settle::Retry(format!("{}: {}", e.code(), one_line(&e.to_string()))),
                Err(e) => Settle::Refused {
                    code: e.code().to_string(),
                    message: one_line(&e.to_string()),
                },
            },
            Self::Service { base, agent } => {
                let body = match serde_json::to_vec(bundle) {
                    Ok(b) => b,
                    Err(e) => {
                        return Settle::Refused {
                            code: "invalid_bundle".into(),
                            message: e.to_string(),
                        }
                    }
                };
                let url = format!("{base}/v1/settle");
                let agent = agent.clone();
                tokio::task::spawn_blocking(move || post_settle(&agent, &url, &body))
                    .await
                    .unwrap_or_else(|e| Settle::Retry(format!("the HTTP task stopped: {e}")))
            }
        }
    }
}

/// One `POST /v1/settle`, mapped by status and error code: 200 applied; 409 `replay`
/// already applied; 408, 500 and 503 (and no answer at all) retried, as the service's
/// documentation says re-submitting is safe after them; every other status refused.
fn post_settle(agent: &ureq::Agent, url: &str, body: &[u8]) -> Settle {
    let answer = agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_bytes(body);
    let (status, response) = match answer {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(status, r)) => (status, r),
        Err(e) => return Settle::Retry(format!("{url}: {}", one_line(&e.to_string()))),
    };
    let text = response.into_string().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if status == 200 {
        let settled = &json["settled"];
        return Settle::Applied(format!(
            "the liquidation of account {} (fee {}) through {url}",
            settled["account_id"], settled["liquidator_fee"]
        ));
    }
    let code = json["error"]["code"]
        .as_str()
        .unwrap_or("no_error_code")
        .to_string();
    let message = json["error"]["message"]
        .as_str()
        .map_or_else(|| one_line(&text), one_line);
    match (status, code.as_str()) {
        (409, "replay") => Settle::Replay,
        (408 | 500 | 503, _) => Settle::Retry(format!("{url} answered {status} {code}: {message}")),
        _ => Settle::Refused {
            code: format!("{status} {code}"),
            message,
        },
    }
}

/// Publishes the [`Settled`] notice of a settled liquidation, so the engine moves the
/// account to its post-state. `Nats-Msg-Id` = the statement digest: a repeated notice is
/// stored once. Not published: the feed item is redelivered, the ledger answers
/// "replay", and the notice is tried again.
async fn announce(
    config: &Arc<KeeperConfig>,
    statement: &zkmargin_circuits::LiquidationPublic,
    digest: &[u8; 32],
) -> AckKind {
    let notice = Settled {
        version: MESSAGE_VERSION,
        liquidator: config.liquidator,
        statement_digest: hex::encode(digest),
        old_commitment: statement.old_commitment,
        new_commitment: statement.new_commitment,
        settled_ms: now_ms(),
    };
    let payload = serde_json::to_vec(&notice).unwrap_or_default();
    let subject = config
        .bus
        .names
        .settled_subject(&statement.new_commitment.to_hex());
    match config
        .bus
        .publish_dedup(
            &subject,
            &notice.statement_digest,
            payload.into(),
            Duration::from_secs(10),
        )
        .await
    {
        Ok(_) => AckKind::Ack,
        Err(e) => {
            (config.say)(format!(
                "keeper: settled, but the notice was not published ({e}); retried"
            ));
            AckKind::Nak(Some(Duration::from_millis(500)))
        }
    }
}
