//! `zkmargin demo`: the whole flow on embedded defaults, in a temporary directory.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use rand::rngs::OsRng;
use serde_json::{json, Value};
use zkmargin_circuits::{Account, Commitment, RiskParams, Status};
use zkmargin_oracle::SignedReport;
use zkmargin_prover::{
    files::{load_bundle, write_json, WriteOptions},
    AccountFile, CommitteeFile, KeyMode, MarginProver, MarginRequest, OracleCheck, DEFAULT_TAU_PPM,
};
use zkmargin_verifier::{ProofBundle, Statement, SystemClock, Verdict, Verifier};

use crate::{
    oracle::report_from_prices,
    prove::{health_text, load_prover},
    setup::run_setup,
    ui::{self, Out},
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

const STEPS: usize = 9;

struct Steps<'a> {
    out: &'a Out,
    n: usize,
    log: Vec<Value>,
}

impl Steps<'_> {
    fn done(&mut self, name: &str, text: String, took: Duration) {
        self.n += 1;
        self.out.line(format!(
            "[{}/{STEPS}] {name:<9} {text}  ({})",
            self.n,
            ui::duration(took)
        ));
        self.log
            .push(json!({ "step": name, "detail": text, "ms": ui::millis(took) }));
    }

    fn detail(&self, text: String) {
        self.out.line(format!("              {text}"));
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
    let circuit = prover.key().circuit;
    let shape = circuit
        .shape()
        .context("cannot synthesize the margin circuit")?;
    steps.done(
        "keys",
        format!(
            "{how}: {} ({} constraints, {} public inputs){}",
            circuit.id,
            ui::thousands(shape.constraints as u128),
            circuit.public_inputs,
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
    write("alice.json", &AccountFile::new(alice.clone()), true)?;
    write("bob.json", &AccountFile::new(bob.clone()), true)?;
    steps.done(
        "accounts",
        format!(
            "alice (diversified, healthy) {}, bob (10 ETH, -80,000 USD, 1 BTC-PERP long) {}",
            ui::short(&Commitment::of(&alice).to_string()),
            ui::short(&Commitment::of(&bob).to_string())
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
    let verifier =
        Verifier::from_keys_dir(&keys_dir, committee.config.clone(), vec![params.clone()])
            .with_context(|| format!("cannot load the verifying key from {}", keys_dir.display()))?
            .with_clock(Arc::new(SystemClock));
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

    let total = started.elapsed();
    out.json(&json!({
        "ok": true,
        "dir": args.dir,
        "steps": steps.log,
        "tampered_rejected": rejected.iter().map(|(w, c)| json!({"tamper": w, "code": c})).collect::<Vec<_>>(),
        "total_ms": ui::millis(total),
    }))?;
    out.line(format!(
        "demo complete in {}: 2 proofs made and verified, {} tampered bundles rejected{}",
        ui::duration(total),
        rejected.len(),
        match &args.dir {
            Some(d) => format!("; files kept in {}", d.display()),
            None => String::new(),
        }
    ));
    Ok(())
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
    let Statement::Margin(s) = &mut claims_meets.statement;
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
