//! Routing for netrunner: path parameters, middleware and static files,
//! with no sockets.
//!
//! A [`Router`] is built once from a table of routes and [`Middleware`],
//! then shared by every event-loop thread. [`Router::handle`] takes a parsed
//! [`netrunner_wire::Request`] and gives back a [`netrunner_wire::Response`];
//! the server glues that to its event loop in a few lines.
//!
//! - Patterns are literal segments, parameters `{name}` (one segment) and a
//!   final tail `{name...}` (the rest of the path). Literal text beats a
//!   parameter, which beats a tail. Matching walks a tree one segment at a
//!   time: its cost does not grow with the number of routes, and it
//!   allocates nothing. Paths that literal-only patterns match skip the
//!   walk: their answers are worked out from the tree once, at build
//!   time.
//! - [`Params`] hands a handler its parameters, percent-decoded after
//!   matching, so `%2F` never splits a segment.
//! - The router answers by itself what no handler should have to: `404`,
//!   `405` with `Allow`, `OPTIONS`, and `HEAD` through the `GET` route.
//! - [`middleware`] holds the ready-made middleware: an access log in the
//!   Combined Log Format (written by a thread of its own, the only thread
//!   this crate starts), CORS, and a rate limit per client address.
//! - [`static_files`] serves a directory, refusing anything that would
//!   leave it.
//! - [`json_response`] and [`validate_json`] answer and check JSON without
//!   a JSON library.
//! - Mistakes in the table ([`RouteError`]) are found by
//!   [`RouterBuilder::build`], not by the first request.
//!
//! ```
//! use netrunner_router::{middleware::server_header, Params, Router};
//! use netrunner_wire::{HeadParser, Limits, Request, RequestHead, Response, Status};
//!
//! let router = Router::new()
//!     .get("/plaintext", |_: &Request<'_>, _: &Params<'_>| {
//!         Response::text(Status::OK, "Hello, World!")
//!     })
//!     .get("/hello/{name}", |_: &Request<'_>, params: &Params<'_>| {
//!         let name = params.get("name").unwrap_or_default();
//!         Response::text_owned(Status::OK, format!("Hello, {name}!"))
//!     })
//!     .wrap(server_header("netrunner"))
//!     .build()?;
//!
//! let bytes = b"GET /hello/w%C3%B6rld?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
//! let mut head = RequestHead::default();
//! HeadParser::new().parse(bytes, &Limits::default(), &mut head)?;
//! let res = router.handle(&Request::new(&head, bytes, b""));
//!
//! assert_eq!(res.status, Status::OK);
//! assert_eq!(res.body.as_bytes(), "Hello, wörld!".as_bytes());
//! assert_eq!(res.header("server"), Some("netrunner"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod exact;
mod json;
mod methods;
pub mod middleware;
mod params;
mod pattern;
mod percent;
mod router;
mod static_files;
#[cfg(test)]
mod testing;
mod tree;

pub use error::RouteError;
pub use json::{json_response, validate_json, JsonError, MAX_JSON_DEPTH};
pub use middleware::{Middleware, Next};
pub use params::{Params, MAX_PARAMS};
pub use router::{origin_path, Handler, Router, RouterBuilder};
pub use static_files::static_files;
