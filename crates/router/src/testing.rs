//! Helpers for the unit tests: requests parsed from text, as the server
//! would hand them over.

use netrunner_wire::{HeadParser, Limits, Request, RequestHead, Response};

use crate::Router;

/// Run `f` with the request `method target` (HTTP/1.1, `Host: test`).
pub(crate) fn with_request<R>(method: &str, target: &str, f: impl FnOnce(&Request<'_>) -> R) -> R {
    with_fields(method, target, &[], f)
}

/// [`with_request`] with the extra header lines `fields` (each
/// `Name: value`).
pub(crate) fn with_fields<R>(
    method: &str,
    target: &str,
    fields: &[&str],
    f: impl FnOnce(&Request<'_>) -> R,
) -> R {
    let mut bytes = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
    for field in fields {
        bytes.push_str(field);
        bytes.push_str("\r\n");
    }
    bytes.push_str("\r\n");
    let mut head = RequestHead::default();
    let n = HeadParser::new()
        .parse(bytes.as_bytes(), &Limits::default(), &mut head)
        .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
        .expect("a whole head");
    f(&Request::new(&head, &bytes.as_bytes()[..n], b""))
}

/// The router's answer to `method target`.
pub(crate) fn call(router: &Router, method: &str, target: &str) -> Response {
    with_request(method, target, |req| router.handle(req))
}
