//! The safety properties of issue 5: no replay, no stale transition, exactly one
//! winner in a race, deficits paid or socialized, the fund and the credits equal the
//! sums of their events.

use std::sync::Arc;

use zkmargin_circuits::Commitment;

use super::{
    btc_long, ledger_with, liquidation, on_both_databases, operator, record,
    state_after_liquidation, TestDb, KEY_FINGERPRINT, ORACLE_CONFIG_DIGEST, USD,
};
use crate::{EventKind, SettleError};

on_both_databases!(
    apply_moves_the_account_and_credits_both_fees,
    replay_of_an_applied_statement_is_rejected,
    the_same_statement_at_a_later_report_is_still_a_replay,
    stale_commitment_is_rejected,
    a_transition_at_an_older_report_than_the_accounts_last_is_refused,
    venue_update_racing_a_liquidation_loses_cleanly,
    racing_liquidators_exactly_one_applies,
    racing_resubmissions_exactly_one_applies,
    deficit_within_the_fund_is_paid_by_the_fund,
    deficit_beyond_the_fund_is_socialized,
    fund_and_credits_equal_the_sums_of_their_events,
    out_of_range_values_write_nothing,
);

/// Normal breach (ratio 0.98): the minimal partial close.
async fn apply_moves_the_account_and_credits_both_fees(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let public = liquidation(&old, 56_150, 9);
    let applied = ledger.apply_record(&record(&public)).await.unwrap();

    assert_eq!(applied.account_id, 7);
    assert_eq!(applied.account_nonce, 1);
    assert_eq!(applied.liquidator_fee, 27_610_469);
    assert_eq!(applied.insurance_fee, 27_610_468);
    assert_eq!(
        (applied.deficit, applied.fund_paid, applied.socialized),
        (0, 0, 0)
    );

    let account = ledger.account(7).await.unwrap().unwrap();
    assert_eq!(account.commitment, public.new_commitment);
    assert_eq!(account.nonce, 1);
    assert!(ledger
        .account_by_commitment(&public.old_commitment)
        .await
        .unwrap()
        .is_none());
    assert_eq!(ledger.credits(9).await.unwrap(), 27_610_469);
    assert_eq!(ledger.insurance_fund().await.unwrap(), 27_610_468);

    let l = ledger
        .liquidation(&public.digest())
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(l.statement_digest, hex::encode(public.digest()));
    assert_eq!(
        (l.old_commitment, l.new_commitment),
        (public.old_commitment, public.new_commitment)
    );
    assert_eq!(l.action, public.action);
    assert_eq!(l.terms, public.terms);
    assert_eq!(l.liquidator, 9);
    assert_eq!(l.report_digest, hex::encode([0x5e; 32]));
    assert_eq!(l.account_nonce, 1);
    // Which key and which oracle committee verified it.
    assert_eq!(l.key_fingerprint, KEY_FINGERPRINT);
    assert_eq!(l.oracle_config_digest, hex::encode(ORACLE_CONFIG_DIGEST));
    let events = ledger.events(0, 100).await.unwrap();
    let applied_event = &events[2]; // after the trust pin and the registration
    assert_eq!(applied_event.kind, EventKind::LiquidationApplied);
    assert_eq!(
        applied_event.payload["key_fingerprint"].as_str(),
        Some(KEY_FINGERPRINT)
    );
    assert_eq!(
        applied_event.payload["oracle_config_digest"].as_str(),
        Some(hex::encode(ORACLE_CONFIG_DIGEST).as_str())
    );

    let kinds: Vec<_> = ledger
        .events(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::TrustPinned,
            EventKind::AccountRegistered,
            EventKind::LiquidationApplied,
            EventKind::LiquidatorCredited,
            EventKind::InsuranceFee
        ]
    );
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}

/// The same verified transition, applied twice: the second is a replay and changes
/// nothing.
async fn replay_of_an_applied_statement_is_rejected(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let r = record(&liquidation(&old, 56_150, 9));
    ledger.apply_record(&r).await.unwrap();
    let before = ledger.summary().await.unwrap();
    let err = ledger.apply_record(&r).await.unwrap_err();
    assert_eq!(err.code(), "replay", "{err}");
    assert_eq!(ledger.summary().await.unwrap(), before);
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}

