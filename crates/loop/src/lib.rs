//! mio event loops that serve HTTP/1.1 over TCP.
//!
//! A [`Server`] binds its listener(s) and starts one event-loop thread per
//! [`Config::threads`]. Each loop owns its connections: it reads into
//! buffers lent by netrunner-pool, frames requests with netrunner-wire, calls
//! the application's [`Handler`] on the loop thread, and writes the
//! responses of pipelined requests together. A connection is one state
//! machine (`conn.rs`); the loop (`event_loop.rs`) makes its system calls.
//!
//! ```no_run
//! use netrunner_loop::{Config, Server};
//! use netrunner_wire::{Request, Response, Status};
//!
//! let config = Config { addr: "127.0.0.1:0".parse()?, threads: 1, ..Config::default() };
//! let server = Server::bind(config)?;
//! println!("listening on http://{}", server.local_addr());
//! let running = server.start(|_req: &Request<'_>| Response::text(Status::OK, "hello"))?;
//! running.shutdown_trigger().trigger();
//! running.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What a loop guarantees:
//!
//! - responses go out in request order, and a pipelined burst is answered
//!   with as few writes as the socket allows;
//! - a request that cannot be framed is answered once, with
//!   `Connection: close`, and the connection lingers so the client reads it;
//! - a handler that panics costs its own connection only (`500`, close);
//! - an idle keep-alive connection holds no buffer.
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod conn;
mod deadline;
mod event_loop;
mod handler;
mod listener;
mod server;
mod socket;
mod tls;

pub use conn::Timeouts;
pub use handler::{in_handler, Handler};
pub use server::{
    AcceptMode, Config, Error, Server, ServerHandle, Shutdown, TlsListen, DEFAULT_MAX_CONNECTIONS,
};
pub use tls::{TlsConfig, TlsError};
