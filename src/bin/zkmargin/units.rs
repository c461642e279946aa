//! Decimal amounts ↔ atomic units, and `NAME=VALUE` arguments.

use anyhow::{bail, Context};

/// Parses a decimal amount (`10`, `-0.5`, `1_000.25`) into atomic units with
/// `decimals` decimals, exactly: more fractional digits than `decimals` is an error.
pub fn parse_amount(text: &str, decimals: u8) -> anyhow::Result<i64> {
    let clean: String = text.trim().chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
    {
        bail!("{text:?} is not a decimal number (write e.g. 10, -2.5 or 1_000.25)");
    }
    if frac_part.len() > usize::from(decimals) {
        bail!("{text:?} has more than {decimals} decimals, the precision of this asset");
    }
    let scale = 10i128.pow(u32::from(decimals));
    let int: i128 = if int_part.is_empty() {
        0
    } else {
        int_part
            .parse()
            .with_context(|| format!("{text:?} is too large"))?
    };
    let frac: i128 = if frac_part.is_empty() {
        0
    } else {
        frac_part.parse::<i128>()? * 10i128.pow((usize::from(decimals) - frac_part.len()) as u32)
    };
    let magnitude = int
        .checked_mul(scale)
        .and_then(|v| v.checked_add(frac))
        .with_context(|| format!("{text:?} is too large"))?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value)
        .with_context(|| format!("{text:?} does not fit a 64-bit balance at {decimals} decimals"))
}

/// Formats atomic units as a decimal with thousands separators, trailing zeros trimmed.
pub fn format_amount(value: i128, decimals: u8) -> String {
    let scale = 10u128.pow(u32::from(decimals));
    let magnitude = value.unsigned_abs();
    let int = crate::ui::thousands(magnitude / scale);
    let frac = magnitude % scale;
    let sign = if value < 0 { "-" } else { "" };
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let frac = format!("{frac:0width$}", width = usize::from(decimals));
        format!("{sign}{int}.{}", frac.trim_end_matches('0'))
    }
}

/// Splits `NAME=VALUE`.
pub fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() && !value.is_empty() => {
            Ok((name.to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_exactly() {
        assert_eq!(parse_amount("10", 9).unwrap(), 10_000_000_000);
        assert_eq!(parse_amount("-80000", 6).unwrap(), -80_000_000_000);
        assert_eq!(parse_amount("0.00000001", 8).unwrap(), 1);
        assert_eq!(parse_amount("1_000.25", 6).unwrap(), 1_000_250_000);
        assert_eq!(parse_amount("+.5", 1).unwrap(), 5);
        assert!(parse_amount("0.000000001", 8).is_err());
        assert!(parse_amount("abc", 6).is_err());
        assert!(parse_amount("", 6).is_err());
        assert!(parse_amount("-", 6).is_err());
        assert!(parse_amount("1.2.3", 6).is_err());
        assert!(parse_amount("10000000000", 9).is_err(), "overflows i64");
        assert_eq!(format_amount(-80_000_000_000, 6), "-80,000");
        assert_eq!(format_amount(10_500_000_000, 9), "10.5");
        assert_eq!(format_amount(1, 8), "0.00000001");
        assert_eq!(format_amount(0, 0), "0");
        for (v, d) in [(123_456_789i64, 6u8), (-5, 9), (i64::MIN, 9), (i64::MAX, 0)] {
            let text = format_amount(i128::from(v), d).replace(',', "_");
            assert_eq!(parse_amount(&text, d).unwrap(), v, "{text}");
        }
    }

    #[test]
    fn pairs() {
        assert_eq!(
            parse_pair("ETH/USD=3000").unwrap(),
            ("ETH/USD".into(), "3000".into())
        );
        assert!(parse_pair("ETH").is_err());
        assert!(parse_pair("=5").is_err());
    }

    proptest::proptest! {
        /// Every balance at every precision survives formatting and parsing exactly.
        #[test]
        fn format_then_parse_is_identity(v: i64, decimals in 0u8..=18) {
            let text = format_amount(i128::from(v), decimals).replace(',', "_");
            proptest::prop_assert_eq!(parse_amount(&text, decimals).unwrap(), v);
        }
    }
}
