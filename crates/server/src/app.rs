//! The default application of CONTRACT.md, as a router.

use std::path::PathBuf;

use netrunner_router::{static_files, Params, RouteError, Router};
use netrunner_wire::{Body, Request, Response, Status};

/// The routes every netrunner server answers.
pub(crate) fn default_app(root: PathBuf) -> Result<Router, RouteError> {
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
            Response::with_body(
                Status::OK,
                "application/json",
                Body::Static(br#"{"message":"Hello, World!"}"#),
            )
        })
        .get("/healthz", |_: &Request<'_>, _: &Params<'_>| {
            Response::text(Status::OK, "ok")
        })
        .get("/static/{path...}", static_files(root))
        .build()
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
