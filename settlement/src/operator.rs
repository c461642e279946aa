//! The operator key: the venue's credential for its own state updates.
//!
//! The ledger stores only SHA-256 of the secret (set once by `init`). Each operator
//! call presents the secret; its digest is compared with the stored one in constant
//! time. SHA-256 without salt or stretching is adequate because the secret is a random
//! key of at least [`OperatorKey::MIN_LEN`] bytes, not a password a person chose.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::SettleError;

/// The operator's secret. Its `Debug` never shows it.
#[derive(Clone)]
pub struct OperatorKey {
    secret: Vec<u8>,
}

impl OperatorKey {
    /// Shortest accepted secret, in bytes (128 bits of a random key in hex is 32).
    pub const MIN_LEN: usize = 16;

    /// Wraps a secret.
    ///
    /// # Errors
    /// [`SettleError::WeakOperatorSecret`] when it is shorter than [`Self::MIN_LEN`].
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, SettleError> {
        let secret = secret.into();
        if secret.len() < Self::MIN_LEN {
            return Err(SettleError::WeakOperatorSecret {
                len: secret.len(),
                min: Self::MIN_LEN,
            });
        }
        Ok(Self { secret })
    }

    /// Reads a secret file; surrounding whitespace (a trailing newline) is not part of
    /// the secret.
    ///
    /// # Errors
    /// [`SettleError::Io`], [`SettleError::WeakOperatorSecret`].
    pub fn from_file(path: &std::path::Path) -> Result<Self, SettleError> {
        let bytes = std::fs::read(path).map_err(|e| SettleError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::new(bytes.trim_ascii())
    }

    /// SHA-256 of the secret, as the ledger stores it.
    pub(crate) fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.secret).into()
    }

    /// Whether this key's digest is `stored_hex`, compared in constant time.
    pub(crate) fn matches(&self, stored_hex: &str) -> bool {
        let mut stored = [0u8; 32];
        if hex::decode_to_slice(stored_hex, &mut stored).is_err() {
            return false;
        }
        bool::from(self.digest().ct_eq(&stored))
    }
}

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorKey").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_and_debug_hides_the_secret() {
        assert_eq!(
            OperatorKey::new(b"short".to_vec()).unwrap_err().code(),
            "weak_operator_secret"
        );
        let k = OperatorKey::new(b"0123456789abcdef-secret".to_vec()).unwrap();
        assert!(!format!("{k:?}").contains("secret-"));
        assert!(k.matches(&hex::encode(k.digest())));
        assert!(!k.matches(&hex::encode([0u8; 32])));
        assert!(!k.matches("not hex"));
    }
}
