//! Opening a verifier from configuration: the one place every shell (the CLI's
//! `verify` and `ledger settle`, `zkmargin-verifier serve` and `verify`, the demo, the
//! engine's keepers) turns "keys directory, oracle config, risk parameters" into a
//! [`Verifier`] and the judgement of how trustworthy that configuration is.
//!
//! What was not given falls back to a development default (the repository's `keys/`,
//! the development oracle committee, the development risk parameters); [`Opened`] says
//! which, so each shell can announce it in its own voice, and carries the
//! [`TrustCheck`] that settlement refuses development trust with.

use std::{path::PathBuf, sync::Arc};

use zkmargin_circuits::RiskParams;
use zkmargin_oracle::{development_committee, OracleConfig};

use crate::{
    error::SetupError,
    files::{load_oracle_config, load_risk_params, FileError},
    trust::{Defaulted, TrustCheck},
    verifier::{FixedClock, SystemClock, Verifier},
};

/// The keys directory used when none is given: the repository's development keys.
pub const DEFAULT_KEYS_DIR: &str = "keys";

/// What a verifier trusts, as given on a command line or in the environment.
#[derive(Debug, Clone, Default)]
pub struct VerifierConfig {
    /// Keys directory; `None`: [`DEFAULT_KEYS_DIR`].
    pub keys_dir: Option<PathBuf>,
    /// Oracle committee configuration file; `None`: the development committee.
    pub oracle: Option<PathBuf>,
    /// Accepted risk parameter files; empty: the development parameters.
    pub params: Vec<PathBuf>,
    /// Judge report freshness at this unix time instead of the system clock.
    pub at: Option<u64>,
}

/// Why a verifier could not be opened from its configuration. Every message names the
/// file and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An oracle config or risk-parameters file cannot be used.
    #[error(transparent)]
    File(#[from] FileError),
    /// The keys, committee or parameters do not make a verifier.
    #[error("cannot load the verifier from keys directory {}: {source}", dir.display())]
    Setup {
        /// The keys directory.
        dir: PathBuf,
        /// Why.
        source: SetupError,
    },
}

/// A verifier opened from a [`VerifierConfig`], with what is development about it.
#[derive(Debug)]
pub struct Opened {
    /// The verifier.
    pub verifier: Verifier,
    /// The keys directory it was loaded from.
    pub keys_dir: PathBuf,
    /// The oracle configuration it accepts reports under.
    pub oracle: OracleConfig,
    /// The risk parameters it accepts, in the order given.
    pub params: Vec<RiskParams>,
    /// Which parts fell back to a development default.
    pub defaulted: Defaulted,
    /// True when no keys directory was given ([`DEFAULT_KEYS_DIR`] was used).
    pub default_keys: bool,
    /// The development parts of the trust configuration (empty for a production one).
    pub trust: TrustCheck,
}

impl VerifierConfig {
    /// The oracle configuration: the file's, or the development committee's.
    ///
    /// # Errors
    /// [`ConfigError::File`] for an unreadable or invalid file.
    pub fn oracle_config(&self) -> Result<OracleConfig, ConfigError> {
        Ok(match &self.oracle {
            Some(path) => load_oracle_config(path)?,
            None => development_committee().1,
        })
    }

    /// The accepted risk parameters: the files', or the development parameters.
    ///
    /// # Errors
    /// [`ConfigError::File`] naming the first unreadable or invalid file.
    pub fn risk_params(&self) -> Result<Vec<RiskParams>, ConfigError> {
        if self.params.is_empty() {
            return Ok(vec![RiskParams::development()]);
        }
        Ok(self
            .params
            .iter()
            .map(|p| load_risk_params(p))
            .collect::<Result<_, _>>()?)
    }

    /// Reads the files, loads and checks the keys (fingerprints, shapes), builds the
    /// verifier with the clock this configuration names, and judges its trust.
    ///
    /// # Errors
    /// [`ConfigError`]: a file that cannot be used, or keys, committee or parameters
    /// that do not make a verifier.
    pub fn open(&self) -> Result<Opened, ConfigError> {
        let oracle = self.oracle_config()?;
        let params = self.risk_params()?;
        let keys_dir = self
            .keys_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYS_DIR));
        let verifier = Verifier::from_keys_dir(&keys_dir, oracle.clone(), params.clone()).map_err(
            |source| ConfigError::Setup {
                dir: keys_dir.clone(),
                source,
            },
        )?;
        let verifier = match self.at {
            Some(t) => verifier.with_clock(Arc::new(FixedClock(t))),
            None => verifier.with_clock(Arc::new(SystemClock)),
        };
        let defaulted = Defaulted {
            oracle: self.oracle.is_none(),
            params: self.params.is_empty(),
        };
        let trust = TrustCheck::of(&verifier, &keys_dir, defaulted);
        Ok(Opened {
            verifier,
            keys_dir,
            oracle,
            params,
            defaulted,
            default_keys: self.keys_dir.is_none(),
            trust,
        })
    }
}
