//! Test support: start the real `netrunner-server` binary and talk raw HTTP/1.1 to it,
//! over TCP or over TLS (rustls, with a certificate made by rcgen).
//!
//! Everything here is bounded: the listening line is awaited with a timeout,
//! every socket has read and write timeouts, and every read loop stops at a
//! deadline or a byte cap. Nothing sleeps.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// The content type of the default application's text answers.
pub(crate) const TEXT: &str = "text/plain; charset=utf-8";

/// How long the server may take to print its listening line or to exit.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Read and write timeout of every test socket.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time one response (or one wait for a close) may take in total.
const RESPONSE_DEADLINE: Duration = Duration::from_secs(10);
/// The most bytes a test connection ever buffers.
const MAX_READ: usize = 32 << 20;

/// The path of the server binary: `$NETRUNNER_BIN`, else next to the test
/// binary (`target/<profile>/deps/tests-xxxx` -> `target/<profile>/netrunner-server`),
/// else `target/release/netrunner-server`.
pub(crate) fn bin() -> PathBuf {
    if let Some(path) = std::env::var_os("NETRUNNER_BIN") {
        return PathBuf::from(path);
    }
    let name = format!("netrunner-server{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/tests-xxxx
    let profile_dir = exe.parent().and_then(Path::parent);
    if let Some(dir) = profile_dir {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return candidate;
        }
        if let Some(target) = dir.parent() {
            let candidate = target.join("release").join(&name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "netrunner-server not found: build it (cargo build --release -p netrunner-server) \
         or set NETRUNNER_BIN (test binary: {})",
        exe.display()
    );
}

/// The arguments every test server gets before its own.
const BASE_ARGS: [&str; 4] = ["--addr", "127.0.0.1:0", "--threads", "2"];

/// A running server; killed when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    /// `None` once [`Server::terminate`] has taken it.
    child: Option<Child>,
    addr: SocketAddr,
    /// The HTTPS address, from the second listening line (TLS servers only).
    tls_addr: Option<SocketAddr>,
    /// The stdout lines after the listening lines (the access log).
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the binary with `--addr 127.0.0.1:0 --threads 2` and `args`,
    /// and waits (at most 10 s) for its `netrunner listening on` line (and,
    /// when `args` name `--tls-cert`, for the `https://` line after it).
    ///
    /// # Panics
    ///
    /// If the binary cannot be spawned, exits, or prints no listening line in time.
    pub(crate) fn start(args: &[&str]) -> Server {
        Server::spawn(Command::new(bin()), args)
    }

    /// Like [`Server::start`], but the server runs with `RLIMIT_NOFILE` set
    /// to `nofile` (through `sh -c 'ulimit -n N && exec ...'`, so the pid is
    /// the server's own).
    #[cfg(target_os = "linux")]
    pub(crate) fn start_with_fd_limit(nofile: u32, args: &[&str]) -> Server {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(bin());
        Server::spawn(sh, args)
    }

    /// Runs `command` with the base arguments and `args`, and waits for the
    /// listening line.
    fn spawn(mut command: Command, args: &[&str]) -> Server {
        let mut child = command
            .args(BASE_ARGS)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let tls = args
            .iter()
            .any(|a| *a == "--tls-cert" || a.starts_with("--tls-cert="));
        let (tx, rx) = mpsc::channel();
        let (line_tx, lines) = mpsc::channel();
        // The reader thread keeps draining stdout until the child exits, so
        // the server never blocks on a full pipe; the lines after the
        // listening lines (the access log) go to `lines`.
        thread::spawn(move || {
            let mut http = None;
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sent {
                    let _ = line_tx.send(line);
                    continue;
                }
                if let Some(addr) = line.strip_prefix("netrunner listening on http://") {
                    http = Some(addr.trim().to_owned());
                } else if let Some(addr) = line.strip_prefix("netrunner listening on https://") {
                    if let Some(http) = http.take() {
                        let _ = tx.send(Ok((http, Some(addr.trim().to_owned()))));
                        sent = true;
                    }
                }
                if !tls {
                    if let Some(http) = http.take() {
                        let _ = tx.send(Ok((http, None)));
                        sent = true;
                    }
                }
            }
            if !sent {
                let _ = tx.send(Err(()));
            }
        });
        let (addr, tls_addr) = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(addrs)) => addrs,
            Ok(Err(())) => {
                let status = child.wait().expect("wait");
                panic!("server {args:?} exited ({status}) without its listening lines");
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server {args:?}: no listening lines within {START_TIMEOUT:?}");
            }
        };
        let parse = |addr: String| -> SocketAddr {
            addr.parse()
                .unwrap_or_else(|e| panic!("listening line address {addr:?}: {e}"))
        };
        let addr = parse(addr);
        let tls_addr = tls_addr.map(parse);
        Server {
            child: Some(child),
            addr,
            tls_addr,
            lines,
        }
    }

    /// The next stdout line after the listening lines, waiting at most
    /// 10 s.
    #[track_caller]
    pub(crate) fn next_line(&self) -> String {
        self.lines
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|e| panic!("no stdout line within {START_TIMEOUT:?}: {e}"))
    }

    /// Asserts that no further stdout line shows up for a short while.
    #[track_caller]
    pub(crate) fn expect_no_more_lines(&self) {
        if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            panic!("unexpected stdout: {line:?}");
        }
    }

    /// The address from the listening line.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address from the `https://` listening line.
    ///
    /// # Panics
    ///
    /// If the server was started without `--tls-cert`.
    #[track_caller]
    pub(crate) fn tls_addr(&self) -> SocketAddr {
        self.tls_addr.expect("a server started with --tls-cert")
    }

    /// A new raw connection to this server.
    pub(crate) fn connect(&self) -> Conn {
        Conn::connect(self.addr)
    }

    /// A keep-alive connection that has had `GET /hello/{i}` answered, to
    /// hold open.
    #[track_caller]
    pub(crate) fn served(&self, i: usize) -> Conn {
        let mut conn = self.connect();
        conn.hello(i);
        conn
    }

    /// `HEAD path` then `GET path` pipelined on one new connection: both
    /// `200`, the HEAD with the GET's fields (`Date` aside) and
    /// `Content-Length` and no body, nothing after the GET. The GET's
    /// response.
    #[track_caller]
    pub(crate) fn head_matches_get(&self, path: &str) -> Response {
        let mut conn = self.connect();
        conn.send(
            format!(
                "HEAD {path} HTTP/1.1\r\nHost: test\r\n\r\nGET {path} HTTP/1.1\r\nHost: test\r\n\r\n"
            )
            .as_bytes(),
        );
        let head = conn.read_head_response();
        let get = conn.read_response();
        assert_eq!(head.status, 200, "HEAD {path}: {head:#?}");
        assert_eq!(get.status, 200, "GET {path}: {get:#?}");
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "HEAD {path} has the GET Content-Length"
        );
        let without_date = |r: &Response| {
            let mut h: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect();
            h.sort();
            h
        };
        assert_eq!(
            without_date(&head),
            without_date(&get),
            "HEAD {path} fields = GET fields"
        );
        assert_eq!(conn.buffered(), 0, "{path}: bytes after the GET");
        get
    }

    /// A new TLS connection to this server's HTTPS address, trusting
    /// `cert`, for server name `localhost`; the handshake is done.
    pub(crate) fn connect_tls(&self, cert: &Cert) -> Conn {
        Conn::connect_tls(self.tls_addr(), &cert.client_config(), "localhost")
    }

    /// Sends one request on a new connection and reads its response (a
    /// head alone for `HEAD`).
    pub(crate) fn request(&self, raw: &str) -> Response {
        let mut conn = self.connect();
        conn.send(raw.as_bytes());
        if raw.starts_with("HEAD ") {
            conn.read_head_response()
        } else {
            conn.read_response()
        }
    }

    /// `GET path` on a new connection.
    pub(crate) fn get(&self, path: &str) -> Response {
        self.request(&format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"))
    }

    /// The server's process id.
    #[cfg(unix)]
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("server already exited").id()
    }

    /// Whether the process is still running (it has not exited).
    #[cfg(target_os = "linux")]
    pub(crate) fn is_running(&mut self) -> bool {
        let child = self.child.as_mut().expect("server already exited");
        child.try_wait().expect("try_wait").is_none()
    }

    /// Sends SIGTERM and waits (at most 10 s) for the process to exit;
    /// returns its exit code (`None`: killed by a signal).
    ///
    /// # Panics
    ///
    /// If it is still running after 10 s (it is killed first).
    #[cfg(unix)]
    pub(crate) fn terminate(&mut self) -> Option<i32> {
        self.signal("TERM");
        self.wait_exit()
    }

    /// Sends signal `name` (`TERM`, `INT`, ...) without waiting.
    #[cfg(unix)]
    #[track_caller]
    pub(crate) fn signal(&self, name: &str) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid}: {status}");
    }

    /// Waits (at most 10 s) for the process to exit by itself; returns its
    /// exit code (`None`: killed by a signal).
    ///
    /// # Panics
    ///
    /// If it is still running after 10 s (it is killed first).
    #[cfg(unix)]
    #[track_caller]
    pub(crate) fn wait_exit(&mut self) -> Option<i32> {
        let mut child = self.child.take().expect("server already exited");
        let pid = child.id().to_string();
        let (tx, rx) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let status = child.wait();
            let _ = tx.send(());
            status
        });
        if rx.recv_timeout(START_TIMEOUT).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            let _ = waiter.join();
            panic!("server did not exit within {START_TIMEOUT:?}");
        }
        waiter.join().expect("waiter thread").expect("wait").code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a server run that was expected to exit ended.
