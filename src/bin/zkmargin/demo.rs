//! `zkmargin demo`: the whole flow on embedded defaults, in a temporary directory.
//!
//! It settles in-process on development keys and parameters, on a throwaway ledger:
//! a development demo, which says so; `ledger settle` and `serve --ledger` refuse that
//! trust without `--allow-development`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use rand::{rngs::OsRng, RngCore};
use serde_json::{json, Value};
use zkmargin_circuits::{Account, Commitment, RiskParams, Status};
use zkmargin_oracle::SignedReport;
use zkmargin_prover::{
    files::{load_bundle, write_file, write_json, WriteOptions},
    AccountFile, CommitteeFile, KeyMode, LiquidationProver, LiquidationRequest, MarginProver,
    MarginRequest, OracleCheck, DEFAULT_TAU_PPM,
};
use zkmargin_settlement::{Ledger, OperatorKey, PinnedTrust, SettleError, SettleFailure, Settler};
use zkmargin_verifier::{ProofBundle, Statement, SystemClock, Verdict, Verifier};

use zkmargin::runtime::{self, Flavor};

use crate::{
    describe::{self, money},
    oracle::report_from_prices,
    prove::{health_text, load_key, load_prover},
    setup::run_setup,
    ui::{self, Out},
    units::format_amount,
};

/// Arguments of `zkmargin demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Write the demo's files into DIR and keep them (default: a temporary directory, removed).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Use the keys in DIR instead of a fresh development setup.
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
}

/// Illustrative prices (10^-9 quote units per asset atomic unit, quote = 1e-6 USD):
/// ETH 2,900 USD (1e-9 ETH units), BTC 57,000 USD (satoshis), SOL 150 USD (1e-9),
/// USDC 1 USD (1e-6), DOGE 0.10 USD (1e-6).
const PRICES: [(&str, u64); 5] = [
    ("ETH/USD", 2_900_000_000),
    ("BTC/USD", 570_000_000_000),
    ("SOL/USD", 150_000_000),
    ("USDC/USD", 1_000_000_000),
    ("DOGE/USD", 100_000_000),
];

const STEPS: usize = 19;

struct Steps<'a> {
    out: &'a Out,
    n: usize,
    log: Vec<Value>,
}

impl Steps<'_> {
    fn done(&mut self, name: &str, text: String, took: Duration) {
        self.n += 1;
        self.out.line(format!(
            "[{:>2}/{STEPS}] {name:<9} {text}  ({})",
            self.n,
            ui::duration(took)
        ));
        self.log
            .push(json!({ "step": name, "detail": text, "ms": ui::millis(took) }));
    }

    fn detail(&self, text: String) {
        self.out.line(format!("{:18}{text}", ""));
    }
}

