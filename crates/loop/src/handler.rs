//! [`Handler`]: the boundary between the event loop and the application.

use netrunner_wire::{Request, Response};

/// What the event loop calls for every request.
///
/// A handler runs on the loop thread that read the request, so it should
/// answer promptly: the loop serves its other connections after it returns.
/// A handler that panics gets its request answered `500` and its connection
/// closed; the loop and every other connection go on.
///
/// Any `Fn(&Request<'_>) -> Response + Send + Sync + 'static` is a handler.
pub trait Handler: Send + Sync + 'static {
    /// Answer one request.
    fn handle(&self, req: &Request<'_>) -> Response;
}

impl<F> Handler for F
where
    F: Fn(&Request<'_>) -> Response + Send + Sync + 'static,
{
    fn handle(&self, req: &Request<'_>) -> Response {
        self(req)
    }
}