#[derive(Debug)]
pub(crate) struct Exit {
    /// The exit status (`None` if killed by a signal).
    pub(crate) code: Option<i32>,
    /// Everything it printed on stdout.
    pub(crate) stdout: String,
    /// Everything it printed on stderr.
    pub(crate) stderr: String,
}

/// Runs the binary with `--addr 127.0.0.1:0 --threads 2` and `args`, expecting it
/// to exit by itself within 10 s (an option error, `--help`).
///
/// # Panics
///
/// If it is still running after 10 s (it is killed first).
pub(crate) fn start_expect_exit(args: &[&str]) -> Exit {
    let mut child = Command::new(bin())
        .args(BASE_ARGS)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin().display()));
    let out = drain(child.stdout.take().expect("piped stdout"));
    let err = drain(child.stderr.take().expect("piped stderr"));
    // Both pipes reach EOF when the process exits.
    let deadline = Instant::now() + START_TIMEOUT;
    let collect = |rx: &mpsc::Receiver<Vec<u8>>| {
        let left = deadline.saturating_duration_since(Instant::now());
        rx.recv_timeout(left).ok()
    };
    let (stdout, stderr) = (collect(&out), collect(&err));
    let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("server {args:?} did not exit within {START_TIMEOUT:?}");
    };
    let status = child.wait().expect("wait");
    Exit {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Reads `pipe` to EOF on a thread; the bytes arrive on the channel.
fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// A unique, empty directory under the system temp dir; removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates the directory.
    pub(crate) fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "netrunner-tests-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `rel` under the directory, creating parents.
    pub(crate) fn write(&self, rel: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One parsed HTTP response.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub(crate) version: String,
    /// The status code.
    pub(crate) status: u16,
    /// The reason phrase.
    pub(crate) reason: String,
    /// Header fields in order, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {} {}", self.version, self.status, self.reason)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {value}")?;
        }
        write!(f, "\n{:?} ({} bytes)", lossy(&self.body), self.body.len())
    }
}

