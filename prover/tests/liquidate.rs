//! Proving liquidations: a partial close that restores health, a full close that
//! reveals a deficit, a seizure; the new account opens the new commitment; and every
//! refusal before any proving work — with the margin prover's errors for the inputs
//! both check.

mod common;

use std::{fs, sync::Arc, sync::OnceLock};

use common::*;
use zkmargin_circuits::{
    fr_to_hex, Account, Blinding, Commitment, LiquidationAction, LiquidationError, Side, Status,
    PPM, TOKENS,
};
use zkmargin_oracle::{development_committee, OracleConfig, OracleError, SignedReport};
use zkmargin_prover::{
    files::{load_account, write_json, WriteOptions},
    plan_liquidation, AccountFile, LiquidationProof, LiquidationProver, LiquidationRequest,
    MarginProver, MarginRequest, OracleCheck, ProveError, DEFAULT_TAU_PPM, MAX_LIQUIDATOR_ID,
};
use zkmargin_verifier::{
    FixedClock, LiquidationStatement, Statement, VerifiedLiquidation, Verifier, VerifyError,
};

const USD: u64 = 1_000_000;
const BTC: i64 = 100_000_000;

fn prover() -> &'static LiquidationProver {
    static PROVER: OnceLock<LiquidationProver> = OnceLock::new();
    PROVER.get_or_init(|| LiquidationProver::load(dev_keys(), &mut |_| {}).unwrap())
}

fn margin_prover() -> &'static MarginProver {
    static PROVER: OnceLock<MarginProver> = OnceLock::new();
    PROVER.get_or_init(|| MarginProver::load(dev_keys(), &mut |_| {}).unwrap())
}

fn request<'a>(
    account: &'a Account,
    report: &'a SignedReport,
    params: &'a zkmargin_circuits::RiskParams,
) -> LiquidationRequest<'a> {
    LiquidationRequest {
        account,
        params,
        report,
        liquidator: 7,
        oracle: None,
        commitment: None,
        new_blinding: None,
    }
}

fn liquidate(r: &LiquidationRequest<'_>) -> Result<LiquidationProof, ProveError> {
    prover().prove(r, &mut rand::thread_rng())
}

/// The demo prices with BTC at `btc_usd`.
fn report_with_btc(btc_usd: u64) -> SignedReport {
    let prices: Vec<_> = prices()
        .into_iter()
        .map(|(f, p)| {
            (
                f,
                if f == "BTC/USD" {
                    btc_usd * 10_000_000
                } else {
                    p
                },
            )
        })
        .collect();
    report_of(&prices)
}

/// 1 BTC-PERP long against `quote_usd` of quote (SETTLEMENT.md's worked example).
fn btc_long(quote_usd: i64) -> Account {
    let mut a = Account::empty(9, &mut rand::thread_rng());
    a.nonce = 4;
    a.quote = quote_usd * USD as i64;
    a.positions[0] = BTC;
    a
}

fn statement(proof: &LiquidationProof) -> &LiquidationStatement {
    let Statement::Liquidation(s) = &proof.bundle.statement else {
        panic!("a liquidation bundle")
    };
    s
}

/// Verifies the bundle independently of the prover's self-check.
fn verify(proof: &LiquidationProof) -> Result<VerifiedLiquidation, VerifyError> {
    let (_, committee) = development_committee();
    Verifier::from_keys_dir(dev_keys(), committee, vec![params()])
        .unwrap()
        .with_clock(Arc::new(FixedClock(NOW + 1)))
        .verify_liquidation(&proof.bundle)
}

