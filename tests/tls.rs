//! HTTPS end to end (CONTRACT.md, `--tls-cert`, `--tls-key`, `--tls-addr`,
//! `--redirect-https`): the real binary with a certificate made by rcgen in
//! the test, talked to with a rustls client, with raw TCP, and with curl.
//!
//! Deadlines are 300 ms and are checked to fire between 250 ms and 3 s;
//! every wait is a socket read timeout.

use std::io;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::ClientConnection;

use crate::curl::{chunked_upload_echoes, curl, curl_ok, header, split_included};
use crate::options::check_rejected;
use crate::util::{assert_between, self_signed, Cert, Conn, Server, TempDir, TEXT};

const HTML: &str = "text/html; charset=utf-8";
/// The deadline of the timeout tests.
const TIMEOUT: &str = "300ms";
/// Earliest a 300 ms deadline may fire.
const EARLIEST: Duration = Duration::from_millis(250);
/// Latest a 300 ms deadline may fire, on a loaded machine.
const LATEST: Duration = Duration::from_secs(3);
/// A TLS alert record starts with this content type.
const ALERT: u8 = 0x15;

/// Starts the binary serving HTTPS with `cert` on a free port, and `extra`.
fn tls_server(cert: &Cert, extra: &[&str]) -> Server {
    let mut args = vec![
        "--tls-addr",
        "127.0.0.1:0",
        "--tls-cert",
        cert.cert_arg(),
        "--tls-key",
        cert.key_arg(),
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A `--root` tree: `index.html`, `hello.txt`, `sub/index.html`, and a
/// 300 KiB `big.bin` (sent in pieces, so through several TLS writes).
struct Root {
    dir: TempDir,
    big: Vec<u8>,
}

const INDEX: &str = "<!doctype html><title>netrunner</title>\n";

impl Root {
    fn new() -> Root {
        let dir = TempDir::new();
        dir.write("index.html", INDEX.as_bytes());
        dir.write("hello.txt", b"hi from a file\n");
        dir.write("sub/index.html", b"<p>sub</p>\n");
        let big: Vec<u8> = (0..300 * 1024u32).map(|i| (i % 251) as u8).collect();
        dir.write("big.bin", &big);
        Root { dir, big }
    }

    fn arg(&self) -> &str {
        self.dir.path().to_str().expect("UTF-8 temp path")
    }
}

/// The first record of a TLS handshake (the ClientHello) as a rustls client
/// would send it to `localhost`.
fn client_hello(cert: &Cert) -> Vec<u8> {
    let name = ServerName::try_from("localhost").expect("server name");
    let mut tls = ClientConnection::new(cert.client_config(), name).expect("client connection");
    let mut out = Vec::new();
    while tls.wants_write() {
        tls.write_tls(&mut out).expect("write to a Vec");
    }
    assert_eq!(out.first(), Some(&0x16), "a handshake record");
    out
}

/// The server ends a connection it will not speak TLS on: EOF or a reset,
/// after nothing or a TLS alert; never a read timeout. Returns how long it
/// took from `since`.
#[track_caller]
fn expect_dropped(conn: &mut Conn, since: Instant, what: &str) -> Duration {
    let rest = match conn.read_to_end() {
        Ok(rest) => rest,
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Vec::new(),
        Err(e) => panic!("{what}: the connection was not closed: {e}"),
    };
    let elapsed = since.elapsed();
    assert!(
        rest.is_empty() || rest[0] == ALERT,
        "{what}: bytes other than a TLS alert: {rest:02x?}"
    );
    elapsed
}

#[test]
fn both_listening_lines_show_real_ports() {
    let cert = Cert::new();
    let s = tls_server(&cert, &[]);
    let (plain, tls) = (s.addr(), s.tls_addr());
    assert!(
        plain.ip().is_loopback() && tls.ip().is_loopback(),
        "{plain} {tls}"
    );
    assert_ne!(tls.port(), 0);
    assert_ne!(tls.port(), plain.port());
    assert_eq!(s.get("/healthz").status, 200, "plain HTTP still served");
    let mut conn = s.connect_tls(&cert);
    conn.send(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(conn.read_response().text(), "ok");
}

#[test]
fn every_default_route_over_tls() {
    let cert = Cert::new();
    let root = Root::new();
    let s = tls_server(&cert, &["--root", root.arg()]);
    // All on one connection: keep-alive over TLS on the way.
    let mut conn = s.connect_tls(&cert);
    let tls = conn.tls().expect("a TLS connection");
    assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]), "ALPN");

    let mut get = |path: &str| {
        conn.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        let res = conn.read_response();
        assert!(!res.has_token("connection", "close"), "{path}: {res:#?}");
        res
    };
    get("/").assert(200, TEXT, "Welcome to Netrunner!");
    get("/hello").assert(200, TEXT, "Hello, Netrunner!");
    get("/hello/w%C3%B6rld").assert(200, TEXT, "Hello, wörld!");
    get("/hello/bob?x=1").assert(200, TEXT, "Hello, bob!");
    get("/plaintext").assert(200, "text/plain", "Hello, World!");
    get("/json").assert(200, "application/json", r#"{"message":"Hello, World!"}"#);
    let res = get("/healthz");
    assert_eq!((res.status, res.text()), (200, "ok"), "{res:#?}");
    let index = get("/static/index.html");
    index.assert(200, HTML, INDEX);
    assert!(index.header("etag").is_some(), "{index:#?}");
    assert!(index.header("last-modified").is_some(), "{index:#?}");
    get("/static/").assert(200, HTML, INDEX);
    get("/static/hello.txt").assert(200, TEXT, "hi from a file\n");
    get("/static/sub/").assert(200, HTML, "<p>sub</p>\n");
    let res = get("/static/sub");
    assert_eq!(res.status, 308, "{res:#?}");
    assert_eq!(res.header("location"), Some("/static/sub/"), "{res:#?}");
    let big = get("/static/big.bin");
    assert_eq!(big.status, 200, "{big:#?}");
    assert!(
        big.body == root.big,
        "{} bytes of big.bin back",
        big.body.len()
    );
    let res = get("/nope");
    assert_eq!(res.status, 404, "{res:#?}");

    conn.send(b"GET /static/index.html HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-8\r\n\r\n");
    let res = conn.read_response();
    assert_eq!((res.status, res.text()), (206, &INDEX[..9]), "{res:#?}");
    conn.send(b"HEAD /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let res = conn.read_head_response();
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(res.header("content-length"), Some("17"), "{res:#?}");

    conn.send(
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/x-test\r\n\
          Content-Length: 11\r\n\r\nhello world",
    );
    conn.read_response()
        .assert(200, "text/x-test", "hello world");
    conn.send(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
    conn.read_response()
        .assert(200, "application/octet-stream", "abc");

    // The last request closes: the response says so, then close_notify.
    conn.send(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let res = conn.read_response();
    res.assert(200, TEXT, "Hello, Netrunner!");
    assert!(res.has_token("connection", "close"), "{res:#?}");
    conn.assert_closed_cleanly();
}

#[test]
fn keep_alive_and_pipelining_over_tls() {
    let cert = Cert::new();
    let s = tls_server(&cert, &[]);
    let mut conn = s.connect_tls(&cert);
    conn.send(b"GET /hello/one HTTP/1.1\r\nHost: localhost\r\n\r\n");
    conn.read_response().assert(200, TEXT, "Hello, one!");
    conn.send(b"GET /hello/two HTTP/1.1\r\nHost: localhost\r\n\r\n");
    conn.read_response().assert(200, TEXT, "Hello, two!");

    // Three requests in one write, answered in order.
    conn.send(
        b"GET /hello/a HTTP/1.1\r\nHost: localhost\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/x-p\r\nContent-Length: 2\r\n\r\nhi\
          GET /hello/b HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    conn.read_response().assert(200, TEXT, "Hello, a!");
    conn.read_response().assert(200, "text/x-p", "hi");
    conn.read_response().assert(200, TEXT, "Hello, b!");

    // Sixteen pipelined GETs: more answers than one TLS record may carry.
    let burst = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(16);
    conn.send(burst.as_bytes());
    for _ in 0..16 {
        conn.read_response()
            .assert(200, "text/plain", "Hello, World!");
    }
    assert_eq!(conn.buffered(), 0, "nothing after the last answer");
}

#[test]
fn a_large_body_is_echoed_over_tls() {
    const SIZE: usize = 1 << 20;
    let cert = Cert::new();
    let s = tls_server(&cert, &[]);
    let body: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    let mut conn = s.connect_tls(&cert);
    conn.send(
        format!("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {SIZE}\r\n\r\n")
            .as_bytes(),
    );
    conn.send(&body);
    let res = conn.read_response();
    assert_eq!(res.status, 200, "{res:#?}");
    assert!(
        res.body == body,
        "echoed {} bytes of {SIZE}",
        res.body.len()
    );
    conn.send(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
    conn.read_response().assert(200, TEXT, "Hello, Netrunner!");
}

/// `curl --cacert` verifies the certificate for `localhost` and gets HTTP/1.1.
#[test]
fn curl_over_tls() {
    let cert = Cert::new();
    let s = tls_server(&cert, &[]);
    let port = s.tls_addr().port();
    // `--resolve` keeps curl on 127.0.0.1 while it verifies `localhost`.
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = |path: &str| format!("https://localhost:{port}{path}");
    let trusting = [
        "--cacert".to_owned(),
        cert.cert_arg().to_owned(),
        "--resolve".to_owned(),
        resolve.clone(),
    ];
    let tls = |args: &[&str]| -> Vec<String> {
        let args = args.iter().map(|a| (*a).to_owned());
        trusting.iter().cloned().chain(args).collect()
    };
    fn as_refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    let hello = url("/hello");
    let args = tls(&["-i", "-w", "%{http_version} %{ssl_verify_result}", &hello]);
    let Some(out) = curl_ok(&as_refs(&args)) else {
        return;
    };
    let (status, headers, body) = split_included(&out);
    assert_eq!(status, "HTTP/1.1 200 OK", "{out}");
    assert_eq!(header(&headers, "content-type"), Some(TEXT));
    assert_eq!(
        body, "Hello, Netrunner!1.1 0",
        "body, HTTP version, verify result"
    );

    let echo = url("/echo");
    let args = tls(&[
        "-i",
        "-H",
        "Content-Type: text/x-curl",
        "--data-binary",
        "hello from curl",
        &echo,
    ]);
    let out = curl_ok(&as_refs(&args)).expect("curl");
    let (status, headers, body) = split_included(&out);
    assert_eq!(status, "HTTP/1.1 200 OK", "{out}");
    assert_eq!(header(&headers, "content-type"), Some("text/x-curl"));
    assert_eq!(body, "hello from curl");

    // A chunked upload of 200 KB, echoed into a file.
    chunked_upload_echoes(&as_refs(&trusting), &echo).expect("curl");

    // Two URLs, one TLS connection.
    let (a, b) = (url("/hello/a"), url("/hello/b"));
    let args = tls(&["-w", " %{num_connects}\n", &a, &b]);
    let out = curl_ok(&as_refs(&args)).expect("curl");
    assert_eq!(out, "Hello, a! 1\nHello, b! 0\n");

    // Without the certificate to trust, curl refuses the server.
    let out = curl(&["--resolve", &resolve, &hello]).expect("curl");
    assert!(!out.status.success(), "curl trusted an unknown certificate");
}

/// A client that connects to the TLS port and sends nothing is closed at
/// the header timeout.
#[test]
fn a_silent_tls_connection_is_closed_at_the_header_timeout() {
    let cert = Cert::new();
    let s = tls_server(&cert, &["--header-timeout", TIMEOUT]);
    let connected = Instant::now();
    let mut conn = Conn::connect(s.tls_addr());
    let elapsed = expect_dropped(&mut conn, connected, "silent client");
    assert_between(elapsed, EARLIEST, LATEST, "close of a silent TLS client");
}

/// Half a ClientHello, and then nothing: closed at the header timeout.
#[test]
fn a_stalled_handshake_is_closed_at_the_header_timeout() {
    let cert = Cert::new();
    let s = tls_server(&cert, &["--header-timeout", TIMEOUT]);
    let hello = client_hello(&cert);
    let mut conn = Conn::connect(s.tls_addr());
    conn.stream().set_nodelay(true).expect("nodelay");
    let sent = Instant::now();
    conn.send(&hello[..hello.len() / 2]);
    let elapsed = expect_dropped(&mut conn, sent, "half a ClientHello");
    assert_between(elapsed, EARLIEST, LATEST, "close of a stalled handshake");
    // The server is fine.
    let mut ok = s.connect_tls(&cert);
    ok.send(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(ok.read_response().text(), "ok");
}

/// After a handshake, a request head that stops is answered `408` at the
/// header timeout, like over plain TCP, and the connection is closed with
/// close_notify.
#[test]
fn a_stalled_head_over_tls_gets_408_at_the_header_timeout() {
    let cert = Cert::new();
    let s = tls_server(&cert, &["--header-timeout", TIMEOUT]);
    let mut conn = s.connect_tls(&cert);
    conn.stream().set_nodelay(true).expect("nodelay");
    let sent = Instant::now();
    conn.send(b"GET /hello HTTP/1.1\r\nHost: loc");
    let res = conn.read_response();
    assert_between(sent.elapsed(), EARLIEST, LATEST, "408 of a stalled head");
    res.assert_error_close(408);
    conn.assert_closed_cleanly();
}

/// A handshake with no request after it: closed at the header timeout, with
/// close_notify.
#[test]
fn a_silent_connection_after_the_handshake_is_closed_at_the_header_timeout() {
    let cert = Cert::new();
    let s = tls_server(&cert, &["--header-timeout", TIMEOUT]);
    let connected = Instant::now();
    let mut conn = s.connect_tls(&cert);
    conn.assert_closed_cleanly();
    assert_between(
        connected.elapsed(),
        EARLIEST,
        LATEST,
        "close after the handshake",
    );
}

/// Plain HTTP and garbage sent to the TLS port end that connection at
/// once (well before the 10 s header timeout), and the server goes on
/// serving TLS and plain clients.
#[test]
fn plain_http_and_garbage_to_the_tls_port_close_that_connection() {
    let cert = Cert::new();
    let s = tls_server(&cert, &[]);
    let mut record_with_bad_version = vec![0x16, 0x7f, 0x7f, 0x00, 0x10];
    record_with_bad_version.extend_from_slice(&[0xab; 16]);
    let mut oversized_record = vec![0x16, 0x03, 0x01, 0xff, 0xff];
    oversized_record.extend_from_slice(&[0u8; 64]);
    let inputs: [(&str, Vec<u8>); 4] = [
        (
            "plain HTTP",
            b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        (
            "binary garbage",
            (0..1024u32).map(|i| (i * 31 % 256) as u8).collect(),
        ),
        ("a record with a bad version", record_with_bad_version),
        ("an oversized handshake record", oversized_record),
    ];
    for (what, bytes) in inputs {
        let mut conn = Conn::connect(s.tls_addr());
        let sent = Instant::now();
        conn.send(&bytes);
        let elapsed = expect_dropped(&mut conn, sent, what);
        assert_between(elapsed, Duration::ZERO, LATEST, what);

        let mut tls = s.connect_tls(&cert);
        tls.send(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
        tls.read_response().assert(200, TEXT, "Hello, Netrunner!");
        s.get("/hello").assert(200, TEXT, "Hello, Netrunner!");
    }
}

/// A certificate the client does not trust fails the handshake on the
/// client's side; the server goes on.
#[test]
fn a_client_that_rejects_the_certificate_does_not_hurt_the_server() {
    let cert = Cert::new();
    let stranger = Cert::new();
    let s = tls_server(&cert, &[]);
    let name = ServerName::try_from("localhost").expect("server name");
    let mut tls = ClientConnection::new(stranger.client_config(), name).expect("client connection");
    let tcp = Conn::connect(s.tls_addr());
    let mut tcp = tcp.stream().try_clone().expect("clone socket");
    let mut failed = None;
    while tls.is_handshaking() {
        if let Err(e) = tls.complete_io(&mut tcp) {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("the handshake fails on an unknown certificate");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    let mut ok = s.connect_tls(&cert);
    ok.send(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(ok.read_response().text(), "ok");
}

/// SIGTERM while a TLS upload is half sent: it completes, its response has
/// `Connection: close`, the client gets a close_notify, and the exit is 0.
#[cfg(unix)]
#[test]
fn sigterm_finishes_a_tls_upload_in_progress() {
    use crate::shutdown::{expect_refused_within, expect_tls_refused_within};

    let cert = Cert::new();
    let mut s = tls_server(&cert, &[]);
    let upload = s.connect_tls(&cert);
    let (tls_addr, addr) = (s.tls_addr(), s.addr());
    // Both listeners close: the shutdown has begun. Over TLS the clean
    // close at the end needs the server's close_notify.
    crate::shutdown::drain_an_upload(&mut s, upload, "localhost", || {
        expect_tls_refused_within(tls_addr, Duration::from_secs(3));
        expect_refused_within(addr, Duration::from_secs(3));
    });
}

/// SIGTERM with an idle TLS keep-alive connection: close_notify, exit 0.
#[cfg(unix)]
#[test]
fn sigterm_closes_an_idle_tls_connection_with_close_notify() {
    let cert = Cert::new();
    let mut s = tls_server(&cert, &[]);
    let mut idle = s.connect_tls(&cert);
    idle.send(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
    idle.read_response().assert(200, TEXT, "Hello, Netrunner!");
    assert_eq!(s.terminate(), Some(0), "exit status after SIGTERM");
    idle.assert_closed_cleanly();
}

#[test]
fn redirect_https_sends_plain_requests_to_the_tls_port() {
    let cert = Cert::new();
    let root = Root::new();
    let s = tls_server(&cert, &["--redirect-https", "--root", root.arg()]);
    let (plain, tls) = (s.addr().port(), s.tls_addr().port());
    let redirect = |target: &str, host: Option<&str>| {
        let host = host.map_or_else(String::new, |h| format!("Host: {h}\r\n"));
        let res = s.request(&format!("GET {target} HTTP/1.1\r\n{host}\r\n"));
        assert_eq!(res.status, 308, "{target}: {res:#?}");
        res.header("location").map(str::to_owned)
    };
    let host = format!("127.0.0.1:{plain}");
    assert_eq!(
        redirect("/hello?x=1", Some(&host)),
        Some(format!("https://127.0.0.1:{tls}/hello?x=1"))
    );
    assert_eq!(
        redirect("/static/hello.txt", Some(&host)),
        Some(format!("https://127.0.0.1:{tls}/static/hello.txt"))
    );
    assert_eq!(
        redirect("/static/sub", Some(&host)),
        Some(format!("https://127.0.0.1:{tls}/static/sub"))
    );
    assert_eq!(
        redirect("/nope", Some(&format!("localhost:{plain}"))),
        Some(format!("https://localhost:{tls}/nope"))
    );
    // A POST is redirected too (308 keeps the method and body).
    let res = s.request(&format!(
        "POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n\r\nabc"
    ));
    assert_eq!(res.status, 308, "{res:#?}");
    assert_eq!(
        res.header("location"),
        Some(format!("https://127.0.0.1:{tls}/echo").as_str())
    );

    // Over TLS the same requests are served, not redirected.
    let mut conn = s.connect_tls(&cert);
    conn.send(format!("GET /hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{tls}\r\n\r\n").as_bytes());
    conn.read_response().assert(200, TEXT, "Hello, Netrunner!");
    conn.send(b"GET /static/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n");
    conn.read_response().assert(200, TEXT, "hi from a file\n");

    // curl follows the redirect and verifies the certificate for 127.0.0.1.
    let start = format!("http://127.0.0.1:{plain}/hello?x=1");
    let args = [
        "-L",
        "--cacert",
        cert.cert_arg(),
        "-w",
        " %{url_effective}",
        &start,
    ];
    if let Some(out) = curl_ok(&args) {
        assert_eq!(
            out,
            format!("Hello, Netrunner! https://127.0.0.1:{tls}/hello?x=1")
        );
    }
}

#[test]
fn unusable_certificates_and_keys_exit_2_naming_the_file() {
    let cert = Cert::new();
    let missing = cert.dir.path().join("missing-cert.pem");
    let missing = missing.to_str().expect("UTF-8 temp path");
    let garbage_key = cert.dir.write("garbage-key.pem", b"not a key\n");
    let garbage_key = garbage_key.to_str().expect("UTF-8 temp path");
    let garbage_cert = cert
        .dir
        .write("garbage-cert.pem", b"-----BEGIN NOTHING-----\n");
    let garbage_cert = garbage_cert.to_str().expect("UTF-8 temp path");
    let other_key = cert.dir.write(
        "other-key.pem",
        self_signed().signing_key.serialize_pem().as_bytes(),
    );
    let other_key = other_key.to_str().expect("UTF-8 temp path");
    let (c, k) = (cert.cert_arg(), cert.key_arg());
    for (cert_file, key_file, named) in [
        (missing, k, missing),
        (c, garbage_key, garbage_key),
        (garbage_cert, k, garbage_cert),
        (c, other_key, other_key),
        (k, k, k),
    ] {
        check_rejected(
            &[
                "--tls-addr",
                "127.0.0.1:0",
                "--tls-cert",
                cert_file,
                "--tls-key",
                key_file,
            ],
            named,
        );
    }
}

#[test]
fn tls_options_that_need_each_other_exit_2() {
    let cert = Cert::new();
    check_rejected(&["--redirect-https"], "--redirect-https");
    check_rejected(
        &["--tls-addr", "127.0.0.1:0", "--tls-cert", cert.cert_arg()],
        "--tls-key",
    );
    check_rejected(
        &["--tls-addr", "127.0.0.1:0", "--tls-key", cert.key_arg()],
        "--tls-cert",
    );
    check_rejected(&["--tls-addr", "nope"], "--tls-addr");
}