/// The replay key is the statement digest alone: the same statement verified again
/// under a later oracle report (another report digest and time) is still a replay —
/// refused as such, not as stale, since the replay check comes first. (A genuinely
/// re-randomized proof, which proves the same statement, is submitted end to end by
/// `tests/service_settle.rs`; the verifier's own test is
/// `verifier/tests/transition.rs`.)
async fn the_same_statement_at_a_later_report_is_still_a_replay(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let public = liquidation(&old, 56_150, 9);
    ledger.apply_record(&record(&public)).await.unwrap();

    let mut resubmitted = record(&public);
    resubmitted.report_digest = [0xaa; 32];
    resubmitted.report_observed_at += 60;
    assert_eq!(resubmitted.statement_digest, public.digest());
    let err = ledger.apply_record(&resubmitted).await.unwrap_err();
    assert!(matches!(err, SettleError::Replay { .. }), "{err}");
    assert_eq!(
        ledger.credits(9).await.unwrap(),
        27_610_469,
        "credited once"
    );
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}

/// A transition whose old commitment is not the account's current one is refused:
/// after a venue update, after another liquidation, or from a commitment never seen.
async fn stale_commitment_is_rejected(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let key = operator();

    // The venue moved the account (a trade) before the liquidation arrived.
    let public = liquidation(&old, 56_150, 9);
    let mut traded = old.clone();
    traded.nonce += 1;
    traded.quote += USD;
    ledger
        .replace_commitment(&key, 7, &Commitment::of(&old), &Commitment::of(&traded))
        .await
        .unwrap();
    let before = ledger.summary().await.unwrap();
    let err = ledger.apply_record(&record(&public)).await.unwrap_err();
    assert!(matches!(err, SettleError::StaleCommitment { .. }), "{err}");
    assert_eq!(ledger.summary().await.unwrap(), before, "nothing written");

    // Another liquidator's transition from a state already liquidated.
    let first = liquidation(&traded, 56_150, 9);
    let second = liquidation(&traded, 56_150, 10);
    ledger.apply_record(&record(&first)).await.unwrap();
    let err = ledger.apply_record(&record(&second)).await.unwrap_err();
    assert_eq!(err.code(), "stale_commitment", "{err}");

    // A commitment the ledger never held.
    let stranger = liquidation(&btc_long(99, -54_500), 56_150, 9);
    let err = ledger.apply_record(&record(&stranger)).await.unwrap_err();
    assert_eq!(err.code(), "stale_commitment", "{err}");
    assert_eq!(ledger.credits(10).await.unwrap(), 0);
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}

/// Prices move forward for an account: once it was liquidated at a report, a
/// transition of its new state proven at an older (still fresh) report is refused as
/// `stale_report`, and nothing is written; the same report again, or a newer one, is
/// accepted, and another account's report time does not constrain this one.
async fn a_transition_at_an_older_report_than_the_accounts_last_is_refused(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let other = btc_long(8, -54_500);
    let ledger = ledger_with(db, &[&old, &other]).await;
    let at = |public, observed_at| {
        let mut r = record(public);
        r.report_observed_at = observed_at;
        r
    };
    let t = 1_760_000_000;

    let first = liquidation(&old, 56_150, 9);
    ledger.apply_record(&at(&first, t)).await.unwrap();

    // BTC falls further; the liquidated state breaches again.
    let after = state_after_liquidation(&old, &first);
    let second = liquidation(&after, 52_000, 9);
    let before = ledger.summary().await.unwrap();
    let err = ledger.apply_record(&at(&second, t - 1)).await.unwrap_err();
    assert_eq!(err.code(), "stale_report", "{err}");
    assert_eq!(
        err,
        SettleError::StaleReport {
            account_id: 7,
            observed_at: t - 1,
            newest: t
        }
    );
    assert!(err
        .to_string()
        .contains("prove it again at the current report"));
    assert_eq!(ledger.summary().await.unwrap(), before, "nothing written");

    // Another account is not held to account 7's report time.
    let elsewhere = liquidation(&other, 56_150, 10);
    ledger.apply_record(&at(&elsewhere, t - 60)).await.unwrap();

    // The same report time as the last one applied is accepted.
    ledger.apply_record(&at(&second, t)).await.unwrap();
    assert_eq!(ledger.account(7).await.unwrap().unwrap().nonce, 2);
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}

