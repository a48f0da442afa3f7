//! HTTPS through the loop over real sockets on 127.0.0.1: a certificate made
//! with rcgen, a rustls client, ALPN, keep-alive, pipelining, a 1 MiB echo,
//! a 16 MiB response to a client that waits before reading, `Request::is_tls`, a close_notify at shutdown, and the errors of
//! [`TlsConfig::from_pem_files`].

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netrunner_loop::{AcceptMode, Config, Server, ServerHandle, TlsConfig, TlsError, TlsListen};
use netrunner_wire::{Body, Request, Response, Status};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Read timeout of every client socket: bounds every wait.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest one response may take in total.
const DEADLINE: Duration = Duration::from_secs(10);

type TlsClient = StreamOwned<ClientConnection, TcpStream>;

fn app(req: &Request<'_>) -> Response {
    match req.path() {
        "/echo" => Response::with_body(
            Status::OK,
            "application/octet-stream",
            Body::Bytes(req.body().to_vec()),
        ),
        "/tls" => Response::text_owned(Status::OK, format!("tls={}", req.is_tls())),
        "/big" => Response::with_body(Status::OK, "application/octet-stream", Body::Bytes(big())),
        "/bytes" => {
            let n = req.query().and_then(|q| q.parse().ok()).unwrap_or(0);
            Response::with_body(
                Status::OK,
                "application/octet-stream",
                Body::Bytes(vec![b'x'; n]),
            )
        }
        path => Response::text_owned(Status::OK, format!("path={path}")),
    }
}

/// More than loopback socket buffers take before the client reads.
fn big() -> Vec<u8> {
    (0..16 << 20).map(|i: usize| (i % 251) as u8).collect()
}

/// A unique, empty directory under the system temp dir; removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "netrunner-loop-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`.
fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
    rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("rcgen certificate")
}

/// A server certificate on disk and what a client needs to trust it.
struct Cert {
    dir: TempDir,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

fn write_cert() -> Cert {
    let dir = TempDir::new();
    let certified = self_signed();
    let cert = dir.write("cert.pem", certified.cert.pem().as_bytes());
    let key = dir.write("key.pem", certified.signing_key.serialize_pem().as_bytes());
    Cert {
        dir,
        cert,
        key,
        der: certified.cert.der().clone(),
    }
}

fn start(cert: &Cert, accept: AcceptMode, threads: usize) -> ServerHandle {
    let config = TlsConfig::from_pem_files(&cert.cert, &cert.key).expect("a usable cert and key");
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        threads,
        accept,
        tls: Some(TlsListen {
            addr: "127.0.0.1:0".parse().unwrap(),
            config,
        }),
        ..Config::default()
    };
    let server = Server::bind(config).unwrap();
    let tls_addr = server.tls_addr().expect("a TLS address once bound");
    assert_ne!(tls_addr.port(), 0);
    assert_ne!(tls_addr, server.local_addr());
    let running = server.start(app).unwrap();
    assert_eq!(running.tls_addr(), Some(tls_addr));
    running
}

fn stop(server: ServerHandle) {
    server.shutdown_trigger().trigger();
    server.join().unwrap();
}

fn client_config(cert: &Cert, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(cert.der.clone()).expect("root certificate");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A TLS connection to `addr` for `name`, handshake done.
fn connect_as(addr: SocketAddr, config: Arc<ClientConfig>, name: ServerName<'static>) -> TlsClient {
    let conn = ClientConnection::new(config, name).expect("client connection");
    let mut client = StreamOwned::new(conn, tcp(addr));
    while client.conn.is_handshaking() {
        client
            .conn
            .complete_io(&mut client.sock)
            .expect("TLS handshake");
    }
    client
}

fn connect(addr: SocketAddr, cert: &Cert) -> TlsClient {
    connect_as(
        addr,
        client_config(cert, &[b"http/1.1"]),
        ServerName::try_from("localhost").unwrap(),
    )
}

/// One response: its head and its body (framed by `Content-Length`).
#[derive(Debug)]
struct Res {
    head: String,
    body: Vec<u8>,
}

impl Res {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

/// Reads `n` whole responses from `stream`, buffering in `buf`.
fn read_responses(stream: &mut impl Read, buf: &mut Vec<u8>, n: usize) -> Vec<Res> {
    let deadline = Instant::now() + DEADLINE;
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while out.len() < n {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).expect("UTF-8 head");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map_or(0, |v| v.parse().expect("Content-Length"));
            if buf.len() >= end + 4 + len {
                let body = buf[end + 4..end + 4 + len].to_vec();
                buf.drain(..end + 4 + len);
                out.push(Res { head, body });
                continue;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no response {} within {DEADLINE:?}",
            out.len() + 1
        );
        let got = stream
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("reading response {}: {e}", out.len() + 1));
        assert!(got > 0, "closed after {} responses", out.len());
        buf.extend_from_slice(&chunk[..got]);
    }
    out
}

