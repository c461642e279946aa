//! Bytes as text: lowercase hex without a prefix, the one encoding of SHA-256 digests,
//! key fingerprints and proofs in every zkmargin document (`docs/FORMATS.md`).
//!
//! One value has one encoding: uppercase digits and a `0x` prefix are refused rather
//! than accepted, so a digest copied from one document compares equal, as text, with
//! the same digest anywhere else (a ledger's replay key, a pinned fingerprint), and no
//! two spellings of one value can travel side by side.

/// Why a string is not lowercase hex of the expected length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexTextError {
    /// A `0x` prefix (only field elements carry one).
    #[error("expected bare lowercase hex, found a 0x prefix: remove it")]
    Prefix,
    /// Not the expected number of characters.
    #[error("expected {expected} hex characters ({} bytes), found {found}", expected / 2)]
    Length {
        /// Characters expected (twice the bytes).
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character other than `0-9` and `a-f`.
    #[error("{character:?} at position {position} is not a lowercase hex digit (0-9, a-f){}", if character.is_ascii_hexdigit() { "; write hex in lowercase" } else { "" })]
    Digit {
        /// The character.
        character: char,
        /// Its position (in characters).
        position: usize,
    },
}

/// Whether `c` is one of `0-9`, `a-f`.
pub fn is_lower_hex_digit(c: char) -> bool {
    matches!(c, '0'..='9' | 'a'..='f')
}

/// Checks that `s` is exactly `2 * bytes` lowercase hex digits.
///
/// # Errors
/// [`HexTextError`].
pub fn check(s: &str, bytes: usize) -> Result<(), HexTextError> {
    if s.starts_with("0x") || s.starts_with("0X") {
        return Err(HexTextError::Prefix);
    }
    if let Some((position, character)) =
        s.chars().enumerate().find(|(_, c)| !is_lower_hex_digit(*c))
    {
        return Err(HexTextError::Digit {
            character,
            position,
        });
    }
    if s.len() != 2 * bytes {
        return Err(HexTextError::Length {
            expected: 2 * bytes,
            found: s.len(),
        });
    }
    Ok(())
}

/// Decodes exactly `N` bytes from `2N` lowercase hex digits.
///
/// # Errors
/// [`HexTextError`].
pub fn decode<const N: usize>(s: &str) -> Result<[u8; N], HexTextError> {
    check(s, N)?;
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).expect("checked: 2N lowercase hex digits");
    Ok(out)
}

/// Serde adapter for `[u8; 32]` fields written as 64 lowercase hex digits:
/// `#[serde(with = "zkmargin_circuits::hex_text::serde_32")]`.
pub mod serde_32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Lowercase hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    /// Exactly 64 lowercase hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::decode(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_value() {
        let lower = "00ff".repeat(8);
        assert_eq!(decode::<16>(&lower).unwrap()[..2], [0x00, 0xff]);
        let e = decode::<16>(&lower.to_ascii_uppercase()).unwrap_err();
        assert!(
            matches!(
                e,
                HexTextError::Digit {
                    character: 'F',
                    position: 2
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("lowercase"), "{e}");
        assert_eq!(
            decode::<16>(&format!("0x{lower}")).unwrap_err(),
            HexTextError::Prefix
        );
        assert_eq!(
            decode::<16>(&lower[2..]).unwrap_err(),
            HexTextError::Length {
                expected: 32,
                found: 30
            }
        );
        let e = decode::<2>("0g00").unwrap_err();
        assert!(!e.to_string().contains("write hex in lowercase"), "{e}");
        assert!(
            decode::<2>("é000").is_err(),
            "multi-byte characters are not digits"
        );
    }
}
