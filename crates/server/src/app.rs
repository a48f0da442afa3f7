//! The default application of CONTRACT.md, as a router, with the
//! middleware the options ask for.

use std::net::SocketAddr;
use std::path::PathBuf;

use netrunner_router::middleware::{AccessLog, Cors, RateLimit};
use netrunner_router::{
    json_response, origin_path, static_files, validate_json, Next, Params, RouteError, Router,
    RouterBuilder,
};
use netrunner_wire::{Body, Request, Response, Status};

use crate::options::Options;

/// The default application with the middleware `opts` asks for, the
/// access log on standard output. With `https` (the bound TLS address, when
/// `--redirect-https` is on), plain-HTTP requests are redirected there.
pub fn default_app(
    opts: &Options,
    https: Option<SocketAddr>,
) -> Result<Router, Box<dyn std::error::Error>> {
    let access_log = if opts.access_log {
        Some(AccessLog::stdout()?)
    } else {
        None
    };
    Ok(with_middleware(
        routes(opts.root.clone()),
        opts,
        access_log,
        https,
    )?)
}

/// Wrap `routes` in the middleware `opts` asks for, and nothing else (with
/// no option, a request meets no middleware at all). The first wrap is the
/// outermost: the access log, so it logs the final answer, a `429` or a
/// preflight's included; then the rate limit; then CORS; innermost, with
/// `https`, the redirect of plain-HTTP requests, so the others see its
/// `308` like any other answer.
fn with_middleware(
    mut routes: RouterBuilder,
    opts: &Options,
    access_log: Option<AccessLog>,
    https: Option<SocketAddr>,
) -> Result<Router, RouteError> {
    if let Some(log) = access_log {
        routes = routes.wrap(log.middleware());
    }
    if let Some(rate) = opts.rate_limit {
        routes = routes.wrap(RateLimit::per_second(rate).middleware());
    }
    if !opts.cors_origins.is_empty() {
        routes = routes.wrap(Cors::new(opts.cors_origins.iter().cloned()).middleware());
    }
    if let Some(tls_addr) = https {
        routes = routes.wrap(move |req: &Request<'_>, next: Next<'_>| {
            if req.is_tls() {
                next(req)
            } else {
                redirect_to_https(req, tls_addr)
            }
        });
    }
    routes.build()
}

/// The routes every netrunner server answers.
fn routes(root: PathBuf) -> RouterBuilder {
    Router::new()
        .get("/", |_: &Request<'_>, _: &Params<'_>| {
            Response::text(Status::OK, "Welcome to Netrunner!")
        })
        .get("/hello", |_: &Request<'_>, _: &Params<'_>| {
            Response::text(Status::OK, "Hello, Netrunner!")
        })
        .get("/hello/{name}", |_: &Request<'_>, params: &Params<'_>| {
            let name = params.get("name").unwrap_or_default();
            Response::text_owned(Status::OK, format!("Hello, {name}!"))
        })
        .post("/echo", echo)
        .get("/plaintext", |_: &Request<'_>, _: &Params<'_>| {
            Response::with_body(Status::OK, "text/plain", Body::Static(b"Hello, World!"))
        })
        .get("/json", |_: &Request<'_>, _: &Params<'_>| {
            json_response(Status::OK, r#"{"message":"Hello, World!"}"#)
        })
        .post("/json/echo", json_echo)
        .get("/healthz", |_: &Request<'_>, _: &Params<'_>| {
            Response::text(Status::OK, "ok")
        })
        .get("/static/{path...}", static_files(root))
}

/// `--redirect-https`: a plain-HTTP request gets `308` to the same target
/// on the HTTPS listener. Every path is redirected (the tutorial spared
/// `/static/`; a site that offers HTTPS should not serve anything in the
/// clear). The host is the request's `Host` without its port, else the
/// TLS listener's address.
pub fn redirect_to_https(req: &Request<'_>, tls_addr: SocketAddr) -> Response {
    let host = req
        .header("host")
        .and_then(|h| std::str::from_utf8(h).ok())
        .map(host_without_port)
        .filter(|h| is_host(h));
    let authority = match host {
        Some(host) => format!("{host}:{}", tls_addr.port()),
        None => tls_addr.to_string(),
    };
    // The path of an absolute-form target too, and the query as sent.
    let path = origin_path(req.path()).unwrap_or("/");
    let location = match req.query() {
        Some(query) => format!("https://{authority}{path}?{query}"),
        None => format!("https://{authority}{path}"),
    };
    Response::error(Status::PERMANENT_REDIRECT).with_header("Location", location)
}

/// A host a redirect may name: a registered name or an IPv4 address
/// (letters, digits, `-`, `.`, `_`, `~`), or a bracketed IPv6 literal. No
/// `/`, `@`, `\` or anything else that would change what the URL means.
fn is_host(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ip6) => {
            !ip6.is_empty()
                && ip6
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        }
    }
}

