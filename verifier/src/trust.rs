//! Whether a trust configuration is a development one: keys, an oracle committee or
//! risk parameters that anyone can forge against, or that nobody chose.
//!
//! Verification accepts development defaults, so a fresh clone verifies the examples.
//! Settlement writes money: `zkmargin-verifier serve --ledger` and `zkmargin ledger
//! settle` refuse a development configuration ([`TrustCheck::refusal`]) unless given
//! `--allow-development`, and then warn ([`TrustCheck::warning`]). Every shell gets it
//! from [`crate::config::VerifierConfig::open`].

use std::path::Path;

use serde::Serialize;
use zkmargin_circuits::RiskParams;
use zkmargin_oracle::development_committee;

use crate::verifier::Verifier;

/// The flag that lets settlement run on a development configuration.
pub const ALLOW_DEVELOPMENT_FLAG: &str = "--allow-development";
/// Its environment variable.
pub const ALLOW_DEVELOPMENT_ENV: &str = "ZKMARGIN_ALLOW_DEVELOPMENT";

/// A part of the trust configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Part {
    /// The Groth16 keys.
    Keys,
    /// The oracle committee.
    OracleCommittee,
    /// The accepted risk parameters.
    RiskParams,
}

impl Part {
    /// What replaces the development part, as the command-line flag to give.
    pub fn fix(self) -> &'static str {
        match self {
            Part::Keys => "--keys DIR from `zkmargin setup --production`",
            Part::OracleCommittee => "--oracle FILE with your committee's config",
            Part::RiskParams => "--params FILE with your venue's parameters",
        }
    }
}

/// A development part, and why it is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which part.
    pub part: Part,
    /// Why, in words.
    pub reason: String,
}

/// Which parts of the configuration fell back to a default because nothing was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Defaulted {
    /// No oracle config was given: the development committee.
    pub oracle: bool,
    /// No risk parameters were given: [`RiskParams::development`].
    pub params: bool,
}

/// The development parts of a verifier's configuration; empty for a production one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrustCheck {
    findings: Vec<Finding>,
}

impl TrustCheck {
    /// Judges `verifier` (loaded from `keys_dir`) given what was `defaulted`:
    /// - keys whose manifest says `"development": true` (public setup seed: anyone can
    ///   forge proofs);
    /// - an oracle committee that was defaulted, or that lists any signer of the
    ///   development committee (its secret keys are public: with a quorum of them
    ///   anyone signs any price, and one of them lowers the bar for the rest);
    /// - risk parameters that were defaulted, or any accepted set equal to
    ///   [`RiskParams::development`] (illustrative, never a venue's).
    pub fn of(verifier: &Verifier, keys_dir: &Path, defaulted: Defaulted) -> Self {
        let mut findings = Vec::new();
        if verifier.development_keys() {
            findings.push(Finding {
                part: Part::Keys,
                reason: format!(
                    "development keys ({} says \"development\": true: public seed, anyone can forge proofs)",
                    keys_dir.join("manifest.json").display()
                ),
            });
        }
        let (_, dev) = development_committee();
        let config = verifier.oracle_config();
        let dev_signers = config
            .signers
            .iter()
            .filter(|s| dev.signers.contains(s))
            .count();
        let oracle = if defaulted.oracle {
            Some(
                "the development oracle committee (no --oracle given; its signing keys are public)"
                    .to_owned(),
            )
        } else if config.digest() == dev.digest() {
            Some("the development oracle committee (the --oracle config is that committee; its signing keys are public)".to_owned())
        } else if dev_signers > 0 {
            Some(format!(
                "an oracle committee with {dev_signers} of its {} signers from the development committee (quorum {}; their signing keys are public)",
                config.signers.len(),
                config.quorum
            ))
        } else {
            None
        };
        if let Some(reason) = oracle {
            findings.push(Finding {
                part: Part::OracleCommittee,
                reason,
            });
        }
        let dev_params = RiskParams::development().digest();
        let params = if defaulted.params {
            Some("the development risk parameters (no --params given)")
        } else if verifier.risk_params().any(|p| p.digest() == dev_params) {
            Some("the development risk parameters (a --params file holds them)")
        } else {
            None
        };
        if let Some(reason) = params {
            findings.push(Finding {
                part: Part::RiskParams,
                reason: reason.to_owned(),
            });
        }
        Self { findings }
    }