fn request(stream: &mut (impl Read + Write), raw: &[u8]) -> Res {
    stream.write_all(raw).unwrap();
    stream.flush().unwrap();
    let mut buf = Vec::new();
    let mut res = read_responses(stream, &mut buf, 1);
    assert!(buf.is_empty(), "bytes after the response: {buf:?}");
    res.remove(0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn alpn_is_http11_when_the_client_offers_it() {
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 1);
    let addr = server.tls_addr().unwrap();

    let offered = connect(addr, &cert);
    assert_eq!(offered.conn.alpn_protocol(), Some(&b"http/1.1"[..]));

    // Offered among others, http/1.1 is still the one chosen.
    let several = connect_as(
        addr,
        client_config(&cert, &[b"h2", b"http/1.1"]),
        ServerName::try_from("localhost").unwrap(),
    );
    assert_eq!(several.conn.alpn_protocol(), Some(&b"http/1.1"[..]));

    // No ALPN offered: none negotiated, and HTTP/1.1 is served anyway.
    let mut none = connect_as(
        addr,
        client_config(&cert, &[]),
        ServerName::try_from("localhost").unwrap(),
    );
    assert_eq!(none.conn.alpn_protocol(), None);
    let res = request(&mut none, b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(res.head.starts_with("HTTP/1.1 200 "), "{res:?}");
    assert_eq!(res.text(), "path=/x");

    drop((offered, several, none));
    stop(server);
}

#[test]
fn the_certificate_verifies_for_the_ip_address_too() {
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 1);
    let mut client = connect_as(
        server.tls_addr().unwrap(),
        client_config(&cert, &[b"http/1.1"]),
        ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into()),
    );
    let res = request(&mut client, b"GET /ip HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(res.text(), "path=/ip");
    drop(client);
    stop(server);
}

#[test]
fn keep_alive_serves_two_requests_on_one_tls_connection() {
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 2);
    let mut client = connect(server.tls_addr().unwrap(), &cert);
    let first = request(&mut client, b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(first.head.starts_with("HTTP/1.1 200 "), "{first:?}");
    assert!(!first.head.contains("Connection: close"), "{first:?}");
    assert_eq!(first.text(), "path=/one");
    let second = request(&mut client, b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(second.text(), "path=/two");
    drop(client);
    stop(server);
}

fn tls_pipelining(accept: AcceptMode) {
    let cert = write_cert();
    let server = start(&cert, accept, 2);
    let addr = server.tls_addr().unwrap();
    let mut clients: Vec<TlsClient> = (0..4).map(|_| connect(addr, &cert)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        // Three requests in one write, so in one or few TLS records.
        let reqs = format!(
            "GET /a{i} HTTP/1.1\r\nHost: x\r\n\r\n\
             POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\
             GET /b{i} HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        c.write_all(reqs.as_bytes()).unwrap();
        c.flush().unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut buf = Vec::new();
        let bodies: Vec<String> = read_responses(c, &mut buf, 3)
            .iter()
            .map(|r| r.text().to_owned())
            .collect();
        assert_eq!(
            bodies,
            [format!("path=/a{i}"), "hi".into(), format!("path=/b{i}")]
        );
        assert!(buf.is_empty(), "bytes after three responses: {buf:?}");
    }
    drop(clients);
    stop(server);
}

#[test]
fn pipelined_requests_over_tls_are_answered_in_order_reuse_port() {
    tls_pipelining(AcceptMode::ReusePort);
}

#[test]
fn pipelined_requests_over_tls_are_answered_in_order_acceptor() {
    tls_pipelining(AcceptMode::Acceptor);
}

#[test]
fn a_one_mib_body_is_echoed_over_tls() {
    const SIZE: usize = 1 << 20;
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 1);
    let body: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    let mut client = connect(server.tls_addr().unwrap(), &cert);
    client
        .write_all(
            format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n").as_bytes(),
        )
        .unwrap();
    client.write_all(&body).unwrap();
    client.flush().unwrap();
    let mut buf = Vec::new();
    let res = read_responses(&mut client, &mut buf, 1).remove(0);
    assert!(res.head.starts_with("HTTP/1.1 200 "), "{}", res.head);
    assert_eq!(res.body.len(), SIZE);
    assert!(res.body == body, "the echoed body differs");
    // The connection is still good for another request after it.
    let next = request(&mut client, b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(next.text(), "path=/after");
    drop(client);
    stop(server);
}

/// The socket fills with TLS records while the client waits; the rest, and
/// the answer pipelined behind, go out once it reads.
#[test]
fn a_response_larger_than_the_socket_takes_goes_out_over_tls_as_the_client_reads() {
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 1);
    let mut client = connect(server.tls_addr().unwrap(), &cert);
    client
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    client.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut buf = Vec::new();
    let res = read_responses(&mut client, &mut buf, 2);
    assert!(res[0].body == big(), "the body differs");
    assert_eq!(res[1].text(), "path=/after");
    drop(client);
    stop(server);
}

/// The socket fills while rustls still holds records of a response the
/// connection wrote whole (a small receive window, the head in two pieces
/// so the general write path answers): the loop must still hear when the
/// socket drains. Registered for reading only, it once did not, and these
/// responses stopped at 64 KiB until the write timeout.
#[test]
fn tls_records_left_over_when_the_socket_fills_still_go_out() {
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 1);
    let addr = server.tls_addr().unwrap();
    for kib in [80, 96, 112] {
        let n = kib * 1024;
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        socket.set_tcp_mss(536).expect("TCP_MAXSEG");
        socket.connect(&addr.into()).expect("connect");
        let tcp: TcpStream = socket.into();
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let conn = ClientConnection::new(
            client_config(&cert, &[b"http/1.1"]),
            ServerName::try_from("localhost").unwrap(),
        )
        .expect("client connection");
        let mut client = StreamOwned::new(conn, tcp);
        let warm = request(&mut client, b"GET /bytes?5 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(warm.text(), "xxxxx");

        client
            .write_all(format!("GET /bytes?{n} HTTP/1.1\r\n").as_bytes())
            .unwrap();
        client.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        client.write_all(b"Host: x\r\n\r\n").unwrap();
        client.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150)); // not reading yet
        let mut buf = Vec::new();
        let res = read_responses(&mut client, &mut buf, 1).remove(0);
        assert_eq!(res.body.len(), n, "{kib} KiB");
        assert!(res.body.iter().all(|&b| b == b'x'), "{kib} KiB");
    }
    stop(server);
}

