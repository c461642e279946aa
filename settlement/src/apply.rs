//! Applying a verified liquidation: one transaction, all or nothing.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use zkmargin_circuits::{Commitment, LiquidationAction, LiquidationPublic, LiquidationTerms};
use zkmargin_verifier::VerifiedLiquidation;

use crate::{
    db::{fund_balance, in_use, now, set_fund_balance, to_i64},
    error::is_unique_violation,
    events::{self, EventKind, NewEvent},
    fault::{self, FaultPoint},
    Ledger, SettleError,
};

/// What the ledger needs of a verified liquidation. Crate-private: the only way in
/// from outside is a `VerifiedLiquidation`, which only the verifier constructs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiquidationFacts {
    /// `statement.digest()`: the replay key.
    pub statement_digest: [u8; 32],
    pub old_commitment: Commitment,
    pub new_commitment: Commitment,
    pub liquidator: u64,
    pub action: LiquidationAction,
    pub terms: LiquidationTerms,
    pub deficit: u64,
    pub risk_params_digest: [u8; 32],
    pub report_digest: [u8; 32],
    pub report_observed_at: u64,
    /// The oracle configuration (committee, quorum, freshness) that accepted the report.
    pub oracle_config_digest: [u8; 32],
    /// The liquidation verifying key's fingerprint (SHA-256 of the key file, hex).
    pub key_fingerprint: String,
}

