//! The product's JSON files: their kinds and versions, and versioned reading with
//! one-line errors that name the file and the fix.
//!
//! Every format has a `version` field ([`FileKind::version`]). Reading parses the
//! JSON, checks the version before the shape (so a file from a newer release says
//! so instead of failing on a field it does not know), then parses the typed value
//! and runs its validation. This crate reads what a verifier needs (bundles, oracle
//! configs, risk parameters, reports); the prover crate adds the private files
//! (accounts, committee secrets) and atomic writing on the same [`FileError`].

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use serde::de::DeserializeOwned;
use serde_json::Value;
use zkmargin_circuits::RiskParams;
use zkmargin_oracle::{OracleConfig, PriceReport, SignedReport};

use crate::{
    bundle::{ProofBundle, BUNDLE_VERSION},
    keys::MANIFEST_VERSION,
};

/// Format version of account files (the prover crate's `AccountFile`).
pub const ACCOUNT_FILE_VERSION: u32 = 1;
/// Format version of committee-secrets files (the prover crate's `CommitteeFile`).
pub const COMMITTEE_FILE_VERSION: u32 = 1;

/// The kinds of JSON file zkmargin reads and writes (`docs/FORMATS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A private account (the prover's `AccountFile`).
    Account,
    /// Risk parameters ([`RiskParams`]).
    RiskParams,
    /// An unsigned price report ([`PriceReport`]).
    PriceReport,
    /// A price report with committee signatures ([`SignedReport`]).
    SignedReport,
    /// A verifier's oracle configuration ([`OracleConfig`]).
    OracleConfig,
    /// The development committee's secret keys (the prover's `CommitteeFile`).
    Committee,
    /// A proof bundle ([`ProofBundle`]): a margin proof or a liquidation transition.
    ProofBundle,
    /// A keys directory's manifest ([`crate::Manifest`]).
    KeyManifest,
}

