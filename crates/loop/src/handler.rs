//! [`Handler`]: the boundary between the event loop and the application,
//! where a handler's panic is caught and turned into a `500`.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

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

thread_local! {
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is running a handler now. A panic hook can use it to
/// stay quiet about handler panics, which the loop reports itself, once,
/// with the request and the peer's address.
pub fn in_handler() -> bool {
    IN_HANDLER.with(Cell::get)
}

/// Run the handler; a panic comes back as its message.
pub(crate) fn call(handler: &dyn Handler, req: &Request<'_>) -> Result<Response, String> {
    IN_HANDLER.with(|flag| flag.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(|| handler.handle(req)));
    IN_HANDLER.with(|flag| flag.set(false));
    outcome.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}
