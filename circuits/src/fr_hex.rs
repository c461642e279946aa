//! Field elements as text: `0x` + 64 hex digits, big-endian, canonical (< r).
//!
//! Big-endian hex is how circom, snarkjs and Solidity tools print BN254 scalars, so a
//! commitment printed here can be compared with theirs character for character.

use ark_ff::{BigInteger, PrimeField};

use crate::Fr;

/// Why a string is not a canonical field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrHexError {
    /// Not `0x` followed by exactly 64 characters.
    #[error("expected 0x followed by 64 lowercase hex digits, got {0} characters")]
    Length(usize),
    /// No `0x` prefix.
    #[error("expected 0x followed by 64 lowercase hex digits: the 0x prefix is missing")]
    Prefix,
    /// A character is not a lowercase hex digit.
    #[error("not lowercase hex: {0}")]
    NotHex(String),
    /// The number is not below the BN254 scalar modulus.
    #[error("value is not below the BN254 scalar field modulus")]
    NotCanonical,
}

/// Formats `x` as `0x` + 64 big-endian hex digits.
pub fn fr_to_hex(x: &Fr) -> String {
    format!("0x{}", hex::encode(x.into_bigint().to_bytes_be()))
}

/// Parses the one encoding [`fr_to_hex`] writes: `0x` + 64 lowercase big-endian hex
/// digits, below r. Every other spelling of the same number — no prefix, uppercase
/// digits, `0X` — is refused, so a commitment compares equal as text wherever it
/// appears (`crate::hex_text` says why).
///
/// # Errors
/// [`FrHexError`] when the text is not that encoding or the value is not canonical.
pub fn fr_from_hex(s: &str) -> Result<Fr, FrHexError> {
    let Some(digits) = s.strip_prefix("0x") else {
        return Err(if s.len() == 64 {
            FrHexError::Prefix
        } else {
            FrHexError::Length(s.len())
        });
    };
    let bytes: [u8; 32] = crate::hex_text::decode(digits).map_err(|e| match e {
        crate::hex_text::HexTextError::Length { .. } => FrHexError::Length(s.len()),
        other => FrHexError::NotHex(other.to_string()),
    })?;
    let x = Fr::from_be_bytes_mod_order(&bytes);
    // Reducing mod r and re-encoding must give the same bytes: otherwise the input was ≥ r.
    if x.into_bigint().to_bytes_be() != bytes {
        return Err(FrHexError::NotCanonical);
    }
    Ok(x)
}

/// The field element of a signed 256-bit integer (negative values as `r − |x|`).
pub fn fr_from_i256(x: ethnum::I256) -> Fr {
    let magnitude = Fr::from_le_bytes_mod_order(&x.unsigned_abs().to_le_bytes());
    if x < 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Serde adapter for `Fr` fields: `#[serde(with = "crate::fr_hex::serde_fr")]`.
pub(crate) mod serde_fr {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use crate::Fr;

    pub fn serialize<S: Serializer>(x: &Fr, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::fr_to_hex(x))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
        let s = String::deserialize(d)?;
        super::fr_from_hex(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, Zero};

    #[test]
    fn round_trip_and_rejections() {
        let x = Fr::from(123456789u64).inverse().unwrap();
        assert_eq!(fr_from_hex(&fr_to_hex(&x)).unwrap(), x);
        assert_eq!(fr_from_hex(&fr_to_hex(&Fr::zero())).unwrap(), Fr::zero());
        // r itself is not canonical.
        let r = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert_eq!(fr_from_hex(r), Err(FrHexError::NotCanonical));
        assert!(matches!(fr_from_hex("0x12"), Err(FrHexError::Length(_))));
        assert!(matches!(
            fr_from_hex(&format!("0x{}", "zz".repeat(32))),
            Err(FrHexError::NotHex(_))
        ));
        // One spelling: no uppercase digits, no missing or uppercase prefix.
        let hex = fr_to_hex(&x);
        let upper = format!("0x{}", hex[2..].to_ascii_uppercase());
        assert_ne!(upper, hex, "the sample has letters");
        let e = fr_from_hex(&upper).unwrap_err();
        assert!(
            matches!(&e, FrHexError::NotHex(m) if m.contains("lowercase")),
            "{e}"
        );
        assert_eq!(fr_from_hex(&hex[2..]), Err(FrHexError::Prefix));
        assert!(fr_from_hex(&format!("0X{}", &hex[2..])).is_err());
    }
}
