//! Terminal output: stdout for results, stderr for warnings, notes and progress.

use std::{
    path::Path,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Where results go, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// JSON on stdout instead of text.
    pub json: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// A line of human output on stdout (suppressed with `--json`).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            stdout_line(text.as_ref());
        }
    }

    /// The JSON document of a command on stdout (only with `--json`).
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        if self.json {
            stdout_line(&serde_json::to_string_pretty(value)?);
        }
        Ok(())
    }
}

/// Writes one line to stdout. When the reader has gone (`zkmargin ledger events |
/// head -1`), exits quietly with status 0, as Unix tools do, instead of `println!`'s
/// panic; any other write error is one line on stderr and exit status 1.
pub fn stdout_line(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// A one-line warning on stderr.
pub fn warn(text: impl AsRef<str>) {
    eprintln!("warning: {}", one_line(text.as_ref()));
}

/// A one-line note on stderr (defaults that were applied, and the like).
pub fn note(text: impl AsRef<str>) {
    eprintln!("note: {}", one_line(text.as_ref()));
}

/// The warning every command that loads development keys prints.
pub fn development_keys_warning(dir: &Path) {
    warn(format!(
        "the keys in {} are DEVELOPMENT keys from a public seed: anyone can forge proofs that verify against them; never use them in production",
        dir.display()
    ));
}

/// Warns when a file holding secrets is readable by group or others.
pub fn warn_if_exposed(path: &Path, what: &str) {
    if let Some(mode) = zkmargin_verifier::files::exposed_mode(path) {
        warn(format!(
            "{} holds {what} but is readable by group or others (mode {mode:03o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
}

/// Collapses any line breaks so that every message is one line.
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A spinner on stderr for work that may take more than a second. Hidden when stderr
/// is not a terminal (indicatif's rule), so logs and pipes stay clean.
pub struct Spinner {
    bar: ProgressBar,
    started: Instant,
}

impl Spinner {
    pub fn start(message: impl Into<String>) -> Self {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self {
            bar,
            started: Instant::now(),
        }
    }

    /// Clears the spinner; returns the time since it started.
    pub fn finish(self) -> Duration {
        self.bar.finish_and_clear();
        self.started.elapsed()
    }
}

/// Runs `f` under a spinner; returns its result and how long it took.
pub fn timed<T>(message: impl Into<String>, f: impl FnOnce() -> T) -> (T, Duration) {
    let spinner = Spinner::start(message);
    let value = f();
    (value, spinner.finish())
}

/// `1.23 s` or `45 ms` or `380 µs`.
pub fn duration(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 1_000_000 {
        format!("{:.2} s", d.as_secs_f64())
    } else if us >= 10_000 {
        format!("{} ms", us / 1000)
    } else if us >= 1_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

/// Milliseconds as a float, for JSON.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds since the unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `observed 2026-… UTC (42 s ago)`.
pub fn age(observed_at: u64, now: u64) -> String {
    if observed_at <= now {
        format!("{} ({} s ago)", utc(observed_at), now - observed_at)
    } else {
        format!(
            "{} ({} s in the future)",
            utc(observed_at),
            observed_at - now
        )
    }
}

/// First and last characters of a long hex string: `0x1a2b3c…9f8e`.
pub fn short(hex: &str) -> String {
    let n = hex.chars().count();
    if n <= 20 {
        return hex.to_owned();
    }
    let head: String = hex.chars().take(10).collect();
    let tail: String = hex.chars().skip(n - 6).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(one_line("a\nb\r\n c"), "a b c");
        assert_eq!(duration(Duration::from_millis(1500)), "1.50 s");
        assert_eq!(duration(Duration::from_millis(45)), "45 ms");
        assert_eq!(duration(Duration::from_micros(2500)), "2.5 ms");
        assert_eq!(duration(Duration::from_micros(380)), "380 µs");
    }
}
