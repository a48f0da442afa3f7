//! [`Router`] and its builder: route tables, dispatch, and the answers the
//! router gives by itself (`404`, `405`, `OPTIONS`, `HEAD`).

use std::fmt;

use netrunner_wire::{Method, Request, Response, Status};

use crate::error::RouteError;
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
    root: Node<Box<dyn Handler>>,
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
        match self.root.insert(method, pattern, Box::new(handler)) {
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
pub struct Router {
    root: Node<Box<dyn Handler>>,
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

    fn dispatch(&self, req: &Request<'_>) -> Response {
        let method = req.method();
        let Some(path) = origin_path(req.path()) else {
            if req.path() == "*" && method == Method::Options {
                return allow(Response::new(Status::NO_CONTENT), self.methods);
            }
            return Response::error(Status::NOT_FOUND);
        };
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
        let mut known: Option<MethodSet> = None;
        self.root.find(path, &mut |endpoint, _| {
            known = Some(known.unwrap_or_default().union(endpoint.methods()));
            None::<()>
        });
        match known {
            None => Response::error(Status::NOT_FOUND),
            Some(methods) if method == Method::Options => {
                allow(Response::new(Status::NO_CONTENT), methods)
            }
            Some(methods) => allow(Response::error(Status::METHOD_NOT_ALLOWED), methods),
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

/// The path to route for a request path: itself in origin form (`/x`), the
/// path after the authority in absolute form (`http://host/x` gives `/x`,
/// `http://host` gives `/`), `None` for anything else (`*`, authority form).
pub(crate) fn origin_path(path: &str) -> Option<&str> {
    if path.starts_with('/') {
        return Some(path);
    }
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

    #[test]
    fn router_is_shared_between_threads() {
        fn shared<T: Send + Sync>(_: &T) {}
        let r = app();
        shared(&r);
        assert!(format!("{r:?}").contains("GET /hello/{name}"));
    }
}
