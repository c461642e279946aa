//! The liquidation circuit against its native twin, one negative test per clause,
//! and the shape regression.
//!
//! Every negative test builds a statement the native twin rejects with the named
//! error, and checks the circuit is unsatisfiable for it — and every positive test
//! checks the circuit is satisfied exactly when the twin accepts.

mod common;

use common::Synth;
use proptest::prelude::*;
use zkmargin_circuits::{
    apply_liquidation,
    commitment::{commitment_inputs, poseidon_hash},
    r1cs::{LiquidationCircuit, LiquidationPrivate},
    state_after, unit_gain, Account, Blinding, Commitment, Fr, LiquidationAction, LiquidationError,
    LiquidationPublic, LiquidationRules, LiquidationTerms, Prices, RiskParams, Side, MARKETS, PPM,
    ROUNDING_ALLOWANCE, TOKENS,
};
use zkmargin_prover::choose_liquidation;

const USD: i64 = 1_000_000; // quote atomic units (1e-6 USD)
/// The development parameters' target buffer, τ_target = 1.05.
const TARGET: u32 = 1_050_000;

fn params() -> RiskParams {
    RiskParams::development()
}

/// Development prices: USD per whole unit → price units (10^-9 quote per atomic unit).
fn prices(eth: u64, btc: u64, sol: u64, doge_cents: u64) -> Prices {
    let per =
        |usd_micro: u128, decimals: u32| (usd_micro * 1_000_000_000 / 10u128.pow(decimals)) as u64;
    let mut p = Prices::default();
    p.tokens[0] = per(u128::from(eth) * 1_000_000, 9);
    p.tokens[1] = per(u128::from(btc) * 1_000_000, 8);
    p.tokens[2] = per(u128::from(sol) * 1_000_000, 9);
    p.tokens[3] = per(1_000_000, 6);
    p.markets[0] = p.tokens[1];
    p.markets[1] = p.tokens[0];
    p.markets[2] = p.tokens[2];
    p.markets[3] = per(u128::from(doge_cents) * 10_000, 6);
    p
}

fn account(quote_usd: i64, tokens: [i64; TOKENS], positions: [i64; MARKETS]) -> Account {
    Account {
        id: 77,
        nonce: 4,
        tokens,
        quote: quote_usd * USD,
        positions,
        blinding: Blinding(Fr::from(1234u64)),
    }
}

const BTC: i64 = 100_000_000; // satoshi
const ETH: i64 = 1_000_000_000; // 1e-9 ETH

/// A statement with its witness.
#[derive(Clone, Debug)]
struct Case {
    old: Account,
    public: LiquidationPublic,
    new_blinding: Blinding,
}

impl Case {
    /// The honest statement for `action` (terms from the formulas, new state from the
    /// transition), whether or not the rules accept it.
    fn new(old: &Account, action: LiquidationAction, prices: &Prices, params: &RiskParams) -> Self {
        let terms = LiquidationTerms::of(&action, prices, params).expect("terms");
        let new_blinding = Blinding(Fr::from(98_765u64));
        let (mut new, deficit) = state_after(old, &action, &terms).unwrap_or((old.clone(), 0));
        new.nonce = old.nonce + 1;
        new.blinding = new_blinding;
        Self {
            old: old.clone(),
            public: LiquidationPublic {
                old_commitment: Commitment::of(old),
                new_commitment: Commitment::of(&new),
                liquidator: 9,
                action,
                terms,
                deficit,
                prices: *prices,
                weights: params.weights(),
                rules: LiquidationRules::from(params),
            },
            new_blinding,
        }
    }

    fn chosen(old: &Account, prices: &Prices, params: &RiskParams) -> Self {
        let c = choose_liquidation(old, params, prices).expect("a legal liquidation exists");
        Self::new(old, c.action, prices, params)
    }

    fn native(&self) -> Result<Account, LiquidationError> {
        apply_liquidation(&self.old, &self.public, self.new_blinding)
    }

    fn circuit(&self) -> LiquidationCircuit {
        LiquidationCircuit {
            public: self.public,
            private: Some(LiquidationPrivate {
                old: self.old.clone(),
                new_blinding: self.new_blinding,
            }),
        }
    }

    fn satisfied(&self) -> bool {
        Synth::new(self.circuit()).satisfied()
    }

