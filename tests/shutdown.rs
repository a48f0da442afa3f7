//! Graceful shutdown on SIGTERM (CONTRACT.md, "Starting and stopping").
//! Unix only: the tests send signals with `kill`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::util::{assert_between, is_timeout, Conn, Server, TEXT};

/// Idle keep-alive connections are closed and the process exits 0 once drained.
#[test]
fn sigterm_closes_idle_connections_and_exits_0() {
    let mut s = Server::start(&[]);
    let mut idle = s.connect();
    idle.send(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    idle.read_response()
        .assert(200, TEXT, "Welcome to Netrunner!");

    assert_eq!(s.terminate(), Some(0), "exit status after SIGTERM");
    idle.assert_closed();
}

/// An upload in progress at SIGTERM runs to completion and its response
/// carries `Connection: close`, while new connections are refused at once.
#[test]
fn sigterm_finishes_an_upload_in_progress_and_refuses_new_connections() {
    let mut s = Server::start(&[]);
    let upload = s.connect();
    let addr = s.addr();
    drain_an_upload(&mut s, upload, "test", || {
        expect_refused_within(addr, Duration::from_secs(3));
    });
}

/// Half an upload, SIGTERM, `refused` (the listeners are closed), the rest
/// of the body: the whole body comes back with `Connection: close`, the
/// connection closes cleanly (over TLS, with close_notify) and the process
/// exits 0. Shared by the plain and the TLS test.
pub(crate) fn drain_an_upload(
    s: &mut Server,
    mut upload: Conn,
    host: &str,
    refused: impl FnOnce(),
) {
    const BODY: usize = 100_000;
    let body: Vec<u8> = (0..BODY).map(|i| b'a' + (i % 26) as u8).collect();
    // The interim 100 shows that the server has the head: the request is in
    // progress before the signal, not a fresh connection.
    upload.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-test\r\n\
             Expect: 100-continue\r\nContent-Length: {BODY}\r\n\r\n"
        )
        .as_bytes(),
    );
    let interim = upload.read_response();
    assert_eq!(interim.status, 100, "{interim:#?}");
    upload.send(&body[..BODY / 2]);

    s.signal("TERM");
    refused();

    upload.send(&body[BODY / 2..]);
    let res = upload.read_response();
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(res.header("content-type"), Some("application/x-test"));
    assert!(res.body == body, "echoed body differs: {res:#?}");
    assert!(
        res.has_token("connection", "close"),
        "Connection: close while draining: {res:#?}"
    );
    upload.assert_closed_cleanly();
    assert_eq!(s.wait_exit(), Some(0), "exit status after the drain");
}

/// A request stalled in its head outlasts `--shutdown-timeout`: the process
/// exits 1 at about that timeout and the connection is closed.
#[test]
fn sigterm_with_a_stalled_request_exits_1_at_the_shutdown_timeout() {
    let mut s = Server::start(&["--shutdown-timeout", "500ms", "--header-timeout", "30s"]);
    let mut stalled = s.connect();
    // One whole request first: the connection is accepted and served before
    // the partial head arrives.
    stalled.send(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    stalled
        .read_response()
        .assert(200, TEXT, "Welcome to Netrunner!");
    stalled.send(b"GET /hello HTTP/1.1\r\nHost: te");

    let signalled = Instant::now();
    s.signal("TERM");
    let code = s.wait_exit();
    let exited = signalled.elapsed();
    assert_eq!(code, Some(1), "exit status when the drain times out");
    assert_between(
        exited,
        Duration::from_millis(400),
        Duration::from_secs(5),
        "exit after SIGTERM",
    );
    stalled.assert_closed();
}

/// 100 idle keep-alive connections are all closed (EOF) and the process
/// exits 0 promptly.
#[test]
fn sigterm_closes_many_idle_connections_promptly() {
    let mut s = Server::start(&[]);
    let mut idle: Vec<Conn> = (0..100).map(|i| s.served(i)).collect();

    let signalled = Instant::now();
    s.signal("TERM");
    let code = s.wait_exit();
    let exited = signalled.elapsed();
    assert_eq!(code, Some(0), "exit status after SIGTERM");
    assert_between(exited, Duration::ZERO, Duration::from_secs(3), "exit");
    for conn in &mut idle {
        conn.assert_closed_cleanly();
    }
}

/// Connects to `addr` until a connect is refused, for at most `limit`.
///
/// A connect reset in its handshake raced the listener's close; one that
/// still succeeds reached a listener that is about to close:
/// the probe then waits (a read with the time left) for the server to close
/// it as idle, or for the kernel to reset it when its listener closes.
///
/// A probe whose TCP handshake raced the close can also be left connected
/// on this side only: Linux may drop the final ACK of a handshake with the
/// listener, silently, and the probe then hears nothing until it sends.
/// So a probe silent for a second sends one byte, which such a connection
/// answers with a reset.
#[track_caller]
pub(crate) fn expect_refused_within(addr: SocketAddr, limit: Duration) {
    expect_listener_closed_within(addr, limit, false);
}

/// [`expect_refused_within`] for a TLS listener: a probe that reached it
/// before it closed may also get a TLS alert (the close_notify of a
/// connection that never shook hands) before its EOF.
#[track_caller]
pub(crate) fn expect_tls_refused_within(addr: SocketAddr, limit: Duration) {
    expect_listener_closed_within(addr, limit, true);
}

/// How a probe connection ended.
enum Probe {
    /// EOF or a reset, after these bytes.
    Closed(Vec<u8>),
    /// Still open at the timeout, after these bytes.
    Open(Vec<u8>),
}

/// Reads `probe` until it is closed or `wait` passes.
fn read_probe(probe: &mut TcpStream, wait: Duration, mut got: Vec<u8>) -> Probe {
    let deadline = Instant::now() + wait;
    let mut chunk = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Probe::Open(got);
        }
        probe.set_read_timeout(Some(left)).expect("read timeout");
        match probe.read(&mut chunk) {
            Ok(0) => return Probe::Closed(got),
            Ok(n) if got.len() < 4096 => got.extend_from_slice(&chunk[..n]),
            Ok(_) => panic!("a probe connection got bytes during shutdown: {got:02x?}"),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Probe::Closed(got),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Probe::Open(got),
            Err(e) => panic!("reading a probe connection: {e}"),
        }
    }
}

#[track_caller]
fn expect_listener_closed_within(addr: SocketAddr, limit: Duration, tls: bool) {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{addr} still accepts {limit:?} after SIGTERM"
        );
        match TcpStream::connect_timeout(&addr, left) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return,
            // The handshake raced the listener's close, which reset it.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connect {addr} after SIGTERM: {e}"),
            Ok(mut probe) => {
                let got = match read_probe(&mut probe, left.min(Duration::from_secs(1)), Vec::new())
                {
                    Probe::Closed(got) => got,
                    Probe::Open(got) => {
                        // The server closes every connection it knows at
                        // once; one it does not know answers a byte with a
                        // reset.
                        let _ = probe.write_all(&[0]);
                        let left = deadline.saturating_duration_since(Instant::now());
                        match read_probe(&mut probe, left, got) {
                            Probe::Closed(got) => got,
                            Probe::Open(got) => panic!(
                                "probe connection {:?} -> {addr} not closed {limit:?} \
                                 after SIGTERM; got {got:02x?}",
                                probe.local_addr()
                            ),
                        }
                    }
                };
                // 0x15: a TLS alert record.
                let alert = tls && got.first() == Some(&0x15);
                assert!(
                    got.is_empty() || alert,
                    "a probe connection got bytes during shutdown: {got:02x?}"
                );
            }
        }
    }
}
