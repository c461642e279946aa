//! The worked examples of `docs/SETTLEMENT.md` ("Liquidation rules and worked
//! examples"), number by number, so the document cannot drift from the code.

use ethnum::I256;
use zkmargin_circuits::{
    apply_liquidation, legal_liquidations, state_after, Account, Blinding, Commitment, Fr,
    LiquidationAction, LiquidationError, LiquidationPublic, LiquidationRules, LiquidationTerms,
    Prices, RiskParams, Side, MARKETS, PPM, TOKENS,
};

use super::{btc_long, liquidation, prices, state_after_liquidation, BTC, USD};

/// 10^21: quote atomic units → equity units (`Health::equity`, `Health::at`).
const EQUITY: u128 = 1_000_000_000_000_000_000_000;
/// 10^15: quote atomic units → requirement units (`Health::requirement`, `haircut`).
const REQUIREMENT: u128 = 1_000_000_000_000_000;

/// What the circuit's native twin says of `action` on `old` at `prices`.
fn twin(old: &Account, action: LiquidationAction, prices: &Prices) -> Result<(), LiquidationError> {
    let params = RiskParams::development();
    let terms = LiquidationTerms::of(&action, prices, &params)?;
    let (_, deficit) = state_after(old, &action, &terms)?;
    let public = LiquidationPublic {
        old_commitment: Commitment::of(old),
        new_commitment: Commitment::of(old),
        liquidator: 9,
        action,
        terms,
        deficit,
        prices: *prices,
        weights: params.weights(),
        rules: LiquidationRules::from(&params),
    };
    apply_liquidation(old, &public, Blinding(old.blinding.0 + Fr::from(1u64))).map(|_| ())
}

fn equity(quote_units: i128) -> I256 {
    I256::from(quote_units) * I256::from(EQUITY)
}

fn requirement(quote_units_times_1000: i128) -> I256 {
    // Argument in 10^-3 quote atomic units (requirements carry three more decimals).
    I256::from(quote_units_times_1000) * I256::from(REQUIREMENT / 1_000)
}

#[test]
fn development_rules() {
    let params = RiskParams::development();
    assert_eq!(params.markets[0].maintenance_margin_ppm, 30_000);
    assert_eq!(params.liquidation.penalty_ppm, 10_000);
    assert_eq!(params.liquidation.insurance_share_ppm, 500_000);
    assert_eq!(params.liquidation.close_factor_ppm, 500_000);
    assert_eq!(params.liquidation.deep_breach_ratio_ppm, 950_000);
    assert_eq!(params.liquidation.liquidation_target_ppm, 1_050_000);
    assert_eq!(params.tokens[0].liability_weight_ppm, 1_200_000); // ETH borrow
    assert_eq!(params.tokens[3].asset_weight_ppm, 950_000); // USDC deposit
}

#[test]
fn perp_breach_smallest_close_restores_the_target_buffer() {
    let params = RiskParams::development();
    let target = params.liquidation.liquidation_target_ppm;
    let p = prices(56_150);
    assert_eq!(p.markets[0], 561_500_000_000);
    let old = btc_long(7, -54_500);
    let w = params.weights();
    let h = old.health(&w, &p);
    // Equity 1,650 USD, requirement 1,684.50 USD, H(1) = −34.50 USD,
    // T(1.05) = 1,650 − 1.05 · 1,684.50 = −118.725 USD (no token haircut).
    assert_eq!(h.equity, equity(1_650 * USD as i128));
    assert_eq!(h.requirement, requirement(1_684_500_000_000));
    assert_eq!(h.haircut, I256::ZERO);
    assert_eq!(h.excess_quote_units(PPM as u32), I256::from(-34_500_000));
    assert_eq!(h.target(target), equity(-118_725_000));
    // Ratio 1,650 / 1,684.5 = 0.9795 ≥ 0.95: a normal breach (close factor applies).
    assert_eq!(1_650_000_000u64 * 10_000 / 1_684_500_000, 9_795);

    let public = liquidation(&old, 56_150, 9);
    // Per USD closed T gains τ·mmf − π = 1.05 · 0.03 − 0.01 = 0.0215:
    // Δ = ceil((118.725 USD + 0.000003 USD allowance) / (56,150 USD · 0.0215)).
    assert_eq!(
        public.action,
        LiquidationAction::Close {
            market: 0,
            side: Side::Long,
            amount: 9_834_539
        }
    );
    let t = public.terms;
    assert_eq!(t.execution_value, 5_522_093_648); // floor(0.09834539 · 56,150)
    assert_eq!(t.penalty, 55_220_937); // ceil(1% of it)
    assert_eq!(
        (t.insurance_fee, t.liquidator_fee),
        (27_610_468, 27_610_469)
    );
    assert_eq!(t.quote_delta, 5_466_872_711);
    assert_eq!(public.deficit, 0);

    let new = state_after_liquidation(&old, &public);
    assert_eq!(new.quote, -49_033_127_289);
    assert_eq!(new.positions[0], 90_165_461);
    let h = new.health(&w, &p);
    // 1,594.7790625 USD against 1,518.837190545 USD: H(1) = +75.94 USD, and the
    // target buffer reached by 0.00001242775 USD.
    assert_eq!(
        h.equity,
        I256::from(15_947_790_625i128) * I256::from(EQUITY / 10)
    );
    assert_eq!(h.requirement, requirement(1_518_837_190_545));
    assert_eq!(h.excess_quote_units(PPM as u32), I256::from(75_941_871));
    assert_eq!(
        h.target(target),
        I256::from(12_427_750_000_000_000_000_000i128)
    );

    // One satoshi less neither reaches the target (its exact linear gain stays below
    // the shortfall plus the rounding allowance) nor is the maximum; one more is not
    // the smallest: the circuit's twin refuses both.
    assert!(matches!(
        twin(&old, public.action.with_amount(9_834_538), &p),
        Err(LiquidationError::NotMaximal { .. })
    ));
    assert!(matches!(
        twin(&old, public.action.with_amount(9_834_540), &p),
        Err(LiquidationError::NotMinimal { .. })
    ));
    assert_eq!(twin(&old, public.action, &p), Ok(()));
}