    /// The twin accepts, the new commitment is the twin's new state, and the circuit
    /// is satisfied.
    fn assert_legal(&self) {
        let new = self.native().expect("native twin accepts");
        assert_eq!(Commitment::of(&new), self.public.new_commitment);
        assert!(
            self.satisfied(),
            "circuit must accept what the twin accepts"
        );
    }

    /// The twin rejects with `expected` and the circuit is unsatisfiable.
    fn assert_rejected(&self, expected: impl Fn(&LiquidationError) -> bool) {
        let err = self.native().expect_err("native twin must reject");
        assert!(expected(&err), "unexpected native error: {err}");
        assert!(
            !self.satisfied(),
            "circuit must reject what the twin rejects ({err})"
        );
    }
}

/// 1 BTC long bought with borrowed quote; breaches below ≈ 56,186 USD.
fn btc_long(quote_usd: i64) -> Account {
    let mut positions = [0; MARKETS];
    positions[0] = BTC;
    account(quote_usd, [0; TOKENS], positions)
}

// ---------------------------------------------------------------------------------
// Legal liquidations.
// ---------------------------------------------------------------------------------

#[test]
fn normal_breach_partial_close_is_minimal_and_restores_health() {
    // E = 56,150 − 54,500 = 1,650; R = 3 % · 56,150 = 1,684.5: ratio 0.98, H = −34.5 USD.
    let params = params();
    let p = prices(3_000, 56_150, 150, 10);
    let old = btc_long(-54_500);
    let case = Case::chosen(&old, &p, &params);
    let LiquidationAction::Close {
        market: 0,
        side: Side::Long,
        amount,
    } = case.public.action
    else {
        panic!("expected a BTC close, got {:?}", case.public.action);
    };
    // T(1.05) = 1,650 − 1.05 · 1,684.5 = −118.725 USD; per BTC closed it rises by
    // (τ·mmf − penalty)·price = 0.0215 · 56,150 ≈ 1,207 USD: ≈ 0.0983 BTC.
    assert!((9_800_000..9_900_000).contains(&amount), "{amount}");
    case.assert_legal();
    let new = case.native().unwrap();
    let w = params.weights();
    assert!(
        new.health(&w, &p).target(TARGET) >= 0,
        "above the target buffer"
    );
    // One satoshi less does not reach the target buffer.
    let less = Case::new(
        &old,
        case.public.action.with_amount(amount - 1),
        &p,
        &params,
    );
    less.assert_rejected(|e| matches!(e, LiquidationError::NotMaximal { .. }));
}

#[test]
fn deep_breach_closes_fully_and_reveals_the_deficit() {
    // At 55,000: E = 500, R = 1,650 (ratio 0.30 < 0.95): a full close is allowed; it
    // leaves quote −54,500 + 55,000 − 550 (penalty) = −50 USD with nothing left.
    let params = params();
    let p = prices(3_000, 55_000, 150, 10);
    let old = btc_long(-54_500);
    let case = Case::chosen(&old, &p, &params);
    assert_eq!(case.public.action.amount(), BTC as u64);
    assert_eq!(case.public.deficit, 50 * USD as u64);
    case.assert_legal();
    let new = case.native().unwrap();
    assert_eq!(new.quote, 0);
    assert!(new.positions.iter().all(|n| *n == 0));
}

#[test]
fn collateral_seizure_restores_a_lending_account() {
    // 10 ETH at weight 0.83 against a 24,000 USD quote debt breaches at ETH 2,880.
    let params = params();
    let p = prices(2_880, 57_000, 150, 10);
    let mut tokens = [0; TOKENS];
    tokens[0] = 10 * ETH;
    let old = account(-24_000, tokens, [0; MARKETS]);
    let case = Case::chosen(&old, &p, &params);
    assert!(matches!(
        case.public.action,
        LiquidationAction::Seize { token: 0, .. }
    ));
    case.assert_legal();
    let new = case.native().unwrap();
    assert!(new.health(&params.weights(), &p).target(TARGET) >= 0);
}

