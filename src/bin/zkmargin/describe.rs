//! Liquidation actions and terms in human units, shared by `liquidate`, `verify`,
//! `inspect`, `ledger settle` and the demo.

use zkmargin_circuits::{LiquidationAction, LiquidationTerms, RiskParams, Side};

use crate::units::format_amount;

/// Quote amounts in the parameters' units (`1,725.000433 USD`), or raw quote units
/// when the parameters are unknown.
pub fn money(units: i128, params: Option<&RiskParams>) -> String {
    match params {
        Some(p) => format!(
            "{} {}",
            format_amount(units, p.quote_decimals),
            p.quote_symbol
        ),
        None => format!(
            "{}{} quote units",
            if units < 0 { "-" } else { "" },
            crate::ui::thousands(units.unsigned_abs())
        ),
    }
}

/// `+1,707.750428 USD` (explicit sign).
pub fn signed_money(units: i128, params: Option<&RiskParams>) -> String {
    let text = money(units, params);
    if units >= 0 {
        format!("+{text}")
    } else {
        text
    }
}

/// `close 0.03072129 of the BTC-PERP long` / `seize 1.5 ETH` / `repay 2 ETH of the
/// borrow (paid from quote)`, or slot numbers when the parameters are unknown.
pub fn action(action: &LiquidationAction, params: Option<&RiskParams>) -> String {
    match *action {
        LiquidationAction::Close {
            market,
            side,
            amount,
        } => {
            let side = match side {
                Side::Long => "long",
                Side::Short => "short",
            };
            match params.and_then(|p| p.markets.get(market)) {
                Some(m) => format!(
                    "close {} of the {} {side}",
                    format_amount(i128::from(amount), m.size_decimals),
                    m.symbol
                ),
                None => format!(
                    "close {} units of the {side} in market slot {market}",
                    crate::ui::thousands(u128::from(amount))
                ),
            }
        }
        LiquidationAction::Seize { token, amount } => {
            match params.and_then(|p| p.tokens.get(token)) {
                Some(t) => format!(
                    "seize {} {}",
                    format_amount(i128::from(amount), t.decimals),
                    t.symbol
                ),
                None => format!(
                    "seize {} units of token slot {token}",
                    crate::ui::thousands(u128::from(amount))
                ),
            }
        }
        LiquidationAction::Repay { token, amount } => {
            match params.and_then(|p| p.tokens.get(token)) {
                Some(t) => format!(
                    "repay {} {} of the borrow (paid from quote)",
                    format_amount(i128::from(amount), t.decimals),
                    t.symbol
                ),
                None => format!(
                    "repay {} units of the borrow in token slot {token} (paid from quote)",
                    crate::ui::thousands(u128::from(amount))
                ),
            }
        }
    }
}

/// The terms as (label, text) pairs: value, penalty and its split, the account's
/// quote change, the deficit.
pub fn terms_fields(
    terms: &LiquidationTerms,
    deficit: u64,
    liquidator: u64,
    params: Option<&RiskParams>,
) -> Vec<(&'static str, String)> {
    let m = |units: u64| money(i128::from(units), params);
    vec![
        (
            "value",
            format!("{} at the signed price", m(terms.execution_value)),
        ),
        (
            "penalty",
            format!(
                "{}: liquidator {liquidator} gets {}, the insurance fund {}",
                m(terms.penalty),
                m(terms.liquidator_fee),
                m(terms.insurance_fee)
            ),
        ),
        (
            "quote",
            format!(
                "{} to the account",
                signed_money(i128::from(terms.quote_delta), params)
            ),
        ),
        (
            "deficit",
            if deficit == 0 {
                "none".to_string()
            } else {
                format!(
                    "{}: everything is closed and the account still owes it; the insurance fund pays, the rest is socialized",
                    m(deficit)
                )
            },
        ),
    ]
}

/// [`terms_fields`] as lines with labels padded to `width`.
pub fn terms_lines(
    terms: &LiquidationTerms,
    deficit: u64,
    liquidator: u64,
    params: Option<&RiskParams>,
    width: usize,
) -> Vec<String> {
    terms_fields(terms, deficit, liquidator, params)
        .into_iter()
        .map(|(label, text)| format!("{label:<width$} {text}"))
        .collect()
}

/// The parameter set among `candidates` whose digest is `digest`.
pub fn params_with_digest<'a>(
    candidates: impl IntoIterator<Item = &'a RiskParams>,
    digest: &[u8; 32],
) -> Option<&'a RiskParams> {
    candidates.into_iter().find(|p| &p.digest() == digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        let p = RiskParams::development();
        let close = LiquidationAction::Close {
            market: 0,
            side: Side::Long,
            amount: 3_072_129,
        };
        assert_eq!(
            action(&close, Some(&p)),
            "close 0.03072129 of the BTC-PERP long"
        );
        assert_eq!(
            action(&close, None),
            "close 3,072,129 units of the long in market slot 0"
        );
        let seize = LiquidationAction::Seize {
            token: 0,
            amount: 1_500_000_000,
        };
        assert_eq!(action(&seize, Some(&p)), "seize 1.5 ETH");
        assert_eq!(money(1_725_000_433, Some(&p)), "1,725.000433 USD");
        assert_eq!(money(-5, None), "-5 quote units");
        assert_eq!(signed_money(17, Some(&p)), "+0.000017 USD");
        assert_eq!(signed_money(-17, Some(&p)), "-0.000017 USD");
    }
}
