//! Fault injection for the crash tests, compiled only with the `fault-injection`
//! feature, which shipped builds never enable (the crash tests enable it through
//! dev-dependencies; `.ci/run` checks that a plain release build of the binaries holds
//! no trace of it).
//!
//! With the feature, the hook does nothing unless the environment variable
//! `ZKMARGIN_FAULT` names one of the [`FaultPoint`]s; then the process calls
//! [`std::process::abort`] (or, with `ZKMARGIN_FAULT_SIGNAL=KILL`, sends itself
//! SIGKILL) when it reaches that point — in the middle of the apply
//! transaction, holding the database's write lock, exactly as a power cut or `kill -9`
//! would leave it. Without the feature, [`hit`] is an empty inline function.

/// The environment variable that arms a fault point.
#[cfg(feature = "fault-injection")]
pub const FAULT_ENV: &str = "ZKMARGIN_FAULT";

/// With this variable set to `KILL`, the process at the armed point sends itself
/// SIGKILL (through `kill -KILL`, the signal an operator's `kill -9` or the kernel's
/// OOM killer sends) instead of aborting: nothing in the process runs after it.
#[cfg(feature = "fault-injection")]
pub const FAULT_SIGNAL_ENV: &str = "ZKMARGIN_FAULT_SIGNAL";

/// Where `apply` can be made to abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// After the account's commitment and nonce were updated.
    AfterAccountUpdate,
    /// After the liquidation row was inserted.
    AfterLiquidationInsert,
    /// After the liquidator and the insurance fund were credited.
    AfterCredits,
    /// After every write and event, just before `COMMIT`.
    BeforeCommit,
    /// Just after `COMMIT` returned (the caller never hears of the success).
    AfterCommit,
}

impl FaultPoint {
    /// Every point, in the order `apply` reaches them.
    pub const ALL: [FaultPoint; 5] = [
        FaultPoint::AfterAccountUpdate,
        FaultPoint::AfterLiquidationInsert,
        FaultPoint::AfterCredits,
        FaultPoint::BeforeCommit,
        FaultPoint::AfterCommit,
    ];

    /// The value of `ZKMARGIN_FAULT` that arms it.
    #[cfg(feature = "fault-injection")]
    pub fn name(&self) -> &'static str {
        match self {
            FaultPoint::AfterAccountUpdate => "after_account_update",
            FaultPoint::AfterLiquidationInsert => "after_liquidation_insert",
            FaultPoint::AfterCredits => "after_credits",
            FaultPoint::BeforeCommit => "before_commit",
            FaultPoint::AfterCommit => "after_commit",
        }
    }
}

/// The armed point, read once per process.
#[cfg(feature = "fault-injection")]
fn armed() -> Option<FaultPoint> {
    static ARMED: std::sync::OnceLock<Option<FaultPoint>> = std::sync::OnceLock::new();
    *ARMED.get_or_init(|| {
        let name = std::env::var(FAULT_ENV).ok()?;
        FaultPoint::ALL.into_iter().find(|p| p.name() == name)
    })
}

/// Kills the process if `point` is armed (abort, or SIGKILL when
/// [`FAULT_SIGNAL_ENV`] says `KILL`); otherwise does nothing.
#[cfg(feature = "fault-injection")]
pub(crate) fn hit(point: FaultPoint) {
    if armed() != Some(point) {
        return;
    }
    if std::env::var(FAULT_SIGNAL_ENV).is_ok_and(|v| v == "KILL") {
        eprintln!("{FAULT_ENV}={}: SIGKILL", point.name());
        let pid = std::process::id().to_string();
        if std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .is_ok_and(|s| s.success())
        {
            // The signal is on its way; nothing after this line runs.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
    eprintln!("{FAULT_ENV}={}: aborting", point.name());
    std::process::abort();
}

/// Does nothing: this build has no fault injection.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn hit(_point: FaultPoint) {}