impl FileKind {
    /// What the file is, in words, for messages.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Account => "account",
            FileKind::RiskParams => "risk parameters",
            FileKind::PriceReport => "price report",
            FileKind::SignedReport => "signed price report",
            FileKind::OracleConfig => "oracle config",
            FileKind::Committee => "committee secrets",
            FileKind::ProofBundle => "proof bundle",
            FileKind::KeyManifest => "key manifest",
        }
    }

    /// Short machine-readable name (`inspect --json`).
    pub fn code(self) -> &'static str {
        match self {
            FileKind::Account => "account",
            FileKind::RiskParams => "risk_params",
            FileKind::PriceReport => "price_report",
            FileKind::SignedReport => "signed_report",
            FileKind::OracleConfig => "oracle_config",
            FileKind::Committee => "committee",
            FileKind::ProofBundle => "proof_bundle",
            FileKind::KeyManifest => "key_manifest",
        }
    }

    /// The format version this build reads and writes.
    pub fn version(self) -> u32 {
        match self {
            FileKind::Account => ACCOUNT_FILE_VERSION,
            FileKind::RiskParams => RiskParams::FORMAT_VERSION,
            FileKind::PriceReport | FileKind::SignedReport => zkmargin_oracle::REPORT_VERSION,
            FileKind::OracleConfig => zkmargin_oracle::CONFIG_VERSION,
            FileKind::Committee => COMMITTEE_FILE_VERSION,
            FileKind::ProofBundle => BUNDLE_VERSION,
            FileKind::KeyManifest => MANIFEST_VERSION,
        }
    }

    /// JSON pointer of the version field (a signed report carries its report's).
    fn version_pointer(self) -> &'static str {
        match self {
            FileKind::SignedReport => "/report/version",
            _ => "/version",
        }
    }

    /// True for files that hold secrets: they are written `0600` and a reader warns
    /// when group or others may read them.
    pub fn is_private(self) -> bool {
        matches!(self, FileKind::Account | FileKind::Committee)
    }

    /// How to make a file of this kind, for "file not found" messages.
    pub fn how_to_create(self) -> &'static str {
        match self {
            FileKind::Account => "create one with `zkmargin account new`",
            FileKind::RiskParams => {
                "write one as in examples/risk-params.json, or omit --params for the development parameters"
            }
            FileKind::PriceReport => "write one as in examples/price-report.json",
            FileKind::SignedReport => "create one with `zkmargin oracle sign`",
            FileKind::OracleConfig => "create one with `zkmargin oracle keygen`",
            FileKind::Committee => "create one with `zkmargin oracle keygen`",
            FileKind::ProofBundle => {
                "create one with `zkmargin prove` (or a transition bundle with `zkmargin liquidate`)"
            }
            FileKind::KeyManifest => "create the keys with `zkmargin setup`",
        }
    }

    /// Recognizes a parsed file by its fields (for `inspect`).
    pub fn detect(value: &Value) -> Option<FileKind> {
        let obj = value.as_object()?;
        let has = |k: &str| obj.contains_key(k);
        Some(if has("account") {
            FileKind::Account
        } else if has("circuits") && has("development") {
            FileKind::KeyManifest
        } else if has("key_fingerprint") && has("statement") {
            FileKind::ProofBundle
        } else if has("report") && has("signatures") {
            FileKind::SignedReport
        } else if has("feeds") && has("observed_at") {
            FileKind::PriceReport
        } else if has("keys") && has("config") {
            FileKind::Committee
        } else if has("signers") && has("quorum") {
            FileKind::OracleConfig
        } else if has("tokens") && has("markets") && has("liquidation") {
            FileKind::RiskParams
        } else {
            return None;
        })
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a file could not be read or written. Every message names the file and says
/// how to fix it, on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read (missing, a directory, no permission).
    #[error("cannot read {kind} file {}: {source}; {}", path.display(), read_hint(*kind, source))]
    Read {
        /// What the file should be.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not JSON.
    #[error("{kind} file {} is not valid JSON: {reason}; fix the syntax (docs/FORMATS.md shows the format)", path.display())]
    Syntax {
        /// What the file should be.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// The file has no `version` field.
    #[error("{kind} file {} has no \"version\" field, so it is not in the {kind} file format (or is from before versioned formats): check the path (docs/FORMATS.md shows the format)", path.display())]
    MissingVersion {
        /// What the file should be.
        kind: FileKind,
        /// The file.
        path: PathBuf,
    },
    /// The file's format version is not the one this build reads.
    #[error("{kind} file {} has format version {found}, this build reads version {expected}; use a zkmargin release that reads it, or rewrite the file in version {expected} (docs/FORMATS.md)", path.display())]
    Version {
        /// What the file should be.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// The version found, as written.
        found: String,
        /// The version this build reads.
        expected: u32,
    },
    /// Valid JSON of the right version, but not of the expected shape.
    #[error("{kind} file {} does not match the {kind} format: {reason} (docs/FORMATS.md shows the format)", path.display())]
    Format {
        /// What the file should be.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// Well-formed, but its content fails validation.
    #[error("{kind} file {} is invalid: {reason}", path.display())]
    Invalid {
        /// What the file is.
        kind: FileKind,
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The file is not any zkmargin JSON format.
    #[error("cannot tell what kind of zkmargin file {} is: {reason}; docs/FORMATS.md lists the formats", path.display())]
    Unrecognized {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Refusing to replace an existing file.
    #[error("{} already exists; choose another path or pass --force to overwrite it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be written.
    #[error("cannot write {}: {source}; check that the directory exists and is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

fn read_hint(kind: FileKind, e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => kind.how_to_create(),
        io::ErrorKind::PermissionDenied => "check the file's permissions",
        io::ErrorKind::IsADirectory => "give the path of a file, not of a directory",
        io::ErrorKind::InvalidData => "the file is not UTF-8 text; give the path of a JSON file",
        _ => "check the path",
    }
}

/// Reads `path` as UTF-8 text.
///
/// # Errors
/// [`FileError::Read`].
pub fn read_text(path: &Path, kind: FileKind) -> Result<String, FileError> {
    fs::read_to_string(path).map_err(|source| FileError::Read {
        kind,
        path: path.to_owned(),
        source,
    })
}

/// Parses `text` (the contents of `path`) as a `kind` file: JSON syntax, then the
/// version field, then the typed shape. Does not run content validation.
///
/// # Errors
/// [`FileError::Syntax`], [`FileError::MissingVersion`], [`FileError::Version`],
/// [`FileError::Format`].
pub fn parse_json<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    kind: FileKind,
) -> Result<T, FileError> {
    let value: Value = crate::json::parse_str(text).map_err(|e| FileError::Syntax {
        kind,
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    check_version(&value, path, kind)?;
    // Parse the text again (not the value) so shape errors carry line and column.
    serde_json::from_str(text).map_err(|e| FileError::Format {
        kind,
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Checks the version field of a parsed `kind` file.
///
/// # Errors
/// [`FileError::MissingVersion`], [`FileError::Version`].
pub fn check_version(value: &Value, path: &Path, kind: FileKind) -> Result<(), FileError> {
    match value.pointer(kind.version_pointer()) {
        None => Err(FileError::MissingVersion {
            kind,
            path: path.to_owned(),
        }),
        Some(v) if v.as_u64() == Some(u64::from(kind.version())) => Ok(()),
        Some(v) => Err(FileError::Version {
            kind,
            path: path.to_owned(),
            found: v.to_string(),
            expected: kind.version(),
        }),
    }
}

/// Reads and parses a `kind` file (no content validation).
///
/// # Errors
/// Any [`FileError`] of [`read_text`] and [`parse_json`].
pub fn read_json<T: DeserializeOwned>(path: &Path, kind: FileKind) -> Result<T, FileError> {
    parse_json(&read_text(path, kind)?, path, kind)
}

/// A [`FileError::Invalid`] for `path`.
pub fn invalid(kind: FileKind, path: &Path, reason: impl ToString) -> FileError {
    FileError::Invalid {
        kind,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Reads and validates a risk-parameters file.
///
/// # Errors
/// Any [`FileError`]; [`FileError::Invalid`] names the first bad field.
pub fn load_risk_params(path: &Path) -> Result<RiskParams, FileError> {
    let params: RiskParams = read_json(path, FileKind::RiskParams)?;
    params
        .validate()
        .map_err(|e| invalid(FileKind::RiskParams, path, e))?;
    Ok(params)
}

/// Reads and validates an unsigned price report.
///
/// # Errors
/// Any [`FileError`].
pub fn load_price_report(path: &Path) -> Result<PriceReport, FileError> {
    let report: PriceReport = read_json(path, FileKind::PriceReport)?;
    report
        .validate()
        .map_err(|e| invalid(FileKind::PriceReport, path, e))?;
    Ok(report)
}

/// Reads a signed price report and validates the report's shape (signatures,
/// quorum and freshness are the oracle config's business).
///
/// # Errors
/// Any [`FileError`].
pub fn load_signed_report(path: &Path) -> Result<SignedReport, FileError> {
    let signed: SignedReport = read_json(path, FileKind::SignedReport)?;
    signed
        .report
        .validate()
        .map_err(|e| invalid(FileKind::SignedReport, path, e))?;
    Ok(signed)
}

/// Reads and validates an oracle configuration.
///
/// # Errors
/// Any [`FileError`].
pub fn load_oracle_config(path: &Path) -> Result<OracleConfig, FileError> {
    let config: OracleConfig = read_json(path, FileKind::OracleConfig)?;
    config
        .validate()
        .map_err(|e| invalid(FileKind::OracleConfig, path, e))?;
    Ok(config)
}

/// Reads a proof bundle (the verifier checks everything in it).
///
/// # Errors
/// Any [`FileError`].
pub fn load_bundle(path: &Path) -> Result<ProofBundle, FileError> {
    let bundle: ProofBundle = read_json(path, FileKind::ProofBundle)?;
    bundle.check_encodings().map_err(|e| FileError::Format {
        kind: FileKind::ProofBundle,
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(bundle)
}

/// The permission bits of `path` when group or others may access it (`mode & 0o077
/// != 0`), `None` when only the owner may, or on platforms without unix modes.
pub fn exposed_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
