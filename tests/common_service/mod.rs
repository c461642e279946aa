//! Harness of the service tests: fixture keys and proofs made once per test binary,
//! the real `zkmargin-verifier` binary started on a free loopback port, and a small
//! HTTP client (ureq) that returns every status with its JSON body.
//!
//! [`world`] has margin keys only (the verification tests); [`settle_world`] has
//! margin and liquidation keys (the settlement tests).
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use zkmargin_circuits::Status;
use zkmargin_oracle::SignedReport;
use zkmargin_verifier::{testkit::Fixture, ProofBundle};

/// Keys, config files and proofs shared by every test of a binary.
pub struct World {
    pub fixture: Fixture,
    /// Oracle config and risk parameter files for `--oracle` / `--params`.
    pub files: tempfile::TempDir,
    /// A report observed now (the server runs on the system clock).
    pub report: SignedReport,
    /// Valid bundles: even indices meet, odd indices breach.
    pub valid: Vec<ProofBundle>,
}

impl World {
    pub fn oracle_file(&self) -> PathBuf {
        self.files.path().join("oracle.json")
    }

    pub fn params_file(&self) -> PathBuf {
        self.files.path().join("params.json")
    }
}

/// Margin keys, a report observed now and eight margin bundles.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World::new(Fixture::new(7), 8))
}

/// Margin and liquidation keys and a report observed now (no margin bundles: the
/// settlement tests make their own transitions).
pub fn settle_world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        World::new(
            Fixture::with_liquidation(17).with_policy(zkmargin_prover::choose_liquidation),
            0,
        )
    })
}

impl World {
    /// `fixture`'s oracle and parameter files, a report observed now, and
    /// `margin_bundles` valid margin bundles.
    pub fn new(fixture: Fixture, margin_bundles: u64) -> Self {
        let files = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            files.path().join("oracle.json"),
            serde_json::to_vec_pretty(fixture.oracle_config()).unwrap(),
        )
        .unwrap();
        std::fs::write(
            files.path().join("params.json"),
            serde_json::to_vec_pretty(fixture.params()).unwrap(),
        )
        .unwrap();
        let report = fixture.signed_report(zkmargin_verifier::testkit::now());
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let valid = (0..margin_bundles)
            .map(|i| {
                let status = if i % 2 == 0 {
                    Status::Meets
                } else {
                    Status::Breaches
                };
                fixture.bundle(100 + i, status, &report, &mut rng)
            })
            .collect();
        World {
            fixture,
            files,
            report,
            valid,
        }
    }
}

/// A running `zkmargin-verifier serve`.
pub struct Server {
    child: Child,
    pub base: String,
    pub addr: std::net::SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
    agent: ureq::Agent,
}

/// Limits of the shared test server: small enough to test cheaply.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const MAX_BATCH: usize = 16;

