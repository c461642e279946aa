//! The prover's files: the verifier crate's readers ([`zkmargin_verifier::files`]),
//! the private files (accounts, committee secrets), and atomic writing.
//!
//! Writing goes through a temporary file in the same directory and a rename, so a
//! reader never sees half a file; private files (accounts, committee secrets) are
//! created with mode `0600`.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
pub use zkmargin_verifier::files::*;

use crate::formats::{AccountFile, CommitteeFile};

/// Reads an account file.
///
/// # Errors
/// Any [`FileError`].
pub fn load_account(path: &Path) -> Result<AccountFile, FileError> {
    read_json(path, FileKind::Account)
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
    use zkmargin_circuits::RiskParams;

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
