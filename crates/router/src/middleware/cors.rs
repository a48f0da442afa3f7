//! Cross-origin resource sharing (the CORS protocol of the Fetch standard):
//! `Access-Control-*` headers for allowed origins, and preflights.

use netrunner_wire::{Method, Request, Response, Text};

use super::{Middleware, Next};

/// The methods a preflight allows unless told otherwise.
pub const DEFAULT_CORS_METHODS: &[&str] = &["GET", "HEAD", "POST", "OPTIONS"];

/// The request headers a preflight allows unless told otherwise.
pub const DEFAULT_CORS_HEADERS: &[&str] = &["Content-Type"];

/// How long, in seconds, a browser may cache a preflight's answer unless
/// told otherwise.
pub const DEFAULT_CORS_MAX_AGE: u32 = 600;

/// Cross-origin requests from a list of origins, or from any (`*`).
///
/// For a request with an `Origin` field:
///
/// - From an allowed origin, the response gets
///   `Access-Control-Allow-Origin`: the origin as configured, or `*` when
///   any origin is allowed (no credentials are ever allowed, so `*` is
///   valid). A response that already has one keeps it.
/// - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an
///   allowed origin goes on to the router, which answers `OPTIONS` on a
///   known path with `204` and `Allow`; a successful (`2xx`) answer also
///   gets `Access-Control-Allow-Methods`, `Access-Control-Allow-Headers`
///   (the requested headers when each is allowed, else the configured
///   list) and `Access-Control-Max-Age`. A path the router does not know
///   stays `404`, which the browser takes as a failed preflight.
/// - From any other origin, nothing is added (but `Vary`, below), and a
///   preflight is answered by the router like any `OPTIONS`.
///
/// Unless any origin is allowed, every response — with or without
/// `Origin` — also gets `Vary: Origin` (added to an existing `Vary`), so
/// that a shared cache never hands the answer meant for one origin (or
/// for a same-origin request) to another: the Fetch standard,
/// "CORS protocol and HTTP caches". With `*` the answer does not depend on
/// the origin, and requests without `Origin` are left untouched.
///
/// Origins are compared ASCII case-insensitively, and `*` anywhere in the
/// list allows any origin.
///
/// ```
/// use netrunner_router::middleware::Cors;
/// use netrunner_router::Router;
/// use netrunner_wire::{Request, Response, Status};
///
/// let router = Router::new()
///     .get("/", |_: &Request<'_>, _: &_| Response::text(Status::OK, "home"))
///     .wrap(
///         Cors::new(["https://app.example"])
///             .methods(["GET", "POST"])
///             .headers(["Content-Type", "X-Token"])
///             .max_age(3600)
///             .middleware(),
///     )
///     .build()?;
/// # let _ = router;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    /// `None`: any origin.
    origins: Option<Vec<String>>,
    methods: String,
    headers: Vec<String>,
    max_age: String,
}

