//! Slow clients against the real `zkmargin-verifier serve` on loopback: thousands of
//! connections trickling a request head one byte at a time do not keep `/healthz`
//! from answering and are cut at the header timeout; over the connection limit the
//! server holds no more sockets than the limit; a silent connection is closed at the
//! idle timeout; SIGTERM still stops the server while slow clients hang on.
//!
//! The server runs on the repository's development keys (no fixture needed).

mod common_service;

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use common_service::Server;

/// How long `/healthz` may take to answer while the slow clients hang on (generous:
/// the machine is shared).
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// `zkmargin-verifier serve` with the development defaults and `flags`.
fn server(flags: &[&str]) -> Server {
    Server::spawn(Server::bare_command(flags, &[]))
}

/// `GET /healthz` on a new connection: `Ok` with the body when it answers 200 within
/// [`ANSWER_WITHIN`].
fn healthz(addr: SocketAddr) -> Result<String, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, ANSWER_WITHIN).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(ANSWER_WITHIN))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: loopback\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("after {:?}: {e}", started.elapsed()))?;
    if started.elapsed() > ANSWER_WITHIN {
        return Err(format!("answered after {:?}", started.elapsed()));
    }
    if !response.starts_with("HTTP/1.1 200") || !response.contains(r#""status":"ok""#) {
        return Err(format!("not a 200 ok: {response:?}"));
    }
    Ok(response)
}

/// A client sending a request head one byte at a time.
struct Trickler {
    stream: TcpStream,
    closed: bool,
}

impl Trickler {
    fn open(addr: SocketAddr) -> Self {
        let mut stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: loopback\r\nX-Slow: ")
            .expect("start the head");
        stream.set_nonblocking(true).unwrap();
        Self {
            stream,
            closed: false,
        }
    }

    /// Sends one more header byte; notices a connection the server closed.
    fn trickle(&mut self) {
        if self.closed {
            return;
        }
        let mut buf = [0u8; 256];
        match self.stream.read(&mut buf) {
            // The server closed it (whatever it said first).
            Ok(0) => self.closed = true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => self.closed = true,
        }
        if !self.closed && self.stream.write(b"a").is_err() {
            self.closed = true;
        }
    }
}

/// Open sockets of process `pid` (Linux: the `socket:` links in /proc/PID/fd).
fn sockets_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_link(e.path())
                .map(|t| t.to_string_lossy().starts_with("socket:"))
                .unwrap_or(false)
        })
        .count()
}