/// The compare-and-swap goes both ways: once a liquidation is applied, the venue's
/// update from the pre-liquidation commitment is refused.
async fn venue_update_racing_a_liquidation_loses_cleanly(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let public = liquidation(&old, 56_150, 9);
    ledger.apply_record(&record(&public)).await.unwrap();
    let mut traded = old.clone();
    traded.nonce += 1;
    let err = ledger
        .replace_commitment(
            &operator(),
            7,
            &old_commitment(&old),
            &Commitment::of(&traded),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SettleError::StaleCommitment { .. }), "{err}");
    assert_eq!(
        ledger.account(7).await.unwrap().unwrap().commitment,
        public.new_commitment
    );
    ledger.check_invariants().await.unwrap();
    ledger.close().await;
}

fn old_commitment(a: &zkmargin_circuits::Account) -> Commitment {
    Commitment::of(a)
}

/// Races per test and database.
const RACES: u64 = 25;

/// Two liquidators race on one account from two connection pools (two "nodes"):
/// exactly one applies, the other is told the commitment is stale.
async fn racing_liquidators_exactly_one_applies(db: &TestDb) {
    race(
        db,
        |public_a| {
            let mut b = public_a;
            b.liquidator += 1;
            b
        },
        "stale_commitment",
    )
    .await;
}

/// The same transition submitted twice at once: exactly one applies, the other is a
/// replay (the replay check runs first, under the writer lock).
async fn racing_resubmissions_exactly_one_applies(db: &TestDb) {
    race(db, |public_a| public_a, "replay").await;
}

async fn race(
    db: &TestDb,
    second: impl Fn(zkmargin_circuits::LiquidationPublic) -> zkmargin_circuits::LiquidationPublic,
    loser: &str,
) {
    let node_a = Arc::new(ledger_with(db, &[]).await);
    let node_b = Arc::new(db.open().await);
    let mut fees = 0u64;
    for i in 0..RACES {
        let old = btc_long(1_000 + i, -54_500);
        node_a
            .register_account(&operator(), old.id, &Commitment::of(&old))
            .await
            .unwrap();
        let a = liquidation(&old, 56_150, 9);
        let b = liquidation_with(&old, second(a));
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let run = |ledger: Arc<crate::Ledger>, r: crate::apply::LiquidationFacts| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                ledger.apply_record(&r).await
            })
        };
        let ta = run(node_a.clone(), record(&a));
        let tb = run(node_b.clone(), record(&b));
        let (ra, rb) = (ta.await.unwrap(), tb.await.unwrap());
        let winners = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "race {i}: {ra:?} / {rb:?}");
        for r in [&ra, &rb] {
            if let Err(e) = r {
                assert_eq!(e.code(), loser, "race {i}: loser failed with {e}");
            }
        }
        let winner = ra.as_ref().or(rb.as_ref()).unwrap();
        assert_eq!(winner.account_nonce, 1);
        fees += winner.liquidator_fee;
    }
    let report = node_a.check_invariants().await.unwrap();
    assert_eq!(report.liquidations, RACES);
    assert_eq!(report.total_credits, fees);
    node_a.close().await;
    node_b.close().await;
}

/// `public` with its liquidator changed is still a legal statement (the liquidator
/// is bound by the proof but used by no constraint).
fn liquidation_with(
    old: &zkmargin_circuits::Account,
    public: zkmargin_circuits::LiquidationPublic,
) -> zkmargin_circuits::LiquidationPublic {
    let fresh = liquidation(old, 56_150, public.liquidator);
    assert_eq!(fresh, public);
    fresh
}

/// Deep breach at 55,000 (ratio 0.30): the whole BTC is closed, leaving −50 USD. A
/// capitalized fund pays it all.
async fn deficit_within_the_fund_is_paid_by_the_fund(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    ledger
        .fund_deposit(&operator(), 1_000 * USD as u64)
        .await
        .unwrap();
    let public = liquidation(&old, 55_000, 9);
    assert_eq!(public.deficit, 50 * USD as u64);
    let a = ledger.apply_record(&record(&public)).await.unwrap();
    assert_eq!((a.fund_paid, a.socialized), (50 * USD as u64, 0));
    // 1,000 + 275 (half the 550 penalty) − 50.
    assert_eq!(a.fund_balance, 1_225 * USD as u64);
    assert_eq!(ledger.insurance_fund().await.unwrap(), 1_225 * USD as u64);
    assert_eq!(ledger.credits(9).await.unwrap(), 275 * USD as u64);
    let report = ledger.check_invariants().await.unwrap();
    assert_eq!(report.total_socialized, 0);
    ledger.close().await;
}