/// `example.com:8080` -> `example.com`; `[::1]:8080` -> `[::1]`.
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// `POST /echo`: the body back, with the request's `Content-Type`.
fn echo(req: &Request<'_>, _: &Params<'_>) -> Response {
    let content_type = req
        .header("content-type")
        .and_then(|v| std::str::from_utf8(v).ok())
        .filter(|v| !v.is_empty())
        .map_or_else(|| "application/octet-stream".to_owned(), str::to_owned);
    Response::with_body(Status::OK, content_type, Body::Bytes(req.body().to_vec()))
}

/// `POST /json/echo` (beyond CONTRACT.md, which leaves `/json` to `GET`): a body that is one JSON text back, as `application/json`;
/// anything else is `400` with a line saying where and why.
fn json_echo(req: &Request<'_>, _: &Params<'_>) -> Response {
    match validate_json(req.body()) {
        // Valid JSON is UTF-8, so nothing is lost here.
        Ok(()) => json_response(Status::OK, String::from_utf8_lossy(req.body()).into_owned()),
        Err(err) => Response::text_owned(Status::BAD_REQUEST, format!("{err}\n")),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    use netrunner_wire::{HeadParser, Limits, RequestHead};

    use super::*;

    /// The answer of `router` to `method target` with the header lines
    /// `fields` (and `Host: test` unless they name a host), `body`, from
    /// 192.0.2.1.
    fn send(router: &Router, method: &str, target: &str, fields: &[&str], body: &[u8]) -> Response {
        let mut head = format!("{method} {target} HTTP/1.1\r\n");
        if !fields
            .iter()
            .any(|f| f.to_ascii_lowercase().starts_with("host:"))
        {
            head.push_str("Host: test\r\n");
        }
        for field in fields {
            head.push_str(field);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut parsed = RequestHead::default();
        HeadParser::new()
            .parse(head.as_bytes(), &Limits::default(), &mut parsed)
            .unwrap()
            .expect("a whole head");
        let req = Request::new(&parsed, head.as_bytes(), body)
            .with_peer("192.0.2.1:40000".parse().unwrap());
        router.handle(&req)
    }

    fn app(opts: &Options, access_log: Option<AccessLog>) -> Router {
        with_middleware(routes("/nonexistent".into()), opts, access_log, None).unwrap()
    }

    #[test]
    fn get_json_is_static() {
        let res = send(&app(&Options::default(), None), "GET", "/json", &[], b"");
        assert_eq!(res.status, Status::OK);
        assert_eq!(res.body, Body::Static(br#"{"message":"Hello, World!"}"#));
        assert!(matches!(
            res.content_type,
            Some(Cow::Borrowed("application/json"))
        ));
        assert!(res.headers.is_empty());
    }

    #[test]
    fn post_json_echoes_valid_json() {
        let router = app(&Options::default(), None);
        for body in [
            &br#"{"a": [1, 2, {"b": null}]}"#[..],
            b" 42 ",
            "\"caf\u{e9}\"".as_bytes(),
        ] {
            let res = send(&router, "POST", "/json/echo", &[], body);
            assert_eq!(res.status, Status::OK);
            assert_eq!(res.header("content-type"), Some("application/json"));
            assert_eq!(res.body.as_bytes(), body);
        }
    }

    #[test]
    fn post_json_refuses_invalid_json() {
        let router = app(&Options::default(), None);
        for (body, message) in [
            (
                &br#"{"a":1 "b":2}"#[..],
                "invalid JSON at byte 7: expected ',' or '}'\n",
            ),
            (b"", "invalid JSON at byte 0: expected a value\n"),
            (b"[1,]", "invalid JSON at byte 3: expected a value\n"),
            (b"\"\xff\"", "invalid JSON at byte 1: not UTF-8\n"),
        ] {
            let res = send(&router, "POST", "/json/echo", &[], body);
            assert_eq!(res.status, Status::BAD_REQUEST);
            assert_eq!(
                res.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
            assert_eq!(String::from_utf8_lossy(res.body.as_bytes()), message);
        }
        let res = send(&router, "PUT", "/json/echo", &[], b"{}");
        assert_eq!(res.status, Status::METHOD_NOT_ALLOWED);
        assert_eq!(res.header("allow"), Some("POST, OPTIONS"));
        // `/json` itself stays as CONTRACT.md has it: GET only.
        let res = send(&router, "POST", "/json", &[], b"{}");
        assert_eq!(res.status, Status::METHOD_NOT_ALLOWED);
        assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS"));
    }

    #[test]
    fn no_option_means_no_middleware() {
        let router = app(&Options::default(), None);
        assert!(
            format!("{router:?}").contains("middleware: 0"),
            "{router:?}"
        );
        let res = send(
            &router,
            "GET",
            "/plaintext",
            &["Origin: https://a.example"],
            b"",
        );
        assert!(res.headers.is_empty());
    }

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_option_in_order() {
        let opts = Options {
            access_log: true,
            rate_limit: Some(2),
            cors_origins: vec!["https://app.example".into()],
            ..Options::default()
        };
        let sink = Shared::default();
        let router = app(&opts, Some(AccessLog::new(sink.clone()).unwrap()));
        assert!(
            format!("{router:?}").contains("middleware: 3"),
            "{router:?}"
        );
        let origin = "Origin: https://app.example";
        // A preflight: the router's Allow and the CORS fields.
        let res = send(
            &router,
            "OPTIONS",
            "/json/echo",
            &[origin, "Access-Control-Request-Method: POST"],
            b"",
        );
        assert_eq!(res.status, Status::NO_CONTENT);
        assert_eq!(res.header("allow"), Some("POST, OPTIONS"));
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(res.header("access-control-max-age"), Some("600"));
        let res = send(&router, "POST", "/json/echo", &[origin], b"[1]");
        assert_eq!(res.status, Status::OK);
        assert_eq!(res.header("vary"), Some("Origin"));
        // The burst of 2 is spent: the rate limit answers before CORS.
        let res = send(&router, "GET", "/json", &[origin], b"");
        assert_eq!(res.status, Status::TOO_MANY_REQUESTS);
        assert_eq!(res.header("retry-after"), Some("1"));
        // The access log, outermost, saw all three final answers.
        drop(router);
        let log = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let tails: Vec<&str> = log
            .lines()
            .map(|line| {
                assert!(line.starts_with("192.0.2.1 - - ["), "{line}");
                line.split_once("] ").unwrap().1
            })
            .collect();
        assert_eq!(
            tails,
            [
                "\"OPTIONS /json/echo HTTP/1.1\" 204 - \"-\" \"-\"",
                "\"POST /json/echo HTTP/1.1\" 200 3 \"-\" \"-\"",
                "\"GET /json HTTP/1.1\" 429 22 \"-\" \"-\"",
            ]
        );
    }

    /// The redirect is the innermost layer: the access log logs its 308
    /// and CORS answers on it, as on any other answer.
    #[test]
    fn the_middleware_sees_the_https_redirect() {
        let opts = Options {
            root: "/nonexistent".into(),
            cors_origins: vec!["https://app.example".into()],
            ..Options::default()
        };
        let sink = Shared::default();
        let router = with_middleware(
            routes(opts.root.clone()),
            &opts,
            Some(AccessLog::new(sink.clone()).unwrap()),
            Some("127.0.0.1:8443".parse().unwrap()),
        )
        .unwrap();
        let res = send(
            &router,
            "GET",
            "/hello",
            &["Origin: https://app.example"],
            b"",
        );
        assert_eq!(res.status, Status::PERMANENT_REDIRECT);
        assert_eq!(res.header("location"), Some("https://test:8443/hello"));
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        drop(router);
        let log = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("\"GET /hello HTTP/1.1\" 308 "), "{log}");
    }

    #[test]
    fn redirects_keep_the_target_and_refuse_odd_hosts() {
        let tls: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let router = default_app(
            &Options {
                root: "/nonexistent".into(),
                ..Options::default()
            },
            Some(tls),
        )
        .unwrap();
        for (host, target, location) in [
            (
                "example.com:8080",
                "/a/b?x=1",
                "https://example.com:8443/a/b?x=1",
            ),
            (
                "127.0.0.1:8080",
                "/static/x",
                "https://127.0.0.1:8443/static/x",
            ),
            ("[::1]:8080", "/", "https://[::1]:8443/"),
            ("evil.example/@x", "/p", "https://127.0.0.1:8443/p"),
            ("a@evil.example", "/p", "https://127.0.0.1:8443/p"),
            ("[::1", "/p", "https://127.0.0.1:8443/p"),
            ("x:1:2", "/p", "https://127.0.0.1:8443/p"),
            ("h", "http://other/abs?q", "https://h:8443/abs?q"),
        ] {
            let res = send(&router, "GET", target, &[&format!("Host: {host}")], b"");
            assert_eq!(res.status, Status::PERMANENT_REDIRECT, "{host} {target}");
            assert_eq!(res.header("location"), Some(location), "{host} {target}");
        }
    }
}
