//! End-to-end: liquidation through the real `zkmargin` binary — `liquidate`, `verify`
//! of transition bundles, `inspect`, and `ledger …` on an SQLite ledger in a temporary
//! directory. The ledger is only ever given commitments, never a balance.
//!
//! The world's keys are development keys (`zkmargin setup` without `--production`)
//! and most tests accept the development risk parameters, so they settle with
//! `--allow-development`, as a test ledger must; `settle_refuses_development_trust_*`
//! checks the refusal without it and `settle_on_production_trust_needs_no_flag` the
//! production path.

mod common_cli;

use std::{
    fs,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use common_cli::*;
use serde_json::Value;
use tempfile::TempDir;
use zkmargin::circuits::{LiquidationTerms, Prices, RiskParams};
use zkmargin_verifier::{ProofBundle, Statement};

const USD: u64 = 1_000_000;

/// A fresh SQLite ledger: initialized with a random operator secret, nothing else.
struct TestLedger {
    dir: TempDir,
    url: String,
    secret: PathBuf,
}

impl TestLedger {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("operator.secret");
        let bytes: [u8; 32] = rand::random();
        fs::write(&secret, format!("{}\n", hex::encode(bytes))).unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("ledger.db").display()
        );
        let l = Self { dir, url, secret };
        let w = world();
        let init = l.op(
            "init",
            &[
                "--keys",
                s(&w.keys),
                "--oracle",
                s(&w.oracle),
                "--allow-development",
            ],
        );
        assert!(init.ok().contains("ledger ready"));
        assert!(init.ok().contains("trust pinned: liquidation key"));
        l
    }

    /// `ledger CMD --db URL ARGS…`.
    fn run(&self, cmd: &str, args: &[&str]) -> Run {
        self.run_env(cmd, args, &[])
    }

    /// [`TestLedger::run`] with `envs` set.
    fn run_env(&self, cmd: &str, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut all = vec!["ledger", cmd, "--db", &self.url];
        all.extend(args);
        zk_env(self.dir.path(), &all, envs)
    }

    /// An operator call: `ledger CMD --db URL --operator-secret-file F ARGS…`.
    fn op(&self, cmd: &str, args: &[&str]) -> Run {
        let mut all = vec!["--operator-secret-file", s(&self.secret)];
        all.extend(args);
        self.run(cmd, &all)
    }

    fn register(&self, id: u64, commitment: &str) {
        self.op(
            "register",
            &["--account", &id.to_string(), "--commitment", commitment],
        )
        .ok();
    }

    fn fund(&self, units: u64) {
        self.op("fund", &["--amount", &units.to_string()]).ok();
    }

    /// `ledger settle BUNDLE` with the world's keys and oracle config on this test
    /// ledger: `--allow-development`, for the world's development keys and parameters.
    fn settle(&self, bundle: &Path, extra: &[&str]) -> Run {
        let w = world();
        let mut args = vec![
            "--keys",
            s(&w.keys),
            "--oracle",
            s(&w.oracle),
            "--allow-development",
        ];
        args.extend(extra);
        self.settle_with(bundle, &args)
    }

    /// `ledger settle BUNDLE ARGS…`, nothing added.
    fn settle_with(&self, bundle: &Path, args: &[&str]) -> Run {
        let mut all = vec![s(bundle)];
        all.extend(args);
        self.run("settle", &all)
    }

    /// Everything `ledger show` and `ledger events` say, to compare before and after.
    fn state(&self) -> (Value, String) {
        let events = self.run("events", &["--json"]);
        (self.show(&[]), events.ok().to_owned())
    }

    /// `ledger show --json ARGS…`.
    fn show(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend(args);
        let run = self.run("show", &all);
        run.ok();
        run.json()
    }

    /// `ledger check` passes.
    fn check(&self) {
        assert!(self.run("check", &[]).ok().contains("ledger consistent"));
    }
}

/// Feed prices for `oracle sign`, the demo's with BTC and ETH replaced.
fn prices(eth_usd: u64, btc_usd: u64) -> Vec<String> {
    vec![
        format!("ETH/USD={}", eth_usd * 1_000_000),
        format!("BTC/USD={}", btc_usd * 10_000_000),
        PRICES[2].to_string(),
        PRICES[3].to_string(),
        PRICES[4].to_string(),
    ]
}