impl Cors {
    /// Allow cross-origin requests from `origins` (such as
    /// `https://example.com`; `*` for any), with the default methods
    /// ([`DEFAULT_CORS_METHODS`]), headers ([`DEFAULT_CORS_HEADERS`]) and
    /// preflight lifetime ([`DEFAULT_CORS_MAX_AGE`]).
    ///
    /// An empty list allows no origin.
    pub fn new<I>(origins: I) -> Cors
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        let any = origins.iter().any(|o| o == "*");
        Cors {
            origins: (!any).then_some(origins),
            methods: String::new(),
            headers: Vec::new(),
            max_age: String::new(),
        }
        .methods(DEFAULT_CORS_METHODS.iter().copied())
        .headers(DEFAULT_CORS_HEADERS.iter().copied())
        .max_age(DEFAULT_CORS_MAX_AGE)
    }

    /// The methods a preflight allows (`Access-Control-Allow-Methods`).
    pub fn methods<I>(mut self, methods: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.methods = join(methods);
        self
    }

    /// The request headers a preflight allows
    /// (`Access-Control-Allow-Headers`).
    pub fn headers<I>(mut self, headers: I) -> Cors
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.headers = headers.into_iter().map(|h| h.as_ref().to_owned()).collect();
        self
    }

    /// How long, in seconds, a browser may cache a preflight's answer
    /// (`Access-Control-Max-Age`).
    pub fn max_age(mut self, seconds: u32) -> Cors {
        self.max_age = seconds.to_string();
        self
    }

    /// Whether requests from `origin` (an `Origin` field's value) are
    /// allowed.
    pub fn allows(&self, origin: &[u8]) -> bool {
        self.allowed(origin).is_some()
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if allowed.
    fn allowed(&self, origin: &[u8]) -> Option<Text> {
        match &self.origins {
            None => Some(Text::Borrowed("*")),
            Some(list) => list
                .iter()
                .find(|o| o.as_bytes().eq_ignore_ascii_case(origin))
                .map(|o| Text::Owned(o.clone())),
        }
    }

    /// Answer `req` through `next`, with the CORS headers: what the
    /// middleware does for each request.
    pub fn apply(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        let allow_origin = req.header("origin").and_then(|o| self.allowed(o));
        let preflight = req.method() == Method::Options
            && req.header("access-control-request-method").is_some();
        let mut res = next(req);
        if let Some(allow_origin) = allow_origin {
            if res.header("access-control-allow-origin").is_none() {
                res.headers
                    .push(("Access-Control-Allow-Origin".into(), allow_origin));
            }
            if preflight && res.status.is_success() {
                let headers = self.allow_headers(req.header("access-control-request-headers"));
                res.headers.extend([
                    (
                        "Access-Control-Allow-Methods".into(),
                        self.methods.clone().into(),
                    ),
                    ("Access-Control-Allow-Headers".into(), headers.into()),
                    ("Access-Control-Max-Age".into(), self.max_age.clone().into()),
                ]);
            }
        }
        if self.origins.is_some() {
            res = vary_origin(res);
        }
        res
    }

    /// `Access-Control-Allow-Headers`: the requested headers (as
    /// configured, so nothing from the request is copied into the
    /// response) when each is allowed, else the configured list.
    fn allow_headers(&self, requested: Option<&[u8]>) -> String {
        let find = |name: &[u8]| {
            self.headers
                .iter()
                .find(|h| h.as_bytes().eq_ignore_ascii_case(name))
        };
        let mut echoed = Vec::new();
        let names = requested
            .unwrap_or_default()
            .split(|&b| b == b',')
            .map(|name| name.trim_ascii())
            .filter(|name| !name.is_empty());
        for name in names {
            match find(name) {
                Some(h) => echoed.push(h),
                None => return join(&self.headers),
            }
        }
        if echoed.is_empty() {
            return join(&self.headers);
        }
        join(echoed)
    }

    /// This configuration as a middleware: [`Cors::apply`] for each
    /// request.
    pub fn middleware(self) -> impl Middleware {
        move |req: &Request<'_>, next: Next<'_>| self.apply(req, next)
    }
}

/// `a, b, c`.
fn join<I>(items: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut out = String::new();
    for item in items {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(item.as_ref());
    }
    out
}

/// `res` with `Origin` in its `Vary` field: a new field, or added to the
/// first one unless it already lists `Origin` or is `*`.
fn vary_origin(mut res: Response) -> Response {
    let existing = res
        .headers
        .iter_mut()
        .find(|(name, _)| name.eq_ignore_ascii_case("vary"));
    match existing {
        Some((_, value)) => {
            let listed = value
                .split(',')
                .map(str::trim)
                .any(|v| v == "*" || v.eq_ignore_ascii_case("origin"));
            if !listed {
                *value = format!("{value}, Origin").into();
            }
            res
        }
        None => res.with_header("Vary", "Origin"),
    }
}

#[cfg(test)]
mod tests {
    use netrunner_wire::Status;

    use super::*;
    use crate::testing::with_fields;
    use crate::Router;