pub fn run(args: DemoArgs, out: &Out) -> anyhow::Result<()> {
    let started = Instant::now();
    let temp;
    let dir: PathBuf = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("cannot create demo directory {}", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("zkmargin-demo-")
                .tempdir()
                .context("cannot create a temporary directory for the demo")?;
            temp.path().to_owned()
        }
    };
    out.line(format!(
        "zkmargin demo: the whole flow on development defaults, in {}",
        dir.display()
    ));
    let mut steps = Steps {
        out,
        n: 0,
        log: Vec::new(),
    };
    let write = |name: &str, value: &dyn erased::Json, private: bool| -> anyhow::Result<PathBuf> {
        let path = dir.join(name);
        value.write(&path, private)?;
        Ok(path)
    };

    // 1. Keys.
    let t = Instant::now();
    let (keys_dir, how) = match &args.keys {
        Some(k) => (k.clone(), format!("loaded from {}", k.display())),
        None => {
            let k = dir.join("keys");
            run_setup(&k, KeyMode::Development)?;
            (
                k,
                "Groth16 setup from the public development seed".to_string(),
            )
        }
    };
    let prover = load_prover(&keys_dir)?;
    let liquidator = load_key(&keys_dir, |on_event| {
        LiquidationProver::load(&keys_dir, on_event)
    })?;
    let mut circuits = Vec::new();
    for circuit in [prover.key().circuit, liquidator.key().circuit] {
        let shape = circuit
            .shape()
            .with_context(|| format!("cannot synthesize circuit {}", circuit.id))?;
        circuits.push(format!(
            "{} ({} constraints, {} public inputs)",
            circuit.id,
            ui::thousands(shape.constraints as u128),
            circuit.public_inputs
        ));
    }
    steps.done(
        "keys",
        format!(
            "{how}: {}{}",
            circuits.join(", "),
            if prover.key().development {
                ", UNSAFE development keys"
            } else {
                ""
            }
        ),
        t.elapsed(),
    );

    // 2. Risk parameters.
    let t = Instant::now();
    let params = RiskParams::development();
    write("risk-params.json", &params, false)?;
    steps.done(
        "params",
        format!(
            "development risk parameters, revision {}: {} tokens, {} perpetual markets, digest {}",
            params.revision,
            params.tokens.len(),
            params.markets.len(),
            ui::short(&hex::encode(params.digest()))
        ),
        t.elapsed(),
    );

    // 3. Oracle committee.
    let t = Instant::now();
    let committee = CommitteeFile::generate(3, 2, 300, 5, &mut OsRng)?;
    write("committee.json", &committee, true)?;
    write("oracle.json", &committee.config, false)?;
    steps.done(
        "committee",
        format!(
            "3 fresh secp256k1 oracle signers, quorum 2, reports at most 300 s old; config digest {}",
            ui::short(&hex::encode(committee.config.digest()))
        ),
        t.elapsed(),
    );

    // 4. Accounts.
    let t = Instant::now();
    let alice = alice_account();
    let bob = bob_account();
    let carol = carol_account();
    write("alice.json", &AccountFile::new(alice.clone()), true)?;
    write("bob.json", &AccountFile::new(bob.clone()), true)?;
    write("carol.json", &AccountFile::new(carol.clone()), true)?;
    steps.done(
        "accounts",
        format!(
            "alice (diversified, healthy) {}, bob (10 ETH, -80,000 USD, 1 BTC-PERP long) {}, carol (10,000 USDC, 2.8 ETH borrowed) {}",
            ui::short(&Commitment::of(&alice).to_string()),
            ui::short(&Commitment::of(&bob).to_string()),
            ui::short(&Commitment::of(&carol).to_string())
        ),
        t.elapsed(),
    );

    // 5. Signed report.
    let t = Instant::now();
    let now = ui::now();
    let prices: Vec<(String, u64)> = PRICES.iter().map(|(f, p)| (f.to_string(), *p)).collect();
    let report = SignedReport::sign(
        report_from_prices(&prices, now, 60, 200)?,
        &committee.keys[..2],
    );
    write("report.json", &report, false)?;
    steps.done(
        "report",
        format!(
            "{} feeds (ETH 2,900, BTC 57,000, SOL 150, USDC 1, DOGE 0.10 USD) observed {}, signed by 2 of 3",
            report.report.feeds.len(),
            ui::utc(now)
        ),
        t.elapsed(),
    );

    // 6. Proofs.
    let oracle = OracleCheck {
        config: &committee.config,
        now,
    };
    let mut bundles = Vec::new();
    for (name, account, expected) in [
        ("alice", &alice, Status::Meets),
        ("bob", &bob, Status::Breaches),
    ] {
        let request = MarginRequest {
            account,
            params: &params,
            report: &report,
            tau_ppm: DEFAULT_TAU_PPM,
            expect: Some(expected),
            commitment: Some(Commitment::of(account)),
            oracle: Some(oracle),
        };
        let (proof, took) = ui::timed(format!("proving {name}"), || prove(&prover, &request));
        let proof = proof.with_context(|| format!("cannot prove {name}'s account"))?;
        let path = write(&format!("{name}.bundle.json"), &proof.bundle, false)?;
        steps.done(
            "prove",
            format!(
                "{name}: {} ({}, private), self-verified; bundle {} bytes",
                proof.public.status,
                health_text(&proof.health, DEFAULT_TAU_PPM, &params),
                std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
            ),
            took,
        );
        bundles.push((name, path, expected));
    }

    // 7. Verification, from the files, as a liquidator would.
    let t = Instant::now();
    let verifier = Arc::new(
        Verifier::from_keys_dir(&keys_dir, committee.config.clone(), vec![params.clone()])
            .with_context(|| format!("cannot load the verifying key from {}", keys_dir.display()))?
            .with_clock(Arc::new(SystemClock)),
    );
    let setup_time = t.elapsed();
    let mut verified = Vec::new();
    for (name, path, expected) in &bundles {
        let bundle = load_bundle(path)?;
        let t = Instant::now();
        let verdict = verifier
            .verify(&bundle)
            .with_context(|| format!("{name}'s bundle {} was rejected", path.display()))?;
        let took = t.elapsed();
        let status = match verdict {
            Verdict::Meets(_) => Status::Meets,
            Verdict::Breach(_) => Status::Breaches,
        };
        if status != *expected {
            bail!("{name}'s bundle verified as {status}, expected {expected}: this is a bug");
        }
        verified.push(format!("{name} {status} ({})", ui::duration(took)));
        bundles_checked(&mut steps.log, name, status, took);
    }
    steps.done(
        "verify",
        format!(
            "verifier library (key loaded in {}): {}",
            ui::duration(setup_time),
            verified.join(", ")
        ),
        t.elapsed(),
    );

    // 8. Tampering.
    let t = Instant::now();
    let bob_bundle = load_bundle(&bundles[1].1)?;
    let alice_bundle = load_bundle(&bundles[0].1)?;
    let mut rejected = Vec::new();
    for (what, tampered) in tampered_bundles(&alice_bundle, &bob_bundle) {
        match verifier.verify(&tampered) {
            Ok(_) => bail!("a tampered bundle ({what}) was accepted: this is a bug"),
            Err(e) => rejected.push((what, e.code())),
        }
    }
    steps.done(
        "tamper",
        format!("{} tampered bundles, all rejected:", rejected.len()),
        t.elapsed(),
    );
    for (what, code) in &rejected {
        steps.detail(format!("{what}: rejected ({code})"));
    }

    // 10–15. Liquidation and settlement.
    let liquidation = liquidate_and_settle(
        &mut steps,
        &Liquidation {
            dir: &dir,
            margin: &prover,
            prover: &liquidator,
            verifier: &verifier,
            params: &params,
            report: &report,
            oracle,
            accounts: [("alice", &alice), ("bob", &bob), ("carol", &carol)],
        },
        &write,
    )?;

    let total = started.elapsed();
    out.json(&json!({
        "ok": true,
        "dir": args.dir,
        "steps": steps.log,
        "tampered_rejected": rejected.iter().map(|(w, c)| json!({"tamper": w, "code": c})).collect::<Vec<_>>(),
        "liquidations": liquidation["liquidations"],
        "replay": liquidation["replay"],
        "total_ms": ui::millis(total),
    }))?;
    out.line(format!(
        "demo complete in {}: 6 proofs made and verified, {} tampered bundles rejected, bob (a seizure) and carol (a repayment of her borrow) liquidated and settled without the ledger seeing a balance, the replay refused (a development demo, not a production setup){}",
        ui::duration(total),
        rejected.len(),
        match &args.dir {
            Some(d) => format!("; files kept in {}", d.display()),
            None => String::new(),
        }
    ));
    Ok(())
}

