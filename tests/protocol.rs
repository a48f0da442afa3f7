//! HTTP/1.1 protocol behaviour (CONTRACT.md, "Protocol"): persistence,
//! pipelining, framing, and the error responses that close the connection.

use std::io::Write;

use crate::util::{Conn, Server, TempDir, TEXT};

#[test]
fn keep_alive_serves_two_requests() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    conn.read_response()
        .assert(200, TEXT, "Welcome to Netrunner!");
    conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    let res = conn.read_response();
    res.assert(200, TEXT, "Hello, Netrunner!");
    assert!(!res.has_token("connection", "close"), "{res:#?}");
}

#[test]
fn connection_close_is_honoured() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let res = conn.read_response();
    res.assert(200, TEXT, "Welcome to Netrunner!");
    assert!(res.has_token("connection", "close"), "{res:#?}");
    conn.assert_closed_cleanly();
}

#[test]
fn http10_closes_by_default() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(b"GET /hello HTTP/1.0\r\n\r\n");
    conn.read_response().assert(200, TEXT, "Hello, Netrunner!");
    conn.assert_closed_cleanly();
}

#[test]
fn http10_keep_alive_stays_open() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let res = conn.read_response();
    res.assert(200, TEXT, "Hello, Netrunner!");
    // An HTTP/1.0 client keeps the connection only when the response says so.
    assert!(res.has_token("connection", "keep-alive"), "{res:#?}");
    assert!(
        res.header("content-length").is_some(),
        "1.0 needs Content-Length: {res:#?}"
    );
    conn.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    conn.read_response()
        .assert(200, TEXT, "Welcome to Netrunner!");
    conn.send(b"GET /json HTTP/1.0\r\n\r\n");
    conn.read_response()
        .assert(200, "application/json", r#"{"message":"Hello, World!"}"#);
    conn.assert_closed_cleanly();
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(
        b"GET / HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /hello/one HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /json HTTP/1.1\r\nHost: test\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: text/x-p\r\nContent-Length: 9\r\n\r\npipelined\
          GET /nope HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    conn.read_response()
        .assert(200, TEXT, "Welcome to Netrunner!");
    conn.read_response().assert(200, TEXT, "Hello, one!");
    conn.read_response()
        .assert(200, "application/json", r#"{"message":"Hello, World!"}"#);
    conn.read_response().assert(200, "text/x-p", "pipelined");
    assert_eq!(conn.read_response().status, 404);
    let last = conn.read_response();
    assert_eq!((last.status, last.text()), (200, "ok"), "{last:#?}");
    conn.assert_closed_cleanly();
}

#[test]
fn many_pipelined_requests_in_one_write() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    let n = 200;
    let mut req = Vec::new();
    for i in 0..n {
        req.extend_from_slice(format!("GET /hello/{i} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
    }
    conn.send(&req);
    for i in 0..n {
        conn.read_response()
            .assert(200, TEXT, &format!("Hello, {i}!"));
    }
}

#[test]
fn request_sent_one_byte_at_a_time() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.stream().set_nodelay(true).expect("nodelay");
    let req = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nbytes\
                GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";
    for b in req {
        conn.send(std::slice::from_ref(b));
    }
    conn.read_response()
        .assert(200, "application/octet-stream", "bytes");
    conn.read_response().assert(200, TEXT, "Hello, Netrunner!");
}

#[test]
fn chunked_upload_with_extension_and_trailer_is_echoed() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\
          Content-Type: text/x-chunks\r\n\r\n\
          5;name=value\r\nhello\r\n\
          6\r\n world\r\n\
          A\r\n, chunked!\r\n\
          0\r\nX-Trailer: yes\r\n\r\n\
          GET /hello HTTP/1.1\r\nHost: test\r\n\r\n",
    );
    conn.read_response()
        .assert(200, "text/x-chunks", "hello world, chunked!");
    // The trailer was consumed: the next request on the connection parses.
    conn.read_response().assert(200, TEXT, "Hello, Netrunner!");
}

#[test]
fn expect_100_continue() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 8\r\n\r\n",
    );
    let interim = conn.read_response();
    assert_eq!(
        (interim.version.as_str(), interim.status),
        ("HTTP/1.1", 100),
        "{interim:#?}"
    );
    assert_eq!(interim.reason, "Continue");
    conn.send(b"continue");
    conn.read_response()
        .assert(200, "application/octet-stream", "continue");
}

/// Sends `request` on a new connection and expects `status` with
/// `Connection: close`, then the connection closed.
#[track_caller]
fn check_error(server: &Server, request: &[u8], status: u16) {
    let mut conn = server.connect();
    conn.send(request);
    let res = conn.read_response();
    res.assert_error_close(status);
    conn.assert_closed();
}

#[test]
fn missing_host_is_400() {
    let s = Server::start(&[]);
    check_error(&s, b"GET / HTTP/1.1\r\n\r\n", 400);
}

