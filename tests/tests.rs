//! End-to-end tests: the real `netrunner-server` binary over loopback TCP.
//!
//! The binary comes from `$NETRUNNER_BIN`, else from next to this test binary
//! (see `util::bin`). Run with
//! `NETRUNNER_BIN=target/release/netrunner-server cargo test -p netrunner-tests`.

mod curl;
mod limits;
mod middleware;
mod options;
mod protocol;
mod routes;
#[cfg(unix)]
mod shutdown;
mod static_rules;
mod timeouts;
mod tls;
mod util;
