//! The append-only event log: every movement of money and every commitment change.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{db::to_i64, SettleError};

/// What an event records. The meaning of its signed `amount` is per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An account entered the ledger (amount 0; payload: commitment).
    AccountRegistered,
    /// The operator replaced an account's commitment (amount 0; payload: old, new).
    CommitmentReplaced,
    /// A verified liquidation moved an account (amount: the penalty; payload: the
    /// action, terms, commitments, oracle report).
    LiquidationApplied,
    /// A liquidator was credited its share of the penalty (amount > 0 or 0).
    LiquidatorCredited,
    /// The insurance fund received its share of a penalty (amount ≥ 0).
    InsuranceFee,
    /// The operator capitalized the insurance fund (amount > 0).
    FundDeposit,
    /// The insurance fund paid (part of) a deficit (amount < 0: leaves the fund).
    DeficitCovered,
    /// The part of a deficit the fund could not pay (amount > 0; not a fund movement).
    LossSocialized,
    /// The operator pinned or rotated the trust (amount 0; payload: the previous pin,
    /// `null` the first time, and the new one).
    TrustPinned,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 9] = [
        EventKind::AccountRegistered,
        EventKind::CommitmentReplaced,
        EventKind::LiquidationApplied,
        EventKind::LiquidatorCredited,
        EventKind::InsuranceFee,
        EventKind::FundDeposit,
        EventKind::DeficitCovered,
        EventKind::LossSocialized,
        EventKind::TrustPinned,
    ];

    /// The stored name (`snake_case`).
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::AccountRegistered => "account_registered",
            EventKind::CommitmentReplaced => "commitment_replaced",
            EventKind::LiquidationApplied => "liquidation_applied",
            EventKind::LiquidatorCredited => "liquidator_credited",
            EventKind::InsuranceFee => "insurance_fee",
            EventKind::FundDeposit => "fund_deposit",
            EventKind::DeficitCovered => "deficit_covered",
            EventKind::LossSocialized => "loss_socialized",
            EventKind::TrustPinned => "trust_pinned",
        }
    }

    /// Whether the event moves the insurance fund by its `amount`.
    pub fn moves_fund(&self) -> bool {
        matches!(
            self,
            EventKind::InsuranceFee | EventKind::FundDeposit | EventKind::DeficitCovered
        )
    }

    fn parse(s: &str) -> Result<Self, SettleError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| SettleError::Corrupt(format!("unknown event kind {s:?}")))
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// What happened.
    pub kind: EventKind,
    /// The account concerned, if any.
    pub account_id: Option<u64>,
    /// The liquidator concerned, if any.
    pub liquidator: Option<u64>,
    /// The liquidation's statement digest (hex), if any.
    pub statement_digest: Option<String>,
    /// Signed quote units; see [`EventKind`].
    pub amount: i64,
    /// Details (JSON).
    pub payload: serde_json::Value,
    /// Unix seconds.
    pub created_at: u64,
    /// SHA-256 chaining this event to the previous one (hex).
    pub hash: String,
    /// The payload text exactly as stored (the hash covers it).
    #[serde(skip)]
    pub(crate) payload_text: String,
}

/// An event about to be appended.
pub(crate) struct NewEvent {
    pub kind: EventKind,
    pub account_id: Option<u64>,
    pub liquidator: Option<u64>,
    pub statement_digest: Option<String>,
    pub amount: i64,
    pub payload: serde_json::Value,
}

/// The fields an event's chain hash covers.
pub(crate) struct Hashed<'a> {
    pub seq: u64,
    pub kind: EventKind,
    pub account_id: Option<u64>,
    pub liquidator: Option<u64>,
    pub statement_digest: Option<&'a str>,
    pub amount: i64,
    /// The payload exactly as stored.
    pub payload: &'a str,
    pub created_at: u64,
}

