//! Helpers for the end-to-end tests that drive the real `zkmargin` binary.
#![allow(dead_code)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use tempfile::TempDir;

/// The output of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub args: String,
}

impl Run {
    /// Asserts success; returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "`zkmargin {}` failed:\nstdout:\n{}\nstderr:\n{}",
            self.args, self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("error:"), "{}", self.stderr);
        &self.stdout
    }

    /// Asserts a failure with exit code `code` and exactly one `error:` line, the last
    /// line of stderr, containing every one of `needles`; returns that line.
    #[track_caller]
    pub fn fails(&self, code: i32, needles: &[&str]) -> String {
        assert_eq!(
            self.code, code,
            "`zkmargin {}` exit code:\nstdout:\n{}\nstderr:\n{}",
            self.args, self.stdout, self.stderr
        );
        for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "internal error"] {
            assert!(!self.stderr.contains(bad), "{}", self.stderr);
        }
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "one error line expected:\n{}", self.stderr);
        assert_eq!(
            self.stderr.lines().last(),
            Some(errors[0]),
            "the error is the last line:\n{}",
            self.stderr
        );
        for needle in needles {
            assert!(
                errors[0].contains(needle),
                "`zkmargin {}`: {needle:?} missing from\n{}",
                self.args,
                errors[0]
            );
        }
        errors[0].to_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout of `zkmargin {}` is not JSON ({e}):\n{}",
                self.args, self.stdout
            )
        })
    }
}

/// Runs `zkmargin args…` in `cwd` with a clean environment for zkmargin's variables.
pub fn zk(cwd: &Path, args: &[&str]) -> Run {
    zk_env(cwd, args, &[])
}

/// [`zk`] with `envs` set.
pub fn zk_env(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_zkmargin"))
        .args(args)
        .current_dir(cwd)
        .env_remove("ZKMARGIN_KEYS")
        .env_remove("ZKMARGIN_LEDGER_DB")
        .env_remove("ZKMARGIN_OPERATOR_SECRET_FILE")
        .env_remove("ZKMARGIN_ALLOW_DEVELOPMENT")
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1")
        .envs(envs.iter().copied())
        .output()
        .expect("run zkmargin");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.join(" "),
    }
}

/// Path as a `&str` argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The demo prices: ETH 2,900, BTC 57,000, SOL 150, USDC 1, DOGE 0.10 USD.
pub const PRICES: [&str; 5] = [
    "ETH/USD=2900000000",
    "BTC/USD=570000000000",
    "SOL/USD=150000000",
    "USDC/USD=1000000000",
    "DOGE/USD=100000000",
];

/// A shared world, made once per test binary through the CLI itself: development
/// keys, a committee with its oracle config, a healthy and a breaching account, and
/// a fresh report signed by 2 of 3. Tests read these files and write their own.
pub struct World {
    pub dir: TempDir,
    pub keys: PathBuf,
    pub committee: PathBuf,
    pub oracle: PathBuf,
    pub healthy: PathBuf,
    pub breaching: PathBuf,
    pub report: PathBuf,
}

impl World {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The commitment of an account file, via `account commit`.
    pub fn commitment(&self, account: &Path) -> String {
        zk(self.path(), &["account", "commit", s(account)])
            .ok()
            .trim()
            .to_owned()
    }

    /// Signs a report with the world's committee; `extra` adds or overrides options.
    pub fn sign(&self, out: &Path, prices: &[&str], extra: &[&str]) -> Run {
        let mut args = vec![
            "oracle",
            "sign",
            "--committee",
            s(&self.committee),
            "-o",
            s(out),
        ];
        for p in prices {
            args.extend(["--price", p]);
        }
        args.extend(extra);
        zk(self.path(), &args)
    }

    /// `prove` with the world's keys (unless `extra` names `--keys`); `extra` adds options.
    pub fn prove(&self, account: &Path, report: &Path, out: &Path, extra: &[&str]) -> Run {
        let mut args = vec![
            "prove",
            "--account",
            s(account),
            "--report",
            s(report),
            "-o",
            s(out),
        ];
        if !extra.contains(&"--keys") {
            args.extend(["--keys", s(&self.keys)]);
        }
        args.extend(extra);
        zk(self.path(), &args)
    }

    /// `liquidate` with the world's keys and oracle config (unless `extra` names
    /// `--keys` or `--oracle`), liquidator 7 unless `extra` names another.
    pub fn liquidate(
        &self,
        account: &Path,
        report: &Path,
        out: &Path,
        new_account: &Path,
        extra: &[&str],
    ) -> Run {
        let mut args = vec![
            "liquidate",
            "--account",
            s(account),
            "--report",
            s(report),
            "-o",
            s(out),
            "--new-account",
            s(new_account),
        ];
        if !extra.contains(&"--keys") {
            args.extend(["--keys", s(&self.keys)]);
        }
        if !extra.contains(&"--oracle") {
            args.extend(["--oracle", s(&self.oracle)]);
        }
        if !extra.contains(&"--liquidator") {
            args.extend(["--liquidator", "7"]);
        }
        args.extend(extra);
        zk(self.path(), &args)
    }

    /// `verify` with the world's keys and oracle config; `extra` adds options.
    pub fn verify(&self, bundle: &Path, extra: &[&str]) -> Run {
        self.verify_with(&self.keys, bundle, extra)
    }

    /// `verify` with the keys in `keys` and the world's oracle config.
    pub fn verify_with(&self, keys: &Path, bundle: &Path, extra: &[&str]) -> Run {
        let mut args = vec![
            "verify",
            s(bundle),
            "--keys",
            s(keys),
            "--oracle",
            s(&self.oracle),
        ];
        args.extend(extra);
        zk(self.path(), &args)
    }
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        zk(p, &["setup", "--keys", "keys"]).ok();
        zk(
            p,
            &[
                "oracle",
                "keygen",
                "-o",
                "committee.json",
                "--config",
                "oracle.json",
            ],
        )
        .ok();
        // Healthy: 10 ETH, -79,000 USD, 1 BTC-PERP long: H = +360 USD at ETH 2,900.
        zk(
            p,
            &[
                "account",
                "new",
                "--id",
                "1",
                "-o",
                "healthy.json",
                "--token",
                "ETH=10",
                "--quote",
                "-79000",
                "--position",
                "BTC-PERP=1",
            ],
        )
        .ok();
        // Breaching: SPEC's example, H = -640 USD at ETH 2,900.
        zk(
            p,
            &[
                "account",
                "new",
                "--id",
                "2",
                "-o",
                "breaching.json",
                "--token",
                "ETH=10",
                "--quote=-80000",
                "--position",
                "BTC-PERP=1",
            ],
        )
        .ok();
        let w = World {
            keys: p.join("keys"),
            committee: p.join("committee.json"),
            oracle: p.join("oracle.json"),
            healthy: p.join("healthy.json"),
            breaching: p.join("breaching.json"),
            report: p.join("report.json"),
            dir,
        };
        w.sign(&w.report, &PRICES, &["--signers", "2"]).ok();
        w
    })
}

/// A copy of the world's keys directory that a test may damage.
pub fn keys_copy() -> TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(&world().keys).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
    }
    to
}

/// Edits a JSON file in place.
pub fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}
