//! Middleware: functions that wrap the rest of the router.
//!
//! A middleware gets the request and [`Next`], the rest of the chain (the
//! middleware added after it, then the routes). It may answer at once
//! without calling `next` (a rate limit), change the response `next` gives
//! back (a header), or look at both (an access log). The first
//! [`crate::RouterBuilder::wrap`] is the outermost.
//!
//! The ready-made ones:
//!
//! - [`server_header`]: a `Server` field on every response.
//! - [`AccessLog`]: one Combined Log Format line per request, written by a
//!   thread of its own.
//! - [`Cors`]: `Access-Control-*` fields for allowed origins, and
//!   preflights.
//! - [`RateLimit`]: a token bucket per client address; `429` with
//!   `Retry-After` when it is empty.
//!
//! Each is also usable without a router (`record`, `apply`, `check`), and
//! each takes its time as a parameter there, so tests step time instead of
//! sleeping. In a server, put the access log first, so that it logs the
//! final answer (a `429` included), then the rate limit, then CORS:
//!
//! ```
//! use netrunner_router::middleware::{AccessLog, Cors, RateLimit};
//! use netrunner_router::Router;
//! use netrunner_wire::{Request, Response, Status};
//!
//! let router = Router::new()
//!     .get("/", |_: &Request<'_>, _: &_| Response::text(Status::OK, "home"))
//!     .wrap(AccessLog::new(std::io::sink())?.middleware())
//!     .wrap(RateLimit::per_second(100).middleware())
//!     .wrap(Cors::new(["https://app.example"]).middleware())
//!     .build()?;
//! # let _ = router;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod access_log;
mod cors;
mod rate_limit;

pub use access_log::{combined_log_line, AccessLog, ACCESS_LOG_QUEUE_LINES};
pub use cors::{Cors, DEFAULT_CORS_HEADERS, DEFAULT_CORS_MAX_AGE, DEFAULT_CORS_METHODS};
pub use rate_limit::{RateLimit, DEFAULT_RATE_LIMIT_CLIENTS};

use netrunner_wire::{Request, Response};

/// The rest of the chain, as a middleware sees it: call it to get the
/// response of the inner middleware and the routes.
pub type Next<'a> = &'a dyn Fn(&Request<'_>) -> Response;

/// A middleware: any `Fn(&Request<'_>, Next<'_>) -> Response` that can be
/// shared between threads.
///
/// Implemented for every such closure and function; there is nothing to
/// implement by hand.
///
/// ```
/// use netrunner_router::{Next, Router};
/// use netrunner_wire::{Request, Response, Status};
///
/// let router = Router::new()
///     .get("/", |_: &Request<'_>, _: &_| Response::text(Status::OK, "home"))
///     .wrap(|req: &Request<'_>, next: Next<'_>| {
///         if req.header("x-blocked").is_some() {
///             return Response::error(Status::FORBIDDEN);
///         }
///         next(req)
///     })
///     .build()?;
/// # let _ = router;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Middleware: Fn(&Request<'_>, Next<'_>) -> Response + Send + Sync + 'static {}

impl<F> Middleware for F where F: Fn(&Request<'_>, Next<'_>) -> Response + Send + Sync + 'static {}

/// Add a `Server: value` header to every response that has none (a
/// handler's own `Server` header wins, and so does an inner
/// `server_header`).
///
/// Adding a header grows the response's header list, which allocates
/// unless the handler left capacity in it.
///
/// ```
/// use netrunner_router::{middleware::server_header, Router};
/// use netrunner_wire::{Request, Response, Status};
///
/// let router = Router::new()
///     .get("/", |_: &Request<'_>, _: &_| Response::text(Status::OK, "home"))
///     .wrap(server_header("netrunner"))
///     .build()?;
/// # let _ = router;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_header(value: &'static str) -> impl Middleware {
    move |req: &Request<'_>, next: Next<'_>| {
        let res = next(req);
        if res.header("server").is_some() {
            return res;
        }
        res.with_header("Server", value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use netrunner_wire::{Request, Response, Status};

    use super::*;
    use crate::testing::call;
    use crate::Router;

    #[test]
    fn server_header_is_added() {
        let router = Router::new()
            .get("/", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "home")
            })
            .wrap(server_header("netrunner"))
            .build()
            .unwrap();
        assert_eq!(
            call(&router, "GET", "/").header("server"),
            Some("netrunner")
        );
        // Errors made by the router itself pass through middleware too.
        assert_eq!(
            call(&router, "GET", "/nope").header("server"),
            Some("netrunner")
        );
        assert_eq!(
            call(&router, "POST", "/").header("server"),
            Some("netrunner")
        );
    }

    #[test]
    fn handler_server_header_wins() {
        let router = Router::new()
            .get("/", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "home").with_header("Server", "custom")
            })
            .wrap(server_header("netrunner"))
            .build()
            .unwrap();
        let res = call(&router, "GET", "/");
        assert_eq!(res.header("server"), Some("custom"));
        assert_eq!(res.headers.len(), 1);
    }

    #[test]
    fn inner_server_header_wins() {
        // The first `wrap` is the outermost: "inner" sees the response
        // first and sets the header, so "outer" leaves it alone.
        let router = Router::new()
            .get("/", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "home")
            })
            .wrap(server_header("outer"))
            .wrap(server_header("inner"))
            .build()
            .unwrap();
        let res = call(&router, "GET", "/");
        assert_eq!(res.header("server"), Some("inner"));
        assert_eq!(res.headers.len(), 1);
    }

    /// A middleware that logs `name>` on the way in and `<name` on the way
    /// out.
    fn trace(name: &'static str, log: &Arc<Mutex<Vec<String>>>) -> impl Middleware {
        let log = Arc::clone(log);
        move |req: &Request<'_>, next: Next<'_>| {
            log.lock().unwrap().push(format!("{name}>"));
            let res = next(req);
            log.lock().unwrap().push(format!("<{name}"));
            res.with_header("X-Trace", name)
        }
    }

    #[test]
    fn first_wrap_is_outermost() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler_log = Arc::clone(&log);
        let router = Router::new()
            .get("/", move |_: &Request<'_>, _: &_| {
                handler_log.lock().unwrap().push("handler".to_owned());
                Response::text(Status::OK, "home")
            })
            .wrap(trace("a", &log))
            .wrap(trace("b", &log))
            .wrap(trace("c", &log))
            .build()
            .unwrap();
        let res = call(&router, "GET", "/");
        assert_eq!(
            *log.lock().unwrap(),
            ["a>", "b>", "c>", "handler", "<c", "<b", "<a"]
        );
        let traces: Vec<&str> = res.headers.iter().map(|(_, v)| v.as_ref()).collect();
        assert_eq!(traces, ["c", "b", "a"]);
    }

    #[test]
    fn middleware_may_answer_without_next() {
        let router = Router::new()
            .get("/", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "home")
            })
            .wrap(server_header("netrunner"))
            .wrap(|_: &Request<'_>, _: Next<'_>| Response::error(Status::TOO_MANY_REQUESTS))
            .build()
            .unwrap();
        let res = call(&router, "GET", "/");
        assert_eq!(res.status, Status::TOO_MANY_REQUESTS);
        assert_eq!(res.header("server"), Some("netrunner"));
    }
}
