//! Shared harness of the engine tests (`engine_e2e`, `engine_faults`): the real
//! `zkmargin` binary as processes, a real NATS JetStream server, a real SQLite ledger.
//! A directory module, so cargo does not build it as a test target of its own.

#![allow(dead_code)]

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use rand::rngs::OsRng;
use zkmargin_circuits::{Account, Commitment, Prices, RiskParams, Status};
use zkmargin_engine::{async_nats::jetstream, StreamExt};
use zkmargin_oracle::{
    development_committee, PriceFeed, PriceReport, SignedReport, PRICE_EXPONENT, REPORT_VERSION,
};
use zkmargin_settlement::{Ledger, OperatorKey, PinnedTrust};
use zkmargin_verifier::VerifierConfig;

/// The shared server of the development and CI machines.
pub const NATS: &str = "nats://127.0.0.1:4222";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_zkmargin")
}

pub fn s(p: &Path) -> String {
    p.display().to_string()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Fails with one line when the shared NATS server is not there.
pub fn require_nats() {
    if TcpStream::connect_timeout(&"127.0.0.1:4222".parse().unwrap(), Duration::from_secs(2))
        .is_err()
    {
        panic!("no NATS server at 127.0.0.1:4222: start one with `nats-server -js` (CI runs one)");
    }
}

/// A prefix no other run uses.
pub fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{tag}{}x{nanos}", std::process::id())
}

pub fn run_ok(args: &[&str]) {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "zkmargin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Development keys, made once per test binary (`zkmargin setup`, the public seed).
pub fn keys() -> &'static Path {
    static KEYS: OnceLock<tempfile::TempDir> = OnceLock::new();
    KEYS.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        run_ok(&["setup", "--keys", &s(&d.path().join("keys"))]);
        d
    })
    .path()
    .join("keys")
    .leak()
}

