//! The engine's faults, over real NATS JetStream and the real `zkmargin` processes:
//! a worker killed mid-proof (its job redelivered, one bundle published), the engine
//! killed mid-tick (no job lost or doubled), the NATS server restarted (clients
//! reconnect, the tick completes and settles). A replayed report is in `engine_e2e`.

#[path = "engine_common/mod.rs"]
mod common;

use std::{
    collections::{HashMap, HashSet},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use zkmargin_engine::{
    async_nats::{self, jetstream},
    messages::{FeedItem, JobKind},
    names::Names,
};

async fn stream_messages(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Breach bundles on the feed, per account id.
fn breach_proofs(feed: &[(String, Vec<u8>)], venue: &Venue) -> HashMap<u64, usize> {
    let mut out = HashMap::new();
    for (_, payload) in feed {
        let item: FeedItem = serde_json::from_slice(payload).unwrap();
        if let (JobKind::Breach, zkmargin_verifier::Statement::Margin(m)) =
            (&item.kind, &item.bundle.statement)
        {
            *out.entry(venue.by_commitment[&m.commitment.to_hex()])
                .or_default() += 1;
        }
    }
    out
}

#[test]
fn worker_killed_mid_proof_job_redelivered_bundle_published_once() {
    require_nats();
    let prefix = unique_prefix("wkill");
    let names = Names::new(&prefix).unwrap();
    // 400 accounts, ids 361..=400 in breach.
    let accounts = accounts(400, 1_000_000);
    let report = report(now());
    let breaching = breaching(&accounts, &report, 1_000_000);
    assert_eq!(breaching.len(), 40);
    let venue = Venue::new(accounts);
    let bus = bus_args(NATS, &prefix, 1_500);
    let mut procs = Procs::default();
    procs.spawn("engine", &engine_args(&bus, &venue.store, &[]));
    procs.spawn("worker-a", &worker_args(&bus, &["--parallel", "2"]));
    assert!(
        procs.wait_for("worker: proving", 1, Duration::from_secs(30)),
        "{}",
        procs.dump()
    );
    assert!(
        procs.wait_for("engine: prefix", 1, Duration::from_secs(20)),
        "{}",
        procs.dump()
    );

    let js = venue
        .rt
        .block_on(async { jetstream::new(async_nats::connect(NATS).await.expect("NATS")) });
    venue.publish(&report, &bus);
    // Kill worker a while it proves (two jobs in flight, unacknowledged).
    let t = Instant::now();
    let at_kill = loop {
        let n = venue
            .rt
            .block_on(stream_messages(&js, &names.feed_stream()));
        if n >= 4 {
            break n;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no bundle published\n{}",
            procs.dump()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    procs.kill("worker-a");
    assert!(
        at_kill < 40,
        "worker a finished every job before it could be killed ({at_kill} bundles)"
    );

    // Worker b picks up what is left, the killed worker's jobs after ack_wait.
    let port = free_port();
    let metrics = format!("127.0.0.1:{port}");
    procs.spawn(
        "worker-b",
        &worker_args(&bus, &["--parallel", "2", "--metrics-addr", &metrics]),
    );
    let t = Instant::now();
    loop {
        let n = venue
            .rt
            .block_on(stream_messages(&js, &names.feed_stream()));
        if n >= 40 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "{n} of 40 bundles\n{}",
            procs.dump()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Longer than ack_wait: any straggler would have been redelivered and published.
    std::thread::sleep(Duration::from_millis(2_500));
    let feed = venue.rt.block_on(read_stream(&js, &names.feed_stream()));
    let proofs = breach_proofs(&feed, &venue);
    assert_eq!(feed.len(), 40, "one bundle per job");
    assert_eq!(proofs.keys().copied().collect::<HashSet<_>>(), breaching);
    assert!(proofs.values().all(|&n| n == 1));
    assert!(
        metric(&metrics, "zkmargin_engine_jobs_redelivered_total") >= 1.0,
        "worker b saw no redelivered job\n{}",
        procs.dump()
    );
    assert_eq!(
        venue
            .rt
            .block_on(stream_messages(&js, &names.jobs_stream())),
        0,
        "every job acknowledged"
    );
}

#[test]
fn engine_killed_mid_tick_no_job_lost_or_doubled() {
    require_nats();
    let prefix = unique_prefix("ekill");
    let names = Names::new(&prefix).unwrap();
    // 5,000 accounts, ids 361..=5000 in breach: a tick of thousands of jobs.
    let accounts = accounts(5_000, 1_000_000);
    let report = report(now());
    let breaching = breaching(&accounts, &report, 1_000_000);
    let total = breaching.len() as u64;
    let venue = Venue::new(accounts);
    let bus = bus_args(NATS, &prefix, 2_000);
    let mut procs = Procs::default();
    // No worker: the jobs stay on the work queue, to be counted.
    procs.spawn("engine-1", &engine_args(&bus, &venue.store, &[]));
    assert!(
        procs.wait_for("engine: prefix", 1, Duration::from_secs(20)),
        "{}",
        procs.dump()
    );
    let js = venue
        .rt
        .block_on(async { jetstream::new(async_nats::connect(NATS).await.expect("NATS")) });

    venue.publish(&report, &bus);
    let t = Instant::now();
    let at_kill = loop {
        let n = venue
            .rt
            .block_on(stream_messages(&js, &names.jobs_stream()));
        if n > 0 {
            break n;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no job queued\n{}",
            procs.dump()
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    procs.kill("engine-1");
    assert!(
        at_kill < total,
        "the tick finished before the engine could be killed ({at_kill} of {total} jobs)"
    );

    // The restarted engine gets the unacknowledged report again and resumes the tick.
    procs.spawn("engine-2", &engine_args(&bus, &venue.store, &[]));
    assert!(
        procs.wait_for("engine: tick", 2, Duration::from_secs(60))
            && procs.wait_for(" done in ", 1, Duration::from_secs(60)),
        "{}",
        procs.dump()
    );
    assert!(
        !procs.grep("resuming the tick").is_empty(),
        "{}",
        procs.dump()
    );
    let queued = venue
        .rt
        .block_on(stream_messages(&js, &names.jobs_stream()));
    assert_eq!(
        queued, total,
        "{at_kill} jobs at the kill; every job exactly once after"
    );
}

/// A private `nats-server -js` on `port` with its store in `dir`.
fn nats_server(port: u16, dir: &std::path::Path) -> Child {
    let exe = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| panic!("no nats-server binary (looked in /usr/sbin, /usr/bin, /usr/local/bin): install nats-server 2.9+"));
    let child = Command::new(exe)
        .args([
            "-js",
            "-sd",
            &s(dir),
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "nats-server did not start on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

struct Server(Child);

impl Server {
    /// Stops the server as an operator's restart does (SIGTERM: JetStream flushes).
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn nats_restarted_clients_reconnect_tick_completes() {
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Server(nats_server(port, store.path()));
    let url = format!("nats://127.0.0.1:{port}");
    let prefix = unique_prefix("nrst");
    let names = Names::new(&prefix).unwrap();
    // 200 accounts, ids 181..=200 in breach.
    let accounts = accounts(200, 2_000_000);
    let report = report(now());
    let breaching = breaching(&accounts, &report, 1_000_000);
    assert_eq!(breaching.len(), 20);
    let venue = Venue::new(accounts);
    let bus = bus_args(&url, &prefix, 2_000);
    let mut procs = Procs::default();
    procs.spawn("engine", &engine_args(&bus, &venue.store, &[]));
    procs.spawn("worker", &worker_args(&bus, &["--parallel", "1"]));
    procs.spawn("keeper", &keeper_args(&bus, 7, &venue.ledger_url));
    assert!(
        procs.wait_for("worker: proving", 1, Duration::from_secs(30)),
        "{}",
        procs.dump()
    );
    assert!(
        procs.wait_for("keeper 7:", 1, Duration::from_secs(30)),
        "{}",
        procs.dump()
    );
    assert!(
        procs.wait_for("engine: prefix", 1, Duration::from_secs(20)),
        "{}",
        procs.dump()
    );

    venue.publish(&report, &bus);
    // Restart the server while the tick is being proved and settled.
    let t = Instant::now();
    while venue.settled(&breaching) == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "nothing settled\n{}",
            procs.dump()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = venue.settled(&breaching);
    server.stop();
    std::thread::sleep(Duration::from_millis(500));
    let _server = Server(nats_server(port, store.path()));
    assert!(
        before < breaching.len(),
        "the tick settled before the restart ({before} of {})",
        breaching.len()
    );

    venue.wait_settled(&breaching, Duration::from_secs(120), &procs);
    venue.check_ledger(&breaching);
    let feed = venue.rt.block_on(async {
        let js = jetstream::new(async_nats::connect(&url).await.unwrap());
        read_stream(&js, &names.feed_stream()).await
    });
    let proofs = breach_proofs(&feed, &venue);
    assert_eq!(proofs.keys().copied().collect::<HashSet<_>>(), breaching);
    assert!(
        proofs.values().all(|&n| n == 1),
        "one breach proof each: {proofs:?}"
    );
}