impl Response {
    /// The only value of header `name` (case-insensitive); panics if repeated.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let all = self.headers_named(name);
        assert!(all.len() <= 1, "header {name} repeated: {:?}", self.headers);
        all.first().copied()
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub(crate) fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a comma-separated header `name` holds `token` (case-insensitive).
    pub(crate) fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers_named(name)
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The body as UTF-8.
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    /// Asserts the status, `Content-Type` and body at once.
    #[track_caller]
    pub(crate) fn assert(&self, status: u16, content_type: &str, body: &str) {
        assert_eq!(
            (self.status, self.header("content-type"), self.text()),
            (status, Some(content_type), body),
            "{self:#?}"
        );
    }

    /// Asserts the shape of an error response: `status`, plain text naming the
    /// status, and `Connection: close`.
    #[track_caller]
    pub(crate) fn assert_error_close(&self, status: u16) {
        assert_eq!(self.status, status, "{self:#?}");
        assert_eq!(
            self.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{self:#?}"
        );
        assert!(
            self.text().contains(&status.to_string()),
            "error body names the status: {self:#?}"
        );
        assert!(
            self.has_token("connection", "close"),
            "Connection: close: {self:#?}"
        );
    }
}

/// A raw client connection with its own response reader.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: Stream,
    /// Bytes received but not yet parsed.
    buf: Vec<u8>,
}

