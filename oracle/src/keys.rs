//! Committee keys: [`SignerId`] (public, compressed SEC1) and [`SignerKey`] (secret).

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::report::PriceReport;
use crate::ReportSignature;

/// Bytes of a compressed SEC1 secp256k1 public key.
pub const SIGNER_ID_BYTES: usize = 33;
/// Bytes of a secp256k1 secret scalar.
pub const SIGNER_KEY_BYTES: usize = 32;
/// Bytes of a fixed-size ECDSA signature `r || s`.
pub const SIGNATURE_BYTES: usize = 64;

/// Why a signer id or a signer key could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The hex string starts with `0x`.
    #[error("{what} starts with 0x; write it as bare hex digits without the 0x prefix")]
    HexPrefix {
        /// What was being parsed ("signer id" or "signer key").
        what: &'static str,
    },
    /// The hex string has the wrong number of characters.
    #[error("{what} must be {expected} hex characters, found {actual}; check that the whole key was copied")]
    WrongLength {
        /// What was being parsed ("signer id" or "signer key").
        what: &'static str,
        /// Required number of hex characters.
        expected: usize,
        /// Number of characters found.
        actual: usize,
    },
    /// The string contains a character that is not a lowercase hex digit (keys have
    /// one spelling, as every hex string of zkmargin: `docs/FORMATS.md`).
    #[error("{what} has {character:?} at position {position}, which is not a lowercase hex digit; use only 0-9 and a-f")]
    InvalidHex {
        /// What was being parsed ("signer id" or "signer key").
        what: &'static str,
        /// The first offending character.
        character: char,
        /// Its position, in characters.
        position: usize,
    },
    /// The first byte of a public key is not the compressed-point tag `02` or `03`.
    #[error("signer id must be a compressed SEC1 public key starting with 02 or 03, found prefix {prefix:02x}; compress the public key")]
    NotCompressed {
        /// The first byte found.
        prefix: u8,
    },
    /// The x coordinate of a public key is not on secp256k1.
    #[error("signer id is not a point on secp256k1; it is not a public key, check that it was copied intact")]
    NotOnCurve,
    /// The secret scalar is zero or not below the secp256k1 group order.
    #[error("signer key is zero or not below the secp256k1 group order; generate a new key")]
    InvalidSecret,
}

/// A digit of the one hex spelling zkmargin reads and writes: `0-9`, `a-f` (the
/// same rule as `zkmargin_circuits::hex_text`, which this crate does not depend on).
fn is_lower_hex(c: char) -> bool {
    matches!(c, '0'..='9' | 'a'..='f')
}

/// Decodes exactly `N` bytes from bare lowercase hex (no `0x`).
fn decode_hex<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N], KeyError> {
    if s.starts_with("0x") || s.starts_with("0X") {
        return Err(KeyError::HexPrefix { what });
    }
    let actual = s.chars().count();
    if actual != 2 * N {
        return Err(KeyError::WrongLength {
            what,
            expected: 2 * N,
            actual,
        });
    }
    if let Some((position, character)) = s.chars().enumerate().find(|(_, c)| !is_lower_hex(*c)) {
        return Err(KeyError::InvalidHex {
            what,
            character,
            position,
        });
    }
    let mut out = [0u8; N];
    // Length and digits were checked above, so decoding cannot fail.
    hex::decode_to_slice(s, &mut out).expect("2N hex digits decode to N bytes");
    Ok(out)
}

/// A committee member's public key: 33-byte compressed SEC1 secp256k1 point.
///
/// Serialized (serde, [`fmt::Display`]) as 66 lowercase hex characters without `0x`.
/// Every constructor checks that the bytes are a point on the curve, so a `SignerId`
/// always names a usable verifying key. Ordered by its bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignerId([u8; SIGNER_ID_BYTES]);

impl SignerId {
    /// Parses a compressed SEC1 public key.
    ///
    /// # Errors
    /// [`KeyError::NotCompressed`] if the first byte is not `02`/`03`;
    /// [`KeyError::NotOnCurve`] if the x coordinate has no point on secp256k1.
    pub fn from_bytes(bytes: &[u8; SIGNER_ID_BYTES]) -> Result<Self, KeyError> {
        if bytes[0] != 0x02 && bytes[0] != 0x03 {
            return Err(KeyError::NotCompressed { prefix: bytes[0] });
        }
        VerifyingKey::from_sec1_bytes(bytes).map_err(|_| KeyError::NotOnCurve)?;
        Ok(Self(*bytes))
    }

    /// The 33 compressed SEC1 bytes.
    pub fn to_bytes(&self) -> [u8; SIGNER_ID_BYTES] {
        self.0
    }

    /// The 33 compressed SEC1 bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; SIGNER_ID_BYTES] {
        &self.0
    }

    fn from_verifying_key(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(true);
        let mut bytes = [0u8; SIGNER_ID_BYTES];
        bytes.copy_from_slice(point.as_bytes());
        Self(bytes)
    }

    fn verifying_key(&self) -> VerifyingKey {
        // Every constructor checked the point, so this cannot fail.
        VerifyingKey::from_sec1_bytes(&self.0).expect("SignerId holds a valid point")
    }

    /// Whether `signature` is a valid low-S ECDSA signature by this signer over the
    /// 32-byte `prehash`. k256 rejects high-S signatures here (BIP 62 malleability).
    pub(crate) fn verifies(&self, prehash: &[u8; 32], signature: &Signature) -> bool {
        self.verifying_key()
            .verify_prehash(prehash, signature)
            .is_ok()
    }
}