#[test]
fn is_tls_is_true_over_tls_and_false_over_plain() {
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 2);
    let mut secure = connect(server.tls_addr().unwrap(), &cert);
    let res = request(&mut secure, b"GET /tls HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(res.text(), "tls=true");
    let mut plain = tcp(server.local_addr());
    let res = request(&mut plain, b"GET /tls HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(res.text(), "tls=false");
    drop((secure, plain));
    stop(server);
}

#[test]
fn shutdown_sends_close_notify_to_an_idle_tls_connection() {
    let cert = write_cert();
    let server = start(&cert, AcceptMode::ReusePort, 1);
    let mut client = connect(server.tls_addr().unwrap(), &cert);
    let res = request(&mut client, b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(res.text(), "path=/idle");
    server.shutdown_trigger().trigger();
    // rustls returns Ok(0) only after a close_notify; a bare FIN would be
    // UnexpectedEof.
    let mut rest = Vec::new();
    client
        .read_to_end(&mut rest)
        .expect("a clean TLS close (close_notify)");
    assert!(rest.is_empty(), "bytes after the response: {rest:?}");
    server.join().unwrap();
}

#[test]
fn a_missing_file_is_a_file_error_naming_it() {
    let cert = write_cert();
    let missing = cert.dir.0.join("nope.pem");
    for (c, k) in [(&missing, &cert.key), (&cert.cert, &missing)] {
        match TlsConfig::from_pem_files(c, k) {
            Err(TlsError::File { path, .. }) => assert_eq!(path, missing),
            other => panic!("{c:?} {k:?}: expected TlsError::File, got {other:?}"),
        }
        let message = TlsConfig::from_pem_files(c, k).unwrap_err().to_string();
        assert!(
            message.contains(missing.to_str().unwrap()),
            "names the file: {message}"
        );
    }
}

#[test]
fn a_file_without_a_pem_certificate_is_a_file_error() {
    let cert = write_cert();
    let dir = &cert.dir;
    let garbage = dir.write("garbage.pem", b"this is not PEM at all\n");
    let empty = dir.write("empty.pem", b"");
    // A key where the certificate should be: PEM, but no CERTIFICATE.
    for not_a_cert in [&garbage, &empty, &cert.key] {
        match TlsConfig::from_pem_files(not_a_cert, &cert.key) {
            Err(TlsError::File { path, .. }) => assert_eq!(&path, not_a_cert),
            other => panic!("{not_a_cert:?}: expected TlsError::File, got {other:?}"),
        }
    }
    // A certificate where the key should be: no private key in it.
    for not_a_key in [&garbage, &empty, &cert.cert] {
        match TlsConfig::from_pem_files(&cert.cert, not_a_key) {
            Err(TlsError::File { path, .. }) => assert_eq!(&path, not_a_key),
            other => panic!("{not_a_key:?}: expected TlsError::File, got {other:?}"),
        }
    }
}

#[test]
fn a_key_of_another_certificate_is_a_mismatch() {
    let cert = write_cert();
    let other = self_signed();
    let other_key = cert.dir.write(
        "other-key.pem",
        other.signing_key.serialize_pem().as_bytes(),
    );
    match TlsConfig::from_pem_files(&cert.cert, &other_key) {
        Err(TlsError::Mismatch {
            cert: c, key: k, ..
        }) => {
            assert_eq!(
                (c.as_path(), k.as_path()),
                (cert.cert.as_path(), other_key.as_path())
            );
        }
        other => panic!("expected TlsError::Mismatch, got {other:?}"),
    }
    // And the matching pair loads.
    TlsConfig::from_pem_files(&cert.cert, &cert.key).expect("the matching key");
}
