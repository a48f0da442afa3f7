//! Graceful shutdown on SIGTERM (CONTRACT.md, "Starting and stopping").

use crate::util::Server;

const TEXT: &str = "text/plain; charset=utf-8";

/// Idle keep-alive connections are closed and the process exits 0 once drained.
#[cfg(unix)]
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
