//! `zkmargin keeper`: a liquidator's bot. Its own durable consumer of the public feed;
//! bundles verified in batches ([`Verifier::verify_any_batch`]); a verified,
//! liquidatable breach is claimed by publishing the first message on the claim subject of (account,
//! report) — JetStream stores one per subject, so the first valid claim wins and every
//! other keeper learns it lost; a verified liquidation naming this keeper's
//! liquidator is settled through the settlement crate's [`Settler`].

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
    /// The settler: the verifier this keeper trusts and the ledger it settles on.
    pub settler: Settler,
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
    let verifier: Arc<Verifier> = config.settler.verifier().clone();
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
                    match config.settler.apply(*l).await {
                        Ok(s) => {
                            config.metrics.settled.inc();
                            config
                                .metrics
                                .tick_to_settled
                                .observe(now_ms().saturating_sub(item.tick_ms) as f64 / 1e3);
                            say(format!(
                                "keeper {}: settled the liquidation of account {} (fee {})",
                                config.liquidator, s.settled.account_id, s.settled.liquidator_fee
                            ));
                            announce(config, &statement, &digest).await
                        }
                        // Settled before (by this keeper, which stopped before it
                        // announced it): announce it now; the notice is deduplicated.
                        Err(SettleFailure::Apply {
                            error: SettleError::Replay { .. },
                            ..
                        }) => announce(config, &statement, &digest).await,
                        Err(SettleFailure::Apply {
                            error: e @ (SettleError::Busy | SettleError::Unavailable { .. }),
                            ..
                        }) => {
                            say(format!(
                                "keeper: ledger {} ({}); retried",
                                e.code(),
                                one_line(&e.to_string())
                            ));
                            AckKind::Nak(Some(Duration::from_millis(500)))
                        }
                        Err(e) => {
                            say(format!(
                                "keeper: the ledger refused the liquidation of job {} ({}): {}",
                                item.job_id,
                                e.code(),
                                one_line(&e.to_string())
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