fn sign(dir: &Path, name: &str, prices: &[String], extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let prices: Vec<&str> = prices.iter().map(String::as_str).collect();
    let mut args = vec!["--signers", "2"];
    args.extend(extra);
    world().sign(&path, &prices, &args).ok();
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The breaching account of the world liquidated at the world's report, once per
/// test binary (read-only: tests copy the files they change).
struct Liquidated {
    _dir: TempDir,
    transition: PathBuf,
    next: PathBuf,
    old_commitment: String,
    new_commitment: String,
    output: Value,
}

fn liquidated() -> &'static Liquidated {
    static L: OnceLock<Liquidated> = OnceLock::new();
    L.get_or_init(|| {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        let transition = dir.path().join("transition.json");
        let next = dir.path().join("next.json");
        let old_commitment = w.commitment(&w.breaching);
        let run = w.liquidate(
            &w.breaching,
            &w.report,
            &transition,
            &next,
            &["--commitment", &old_commitment, "--json"],
        );
        run.ok();
        let output = run.json();
        let new_commitment = output["new_commitment"].as_str().unwrap().to_owned();
        Liquidated {
            _dir: dir,
            transition,
            next,
            old_commitment,
            new_commitment,
            output,
        }
    })
}

/// The acceptance test: a healthy account, a price drop, a breach proof, the
/// liquidation, its verification and settlement — the liquidator and the fund
/// credited — and the new state proven healthy, all through the CLI.
#[test]
fn healthy_account_price_drop_liquidated_settled_and_healthy_again() {
    let w = world();
    let d = tempfile::tempdir().unwrap();
    let ledger = TestLedger::new();
    let c_old = w.commitment(&w.healthy);
    ledger.register(1, &c_old);
    ledger.fund(500 * USD);

    // Healthy at the world's prices.
    let meets = d.path().join("meets.json");
    w.prove(&w.healthy, &w.report, &meets, &["--expect", "meets"])
        .ok();
    assert!(w.verify(&meets, &[]).ok().contains("MEETS"));

    // ETH falls from 2,900 to 2,800: 830 USD less weighted collateral, H = −470 USD.
    let drop = sign(d.path(), "drop.json", &prices(2_800, 57_000), &[]);
    let breach = d.path().join("breach.json");
    w.prove(&w.healthy, &drop, &breach, &["--expect", "breaches"])
        .ok();
    assert!(w.verify(&breach, &[]).ok().contains("BREACHES"));

    // Liquidate, verify, settle.
    let transition = d.path().join("transition.json");
    let next = d.path().join("next.json");
    let run = w.liquidate(
        &w.healthy,
        &drop,
        &transition,
        &next,
        &["--commitment", &c_old],
    );
    let text = run.ok();
    for needle in [
        "liquidated: account",
        "action",
        "penalty",
        "restored",
        "0600",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    let verified = w.verify(&transition, &["--json"]);
    verified.ok();
    let t = verified.json()["transition"].clone();
    assert_eq!(t["old_commitment"], c_old.as_str());
    assert_eq!(t["liquidator"], 7);
    assert_eq!(t["deficit"], 0);
    let c_new = t["new_commitment"].as_str().unwrap().to_owned();
    let fee = |k: &str| t["terms"][k].as_u64().unwrap();
    let (liquidator_fee, insurance_fee) = (fee("liquidator_fee"), fee("insurance_fee"));
    assert!(liquidator_fee > 0 && insurance_fee > 0);

    let settled = ledger.settle(&transition, &[]);
    let text = settled.ok();
    assert!(
        text.contains("SETTLED") && text.contains("liquidator 7 credited"),
        "{text}"
    );

    // Read back from the ledger: the liquidator and the fund are credited, the account
    // moved to the new commitment.
    assert_eq!(
        ledger.show(&["--liquidator", "7"])["balance"],
        liquidator_fee
    );
    let totals = ledger.show(&[]);
    assert_eq!(totals["insurance_fund"], 500 * USD + insurance_fee);
    assert_eq!(totals["liquidations"], 1);
    assert_eq!(totals["total_socialized"], 0);
    let account = ledger.show(&["--account", "1"]);
    assert_eq!(account["commitment"], c_new.as_str());
    assert_eq!(account["nonce"], 1);
    let record = ledger.show(&["--liquidation", t["statement_digest"].as_str().unwrap()]);
    assert_eq!(record["liquidator"], 7);
    assert_eq!(record["new_commitment"], c_new.as_str());
    ledger.check();

    // The venue's new state proves healthy at the same prices, against C_new.
    let healthy_again = d.path().join("healthy-again.json");
    w.prove(
        &next,
        &drop,
        &healthy_again,
        &["--expect", "meets", "--commitment", &c_new],
    )
    .ok();
    assert!(w.verify(&healthy_again, &[]).ok().contains("MEETS"));
}

/// Deep breach: one long position, the price far down. The whole position is
/// closed, the transition reveals the deficit, the fund pays what it holds (its own
/// fee from this liquidation included) and the rest is socialized.
#[test]
fn underwater_account_deficit_paid_by_the_fund_and_socialized() {
    let w = world();
    let d = tempfile::tempdir().unwrap();
    let account = d.path().join("underwater.json");
    zk(
        d.path(),
        &[
            "account",
            "new",
            "--id",
            "9",
            "-o",
            s(&account),
            "--quote=-54500",
            "--position",
            "BTC-PERP=1",
        ],
    )
    .ok();
    let c_old = w.commitment(&account);
    let ledger = TestLedger::new();
    ledger.register(9, &c_old);
    ledger.fund(1_000 * USD);

    // BTC at 40,000: equity −14,500 USD. Closing the whole BTC at 40,000 less the 1 %
    // penalty (400 USD) leaves −14,900 USD with nothing open.
    let crash = sign(d.path(), "crash.json", &prices(2_900, 40_000), &[]);
    let breach = d.path().join("breach.json");
    w.prove(&account, &crash, &breach, &["--expect", "breaches"])
        .ok();
    assert!(w.verify(&breach, &[]).ok().contains("BREACHES"));

    let transition = d.path().join("transition.json");
    let next = d.path().join("next.json");
    let run = w.liquidate(&account, &crash, &transition, &next, &["--json"]);
    run.ok();
    let out = run.json();
    assert_eq!(out["deficit"], 14_900 * USD);
    assert_eq!(out["action"]["kind"], "close");
    assert_eq!(out["action"]["amount"], 100_000_000);
    assert_eq!(out["terms"]["penalty"], 400 * USD);
    assert_eq!(out["terms"]["insurance_fee"], 200 * USD);
    assert_eq!(out["restores_target"], false);

    let text = w.verify(&transition, &[]).ok().to_owned();
    assert!(text.contains("deficit    14,900 USD"), "{text}");

    let text = ledger.settle(&transition, &[]).ok().to_owned();
    assert!(text.contains("socialized"), "{text}");
    let totals = ledger.show(&[]);
    assert_eq!(totals["insurance_fund"], 0, "the fund paid all it had");
    assert_eq!(totals["total_socialized"], 13_700 * USD);
    let record = ledger.show(&["--liquidation", out["statement_digest"].as_str().unwrap()]);
    assert_eq!(record["deficit"], 14_900 * USD);
    assert_eq!(
        record["fund_paid"],
        1_200 * USD,
        "1,000 USD + its 200 USD fee"
    );
    assert_eq!(record["socialized"], 13_700 * USD);
    assert_eq!(ledger.show(&["--liquidator", "7"])["balance"], 200 * USD);
    ledger.check();

    // The new state is closed out: nothing left, zero quote; it meets (trivially).
    let state = read_json(&next);
    assert_eq!(state["account"]["quote"], 0);
    assert!(state["account"]["positions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p == 0));
    let closed = d.path().join("closed.json");
    w.prove(&next, &crash, &closed, &["--expect", "meets"]).ok();
    w.verify(&closed, &[]).ok();
}

#[test]
fn settling_the_same_transition_twice_is_a_replay() {
    let w = world();
    let l = liquidated();
    let ledger = TestLedger::new();
    ledger.register(2, &l.old_commitment);
    ledger.settle(&l.transition, &[]).ok();
    let before = ledger.show(&[]);

    let line = ledger
        .settle(&l.transition, &[])
        .fails(4, &["transition.json", "(replay)", "already applied"]);
    assert!(line.contains("nothing was applied again"), "{line}");
    let run = ledger.settle(&l.transition, &["--json"]);
    assert_eq!(run.code, 4);
    let v = run.json();
    assert_eq!(v["settled"], false);
    assert_eq!(v["stage"], "apply");
    assert_eq!(v["error"]["code"], "replay");
    assert_eq!(ledger.show(&[]), before, "nothing changed");
    assert_eq!(
        ledger.show(&["--account", "2"])["commitment"],
        l.new_commitment.as_str()
    );
    ledger.check();
    let _ = w;
}

#[test]
fn settling_after_the_venue_replaced_the_commitment_is_stale() {
    let w = world();
    let l = liquidated();
    let d = tempfile::tempdir().unwrap();
    let ledger = TestLedger::new();
    ledger.register(2, &l.old_commitment);
    // The venue updates the account (a trade) before the liquidation arrives.
    let moved = d.path().join("moved.json");
    zk(
        d.path(),
        &[
            "account",
            "new",
            "--id",
            "2",
            "--nonce",
            "1",
            "-o",
            s(&moved),
            "--token",
            "ETH=11",
            "--quote=-80000",
            "--position",
            "BTC-PERP=1",
        ],
    )
    .ok();
    let c_moved = w.commitment(&moved);
    ledger
        .op(
            "replace",
            &[
                "--account",
                "2",
                "--expected",
                &l.old_commitment,
                "--new",
                &c_moved,
            ],
        )
        .ok();
    let before = ledger.show(&[]);
    ledger
        .settle(&l.transition, &[])
        .fails(4, &["(stale_commitment)", "liquidate its current state"]);
    assert_eq!(ledger.show(&[]), before);
    assert_eq!(
        ledger.show(&["--account", "2"])["commitment"],
        c_moved.as_str()
    );
    // The venue's own stale update is refused the same way.
    ledger
        .op(
            "replace",
            &[
                "--account",
                "2",
                "--expected",
                &l.old_commitment,
                "--new",
                &l.new_commitment,
            ],
        )
        .fails(1, &["stale_commitment"]);
    ledger.check();
}

/// A copy of `bundle` with its liquidation statement (and the rest) edited.
fn tampered(dir: &Path, name: &str, bundle: &Path, edit: impl FnOnce(&mut ProofBundle)) -> PathBuf {
    let mut b: ProofBundle = serde_json::from_str(&fs::read_to_string(bundle).unwrap()).unwrap();
    edit(&mut b);
    let path = dir.join(name);
    fs::write(&path, serde_json::to_string_pretty(&b).unwrap()).unwrap();
    path
}

fn statement(b: &mut ProofBundle) -> &mut zkmargin_verifier::LiquidationStatement {
    match &mut b.statement {
        Statement::Liquidation(s) => s,
        Statement::Margin(_) => panic!("a transition bundle"),
    }
}

#[test]
fn tampered_transitions_are_rejected_by_verify_and_by_settle() {
    let w = world();
    let l = liquidated();
    let d = tempfile::tempdir().unwrap();
    let other = w.commitment(&w.healthy);
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        (
            "amount + 1",
            tampered(d.path(), "amount.json", &l.transition, |b| {
                let s = statement(b);
                s.action = s.action.with_amount(s.action.amount() + 1);
            }),
            "liquidation_terms_mismatch",
        ),
        (
            "amount + 1 with its own terms",
            tampered(d.path(), "amount-terms.json", &l.transition, |b| {
                let params = RiskParams::development();
                let report = b.report.report.clone();
                let prices = Prices::from_feeds(&params, |f| report.price(f)).unwrap();
                let s = statement(b);
                s.action = s.action.with_amount(s.action.amount() + 1);
                s.terms = LiquidationTerms::of(&s.action, &prices, &params).unwrap();
            }),
            "invalid_proof",
        ),
        (
            "fee moved to the liquidator",
            tampered(d.path(), "fees.json", &l.transition, |b| {
                let t = &mut statement(b).terms;
                t.liquidator_fee += 1;
                t.insurance_fee -= 1;
            }),
            "liquidation_terms_mismatch",
        ),
        (
            "another liquidator",
            tampered(d.path(), "liquidator.json", &l.transition, |b| {
                statement(b).liquidator = 8;
            }),
            "invalid_proof",
        ),
        (
            "a deficit claimed",
            tampered(d.path(), "deficit.json", &l.transition, |b| {
                statement(b).deficit = 1;
            }),
            "invalid_proof",
        ),
        (
            "another new commitment",
            tampered(d.path(), "new.json", &l.transition, |b| {
                statement(b).new_commitment = zkmargin::circuits::Commitment(
                    zkmargin::circuits::fr_from_hex(&other).unwrap(),
                );
            }),
            "invalid_proof",
        ),
    ];
    let ledger = TestLedger::new();
    ledger.register(2, &l.old_commitment);
    let before = ledger.show(&[]);
    for (what, path, code) in &cases {
        let name = path.file_name().unwrap().to_str().unwrap();
        let line = w.verify(path, &[]).fails(3, &[name, code]);
        assert!(!line.contains("VALID"), "{what}: {line}");
        ledger
            .settle(path, &[])
            .fails(3, &[name, code, "nothing was applied"]);
    }
    assert_eq!(
        ledger.show(&[]),
        before,
        "no tampered transition reached the ledger"
    );
    // The genuine transition still settles on the same ledger.
    ledger.settle(&l.transition, &[]).ok();
    ledger.check();
}

#[test]
fn liquidate_refuses_what_it_cannot_prove() {
    let w = world();
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("t.json");
    let next = d.path().join("n.json");

    // A healthy account.
    w.liquidate(&w.healthy, &w.report, &out, &next, &[]).fails(
        1,
        &[
            "healthy.json",
            "meets its maintenance margin",
            "nothing to liquidate",
        ],
    );

    // A report without a feed the parameters need.
    let no_doge = d.path().join("no-doge.json");
    w.sign(&no_doge, &PRICES[..4], &["--signers", "2"]).ok();
    w.liquidate(&w.breaching, &no_doge, &out, &next, &[]).fails(
        1,
        &["no-doge.json", "DOGE/USD", "sign a report that includes"],
    );

    // A stale report.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale = d.path().join("stale.json");
    let observed = (now - 1_000).to_string();
    w.sign(
        &stale,
        &PRICES,
        &[
            "--signers",
            "2",
            "--observed-at",
            &observed,
            "--ttl",
            "7200",
        ],
    )
    .ok();
    w.liquidate(&w.breaching, &stale, &out, &next, &[]).fails(
        1,
        &["stale.json", "s old, at most 300 s", "fresh signed report"],
    );

    // Signed by another committee (the public development one).
    let foreign = d.path().join("foreign.json");
    let mut args = vec!["oracle", "sign", "-o", s(&foreign)];
    for p in PRICES {
        args.extend(["--price", p]);
    }
    zk(w.path(), &args).ok();
    w.liquidate(&w.breaching, &foreign, &out, &next, &[])
        .fails(1, &["foreign.json", "is not in the oracle committee"]);

    // Not the committed state.
    let wrong = w.commitment(&w.healthy);
    w.liquidate(
        &w.breaching,
        &w.report,
        &out,
        &next,
        &["--commitment", &wrong],
    )
    .fails(1, &["breaching.json", "not to the expected commitment"]);

    // Nothing was written by any refusal.
    assert!(!out.exists() && !next.exists());

    // Outputs: distinct files, never overwritten without --force.
    w.liquidate(&w.breaching, &w.report, &out, &out, &[])
        .fails(1, &["-o and --new-account", "give two files"]);
    fs::write(&next, "{}").unwrap();
    w.liquidate(&w.breaching, &w.report, &out, &next, &[])
        .fails(1, &["n.json", "already exists", "--force"]);
    assert!(!out.exists(), "refused before proving: no bundle");
    w.liquidate(&w.breaching, &w.report, &out, &next, &["--force"])
        .ok();
    assert!(out.exists());

    // A liquidator id the ledger could not credit.
    w.liquidate(
        &w.breaching,
        &w.report,
        &out,
        &next,
        &["--force", "--liquidator", "9223372036854775808"],
    )
    .fails(1, &["liquidator id 9223372036854775808", "2^63"]);
}

#[test]
fn keys_without_the_liquidation_circuit_name_the_fix() {
    let w = world();
    let l = liquidated();
    let keys = keys_copy();
    edit_json(&keys.path().join("manifest.json"), |m| {
        m["circuits"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["id"] == "zkmargin.margin.v1");
    });
    let d = tempfile::tempdir().unwrap();
    let needles = ["zkmargin.liquidation.v2", "zkmargin setup"];
    w.liquidate(
        &w.breaching,
        &w.report,
        &d.path().join("t.json"),
        &d.path().join("n.json"),
        &["--keys", s(keys.path())],
    )
    .fails(1, &needles);
    w.verify_with(keys.path(), &l.transition, &[])
        .fails(1, &needles);
    // Margin bundles still verify with those keys.
    let bundle = d.path().join("b.json");
    w.prove(&w.breaching, &w.report, &bundle, &[]).ok();
    w.verify_with(keys.path(), &bundle, &[]).ok();
}

#[test]
fn transition_bundles_verify_inspect_and_report_in_json() {
    let w = world();
    let l = liquidated();
    // `liquidate --json` said what the bundle holds.
    let out = &l.output;
    assert_eq!(out["old_commitment"], l.old_commitment.as_str());
    assert_eq!(out["liquidator"], 7);
    assert_eq!(out["development_keys"], true);
    assert!(out["prove_ms"].as_f64().unwrap() > 0.0);

    let run = w.verify(&l.transition, &[]);
    let text = run.ok();
    for needle in [
        "VALID: liquidation of account",
        &l.old_commitment,
        &l.new_commitment,
        "action     seize",
        "ETH",
        "penalty",
        "liquidator 7 gets",
        "statement",
        "DEVELOPMENT keys",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    let run = w.verify(&l.transition, &["--json"]);
    run.ok();
    let v = run.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["circuit"], "zkmargin.liquidation.v2");
    assert_eq!(v["transition"]["statement_digest"], out["statement_digest"]);
    assert_eq!(v["transition"]["terms"], out["terms"]);

    let run = zk(w.path(), &["inspect", s(&l.transition)]);
    let text = run.ok();
    for needle in [
        "zkmargin.liquidation.v2",
        "old         ",
        "new         ",
        "liquidator  7",
        "seize",
        "the development parameters",
        "not verified here",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    let run = zk(w.path(), &["inspect", s(&l.transition), "--json"]);
    run.ok();
    let v = run.json();
    assert_eq!(v["kind"], "proof_bundle");
    assert_eq!(v["circuit"], "zkmargin.liquidation.v2");
    assert_eq!(v["statement"]["new_commitment"], l.new_commitment.as_str());

    // The new account file: private, at the next nonce, opening the new commitment.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&l.next).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(w.commitment(&l.next), l.new_commitment);
    assert_eq!(read_json(&l.next)["account"]["nonce"], 1);
    let run = zk(w.path(), &["inspect", s(&l.next), "--json"]);
    assert_eq!(run.json()["commitment"], l.new_commitment.as_str());
}

#[test]
fn settle_refuses_inputs_it_cannot_use() {
    let w = world();
    let l = liquidated();
    let d = tempfile::tempdir().unwrap();
    let ledger = TestLedger::new();
    // A margin bundle is not a transition.
    let bundle = d.path().join("margin.json");
    w.prove(&w.breaching, &w.report, &bundle, &[]).ok();
    ledger.settle(&bundle, &[]).fails(
        1,
        &["margin.json", "not a liquidation", "zkmargin liquidate"],
    );
    // A transition whose old commitment the ledger never registered.
    ledger
        .settle(&l.transition, &[])
        .fails(4, &["stale_commitment"]);
    // Not a database URL.
    let run = zk(
        w.path(),
        &[
            "ledger",
            "settle",
            s(&l.transition),
            "--db",
            "mysql://somewhere/db",
            "--keys",
            s(&w.keys),
            "--oracle",
            s(&w.oracle),
            "--allow-development",
        ],
    );
    run.fails(1, &["invalid_database_url"]);
    // An operator call with the wrong secret.
    let wrong = d.path().join("wrong.secret");
    fs::write(&wrong, "0123456789abcdef0123456789abcdef").unwrap();
    ledger
        .run(
            "fund",
            &["--operator-secret-file", s(&wrong), "--amount", "5"],
        )
        .fails(1, &["ledger fund failed", "operator_key_rejected"]);
    assert_eq!(ledger.show(&[])["insurance_fund"], 0);
}

/// Settlement writes money. On the world's development keys and the development risk
/// parameters `ledger settle` refuses, in one line naming each development part and
/// its fix, with exit code 1, before it opens the ledger: nothing is written. On the
/// development defaults (no --keys, --oracle or --params) the line names all three.
/// `--at` is refused without `--allow-development` (exit 2). With the flag, or its
/// environment variable, the same transition settles, with a warning.
#[test]
fn settle_refuses_development_trust_without_the_flag() {
    let w = world();
    let l = liquidated();
    let ledger = TestLedger::new();
    ledger.register(2, &l.old_commitment);
    ledger.fund(100 * USD);
    let before = ledger.state();

    // The world's keys (development) and no --params; its committee is a fresh one.
    let run = ledger.settle_with(
        &l.transition,
        &["--keys", s(&w.keys), "--oracle", s(&w.oracle)],
    );
    let line = run.fails(
        1,
        &[
            "refusing to settle on a development trust configuration",
            "development keys",
            s(&w.keys),
            "development risk parameters (no --params given)",
            "drain the insurance fund",
            "zkmargin setup --production",
            "--params FILE",
            "--allow-development",
        ],
    );
    assert!(!line.contains("oracle committee"), "{line}");
    assert_eq!(run.stderr.lines().count(), 1, "one line:\n{}", run.stderr);

    // The development defaults, all three: `keys/` in the working directory.
    let run = zk(
        w.path(),
        &["ledger", "settle", s(&l.transition), "--db", &ledger.url],
    );
    run.fails(
        1,
        &[
            "development keys",
            "the development oracle committee (no --oracle given",
            "no --params given",
            "--keys DIR from `zkmargin setup --production`",
            "--oracle FILE",
            "--params FILE",
            "--allow-development",
        ],
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line:\n{}", run.stderr);

    // A chosen clock on a path that writes money: only for test ledgers.
    let at = now().to_string();
    let args = ["--keys", s(&w.keys), "--oracle", s(&w.oracle), "--at", &at];
    ledger
        .settle_with(&l.transition, &args)
        .fails(2, &["--at", "--allow-development"]);
    assert_eq!(ledger.state(), before, "nothing was written");
    assert_eq!(
        ledger.show(&["--account", "2"])["commitment"],
        l.old_commitment.as_str()
    );
    ledger.check();

    // --at with the flag is honoured: an hour later the report is stale.
    let late = (now() + 3600).to_string();
    ledger
        .settle(&l.transition, &["--at", &late])
        .fails(3, &["nothing was applied"]);
    assert_eq!(ledger.state(), before);

    // With ZKMARGIN_ALLOW_DEVELOPMENT it settles, loudly; --at now is allowed.
    let run = ledger.run_env(
        "settle",
        &[
            s(&l.transition),
            "--keys",
            s(&w.keys),
            "--oracle",
            s(&w.oracle),
            "--at",
            &at,
        ],
        &[("ZKMARGIN_ALLOW_DEVELOPMENT", "1")],
    );
    assert!(run.ok().contains("SETTLED"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("SETTLING ON A DEVELOPMENT TRUST CONFIGURATION"),
        "{}",
        run.stderr
    );
    assert_eq!(
        ledger.show(&["--account", "2"])["commitment"],
        l.new_commitment.as_str()
    );
    ledger.check();
}

/// With production trust — keys from `setup --production`, the world's committee of
/// fresh signers, the venue's own parameters — a transition settles without the flag
/// and nothing is said about development.
#[test]
fn settle_on_production_trust_needs_no_flag() {
    let w = world();
    let d = tempfile::tempdir().unwrap();
    let keys = d.path().join("production-keys");
    zk(d.path(), &["setup", "--production", "--keys", s(&keys)]).ok();
    let mut venue = RiskParams::development();
    venue.revision = 2;
    let params = d.path().join("venue-params.json");
    fs::write(&params, serde_json::to_vec_pretty(&venue).unwrap()).unwrap();

    let transition = d.path().join("transition.json");
    let next = d.path().join("next.json");
    let old = w.commitment(&w.breaching);
    w.liquidate(
        &w.breaching,
        &w.report,
        &transition,
        &next,
        &["--keys", s(&keys), "--params", s(&params)],
    )
    .ok();
    let ledger = TestLedger::new();
    ledger.register(2, &old);
    let args = [
        "--keys",
        s(&keys),
        "--oracle",
        s(&w.oracle),
        "--params",
        s(&params),
    ];
    // The ledger is pinned to the world's keys: the production ones are refused until
    // the operator rotates the pin, and nothing is written.
    let before = ledger.state();
    ledger.settle_with(&transition, &args).fails(
        4,
        &["(untrusted_verifier)", "verifying key", "ledger trust"],
    );
    assert_eq!(ledger.state(), before);
    let rotated = ledger.op("trust", &args);
    assert!(
        rotated.ok().contains("trust pinned: liquidation key")
            && rotated.ok().contains("(was: liquidation key"),
        "{}",
        rotated.stdout
    );
    let events = ledger.run("events", &["--json"]);
    assert!(events.ok().contains("trust_pinned"), "{}", events.stdout);
    // Pinning development trust needs the flag, as settling on it does.
    ledger
        .op("trust", &["--keys", s(&keys)])
        .fails(1, &["development", "--allow-development"]);

    let run = ledger.settle_with(&transition, &args);
    assert!(run.ok().contains("SETTLED"), "{}", run.stdout);
    for word in ["DEVELOPMENT", "development", "warning"] {
        assert!(!run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
    }
    assert_eq!(
        ledger.show(&["--account", "2"])["commitment"],
        w.commitment(&next).as_str()
    );
    ledger.check();
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Deep breach, two positions: the whole BTC position is closed (the close factor does
/// not apply in deep breach) and the ETH one is left, so the account is not restored.
/// The reason printed is the true one, never "the close factor capped the action".
#[test]
fn a_deep_breach_close_that_falls_short_says_why() {
    let w = world();
    let d = tempfile::tempdir().unwrap();
    let account = d.path().join("deep.json");
    zk(
        d.path(),
        &[
            "account",
            "new",
            "--id",
            "11",
            "-o",
            s(&account),
            "--quote=-54500",
            "--position",
            "BTC-PERP=1",
            "--position",
            "ETH-PERP=1",
        ],
    )
    .ok();
    // BTC at 40,000, ETH at 2,900: equity −11,600 USD, requirement 1,287 USD (deep
    // breach: E < 0.95·R). Closing all of BTC gains the most; ETH stays open, so there
    // is no deficit and the account is still in breach.
    let crash = sign(d.path(), "crash.json", &prices(2_900, 40_000), &[]);
    let transition = d.path().join("transition.json");
    let next = d.path().join("next.json");
    let run = w.liquidate(&account, &crash, &transition, &next, &[]);
    let text = run.ok();
    let health = text
        .lines()
        .find(|l| l.trim_start().starts_with("health"))
        .unwrap_or_else(|| panic!("no health line:\n{text}"));
    for needle in [
        "NOT restored yet",
        "in deep breach the close factor does not apply",
        "whole slot was taken",
        "liquidate the new state again",
    ] {
        assert!(health.contains(needle), "{needle:?} missing: {health}");
    }
    assert!(!health.contains("capped"), "{health}");
    let state = read_json(&next);
    assert_eq!(state["account"]["positions"][0], 0, "BTC closed whole");
    assert_eq!(
        state["account"]["positions"][1], 1_000_000_000,
        "ETH left open"
    );
}