/// Quote −54,900 at 55,000: the full close leaves −450 USD. The empty fund receives
/// its 275 USD fee and pays it all; the 175 USD it cannot pay is socialized and
/// recorded; the fund ends at 0.
async fn deficit_beyond_the_fund_is_socialized(db: &TestDb) {
    let old = btc_long(7, -54_900);
    let ledger = ledger_with(db, &[&old]).await;
    let public = liquidation(&old, 55_000, 9);
    assert_eq!(public.deficit, 450 * USD as u64);
    let a = ledger.apply_record(&record(&public)).await.unwrap();
    assert_eq!(a.fund_paid, 275 * USD as u64);
    assert_eq!(a.socialized, 175 * USD as u64);
    assert_eq!(a.fund_balance, 0);
    assert_eq!(ledger.insurance_fund().await.unwrap(), 0);
    let l = ledger.liquidation(&public.digest()).await.unwrap().unwrap();
    assert_eq!(
        (l.deficit, l.fund_paid, l.socialized),
        (450 * USD as u64, 275 * USD as u64, 175 * USD as u64)
    );
    let events = ledger.events(0, 100).await.unwrap();
    let socialized: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::LossSocialized)
        .collect();
    assert_eq!(socialized.len(), 1);
    assert_eq!(socialized[0].amount, 175 * USD);
    let covered: i64 = events
        .iter()
        .filter(|e| e.kind == EventKind::DeficitCovered)
        .map(|e| e.amount)
        .sum();
    assert_eq!(covered, -275 * USD);
    let report = ledger.check_invariants().await.unwrap();
    assert_eq!(report.total_socialized, 175 * USD as u64);
    assert_eq!(
        ledger.summary().await.unwrap().total_socialized,
        175 * USD as u64
    );
    ledger.close().await;
}

/// A mixed history — deposits, liquidations by several liquidators, deficits paid and
/// socialized, venue updates — and the fund and every credit equal the sums of their
/// events, read back through the public event API.
async fn fund_and_credits_equal_the_sums_of_their_events(db: &TestDb) {
    let accounts: Vec<_> = (0..6)
        .map(|i| btc_long(100 + i, -54_500 - 100 * i as i64))
        .collect();
    let ledger = ledger_with(db, &accounts.iter().collect::<Vec<_>>()).await;
    let key = operator();
    ledger.fund_deposit(&key, 30 * USD as u64).await.unwrap();
    for (i, a) in accounts.iter().enumerate() {
        let price = if i % 2 == 0 { 56_150 } else { 55_000 };
        let public = liquidation(a, price, 20 + (i as u64 % 3));
        ledger.apply_record(&record(&public)).await.unwrap();
        if i == 2 {
            ledger.fund_deposit(&key, 5 * USD as u64).await.unwrap();
        }
    }
    let events = ledger.events(0, 1_000).await.unwrap();
    let fund: i64 = events
        .iter()
        .filter(|e| e.kind.moves_fund())
        .map(|e| e.amount)
        .sum();
    assert_eq!(fund as u64, ledger.insurance_fund().await.unwrap());
    for liquidator in 20..23 {
        let credited: i64 = events
            .iter()
            .filter(|e| e.kind == EventKind::LiquidatorCredited && e.liquidator == Some(liquidator))
            .map(|e| e.amount)
            .sum();
        assert_eq!(credited as u64, ledger.credits(liquidator).await.unwrap());
    }
    // Paging returns the same log.
    let mut paged = Vec::new();
    let mut since = 0;
    loop {
        let page = ledger.events(since, 4).await.unwrap();
        let Some(last) = page.last() else { break };
        since = last.seq;
        paged.extend(page);
    }
    assert_eq!(paged, events);
    let report = ledger.check_invariants().await.unwrap();
    assert_eq!(report.events, events.len() as u64);
    assert_eq!(report.liquidations, 6);
    ledger.close().await;
}

/// Values that do not fit a BIGINT are refused before anything is written.
async fn out_of_range_values_write_nothing(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let mut r = record(&liquidation(&old, 56_150, 9));
    r.liquidator = 1 << 63;
    let err = ledger.apply_record(&r).await.unwrap_err();
    assert_eq!(err.code(), "value_out_of_range", "{err}");
    let err = ledger
        .register_account(&operator(), u64::MAX, &Commitment::of(&btc_long(8, 0)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "value_out_of_range", "{err}");
    let s = ledger.summary().await.unwrap();
    assert_eq!((s.accounts, s.liquidations, s.events), (1, 0, 2));
    ledger.close().await;
}