impl LiquidationFacts {
    /// The record of a statement verified under the given parameters and report, by
    /// the given oracle configuration and verifying key.
    pub(crate) fn from_statement(
        statement: &LiquidationPublic,
        risk_params_digest: [u8; 32],
        report_digest: [u8; 32],
        report_observed_at: u64,
        oracle_config_digest: [u8; 32],
        key_fingerprint: &str,
    ) -> Self {
        Self {
            statement_digest: statement.digest(),
            old_commitment: statement.old_commitment,
            new_commitment: statement.new_commitment,
            liquidator: statement.liquidator,
            action: statement.action,
            terms: statement.terms,
            deficit: statement.deficit,
            risk_params_digest,
            report_digest,
            report_observed_at,
            oracle_config_digest,
            key_fingerprint: key_fingerprint.to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------
// The verifier's `VerifiedLiquidation` enters here and only here: it is the one way in.

impl From<&VerifiedLiquidation> for LiquidationFacts {
    fn from(v: &VerifiedLiquidation) -> Self {
        let record = Self::from_statement(
            v.statement(),
            v.risk_params_digest(),
            v.report_digest(),
            v.report_observed_at(),
            v.oracle_config_digest(),
            v.key_fingerprint(),
        );
        debug_assert_eq!(record.statement_digest, v.statement_digest());
        record
    }
}

impl Ledger {
    /// Applies a verified liquidation atomically (see `apply_record`): the old
    /// commitment must be the account's current one and the statement must not have
    /// been applied; then the account moves, fees are credited, a deficit is paid by
    /// the fund and the rest socialized, each movement logged.
    ///
    /// # Errors
    /// [`SettleError::Replay`], [`SettleError::StaleCommitment`], and the database
    /// errors of [`SettleError`].
    pub async fn apply(&self, transition: &VerifiedLiquidation) -> Result<Applied, SettleError> {
        self.apply_record(&LiquidationFacts::from(transition)).await
    }
}

// ---------------------------------------------------------------------------------

/// What applying a liquidation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Statement digest (hex).
    pub statement_digest: String,
    /// The liquidated account.
    pub account_id: u64,
    /// Its ledger nonce afterwards.
    pub account_nonce: u64,
    /// Its commitment afterwards.
    pub new_commitment: Commitment,
    /// The credited liquidator.
    pub liquidator: u64,
    /// Credited to the liquidator.
    pub liquidator_fee: u64,
    /// Credited to the insurance fund.
    pub insurance_fee: u64,
    /// The account's unpaid debt.
    pub deficit: u64,
    /// Part of the deficit the fund paid.
    pub fund_paid: u64,
    /// Part of the deficit recorded as socialized loss.
    pub socialized: u64,
    /// The fund's balance afterwards.
    pub fund_balance: u64,
    /// The liquidator's credit afterwards.
    pub liquidator_balance: u64,
    /// Sequence numbers of the events written, first..=last.
    pub events: (u64, u64),
}

impl Ledger {
    /// Applies a liquidation in one transaction under the writer lock:
    ///
    /// 0. it must be verified under the pinned trust ([`SettleError::TrustNotPinned`],
    ///    [`SettleError::UntrustedVerifier`]);
    /// 1. the statement digest must not be applied yet ([`SettleError::Replay`]);
    /// 2. the old commitment must be some account's current one
    ///    ([`SettleError::StaleCommitment`]), and the report must not be older than
    ///    the newest one a liquidation of that account was applied at
    ///    ([`SettleError::StaleReport`]);
    /// 3. that account moves to the new commitment, nonce + 1;
    /// 4. the liquidation is recorded;
    /// 5. the liquidator is credited the liquidator fee, the fund the insurance fee;
    /// 6. a deficit is paid by the fund as far as its balance (fee included) goes, and
    ///    the rest is recorded as socialized loss;
    /// 7. one event per movement is appended; commit.
    ///
    /// Any error rolls everything back. Crate-private: the way in from outside is
    /// [`Ledger::apply`], which takes a `VerifiedLiquidation`.
    pub(crate) async fn apply_record(&self, r: &LiquidationFacts) -> Result<Applied, SettleError> {
        let digest = hex::encode(r.statement_digest);
        let old = r.old_commitment.to_hex();
        // Range checks before anything is written. Fees are < 2^62 by the encoder.
        let liquidator = to_i64("liquidator id", r.liquidator)?;
        let execution_value = to_i64("execution value", r.terms.execution_value)?;
        let penalty = to_i64("penalty", r.terms.penalty)?;
        let insurance_fee = to_i64("insurance fee", r.terms.insurance_fee)?;
        let liquidator_fee = to_i64("liquidator fee", r.terms.liquidator_fee)?;
        let deficit = to_i64("deficit", r.deficit)?;
        let observed_at = to_i64("report time", r.report_observed_at)?;
        let now = now();

        let mut tx = self.begin_write().await?;

        // Trust: only under the key, committee and parameters the operator pinned.
        crate::trust::check(
            &mut tx,
            &r.key_fingerprint,
            &r.oracle_config_digest,
            &r.risk_params_digest,
        )
        .await?;

        // Replay: keyed on the statement, so a re-randomized proof is the same key.
        let applied = sqlx::query("SELECT 1 FROM applied_liquidations WHERE statement_digest = $1")
            .bind(&digest)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if applied {
            return Err(SettleError::Replay {
                statement_digest: digest,
            });
        }

        // Freshness: the old commitment is the account's current one.
        let row = sqlx::query("SELECT id, nonce FROM accounts WHERE commitment = $1")
            .bind(&old)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| SettleError::StaleCommitment {
                commitment: old.clone(),
            })?;
        let account_id: i64 = row.try_get(0)?;
        let nonce: i64 = row.try_get(1)?;
        let nonce = nonce
            .checked_add(1)
            .ok_or(SettleError::Overflow("account nonce"))?;

        // Report order: never at prices older than the account was last liquidated at
        // (the same report again is fine: a capped liquidation continues at that tick).
        let newest: Option<i64> = sqlx::query(
            "SELECT MAX(report_observed_at) FROM applied_liquidations WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if let Some(newest) = newest.filter(|&n| n > observed_at) {
            return Err(SettleError::StaleReport {
                account_id: account_id as u64,
                observed_at: r.report_observed_at,
                newest: newest as u64,
            });
        }

        // The account moves.
        let moved = sqlx::query(
            "UPDATE accounts SET commitment = $1, nonce = $2, updated_at = $3
             WHERE id = $4 AND commitment = $5",
        )
        .bind(r.new_commitment.to_hex())
        .bind(nonce)
        .bind(now)
        .bind(account_id)
        .bind(&old)
        .execute(&mut *tx)
        .await
        .map_err(|e| in_use(e, &r.new_commitment))?
        .rows_affected();
        if moved != 1 {
            return Err(SettleError::StaleCommitment { commitment: old });
        }
        fault::hit(FaultPoint::AfterAccountUpdate);

        // Money: fees first, then the deficit out of the fund (this fee included).
        let fund_before = fund_balance(&mut tx).await?;
        let fund_after_fee = fund_before
            .checked_add(insurance_fee)
            .ok_or(SettleError::Overflow("insurance fund"))?;
        let fund_paid = deficit.min(fund_after_fee);
        let socialized = deficit - fund_paid;
        let fund_after = fund_after_fee - fund_paid;

        sqlx::query(
            "INSERT INTO applied_liquidations (statement_digest, account_id, old_commitment,
                new_commitment, action, terms, execution_value, penalty, insurance_fee,
                liquidator_fee, quote_delta, deficit, fund_paid, socialized, liquidator,
                risk_params_digest, report_digest, report_observed_at, oracle_config_digest,
                key_fingerprint, account_nonce, applied_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18, $19, $20, $21, $22)",
        )
        .bind(&digest)
        .bind(account_id)
        .bind(&old)
        .bind(r.new_commitment.to_hex())
        .bind(json_text(&r.action))
        .bind(json_text(&r.terms))
        .bind(execution_value)
        .bind(penalty)
        .bind(insurance_fee)
        .bind(liquidator_fee)
        .bind(r.terms.quote_delta)
        .bind(deficit)
        .bind(fund_paid)
        .bind(socialized)
        .bind(liquidator)
        .bind(hex::encode(r.risk_params_digest))
        .bind(hex::encode(r.report_digest))
        .bind(observed_at)
        .bind(hex::encode(r.oracle_config_digest))
        .bind(&r.key_fingerprint)
        .bind(nonce)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                SettleError::Replay {
                    statement_digest: digest.clone(),
                }
            } else {
                e.into()
            }
        })?;
        fault::hit(FaultPoint::AfterLiquidationInsert);

        let credit: Option<i64> =
            sqlx::query("SELECT balance FROM liquidator_credits WHERE liquidator = $1")
                .bind(liquidator)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        let liquidator_balance = credit
            .unwrap_or(0)
            .checked_add(liquidator_fee)
            .ok_or(SettleError::Overflow("liquidator credit"))?;
        sqlx::query(
            "INSERT INTO liquidator_credits (liquidator, balance, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (liquidator) DO UPDATE SET balance = excluded.balance,
                updated_at = excluded.updated_at",
        )
        .bind(liquidator)
        .bind(liquidator_balance)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        set_fund_balance(&mut tx, fund_after_fee, now).await?;
        fault::hit(FaultPoint::AfterCredits);

        if deficit > 0 {
            set_fund_balance(&mut tx, fund_after, now).await?;
        }
        if socialized > 0 {
            sqlx::query(
                "INSERT INTO socialized_losses (statement_digest, account_id, amount, recorded_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&digest)
            .bind(account_id)
            .bind(socialized)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }

        let account = Some(account_id as u64);
        let statement = Some(digest.clone());
        let mut log = vec![
            NewEvent {
                kind: EventKind::LiquidationApplied,
                account_id: account,
                liquidator: Some(r.liquidator),
                statement_digest: statement.clone(),
                amount: penalty,
                payload: json!({
                    "old_commitment": r.old_commitment,
                    "new_commitment": r.new_commitment,
                    "nonce": nonce,
                    "action": r.action,
                    "terms": r.terms,
                    "deficit": deficit,
                    "risk_params_digest": hex::encode(r.risk_params_digest),
                    "report_digest": hex::encode(r.report_digest),
                    "report_observed_at": r.report_observed_at,
                    "oracle_config_digest": hex::encode(r.oracle_config_digest),
                    "key_fingerprint": r.key_fingerprint,
                }),
            },
            NewEvent {
                kind: EventKind::LiquidatorCredited,
                account_id: account,
                liquidator: Some(r.liquidator),
                statement_digest: statement.clone(),
                amount: liquidator_fee,
                payload: json!({ "balance": liquidator_balance }),
            },
            NewEvent {
                kind: EventKind::InsuranceFee,
                account_id: account,
                liquidator: None,
                statement_digest: statement.clone(),
                amount: insurance_fee,
                payload: json!({ "balance": fund_after_fee }),
            },
        ];
        if fund_paid > 0 {
            log.push(NewEvent {
                kind: EventKind::DeficitCovered,
                account_id: account,
                liquidator: None,
                statement_digest: statement.clone(),
                amount: -fund_paid,
                payload: json!({ "deficit": deficit, "balance": fund_after }),
            });
        }
        if socialized > 0 {
            log.push(NewEvent {
                kind: EventKind::LossSocialized,
                account_id: account,
                liquidator: None,
                statement_digest: statement,
                amount: socialized,
                payload: json!({ "deficit": deficit }),
            });
        }
        let seqs = events::append(&mut tx, now, &log).await?;
        fault::hit(FaultPoint::BeforeCommit);

        tx.commit().await?;
        fault::hit(FaultPoint::AfterCommit);

        Ok(Applied {
            statement_digest: digest,
            account_id: account_id as u64,
            account_nonce: nonce as u64,
            new_commitment: r.new_commitment,
            liquidator: r.liquidator,
            liquidator_fee: r.terms.liquidator_fee,
            insurance_fee: r.terms.insurance_fee,
            deficit: r.deficit,
            fund_paid: fund_paid as u64,
            socialized: socialized as u64,
            fund_balance: fund_after as u64,
            liquidator_balance: liquidator_balance as u64,
            events: seqs,
        })
    }
}

/// JSON text of a stored document.
fn json_text<T: Serialize>(v: &T) -> String {
    // Plain enums and structs of integers and strings: encoding cannot fail.
    serde_json::to_string(v).expect("actions and terms encode as JSON")
}