/// 10,000 USDC deposited (weight 0.95), 2.6 ETH borrowed (weight 1.2): meets at ETH
/// 3,000 (H = 9,500 − 9,360 = +140 USD), breaches at 3,100 (H = −172 USD).
fn eth_borrower() -> Account {
    let mut tokens = [0; TOKENS];
    tokens[0] = -2_600_000_000; // −2.6 ETH
    tokens[3] = 10_000 * USD; // 10,000 USDC (6 decimals)
    account(0, tokens, [0; MARKETS])
}

#[test]
fn a_borrow_that_breaches_is_repaid() {
    let params = params();
    let p = prices(3_100, 57_000, 150, 10);
    let old = eth_borrower();
    let w = params.weights();
    assert_eq!(
        old.health(&w, &p).excess_quote_units(PPM as u32),
        ethnum::I256::from(-172 * USD)
    );
    let case = Case::chosen(&old, &p, &params);
    let LiquidationAction::Repay { token: 0, amount } = case.public.action else {
        panic!(
            "expected a repay of the ETH borrow, got {:?}",
            case.public.action
        );
    };
    assert!(
        amount < 2_600_000_000 / 2,
        "within the close factor: {amount}"
    );
    case.assert_legal();
    let new = case.native().unwrap();
    assert!(
        new.tokens[0] < 0 && new.tokens[0] > old.tokens[0],
        "shrinks, never flips"
    );
    assert_eq!(new.tokens[3], old.tokens[3], "the USDC stays");
    assert_eq!(
        new.quote,
        old.quote - (case.public.terms.execution_value + case.public.terms.penalty) as i64,
        "paid from quote: value plus penalty"
    );
    assert!(
        new.health(&w, &p).target(TARGET) >= 0,
        "above the target buffer"
    );
    // The buffer protects a lending account too: the target scales the haircuts.
    assert!(new.health(&w, &p).at(PPM as u32) > new.health(&w, &p).target(TARGET));
}

#[test]
fn short_close_pays_execution_value_and_penalty() {
    // Short 10 SOL-PERP with 1,600 USD of quote: breaches as SOL rises.
    let params = params();
    let mut positions = [0; MARKETS];
    positions[2] = -10 * ETH; // SOL has 9 decimals too
    let old = account(1_600, [0; TOKENS], positions);
    let p = prices(3_000, 57_000, 155, 10);
    let case = Case::chosen(&old, &p, &params);
    let LiquidationAction::Close {
        market: 2,
        side: Side::Short,
        ..
    } = case.public.action
    else {
        panic!("expected a SOL short close, got {:?}", case.public.action);
    };
    assert!(case.public.terms.quote_delta < 0, "buying back costs quote");
    case.assert_legal();
}

// ---------------------------------------------------------------------------------
// One negative test per clause.
// ---------------------------------------------------------------------------------

fn normal_case() -> (Account, Prices, RiskParams, Case) {
    let params = params();
    let p = prices(3_000, 56_150, 150, 10);
    let old = btc_long(-54_500);
    let case = Case::chosen(&old, &p, &params);
    (old, p, params, case)
}

#[test]
fn clause_old_state_must_breach() {
    // A healthy account (H = +790 USD at 57,000) cannot be liquidated.
    let params = params();
    let p = prices(3_000, 57_000, 150, 10);
    let old = btc_long(-54_500);
    let action = LiquidationAction::Close {
        market: 0,
        side: Side::Long,
        amount: 1_000_000,
    };
    Case::new(&old, action, &p, &params).assert_rejected(|e| *e == LiquidationError::NotInBreach);
}

#[test]
fn clause_old_state_must_open_the_old_commitment() {
    // The witness differs from the committed state (its quote is 1 unit higher).
    let (_, _, _, mut case) = normal_case();
    case.old.quote += 1;
    assert!(
        case.native().is_ok(),
        "the rules alone would accept the richer state"
    );
    assert!(!case.satisfied(), "but it does not open the old commitment");
}

#[test]
fn clause_new_state_must_be_the_old_state_with_the_action_applied() {
    let (_, _, _, case) = normal_case();
    let mut new = case.native().unwrap();
    // The liquidator takes one more unit of quote than the terms say.
    let mut forged = case.clone();
    new.quote -= 1;
    forged.public.new_commitment = Commitment::of(&new);
    assert!(!forged.satisfied());
    // The position is reduced by one satoshi more than the action says.
    let mut new = case.native().unwrap();
    new.positions[0] -= 1;
    let mut forged = case.clone();
    forged.public.new_commitment = Commitment::of(&new);
    assert!(!forged.satisfied());
    // Another account id in the new state.
    let mut new = case.native().unwrap();
    new.id += 1;
    let mut forged = case.clone();
    forged.public.new_commitment = Commitment::of(&new);
    assert!(!forged.satisfied());
}

