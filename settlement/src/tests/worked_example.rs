//! The worked example of `docs/SETTLEMENT.md` ("Liquidation rules and a worked
//! example"), number by number, so the document cannot drift from the code.

use ethnum::I256;
use zkmargin_circuits::{LiquidationAction, LiquidationTerms, RiskParams, Side, PPM};

use super::{btc_long, liquidation, prices, state_after_liquidation, BTC, USD};

/// 10^21: quote units → equity units; 10^15: quote units → requirement units.
fn equity_units(micro_usd_times_10: i128) -> I256 {
    // Argument in 1e-7 USD (one more decimal than quote units).
    I256::from(micro_usd_times_10) * I256::from(10u128.pow(20))
}

#[test]
fn normal_breach_smallest_close_restores_health_by_a_hair() {
    let params = RiskParams::development();
    assert_eq!(params.markets[0].maintenance_margin_ppm, 30_000);
    assert_eq!(params.liquidation.penalty_ppm, 10_000);
    assert_eq!(params.liquidation.insurance_share_ppm, 500_000);
    assert_eq!(params.liquidation.close_factor_ppm, 500_000);
    assert_eq!(params.liquidation.deep_breach_ratio_ppm, 950_000);

    let p = prices(56_150);
    assert_eq!(p.markets[0], 561_500_000_000);
    let old = btc_long(7, -54_500);
    let w = params.weights();
    let h = old.health(&w, &p);
    // Equity 1,650 USD, requirement 1,684.50 USD, H = −34.50 USD.
    assert_eq!(
        h.equity,
        I256::from(1_650 * USD as i128) * I256::from(10u128.pow(21))
    );
    assert_eq!(
        h.requirement,
        I256::from(1_684_500_000i128) * I256::from(10u128.pow(15))
    );
    assert_eq!(h.excess_quote_units(PPM as u32), I256::from(-34_500_000));
    // Ratio 1,650 / 1,684.5 = 0.9795 ≥ 0.95: a normal breach.
    assert_eq!(1_650_000_000u64 * 10_000 / 1_684_500_000, 9_795);

    let public = liquidation(&old, 56_150, 9);
    assert_eq!(
        public.action,
        LiquidationAction::Close {
            market: 0,
            side: Side::Long,
            amount: 3_072_129
        }
    );
    let t = public.terms;
    assert_eq!(t.execution_value, 1_725_000_433); // 1,725.000433 USD
    assert_eq!(t.penalty, 17_250_005); // 17.250005 USD
    assert_eq!((t.insurance_fee, t.liquidator_fee), (8_625_002, 8_625_003));
    assert_eq!(t.quote_delta, 1_707_750_428);
    assert_eq!(public.deficit, 0);

    let new = state_after_liquidation(&old, &public);
    assert_eq!(new.quote, -52_792_249_572);
    assert_eq!(new.positions[0], 96_927_871);
    let h = new.health(&w, &p);
    // 1,632.7499945 USD against 1,632.749986995 USD: healthy by 0.000007505 USD.
    assert_eq!(h.equity, equity_units(16_327_499_945));
    assert_eq!(
        h.requirement,
        I256::from(1_632_749_986_995i128) * I256::from(10u128.pow(12))
    );
    assert_eq!(
        h.at(PPM as u32),
        I256::from(7_505i128) * I256::from(10u128.pow(18))
    );

    // One satoshi less would not restore health.
    let less = LiquidationTerms::of(&public.action.with_amount(3_072_128), &p, &params).unwrap();
    let before = old.health(&w, &p).at(PPM as u32);
    assert!(before + less.health_gain < 0);
    assert!(before + t.health_gain >= 0);
}

#[test]
fn deep_breach_closes_everything_and_leaves_a_deficit() {
    let params = RiskParams::development();
    let p = prices(55_000);
    let old = btc_long(7, -54_500);
    let h = old.health(&params.weights(), &p);
    // Equity 500 USD against requirement 1,650 USD: ratio 0.30 < 0.95.
    assert_eq!(
        h.equity,
        I256::from(500 * USD as i128) * I256::from(10u128.pow(21))
    );
    assert_eq!(
        h.requirement,
        I256::from(1_650 * USD as i128) * I256::from(10u128.pow(15))
    );

    let public = liquidation(&old, 55_000, 9);
    assert_eq!(public.action.amount(), BTC as u64);
    assert_eq!(public.terms.execution_value, 55_000 * USD as u64);
    assert_eq!(public.terms.penalty, 550 * USD as u64);
    assert_eq!(public.deficit, 50 * USD as u64);
    let new = state_after_liquidation(&old, &public);
    assert_eq!((new.quote, new.positions[0]), (0, 0));
}