    fn app(cors: Cors) -> Router {
        Router::new()
            .get("/data", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "data")
            })
            .post("/data", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "posted")
            })
            .get("/varied", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "v").with_header("Vary", "Accept-Encoding")
            })
            .wrap(cors.middleware())
            .build()
            .unwrap()
    }

    /// The router's answer to `method target` with `fields`.
    fn send(router: &Router, method: &str, target: &str, fields: &[&str]) -> Response {
        with_fields(method, target, fields, |req| router.handle(req))
    }

    /// Every `Access-Control-*` and `Vary` field of `res`, in order.
    fn cors_fields(res: &Response) -> Vec<(String, String)> {
        res.headers
            .iter()
            .filter(|(n, _)| {
                let n = n.to_ascii_lowercase();
                n.starts_with("access-control-") || n == "vary"
            })
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    const APP: &str = "Origin: https://app.example";
    const EVIL: &str = "Origin: https://evil.example";

    fn listed() -> Router {
        app(Cors::new(["https://app.example", "https://other.example"]))
    }

    #[test]
    fn allowed_origin() {
        let res = send(&listed(), "GET", "/data", &[APP]);
        assert_eq!(res.status, Status::OK);
        assert_eq!(res.body.as_bytes(), b"data");
        assert_eq!(
            cors_fields(&res),
            fields(&[
                ("Access-Control-Allow-Origin", "https://app.example"),
                ("Vary", "Origin"),
            ])
        );
        // As configured, whatever the case sent.
        let res = send(
            &listed(),
            "POST",
            "/data",
            &["Origin: HTTPS://OTHER.example"],
        );
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("https://other.example")
        );
        // Errors get the header too, so the page can read them.
        let res = send(&listed(), "GET", "/nope", &[APP]);
        assert_eq!(res.status, Status::NOT_FOUND);
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("https://app.example")
        );
    }

    #[test]
    fn disallowed_origin_gets_only_vary() {
        for origin in [EVIL, "Origin: null", "Origin: https://app.example.evil"] {
            let res = send(&listed(), "GET", "/data", &[origin]);
            assert_eq!(res.status, Status::OK);
            assert_eq!(cors_fields(&res), fields(&[("Vary", "Origin")]), "{origin}");
        }
    }

    #[test]
    fn no_origin() {
        // A list: the answer depends on the origin, so caches must know.
        let res = send(&listed(), "GET", "/data", &[]);
        assert_eq!(
            res,
            Response::text(Status::OK, "data").with_header("Vary", "Origin")
        );
        // Any origin: untouched.
        let res = send(&app(Cors::new(["*"])), "GET", "/data", &[]);
        assert_eq!(res, Response::text(Status::OK, "data"));
    }

    #[test]
    fn any_origin() {
        let router = app(Cors::new(["https://app.example", "*"]));
        for origin in [APP, EVIL, "Origin: null"] {
            let res = send(&router, "GET", "/data", &[origin]);
            assert_eq!(
                cors_fields(&res),
                fields(&[("Access-Control-Allow-Origin", "*")]),
                "{origin}"
            );
        }
    }

    #[test]
    fn no_origins_allow_nothing() {
        let res = send(
            &app(Cors::new(Vec::<String>::new())),
            "GET",
            "/data",
            &[APP],
        );
        assert_eq!(cors_fields(&res), fields(&[("Vary", "Origin")]));
    }

    #[test]
    fn vary_joins_an_existing_field() {
        let res = send(&listed(), "GET", "/varied", &[APP]);
        assert_eq!(res.header("vary"), Some("Accept-Encoding, Origin"));
        assert_eq!(res.headers.iter().filter(|(n, _)| n == "Vary").count(), 1);
        let cors = Cors::new(["https://app.example"]);
        for (before, after) in [
            ("origin", "origin"),
            ("Accept, Origin", "Accept, Origin"),
            ("*", "*"),
        ] {
            let next = |_: &Request<'_>| Response::new(Status::OK).with_header("Vary", before);
            let res = with_fields("GET", "/", &[APP], |req| cors.apply(req, &next));
            assert_eq!(res.header("vary"), Some(after));
        }
    }

    #[test]
    fn handler_allow_origin_wins() {
        let cors = Cors::new(["*"]);
        let next = |_: &Request<'_>| {
            Response::new(Status::OK)
                .with_header("Access-Control-Allow-Origin", "https://x.example")
        };
        let res = with_fields("GET", "/", &[EVIL], |req| cors.apply(req, &next));
        assert_eq!(
            cors_fields(&res),
            fields(&[("Access-Control-Allow-Origin", "https://x.example")])
        );
    }

    #[test]
    fn preflight_from_allowed_origin() {
        let res = send(
            &listed(),
            "OPTIONS",
            "/data",
            &[APP, "Access-Control-Request-Method: POST"],
        );
        assert_eq!(res.status, Status::NO_CONTENT);
        assert!(res.body.is_empty());
        // The router's Allow is kept: every route answers OPTIONS with it.
        assert_eq!(res.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
        assert_eq!(
            cors_fields(&res),
            fields(&[
                ("Access-Control-Allow-Origin", "https://app.example"),
                ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
                ("Access-Control-Allow-Headers", "Content-Type"),
                ("Access-Control-Max-Age", "600"),
                ("Vary", "Origin"),
            ])
        );
    }

    #[test]
    fn preflight_with_any_origin_and_custom_settings() {
        let router = app(Cors::new(["*"])
            .methods(["GET", "PUT"])
            .headers(["Content-Type", "X-Token"])
            .max_age(86_400));
        let res = send(
            &router,
            "OPTIONS",
            "/data",
            &[EVIL, "Access-Control-Request-Method: PUT"],
        );
        assert_eq!(res.status, Status::NO_CONTENT);
        assert_eq!(
            cors_fields(&res),
            fields(&[
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Methods", "GET, PUT"),
                ("Access-Control-Allow-Headers", "Content-Type, X-Token"),
                ("Access-Control-Max-Age", "86400"),
            ])
        );
    }

    #[test]
    fn preflight_requested_headers() {
        let cors = Cors::new(["*"]).headers(["Content-Type", "X-Token", "X-Other"]);
        let cases = [
            // Each allowed: echoed, in the configured spelling.
            (Some(&b"x-token"[..]), "X-Token"),
            (Some(b"content-type, x-token"), "Content-Type, X-Token"),
            (Some(b" X-TOKEN ,,content-type "), "X-Token, Content-Type"),
            // One not allowed: the configured list (the browser refuses).
            (Some(b"x-token, x-secret"), "Content-Type, X-Token, X-Other"),
            (Some(b"x-secret\r\n"), "Content-Type, X-Token, X-Other"),
            // None asked for.
            (Some(b""), "Content-Type, X-Token, X-Other"),
            (None, "Content-Type, X-Token, X-Other"),
        ];
        for (requested, expected) in cases {
            assert_eq!(cors.allow_headers(requested), expected, "{requested:?}");
        }
        let res = send(
            &app(cors),
            "OPTIONS",
            "/data",
            &[
                APP,
                "Access-Control-Request-Method: PUT",
                "Access-Control-Request-Headers: x-other",
            ],
        );
        assert_eq!(res.header("access-control-allow-headers"), Some("X-Other"));
    }

    #[test]
    fn preflight_from_disallowed_origin_is_plain_options() {
        let res = send(
            &listed(),
            "OPTIONS",
            "/data",
            &[EVIL, "Access-Control-Request-Method: POST"],
        );
        assert_eq!(res.status, Status::NO_CONTENT);
        assert_eq!(res.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
        assert_eq!(cors_fields(&res), fields(&[("Vary", "Origin")]));
    }

    #[test]
    fn preflight_on_unknown_path_stays_404() {
        let res = send(
            &listed(),
            "OPTIONS",
            "/nope",
            &[APP, "Access-Control-Request-Method: GET"],
        );
        assert_eq!(res.status, Status::NOT_FOUND);
        assert_eq!(res.header("access-control-allow-methods"), None);
        assert_eq!(res.header("access-control-max-age"), None);
    }

    #[test]
    fn options_without_request_method_is_not_a_preflight() {
        let res = send(&listed(), "OPTIONS", "/data", &[APP]);
        assert_eq!(res.status, Status::NO_CONTENT);
        assert_eq!(
            cors_fields(&res),
            fields(&[
                ("Access-Control-Allow-Origin", "https://app.example"),
                ("Vary", "Origin"),
            ])
        );
    }

    #[test]
    fn allows() {
        let cors = Cors::new(["https://a.example"]);
        assert!(cors.allows(b"https://a.example"));
        assert!(cors.allows(b"HTTPS://A.EXAMPLE"));
        assert!(!cors.allows(b"https://a.example:443"));
        assert!(!cors.allows(b"https://b.example"));
        assert!(Cors::new(["*"]).allows(b"anything"));
    }
}
