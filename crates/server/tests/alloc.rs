//! Once warm, the server makes no heap allocation for a keep-alive
//! `GET /plaintext`, one at a time or pipelined.
//!
//! A counting global allocator wraps the system's; the real event loop and
//! the default application run in this process on 127.0.0.1, and the client
//! side of the test allocates nothing between the two readings of the count
//! (fixed buffers, pre-built requests). An allocation count is exact, so
//! unlike a timing this can be a test. This file holds one test so that no
//! other test's thread allocates at the same time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use netrunner_loop::{Config, Server};
use netrunner_server::app::default_app;
use netrunner_server::options::Options;
use netrunner_wire::{Request, Response};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the same arguments, so
// this allocator upholds `GlobalAlloc`'s contract exactly as `System` does;
// the counter is an atomic and allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's `layout` obligations pass through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by this allocator, that is by
        // `System`, with `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";
const DEPTH: usize = 16;

/// Read exactly `n` whole responses to `GET /plaintext` into `buf`, with no
/// allocation: each is the same length, learned on the first one.
fn read_responses(stream: &mut TcpStream, buf: &mut [u8], response_len: usize, n: usize) {
    let want = response_len * n;
    let mut got = 0;
    while got < want {
        let read = stream.read(&mut buf[got..want]).expect("a response");
        assert!(read > 0, "the server closed the connection");
        got += read;
    }
    assert!(buf[..want].ends_with(b"Hello, World!"));
}

#[test]
fn keep_alive_and_pipelined_plaintext_allocate_nothing_once_warm() {
    let router = default_app(&Options::default(), None).expect("the default application");
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        threads: 1,
        ..Config::default()
    };
    let server = Server::bind(config)
        .unwrap()
        .start(move |req: &Request<'_>| -> Response { router.handle(req) })
        .unwrap();
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    // The length of one response, from the first.
    stream.write_all(REQUEST).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = 0;
    while !buf[..first].ends_with(b"Hello, World!") {
        first += stream.read(&mut buf[first..]).unwrap();
    }
    let response_len = first;
    let pipelined = REQUEST.repeat(DEPTH);

    // Warm up: buffers, header lists, the slab and the deadline lists.
    for _ in 0..1_000 {
        stream.write_all(REQUEST).unwrap();
        read_responses(&mut stream, &mut buf, response_len, 1);
        stream.write_all(&pipelined).unwrap();
        read_responses(&mut stream, &mut buf, response_len, DEPTH);
    }

    // The counter sees the server's allocations: warming up made some.
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > 0);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..10_000 {
        stream.write_all(REQUEST).unwrap();
        read_responses(&mut stream, &mut buf, response_len, 1);
    }
    let one_at_a_time = ALLOCATIONS.load(Ordering::SeqCst) - before;

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..10_000 / DEPTH {
        stream.write_all(&pipelined).unwrap();
        read_responses(&mut stream, &mut buf, response_len, DEPTH);
    }
    let pipelined_count = ALLOCATIONS.load(Ordering::SeqCst) - before;

    assert_eq!(
        one_at_a_time, 0,
        "allocations in 10,000 keep-alive requests"
    );
    assert_eq!(
        pipelined_count, 0,
        "allocations in 10,000 pipelined requests"
    );

    server.shutdown_trigger().trigger();
    drop(stream);
    server.join().unwrap();
}
