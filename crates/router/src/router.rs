//! [`Router`] and its builder: route tables, dispatch, and the answers the
//! router gives by itself (`404`, `405`, `OPTIONS`, `HEAD`).

use std::fmt;
use std::sync::Arc;

use netrunner_wire::{Method, Request, Response, Status};

use crate::error::RouteError;
use crate::exact::{Answer, Exact};
use crate::methods::MethodSet;
use crate::middleware::{Middleware, Next};
use crate::params::Params;
use crate::tree::Node;

/// A request handler: any `Fn(&Request<'_>, &Params<'_>) -> Response` that
/// can be shared between threads.
///
/// Implemented for every such closure and function; there is nothing to
/// implement by hand.
pub trait Handler: Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static {}

impl<F> Handler for F where F: Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static {}

/// Builds a [`Router`]: routes, then middleware, then [`build`].
///
/// Each method takes and returns the builder, so a route table reads as one
/// expression. Mistakes in patterns are kept until [`build`], which reports
/// the first.
///
/// [`build`]: RouterBuilder::build
pub struct RouterBuilder {
    root: Node<Arc<dyn Handler>>,
    middleware: Vec<Box<dyn Middleware>>,
    methods: MethodSet,
    routes: Vec<String>,
    error: Option<RouteError>,
}

impl Default for RouterBuilder {
    fn default() -> Self {
        RouterBuilder::new()
    }
}

impl RouterBuilder {
    /// A builder with no routes and no middleware.
    pub fn new() -> RouterBuilder {
        RouterBuilder {
            root: Node::default(),
            middleware: Vec::new(),
            methods: MethodSet::default(),
            routes: Vec::new(),
            error: None,
        }
    }

    /// Route `method` requests whose path matches `pattern` to `handler`.
    ///
    /// A pattern starts with `/` and is made of segments separated by `/`;
    /// each is literal text (compared with the request's segment as sent,
    /// still percent-encoded), a parameter `{name}` (one non-empty segment),
    /// or, last, a tail `{name...}` (the rest of the path, possibly empty,
    /// `/` included). Where several patterns match, literal text beats a
    /// parameter and a parameter beats a tail, segment by segment.
    ///
    /// A `GET` route also answers `HEAD` unless a `HEAD` route is given.
    /// Problems with the pattern are reported by [`RouterBuilder::build`].
    pub fn route<H: Handler>(mut self, method: Method, pattern: &str, handler: H) -> RouterBuilder {
        if self.error.is_some() {
            return self;
        }
        match self.root.insert(method, pattern, Arc::new(handler)) {
            Ok(()) => {
                self.methods.insert(method);
                self.routes
                    .push(format!("{} {pattern}", method.as_str().unwrap_or_default()));
            }
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Route `GET` (and so `HEAD`) requests: [`RouterBuilder::route`].
    pub fn get<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::Get, pattern, handler)
    }

    /// Route `POST` requests: [`RouterBuilder::route`].
    pub fn post<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::Post, pattern, handler)
    }

    /// Route `PUT` requests: [`RouterBuilder::route`].
    pub fn put<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::Put, pattern, handler)
    }

    /// Route `DELETE` requests: [`RouterBuilder::route`].
    pub fn delete<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::Delete, pattern, handler)
    }

    /// Wrap everything added by later `wrap` calls and the routes in
    /// `middleware`. The first `wrap` is the outermost: it sees the request
    /// first and the response last. Middleware sees every request, the ones
    /// the router answers by itself (`404`, `405`, `OPTIONS`) included.
    pub fn wrap<M: Middleware>(mut self, middleware: M) -> RouterBuilder {
        self.middleware.push(Box::new(middleware));
        self
    }

    /// The router.
    ///
    /// # Errors
    ///
    /// The [`RouteError`] of the first route refused: a malformed pattern,
    /// or a route whose method and pattern shape were already taken.
    pub fn build(self) -> Result<Router, RouteError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(Router {
            exact: Exact::new(&self.root),
            root: self.root,
            middleware: self.middleware,
            methods: self.methods,
            routes: self.routes,
        })
    }
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("routes", &self.routes)
            .field("middleware", &self.middleware.len())
            .field("error", &self.error)
            .finish()
    }
}