/// What a [`Conn`] talks over: TCP, or a rustls client over TCP.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            // Ok(0) only after the server's close_notify; a bare FIN is
            // `UnexpectedEof`.
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, made with
/// rcgen, in `cert.pem` and `key.pem` of its own temp dir.
#[derive(Debug)]
pub(crate) struct Cert {
    /// The directory holding the files; removed on drop.
    pub(crate) dir: TempDir,
    /// `cert.pem`.
    pub(crate) cert: PathBuf,
    /// `key.pem`.
    pub(crate) key: PathBuf,
    der: CertificateDer<'static>,
}

impl Cert {
    /// Generates the certificate and key and writes them.
    pub(crate) fn new() -> Cert {
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

    /// `cert.pem` as a `&str`, for the command line.
    pub(crate) fn cert_arg(&self) -> &str {
        self.cert.to_str().expect("UTF-8 temp path")
    }

    /// `key.pem` as a `&str`, for the command line.
    pub(crate) fn key_arg(&self) -> &str {
        self.key.to_str().expect("UTF-8 temp path")
    }

    /// A rustls client configuration (ring) that trusts only this
    /// certificate and offers ALPN `http/1.1`.
    pub(crate) fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).expect("root certificate");
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// A fresh self-signed certificate and key for `localhost` and `127.0.0.1`.
pub(crate) fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
    rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("rcgen certificate")
}

impl Conn {
    /// Connects to `addr` with 5 s read and write timeouts.
    pub(crate) fn connect(addr: SocketAddr) -> Conn {
        assert!(
            addr.ip().is_loopback(),
            "tests only talk to loopback: {addr}"
        );
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("write timeout");
        Conn {
            stream: Stream::Plain(stream),
            buf: Vec::new(),
        }
    }