impl Hashed<'_> {
    /// SHA-256 over a domain tag, the previous hash and every field, each
    /// length-prefixed or fixed-width (hex).
    pub(crate) fn chain_hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        let field = |h: &mut Sha256, bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        let opt = |h: &mut Sha256, x: Option<u64>| match x {
            Some(v) => {
                h.update([1]);
                h.update(v.to_be_bytes());
            }
            None => h.update([0]),
        };
        field(&mut h, b"zkmargin/ledger-event/v1");
        field(&mut h, prev.as_bytes());
        h.update(self.seq.to_be_bytes());
        field(&mut h, self.kind.as_str().as_bytes());
        opt(&mut h, self.account_id);
        opt(&mut h, self.liquidator);
        match self.statement_digest {
            Some(d) => {
                h.update([1]);
                field(&mut h, d.as_bytes());
            }
            None => h.update([0]),
        }
        h.update(self.amount.to_be_bytes());
        field(&mut h, self.payload.as_bytes());
        h.update(self.created_at.to_be_bytes());
        hex::encode(h.finalize())
    }
}

/// Appends `events` inside the caller's write transaction (which holds the writer
/// lock, so `next_event_seq` and the chain head cannot move under us). Returns the
/// first and last sequence numbers written.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    now: i64,
    events: &[NewEvent],
) -> Result<(u64, u64), SettleError> {
    let row = sqlx::query("SELECT next_event_seq, event_chain_head FROM ledger_meta WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let next: i64 = row.try_get(0)?;
    let mut head: String = row.try_get(1)?;
    let first = next as u64;
    let mut seq = first;
    for e in events {
        let payload = e.payload.to_string();
        let hash = Hashed {
            seq,
            kind: e.kind,
            account_id: e.account_id,
            liquidator: e.liquidator,
            statement_digest: e.statement_digest.as_deref(),
            amount: e.amount,
            payload: &payload,
            created_at: now as u64,
        }
        .chain_hash(&head);
        sqlx::query(
            "INSERT INTO events (seq, kind, account_id, liquidator, statement_digest, amount, payload, created_at, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(to_i64("event sequence number", seq)?)
        .bind(e.kind.as_str())
        .bind(e.account_id.map(|v| to_i64("account id", v)).transpose()?)
        .bind(e.liquidator.map(|v| to_i64("liquidator id", v)).transpose()?)
        .bind(e.statement_digest.clone())
        .bind(e.amount)
        .bind(payload)
        .bind(now)
        .bind(hash.clone())
        .execute(&mut *conn)
        .await?;
        head = hash;
        seq = seq
            .checked_add(1)
            .ok_or(SettleError::Overflow("event sequence"))?;
    }
    sqlx::query("UPDATE ledger_meta SET next_event_seq = $1, event_chain_head = $2 WHERE id = 1")
        .bind(to_i64("event sequence number", seq)?)
        .bind(head)
        .execute(&mut *conn)
        .await?;
    Ok((first, seq - 1))
}

/// The columns [`from_row`] reads, in order.
pub(crate) const EVENT_COLUMNS: &str =
    "seq, kind, account_id, liquidator, statement_digest, amount, payload, created_at, hash";

/// Decodes a row selected with [`EVENT_COLUMNS`].
pub(crate) fn from_row(row: &AnyRow) -> Result<Event, SettleError> {
    let opt_u64 = |i: usize| -> Result<Option<u64>, SettleError> {
        let v: Option<i64> = row.try_get(i)?;
        v.map(|x| u64::try_from(x).map_err(|_| SettleError::Corrupt(format!("negative id {x}"))))
            .transpose()
    };
    let seq: i64 = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let payload: String = row.try_get(6)?;
    let created_at: i64 = row.try_get(7)?;
    Ok(Event {
        seq: u64::try_from(seq).map_err(|_| SettleError::Corrupt(format!("event seq {seq}")))?,
        kind: EventKind::parse(&kind)?,
        account_id: opt_u64(2)?,
        liquidator: opt_u64(3)?,
        statement_digest: row.try_get(4)?,
        amount: row.try_get(5)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| SettleError::Corrupt(format!("event {seq} payload: {e}")))?,
        created_at: created_at as u64,
        hash: row.try_get(8)?,
        payload_text: payload,
    })
}

impl Event {
    /// Recomputes this event's chain hash from `prev` and its stored fields.
    pub(crate) fn recompute_hash(&self, prev: &str) -> String {
        Hashed {
            seq: self.seq,
            kind: self.kind,
            account_id: self.account_id,
            liquidator: self.liquidator,
            statement_digest: self.statement_digest.as_deref(),
            amount: self.amount,
            payload: &self.payload_text,
            created_at: self.created_at,
        }
        .chain_hash(prev)
    }
}