/// Processes of one test, killed when dropped; their stderr lines are collected.
pub struct Procs {
    pub children: Vec<(String, Child)>,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Default for Procs {
    fn default() -> Self {
        Self {
            children: Vec::new(),
            lines: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl Procs {
    pub fn spawn(&mut self, name: &str, args: &[String]) {
        let mut child = Command::new(bin())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let lines = self.lines.clone();
        let tag = name.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(format!("[{tag}] {line}"));
            }
        });
        self.children.push((name.to_string(), child));
    }

    /// SIGKILL the process `name` (no chance to clean up).
    pub fn kill(&mut self, name: &str) {
        let i = self
            .children
            .iter()
            .position(|(n, _)| n == name)
            .expect("a process of that name");
        let (_, mut c) = self.children.remove(i);
        c.kill().unwrap();
        c.wait().unwrap();
    }

    pub fn grep(&self, needle: &str) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    pub fn wait_for(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if self.grep(needle).len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn dump(&self) -> String {
        let l = self.lines.lock().unwrap();
        l[l.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// SPEC's example account shape with a varying quote: 10 ETH, 1 BTC-PERP long,
/// quote −(79,000 + step·id) USD (step in 1e-6 USD). At ETH 2,900 / BTC 57,000,
/// H(1) = 79,360 + quote.
pub fn accounts(n: u64, step: i64) -> Vec<Account> {
    (1..=n)
        .map(|id| {
            let mut a = Account::empty(id, &mut OsRng);
            a.tokens[0] = 10_000_000_000;
            a.quote = -79_000_000_000 - step * id as i64;
            a.positions[0] = 100_000_000;
            a
        })
        .collect()
}

/// A report signed by 2 of the development committee: ETH 2,900, BTC 57,000.
pub fn report(observed_at: u64) -> SignedReport {
    report_eth(observed_at, 2_900_000_000)
}

/// [`report`] with the ETH price `eth` (10^-6 USD).
pub fn report_eth(observed_at: u64, eth: u64) -> SignedReport {
    let (keys, _) = development_committee();
    let prices = [
        ("BTC/USD", 570_000_000_000u64),
        ("DOGE/USD", 100_000_000),
        ("ETH/USD", eth),
        ("SOL/USD", 150_000_000),
        ("USDC/USD", 1_000_000_000),
    ];
    let feeds = prices
        .iter()
        .map(|(f, p)| PriceFeed {
            feed_id: f.to_string(),
            price: *p,
            bid: p - p / 10_000,
            ask: p + p / 10_000,
        })
        .collect();
    SignedReport::sign(
        PriceReport {
            version: REPORT_VERSION,
            exponent: PRICE_EXPONENT,
            observed_at,
            expires_at: observed_at + 120,
            feeds,
        },
        &keys[..2],
    )
}

/// The ids of the accounts in breach at `report` at threshold τ (the native twin).
pub fn breaching(accounts: &[Account], report: &SignedReport, tau_ppm: u32) -> HashSet<u64> {
    let params = RiskParams::development();
    let prices = Prices::from_feeds(&params, |f| report.report.price(f)).unwrap();
    let weights = params.weights();
    accounts
        .iter()
        .filter(|a| a.status(&weights, &prices, tau_ppm) == Status::Breaches)
        .map(|a| a.id)
        .collect()
}

/// A venue: its engine store (accounts imported with the CLI) and its settlement
/// ledger (every account registered by commitment only, the trust pinned).
pub struct Venue {
    pub dir: tempfile::TempDir,
    pub store: String,
    pub ledger_url: String,
    pub ledger: Ledger,
    pub rt: tokio::runtime::Runtime,
    pub accounts: Vec<Account>,
    pub by_commitment: HashMap<String, u64>,
}

impl Venue {
    pub fn new(accounts: Vec<Account>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let jsonl = d.join("accounts.jsonl");
        let mut f = std::fs::File::create(&jsonl).unwrap();
        for a in &accounts {
            writeln!(f, "{}", serde_json::json!({ "version": 1, "account": a })).unwrap();
        }
        drop(f);
        let store = format!("sqlite://{}", s(&d.join("engine.db")));
        run_ok(&[
            "engine",
            "import",
            "--store",
            &store,
            "--accounts",
            &s(&jsonl),
        ]);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let ledger_url = format!("sqlite://{}?mode=rwc", s(&d.join("ledger.db")));
        let ledger = rt.block_on(async {
            let opened = VerifierConfig {
                keys_dir: Some(keys().to_path_buf()),
                ..Default::default()
            }
            .open()
            .unwrap();
            let key = OperatorKey::new(b"engine test operator secret, 32 bytes+".to_vec()).unwrap();
            let ledger = Ledger::open(&ledger_url).await.unwrap();
            ledger.init(&key).await.unwrap();
            ledger
                .pin_trust(&key, &PinnedTrust::of(&opened.verifier).unwrap())
                .await
                .unwrap();
            for a in &accounts {
                ledger
                    .register_account(&key, a.id, &Commitment::of(a))
                    .await
                    .unwrap();
            }
            ledger.fund_deposit(&key, 1_000_000_000_000).await.unwrap();
            ledger
        });
        let by_commitment = accounts
            .iter()
            .map(|a| (Commitment::of(a).to_hex(), a.id))
            .collect();
        Self {
            dir,
            store,
            ledger_url,
            ledger,
            rt,
            accounts,
            by_commitment,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// How many of `ids` the ledger shows updated.
    pub fn settled(&self, ids: &HashSet<u64>) -> usize {
        self.rt.block_on(async {
            let mut n = 0;
            for id in ids {
                if self.ledger.account(*id).await.unwrap().unwrap().nonce > 0 {
                    n += 1;
                }
            }
            n
        })
    }

    /// Waits until every account of `ids` is settled.
    pub fn wait_settled(&self, ids: &HashSet<u64>, timeout: Duration, procs: &Procs) {
        let t = Instant::now();
        loop {
            let n = self.settled(ids);
            if n == ids.len() {
                return;
            }
            assert!(
                t.elapsed() < timeout,
                "{n} of {} liquidations settled after {:?}\n{}",
                ids.len(),
                t.elapsed(),
                procs.dump()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Every breaching account updated once, every other account untouched, the
    /// ledger's invariants holding.
    pub fn check_ledger(&self, breaching: &HashSet<u64>) {
        self.rt.block_on(async {
            for a in &self.accounts {
                let rec = self.ledger.account(a.id).await.unwrap().unwrap();
                let expect = u64::from(breaching.contains(&a.id));
                assert_eq!(
                    rec.nonce, expect,
                    "account {} updated {} times",
                    a.id, rec.nonce
                );
            }
            self.ledger.check_invariants().await.unwrap();
        });
    }

    /// Writes `report` and publishes it with `zkmargin engine publish-report`.
    pub fn publish(&self, report: &SignedReport, bus: &[String]) {
        let path = self
            .path()
            .join(format!("report-{}.json", report.report.observed_at));
        std::fs::write(&path, serde_json::to_vec(report).unwrap()).unwrap();
        let mut args = vec!["engine".to_string(), "publish-report".into()];
        args.extend(bus.iter().cloned());
        args.extend(["--report".to_string(), s(&path)]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok(&args);
    }
}

/// The flags every role shares.
pub fn bus_args(nats: &str, prefix: &str, ack_wait_ms: u64) -> Vec<String> {
    vec![
        "--nats".into(),
        nats.into(),
        "--prefix".into(),
        prefix.into(),
        "--ack-wait-ms".into(),
        ack_wait_ms.to_string(),
    ]
}

pub fn engine_args(bus: &[String], store: &str, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["engine".to_string(), "run".into()];
    v.extend(bus.iter().cloned());
    v.extend(["--store".to_string(), store.to_string()]);
    v.extend(extra.iter().map(|x| x.to_string()));
    v
}

pub fn worker_args(bus: &[String], extra: &[&str]) -> Vec<String> {
    let mut v = vec!["worker".to_string()];
    v.extend(bus.iter().cloned());
    v.extend(["--keys".to_string(), s(keys())]);
    v.extend(extra.iter().map(|x| x.to_string()));
    v
}

pub fn keeper_args(bus: &[String], liquidator: u64, ledger_url: &str) -> Vec<String> {
    keeper_args_settling(bus, liquidator, &["--ledger", ledger_url])
}

/// A keeper's flags with `settle` saying where it settles (`--ledger URL` or
/// `--settle-url URL`).
pub fn keeper_args_settling(bus: &[String], liquidator: u64, settle: &[&str]) -> Vec<String> {
    let mut v = vec!["keeper".to_string()];
    v.extend(bus.iter().cloned());
    v.extend([
        "--keys".to_string(),
        s(keys()),
        "--liquidator".into(),
        liquidator.to_string(),
        "--allow-development".into(),
    ]);
    v.extend(settle.iter().map(|x| x.to_string()));
    v
}

/// Every message of `stream`, read with an ephemeral consumer: (subject, payload).
pub async fn read_stream(js: &jetstream::Context, stream: &str) -> Vec<(String, Vec<u8>)> {
    let stream = js.get_stream(stream).await.unwrap();
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out = Vec::new();
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(1000)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        let mut n = 0;
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            out.push((m.subject.to_string(), m.payload.to_vec()));
            n += 1;
        }
        if n == 0 {
            return out;
        }
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET http://addr/metrics`, the value of the metric line starting with `name`.
pub fn metric(addr: &str, name: &str) -> f64 {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The engine store's accounts by id (read while the engine runs: SQLite WAL).
pub fn store_accounts(venue: &Venue) -> HashMap<u64, Account> {
    venue.rt.block_on(async {
        let store = zkmargin_engine::store::Store::open(&venue.store)
            .await
            .unwrap();
        let out = store
            .changes_since(-1)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, a)| (a.id, a))
            .collect();
        store.close().await;
        out
    })
}

/// Waits until the engine's store holds, for every account of `ids`, the commitment the
/// ledger holds (the write-back of its settled liquidation).
pub fn wait_written_back(venue: &Venue, ids: &HashSet<u64>, timeout: Duration, procs: &Procs) {
    let t = Instant::now();
    loop {
        let store = store_accounts(venue);
        let behind: Vec<u64> = venue.rt.block_on(async {
            let mut behind = Vec::new();
            for id in ids {
                let ledger = venue.ledger.account(*id).await.unwrap().unwrap();
                if Commitment::of(&store[id]) != ledger.commitment {
                    behind.push(*id);
                }
            }
            behind
        });
        if behind.is_empty() {
            return;
        }
        assert!(
            t.elapsed() < timeout,
            "the engine's store still holds a pre-liquidation state of {behind:?} after {:?}\n{}",
            t.elapsed(),
            procs.dump()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