#[test]
fn clause_nonce_increments() {
    let (_, _, _, case) = normal_case();
    let mut new = case.native().unwrap();
    new.nonce -= 1; // the old nonce: a replayable state
    let mut forged = case.clone();
    forged.public.new_commitment = Commitment::of(&new);
    assert!(!forged.satisfied());
}

#[test]
fn clause_fresh_blinding() {
    // The new state reuses the old blinding (its commitment is otherwise correct).
    let (_, _, _, mut case) = normal_case();
    let (mut new, _) = state_after(&case.old, &case.public.action, &case.public.terms).unwrap();
    new.nonce += 1;
    case.new_blinding = case.old.blinding;
    case.public.new_commitment = Commitment::of(&new);
    case.assert_rejected(|e| *e == LiquidationError::BlindingReused);
}

#[test]
fn clause_position_shrinks_never_flips() {
    // Closing more than the position holds would flip it short.
    let (old, p, params, _) = normal_case();
    let action = LiquidationAction::Close {
        market: 0,
        side: Side::Long,
        amount: BTC as u64 + 1,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::ExceedsBalance { .. }));
    // Naming the wrong side (a "short" close of a long) is the same violation.
    let action = LiquidationAction::Close {
        market: 0,
        side: Side::Short,
        amount: 1,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::ExceedsBalance { .. }));
}

#[test]
fn clause_only_deposits_are_seized() {
    // An account that borrows ETH (a negative token balance) and is in breach: seizing
    // "ETH" from it would create ETH.
    let params = params();
    let p = prices(3_000, 56_150, 150, 10);
    let mut old = btc_long(-54_500);
    old.tokens[0] = -ETH;
    old.quote += 3_000 * USD;
    let action = LiquidationAction::Seize {
        token: 0,
        amount: 1_000_000,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::ExceedsBalance { .. }));
}

#[test]
fn clause_repay_never_flips_the_borrow() {
    // Repaying 2.6 ETH + 1 unit would turn the borrow into a deposit.
    let params = params();
    let p = prices(3_100, 57_000, 150, 10);
    let old = eth_borrower();
    // (Deep breach lifts the close factor, so only the balance stops the amount.)
    let action = LiquidationAction::Repay {
        token: 0,
        amount: 2_600_000_001,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::ExceedsBalance { .. }));
}

#[test]
fn clause_repay_only_what_is_owed() {
    // "Repaying" the USDC deposit: nothing is owed there (held in the repay direction
    // is −10,000 USDC), so the account would pay for a deposit that grows.
    let params = params();
    let p = prices(3_100, 57_000, 150, 10);
    let old = eth_borrower();
    let action = LiquidationAction::Repay {
        token: 3,
        amount: 1_000,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::ExceedsBalance { .. }));
}

#[test]
fn clause_the_target_buffer_must_be_reached() {
    // The smallest close that only restores the maintenance line (τ = 1) stops short
    // of the target buffer (τ = 1.05) while more is allowed: refused.
    let mut at_the_line = params();
    at_the_line.liquidation.liquidation_target_ppm = 1_000_000;
    let (old, p, params, _) = normal_case();
    let line = Case::chosen(&old, &p, &at_the_line);
    line.assert_legal();
    let short = Case::new(&old, line.public.action, &p, &params);
    short.assert_rejected(|e| matches!(e, LiquidationError::NotMaximal { .. }));
    let w = params.weights();
    let after = line.native().unwrap().health(&w, &p);
    assert!(after.at(PPM as u32) >= 0 && after.target(TARGET) < 0);
}