/// What every valid liquidation proof must satisfy, whatever the action.
fn check_transition(old: &Account, proof: &LiquidationProof) {
    let s = statement(proof);
    let new = &proof.new_account;
    assert_eq!(s.old_commitment, Commitment::of(old));
    assert_eq!(
        s.new_commitment,
        Commitment::of(new),
        "new account opens C_new"
    );
    assert_eq!(s.liquidator, 7);
    assert_eq!(s.action, proof.chosen.action);
    assert_eq!(s.terms, proof.chosen.terms);
    assert_eq!(s.deficit, proof.chosen.deficit);
    assert_eq!(s.risk_params_digest, params().digest());
    assert_eq!((new.id, new.nonce), (old.id, old.nonce + 1));
    assert_ne!(new.blinding, old.blinding, "fresh blinding");
    assert_eq!(proof.bundle.proof.len(), 256);
    assert!(proof.health_before.at(PPM as u32) < 0, "old state breaches");
    // Without a deficit, the new state meets its margin exactly when the chosen action
    // restores health; with one, it is closed out (all zero) and trivially meets.
    if proof.chosen.deficit == 0 {
        assert_eq!(
            proof.chosen.restores_target,
            proof.health_after.at(PPM as u32) >= 0
        );
    } else {
        assert!(!proof.chosen.restores_target);
        assert_eq!(proof.health_after.at(PPM as u32), 0);
    }
    let verified = verify(proof).unwrap();
    assert_eq!(verified.statement_digest(), proof.public.digest());
    assert_eq!(verified.statement(), &proof.public);
    // A transition bundle is not a margin bundle.
    let (_, committee) = development_committee();
    let margin_verifier = Verifier::from_keys_dir(dev_keys(), committee, vec![params()])
        .unwrap()
        .with_clock(Arc::new(FixedClock(NOW + 1)));
    assert!(matches!(
        margin_verifier.verify(&proof.bundle),
        Err(VerifyError::WrongStatement { .. })
    ));
}

#[test]
fn partial_close_restores_the_target_with_the_smallest_amount() {
    // BTC 56,150: E = 1,650, R = 1,684.50 USD, ratio 0.98 (normal breach).
    let (params, report, old) = (params(), report_with_btc(56_150), btc_long(-54_500));
    let proof = liquidate(&request(&old, &report, &params)).unwrap();
    check_transition(&old, &proof);
    // SETTLEMENT.md's numbers: 9,834,539 sat (the smallest close that restores the
    // target buffer T(1.05) ≥ 0), penalty 55.220937 USD split 27.610469 to the
    // liquidator and 27.610468 to the fund; the rest of the position stays open.
    assert_eq!(
        proof.chosen.action,
        LiquidationAction::Close {
            market: 0,
            side: Side::Long,
            amount: 9_834_539
        }
    );
    let t = proof.chosen.terms;
    assert_eq!(
        (
            t.execution_value,
            t.penalty,
            t.liquidator_fee,
            t.insurance_fee
        ),
        (5_522_093_648, 55_220_937, 27_610_469, 27_610_468)
    );
    assert_eq!(proof.chosen.deficit, 0);
    assert!(proof.chosen.restores_target);
    assert_eq!(proof.new_account.positions[0], BTC - 9_834_539);
    assert_eq!(proof.new_account.quote, -49_033_127_289);

    // The venue's new state proves healthy with the margin prover.
    let meets = margin_prover()
        .prove(
            &MarginRequest {
                account: &proof.new_account,
                params: &params,
                report: &report,
                tau_ppm: DEFAULT_TAU_PPM,
                expect: Some(Status::Meets),
                commitment: Some(statement(&proof).new_commitment),
                oracle: None,
            },
            &mut rand::thread_rng(),
        )
        .unwrap();
    assert_eq!(meets.public.status, Status::Meets);
}

#[test]
fn deep_breach_closes_fully_and_reveals_the_deficit() {
    // BTC 55,000: ratio 0.30 (deep): the whole BTC goes, leaving −50 USD with nothing open.
    let (params, report, old) = (params(), report_with_btc(55_000), btc_long(-54_500));
    let proof = liquidate(&request(&old, &report, &params)).unwrap();
    check_transition(&old, &proof);
    assert_eq!(proof.chosen.action.amount(), BTC as u64);
    assert_eq!(proof.chosen.deficit, 50 * USD);
    assert!(!proof.chosen.restores_target);
    let new = &proof.new_account;
    assert_eq!(new.quote, 0, "the deficit zeroes the quote");
    assert!(new.tokens.iter().chain(&new.positions).all(|v| *v == 0));
}