    /// Connects to `addr` (5 s read and write timeouts) and completes a TLS
    /// handshake for server name `name` with `config`.
    #[track_caller]
    pub(crate) fn connect_tls(addr: SocketAddr, config: &Arc<ClientConfig>, name: &str) -> Conn {
        let Conn { stream, buf } = Conn::connect(addr);
        let Stream::Plain(tcp) = stream else {
            unreachable!("a fresh connection is plain")
        };
        let name = ServerName::try_from(name.to_owned()).expect("server name");
        let tls = ClientConnection::new(Arc::clone(config), name).expect("client connection");
        let mut tls = StreamOwned::new(tls, tcp);
        // Bounded: every read and write has the socket's 5 s timeout.
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .unwrap_or_else(|e| panic!("TLS handshake with {addr}: {e}"));
        }
        Conn {
            stream: Stream::Tls(Box::new(tls)),
            buf,
        }
    }

    /// The TLS connection, for what the handshake agreed (ALPN, version);
    /// `None` on a plain connection.
    pub(crate) fn tls(&self) -> Option<&ClientConnection> {
        match &self.stream {
            Stream::Plain(_) => None,
            Stream::Tls(tls) => Some(&tls.conn),
        }
    }

    /// The socket, for options such as `set_nodelay`.
    pub(crate) fn stream(&self) -> &TcpStream {
        self.stream.tcp()
    }

    /// How many received bytes are buffered and not yet parsed.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Writes all of `bytes`; panics on error.
    #[track_caller]
    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes).expect("send");
    }

    /// Writes all of `bytes`.
    pub(crate) fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Closes the sending half (the server sees EOF).
    pub(crate) fn shutdown_write(&self) {
        self.stream
            .tcp()
            .shutdown(Shutdown::Write)
            .expect("shutdown write");
    }

    /// Sends `GET /hello/{i}` and checks its answer, `Hello, {i}!`.
    #[track_caller]
    pub(crate) fn hello(&mut self, i: usize) {
        self.send(format!("GET /hello/{i} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        self.read_response()
            .assert(200, TEXT, &format!("Hello, {i}!"));
    }

    /// Reads one response to a request that expects a body (not `HEAD`).
    #[track_caller]
    pub(crate) fn read_response(&mut self) -> Response {
        self.read_response_inner(false)
    }

    /// Reads one response to a `HEAD` request: headers only.
    #[track_caller]
    pub(crate) fn read_head_response(&mut self) -> Response {
        self.read_response_inner(true)
    }

    #[track_caller]
    fn read_response_inner(&mut self, head_request: bool) -> Response {
        let deadline = Instant::now() + RESPONSE_DEADLINE;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill(deadline, "a response head");
        };
        let head = String::from_utf8(self.buf[..head_end - 4].to_vec())
            .unwrap_or_else(|_| panic!("response head is not UTF-8: {:?}", self.lossy()));
        self.buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_owned();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let reason = parts.next().unwrap_or_default().to_owned();
        assert!(
            version.starts_with("HTTP/1."),
            "bad status line {status_line:?}"
        );
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad header line {line:?} in {head:?}"));
                assert!(
                    !name.is_empty() && !name.contains(' '),
                    "bad header {line:?}"
                );
                (name.to_owned(), value.trim().to_owned())
            })
            .collect();
        let mut res = Response {
            version,
            status,
            reason,
            headers,
            body: Vec::new(),
        };
        check_framing_headers(&res);
        let no_body = head_request || res.status < 200 || res.status == 204 || res.status == 304;
        if no_body {
            return res;
        }
        if res.has_token("transfer-encoding", "chunked") {
            res.body = self.read_chunked(deadline);
        } else if let Some(len) = res.header("content-length") {
            let len: usize = len
                .parse()
                .unwrap_or_else(|_| panic!("bad Content-Length {len:?}"));
            assert!(len <= MAX_READ, "Content-Length {len} too large for a test");
            while self.buf.len() < len {
                self.fill(deadline, "a response body");
            }
            res.body = self.buf.drain(..len).collect();
        } else {
            panic!("response without framing: {res:#?}");
        }
        res
    }

    /// Reads a chunked body (RFC 9112 §7.1), discarding extensions and trailers.
    fn read_chunked(&mut self, deadline: Instant) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(deadline);
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
            if size == 0 {
                // Trailer section, ended by an empty line.
                while !self.read_line(deadline).is_empty() {}
                return body;
            }
            assert!(
                body.len() + size <= MAX_READ,
                "chunked body too large for a test"
            );
            while self.buf.len() < size + 2 {
                self.fill(deadline, "a chunk");
            }
            body.extend(self.buf.drain(..size));
            let crlf: Vec<u8> = self.buf.drain(..2).collect();
            assert_eq!(crlf, b"\r\n", "chunk data not followed by CRLF");
        }
    }

    fn read_line(&mut self, deadline: Instant) -> String {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return String::from_utf8(line).expect("UTF-8 line");
            }
            self.fill(deadline, "a chunked line");
        }
    }

    /// Reads more bytes into the buffer (none after an interrupted read);
    /// panics on EOF, error, or deadline.
    #[track_caller]
    fn fill(&mut self, deadline: Instant, what: &str) {
        assert!(
            Instant::now() < deadline,
            "no {what} within {RESPONSE_DEADLINE:?}"
        );
        assert!(
            self.buf.len() < MAX_READ,
            "more than {MAX_READ} bytes while reading {what}"
        );
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!(
                "connection closed while reading {what}; buffered: {:?}",
                self.lossy()
            ),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            // A signal (the test's own `kill`, say) interrupted the read;
            // the caller's loop reads again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("reading {what}: {e}; buffered: {:?}", self.lossy()),
        }
    }

    /// Waits at most `timeout` for more bytes, keeping them for the next
    /// [`Conn::read_response`]. `Ok(0)`: the server closed the connection;
    /// `Err` of kind `WouldBlock` or `TimedOut`: nothing arrived in time.
    pub(crate) fn read_within(&mut self, timeout: Duration) -> io::Result<usize> {
        let timeout = timeout.max(Duration::from_millis(1));
        self.stream.tcp().set_read_timeout(Some(timeout))?;
        let mut chunk = [0u8; 16 * 1024];
        let read = loop {
            match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        self.stream.tcp().set_read_timeout(Some(IO_TIMEOUT))?;
        let n = read?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Asserts that for `wait` the server sends nothing and keeps the
    /// connection open. The wait is a socket read timeout, so this also paces
    /// a client that sends in pieces.
    #[track_caller]
    pub(crate) fn expect_silence(&mut self, wait: Duration) {
        match self.read_within(wait) {
            Err(e) if is_timeout(&e) => {}
            Ok(0) => panic!(
                "connection closed within {wait:?}; buffered: {:?}",
                self.lossy()
            ),
            Ok(_) => panic!("unexpected bytes within {wait:?}: {:?}", self.lossy()),
            Err(e) => panic!("reading: {e}; buffered: {:?}", self.lossy()),
        }
    }

    /// Reads until the server closes the connection, returning everything not
    /// yet parsed. `Err` if the read failed (reset, or timeout after 5 s).
    pub(crate) fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + RESPONSE_DEADLINE;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no EOF before the deadline",
                ));
            }
            if self.buf.len() >= MAX_READ {
                return Err(io::Error::other("too many bytes before EOF"));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(std::mem::take(&mut self.buf)),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Asserts that the server closes the connection with nothing more sent.
    /// A reset counts as closed: the response before it was already read.
    #[track_caller]
    pub(crate) fn assert_closed(&mut self) {
        match self.read_to_end() {
            Ok(rest) => assert!(
                rest.is_empty(),
                "bytes after the last response: {:?}",
                lossy(&rest)
            ),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                assert!(
                    self.buf.is_empty(),
                    "bytes after the last response: {:?}",
                    self.lossy()
                );
            }
            Err(e) => panic!(
                "connection not closed by the server: {e}; buffered: {:?}",
                self.lossy()
            ),
        }
    }

    /// Asserts that the server closes the connection cleanly (FIN, no reset)
    /// with nothing more sent.
    #[track_caller]
    pub(crate) fn assert_closed_cleanly(&mut self) {
        match self.read_to_end() {
            Ok(rest) => assert!(
                rest.is_empty(),
                "bytes after the last response: {:?}",
                lossy(&rest)
            ),
            Err(e) => panic!(
                "connection not closed cleanly: {e}; buffered: {:?}",
                self.lossy()
            ),
        }
    }

    fn lossy(&self) -> String {
        lossy(&self.buf)
    }
}

