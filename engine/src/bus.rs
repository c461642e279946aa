//! The NATS side: connecting, the streams, and consumers every role shares
//! (created by whichever role starts first, with one configuration), and publishing
//! with deduplication until JetStream acknowledges.

use std::time::Duration;

use async_nats::{
    jetstream::{
        self,
        consumer::{pull, AckPolicy, DeliverPolicy},
        context::PublishErrorKind,
        stream::{Config as StreamConfig, RetentionPolicy, StorageType},
        Context,
    },
    Client, HeaderMap,
};
use bytes::Bytes;

use crate::{error::one_line, names::Names, EngineError};

/// Timings of the streams and consumers (the defaults suit production; tests shorten
/// `ack_wait`).
#[derive(Debug, Clone, Copy)]
pub struct BusSettings {
    /// How long a pulled job (or report, or feed item) may stay unacknowledged before
    /// JetStream redelivers it. A worker killed mid-proof has its job redelivered
    /// after this. Default 30 s; it must exceed one proof's time.
    pub ack_wait: Duration,
    /// JetStream's duplicate window on the jobs and feed streams: two publishes with one
    /// `Nats-Msg-Id` within it are stored once. Default 10 min: longer than any
    /// redelivery chain (`ack_wait` × `max_deliver`) and an engine restart.
    pub duplicate_window: Duration,
    /// Deliveries of one job before JetStream gives up on it. Default 10.
    pub max_deliver: i64,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            ack_wait: Duration::from_secs(30),
            duplicate_window: Duration::from_secs(600),
            max_deliver: 10,
        }
    }
}

/// A connection with the names and settings every role uses.
#[derive(Debug, Clone)]
pub struct Bus {
    /// The core client.
    pub client: Client,
    /// JetStream.
    pub js: Context,
    /// Names under the prefix.
    pub names: Names,
    /// Timings.
    pub settings: BusSettings,
}

impl Bus {
    /// Connects to `url` (reconnecting forever after the first connection) and makes
    /// sure the streams exist.
    ///
    /// # Errors
    /// [`EngineError::Nats`] when the server cannot be reached within 10 s, or refuses
    /// a stream's configuration (e.g. a server without JetStream: run `nats-server -js`).
    pub async fn connect(
        url: &str,
        names: Names,
        settings: BusSettings,
        client_name: &str,
    ) -> Result<Self, EngineError> {
        let client = async_nats::ConnectOptions::new()
            .name(client_name)
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| EngineError::nats(format!("cannot connect to {url}"), e))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(Duration::from_secs(5));
        let bus = Self {
            client,
            js,
            names,
            settings,
        };
        bus.ensure().await?;
        Ok(bus)
    }

    async fn ensure(&self) -> Result<(), EngineError> {
        let n = &self.names;
        let streams = [
            StreamConfig {
                name: n.reports_stream(),
                subjects: vec![n.reports_subject()],
                max_age: Duration::from_secs(24 * 3600),
                duplicate_window: self.settings.duplicate_window,
                storage: StorageType::File,
                ..Default::default()
            },
            StreamConfig {
                name: n.jobs_stream(),
                subjects: vec![n.jobs_filter()],
                retention: RetentionPolicy::WorkQueue,
                duplicate_window: self.settings.duplicate_window,
                storage: StorageType::File,
                ..Default::default()
            },
            StreamConfig {
                name: n.feed_stream(),
                subjects: vec![n.feed_filter()],
                max_age: Duration::from_secs(24 * 3600),
                duplicate_window: self.settings.duplicate_window,
                storage: StorageType::File,
                ..Default::default()
            },
            StreamConfig {
                name: n.claims_stream(),
                subjects: vec![n.claims_filter()],
                // One claim per (account, report): the server refuses a second
                // (`Nats-Expected-Last-Subject-Sequence: 0`), and never drops the first.
                max_messages_per_subject: 1,
                max_age: Duration::from_secs(24 * 3600),
                duplicate_window: self.settings.duplicate_window,
                storage: StorageType::File,
                ..Default::default()
            },
            StreamConfig {
                name: n.settled_stream(),
                subjects: vec![n.settled_filter()],
                max_age: Duration::from_secs(24 * 3600),
                duplicate_window: self.settings.duplicate_window,
                storage: StorageType::File,
                ..Default::default()
            },
            StreamConfig {
                name: n.warnings_stream(),
                subjects: vec![n.warnings_filter()],
                max_age: Duration::from_secs(24 * 3600),
                duplicate_window: self.settings.duplicate_window,
                storage: StorageType::File,
                ..Default::default()
            },
        ];
        for config in streams {
            let name = config.name.clone();
            self.js.get_or_create_stream(config).await.map_err(|e| {
                EngineError::nats(
                    format!(
                        "cannot create stream {name} (is JetStream enabled? `nats-server -js`)"
                    ),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Claims `key` for `payload`: publishes on the key's claim subject only if no
    /// message was ever stored there (`Nats-Expected-Last-Subject-Sequence: 0`; the
    /// server decides, atomically). `Ok(true)`: this claim is the first and wins;
    /// `Ok(false)`: another claim was first. Retried across a NATS restart; a retry of
    /// a claim that was in fact stored is recognized by its `Nats-Msg-Id`.
    ///
    /// # Errors
    /// [`EngineError::Nats`] after `give_up`.
    pub async fn claim(
        &self,
        key: &str,
        msg_id: &str,
        payload: Bytes,
        give_up: Duration,
    ) -> Result<bool, EngineError> {
        let subject = self.names.claim_subject(key);
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(50);
        loop {
            let mut headers = HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
            headers.insert(async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, "0");
            let attempt = async {
                self.js
                    .publish_with_headers(subject.clone(), headers, payload.clone())
                    .await?
                    .await
            };
            match attempt.await {
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => return Ok(false),
                Err(e) => {
                    if started.elapsed() > give_up {
                        return Err(EngineError::nats(format!("claiming {key}"), e));
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// The durable pull consumer `name` on `stream`, filtered to `filter`.
    ///
    /// # Errors
    /// [`EngineError::Nats`].
    pub async fn consumer(
        &self,
        stream: &str,
        name: &str,
        filter: &str,
        max_ack_pending: i64,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, EngineError> {
        let s = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| EngineError::nats(format!("cannot open stream {stream}"), e))?;
        s.get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_string()),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ack_wait: self.settings.ack_wait,
                max_deliver: self.settings.max_deliver,
                filter_subject: filter.to_string(),
                max_ack_pending,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| EngineError::nats(format!("cannot create consumer {name} on {stream}"), e))
    }

    /// Publishes `payload` on `subject` with `Nats-Msg-Id: msg_id`, retrying (across a
    /// NATS restart) until JetStream acknowledges or `give_up` passes. Returns whether
    /// JetStream reported the message a duplicate (already stored in the window).
    ///
    /// # Errors
    /// [`EngineError::Nats`] after `give_up`.
    pub async fn publish_dedup(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
        give_up: Duration,
    ) -> Result<bool, EngineError> {
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(50);
        loop {
            let mut headers = HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
            let attempt = async {
                self.js
                    .publish_with_headers(subject.to_string(), headers, payload.clone())
                    .await
                    .map_err(|e| one_line(&e.to_string()))?
                    .await
                    .map_err(|e| one_line(&e.to_string()))
            };
            match attempt.await {
                Ok(ack) => return Ok(ack.duplicate),
                Err(reason) => {
                    if started.elapsed() > give_up {
                        return Err(EngineError::Nats {
                            what: format!("publishing on {subject}"),
                            reason,
                        });
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}