impl Server {
    /// Starts the binary with [`world`]'s keys, oracle and parameter files, on port 0,
    /// plus `extra` flags, and waits for it to announce its address.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with(world(), extra, &[])
    }

    /// Starts the binary with `w`'s keys, oracle and parameter files, on port 0, plus
    /// `extra` flags and `envs`, and waits for it to announce its address.
    pub fn start_with(w: &World, extra: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::spawn(Self::command(w, extra, envs))
    }

    /// Starts `command` (a `zkmargin-verifier serve` on port 0) and waits for it to
    /// announce its address.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("start zkmargin-verifier");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr piped");
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.trim().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not announce its address; stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
        };
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        Self {
            child,
            base: format!("http://{addr}"),
            addr: addr.parse().expect("socket address"),
            stderr,
            agent,
        }
    }

    /// `zkmargin-verifier serve` on 127.0.0.1:0 with `w`'s trust files, `extra` flags
    /// and `envs`; stdin and stdout closed.
    pub fn command(w: &World, extra: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut command = Self::bare_command(&[], envs);
        command
            .arg("--keys")
            .arg(w.fixture.keys_dir())
            .arg("--oracle")
            .arg(w.oracle_file())
            .arg("--params")
            .arg(w.params_file())
            .args(extra);
        command
    }

    /// `zkmargin-verifier serve` on 127.0.0.1:0 with `args` and `envs` only: no trust
    /// flags (the development defaults, `keys/` of the working directory), none of
    /// zkmargin's variables inherited; stdin and stdout closed.
    pub fn bare_command(args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_zkmargin-verifier"));
        for var in [
            "ZKMARGIN_BIND",
            "ZKMARGIN_KEYS",
            "ZKMARGIN_ORACLE",
            "ZKMARGIN_PARAMS",
            "ZKMARGIN_LEDGER_DB",
            "ZKMARGIN_ALLOW_DEVELOPMENT",
            "ZKMARGIN_HEADER_TIMEOUT_MS",
            "ZKMARGIN_IDLE_TIMEOUT_MS",
            "ZKMARGIN_MAX_CONNECTIONS",
        ] {
            command.env_remove(var);
        }
        command
            .arg("serve")
            .arg("--bind")
            .arg("127.0.0.1:0")
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs `body` as JSON; any status comes back with its body parsed as JSON.
    pub fn post(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let result = self
            .agent
            .post(&self.url(path))
            .set("content-type", "application/json")
            .send_bytes(body);
        into_status_json(result)
    }

    /// POSTs `body` with `content_type`.
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Option<(u16, Value)> {
        let result = self
            .agent
            .post(&self.url(path))
            .set("content-type", content_type)
            .send_bytes(body);
        Some(into_status_json(result))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post(path, &serde_json::to_vec(body).unwrap())
    }

    /// POSTs `bundle` to `/v1/settle`.
    pub fn settle(&self, bundle: &ProofBundle) -> (u16, Value) {
        self.post("/v1/settle", &serde_json::to_vec(bundle).unwrap())
    }

    /// POSTs `body` as JSON; the status, the JSON body and the value of `header`.
    pub fn post_with_header(
        &self,
        path: &str,
        body: &[u8],
        header: &str,
    ) -> (u16, Value, Option<String>) {
        let result = self
            .agent
            .post(&self.url(path))
            .set("content-type", "application/json")
            .send_bytes(body);
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("request failed: {e}"),
        };
        let value = response.header(header).map(str::to_owned);
        let (status, json) = into_status_json(Ok(response));
        (status, json, value)
    }

    pub fn verify(&self, bundle: &ProofBundle) -> (u16, Value) {
        self.post("/v1/verify", &serde_json::to_vec(bundle).unwrap())
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        match self.agent.get(&self.url(path)).call() {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    pub fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get(path);
        (status, serde_json::from_str(&body).expect("JSON body"))
    }

    /// Asserts the server still answers `/healthz`.
    pub fn assert_healthy(&self) {
        let (status, body) = self.get_json("/healthz");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ok");
    }

    /// The value of one metric sample (`name{labels}`), 0 if absent.
    pub fn metric(&self, sample: &str) -> f64 {
        let (status, text) = self.get("/metrics");
        assert_eq!(status, 200);
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `request` as raw bytes on a new connection and reads until the server
    /// closes it (or 10 s pass): the raw response, for requests no HTTP client sends.
    pub fn raw(&self, request: &[u8]) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request).expect("send");
        let mut response = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
                // A reset after the answer (hyper closes with unread input): keep what
                // arrived.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!(
                    "reading the raw response: {e}; so far: {:?}",
                    String::from_utf8_lossy(&response)
                ),
            }
        }
        String::from_utf8_lossy(&response).into_owned()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit within {limit:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn into_status_json(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = response.status();
    let text = response.into_string().expect("response body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
    (status, json)
}

/// Asserts a JSON error body with `code` and a non-empty message.
pub fn assert_error(response: &(u16, Value), status: u16, code: &str) {
    let (got, body) = response;
    assert_eq!(*got, status, "expected {status} {code}, got {got}: {body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(message.len() > 10, "a clear message: {body}");
}