/// Routes requests to handlers, through middleware. Immutable once built
/// and `Send + Sync`: one router serves every event-loop thread.
///
/// [`Router::handle`] is the whole interface to the server: a request in, a
/// response out. The router never sees a socket and makes no heap
/// allocation to route a request.
///
/// **Implementation notes**: a path that a pattern of literal segments only
/// matches (`/plaintext`) is looked up in a table made by
/// [`RouterBuilder::build`] from the tree's own answers, method by method;
/// any other path, or a method that a parameter route answers on that
/// path, walks the tree.
pub struct Router {
    exact: Exact<Arc<dyn Handler>>,
    root: Node<Arc<dyn Handler>>,
    middleware: Vec<Box<dyn Middleware>>,
    methods: MethodSet,
    routes: Vec<String>,
}

impl Router {
    /// Start a route table: `Router::new().get(..).build()`.
    #[allow(clippy::new_ret_no_self)] // The builder is the way to make a router.
    pub fn new() -> RouterBuilder {
        RouterBuilder::new()
    }

    /// Answer `req`: through the middleware, outermost first, to the route
    /// its method and path match.
    ///
    /// Only the path takes part (never the query). Where the router answers
    /// by itself:
    ///
    /// - no route matches the path: `404 Not Found`;
    /// - routes match the path but none for this method: `405 Method Not
    ///   Allowed` with `Allow` (`GET, HEAD, OPTIONS`, say);
    /// - `HEAD` with no `HEAD` route: the `GET` route's full response (the
    ///   server drops the body);
    /// - `OPTIONS` with no `OPTIONS` route: `204 No Content` with `Allow`;
    ///   `OPTIONS *` lists every method of the router;
    /// - a parameter that does not percent-decode to UTF-8: `400 Bad
    ///   Request`, and the handler is not called.
    ///
    /// An absolute-form target (`http://host/x`) is routed by its path.
    pub fn handle(&self, req: &Request<'_>) -> Response {
        self.run(0, req)
    }

    /// Middleware `i`, around the rest of the chain.
    fn run(&self, i: usize, req: &Request<'_>) -> Response {
        match self.middleware.get(i) {
            Some(middleware) => {
                let next = |req: &Request<'_>| self.run(i + 1, req);
                middleware(req, &next as Next<'_>)
            }
            None => self.dispatch(req),
        }
    }

    /// The routes, inside the middleware: the exact-path table first, the
    /// tree when the table does not settle it.
    ///
    /// Out of line, and so are the slow paths it leaves by (`pathless`,
    /// `refuse`, `walk`): `GET /plaintext` then costs a hash, an integer
    /// compare or two and a jump to the handler.
    #[inline(never)]
    fn dispatch(&self, req: &Request<'_>) -> Response {
        let method = req.method();
        let Some(path) = origin_path(req.path()) else {
            return self.pathless(method, req.path());
        };
        if let Some(entry) = self.exact.get(path) {
            match entry.answer(method) {
                Answer::Route(handler) => return handler(req, &Params::NONE),
                Answer::Refuse => return refuse(method, entry.allowed()),
                Answer::Tree => {}
            }
        }
        self.walk(method, path, req)
    }

    /// Answer a target with no path: `OPTIONS *` lists every method of the
    /// router, anything else is not found. Out of line, like
    /// [`Router::walk`].
    #[cold]
    #[inline(never)]
    fn pathless(&self, method: Method, target: &str) -> Response {
        if target == "*" && method == Method::Options {
            return allow(Response::new(Status::NO_CONTENT), self.methods);
        }
        Response::error(Status::NOT_FOUND)
    }

    /// Answer `req` by walking the tree for `path`. Out of line, so that
    /// the exact-path table's hits pay nothing for it.
    #[inline(never)]
    fn walk(&self, method: Method, path: &str, req: &Request<'_>) -> Response {
        let answered = self.root.find(path, &mut |endpoint, values| {
            let route = endpoint.route(method)?;
            let params = Params::new(&route.names, values);
            if !params.decodable() {
                return Some(Response::error(Status::BAD_REQUEST));
            }
            Some((route.value)(req, &params))
        });
        if let Some(res) = answered {
            return res;
        }
        // No handler: is the path known at all, and to which methods?
        match self.root.allowed(path) {
            None => Response::error(Status::NOT_FOUND),
            Some(methods) => refuse(method, methods),
        }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .field("middleware", &self.middleware.len())
            .finish()
    }
}

fn allow(res: Response, methods: MethodSet) -> Response {
    res.with_header("Allow", methods.allow())
}

/// The answer for a known path with no route for `method`: `204` with
/// `Allow` for `OPTIONS`, `405` with `Allow` for anything else. Out of
/// line, to keep the hot path of [`Router::dispatch`] short.
#[inline(never)]
fn refuse(method: Method, methods: MethodSet) -> Response {
    if method == Method::Options {
        allow(Response::new(Status::NO_CONTENT), methods)
    } else {
        allow(Response::error(Status::METHOD_NOT_ALLOWED), methods)
    }
}

/// The path to route for a request path: itself in origin form (`/x`), the
/// path after the authority in absolute form (`http://host/x` gives `/x`,
/// `http://host` gives `/`), `None` for anything else (`*`, authority form).
///
/// ```
/// use netrunner_router::origin_path;
/// assert_eq!(origin_path("/a?b"), Some("/a?b"));
/// assert_eq!(origin_path("http://example.com/a"), Some("/a"));
/// assert_eq!(origin_path("http://example.com"), Some("/"));
/// assert_eq!(origin_path("*"), None);
/// ```
#[inline]
pub fn origin_path(path: &str) -> Option<&str> {
    if path.starts_with('/') {
        return Some(path);
    }
    absolute_path(path)
}

/// [`origin_path`] for anything but origin form: out of line, so that the
/// common case is one comparison wherever it is inlined.
#[cold]
#[inline(never)]
fn absolute_path(path: &str) -> Option<&str> {
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    let (scheme, rest) = path.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return None;
    }
    Some(rest.find('/').map_or("/", |i| &rest[i..]))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use netrunner_wire::{Body, Request, Response, Status};

