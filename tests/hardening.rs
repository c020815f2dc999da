//! The `o2o serve` listener under hostile clients, on the real binary with short limits: slow
//! heads, stalled bodies and idle sockets are closed within their timeouts; a flood of idle
//! connections keeps the process's file descriptors bounded and `/healthz` and deliveries
//! served; malformed heads get a 400; SIGTERM exits within the shutdown deadline with a stalled
//! client attached; and a delivery's records are fsynced before its 200 is written.

mod common;

use std::time::{Duration, Instant};

use common::*;
use o2o_local::SqliteStore;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The limits the tests run with: short, so that every wait below is bounded by a few seconds.
const LIMITS: &str = "header_read_timeout_s = 1\nbody_read_timeout_s = 2\nidle_timeout_s = 1\n\
                      max_connections = 32\nshutdown_deadline_s = 2\n";
const MAX_CONNECTIONS: usize = 32;

/// A config file: the shipped `o2o.toml` with `extra` added to its `[server]` table.
fn config_with(dir: &TempDir, extra: &str) -> String {
    let shipped = std::fs::read_to_string(root().join("o2o.toml")).expect("o2o.toml");
    assert!(
        shipped.contains("[server]\n"),
        "o2o.toml has a [server] table"
    );
    let text = shipped.replacen("[server]\n", &format!("[server]\n{extra}"), 1);
    let path = dir.path().join("o2o.toml");
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("utf-8 path").to_owned()
}

async fn start(dir: &TempDir, extra: &str) -> (ServeProcess, String) {
    let config = config_with(dir, extra);
    let db = dir.path().join("serve.db");
    let db = db.to_str().expect("utf-8 path").to_owned();
    let server = ServeProcess::start(&["--config", &config, "--db", &db], &[]).await;
    (server, db)
}

fn address(server: &ServeProcess) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes the connection (or `limit` passes); returns what was read and
/// how long the close took.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!(
                "the server kept the connection open for {limit:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

/// A signed Shopify delivery as raw HTTP/1.1: its head (with `Content-Length`) and its body, to
/// be written to a socket in parts.
fn signed_delivery_head() -> (String, Vec<u8>) {
    let (headers, body) = signed_sample("shopify", "orders-create.http");
    let mut head = format!(
        "POST /webhooks/shopify HTTP/1.1\r\nHost: o2o\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers.iter() {
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("host") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    (head, body)
}

#[tokio::test]
async fn slow_heads_stalled_bodies_and_idle_sockets_are_closed_within_their_timeouts() {
    let dir = TempDir::new();
    let (server, db) = start(&dir, LIMITS).await;
    let addr = address(&server);

    // A head that never ends: closed about 1 s (header_read_timeout_s) after its first byte.
    let mut slow_head = TcpStream::connect(&addr).await.expect("connect");
    slow_head
        .write_all(b"POST /webhooks/shopify HTTP/1.1\r\nHost: o2o\r\n")
        .await
        .expect("write");
    let (_, took) = read_until_closed(&mut slow_head, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_millis(2500),
        "slow head closed after {took:?}"
    );

    // A head trickled a byte at a time still has to be complete within the timeout.
    let mut trickle = TcpStream::connect(&addr).await.expect("connect");
    let started = Instant::now();
    let mut closed = false;
    for byte in b"POST /webhooks/shopify HTTP/1.1\r\nHost: o2o\r\nX-Long: "
        .iter()
        .cycle()
    {
        if trickle.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut probe = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(150), trickle.read(&mut probe)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => panic!("a trickled head got an answer"),
            Err(_) => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "trickle never closed"
        );
    }
    assert!(closed);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "trickled head closed after {:?}",
        started.elapsed()
    );

    // A body that stalls: 408 `body_timeout` about 2 s (body_read_timeout_s) after the head.
    let (head, body) = signed_delivery_head();
    let mut stalled = TcpStream::connect(&addr).await.expect("connect");
    stalled.write_all(head.as_bytes()).await.expect("head");
    stalled
        .write_all(&body[..body.len() / 2])
        .await
        .expect("half the body");
    let (answer, took) = read_until_closed(&mut stalled, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""error":"body_timeout""#), "{answer}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_millis(3500),
        "stalled body answered after {took:?}"
    );

    // An idle kept-alive connection: closed about 1 s (idle_timeout_s) after its last answer.
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: o2o\r\n\r\n")
        .await
        .expect("write");
    let (answer, took) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_millis(2500),
        "idle closed after {took:?}"
    );

    // Nothing of the stalled delivery was claimed or queued.
    let store = SqliteStore::open(std::path::Path::new(&db)).expect("open db");
    assert_all_queues_empty(&store).await;
    server.stop().await;
}

#[tokio::test]
async fn malformed_heads_get_a_400() {
    let dir = TempDir::new();
    let (server, _db) = start(&dir, LIMITS).await;
    let addr = address(&server);
    let cases: [(&str, &[u8]); 4] = [
        ("request line without a version", b"GET /healthz\r\n\r\n"),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        (
            "binary garbage",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        ),
        (
            "header without a colon",
            b"GET /healthz HTTP/1.1\r\nHost o2o\r\n\r\n",
        ),
    ];
    for (what, bytes) in cases {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream.write_all(bytes).await.expect("write");
        let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{what}: {answer:?}");
    }
    server.stop().await;
}

/// The number of open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/<pid>/fd")
        .count()
}

