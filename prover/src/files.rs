//! The JSON files: versioned reading with one-line errors that name the file, atomic
//! writing, and the permission rules for private files.
//!
//! Every format has a `version` field ([`FileKind::version`]). Reading parses the
//! JSON, checks the version before the shape (so a file from a newer release says
//! so instead of failing on a field it does not know), then parses the typed value
//! and runs its validation. Writing goes through a temporary file in the same
//! directory and a rename, so a reader never sees half a file; private files
//! (accounts, committee secrets) are created with mode `0600`.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use zkmargin_circuits::RiskParams;
use zkmargin_oracle::{OracleConfig, PriceReport, SignedReport};
use zkmargin_verifier::{keys::MANIFEST_VERSION, ProofBundle, BUNDLE_VERSION};

use crate::formats::{AccountFile, CommitteeFile, ACCOUNT_FILE_VERSION, COMMITTEE_FILE_VERSION};

/// The kinds of JSON file zkmargin reads and writes (`docs/FORMATS.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A private account ([`AccountFile`]).
    Account,
    /// Risk parameters ([`RiskParams`]).
    RiskParams,
    /// An unsigned price report ([`PriceReport`]).
    PriceReport,
    /// A price report with committee signatures ([`SignedReport`]).
    SignedReport,
    /// A verifier's oracle configuration ([`OracleConfig`]).
    OracleConfig,
    /// The development committee's secret keys ([`CommitteeFile`]).
    Committee,
    /// A proof bundle ([`ProofBundle`]): a margin proof or a liquidation transition.
    ProofBundle,
    /// A keys directory's manifest ([`zkmargin_verifier::Manifest`]).
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
    #[error("{kind} file {} has no \"version\" field: is it a {kind} file? (docs/FORMATS.md shows the format)", path.display())]
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
    let value: Value = serde_json::from_str(text).map_err(|e| FileError::Syntax {
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

fn invalid(kind: FileKind, path: &Path, reason: impl ToString) -> FileError {
    FileError::Invalid {
        kind,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Reads an account file.
///
/// # Errors
/// Any [`FileError`].
pub fn load_account(path: &Path) -> Result<AccountFile, FileError> {
    read_json(path, FileKind::Account)
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

/// Reads a committee-secrets file and checks that its keys belong to its config.
///
/// # Errors
/// Any [`FileError`].
pub fn load_committee(path: &Path) -> Result<CommitteeFile, FileError> {
    let committee: CommitteeFile = read_json(path, FileKind::Committee)?;
    committee
        .check()
        .map_err(|e| invalid(FileKind::Committee, path, e))?;
    Ok(committee)
}

/// Reads a proof bundle (the verifier checks everything in it).
///
/// # Errors
/// Any [`FileError`].
pub fn load_bundle(path: &Path) -> Result<ProofBundle, FileError> {
    read_json(path, FileKind::ProofBundle)
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

/// How [`write_file`] treats the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Create the file with mode `0600` (owner only).
    pub private: bool,
    /// Replace an existing file; otherwise [`FileError::Exists`].
    pub overwrite: bool,
}

/// Writes `value` as pretty JSON with a trailing newline (see [`write_file`]).
///
/// # Errors
/// [`FileError::Exists`], [`FileError::Write`].
pub fn write_json<T: Serialize>(
    path: &Path,
    value: &T,
    options: WriteOptions,
) -> Result<(), FileError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| FileError::Write {
        path: path.to_owned(),
        source: io::Error::other(e),
    })?;
    text.push('\n');
    write_file(path, text.as_bytes(), options)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory,
/// flushed to disk, then renamed over `path`.
///
/// # Errors
/// [`FileError::Exists`] when `path` exists and `overwrite` is off;
/// [`FileError::Write`] for I/O failures.
pub fn write_file(path: &Path, bytes: &[u8], options: WriteOptions) -> Result<(), FileError> {
    let write_err = |source| FileError::Write {
        path: path.to_owned(),
        source,
    };
    if !options.overwrite && path.exists() {
        return Err(FileError::Exists {
            path: path.to_owned(),
        });
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| write_err(io::Error::other("the path names no file")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{nanos}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut open = fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        if options.private {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let mut file = open.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn errors_name_the_file_and_are_one_line() {
        let dir = temp();
        let path = dir.path().join("a.json");

        let e = load_account(&path).unwrap_err();
        assert!(matches!(e, FileError::Read { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("a.json") && msg.contains("zkmargin account new"),
            "{msg}"
        );

        fs::write(&path, "{\"version\": 1,").unwrap();
        let e = load_account(&path).unwrap_err();
        assert!(matches!(e, FileError::Syntax { .. }), "{e}");

        fs::write(&path, "{\"version\": 2, \"whatever\": true}").unwrap();
        let e = load_account(&path).unwrap_err();
        assert!(
            matches!(e, FileError::Version { ref found, expected: 1, .. } if found == "2"),
            "{e}"
        );

        fs::write(&path, "{\"account\": {}}").unwrap();
        let e = load_account(&path).unwrap_err();
        assert!(matches!(e, FileError::MissingVersion { .. }), "{e}");

        fs::write(&path, "{\"version\": 1, \"account\": {\"id\": 1}}").unwrap();
        let e = load_account(&path).unwrap_err();
        assert!(matches!(e, FileError::Format { .. }), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");

        let e = load_account(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not of a directory"), "{e}");

        for e in [
            load_account(&path).unwrap_err(),
            load_bundle(&path).unwrap_err(),
        ] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn signed_report_version_is_the_reports() {
        let dir = temp();
        let path = dir.path().join("r.json");
        fs::write(&path, r#"{"report": {"version": 7}, "signatures": []}"#).unwrap();
        let e = load_signed_report(&path).unwrap_err();
        assert!(matches!(e, FileError::Version { .. }), "{e}");
    }

    #[test]
    fn invalid_content_is_reported() {
        let dir = temp();
        let path = dir.path().join("p.json");
        let mut p = RiskParams::development();
        p.tokens[0].asset_weight_ppm = 2_000_000;
        fs::write(&path, serde_json::to_string(&p).unwrap()).unwrap();
        let e = load_risk_params(&path).unwrap_err();
        assert!(matches!(e, FileError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains("asset_weight_ppm"), "{e}");
    }

    #[test]
    fn writes_are_atomic_private_and_refuse_to_clobber() {
        let dir = temp();
        let path = dir.path().join("secret.json");
        let private = WriteOptions {
            private: true,
            overwrite: false,
        };
        write_json(&path, &serde_json::json!({"a": 1}), private).unwrap();
        assert_eq!(exposed_mode(&path), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(exposed_mode(&path), Some(0o644));
        }
        let e = write_json(&path, &1, private).unwrap_err();
        assert!(matches!(e, FileError::Exists { .. }));
        write_json(
            &path,
            &2,
            WriteOptions {
                overwrite: true,
                ..private
            },
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "2\n");
        // Replacing made a fresh 0600 file, whatever the old one's mode was.
        assert_eq!(exposed_mode(&path), None);
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn detects_every_kind() {
        let cases = [
            (
                serde_json::json!({"version": 1, "account": {}}),
                FileKind::Account,
            ),
            (
                serde_json::to_value(RiskParams::development()).unwrap(),
                FileKind::RiskParams,
            ),
            (
                serde_json::to_value(zkmargin_oracle::development_committee().1).unwrap(),
                FileKind::OracleConfig,
            ),
            (
                serde_json::to_value(CommitteeFile::development()).unwrap(),
                FileKind::Committee,
            ),
            (
                serde_json::json!({"version": 1, "exponent": -9, "observed_at": 1, "expires_at": 2, "feeds": []}),
                FileKind::PriceReport,
            ),
            (
                serde_json::json!({"report": {}, "signatures": []}),
                FileKind::SignedReport,
            ),
            (
                serde_json::json!({"version": 1, "key_fingerprint": "", "statement": {}}),
                FileKind::ProofBundle,
            ),
            (
                serde_json::json!({"version": 1, "development": true, "circuits": []}),
                FileKind::KeyManifest,
            ),
        ];
        for (value, kind) in cases {
            assert_eq!(FileKind::detect(&value), Some(kind), "{value}");
        }
        assert_eq!(FileKind::detect(&serde_json::json!([1, 2])), None);
    }
}
