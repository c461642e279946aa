//! Recomputing the ledger from its event log and comparing with the tables.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::{
    db::commitment_from_hex,
    events::{self, Event, EventKind},
    ledger::{liquidation_from_row, LIQUIDATION_COLUMNS},
    Backend, Ledger, SettleError,
};

/// Events read per query while checking.
const PAGE: i64 = 5_000;

/// The genesis value of the event chain.
pub(crate) const CHAIN_GENESIS: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// What [`Ledger::check_invariants`] verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvariantReport {
    /// Events replayed.
    pub events: u64,
    /// Accounts whose commitment and nonce match the log.
    pub accounts: u64,
    /// Liquidations whose rows match their events.
    pub liquidations: u64,
    /// The fund balance, equal to the sum of its events.
    pub fund_balance: u64,
    /// The sum of liquidator credits, each equal to the sum of its events.
    pub total_credits: u64,
    /// The sum of socialized losses.
    pub total_socialized: u64,
    /// The last event's chain hash.
    pub chain_head: String,
}

/// A violated invariant.
fn violated(msg: String) -> SettleError {
    SettleError::InvariantViolated(msg)
}

impl Ledger {
    /// Replays the whole event log in one consistent snapshot and checks, failing on
    /// the first violation:
    ///
    /// - the log is gapless from seq 1, its hash chain is intact and ends at the
    ///   recorded head (nothing edited, removed or truncated);
    /// - the insurance fund's balance equals the sum of its events (deposits + fees −
    ///   deficits paid) and never went negative;
    /// - every liquidator's credit equals the sum of its credit events, and no credit
    ///   exists without events;
    /// - every account's commitment and nonce are what its events lead to, and every
    ///   move started from the commitment current at that point;
    /// - every applied liquidation has exactly its events (fees, deficit paid,
    ///   socialized) with matching amounts, `deficit = fund_paid + socialized`, and
    ///   the socialized-loss table matches.
    ///
    /// # Errors
    /// [`SettleError::InvariantViolated`] naming the first violation; database errors.
    pub async fn check_invariants(&self) -> Result<InvariantReport, SettleError> {
        let mut tx = match self.backend() {
            // A deferred read transaction: one WAL snapshot from its first read.
            Backend::Sqlite => self.pool().begin().await?,
            Backend::Postgres => {
                self.pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        };

        // Replay the log.
        let mut head = CHAIN_GENESIS.to_owned();
        let mut count = 0u64;
        let mut fund: i128 = 0;
        let mut credits: BTreeMap<u64, i128> = BTreeMap::new();
        let mut accounts: BTreeMap<u64, (String, u64)> = BTreeMap::new();
        let mut by_statement: BTreeMap<String, Vec<Event>> = BTreeMap::new();
        loop {
            let page = sqlx::query(&format!(
                "SELECT {} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                events::EVENT_COLUMNS
            ))
            .bind(count as i64)
            .bind(PAGE)
            .fetch_all(&mut *tx)
            .await?;
            if page.is_empty() {
                break;
            }
            for row in &page {
                let e = events::from_row(row)?;
                count += 1;
                if e.seq != count {
                    return Err(violated(format!(
                        "event log has a gap: expected seq {count}, found {}",
                        e.seq
                    )));
                }
                let hash = e.recompute_hash(&head);
                if hash != e.hash {
                    return Err(violated(format!(
                        "event {} does not match its chain hash (edited or reordered)",
                        e.seq
                    )));
                }
                head = hash;
                replay(&e, &mut fund, &mut credits, &mut accounts)?;
                if let Some(d) = &e.statement_digest {
                    by_statement.entry(d.clone()).or_default().push(e);
                }
            }
        }
        let meta =
            sqlx::query("SELECT next_event_seq, event_chain_head FROM ledger_meta WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        let next: i64 = meta.try_get(0)?;
        let recorded_head: String = meta.try_get(1)?;
        if next as u64 != count + 1 || recorded_head != head {
            return Err(violated(format!(
                "event log ends at seq {count} but the ledger recorded {} events (log truncated or head moved)",
                next - 1
            )));
        }

        // The insurance fund.
        let balance: i64 = sqlx::query("SELECT balance FROM insurance_fund WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if i128::from(balance) != fund {
            return Err(violated(format!(
                "insurance fund balance {balance} differs from the sum of its events {fund}"
            )));
        }

        // Liquidator credits.
        let rows = sqlx::query("SELECT liquidator, balance FROM liquidator_credits")
            .fetch_all(&mut *tx)
            .await?;
        let mut total_credits: i128 = 0;
        let mut seen = BTreeSet::new();
        for row in rows {
            let id: i64 = row.try_get(0)?;
            let bal: i64 = row.try_get(1)?;
            let expected = credits.get(&(id as u64)).copied();
            if expected != Some(i128::from(bal)) {
                return Err(violated(format!(
                    "liquidator {id} has credit {bal}, its events sum to {}",
                    expected.unwrap_or(0)
                )));
            }
            total_credits += i128::from(bal);
            seen.insert(id as u64);
        }
        if let Some(id) = credits.keys().find(|id| !seen.contains(id)) {
            return Err(violated(format!(
                "liquidator {id} has credit events but no credit row"
            )));
        }

        // Accounts.
        let rows = sqlx::query("SELECT id, commitment, nonce FROM accounts")
            .fetch_all(&mut *tx)
            .await?;
        if rows.len() != accounts.len() {
            return Err(violated(format!(
                "{} accounts in the table, {} in the event log",
                rows.len(),
                accounts.len()
            )));
        }
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let commitment: String = row.try_get(1)?;
            let nonce: i64 = row.try_get(2)?;
            match accounts.get(&(id as u64)) {
                Some((c, n)) if *c == commitment && *n == nonce as u64 => {}
                Some((c, n)) => {
                    return Err(violated(format!(
                        "account {id} is at ({commitment}, nonce {nonce}), its events lead to ({c}, nonce {n})"
                    )))
                }
                None => return Err(violated(format!("account {id} has no registration event"))),
            }
        }

        // Liquidations against their events.
        let rows = sqlx::query(&format!(
            "SELECT {LIQUIDATION_COLUMNS} FROM applied_liquidations"
        ))
        .fetch_all(&mut *tx)
        .await?;
        let socialized_rows = sqlx::query("SELECT statement_digest, amount FROM socialized_losses")
            .fetch_all(&mut *tx)
            .await?;
        let mut socialized_table = BTreeMap::new();
        let mut total_socialized: i128 = 0;
        for row in socialized_rows {
            let d: String = row.try_get(0)?;
            let amount: i64 = row.try_get(1)?;
            total_socialized += i128::from(amount);
            socialized_table.insert(d, amount as u64);
        }
        let mut liquidations = 0u64;
        for row in &rows {
            let l = liquidation_from_row(row)?;
            let d = &l.statement_digest;
            let evs = by_statement.remove(d).unwrap_or_default();
            let sum = |k: EventKind| -> (usize, i128) {
                let xs: Vec<_> = evs.iter().filter(|e| e.kind == k).collect();
                (xs.len(), xs.iter().map(|e| i128::from(e.amount)).sum())
            };
            let expect = |k: EventKind, amount: u64, optional: bool| -> Result<(), SettleError> {
                let (n, total) = sum(k);
                let ok = if optional && amount == 0 {
                    n == 0
                } else {
                    n == 1 && total.unsigned_abs() == u128::from(amount)
                };
                if ok {
                    Ok(())
                } else {
                    Err(violated(format!(
                        "liquidation {d}: {n} {k} events summing to {total}, expected {amount}"
                    )))
                }
            };
            expect(EventKind::LiquidationApplied, l.terms.penalty, false)?;
            // The row's provenance is what its (hash-chained) event recorded.
            if let Some(e) = evs.iter().find(|e| e.kind == EventKind::LiquidationApplied) {
                let recorded = [
                    ("old_commitment", json!(l.old_commitment)),
                    ("new_commitment", json!(l.new_commitment)),
                    ("nonce", json!(l.account_nonce)),
                    ("risk_params_digest", json!(l.risk_params_digest)),
                    ("report_digest", json!(l.report_digest)),
                    ("report_observed_at", json!(l.report_observed_at)),
                    ("oracle_config_digest", json!(l.oracle_config_digest)),
                    ("key_fingerprint", json!(l.key_fingerprint)),
                ];
                if let Some((name, _)) = recorded
                    .iter()
                    .find(|(name, value)| e.payload.get(name) != Some(value))
                {
                    return Err(violated(format!(
                        "liquidation {d}: {name} differs from its liquidation_applied event {}",
                        e.seq
                    )));
                }
            }
            expect(EventKind::LiquidatorCredited, l.terms.liquidator_fee, false)?;
            expect(EventKind::InsuranceFee, l.terms.insurance_fee, false)?;
            expect(EventKind::DeficitCovered, l.fund_paid, true)?;
            expect(EventKind::LossSocialized, l.socialized, true)?;
            if l.deficit != l.fund_paid + l.socialized {
                return Err(violated(format!(
                    "liquidation {d}: deficit {} ≠ fund paid {} + socialized {}",
                    l.deficit, l.fund_paid, l.socialized
                )));
            }
            let recorded = socialized_table.remove(d).unwrap_or(0);
            if recorded != l.socialized {
                return Err(violated(format!(
                    "liquidation {d}: socialized {} but the loss table records {recorded}",
                    l.socialized
                )));
            }
            liquidations += 1;
        }
        if let Some(d) = by_statement.keys().next() {
            return Err(violated(format!(
                "events name liquidation {d}, which is not recorded"
            )));
        }
        if let Some(d) = socialized_table.keys().next() {
            return Err(violated(format!(
                "socialized loss for {d}, which is not a recorded liquidation"
            )));
        }
        tx.rollback().await?;
        Ok(InvariantReport {
            events: count,
            accounts: accounts.len() as u64,
            liquidations,
            fund_balance: balance as u64,
            total_credits: total_credits as u64,
            total_socialized: total_socialized as u64,
            chain_head: head,
        })
    }
}

/// Applies one event to the replayed state.
fn replay(
    e: &Event,
    fund: &mut i128,
    credits: &mut BTreeMap<u64, i128>,
    accounts: &mut BTreeMap<u64, (String, u64)>,
) -> Result<(), SettleError> {
    let field = |name: &str| -> Result<String, SettleError> {
        e.payload
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| violated(format!("event {} has no {name}", e.seq)))
    };
    let account = || {
        e.account_id
            .ok_or_else(|| violated(format!("event {} names no account", e.seq)))
    };
    if e.kind.moves_fund() {
        *fund += i128::from(e.amount);
        if *fund < 0 {
            return Err(violated(format!(
                "insurance fund negative after event {}",
                e.seq
            )));
        }
    }
    match e.kind {
        EventKind::AccountRegistered => {
            let id = account()?;
            let c = field("commitment")?;
            commitment_from_hex(&c)?;
            if accounts.insert(id, (c, 0)).is_some() {
                return Err(violated(format!(
                    "account {id} registered twice (event {})",
                    e.seq
                )));
            }
        }
        EventKind::CommitmentReplaced | EventKind::LiquidationApplied => {
            let id = account()?;
            let (old, new) = (field("old_commitment")?, field("new_commitment")?);
            let entry = accounts.get_mut(&id).ok_or_else(|| {
                violated(format!("event {} moves unregistered account {id}", e.seq))
            })?;
            if entry.0 != old {
                return Err(violated(format!(
                    "event {} moves account {id} from {old}, but it was at {}",
                    e.seq, entry.0
                )));
            }
            *entry = (new, entry.1 + 1);
        }
        EventKind::LiquidatorCredited => {
            let id = e
                .liquidator
                .ok_or_else(|| violated(format!("event {} names no liquidator", e.seq)))?;
            *credits.entry(id).or_default() += i128::from(e.amount);
        }
        EventKind::InsuranceFee
        | EventKind::FundDeposit
        | EventKind::DeficitCovered
        | EventKind::LossSocialized
        | EventKind::TrustPinned => {}
    }
    Ok(())
}