#[test]
fn clause_nonce_cannot_pass_2_64() {
    // At nonce 2^64 − 1 the next nonce does not fit 64 bits: the twin refuses, and the
    // circuit cannot commit to nonce 2^64 (its range check), even with the very
    // commitment that state would have.
    let (mut old, p, params, legal) = normal_case();
    old.nonce = u64::MAX;
    let mut case = legal;
    case.old = old.clone();
    case.public.old_commitment = Commitment::of(&old);
    let (new, _) = state_after(&old, &case.public.action, &case.public.terms).unwrap();
    let mut inputs = commitment_inputs(&Account {
        blinding: case.new_blinding,
        ..new
    });
    inputs[3] = Fr::from(u64::MAX) + Fr::from(1u64); // the nonce element: 2^64
    case.public.new_commitment = Commitment(poseidon_hash(&inputs));
    assert_eq!(case.public.prices, p);
    assert_eq!(case.public.rules, LiquidationRules::from(&params));
    case.assert_rejected(|e| *e == LiquidationError::NonceExhausted);
}

#[test]
fn clause_close_factor() {
    // Normal breach: at most 50 % of the position; 50 % + 1 satoshi is refused.
    let (old, p, params, _) = normal_case();
    let action = LiquidationAction::Close {
        market: 0,
        side: Side::Long,
        amount: BTC as u64 / 2 + 1,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::ExceedsCloseFactor { .. }));
}

#[test]
fn clause_minimality_no_over_liquidation() {
    let (old, p, params, case) = normal_case();
    let more = case
        .public
        .action
        .with_amount(case.public.action.amount() + 1);
    Case::new(&old, more, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::NotMinimal { .. }));
}

#[test]
fn clause_ratio_strictly_improves() {
    // A venue whose penalty (3 %) equals the maintenance fraction (3 %) — which
    // `RiskParams::validate` refuses — with an account at ratio 0.98: each unit still
    // raises T(1.05) (f = (1.05 − 1)·3 % > 0), but costs more equity than the ratio
    // gains, so equity/requirement falls: refused.
    let mut params = params();
    params.liquidation.penalty_ppm = 30_000;
    let p = prices(3_000, 56_150, 150, 10);
    let old = btc_long(-54_500);
    let action = LiquidationAction::Close {
        market: 0,
        side: Side::Long,
        amount: BTC as u64 / 2,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| *e == LiquidationError::RatioNotImproved);
}

#[test]
fn clause_deficit_only_when_everything_is_closed() {
    let params = params();
    let p = prices(3_000, 55_000, 150, 10);
    let old = btc_long(-54_500);
    let honest = Case::chosen(&old, &p, &params);
    assert!(honest.public.deficit > 0);
    // Hiding the deficit: deficit 0 and a negative quote left in the closed account.
    let mut hidden = honest.clone();
    hidden.public.deficit = 0;
    let (mut new, _) = state_after(&old, &hidden.public.action, &hidden.public.terms).unwrap();
    new.quote = old.quote + hidden.public.terms.quote_delta;
    new.nonce += 1;
    new.blinding = hidden.new_blinding;
    hidden.public.new_commitment = Commitment::of(&new);
    hidden.assert_rejected(|e| matches!(e, LiquidationError::WrongDeficit { .. }));
    // Inflating the deficit (the fund would pay more than the account owes).
    let mut inflated = honest.clone();
    inflated.public.deficit += 1;
    inflated.assert_rejected(|e| matches!(e, LiquidationError::WrongDeficit { .. }));
    // A deficit while something is still open: half the position closed.
    let mut open = Case::new(
        &old,
        LiquidationAction::Close {
            market: 0,
            side: Side::Long,
            amount: BTC as u64 / 2,
        },
        &p,
        &params,
    );
    open.public.deficit = 1;
    assert!(open.native().is_err());
    assert!(!open.satisfied());
}

#[test]
fn clause_action_must_improve_per_unit() {
    // A deposit weighted 0.995 with a 1 % penalty: each unit seized frees less haircut
    // than it pays in penalty, f = 10^6·(−5,000) + 0.05·10^6·5,000 < 0.
    let mut params = params();
    params.tokens[0].asset_weight_ppm = 995_000;
    let p = prices(2_880, 57_000, 150, 10);
    let mut tokens = [0; TOKENS];
    tokens[0] = 10 * ETH;
    let old = account(-29_000, tokens, [0; MARKETS]);
    let action = LiquidationAction::Seize {
        token: 0,
        amount: 1_000,
    };
    assert!(unit_gain(&action, &params.weights(), &LiquidationRules::from(&params)) < 0);
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::DoesNotImprove { .. }));
    // A borrow weighted 1.005: repaying it pays 1 % to free 0.5 %.
    let mut params = self::params();
    params.tokens[0].liability_weight_ppm = 1_005_000;
    let mut old = eth_borrower();
    old.quote = -1_500 * USD;
    let action = LiquidationAction::Repay {
        token: 0,
        amount: 1_000,
    };
    Case::new(&old, action, &prices(3_100, 57_000, 150, 10), &params)
        .assert_rejected(|e| matches!(e, LiquidationError::DoesNotImprove { .. }));
}