#[test]
fn two_host_headers_is_400() {
    let s = Server::start(&[]);
    check_error(&s, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
}

#[test]
fn bad_content_length_is_400() {
    let s = Server::start(&[]);
    for cl in ["abc", "-1", "1 2", "0x10", "+5", ""] {
        let req = format!("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {cl}\r\n\r\n");
        check_error(&s, req.as_bytes(), 400);
    }
    check_error(
        &s,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    );
}

#[test]
fn content_length_with_transfer_encoding_is_400() {
    let s = Server::start(&[]);
    check_error(
        &s,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn unknown_transfer_encoding_is_501() {
    let s = Server::start(&[]);
    check_error(
        &s,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
    );
}

#[test]
fn http2_version_is_505() {
    let s = Server::start(&[]);
    check_error(&s, b"GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505);
}

#[test]
fn malformed_request_line_is_400() {
    let s = Server::start(&[]);
    check_error(&s, b"GARBAGE\r\n\r\n", 400);
    check_error(&s, b"GET / HTTP/1.1\r\nHost test\r\n\r\n", 400);
}

#[test]
fn long_request_line_is_414() {
    let s = Server::start(&[]);
    let req = format!(
        "GET /{} HTTP/1.1\r\nHost: test\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    check_error(&s, req.as_bytes(), 414);
}

#[test]
fn head_over_max_header_bytes_is_431() {
    let s = Server::start(&["--max-header-bytes", "1024"]);
    let req = format!(
        "GET / HTTP/1.1\r\nHost: test\r\nX-Big: {}\r\n\r\n",
        "b".repeat(2000)
    );
    check_error(&s, req.as_bytes(), 431);
    // Just under the limit is fine.
    let req = format!(
        "GET / HTTP/1.1\r\nHost: test\r\nX-Big: {}\r\n\r\n",
        "b".repeat(900)
    );
    s.request(&req).assert(200, TEXT, "Welcome to Netrunner!");
}

#[test]
fn declared_body_over_max_body_bytes_is_413() {
    let s = Server::start(&["--max-body-bytes", "16"]);
    check_error(
        &s,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 17\r\n\r\n12345678901234567",
        413,
    );
    // Exactly at the limit is fine.
    let res = s
        .request("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 16\r\n\r\n1234567890123456");
    res.assert(200, "application/octet-stream", "1234567890123456");
}

#[test]
fn chunked_body_over_max_body_bytes_is_413() {
    let s = Server::start(&["--max-body-bytes", "16"]);
    check_error(
        &s,
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
          a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
        413,
    );
    let res = s.request(
        "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
         8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n",
    );
    res.assert(200, "application/octet-stream", "0123456789abcdef");
}

/// Lingering close: the 400 must reach the client even though the client
/// keeps sending after the bad request (no reset that destroys the response).
#[test]
fn error_response_survives_trailing_garbage() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec();
    req.resize(req.len() + 64 * 1024, b'x');
    // The server may stop reading; a failed write here is not the failure we test.
    let sent = conn.try_send(&req);
    let res = conn.read_response();
    res.assert_error_close(400);
    conn.assert_closed();
    drop(sent);
}

/// Lingering close where it matters: the 400 sits in the server's send
/// buffer behind 3 MiB of earlier pipelined responses when the server closes,
/// with the client's garbage still unread on the server side. A plain
/// `close()` would reset the connection and destroy the queued responses;
/// the server must shut down its sending half and drain instead.
#[test]
fn error_response_behind_large_responses_survives_trailing_garbage() {
    let root = TempDir::new();
    let big: Vec<u8> = (0..1u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    root.write("big.bin", &big);
    let s = Server::start(&["--root", root.path().to_str().expect("UTF-8 temp path")]);
    let mut conn = s.connect();
    let mut req = Vec::new();
    for _ in 0..3 {
        req.extend_from_slice(b"GET /static/big.bin HTTP/1.1\r\nHost: test\r\n\r\n");
    }
    req.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    req.resize(req.len() + 64 * 1024, b'x');
    // Write on a second handle so that reading can start at once; the server
    // may stop reading, so a failed write is not the failure tested here.
    let mut writer = conn.stream().try_clone().expect("clone stream");
    let sender = std::thread::spawn(move || writer.write_all(&req));
    for i in 0..3 {
        let res = conn.read_response();
        assert_eq!(res.status, 200, "response {i}: {res:#?}");
        assert!(
            res.body == big,
            "response {i}: body differs ({} bytes)",
            res.body.len()
        );
    }
    conn.read_response().assert_error_close(400);
    conn.assert_closed();
    let _ = sender.join().expect("writer thread");
}

/// The same with a body over the limit that the client keeps streaming.
#[test]
fn error_response_survives_unread_body() {
    let s = Server::start(&["--max-body-bytes", "16"]);
    let mut conn = s.connect();
    let mut req = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 65536\r\n\r\n".to_vec();
    req.resize(req.len() + 64 * 1024, b'y');
    let _ = conn.try_send(&req);
    let res = conn.read_response();
    res.assert_error_close(413);
    conn.assert_closed();
}

#[test]
fn bad_client_does_not_disturb_another_connection() {
    let s = Server::start(&[]);
    let mut a = s.connect();
    a.send(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    a.read_response().assert(200, TEXT, "Welcome to Netrunner!");

    // A sends half a request and stays in the middle of it while B misbehaves.
    a.send(b"GET /hello HTTP/1.1\r\nHo");
    let mut b = s.connect();
    let _ = b.try_send(b"\x00\x01\x02 garbage \xff\xfe\r\n\r\n");
    let res = b.read_response();
    res.assert_error_close(400);
    b.assert_closed();

    let mut c = Conn::connect(s.addr());
    let _ = c.try_send(b"GET / HTTP/1.1\r\nHost: test\r\nContent-Length: zz\r\n\r\n");
    assert_eq!(c.read_response().status, 400);
    drop(c);

    a.send(b"st: test\r\n\r\n");
    a.read_response().assert(200, TEXT, "Hello, Netrunner!");
    a.send(b"GET /json HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(a.read_response().status, 200);
}

#[test]
fn client_half_close_after_request_still_gets_response() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    conn.shutdown_write();
    conn.read_response().assert(200, TEXT, "Hello, Netrunner!");
    conn.assert_closed();
}