#[test]
fn a_lending_account_is_liquidated_by_seizing_collateral() {
    // 10 ETH at weight 0.83 against 24,100 USD of quote debt, no position: at ETH
    // 2,900 equity is 24,070 − 24,100 < 0, so only a seizure can act.
    let (params, report) = (params(), report());
    let mut old = Account::empty(11, &mut rand::thread_rng());
    old.tokens[0] = 10_000_000_000;
    old.quote = -24_100 * USD as i64;
    let proof = liquidate(&request(&old, &report, &params)).unwrap();
    check_transition(&old, &proof);
    let LiquidationAction::Seize { token: 0, amount } = proof.chosen.action else {
        panic!("expected an ETH seizure, got {:?}", proof.chosen.action);
    };
    assert_eq!(proof.new_account.tokens[0], 10_000_000_000 - amount as i64);
}

#[test]
fn the_new_account_file_opens_the_new_commitment() {
    let (params, report, old) = (params(), report(), breaching());
    let proof = liquidate(&request(&old, &report, &params)).unwrap();
    check_transition(&old, &proof);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.json");
    write_json(
        &path,
        &AccountFile::new(proof.new_account.clone()),
        WriteOptions {
            private: true,
            overwrite: false,
        },
    )
    .unwrap();
    let read = load_account(&path).unwrap().account;
    assert_eq!(Commitment::of(&read), statement(&proof).new_commitment);
    assert_eq!(read, proof.new_account);
    // Two liquidations of the same state differ (fresh blinding, fresh proof).
    let again = liquidate(&request(&old, &report, &params)).unwrap();
    assert_ne!(
        statement(&again).new_commitment,
        statement(&proof).new_commitment
    );
    assert_eq!(again.chosen.action, proof.chosen.action);
}

/// The report's prices under `params`, as the prover reads them.
fn prices_of(
    report: &SignedReport,
    params: &zkmargin_circuits::RiskParams,
) -> zkmargin_circuits::Prices {
    zkmargin_circuits::Prices::from_feeds(params, |f| report.report.price(f)).unwrap()
}

#[test]
fn a_given_blinding_proves_exactly_the_planned_state() {
    // A venue that records the new state before proving it (the engine's write-back)
    // plans it with its own blinding; the proof made with that blinding opens to it.
    let (params, report, old) = (params(), report(), breaching());
    let blinding = Blinding::random(&mut rand::thread_rng());
    let plan = plan_liquidation(&old, &params, prices_of(&report, &params), 7, blinding).unwrap();
    assert_eq!(plan.new_account.blinding, blinding);
    assert_eq!(plan.new_account.nonce, old.nonce + 1);
    assert_eq!(plan.public.old_commitment, Commitment::of(&old));
    assert_eq!(
        plan.public.new_commitment,
        Commitment::of(&plan.new_account)
    );
    let proof = liquidate(&LiquidationRequest {
        new_blinding: Some(blinding),
        ..request(&old, &report, &params)
    })
    .unwrap();
    check_transition(&old, &proof);
    assert_eq!(proof.new_account, plan.new_account);
    assert_eq!(proof.public.digest(), plan.public.digest());
    assert_eq!(statement(&proof).new_commitment, plan.public.new_commitment);
    assert_eq!(proof.chosen.action, plan.chosen.action);
    // Another blinding: another new commitment, the same action.
    let other = plan_liquidation(
        &old,
        &params,
        prices_of(&report, &params),
        7,
        Blinding::random(&mut rand::thread_rng()),
    )
    .unwrap();
    assert_ne!(other.public.new_commitment, plan.public.new_commitment);
    assert_eq!(other.chosen.action, plan.chosen.action);
    // The plan hides the new state as the proof does.
    let shown = format!("{plan:?}");
    assert!(!shown.contains(&fr_to_hex(&blinding.0)), "{shown}");
    assert!(
        !shown.contains(&plan.new_account.quote.to_string()),
        "{shown}"
    );
}

#[test]
fn the_plan_refuses_what_the_prover_refuses() {
    let (params, report) = (params(), report());
    let prices = || prices_of(&report, &params);
    let b = Blinding::random(&mut rand::thread_rng());
    for account in [healthy(), breaching()] {
        let planned =
            plan_liquidation(&account, &params, prices(), MAX_LIQUIDATOR_ID + 1, b).unwrap_err();
        assert!(
            matches!(planned, ProveError::LiquidatorOutOfRange(_)),
            "{planned}"
        );
    }
    let planned = plan_liquidation(&healthy(), &params, prices(), 7, b).unwrap_err();
    let proven = liquidate(&request(&healthy(), &report, &params)).unwrap_err();
    assert!(
        matches!(planned, ProveError::NothingToLiquidate { account: 1 }),
        "{planned}"
    );
    assert_eq!(planned.to_string(), proven.to_string());
}

