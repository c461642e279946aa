//! A process killed in the middle of applying a liquidation leaves the ledger
//! consistent: nothing half-applied, nothing lost, the fund equal to the sum of its
//! events; and the transition then applies exactly once.
//!
//! The parent test prepares a ledger, then runs this very test binary again as a
//! child process that executes only [`crash_child`] with `ZKMARGIN_FAULT` naming a
//! fault point: the child opens the same database, starts applying a deficit
//! liquidation (every table is written) and `abort()`s at that point, holding the
//! write lock mid-transaction. The parent checks the child died of SIGABRT, then
//! inspects the database through a fresh connection pool.

use std::{os::unix::process::ExitStatusExt, process::Command};

use zkmargin_circuits::{Account, Commitment, LiquidationPublic};

use super::{btc_long, ledger_with, liquidation, operator, record, TestDb, USD};
use crate::{
    fault::{FaultPoint, FAULT_ENV},
    Ledger, SettleError,
};

const CHILD_DB_ENV: &str = "ZKMARGIN_CRASH_TEST_DB";
const SIGABRT: i32 = 6;

/// The account the child liquidates: 1 BTC long, quote −54,900 at 55,000 — a full
/// close leaving a 450 USD deficit, part paid by the fund, part socialized.
fn victim() -> (Account, LiquidationPublic) {
    let old = btc_long(2, -54_900);
    let public = liquidation(&old, 55_000, 9);
    (old, public)
}

/// The child's side. Ignored in normal runs; does nothing without the variables.
#[tokio::test]
#[ignore = "child process of the crash tests; run by them"]
async fn crash_child() {
    let (Ok(url), Ok(_)) = (std::env::var(CHILD_DB_ENV), std::env::var(FAULT_ENV)) else {
        return;
    };
    let ledger = Ledger::open(&url).await.expect("child opens the ledger");
    let (_, public) = victim();
    let result = ledger.apply_record(&record(&public)).await;
    // Reaching here means the fault point never fired.
    eprintln!("crash child was not aborted: {result:?}");
    std::process::exit(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_apply_sqlite() {
    for point in FaultPoint::ALL {
        let db = TestDb::sqlite();
        crash_at(&db, point).await;
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_apply_postgres() {
    for point in FaultPoint::ALL {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        crash_at(&db, point).await;
        db.finish().await;
    }
}

/// What must survive a crash unchanged.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    summary: crate::Summary,
    victim: crate::AccountRecord,
    credits: u64,
    events: Vec<crate::Event>,
}

async fn snapshot(ledger: &Ledger) -> Snapshot {
    Snapshot {
        summary: ledger.summary().await.unwrap(),
        victim: ledger.account(2).await.unwrap().unwrap(),
        credits: ledger.credits(9).await.unwrap(),
        events: ledger.events(0, 1_000).await.unwrap(),
    }
}

async fn crash_at(db: &TestDb, point: FaultPoint) {
    // Committed history that must not be lost: a capitalized fund and an earlier
    // liquidation of another account by the same liquidator.
    let earlier = btc_long(1, -54_500);
    let (victim_old, victim_public) = victim();
    let ledger = ledger_with(db, &[&earlier, &victim_old]).await;
    ledger
        .fund_deposit(&operator(), 100 * USD as u64)
        .await
        .unwrap();
    let earlier_public = liquidation(&earlier, 56_150, 9);
    ledger.apply_record(&record(&earlier_public)).await.unwrap();
    let before = snapshot(&ledger).await;

    // Kill a real process mid-apply; the parent's pool stays open on the database.
    // `sh` only sets a zero core-size limit (no core file) and execs the test binary.
    let status = Command::new("sh")
        .args(["-c", "ulimit -c 0; exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::crash::crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB_ENV, &db.url)
        .env(FAULT_ENV, point.name())
        .output()
        .expect("spawn the crash child");
    assert_eq!(
        status.status.signal(),
        Some(SIGABRT),
        "{}: the child must die by abort() mid-apply; stderr:\n{}",
        point.name(),
        String::from_utf8_lossy(&status.stderr)
    );

    // A fresh pool: what a restarted node sees.
    let restarted = db.open().await;
    let report = restarted
        .check_invariants()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", point.name()));
    let earlier_applied = restarted
        .liquidation(&earlier_public.digest())
        .await
        .unwrap();
    assert!(
        earlier_applied.is_some(),
        "{}: committed work lost",
        point.name()
    );
    let victim_record = record(&victim_public);

    if point == FaultPoint::AfterCommit {
        // Committed before the crash: fully applied; a retry is a replay.
        let l = restarted
            .liquidation(&victim_public.digest())
            .await
            .unwrap()
            .expect("committed liquidation");
        assert_eq!(
            (l.fund_paid, l.socialized),
            (402_610_468, 450 * USD as u64 - 402_610_468)
        );
        assert_eq!(
            restarted.account(2).await.unwrap().unwrap().commitment,
            victim_public.new_commitment
        );
        let err = restarted.apply_record(&victim_record).await.unwrap_err();
        assert!(matches!(err, SettleError::Replay { .. }), "{err}");
    } else {
        // Nothing of the aborted transaction is visible.
        let after = snapshot(&restarted).await;
        assert_eq!(after, before, "{}: half-applied state", point.name());
        assert_eq!(after.victim.commitment, Commitment::of(&victim_old));
        assert!(restarted
            .liquidation(&victim_public.digest())
            .await
            .unwrap()
            .is_none());
        assert_eq!(report.events, before.events.len() as u64);

        // The retry applies exactly once.
        let applied = restarted.apply_record(&victim_record).await.unwrap();
        // Fund: 100 + 27.610468 (earlier fee) + 275 (this fee) − paid; 450 deficit.
        assert_eq!(applied.deficit, 450 * USD as u64);
        assert_eq!(applied.fund_paid, 402_610_468);
        assert_eq!(applied.socialized, 450 * USD as u64 - 402_610_468);
        assert_eq!(applied.fund_balance, 0);
        let err = restarted.apply_record(&victim_record).await.unwrap_err();
        assert!(matches!(err, SettleError::Replay { .. }), "{err}");
    }
    let report = restarted.check_invariants().await.unwrap();
    assert_eq!(report.liquidations, 2);
    assert_eq!(
        restarted.credits(9).await.unwrap(),
        earlier_public.terms.liquidator_fee + victim_public.terms.liquidator_fee
    );
    restarted.close().await;
    ledger.close().await;
}