/// What the liquidation half of the demo works with.
struct Liquidation<'a> {
    dir: &'a Path,
    margin: &'a MarginProver,
    prover: &'a LiquidationProver,
    verifier: &'a Arc<Verifier>,
    params: &'a RiskParams,
    report: &'a SignedReport,
    oracle: OracleCheck<'a>,
    /// The accounts registered on the ledger: the healthy one, then the two that
    /// breach (a perpetual's loss, a token borrow), which are liquidated.
    accounts: [(&'static str, &'a Account); 3],
}

/// The liquidator the demo credits.
const LIQUIDATOR: u64 = 7;
/// The insurance fund's opening balance: 1,000 USD.
const FUND: u64 = 1_000_000_000;

/// Steps 10–19: the ledger; for bob and for carol: liquidate, verify the transition,
/// settle it, prove the new state at the target buffer; then refuse bob's replay.
/// Returns the JSON summary of the liquidations.
fn liquidate_and_settle(
    steps: &mut Steps<'_>,
    l: &Liquidation<'_>,
    write: &dyn Fn(&str, &dyn erased::Json, bool) -> anyhow::Result<PathBuf>,
) -> anyhow::Result<Value> {
    let runtime = runtime::new(Flavor::CurrentThread)
        .context("cannot start the async runtime for the demo ledger")?;
    let settle_err =
        |what: &str, e: SettleError| anyhow!("demo ledger: {what} failed ({}): {e}", e.code());

    // 10. A ledger that knows each account by its commitment only.
    let t = Instant::now();
    let db = l.dir.join("ledger.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let secret = hex::encode(secret);
    let secret_path = l.dir.join("operator.secret");
    write_file(
        &secret_path,
        format!("{secret}\n").as_bytes(),
        WriteOptions {
            private: true,
            overwrite: true,
        },
    )?;
    let key = OperatorKey::new(secret.into_bytes()).map_err(|e| settle_err("operator key", e))?;
    let ledger = runtime
        .block_on(async {
            let ledger = Ledger::open(&url).await?;
            ledger.init(&key).await?;
            // Pinned to the demo's own verifier: the ledger accepts nothing else.
            ledger
                .pin_trust(&key, &PinnedTrust::of(l.verifier)?)
                .await?;
            for (_, account) in l.accounts {
                ledger
                    .register_account(&key, account.id, &Commitment::of(account))
                    .await?;
            }
            ledger.fund_deposit(&key, FUND).await?;
            Ok::<_, SettleError>(ledger)
        })
        .map_err(|e| settle_err("setup", e))?;
    // Verify-then-apply, as `ledger settle` and `POST /v1/settle` do it.
    let settler = Settler::new(l.verifier.clone(), ledger);
    steps.done(
        "ledger",
        format!(
            "throwaway SQLite ledger {}: operator key set, alice, bob and carol registered by commitment only, insurance fund capitalized with {}",
            db.file_name().map(|f| f.to_string_lossy()).unwrap_or_default(),
            money(i128::from(FUND), Some(l.params))
        ),
        t.elapsed(),
    );

    // 11–18. Liquidate bob (his perp's loss breaches; the rules seize part of his ETH)
    // and carol (her borrow breaches; the rules repay part of it): the rules choose
    // each action, the proof hides the balances.
    let mut summaries = Vec::new();
    let mut first_bundle = None;
    for (name, account) in &l.accounts[1..] {
        let (summary, bundle) = liquidate_one(steps, l, &settler, &runtime, name, account, write)?;
        summaries.push(summary);
        first_bundle.get_or_insert(bundle);
    }
    let bundle = first_bundle.context("the demo liquidates at least one account")?;

    // 15. The same transition again: keyed on its statement, never applied twice.
    let t = Instant::now();
    let replay = runtime.block_on(async {
        let replay = settler.settle(&bundle).await;
        settler.ledger().close().await;
        replay
    });
    let replay_code = match replay {
        Ok(_) => bail!("the ledger applied the same transition twice: this is a bug"),
        Err(SettleFailure::Apply {
            error: e @ SettleError::Replay { .. },
            ..
        }) => e.code(),
        Err(e) => bail!("demo ledger: the replay check failed ({}): {e}", e.code()),
    };
    steps.done(
        "replay",
        format!("settling the same transition again is refused ({replay_code}); the ledger is unchanged"),
        t.elapsed(),
    );

    Ok(json!({
        "liquidations": summaries,
        "replay": replay_code,
    }))
}

/// Steps 11–14 (and 15–18) for one breaching account: liquidate it, verify the
/// transition from its file, settle it, and prove the new state at the liquidation
/// target τ_target (T(τ) ≤ H(τ), so an account the liquidation restored to the target
/// buffer meets its margin there). Returns the JSON summary and the transition bundle.
fn liquidate_one(
    steps: &mut Steps<'_>,
    l: &Liquidation<'_>,
    settler: &Settler,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    account: &Account,
    write: &dyn Fn(&str, &dyn erased::Json, bool) -> anyhow::Result<PathBuf>,
) -> anyhow::Result<(Value, ProofBundle)> {
    // 11. Liquidate bob: the rules choose the action, the proof hides his balances.
    let request = LiquidationRequest {
        account,
        params: l.params,
        report: l.report,
        liquidator: LIQUIDATOR,
        oracle: Some(l.oracle),
        commitment: Some(Commitment::of(account)),
        new_blinding: None,
    };
    let (proof, took) = ui::timed(format!("liquidating {name}"), || {
        l.prover.prove(&request, &mut OsRng)
    });
    let proof = proof.with_context(|| format!("cannot liquidate {name}'s account"))?;
    let transition_path = write(&format!("{name}.transition.json"), &proof.bundle, false)?;
    write(
        &format!("{name}.next.json"),
        &AccountFile::new(proof.new_account.clone()),
        true,
    )?;
    let p = &proof.public;
    steps.done(
        "liquidate",
        format!(
            "{name}: {} for liquidator {LIQUIDATOR}, self-verified; health {} → {} (private)",
            describe::action(&p.action, Some(l.params)),
            health_text(&proof.health_before, DEFAULT_TAU_PPM, l.params),
            health_text(&proof.health_after, DEFAULT_TAU_PPM, l.params),
        ),
        took,
    );
    for line in describe::terms_lines(&p.terms, p.deficit, p.liquidator, Some(l.params), 8) {
        steps.detail(line);
    }
    steps.detail(format!(
        "{} → {}",
        ui::short(&p.old_commitment.to_string()),
        ui::short(&p.new_commitment.to_string())
    ));

    // 12. The transition, verified from its file as the settlement node would.
    let bundle = load_bundle(&transition_path)?;
    let t = Instant::now();
    let verified = settler.verify(&bundle).with_context(|| {
        format!(
            "{name}'s transition {} was rejected",
            transition_path.display()
        )
    })?;
    steps.done(
        "verify",
        format!(
            "transition verified (terms recomputed from the signed prices); statement {}",
            ui::short(&hex::encode(verified.statement_digest()))
        ),
        t.elapsed(),
    );

    // 13. Settle: one transaction; then the invariants replayed from the event log.
    let t = Instant::now();
    let (applied, check) = runtime
        .block_on(async {
            let applied = settler.apply(verified.clone()).await?.settled;
            let check = settler.ledger().check_invariants().await.map_err(|error| {
                SettleFailure::Apply {
                    statement_digest: hex::encode(verified.statement_digest()),
                    error,
                }
            })?;
            Ok::<_, SettleFailure>((applied, check))
        })
        .map_err(|e| anyhow!("demo ledger: settlement failed ({}): {e}", e.code()))?;
    let m = |units: u64| money(i128::from(units), Some(l.params));
    steps.done(
        "settle",
        format!(
            "applied to account {}: liquidator {} credited {}, insurance fund {} (+{}{}); invariants hold over {} events",
            applied.account_id,
            applied.liquidator,
            m(applied.liquidator_fee),
            m(applied.fund_balance),
            m(applied.insurance_fee),
            if applied.deficit > 0 {
                format!(", deficit {} paid {}, socialized {}", m(applied.deficit), m(applied.fund_paid), m(applied.socialized))
            } else {
                String::new()
            },
            check.events
        ),
        t.elapsed(),
    );
    steps.detail(format!(
        "settled on development trust ({}): never settle a real ledger like this; `zkmargin ledger settle` and `zkmargin-verifier serve --ledger` refuse it without --allow-development",
        if l.verifier.development_keys() {
            "development keys anyone can forge proofs with, development risk parameters"
        } else {
            "the development risk parameters"
        }
    ));

    // 14. The new state, proven at the target buffer and verified against the
    // ledger's new commitment.
    let target = l.params.liquidation.liquidation_target_ppm;
    let next = MarginRequest {
        account: &proof.new_account,
        params: l.params,
        report: l.report,
        tau_ppm: target,
        expect: None,
        commitment: Some(applied.new_commitment),
        oracle: Some(l.oracle),
    };
    let t = Instant::now();
    let next_proof =
        prove(l.margin, &next).with_context(|| format!("cannot prove {name}'s new state"))?;
    let next_path = write(
        &format!("{name}.next.bundle.json"),
        &next_proof.bundle,
        false,
    )?;
    let verdict = l
        .verifier
        .verify(&load_bundle(&next_path)?)
        .with_context(|| format!("{name}'s new-state bundle was rejected"))?;
    let status = match verdict {
        Verdict::Meets(_) => Status::Meets,
        Verdict::Breach(_) => Status::Breaches,
    };
    steps.done(
        "prove",
        format!(
            "{name}'s new state {status} its margin at τ = {} (the liquidation target; {}, private), verified{}",
            format_amount(i128::from(target), 6),
            health_text(&next_proof.health, target, l.params),
            if status == Status::Meets {
                ""
            } else {
                ": still short of the target (see `zkmargin liquidate` for why), another liquidation follows"
            }
        ),
        t.elapsed(),
    );

    Ok((
        json!({
            "account": name,
            "transition": verified,
            "applied": applied,
            "new_state_status": status,
            "new_state_tau_ppm": target,
        }),
        bundle,
    ))
}

fn bundles_checked(log: &mut Vec<Value>, name: &str, status: Status, took: Duration) {
    log.push(
        json!({ "step": "verify", "account": name, "status": status, "ms": ui::millis(took) }),
    );
}

fn prove(
    prover: &MarginProver,
    request: &MarginRequest<'_>,
) -> Result<zkmargin_prover::MarginProof, zkmargin_prover::ProveError> {
    prover.prove(request, &mut OsRng)
}

/// Three ways to cheat, each caught by a different check.
fn tampered_bundles(alice: &ProofBundle, bob: &ProofBundle) -> Vec<(&'static str, ProofBundle)> {
    // One byte of bob's proof flipped.
    let mut flipped = bob.clone();
    let mut bytes = hex::decode(&flipped.proof).unwrap_or_default();
    if let Some(b) = bytes.get_mut(40) {
        *b ^= 0x01;
    }
    flipped.proof = hex::encode(bytes);

    // Bob claims he meets his margin with his own (breach) proof.
    let mut claims_meets = bob.clone();
    let Statement::Margin(s) = &mut claims_meets.statement else {
        unreachable!("a margin bundle")
    };
    s.status = Status::Meets;

    // Alice's bundle with a higher ETH price than the oracle signed.
    let mut repriced = alice.clone();
    if let Some(f) = repriced
        .report
        .report
        .feeds
        .iter_mut()
        .find(|f| f.feed_id == "ETH/USD")
    {
        f.price += 1;
        f.ask = f.ask.max(f.price);
    }

    vec![
        ("bob's proof with one byte flipped", flipped),
        ("bob's breach proof presented as \"meets\"", claims_meets),
        (
            "alice's bundle with an ETH price the oracle did not sign",
            repriced,
        ),
    ]
}

/// A diversified, healthy account: 4 ETH, 0.25 BTC, 120 SOL and 15,000 USDC deposited;
/// -12,000 USD quote; short 2 ETH-PERP, long 50 SOL-PERP and 20,000 DOGE-PERP.
/// At the demo prices H ≈ +38,829 USD.
fn alice_account() -> Account {
    let mut a = Account::empty(1001, &mut OsRng);
    a.tokens[..4].copy_from_slice(&[
        4_000_000_000,   // 4 ETH (1e-9)
        25_000_000,      // 0.25 BTC (satoshi)
        120_000_000_000, // 120 SOL (1e-9)
        15_000_000_000,  // 15,000 USDC (1e-6)
    ]);
    a.quote = -12_000_000_000; // -12,000 USD (1e-6)
    a.positions[..4].copy_from_slice(&[
        0,
        -2_000_000_000, // short 2 ETH-PERP
        50_000_000_000, // long 50 SOL-PERP
        20_000_000_000, // long 20,000 DOGE-PERP (1e-6)
    ]);
    a
}

/// SPEC's worked example: 10 ETH deposited, -80,000 USD quote (a 20,000 borrow plus
/// 60,000 paid for a 1 BTC long), 1 BTC-PERP long. At ETH 2,900: H = -640 USD.
fn bob_account() -> Account {
    let mut b = Account::empty(1002, &mut OsRng);
    b.tokens[0] = 10_000_000_000; // 10 ETH
    b.quote = -80_000_000_000; // -80,000 USD
    b.positions[0] = 100_000_000; // 1 BTC-PERP
    b
}

/// A lending account: 10,000 USDC deposited, 2.8 ETH borrowed against it. At ETH
/// 2,900 its equity is 0.95 · 10,000 − 1.2 · 2.8 · 2,900 = −244 USD: the borrow is what
/// breaches, so the rules repay part of it rather than sell the USDC.
fn carol_account() -> Account {
    let mut c = Account::empty(1003, &mut OsRng);
    c.tokens[0] = -2_800_000_000; // −2.8 ETH (1e-9)
    c.tokens[3] = 10_000_000_000; // 10,000 USDC (1e-6)
    c
}

/// Writing any serializable value through `files::write_json` from one closure.
mod erased {
    use super::*;

    pub trait Json {
        fn write(&self, path: &Path, private: bool) -> anyhow::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, path: &Path, private: bool) -> anyhow::Result<()> {
            write_json(
                path,
                self,
                WriteOptions {
                    private,
                    overwrite: true,
                },
            )?;
            Ok(())
        }
    }
}
