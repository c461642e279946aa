//! The file formats this crate defines: the account file and the committee-secrets
//! file. (Risk parameters, reports, oracle configs, bundles and manifests are the
//! other crates' types, written as they are; `docs/FORMATS.md` documents them all.)

use std::collections::BTreeSet;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zkmargin_circuits::Account;
use zkmargin_oracle::{
    development_committee, ConfigError, OracleConfig, SignerKey, CONFIG_VERSION,
};

pub use zkmargin_verifier::files::ACCOUNT_FILE_VERSION;
pub use zkmargin_verifier::files::COMMITTEE_FILE_VERSION;

/// A private account file: `{"version": 1, "account": {...}}`.
///
/// The account (balances and blinding) is the witness of every proof about it: the
/// file is a secret, written with mode `0600`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFile {
    /// Format version, [`ACCOUNT_FILE_VERSION`].
    pub version: u32,
    /// The account state.
    pub account: Account,
}

impl AccountFile {
    /// Wraps an account in the current format version.
    pub fn new(account: Account) -> Self {
        Self {
            version: ACCOUNT_FILE_VERSION,
            account,
        }
    }
}

/// Notice written into committee files made from the public development seeds.
pub const DEVELOPMENT_COMMITTEE_NOTICE: &str = "DEVELOPMENT oracle committee: these secret keys are public (derived from documented seeds); anyone can sign any price with them. For development and tests only.";

/// Notice written into freshly generated committee files.
pub const COMMITTEE_NOTICE: &str = "Oracle committee SECRET keys: whoever reads this file can sign prices that verifiers configured with this committee accept. Keep it private (mode 0600); give verifiers only the oracle config.";

/// The development signer's secret keys, with the oracle config verifiers use.
///
/// `keys` may be the whole committee or a subset (one member's own key); every key
/// must belong to a signer of `config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitteeFile {
    /// Format version, [`COMMITTEE_FILE_VERSION`].
    pub version: u32,
    /// True for the public development committee.
    pub development: bool,
    /// What these keys are and how to handle them.
    pub notice: String,
    /// The committee's public configuration (give this part to verifiers).
    pub config: OracleConfig,
    /// Secret keys, 64 hex characters each.
    pub keys: Vec<SignerKey>,
}

/// Why a committee file's keys and config do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitteeError {
    /// The embedded oracle config is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The file holds no secret keys.
    #[error("it holds no secret keys; generate a committee with `zkmargin oracle keygen`")]
    NoKeys,
    /// A key is not one of the config's signers.
    #[error("key of signer {0} is not a signer of the file's oracle config; the keys and the config come from different committees")]
    KeyNotInConfig(String),
    /// The same key twice.
    #[error("key of signer {0} appears twice; keep each key once")]
    DuplicateKey(String),
}

impl CommitteeFile {
    /// A fresh committee of `signers` keys from `rng`, with quorum and freshness policy.
    ///
    /// # Errors
    /// [`ConfigError`] when the policy is invalid (quorum 0 or above `signers`, no
    /// signers, too many, `max_age_secs` 0).
    pub fn generate<R: RngCore + CryptoRng>(
        signers: usize,
        quorum: u32,
        max_age_secs: u64,
        max_future_skew_secs: u64,
        rng: &mut R,
    ) -> Result<Self, ConfigError> {
        let keys: Vec<SignerKey> = (0..signers).map(|_| SignerKey::generate(rng)).collect();
        let config = OracleConfig {
            version: CONFIG_VERSION,
            signers: keys.iter().map(SignerKey::id).collect(),
            quorum,
            max_age_secs,
            max_future_skew_secs,
        };
        config.validate()?;
        Ok(Self {
            version: COMMITTEE_FILE_VERSION,
            development: false,
            notice: COMMITTEE_NOTICE.into(),
            config,
            keys,
        })
    }

    /// The public development committee of [`development_committee`].
    pub fn development() -> Self {
        let (keys, config) = development_committee();
        Self {
            version: COMMITTEE_FILE_VERSION,
            development: true,
            notice: DEVELOPMENT_COMMITTEE_NOTICE.into(),
            config,
            keys,
        }
    }

    /// Checks the config and that every key is a distinct signer of it.
    ///
    /// # Errors
    /// The first [`CommitteeError`].
    pub fn check(&self) -> Result<(), CommitteeError> {
        self.config.validate()?;
        if self.keys.is_empty() {
            return Err(CommitteeError::NoKeys);
        }
        let signers: BTreeSet<_> = self.config.signers.iter().collect();
        let mut seen = BTreeSet::new();
        for key in &self.keys {
            let id = key.id();
            if !signers.contains(&id) {
                return Err(CommitteeError::KeyNotInConfig(id.to_string()));
            }
            if !seen.insert(id) {
                return Err(CommitteeError::DuplicateKey(id.to_string()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn committees_check() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
        let c = CommitteeFile::generate(3, 2, 300, 5, &mut rng).unwrap();
        c.check().unwrap();
        CommitteeFile::development().check().unwrap();

        let mut other = CommitteeFile::development();
        other.keys.push(c.keys[0].clone());
        assert!(matches!(
            other.check(),
            Err(CommitteeError::KeyNotInConfig(_))
        ));

        let mut twice = CommitteeFile::development();
        twice.keys.push(twice.keys[0].clone());
        assert!(matches!(
            twice.check(),
            Err(CommitteeError::DuplicateKey(_))
        ));

        assert!(CommitteeFile::generate(3, 4, 300, 5, &mut rng).is_err());
        assert!(CommitteeFile::generate(3, 2, 0, 5, &mut rng).is_err());
    }

    #[test]
    fn debug_hides_secrets() {
        let c = CommitteeFile::development();
        let shown = format!("{c:?}");
        for key in &c.keys {
            assert!(!shown.contains(&hex::encode(key.to_bytes())));
        }
    }
}