    use super::*;
    use crate::testing::call;

    fn echo_params(_: &Request<'_>, params: &Params<'_>) -> Response {
        let text: Vec<String> = params
            .iter()
            .map(|(name, _)| format!("{name}={}", params.get(name).unwrap_or_default()))
            .collect();
        Response::text_owned(Status::OK, text.join(" "))
    }

    fn app() -> Router {
        Router::new()
            .get("/", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "Welcome to Netrunner!")
            })
            .get("/plaintext", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "Hello, World!")
            })
            .get("/hello/{name}", echo_params)
            .get("/hello/me", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "it's me")
            })
            .get("/files/{path...}", echo_params)
            .post("/echo", |req: &Request<'_>, _: &_| {
                Response::with_body(
                    Status::OK,
                    "application/octet-stream",
                    Body::Bytes(req.body().to_vec()),
                )
            })
            .put("/items/{id}", echo_params)
            .delete("/items/{id}", echo_params)
            .build()
            .unwrap()
    }

    /// `method target` answers `status` with `body`.
    fn check(router: &Router, method: &str, target: &str, status: u16, body: &str) {
        let res = call(router, method, target);
        assert_eq!(res.status.code(), status, "{method} {target}");
        assert_eq!(
            String::from_utf8_lossy(res.body.as_bytes()),
            body,
            "{method} {target}"
        );
    }

    #[test]
    fn matching() {
        let r = app();
        check(&r, "GET", "/", 200, "Welcome to Netrunner!");
        check(&r, "GET", "/plaintext", 200, "Hello, World!");
        check(&r, "GET", "/plaintext?x=1&y", 200, "Hello, World!");
        check(&r, "GET", "/hello/bob", 200, "name=bob");
        check(&r, "GET", "/hello/me", 200, "it's me");
        check(&r, "GET", "/files/", 200, "path=");
        check(&r, "GET", "/files/a/b.txt", 200, "path=a/b.txt");
        check(&r, "PUT", "/items/7", 200, "id=7");
        check(&r, "DELETE", "/items/7", 200, "id=7");
        check(&r, "POST", "/echo", 200, "");
    }

    #[test]
    fn percent_decoding_after_matching() {
        let r = app();
        check(&r, "GET", "/hello/w%C3%B6rld", 200, "name=wörld");
        check(&r, "GET", "/hello/a%2Fb", 200, "name=a/b");
        check(&r, "GET", "/hello/a%2fb?q=%2F", 200, "name=a/b");
        check(&r, "GET", "/hello/%6De", 200, "name=me");
        check(&r, "GET", "/files/a%20b/c%2Fd", 200, "path=a b/c/d");
        check(&r, "GET", "/hello/%FF", 400, "400 Bad Request\n");
        check(&r, "GET", "/hello/%zz", 400, "400 Bad Request\n");
        check(&r, "GET", "/files/x/%C3", 400, "400 Bad Request\n");
    }

    #[test]
    fn not_found() {
        let r = app();
        for target in [
            "/nope",
            "/hello",
            "/hello/",
            "/hello/a/b",
            "/plaintext/",
            "/files",
            "*",
        ] {
            let res = call(&r, "GET", target);
            assert_eq!(res, Response::error(Status::NOT_FOUND), "{target}");
        }
    }

    #[test]
    fn method_not_allowed_lists_allow() {
        let r = app();
        let res = call(&r, "POST", "/plaintext");
        assert_eq!(res.status, Status::METHOD_NOT_ALLOWED);
        assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(res.body, Response::error(Status::METHOD_NOT_ALLOWED).body);
        assert_eq!(
            res.content_type,
            Response::error(Status::METHOD_NOT_ALLOWED).content_type
        );

        let res = call(&r, "GET", "/items/3");
        assert_eq!(res.status, Status::METHOD_NOT_ALLOWED);
        assert_eq!(res.header("allow"), Some("PUT, DELETE, OPTIONS"));

        let res = call(&r, "GET", "/echo");
        assert_eq!(res.header("allow"), Some("POST, OPTIONS"));

        let res = call(&r, "FROB", "/plaintext");
        assert_eq!(res.status, Status::METHOD_NOT_ALLOWED);
        assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS"));
    }

    #[test]
    fn allow_gathers_every_matching_pattern() {
        let r = Router::new()
            .post("/a/b", echo_params)
            .put("/a/{x}", echo_params)
            .build()
            .unwrap();
        let res = call(&r, "GET", "/a/b");
        assert_eq!(res.status, Status::METHOD_NOT_ALLOWED);
        assert_eq!(res.header("allow"), Some("POST, PUT, OPTIONS"));
        let res = call(&r, "GET", "/a/c");
        assert_eq!(res.header("allow"), Some("PUT, OPTIONS"));
    }

    #[test]
    fn head_uses_the_get_route() {
        let r = app();
        let res = call(&r, "HEAD", "/plaintext");
        assert_eq!(res, Response::text(Status::OK, "Hello, World!"));
        check(&r, "HEAD", "/hello/bob", 200, "name=bob");
        let res = call(&r, "HEAD", "/echo");
        assert_eq!(res.status, Status::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn explicit_head_route_wins() {
        let r = Router::new()
            .get("/x", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "get")
            })
            .route(Method::Head, "/x", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "head")
            })
            .build()
            .unwrap();
        check(&r, "HEAD", "/x", 200, "head");
        check(&r, "GET", "/x", 200, "get");
    }

    #[test]
    fn options() {
        let r = app();
        let res = call(&r, "OPTIONS", "/plaintext");
        assert_eq!(res.status, Status::NO_CONTENT);
        assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS"));
        assert!(res.body.is_empty());

        let res = call(&r, "OPTIONS", "/items/1");
        assert_eq!(res.header("allow"), Some("PUT, DELETE, OPTIONS"));

        let res = call(&r, "OPTIONS", "/nope");
        assert_eq!(res.status, Status::NOT_FOUND);

        let res = call(&r, "OPTIONS", "*");
        assert_eq!(res.status, Status::NO_CONTENT);
        assert_eq!(
            res.header("allow"),
            Some("GET, HEAD, POST, PUT, DELETE, OPTIONS")
        );
    }

    #[test]
    fn explicit_options_route_wins() {
        let r = Router::new()
            .get("/x", echo_params)
            .route(Method::Options, "/x", |_: &Request<'_>, _: &_| {
                Response::new(Status::OK).with_header("Allow", "GET")
            })
            .build()
            .unwrap();
        let res = call(&r, "OPTIONS", "/x");
        assert_eq!(res.status, Status::OK);
        assert_eq!(res.header("allow"), Some("GET"));
        let res = call(&r, "POST", "/x");
        assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS"));
    }

    #[test]
    fn absolute_form_is_routed_by_its_path() {
        let r = app();
        check(
            &r,
            "GET",
            "http://example.com/plaintext",
            200,
            "Hello, World!",
        );
        check(
            &r,
            "GET",
            "HTTPS://example.com:8443/hello/bob?x",
            200,
            "name=bob",
        );
        check(
            &r,
            "GET",
            "http://example.com",
            200,
            "Welcome to Netrunner!",
        );
        check(&r, "GET", "http://example.com/nope", 404, "404 Not Found\n");
    }

    #[test]
    fn origin_paths() {
        assert_eq!(origin_path("/x"), Some("/x"));
        assert_eq!(origin_path("http://h/x/y"), Some("/x/y"));
        assert_eq!(origin_path("http://h"), Some("/"));
        assert_eq!(origin_path("*"), None);
        assert_eq!(origin_path("example.com:443"), None);
        assert_eq!(origin_path("1http://h/x"), None);
        assert_eq!(origin_path("ht/tp://h/x"), None);
        assert_eq!(origin_path(""), None);
    }

    #[test]
    fn conflicts_refused_at_build() {
        let refused = |b: RouterBuilder| b.build().expect_err("a conflict");
        let e = refused(
            Router::new()
                .get("/a/{x}", echo_params)
                .get("/a/{y}", echo_params),
        );
        assert_eq!(
            e,
            RouteError::Conflict {
                method: "GET",
                pattern: "/a/{y}".into(),
                existing: "/a/{x}".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "route `GET /a/{y}` conflicts with `GET /a/{x}`"
        );
        let e = refused(
            Router::new()
                .get("/s/{p...}", echo_params)
                .get("/s/{q...}", echo_params),
        );
        assert!(matches!(e, RouteError::Conflict { .. }));
        let e = refused(Router::new().get("/x", echo_params).get("/x", echo_params));
        assert!(matches!(e, RouteError::Conflict { .. }));
        // The first error is the one reported.
        let e = refused(
            Router::new()
                .get("x", echo_params)
                .get("/{a}/{a}", echo_params),
        );
        assert!(matches!(e, RouteError::MissingLeadingSlash { .. }));
        for (pattern, expected) in [
            ("nope", "MissingLeadingSlash"),
            ("/{p...}/x", "TailNotLast"),
            ("/{a}/{a}", "DuplicateParam"),
            ("/{}", "EmptyParamName"),
            ("/a{b}", "BadSegment"),
        ] {
            let e = refused(Router::new().get(pattern, echo_params));
            assert!(format!("{e:?}").starts_with(expected), "{pattern}: {e:?}");
        }
        let e = refused(Router::new().route(Method::Other, "/x", echo_params));
        assert!(matches!(e, RouteError::OtherMethod { .. }));
    }

    #[test]
    fn same_shape_different_methods_is_fine() {
        let r = Router::new()
            .get("/a/{x}", echo_params)
            .post("/a/{y}", echo_params)
            .build()
            .unwrap();
        check(&r, "GET", "/a/1", 200, "x=1");
        check(&r, "POST", "/a/1", 200, "y=1");
    }

    #[test]
    fn params_borrow_when_nothing_to_decode() {
        let r = Router::new()
            .get("/p/{x}", |_: &Request<'_>, params: &Params<'_>| {
                let borrowed = matches!(params.get("x"), Some(Cow::Borrowed(_)));
                Response::text(Status::OK, if borrowed { "borrowed" } else { "owned" })
            })
            .build()
            .unwrap();
        check(&r, "GET", "/p/plain", 200, "borrowed");
        check(&r, "GET", "/p/%41", 200, "owned");
    }

    #[test]
    fn closures_need_no_annotations() {
        let r = Router::new()
            .get("/x/{id}", |_req, params| {
                Response::text_owned(
                    Status::OK,
                    params.get("id").unwrap_or_default().into_owned(),
                )
            })
            .wrap(|req, next| next(req))
            .build()
            .unwrap();
        check(&r, "GET", "/x/9", 200, "9");
    }

    /// A handler that names its method, pattern and parameters, so that
    /// two routers agree only if the same route answered.
    fn naming(method: Method, pattern: &str) -> impl Handler {
        let name = format!("{} {pattern}", method.as_str().unwrap_or_default());
        move |_: &Request<'_>, params: &Params<'_>| {
            let values: Vec<String> = params.iter().map(|(n, v)| format!(" {n}={v}")).collect();
            Response::text_owned(Status::OK, format!("{name}{}", values.concat()))
        }
    }

    fn naming_router(routes: &[(Method, &str)]) -> Result<Router, RouteError> {
        routes
            .iter()
            .fold(Router::new(), |b, &(m, p)| b.route(m, p, naming(m, p)))
            .build()
    }

    /// Every method sent in the comparisons, `Other` (`FROB`) included.
    const SENT: [&str; 10] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "FROB",
    ];

    /// Answer every `SENT` method on every target with the exact-path
    /// table and without it (the tree alone), and require the same
    /// response. Gives how many requests the table settled by itself.
    fn check_table_agrees(routes: &[(Method, &str)], targets: &[&str]) -> usize {
        let fast = naming_router(routes).unwrap();
        let mut slow = naming_router(routes).unwrap();
        slow.exact = Exact::default();
        let mut settled = 0;
        for method in SENT {
            for &target in targets {
                let expected = call(&slow, method, target);
                let got = call(&fast, method, target);
                assert_eq!(got, expected, "{method} {target} with {routes:?}");
                let hit = origin_path(target)
                    .and_then(|path| fast.exact.get(path))
                    .map(|entry| entry.answer(Method::from_token(method)));
                if matches!(hit, Some(Answer::Route(_) | Answer::Refuse)) {
                    settled += 1;
                }
            }
        }
        settled
    }

    /// Paths for the comparisons: literal paths, paths that also match a
    /// parameter or a tail, encoded segments, near misses, long paths that
    /// share a table key, absolute form and `*`.
    const TARGETS: &[&str] = &[
        "/",
        "//",
        "/a",
        "/a/",
        "/a/b",
        "/a/b/",
        "/a/b/c",
        "/a/b/d",
        "/a/c",
        "/a/c/c",
        "/a/%62",
        "/a/b%2Fc",
        "/a/%FF",
        "/a/%zz/c",
        "/x",
        "/x/b",
        "/plaintext",
        "/plaintext/",
        "/plaintex",
        "/plaintext?x=1",
        "/json",
        "/json/echo",
        "/json/other",
        "/longprefix-AAAA-suffix!",
        "/longprefix-BBBB-suffix!",
        "/longprefix-CCCC-suffix!",
        "/longprefix-AAAA-suffix",
        "/sixteen-bytes-x",
        "/seventeen-bytesx",
        "/seventeXn-bytesx",
        "http://example.com/plaintext",
        "http://example.com/a/b",
        "http://example.com",
        "*",
    ];

    #[test]
    fn exact_table_agrees_with_the_tree() {
        use Method::*;
        let tables: &[&[(Method, &str)]] = &[
            // The default application's shape.
            &[
                (Get, "/"),
                (Get, "/plaintext"),
                (Get, "/json"),
                (Post, "/json/echo"),
                (Get, "/hello/{name}"),
                (Get, "/static/{path...}"),
            ],
            // A literal path that a parameter and a tail also match, with
            // other methods: 405s gather `Allow` from all three, and PUT
            // and DELETE on `/a/b` go to the parameter and the tail.
            &[
                (Post, "/a/b"),
                (Put, "/a/{x}"),
                (Delete, "/a/{x...}"),
                (Get, "/a/b/c"),
                (Patch, "/a/{x}/c"),
            ],
            // Same methods everywhere: the literal wins.
            &[
                (Get, "/a/b"),
                (Get, "/a/{x}"),
                (Get, "/a/{x...}"),
                (Get, "/{x...}"),
            ],
            // HEAD and OPTIONS routes of their own, next to GET.
            &[
                (Get, "/plaintext"),
                (Head, "/plaintext"),
                (Get, "/json"),
                (Options, "/json"),
                (Options, "/{x...}"),
                (Head, "/a/{x}"),
            ],
            // HEAD falls back to a GET parameter route when the literal
            // has only POST.
            &[(Post, "/x"), (Get, "/{x}"), (Get, "/x/b")],
            // Encoded segments are compared as sent.
            &[(Get, "/a/%62"), (Get, "/a/b%2Fc"), (Get, "/a/{x}")],
            // Long paths with one key, the 16-byte boundary, a trailing
            // slash and the empty segment.
            &[
                (Get, "/longprefix-AAAA-suffix!"),
                (Post, "/longprefix-BBBB-suffix!"),
                (Get, "/sixteen-bytes-x"),
                (Get, "/seventeen-bytesx"),
                (Get, "/a/b/"),
                (Get, "/"),
                (Get, "/{x}/"),
            ],
            // A root tail takes everything the literals do not.
            &[(Get, "/plaintext"), (Post, "/{all...}")],
        ];
        for routes in tables {
            let settled = check_table_agrees(routes, TARGETS);
            assert!(settled > 0, "the table settled nothing for {routes:?}");
        }
    }

    #[test]
    fn exact_table_agrees_on_generated_tables() {
        const PATTERNS: [&str; 16] = [
            "/",
            "/a",
            "/a/",
            "/a/b",
            "/a/b/c",
            "/a/{x}",
            "/a/{x}/c",
            "/a/{x...}",
            "/{x}",
            "/{x}/b",
            "/{x...}",
            "/a/%62",
            "/plaintext",
            "/json/echo",
            "/longprefix-AAAA-suffix!",
            "/longprefix-BBBB-suffix!",
        ];
        const METHODS: [Method; 7] = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Delete,
            Method::Options,
            Method::Patch,
        ];
        // xorshift64: the same tables on every run.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut settled = 0;
        for _ in 0..60 {
            let mut routes: Vec<(Method, &str)> = Vec::new();
            for _ in 0..(2 + next() % 10) {
                let method = METHODS[(next() % 7) as usize];
                let pattern = PATTERNS[(next() % 16) as usize];
                // Keep the table buildable: one route per method and shape.
                if naming_router(&[routes.as_slice(), &[(method, pattern)]].concat()).is_ok() {
                    routes.push((method, pattern));
                }
            }
            settled += check_table_agrees(&routes, TARGETS);
        }
        assert!(settled > 0);
    }

    #[test]
    fn exact_table_holds_literal_paths() {
        let r = app();
        for path in ["/", "/plaintext", "/hello/me", "/echo"] {
            assert!(r.exact.get(path).is_some(), "{path}");
        }
        for path in ["/hello/bob", "/files/x", "/items/1", "/hello"] {
            assert!(r.exact.get(path).is_none(), "{path}");
        }
        let entry = r.exact.get("/plaintext").unwrap();
        assert!(matches!(entry.answer(Method::Get), Answer::Route(_)));
        assert!(matches!(entry.answer(Method::Head), Answer::Route(_)));
        assert!(matches!(entry.answer(Method::Post), Answer::Refuse));
        // `/hello/me` is literal for GET; no other method has a route.
        let entry = r.exact.get("/hello/me").unwrap();
        assert!(matches!(entry.answer(Method::Get), Answer::Route(_)));
        assert_eq!(entry.allowed().allow(), "GET, HEAD, OPTIONS");
    }

    #[test]
    fn middleware_sees_every_answer_in_order() {
        let tag = |name: &'static str| {
            move |req: &Request<'_>, next: Next<'_>| next(req).with_header("X-Seen", name)
        };
        let r = Router::new()
            .get("/plaintext", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "Hello, World!")
            })
            .get("/a/{x}", echo_params)
            .wrap(tag("outer"))
            .wrap(tag("inner"))
            .build()
            .unwrap();
        for (method, target, status) in [
            ("GET", "/plaintext", 200),
            ("HEAD", "/plaintext", 200),
            ("POST", "/plaintext", 405),
            ("OPTIONS", "/plaintext", 204),
            ("GET", "/a/1", 200),
            ("GET", "/nope", 404),
            ("OPTIONS", "*", 204),
        ] {
            let res = call(&r, method, target);
            assert_eq!(res.status.code(), status, "{method} {target}");
            let seen: Vec<&str> = res
                .headers
                .iter()
                .filter(|(n, _)| n == "X-Seen")
                .map(|(_, v)| &**v)
                .collect();
            // The inner one's answer reaches the outer one.
            assert_eq!(seen, ["inner", "outer"], "{method} {target}");
        }
    }

    #[test]
    fn router_is_shared_between_threads() {
        fn shared<T: Send + Sync>(_: &T) {}
        let r = app();
        shared(&r);
        assert!(format!("{r:?}").contains("GET /hello/{name}"));
    }
}
