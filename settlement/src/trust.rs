//! The pinned trust: which verifying key, oracle committee and risk parameters the
//! ledger accepts liquidations under.
//!
//! A [`VerifiedLiquidation`] says which key, committee and parameters verified it, but
//! any shell that settles chooses its own verifier: without a pin, whoever starts a
//! `serve --ledger` or runs `ledger settle` with keys of their own (a single-party
//! setup they ran, a committee they control) could settle liquidations that the venue
//! never agreed to. So the operator pins the trust in the ledger itself
//! ([`Ledger::pin_trust`], `zkmargin ledger init` and `zkmargin ledger trust`), every
//! apply compares the liquidation's facts with the pin inside its transaction, and a
//! rotation is an operator call with its own event (`trust_pinned`, the previous and
//! the new pin in its payload).

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{Any, Row, Transaction};
use zkmargin_verifier::Verifier;

use crate::{
    db::now,
    events::{self, EventKind, NewEvent},
    Ledger, SettleError,
};

/// What the ledger accepts liquidations under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedTrust {
    /// The liquidation verifying key's fingerprint (SHA-256 of the key file, hex).
    pub key_fingerprint: String,
    /// The oracle committee's config digest (hex).
    pub oracle_config_digest: String,
    /// The accepted risk parameters' digests (hex), sorted, no duplicates.
    pub risk_params_digests: Vec<String>,
}

impl PinnedTrust {
    /// A pin of exactly these values (the digests sorted and deduplicated).
    pub fn new(
        key_fingerprint: &str,
        oracle_config_digest: [u8; 32],
        risk_params_digests: impl IntoIterator<Item = [u8; 32]>,
    ) -> Self {
        let mut params: Vec<String> = risk_params_digests.into_iter().map(hex::encode).collect();
        params.sort();
        params.dedup();
        Self {
            key_fingerprint: key_fingerprint.to_ascii_lowercase(),
            oracle_config_digest: hex::encode(oracle_config_digest),
            risk_params_digests: params,
        }
    }

    /// What `verifier` verifies liquidations under.
    ///
    /// # Errors
    /// [`SettleError::InvalidArgument`] when the verifier has no liquidation key.
    pub fn of(verifier: &Verifier) -> Result<Self, SettleError> {
        let key = verifier
            .liquidation_key_fingerprint()
            .ok_or(SettleError::InvalidArgument {
                what: "keys",
                reason: format!(
                    "the keys directory has no {} key, so nothing could be settled with it",
                    zkmargin_circuits::LIQUIDATION_CIRCUIT_ID
                ),
            })?;
        Ok(Self::new(
            key,
            verifier.oracle_config_digest(),
            verifier
                .risk_params_by_digest()
                .into_iter()
                .map(|(digest, _)| digest),
        ))
    }

    /// Refuses facts verified under anything but this pin.
    pub(crate) fn admits(
        &self,
        key_fingerprint: &str,
        oracle_config_digest: &[u8; 32],
        risk_params_digest: &[u8; 32],
    ) -> Result<(), SettleError> {
        let untrusted = |part: &'static str, found: String, pinned: String| {
            Err(SettleError::UntrustedVerifier {
                part,
                found,
                pinned,
            })
        };
        if !key_fingerprint.eq_ignore_ascii_case(&self.key_fingerprint) {
            return untrusted(
                "verifying key",
                key_fingerprint.to_owned(),
                self.key_fingerprint.clone(),
            );
        }
        let oracle = hex::encode(oracle_config_digest);
        if oracle != self.oracle_config_digest {
            return untrusted(
                "oracle committee",
                oracle,
                self.oracle_config_digest.clone(),
            );
        }
        let params = hex::encode(risk_params_digest);
        if !self.risk_params_digests.contains(&params) {
            return untrusted(
                "risk parameters",
                params,
                self.risk_params_digests.join(", "),
            );
        }
        Ok(())
    }
}

impl Ledger {
    /// The pinned trust, or `None` before the operator pinned one.
    ///
    /// # Errors
    /// Database errors; [`SettleError::Corrupt`] for an undecodable row.
    pub async fn trust(&self) -> Result<Option<PinnedTrust>, SettleError> {
        let mut conn = self.pool().acquire().await?;
        read(&mut conn).await
    }

    /// Pins the trust, or rotates it: an operator call. Writes a `trust_pinned` event
    /// with the previous pin (`null` the first time) and the new one; pinning what is
    /// already pinned writes nothing. Returns the previous pin.
    ///
    /// # Errors
    /// The operator errors ([`SettleError::NotInitialized`],
    /// [`SettleError::OperatorKeyRejected`]); [`SettleError::InvalidArgument`] for a
    /// pin without risk parameters; database errors.
    pub async fn pin_trust(
        &self,
        key: &crate::OperatorKey,
        trust: &PinnedTrust,
    ) -> Result<Option<PinnedTrust>, SettleError> {
        if trust.risk_params_digests.is_empty() {
            return Err(SettleError::InvalidArgument {
                what: "trust",
                reason: "no risk parameters: a ledger pinned to none could settle nothing".into(),
            });
        }
        let now = now();
        let mut tx = self.begin_write().await?;
        Self::authenticate(&mut tx, key).await?;
        let previous = read(&mut tx).await?;
        if previous.as_ref() == Some(trust) {
            return Ok(previous);
        }
        sqlx::query(
            "INSERT INTO ledger_trust (id, key_fingerprint, oracle_config_digest, risk_params_digests, pinned_at)
             VALUES (1, $1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET key_fingerprint = excluded.key_fingerprint,
                oracle_config_digest = excluded.oracle_config_digest,
                risk_params_digests = excluded.risk_params_digests,
                pinned_at = excluded.pinned_at",
        )
        .bind(&trust.key_fingerprint)
        .bind(&trust.oracle_config_digest)
        .bind(trust.risk_params_digests.join(","))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        events::append(
            &mut tx,
            now,
            &[NewEvent {
                kind: EventKind::TrustPinned,
                account_id: None,
                liquidator: None,
                statement_digest: None,
                amount: 0,
                payload: json!({ "previous": previous, "pinned": trust }),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(previous)
    }
}

/// The pin inside an apply's transaction: refuses facts verified under anything else.
pub(crate) async fn check(
    tx: &mut Transaction<'static, Any>,
    key_fingerprint: &str,
    oracle_config_digest: &[u8; 32],
    risk_params_digest: &[u8; 32],
) -> Result<(), SettleError> {
    read(tx).await?.ok_or(SettleError::TrustNotPinned)?.admits(
        key_fingerprint,
        oracle_config_digest,
        risk_params_digest,
    )
}

async fn read(conn: &mut sqlx::AnyConnection) -> Result<Option<PinnedTrust>, SettleError> {
    let Some(row) = sqlx::query(
        "SELECT key_fingerprint, oracle_config_digest, risk_params_digests FROM ledger_trust WHERE id = 1",
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let params: String = row.try_get(2)?;
    Ok(Some(PinnedTrust {
        key_fingerprint: row.try_get(0)?,
        oracle_config_digest: row.try_get(1)?,
        risk_params_digests: params.split(',').map(str::to_owned).collect(),
    }))
}