#[test]
fn clause_terms_are_the_formulas() {
    // The value and the penalty are public inputs the circuit checks against the
    // amount and the price itself (so a contract need not recompute them): one quote
    // unit less of either — the liquidator paying less, the account charged less — is
    // refused by the twin and the circuit, whatever new commitment comes with it.
    let (_, _, _, case) = normal_case();
    for forge in [
        |t: &mut LiquidationTerms| t.execution_value -= 1,
        |t: &mut LiquidationTerms| t.execution_value += 1,
        |t: &mut LiquidationTerms| t.penalty -= 1,
        |t: &mut LiquidationTerms| t.penalty += 1,
    ] {
        let mut forged = case.clone();
        forge(&mut forged.public.terms);
        let t = forged.public.terms;
        forged.public.terms.quote_delta = t.execution_value as i64 - t.penalty as i64;
        let (mut new, _) =
            state_after(&forged.old, &forged.public.action, &forged.public.terms).unwrap();
        new.nonce += 1;
        new.blinding = forged.new_blinding;
        forged.public.new_commitment = Commitment::of(&new);
        forged.assert_rejected(|e| *e == LiquidationError::TermsMismatch);
    }
}

// ---------------------------------------------------------------------------------
// Native twin ⇔ circuit on random breaching accounts and perturbed amounts.
// ---------------------------------------------------------------------------------

