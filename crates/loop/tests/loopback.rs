//! The loop over real sockets on 127.0.0.1: both accept modes, pipelining,
//! a response larger than the socket takes at once, a panicking handler
//! next to a healthy connection, and shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use netrunner_loop::{AcceptMode, Config, Server, ServerHandle};
use netrunner_wire::{Body, Request, Response, Status};

fn app(req: &Request<'_>) -> Response {
    match req.path() {
        "/panic" => panic!("this handler fails on purpose"),
        "/big" => Response::with_body(Status::OK, "application/octet-stream", Body::Bytes(big())),
        "/echo" => Response::with_body(Status::OK, "text/plain", Body::Bytes(req.body().to_vec())),
        path => Response::text_owned(Status::OK, format!("path={path}")),
    }
}

/// 16 MiB, far more than loopback socket buffers take before the
/// client reads: the server's writes block.
fn big() -> Vec<u8> {
    (0..16 << 20).map(|i: usize| (i % 251) as u8).collect()
}

fn start(accept: AcceptMode, threads: usize) -> ServerHandle {
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        threads,
        accept,
        ..Config::default()
    };
    Server::bind(config).unwrap().start(app).unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Read until `n` whole responses (framed by Content-Length) have arrived;
/// returns their bodies.
fn read_responses(stream: &mut TcpStream, n: usize) -> Vec<String> {
    read_bodies(stream, n)
        .into_iter()
        .map(|body| String::from_utf8(body).expect("UTF-8 body"))
        .collect()
}

/// Read until `n` whole responses (framed by Content-Length) have arrived;
/// returns their bodies as bytes.
fn read_bodies(stream: &mut TcpStream, n: usize) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    let mut bodies = Vec::new();
    let mut chunk = [0u8; 4096];
    while bodies.len() < n {
        let mut parsed = 0;
        bodies.clear();
        while let Some(end) = find(&buf[parsed..], b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[parsed..parsed + end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map_or(0, |v| v.parse().unwrap());
            let start = parsed + end + 4;
            if buf.len() < start + len {
                break;
            }
            bodies.push(buf[start..start + len].to_vec());
            parsed = start + len;
        }
        if bodies.len() >= n {
            break;
        }
        let got = stream
            .read(&mut chunk)
            .expect("a response before the timeout");
        assert!(got > 0, "closed after {} responses", bodies.len());
        buf.extend_from_slice(&chunk[..got]);
    }
    bodies
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn serves_pipelined_requests(accept: AcceptMode) {
    let server = start(accept, 2);
    let mut conns: Vec<TcpStream> = (0..8).map(|_| connect(server.local_addr())).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        let reqs = format!(
            "GET /a{i} HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /b{i} HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        c.write_all(reqs.as_bytes()).unwrap();
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let bodies = read_responses(c, 3);
        assert_eq!(
            bodies,
            [format!("path=/a{i}"), "hi".into(), format!("path=/b{i}")]
        );
    }
    server.shutdown_trigger().trigger();
    drop(conns);
    server.join().unwrap();
}

#[test]
fn reuse_port_mode_serves_pipelined_requests() {
    serves_pipelined_requests(AcceptMode::ReusePort);
}

#[test]
fn acceptor_mode_serves_pipelined_requests() {
    serves_pipelined_requests(AcceptMode::Acceptor);
}

/// The socket fills while the client waits; the rest of the response, and
/// the answer to the request pipelined behind it, go out once it reads
/// (the loop asks for writable events only when a write would block).
#[test]
fn a_response_larger_than_the_socket_takes_goes_out_as_the_client_reads() {
    let server = start(AcceptMode::ReusePort, 1);
    let mut c = connect(server.local_addr());
    c.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let bodies = read_bodies(&mut c, 2);
    assert!(bodies[0] == big(), "the body differs");
    assert_eq!(bodies[1], b"path=/after");
    server.shutdown_trigger().trigger();
    drop(c);
    server.join().unwrap();
}

#[test]
fn a_panicking_handler_closes_only_its_connection() {
    let server = start(AcceptMode::ReusePort, 1);
    let mut healthy = connect(server.local_addr());
    healthy
        .write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_responses(&mut healthy, 1), ["path=/one"]);

    let mut failing = connect(server.local_addr());
    failing
        .write_all(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    failing.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{out}"
    );
    assert!(out.contains("Connection: close\r\n"));

    healthy
        .write_all(b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_responses(&mut healthy, 1), ["path=/two"]);
    server.shutdown_trigger().trigger();
    drop(healthy);
    server.join().unwrap();
}

#[test]
fn shutdown_closes_idle_connections_and_refuses_new_ones() {
    let server = start(AcceptMode::ReusePort, 2);
    let addr = server.local_addr();
    let mut idle = connect(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_responses(&mut idle, 1);
    server.shutdown_trigger().trigger();
    // The idle connection is closed by the server: EOF, not a timeout.
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    server.join().unwrap();
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}

#[test]
fn a_busy_connection_finishes_with_connection_close() {
    let server = start(AcceptMode::ReusePort, 1);
    let mut busy = connect(server.local_addr());
    busy.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
        .unwrap();
    // Make sure the loop has seen the first half before shutting down.
    let mut probe = connect(server.local_addr());
    probe
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_responses(&mut probe, 1);
    server.shutdown_trigger().trigger();
    busy.write_all(b"cd").unwrap();
    let mut out = String::new();
    busy.read_to_string(&mut out).unwrap();
    assert!(out.contains("Connection: close\r\n"), "{out}");
    assert!(out.ends_with("abcd"), "{out}");
    server.join().unwrap();
}

#[test]
fn an_address_in_use_is_an_error_in_both_modes() {
    let first = start(AcceptMode::ReusePort, 2);
    for accept in [AcceptMode::ReusePort, AcceptMode::Acceptor] {
        let config = Config {
            addr: first.local_addr(),
            threads: 2,
            accept,
            ..Config::default()
        };
        let err = Server::bind(config).expect_err("the port is taken");
        assert!(err.to_string().contains("cannot listen on"), "{err}");
    }
    first.shutdown_trigger().trigger();
    first.join().unwrap();
}
