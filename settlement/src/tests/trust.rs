//! The pinned trust (issue 15, item 10): a liquidation applies only under the key,
//! oracle committee and risk parameters the operator pinned; rotating the pin is an
//! operator call with its own event.

use zkmargin_circuits::{Commitment, RiskParams};

use super::{
    btc_long, liquidation, on_both_databases, operator, pinned_trust, record, TestDb,
    KEY_FINGERPRINT, ORACLE_CONFIG_DIGEST,
};
use crate::{EventKind, OperatorKey, PinnedTrust, SettleError};

on_both_databases!(
    a_ledger_without_a_pin_settles_nothing,
    a_liquidation_under_another_key_committee_or_parameters_is_refused,
    rotating_the_pin_is_an_operator_call_with_its_own_event,
);

/// A ledger whose operator never pinned a trust refuses every liquidation, writing
/// nothing.
async fn a_ledger_without_a_pin_settles_nothing(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = db.open().await;
    ledger.init(&operator()).await.unwrap();
    ledger
        .register_account(&operator(), 7, &Commitment::of(&old))
        .await
        .unwrap();
    assert_eq!(ledger.trust().await.unwrap(), None);
    let before = ledger.summary().await.unwrap();
    let err = ledger
        .apply_record(&record(&liquidation(&old, 56_150, 9)))
        .await
        .unwrap_err();
    assert_eq!(err, SettleError::TrustNotPinned);
    assert!(err.to_string().contains("zkmargin ledger trust"), "{err}");
    assert_eq!(ledger.summary().await.unwrap(), before, "nothing written");
    ledger.close().await;
}

/// Each part of the facts is compared with the pin: another verifying key, another
/// oracle committee or parameters outside the pinned set are `untrusted_verifier`,
/// naming the part, and nothing is written; the pinned ones apply.
async fn a_liquidation_under_another_key_committee_or_parameters_is_refused(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = super::ledger_with(db, &[&old]).await;
    let public = liquidation(&old, 56_150, 9);
    let before = ledger.summary().await.unwrap();
    let other_key = "9".repeat(64);
    type Mutant<'a> = Box<dyn Fn(&mut crate::apply::LiquidationFacts) + 'a>;
    let mutants: [(&str, Mutant); 3] = [
        (
            "verifying key",
            Box::new(|r| r.key_fingerprint = other_key.clone()),
        ),
        (
            "oracle committee",
            Box::new(|r| r.oracle_config_digest = [0x0d; 32]),
        ),
        (
            "risk parameters",
            Box::new(|r| r.risk_params_digest = [0x77; 32]),
        ),
    ];
    for (part, mutate) in mutants {
        let mut r = record(&public);
        mutate(&mut r);
        let err = ledger.apply_record(&r).await.unwrap_err();
        assert_eq!(err.code(), "untrusted_verifier", "{part}: {err}");
        assert!(
            matches!(&err, SettleError::UntrustedVerifier { part: p, .. } if *p == part),
            "{err}"
        );
        assert_eq!(
            ledger.summary().await.unwrap(),
            before,
            "{part}: nothing written"
        );
    }
    // The fingerprint is compared case-insensitively (hex), the rest exactly.
    let mut r = record(&public);
    r.key_fingerprint = KEY_FINGERPRINT.to_ascii_uppercase();
    ledger.apply_record(&r).await.unwrap();
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}

/// Only the operator pins; the same pin again writes nothing; a rotation writes one
/// `trust_pinned` event carrying the previous and the new pin, after which the old
/// key is refused and the new one accepted.
async fn rotating_the_pin_is_an_operator_call_with_its_own_event(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = super::ledger_with(db, &[&old]).await;
    let events = |ledger: &crate::Ledger| {
        let ledger = ledger.clone();
        async move {
            ledger
                .events(0, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == EventKind::TrustPinned)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(events(&ledger).await.len(), 1, "the first pin");
    assert_eq!(ledger.trust().await.unwrap(), Some(pinned_trust()));

    let stranger = OperatorKey::new(b"not-the-operator-secret-at-all!!".to_vec()).unwrap();
    let rotated = PinnedTrust::new(
        &"ab".repeat(32),
        ORACLE_CONFIG_DIGEST,
        [RiskParams::development().digest(), [0x42; 32]],
    );
    let err = ledger.pin_trust(&stranger, &rotated).await.unwrap_err();
    assert_eq!(err.code(), "operator_key_rejected", "{err}");
    let empty = PinnedTrust::new(KEY_FINGERPRINT, ORACLE_CONFIG_DIGEST, []);
    let err = ledger.pin_trust(&operator(), &empty).await.unwrap_err();
    assert_eq!(err.code(), "invalid_argument", "{err}");

    // The same pin: no event.
    let previous = ledger
        .pin_trust(&operator(), &pinned_trust())
        .await
        .unwrap();
    assert_eq!(previous, Some(pinned_trust()));
    assert_eq!(events(&ledger).await.len(), 1);

    // A rotation: one event with both pins.
    let previous = ledger.pin_trust(&operator(), &rotated).await.unwrap();
    assert_eq!(previous, Some(pinned_trust()));
    let pinned = events(&ledger).await;
    assert_eq!(pinned.len(), 2);
    let payload = &pinned[1].payload;
    assert_eq!(
        payload["previous"],
        serde_json::to_value(pinned_trust()).unwrap()
    );
    assert_eq!(payload["pinned"], serde_json::to_value(&rotated).unwrap());
    assert_eq!(pinned[1].amount, 0);

    let public = liquidation(&old, 56_150, 9);
    let err = ledger.apply_record(&record(&public)).await.unwrap_err();
    assert_eq!(
        err.code(),
        "untrusted_verifier",
        "the old key after rotation"
    );
    let mut r = record(&public);
    r.key_fingerprint = "ab".repeat(32);
    ledger.apply_record(&r).await.unwrap();
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}