/// 2,000 connections trickle a header byte every 0.5 s (a slow-loris) against a
/// 20 s header timeout and the default connection limit (4096): `/healthz` keeps
/// answering while they hang on, and every one of them is cut once the header
/// timeout has passed, though each keeps sending.
///
/// The clients open in batches with `/healthz` asked after each, so the check does
/// not depend on how fast a loaded machine opens 2,000 sockets: it needs only that
/// opening them all takes less than the header timeout.
#[test]
fn trickling_clients_do_not_starve_healthz_and_are_cut_at_the_header_timeout() {
    const TRICKLERS: usize = 2_000;
    const BATCH: usize = 250;
    let header_timeout = Duration::from_secs(20);
    let server = server(&["--header-timeout-ms", "20000"]);
    let started = Instant::now();
    let mut tricklers: Vec<Trickler> = Vec::with_capacity(TRICKLERS);
    // The most slow clients connected at a moment /healthz answered.
    let mut most_during_an_answer = 0;
    let mut answers = 0;
    let mut ask = |tricklers: &mut Vec<Trickler>| {
        for t in tricklers.iter_mut() {
            t.trickle();
        }
        if let Err(e) = healthz(server.addr) {
            panic!(
                "/healthz did not answer with {} slow clients connected: {e}",
                tricklers.iter().filter(|t| !t.closed).count()
            );
        }
        answers += 1;
        most_during_an_answer =
            most_during_an_answer.max(tricklers.iter().filter(|t| !t.closed).count());
    };
    while tricklers.len() < TRICKLERS {
        tricklers.extend((0..BATCH).map(|_| Trickler::open(server.addr)));
        ask(&mut tricklers);
    }
    let all_open = Instant::now();
    assert!(
        all_open - started < header_timeout,
        "opening {TRICKLERS} connections took {:?}, longer than the header timeout",
        all_open - started
    );
    let deadline = all_open + header_timeout + Duration::from_secs(20);
    let mut last_healthz = Instant::now();
    while tricklers.iter().any(|t| !t.closed) {
        assert!(
            Instant::now() < deadline,
            "{} of {TRICKLERS} slow clients still connected {:?} after the last connected (header timeout {header_timeout:?})",
            tricklers.iter().filter(|t| !t.closed).count(),
            all_open.elapsed()
        );
        if last_healthz.elapsed() >= Duration::from_secs(1) {
            last_healthz = Instant::now();
            ask(&mut tricklers);
        } else {
            for t in &mut tricklers {
                t.trickle();
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(answers >= TRICKLERS / BATCH);
    // The server held them (it did not answer /healthz by refusing slow clients).
    assert!(
        most_during_an_answer >= TRICKLERS * 9 / 10,
        "at most {most_during_an_answer} of {TRICKLERS} slow clients were connected while /healthz answered"
    );
    // Cut, yet the server is fine.
    healthz(server.addr).expect("/healthz after the slow clients were cut");
}

/// Over `--max-connections` the server stops accepting: 300 idle connections against
/// a limit of 64 never make it hold more than the limit's sockets, `/healthz` is
/// answered once the header timeout frees slots, and SIGTERM stops the server while
/// clients still wait.
#[test]
fn the_connection_limit_bounds_the_sockets_held() {
    const LIMIT: usize = 64;
    const CLIENTS: usize = 300;
    let mut server = server(&[
        "--max-connections",
        "64",
        "--header-timeout-ms",
        "2000",
        "--idle-timeout-ms",
        "60000",
    ]);
    let baseline = sockets_of(server.pid());
    let clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
            let mut s = TcpStream::connect_timeout(&server.addr, Duration::from_secs(10))
                .expect("connect (the kernel's backlog takes it)");
            s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    let mut most = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        most = most.max(sockets_of(server.pid()) - baseline);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        most <= LIMIT,
        "the server held {most} client sockets, over the limit of {LIMIT}"
    );
    assert!(
        most >= LIMIT / 2,
        "the server held only {most} client sockets: it did not accept up to the limit"
    );
    // Slots free as the header timeout cuts the silent clients: /healthz gets one.
    let started = Instant::now();
    let answered = loop {
        match healthz(server.addr) {
            Ok(_) => break true,
            Err(_) if started.elapsed() < Duration::from_secs(60) => continue,
            Err(_) => break false,
        }
    };
    assert!(
        answered,
        "/healthz never answered after the slow clients timed out"
    );
    // SIGTERM while clients still connect: the server stops.
    let more: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)).ok())
        .collect();
    server.sigterm();
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status:?}; stderr:\n{}", server.stderr());
    drop((clients, more));
}

/// A connection that sends nothing, and a kept-alive one after its answer, are closed
/// at `--idle-timeout-ms`.
#[test]
fn idle_connections_are_closed_at_the_idle_timeout() {
    let server = server(&["--idle-timeout-ms", "1000", "--header-timeout-ms", "60000"]);
    let closed_within = |stream: &mut TcpStream, what: &str| {
        let started = Instant::now();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut rest = Vec::new();
        match stream.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{what}: not closed after {:?}: {e}", started.elapsed()),
        }
        rest
    };
    let mut silent = TcpStream::connect(server.addr).unwrap();
    let said = closed_within(&mut silent, "a silent connection");
    assert!(said.is_empty(), "{:?}", String::from_utf8_lossy(&said));

    let mut kept = TcpStream::connect(server.addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: loopback\r\n\r\n")
        .unwrap();
    let said = closed_within(&mut kept, "a kept-alive connection");
    let said = String::from_utf8_lossy(&said);
    assert!(said.starts_with("HTTP/1.1 200"), "{said:?}");
    healthz(server.addr).expect("/healthz");
}