fn breaching_account() -> impl Strategy<Value = (Account, Prices)> {
    (
        prop::array::uniform4(-(5 * BTC)..(5 * BTC)),
        prop::array::uniform4(-(5 * ETH)..(20 * ETH)),
        -200_000i64..200_000,
        50_000u64..60_000,
    )
        .prop_map(|(pos, dep, quote_usd, btc)| {
            let mut positions = [0; MARKETS];
            positions[0] = pos[0];
            positions[1] = pos[1] * 10; // ETH-PERP in 1e-9 ETH
            positions[2] = pos[2] * 100;
            positions[3] = pos[3] * 1_000;
            let mut tokens = [0; TOKENS];
            tokens[..4].copy_from_slice(&[dep[0], dep[1] / 50, dep[2], dep[3] / 1_000]);
            (
                account(quote_usd, tokens, positions),
                prices(3_000, btc, 150, 10),
            )
        })
        .prop_filter("in breach", |(a, p)| {
            a.health(&RiskParams::development().weights(), p)
                .at(PPM as u32)
                < 0
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn twin_and_circuit_agree((old, p) in breaching_account(), delta in -2i64..=2) {
        let params = params();
        let Ok(chosen) = choose_liquidation(&old, &params, &p) else {
            return Ok(());
        };
        let honest = Case::new(&old, chosen.action, &p, &params);
        honest.assert_legal();
        // Perturbed amounts: the circuit agrees with the twin's verdict.
        let amount = chosen.action.amount() as i64 + delta;
        if delta != 0 && amount > 0 {
            let action = chosen.action.with_amount(amount as u64);
            if LiquidationTerms::of(&action, &p, &params).is_ok() {
                let c = Case::new(&old, action, &p, &params);
                let native_ok = c.native().is_ok();
                prop_assert_eq!(c.satisfied(), native_ok, "{:?}", c.native());
            }
        }
    }
}

#[test]
fn the_generator_yields_liquidatable_accounts() {
    // Guard for the property above: most generated accounts have a legal liquidation.
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let params = params();
    let found = (0..32)
        .filter(|_| {
            let (old, p) = breaching_account().new_tree(&mut runner).unwrap().current();
            choose_liquidation(&old, &params, &p).is_ok()
        })
        .count();
    assert!(
        found >= 16,
        "only {found} of 32 generated accounts were liquidatable"
    );
}

#[test]
fn size_bound_is_enforced() {
    // An account beyond the circuit's size bound is refused by the twin (and the
    // circuit's range check of requirement + haircut).
    let params = params();
    let p = prices(3_000, 56_150, 150, 10);
    let mut old = btc_long(-54_500);
    old.tokens[3] = i64::MAX; // 9.2e12 USDC
    old.quote = -i64::MAX;
    let action = LiquidationAction::Close {
        market: 0,
        side: Side::Long,
        amount: 1_000,
    };
    Case::new(&old, action, &p, &params)
        .assert_rejected(|e| matches!(e, LiquidationError::AccountTooLarge(_)));
}

#[test]
fn statement_digest_binds_every_public_input() {
    let (_, _, _, case) = normal_case();
    let d = case.public.digest();
    let mut other = case.public;
    other.liquidator += 1;
    assert_ne!(other.digest(), d);
    let mut other = case.public;
    other.deficit += 1;
    assert_ne!(other.digest(), d);
    let mut other = case.public;
    other.prices.markets[7] += 1;
    assert_ne!(other.digest(), d);
    assert_eq!(case.public.digest(), d, "deterministic");
}

// ---------------------------------------------------------------------------------
// Minimality is exact: around the rule's amount exactly one amount is legal, and
// prover (policy), twin and circuit agree on every amount tried.
// ---------------------------------------------------------------------------------

/// For each Δ in `window` around the chosen amount: the twin accepts exactly Δ* (or
/// nothing but Δ*), and the circuit is satisfied exactly when the twin accepts.
fn assert_only_the_rule_amount(old: &Account, p: &Prices, params: &RiskParams, window: u64) {
    let chosen = Case::chosen(old, p, params);
    chosen.assert_legal();
    let star = chosen.public.action.amount();
    for amount in star.saturating_sub(window).max(1)..=star + window {
        let action = chosen.public.action.with_amount(amount);
        if LiquidationTerms::of(&action, p, params).is_err() {
            continue;
        }
        let c = Case::new(old, action, p, params);
        let native = c.native();
        assert_eq!(
            native.is_ok(),
            amount == star,
            "amount {amount} (rule: {star}): {native:?}"
        );
        assert_eq!(c.satisfied(), native.is_ok(), "circuit vs twin at {amount}");
    }
}

#[test]
fn the_reviewed_doge_long_has_exactly_one_legal_amount() {
    // The outside review's case: 10,000 DOGE long with quote −903 USD at DOGE 0.10 USD.
    // Version 1 accepted ten amounts from 333,333,400 to 333,333,490; here the per-unit
    // gain is linear (no rounding inside d), so the inequality has one solution.
    let params = params();
    let p = prices(3_000, 57_000, 150, 10);
    let mut positions = [0; MARKETS];
    positions[3] = 10_000 * 1_000_000; // DOGE has 6 decimals
    let old = account(-903, [0; TOKENS], positions);
    assert_only_the_rule_amount(&old, &p, &params, 120);
    // The rule amount is ceil(S/d), computed here from the definitions.
    let w = params.weights();
    let rules = LiquidationRules::from(&params);
    let action = LiquidationAction::Close {
        market: 3,
        side: Side::Long,
        amount: 1,
    };
    let d = ethnum::I256::from(p.markets[3]) * ethnum::I256::from(unit_gain(&action, &w, &rules));
    let s = -old.health(&w, &p).target(TARGET) + ethnum::I256::from(ROUNDING_ALLOWANCE);
    let star = (s + d - 1) / d;
    assert_eq!(
        Case::chosen(&old, &p, &params).public.action.amount(),
        star.as_u64()
    );
}

#[test]
fn exhaustive_boundary_on_random_accounts() {
    // Random breaching accounts (positions, deposits and borrows): around each chosen
    // amount, ±6 units, only the chosen one is legal, and twin and circuit agree.
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let params = params();
    let mut checked = 0;
    for _ in 0..120 {
        let (old, p) = breaching_account().new_tree(&mut runner).unwrap().current();
        if choose_liquidation(&old, &params, &p).is_err() {
            continue;
        }
        assert_only_the_rule_amount(&old, &p, &params, 6);
        checked += 1;
        if checked == 24 {
            break;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} liquidatable accounts generated"
    );
}
