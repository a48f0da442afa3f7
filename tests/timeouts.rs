//! Per-connection timeouts (CONTRACT.md, `--header-timeout`, `--body-timeout`,
//! `--idle-timeout`, `--write-timeout`), timed from outside with wide margins.
//!
//! Every deadline here is 300 ms and is checked to fire between 250 ms and
//! 3 s: the tests run on busy machines, and a late timer is not a bug a test
//! of this kind can see. Waits are socket read timeouts, never sleep loops.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{assert_between, is_timeout, Server, TempDir, TEXT};

/// The deadline every server in this module gets.
const TIMEOUT: &str = "300ms";
/// Earliest a 300 ms deadline may fire.
const EARLIEST: Duration = Duration::from_millis(250);
/// Latest a 300 ms deadline may fire, on a loaded machine.
const LATEST: Duration = Duration::from_secs(3);
/// Gap between the pieces of a slow client; well under [`TIMEOUT`].
const GAP: Duration = Duration::from_millis(100);

/// A request head sent one byte every ~50 ms is answered `408` at the header
/// timeout counted from its first byte (trickling does not restart it), and
/// the connection is then closed.
#[test]
fn slowloris_head_gets_408_at_the_header_timeout() {
    let s = Server::start(&["--header-timeout", TIMEOUT]);
    let mut conn = s.connect();
    conn.stream().set_nodelay(true).expect("nodelay");
    // A head that never ends: one header value grows forever.
    let mut head = b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: "
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'));
    let first_byte = Instant::now();
    loop {
        assert!(
            first_byte.elapsed() < LATEST + Duration::from_secs(2),
            "no response while trickling a head"
        );
        conn.send(&[head.next().expect("endless")]);
        // The read timeout paces the client: one byte per 50 ms.
        match conn.read_within(Duration::from_millis(50)) {
            Ok(0) => panic!("closed without a 408"),
            Ok(_) => break,
            Err(e) if is_timeout(&e) => {}
            Err(e) => panic!("reading while trickling: {e}"),
        }
    }
    let answered = first_byte.elapsed();
    conn.read_response().assert_error_close(408);
    assert_between(answered, EARLIEST, LATEST, "408 after the first head byte");
    conn.assert_closed_cleanly();
}

/// A connection that never sends a byte is closed quietly at the header timeout.
#[test]
fn silent_connection_is_closed_quietly_at_the_header_timeout() {
    let s = Server::start(&["--header-timeout", TIMEOUT]);
    let connected = Instant::now();
    let mut conn = s.connect();
    let rest = conn
        .read_to_end()
        .expect("a silent connection is closed with EOF");
    assert!(rest.is_empty(), "bytes sent to a silent client: {rest:?}");
    assert_between(connected.elapsed(), EARLIEST, LATEST, "close");
}

/// A body that stops arriving is answered `408` at the body timeout.
#[test]
fn stalled_body_gets_408_at_the_body_timeout() {
    let s = Server::start(&["--body-timeout", TIMEOUT]);
    let mut conn = s.connect();
    conn.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc");
    let stalled = Instant::now();
    let res = conn.read_response();
    let answered = stalled.elapsed();
    res.assert_error_close(408);
    assert_between(answered, EARLIEST, LATEST, "408 after the body stalled");
    conn.assert_closed_cleanly();
}

/// The body timeout bounds each wait, not the whole body: pieces 100 ms apart
/// for a second in all make a complete request.
#[test]
fn slow_body_with_short_gaps_is_served() {
    let s = Server::start(&["--body-timeout", TIMEOUT]);
    let mut conn = s.connect();
    conn.stream().set_nodelay(true).expect("nodelay");
    conn.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-test\r\nContent-Length: 10\r\n\r\n");
    let started = Instant::now();
    for piece in b"0123456789".chunks(1) {
        conn.expect_silence(GAP);
        conn.send(piece);
    }
    assert!(
        started.elapsed() > Duration::from_millis(900),
        "total > timeout"
    );
    conn.read_response()
        .assert(200, "application/x-test", "0123456789");
}

/// A keep-alive connection with no request in progress is closed quietly at
/// the idle timeout.
#[test]
fn idle_keep_alive_is_closed_quietly_at_the_idle_timeout() {
    let s = Server::start(&["--idle-timeout", TIMEOUT]);
    let mut conn = s.connect();
    conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    let res = conn.read_response();
    let answered = Instant::now();
    res.assert(200, TEXT, "Hello, Netrunner!");
    assert!(!res.has_token("connection", "close"), "{res:#?}");
    let rest = conn
        .read_to_end()
        .expect("an idle connection is closed with EOF");
    assert!(rest.is_empty(), "bytes sent to an idle client: {rest:?}");
    assert_between(answered.elapsed(), EARLIEST, LATEST, "idle close");
}

/// Requests every 100 ms, for longer than the idle timeout in all, keep the
/// connection open.
#[test]
fn busy_keep_alive_outlives_the_idle_timeout() {
    let s = Server::start(&["--idle-timeout", TIMEOUT]);
    let mut conn = s.connect();
    let started = Instant::now();
    for i in 0..10 {
        conn.hello(i);
        conn.expect_silence(GAP);
    }
    assert!(
        started.elapsed() > Duration::from_millis(900),
        "total > timeout"
    );
}

/// A client that stops reading its responses is disconnected at the write
/// timeout, long before it could have been sent what it asked for, and the
/// server serves others meanwhile.
#[test]
fn client_that_stops_reading_is_closed_at_the_write_timeout() {
    const FILE_BYTES: usize = 8 << 20;
    const REQUESTS: usize = 8;
    let root = TempDir::new();
    root.write("big.bin", &vec![b'x'; FILE_BYTES]);
    let root_arg = root.path().to_str().expect("UTF-8 temp path");
    let s = Server::start(&["--write-timeout", TIMEOUT, "--root", root_arg]);

    let mut stuck = s.connect();
    let get = "GET /static/big.bin HTTP/1.1\r\nHost: test\r\n\r\n";
    stuck.send(get.repeat(REQUESTS).as_bytes());
    let sent = Instant::now();

    // Another client is served while the first one is stuck.
    let res = s.get("/healthz");
    assert_eq!((res.status, res.text()), (200, "ok"), "{res:#?}");

    // One fixed wait, well past the write timeout, without reading.
    thread::sleep(Duration::from_millis(1500).saturating_sub(sent.elapsed()));

    // The server has closed the connection: reading drains what the kernel
    // buffered and then ends, in EOF or a reset, not in a read timeout.
    let received = match stuck.read_to_end() {
        Ok(rest) => rest.len(),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => stuck.buffered(),
        Err(e) => panic!(
            "the server kept a non-reading client ({} bytes read): {e}",
            stuck.buffered()
        ),
    };
    assert!(
        received < REQUESTS * FILE_BYTES / 2,
        "{received} bytes reached a client that stopped reading"
    );
    let res = s.get("/healthz");
    assert_eq!((res.status, res.text()), (200, "ok"), "{res:#?}");
}