    /// True when any part is a development one.
    pub fn is_development(&self) -> bool {
        !self.findings.is_empty()
    }

    /// The development parts, each with its reason.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The development parts.
    pub fn parts(&self) -> Vec<Part> {
        self.findings.iter().map(|f| f.part).collect()
    }

    /// True when the oracle committee is a development one.
    pub fn development_oracle(&self) -> bool {
        self.parts().contains(&Part::OracleCommittee)
    }

    fn reasons(&self) -> String {
        self.findings
            .iter()
            .map(|f| f.reason.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One line refusing to settle: what is development, and what to give instead.
    pub fn refusal(&self) -> String {
        let fixes: Vec<&str> = self.findings.iter().map(|f| f.part.fix()).collect();
        format!(
            "refusing to settle on a development trust configuration: {}; anyone could forge a liquidation and drain the insurance fund or credit any liquidator. Give {}, or pass {ALLOW_DEVELOPMENT_FLAG} (or {ALLOW_DEVELOPMENT_ENV}=1) for a test ledger",
            self.reasons(),
            fixes.join(", ")
        )
    }

    /// One line warning that settlement runs on a development configuration anyway.
    pub fn warning(&self) -> String {
        format!(
            "SETTLING ON A DEVELOPMENT TRUST CONFIGURATION ({ALLOW_DEVELOPMENT_FLAG}): {}; anyone can forge a liquidation and drain the insurance fund or credit any liquidator: use this ledger for tests only",
            self.reasons()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Fixture;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use zkmargin_oracle::{OracleConfig, SignerKey};

    /// A committee of `fresh` new signers plus the first `dev` development signers.
    fn committee(fresh: usize, dev: usize, quorum: u32) -> OracleConfig {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (_, development) = development_committee();
        let mut signers: Vec<_> = (0..fresh)
            .map(|_| SignerKey::generate(&mut rng).id())
            .collect();
        signers.extend(development.signers.iter().take(dev).copied());
        OracleConfig {
            signers,
            quorum,
            ..development
        }
    }

    fn production_params() -> RiskParams {
        let mut p = RiskParams::development();
        p.revision += 1;
        p
    }

    /// Marks the fixture's keys as production keys (the test only reads the flag).
    fn mark_production(f: &Fixture) {
        let path = f.keys_dir().join("manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        manifest["development"] = serde_json::Value::Bool(false);
        std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    }

    fn check(f: &Fixture, oracle: OracleConfig, params: RiskParams, d: Defaulted) -> TrustCheck {
        let verifier = Verifier::from_keys_dir(f.keys_dir(), oracle, vec![params]).unwrap();
        TrustCheck::of(&verifier, f.keys_dir(), d)
    }

    #[test]
    fn each_development_part_is_found_and_named_with_its_fix() {
        let f = Fixture::new(3);
        let (_, dev) = development_committee();
        let all = check(
            &f,
            dev.clone(),
            RiskParams::development(),
            Defaulted {
                oracle: true,
                params: true,
            },
        );
        assert_eq!(
            all.parts(),
            [Part::Keys, Part::OracleCommittee, Part::RiskParams]
        );
        let refusal = all.refusal();
        for needle in [
            "development keys",
            "no --oracle given",
            "no --params given",
            "zkmargin setup --production",
            "--oracle FILE",
            "--params FILE",
            "--allow-development",
        ] {
            assert!(refusal.contains(needle), "{needle:?} missing: {refusal}");
        }
        assert!(!refusal.contains('\n'));

        mark_production(&f);
        let given = Defaulted::default();
        let production = check(&f, committee(3, 0, 2), production_params(), given);
        assert!(!production.is_development(), "{production:?}");

        // Given files that are the development ones are development all the same.
        let same = check(&f, dev.clone(), RiskParams::development(), given);
        assert_eq!(same.parts(), [Part::OracleCommittee, Part::RiskParams]);
        assert!(same
            .refusal()
            .contains("the --oracle config is that committee"));
        assert!(!same.refusal().contains("--keys DIR"));
        // One public signing key in a committee is one too many.
        let mixed = check(&f, committee(2, 1, 2), production_params(), given);
        assert_eq!(mixed.parts(), [Part::OracleCommittee]);
        assert!(mixed.refusal().contains("1 of its 3 signers"));
    }
}