/// 10,000 USDC deposited, 2.6 ETH borrowed: the lending example.
fn eth_borrower() -> Account {
    let mut tokens = [0; TOKENS];
    tokens[0] = -2_600_000_000; // −2.6 ETH (9 decimals)
    tokens[3] = 10_000 * USD; // 10,000 USDC (6 decimals)
    Account {
        id: 8,
        nonce: 4,
        tokens,
        quote: 0,
        positions: [0; MARKETS],
        blinding: Blinding(Fr::from(1_008u64)),
    }
}

#[test]
fn lending_breach_repays_the_borrow() {
    let params = RiskParams::development();
    let target = params.liquidation.liquidation_target_ppm;
    let mut p = prices(56_150);
    p.tokens[0] = 3_100_000_000; // ETH 3,100 USD
    p.markets[1] = p.tokens[0];
    let old = eth_borrower();
    let w = params.weights();
    let h = old.health(&w, &p);
    // Equity 0.95 · 10,000 − 1.2 · 2.6 · 3,100 = 9,500 − 9,672 = −172 USD; no perp
    // requirement. Haircut K = 0.05 · 10,000 + 0.2 · 8,060 = 2,112 USD, so
    // T(1.05) = −172 − 0.05 · 2,112 = −277.60 USD.
    assert_eq!(h.equity, equity(-172 * USD as i128));
    assert_eq!(h.requirement, I256::ZERO);
    assert_eq!(
        h.haircut,
        I256::from(2_112 * USD as i128) * I256::from(REQUIREMENT)
    );
    assert_eq!(h.target(target), equity(-277_600_000));

    // Both a seizure of the USDC and a repayment of the ETH borrow are legal; the
    // repayment moves 1,388 USD where the seizure would move 6,531 USD: chosen.
    let legal: Vec<_> = legal_liquidations(&old, &params, &p)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(legal.len(), 2);
    assert_eq!(
        legal[0].action,
        LiquidationAction::Seize {
            token: 3,
            amount: 6_531_764_777
        }
    );
    assert!(legal.iter().all(|l| l.restores_target));

    let public = zkmargin_prover::choose_liquidation(&old, &params, &p).unwrap();
    // Per USD repaid T gains (w_liab − 1 − π) + (τ − 1)(w_liab − 1) = 0.19 + 0.01 = 0.2:
    // Δ = ceil((277.60 USD + 0.000003 USD) / (3,100 USD · 0.2)) = 0.447741941 ETH.
    assert_eq!(
        public.action,
        LiquidationAction::Repay {
            token: 0,
            amount: 447_741_941
        }
    );
    let t = public.terms;
    assert_eq!(t.execution_value, 1_388_000_018); // ceil(0.447741941 · 3,100): bought
    assert_eq!(t.penalty, 13_880_001); // ceil(1% of it)
    assert_eq!(t.quote_delta, -1_401_880_019); // paid from quote: −(V + P)
    assert_eq!((t.insurance_fee, t.liquidator_fee), (6_940_000, 6_940_001));
    assert_eq!(public.deficit, 0);

    let (new, deficit) = state_after(&old, &public.action, &public.terms).unwrap();
    assert_eq!(deficit, 0);
    assert_eq!(new.tokens[0], -2_152_258_059); // the borrow shrinks, never flips
    assert_eq!(new.tokens[3], 10_000 * USD); // the USDC stays
    assert_eq!(new.quote, -1_401_880_019);
    let h = new.health(&w, &p);
    // H(1) = +91.72 USD; the target buffer reached by 0.000001691 USD.
    assert_eq!(
        h.equity,
        I256::from(9_172_000_152i128) * I256::from(EQUITY / 100)
    );
    assert_eq!(
        h.target(target),
        I256::from(1_691_000_000_000_000_000_000i128)
    );

    // One unit less or more is refused by the circuit's twin.
    assert!(matches!(
        twin(&old, public.action.with_amount(447_741_940), &p),
        Err(LiquidationError::NotMaximal { .. })
    ));
    assert!(matches!(
        twin(&old, public.action.with_amount(447_741_942), &p),
        Err(LiquidationError::NotMinimal { .. })
    ));
    assert_eq!(twin(&old, public.action, &p), Ok(()));
}

#[test]
fn deep_breach_closes_everything_and_leaves_a_deficit() {
    let params = RiskParams::development();
    let p = prices(55_000);
    let old = btc_long(7, -54_500);
    let h = old.health(&params.weights(), &p);
    // Equity 500 USD against requirement 1,650 USD: ratio 0.30 < 0.95.
    assert_eq!(h.equity, equity(500 * USD as i128));
    assert_eq!(h.requirement, requirement(1_650_000_000_000));

    let public = liquidation(&old, 55_000, 9);
    assert_eq!(public.action.amount(), BTC as u64);
    assert_eq!(public.terms.execution_value, 55_000 * USD as u64);
    assert_eq!(public.terms.penalty, 550 * USD as u64);
    assert_eq!(public.deficit, 50 * USD as u64);
    let new = state_after_liquidation(&old, &public);
    assert_eq!((new.quote, new.positions[0]), (0, 0));
}