/// Whether `e` is a socket read or write timeout (`WouldBlock` on Unix,
/// `TimedOut` on Windows).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Asserts that `elapsed` lies in `lo..=hi`; `what` names the event.
#[track_caller]
pub(crate) fn assert_between(elapsed: Duration, lo: Duration, hi: Duration, what: &str) {
    assert!(
        lo <= elapsed && elapsed <= hi,
        "{what} after {elapsed:?}, expected between {lo:?} and {hi:?}"
    );
}

fn lossy(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(512)];
    String::from_utf8_lossy(shown).into_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The framing rules of CONTRACT.md every response obeys: `Date` in
/// IMF-fixdate form, and exactly one of `Content-Length` and
/// `Transfer-Encoding` (neither on `1xx` and `204`; `304` may omit both).
#[track_caller]
fn check_framing_headers(res: &Response) {
    let cl = res.headers_named("content-length").len();
    let te = res.headers_named("transfer-encoding").len();
    if res.status < 200 || res.status == 204 {
        assert_eq!((cl, te), (0, 0), "1xx/204 with framing headers: {res:#?}");
        return;
    }
    let date = res
        .header("date")
        .unwrap_or_else(|| panic!("no Date header: {res:#?}"));
    assert!(is_imf_fixdate(date), "Date not IMF-fixdate: {date:?}");
    if res.status == 304 {
        assert!(cl + te <= 1, "304 with both framing headers: {res:#?}");
    } else {
        assert_eq!(
            cl + te,
            1,
            "exactly one of Content-Length / Transfer-Encoding: {res:#?}"
        );
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
pub(crate) fn is_imf_fixdate(s: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if !s.is_ascii() {
        return false;
    }
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 29
        && DAYS.contains(&&s[0..3])
        && &s[3..5] == ", "
        && digits(5..7)
        && b[7] == b' '
        && MONTHS.contains(&&s[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && &s[25..] == " GMT"
}

#[test]
fn imf_fixdate_shapes() {
    assert!(is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"));
    assert!(!is_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"));
    assert!(!is_imf_fixdate("Sun Nov  6 08:49:37 1994"));
    assert!(!is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 UTC"));
}
