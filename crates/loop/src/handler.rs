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

/// Run the handler and hand its response to `then`; a panic of either
/// comes back as its message. (`then` runs inside the unwind boundary, so
/// that the response need not be moved out through it.)
pub(crate) fn call<R>(
    handler: &dyn Handler,
    req: &Request<'_>,
    then: impl FnOnce(Response) -> R,
) -> Result<R, String> {
    IN_HANDLER.with(|flag| flag.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let res = handler.handle(req);
        IN_HANDLER.with(|flag| flag.set(false));
        then(res)
    }));
    outcome.map_err(|payload| {
        IN_HANDLER.with(|flag| flag.set(false));
        panic_message(&*payload)
    })
}

#[cold]
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