impl fmt::Display for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerId({self})")
    }
}

impl FromStr for SignerId {
    type Err = KeyError;

    /// Parses 66 hex characters (no `0x`) of a compressed SEC1 public key.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode_hex::<SIGNER_ID_BYTES>("signer id", s)?)
    }
}

impl Serialize for SignerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for SignerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A committee member's secret key (secp256k1), for the development signer and tests.
///
/// [`fmt::Debug`] prints only the public [`SignerId`], never the secret. Serde
/// writes the secret as 64 lowercase hex characters: store such files as secrets.
#[derive(Clone)]
pub struct SignerKey(SigningKey);

impl SignerKey {
    /// Draws a fresh key from a cryptographic RNG.
    pub fn generate<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Self(SigningKey::random(rng))
    }

    /// Loads a key from its 32-byte big-endian secret scalar.
    ///
    /// # Errors
    /// [`KeyError::InvalidSecret`] if the scalar is zero or not below the group order.
    pub fn from_bytes(bytes: &[u8; SIGNER_KEY_BYTES]) -> Result<Self, KeyError> {
        SigningKey::from_bytes(&(*bytes).into())
            .map(Self)
            .map_err(|_| KeyError::InvalidSecret)
    }

    /// The 32-byte big-endian secret scalar. Handle as a secret.
    pub fn to_bytes(&self) -> [u8; SIGNER_KEY_BYTES] {
        self.0.to_bytes().into()
    }

    /// The public id of this key.
    pub fn id(&self) -> SignerId {
        SignerId::from_verifying_key(self.0.verifying_key())
    }

    /// Signs `report`: ECDSA over its SHA-256 [`PriceReport::digest`] (as a prehash),
    /// RFC 6979 deterministic nonce, low-S normalized.
    ///
    /// Does not validate the report; [`crate::OracleConfig::verify`] rejects invalid
    /// reports whatever their signatures, so sign only reports that pass
    /// [`PriceReport::validate`].
    pub fn sign(&self, report: &PriceReport) -> ReportSignature {
        let signature: Signature = self
            .0
            .sign_prehash(&report.digest())
            // Fails only if RFC 6979 yields r = 0 or s = 0: probability ~2^-256.
            .expect("ECDSA signing over a 32-byte prehash");
        // k256 already returns low-S; normalizing again keeps that a property of this crate.
        let signature = signature.normalize_s().unwrap_or(signature);
        ReportSignature {
            signer: self.id(),
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

impl PartialEq for SignerKey {
    /// Keys are equal when their public ids are (the map secret → id is a bijection).
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for SignerKey {}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl FromStr for SignerKey {
    type Err = KeyError;

    /// Parses 64 hex characters (no `0x`) of a big-endian secret scalar.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode_hex::<SIGNER_KEY_BYTES>("signer key", s)?)
    }
}

impl Serialize for SignerKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for SignerKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a signature string: 128 hex characters of `r || s`, both in `1..n`, s low.
///
/// Returns the reason as a one-line message for [`crate::OracleError::MalformedSignature`].
pub(crate) fn parse_signature(s: &str) -> Result<Signature, String> {
    if s.starts_with("0x") || s.starts_with("0X") {
        return Err("starts with 0x; write it as bare hex digits".into());
    }
    let actual = s.chars().count();
    if actual != 2 * SIGNATURE_BYTES {
        return Err(format!(
            "must be {} hex characters (64-byte r||s), found {actual}",
            2 * SIGNATURE_BYTES
        ));
    }
    if let Some((index, c)) = s.chars().enumerate().find(|(_, c)| !is_lower_hex(*c)) {
        return Err(format!(
            "not lowercase hex ({c:?} at position {index}); use only the digits 0-9 and a-f"
        ));
    }
    let mut bytes = [0u8; SIGNATURE_BYTES];
    hex::decode_to_slice(s, &mut bytes).map_err(|e| format!("not valid hex ({e})"))?;
    let signature = Signature::from_slice(&bytes)
        .map_err(|_| "r or s is zero or not below the secp256k1 group order".to_string())?;
    if signature.normalize_s().is_some() {
        // The high-S twin (r, n - s) of a valid signature is also a valid ECDSA
        // signature; refusing it here means one signer has one signature per report.
        return Err("s is high (above n/2); normalize to low-S as in BIP 62".into());
    }
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_print_secret() {
        let key = SignerKey::from_bytes(&[7u8; 32]).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains(&hex::encode([7u8; 32])));
        assert!(debug.contains(&key.id().to_string()));
    }

    #[test]
    fn secret_zero_and_order_rejected() {
        assert_eq!(
            SignerKey::from_bytes(&[0u8; 32]).unwrap_err(),
            KeyError::InvalidSecret
        );
        assert_eq!(
            SignerKey::from_bytes(&[0xffu8; 32]).unwrap_err(),
            KeyError::InvalidSecret
        );
    }
}