#[test]
fn refuses_a_healthy_account() {
    let (params, report, account) = (params(), report(), healthy());
    let e = liquidate(&request(&account, &report, &params)).unwrap_err();
    assert!(
        matches!(e, ProveError::NothingToLiquidate { account: 1 }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "account 1 meets its maintenance margin at these prices: nothing to liquidate"
    );
}

#[test]
fn refuses_what_the_rules_do_not_allow() {
    // An account whose loss is in its quote balance alone: nothing to close, seize or
    // repay.
    let (params, report) = (params(), report());
    let mut old = Account::empty(12, &mut rand::thread_rng());
    old.quote = -100 * USD as i64;
    let e = liquidate(&request(&old, &report, &params)).unwrap_err();
    assert!(
        matches!(e, ProveError::NothingToActOn { account: 12 }),
        "{e}"
    );
    assert!(e.to_string().contains("no token borrow to repay"), "{e}");

    // A borrow with nothing to close or seize was refused in v1; v2 repays it. Here the
    // whole 0.01 BTC (570 USD + 1 % penalty) exceeds the 100 USD quote: the borrow is
    // repaid in full and the rest is the deficit.
    let mut old = Account::empty(14, &mut rand::thread_rng());
    old.tokens[1] = -1_000_000; // 0.01 BTC borrowed
    old.quote = 100 * USD as i64;
    let proof = liquidate(&request(&old, &report, &params)).unwrap();
    assert_eq!(
        proof.public.action,
        LiquidationAction::Repay {
            token: 1,
            amount: 1_000_000
        }
    );
    assert_eq!(proof.public.deficit, 475_700_000); // 570 + 5.70 − 100 USD
    assert_eq!(proof.new_account.tokens, [0; TOKENS]);
    assert_eq!(proof.new_account.quote, 0);

    // A breaching account whose only candidate is a seizure that lowers equity: SOL
    // at weight 0.70 is worth more to the account than the penalty-discounted price.
    let mut weak = params.clone();
    weak.tokens[2].asset_weight_ppm = 995_000;
    let mut old = Account::empty(13, &mut rand::thread_rng());
    old.tokens[2] = 10_000_000_000; // 10 SOL
    old.quote = -1_500 * USD as i64;
    let e = liquidate(&request(&old, &report, &weak)).unwrap_err();
    assert!(
        matches!(e, ProveError::Liquidation { account: 13, .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("account 13 cannot be liquidated: "),
        "{e}"
    );

    // The native twin refuses a reused blinding: the prover surfaces its text. (Only
    // reachable through the twin directly; here its error type's message is checked.)
    let text = ProveError::Liquidation {
        account: 3,
        error: LiquidationError::BlindingReused,
    }
    .to_string();
    assert_eq!(
        text,
        "account 3 cannot be liquidated: the new state must have a fresh blinding"
    );

    let account = breaching();
    let mut r = request(&account, &report, &params);
    r.liquidator = MAX_LIQUIDATOR_ID + 1;
    let e = liquidate(&r).unwrap_err();
    assert!(matches!(e, ProveError::LiquidatorOutOfRange(_)), "{e}");
    r.liquidator = MAX_LIQUIDATOR_ID;
    liquidate(&r).unwrap();
}

/// For each bad input both provers check, the liquidation prover refuses with the
/// margin prover's error, word for word.
#[test]
fn input_checks_are_the_margin_provers() {
    let params = params();
    let good = report();
    let (_, committee) = development_committee();
    let strict = OracleConfig {
        quorum: 3,
        ..committee.clone()
    };
    let without_doge = report_of(
        &prices()
            .into_iter()
            .filter(|(f, _)| *f != "DOGE/USD")
            .collect::<Vec<_>>(),
    );
    let mut unsigned = report();
    unsigned.signatures.clear();
    let mut repriced = report();
    repriced.report.feeds[2].price += 1;
    repriced.report.feeds[2].ask += 1;
    let mut bad_params = params.clone();
    bad_params.markets[0].maintenance_margin_ppm = 0;
    let account = breaching();
    let mut wide = breaching();
    wide.tokens[7] = 1;
    let other = Commitment::of(&healthy());

    type Case<'a> = (
        &'static str,
        &'a Account,
        &'a zkmargin_circuits::RiskParams,
        &'a SignedReport,
        Option<OracleCheck<'a>>,
        Option<Commitment>,
    );
    let at = |config, now| Some(OracleCheck { config, now });
    let cases: Vec<Case<'_>> = vec![
        ("invalid params", &account, &bad_params, &good, None, None),
        ("unused slot", &wide, &params, &good, None, None),
        (
            "other commitment",
            &account,
            &params,
            &good,
            None,
            Some(other),
        ),
        ("unsigned", &account, &params, &unsigned, None, None),
        (
            "changed after signing",
            &account,
            &params,
            &repriced,
            None,
            None,
        ),
        (
            "quorum",
            &account,
            &params,
            &good,
            at(&strict, NOW + 1),
            None,
        ),
        (
            "expired",
            &account,
            &params,
            &good,
            at(&committee, NOW + 60),
            None,
        ),
        ("missing feed", &account, &params, &without_doge, None, None),
    ];
    for (what, account, params, report, oracle, commitment) in cases {
        let margin = margin_prover()
            .prove(
                &MarginRequest {
                    account,
                    params,
                    report,
                    tau_ppm: DEFAULT_TAU_PPM,
                    expect: None,
                    commitment,
                    oracle,
                },
                &mut rand::thread_rng(),
            )
            .unwrap_err();
        let liq = liquidate(&LiquidationRequest {
            account,
            params,
            report,
            liquidator: 7,
            oracle,
            commitment,
            new_blinding: None,
        })
        .unwrap_err();
        assert_eq!(liq.to_string(), margin.to_string(), "{what}");
        assert!(!liq.to_string().contains('\n'), "{what}");
    }
    // Spot-check the kinds, so the comparison above compares refusals of the inputs.
    let e = liquidate(&LiquidationRequest {
        oracle: at(&strict, NOW + 1),
        ..request(&account, &good, &params)
    })
    .unwrap_err();
    assert!(
        matches!(e, ProveError::Oracle(OracleError::QuorumNotMet { .. })),
        "{e}"
    );
    let e = liquidate(&request(&account, &without_doge, &params)).unwrap_err();
    assert!(
        matches!(e, ProveError::MissingPrice { ref feed, .. } if feed == "DOGE/USD"),
        "{e}"
    );
}

#[test]
fn a_tampered_verifying_key_stops_the_bundle() {
    let dir = copy_keys(dev_keys());
    let vk = dir.path().join("liquidation.vk");
    let mut bytes = fs::read(&vk).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&vk, &bytes).unwrap();
    // The proving key is intact and loads; the self-check reads the VK file and refuses.
    let prover = LiquidationProver::load(dir.path(), &mut |_| {}).unwrap();
    let (params, report, account) = (params(), report(), breaching());
    let e = prover
        .prove(
            &request(&account, &report, &params),
            &mut rand::thread_rng(),
        )
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("liquidation.vk") && msg.contains("fingerprint"),
        "{msg}"
    );
}

#[test]
fn a_keys_directory_without_the_liquidation_circuit_says_how_to_fix_it() {
    let dir = copy_keys(dev_keys());
    edit_manifest(dir.path(), |m| {
        let circuits = m["circuits"].as_array_mut().unwrap();
        circuits.retain(|c| c["id"] == "zkmargin.margin.v1");
    });
    let e = LiquidationProver::load(dir.path(), &mut |_| {}).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("zkmargin.liquidation.v2") && msg.contains("zkmargin setup"),
        "{msg}"
    );
    // The margin prover is unaffected.
    MarginProver::load(dir.path(), &mut |_| {}).unwrap();
}

#[test]
fn debug_hides_the_private_state() {
    let (params, report, old) = (params(), report(), breaching());
    let proof = liquidate(&request(&old, &report, &params)).unwrap();
    let shown = format!("{proof:?}");
    let Blinding(b) = proof.new_account.blinding;
    assert!(!shown.contains(&fr_to_hex(&b)), "{shown}");
    assert!(
        !shown.contains(&proof.new_account.quote.to_string()),
        "{shown}"
    );
    assert!(shown.contains("LiquidationProof"), "{shown}");
}