#[tokio::test]
async fn a_flood_of_idle_connections_keeps_fds_bounded_and_healthz_and_deliveries_served() {
    let dir = TempDir::new();
    // Idle and head timeouts far longer than the test: only the cap can protect the server.
    let extra = format!(
        "header_read_timeout_s = 60\nidle_timeout_s = 60\nbody_read_timeout_s = 60\n\
         max_connections = {MAX_CONNECTIONS}\nshutdown_deadline_s = 2\n"
    );
    let (server, _db) = start(&dir, &extra).await;
    let addr = address(&server);
    let pid = server.pid();
    let before = open_fds(pid);

    // Four times the cap: half idle, half holding half a head.
    let mut flood = Vec::new();
    for i in 0..MAX_CONNECTIONS * 4 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        if i % 2 == 1 {
            stream
                .write_all(b"POST /webhooks/shopify HTTP/1.1\r\nHost: o2o\r\n")
                .await
                .expect("write");
        }
        flood.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = open_fds(pid);
    assert!(
        during <= before + MAX_CONNECTIONS + 2,
        "fds went from {before} to {during} with a cap of {MAX_CONNECTIONS}"
    );

    // While the flood holds its sockets, the health check and a delivery are served.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("healthz answered at the cap");
    assert_eq!(health.status().as_u16(), 200);
    let (headers, body) = signed_sample("shopify", "orders-create.http");
    let (status, answer) = post(&format!("{}/webhooks/shopify", server.base), &headers, body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(open_fds(pid) <= before + MAX_CONNECTIONS + 2);
    drop(flood);
    server.stop().await;
}

#[tokio::test]
async fn sigterm_exits_within_the_deadline_with_stalled_clients_attached() {
    let dir = TempDir::new();
    // Long read timeouts: only the shutdown deadline (2 s) can end the stalled request.
    let extra = "header_read_timeout_s = 60\nbody_read_timeout_s = 60\nidle_timeout_s = 60\n\
                 shutdown_deadline_s = 2\n";
    let (server, db) = start(&dir, extra).await;
    let addr = address(&server);

    // One client holds half a head, the other a request whose body stalls (in flight).
    let mut half_head = TcpStream::connect(&addr).await.expect("connect");
    half_head
        .write_all(b"POST /webhooks/shopify HTTP/1.1\r\nHost: o2o\r\n")
        .await
        .expect("write");
    let (head, body) = signed_delivery_head();
    let mut in_flight = TcpStream::connect(&addr).await.expect("connect");
    in_flight.write_all(head.as_bytes()).await.expect("head");
    in_flight.write_all(&body[..10]).await.expect("some body");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let logs = server.stop().await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(4000), "exit took {took:?}");
    assert!(logs.contains("shutdown deadline passed"), "{logs}");
    assert!(logs.contains(r#""message":"stopped""#), "{logs}");
    // The cut-off delivery was never acknowledged, so nothing of it is queued.
    let store = SqliteStore::open(std::path::Path::new(&db)).expect("open db");
    assert_all_queues_empty(&store).await;
    drop((half_head, in_flight));
}

/// Acked means durable: under strace, the SQLite write-ahead log is fsynced after the delivery
/// arrives and before its 200 is written to the socket. strace watches the real binary and the
/// real SQLite library from outside, so the test needs no hook in the code it checks; a hook
/// could only say that we *asked* for a sync, strace shows that the kernel was asked.
#[tokio::test]
async fn a_delivery_is_fsynced_before_its_200_is_written() {
    let dir = TempDir::new();
    let config = config_with(&dir, "");
    let db = dir.path().join("durable.db");
    let trace = dir.path().join("strace.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = std::process::Command::new("strace")
        .args(["-f", "-y", "-s", "48", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=read,recvfrom,write,writev,sendto,sendmsg,fsync,fdatasync",
        ])
        .arg(env!("CARGO_BIN_EXE_o2o"))
        .current_dir(root())
        .args([
            "--config",
            &config,
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--consumer-api",
            "off",
        ])
        .arg("--db")
        .arg(&db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("strace is installed by scripts/test (apt package strace)");
    let client = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "o2o serve under strace did not answer");
    let (headers, body) = signed_sample("shopify", "orders-create.http");
    let (status, answer) = post(&format!("{base}/webhooks/shopify"), &headers, body).await;
    assert_eq!(status, 200, "{answer}");
    // Killing strace detaches the server it traces and leaves it running: stop the server
    // first (strace's child, by /proc), then strace.
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
        .unwrap_or_default();
    for pid in children.split_whitespace() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", pid])
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&trace).expect("strace log");
    let lines: Vec<&str> = log.lines().collect();
    let arrived = lines
        .iter()
        .position(|l| l.contains("<socket:[") && l.contains("POST /webhooks/shopify"))
        .unwrap_or_else(|| panic!("the delivery's arrival is not in the trace:\n{log}"));
    let acked = lines
        .iter()
        .enumerate()
        .skip(arrived)
        .find(|(_, l)| l.contains("<socket:[") && l.contains("HTTP/1.1 200"))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("the 200 is not in the trace:\n{log}"));
    let synced = lines[arrived..acked]
        .iter()
        .filter(|l| {
            (l.contains("fdatasync(") || l.contains("fsync(")) && l.contains("durable.db-wal")
        })
        .count();
    assert!(
        synced >= 1,
        "no fsync of the write-ahead log between the delivery's arrival (line {arrived}) and its \
         200 (line {acked}):\n{}",
        lines[arrived..=acked].join("\n")
    );
}
