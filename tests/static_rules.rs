//! Each static-file rule of CONTRACT.md (`GET /static/{path...}`) end to end,
//! with `curl` and over raw TCP, on a temp `--root`: types and validators,
//! conditional requests, ranges, a large file to a slow reader, directories,
//! traversal and symlinks, and `HEAD`.
//!
//! The `curl` parts return early (with a note on stderr) when `curl` is not
//! on PATH; the raw-TCP parts always run.

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{is_imf_fixdate, Response, Server, TempDir, IO_TIMEOUT, TEXT};

/// Sits just outside the root; no response may ever contain it.
const SECRET: &str = "SECRET-outside-the-root-7f3a";
const HELLO: &str = "Hello from a static file.\nSecond line: \u{e9}t\u{e9}.\n";
const SUB_INDEX: &str = "<!doctype html><p>the sub index</p>\n";
const CSS: &str = "body { color: #123456; }\n";
const JSON: &str = "{\"static\":true,\"n\":[1,2,3]}\n";
/// The size of `data.bin`: 100 KiB.
const BIN_LEN: usize = 102_400;
/// The size of `big.bin`, streamed to a slow reader.
const BIG_LEN: usize = 8 << 20;

/// `len` bytes of a fixed pseudo-random sequence (xorshift32), so that any
/// range of the file is distinguishable from any other.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// The temp tree, `<base>/root/` served:
///
/// ```text
/// base/secret.txt             SECRET, just outside the root
/// base/root/hello.txt         HELLO
/// base/root/sub/index.html    SUB_INDEX
/// base/root/data.bin          100 KiB of pattern(.., 1)
/// base/root/big.bin           8 MiB of pattern(.., 2)
/// base/root/style.css         CSS
/// base/root/data.json         JSON
/// base/root/empty.txt         empty
/// base/root/link-in.txt  ->   hello.txt          (unix: served)
/// base/root/link-out.txt ->   ../secret.txt      (unix: refused)
/// ```
#[derive(Debug)]
struct Tree {
    base: TempDir,
    bin: Vec<u8>,
}

impl Tree {
    fn new() -> Tree {
        let base = TempDir::new();
        let bin = pattern(BIN_LEN, 1);
        base.write("secret.txt", SECRET.as_bytes());
        base.write("root/hello.txt", HELLO.as_bytes());
        base.write("root/sub/index.html", SUB_INDEX.as_bytes());
        base.write("root/data.bin", &bin);
        base.write("root/style.css", CSS.as_bytes());
        base.write("root/data.json", JSON.as_bytes());
        base.write("root/empty.txt", b"");
        #[cfg(unix)]
        {
            let root = base.path().join("root");
            std::os::unix::fs::symlink("hello.txt", root.join("link-in.txt")).expect("symlink in");
            std::os::unix::fs::symlink("../secret.txt", root.join("link-out.txt"))
                .expect("symlink out");
        }
        Tree { base, bin }
    }

    fn root(&self) -> PathBuf {
        self.base.path().join("root")
    }

    fn server(&self) -> Server {
        let root = self.root();
        Server::start(&["--root", root.to_str().expect("UTF-8 temp path")])
    }
}

/// What `curl -i` printed: the status code, the headers (names lowercased)
/// and the body bytes.
#[derive(Debug)]
struct CurlResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl CurlResponse {
    fn header(&self, name: &str) -> Option<&str> {
        let all: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(all.len() <= 1, "header {name} repeated: {self:#?}");
        all.first().copied()
    }
}

/// Runs `curl -i` with `args` (bounded by `--max-time`) and parses its
/// output, or `None` (with a note on stderr) when there is no curl.
#[track_caller]
fn curl(args: &[&str]) -> Option<CurlResponse> {
    let mut with_head = vec!["-i"];
    with_head.extend_from_slice(args);
    let out = crate::curl::curl(&with_head)?;
    assert!(
        out.status.success(),
        "curl {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = out.stdout;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("curl {args:?}: no head in {:?}", lossy(&raw)));
    let head = std::str::from_utf8(&raw[..end]).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("curl {args:?}: bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(CurlResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned()
}

fn url(s: &Server, path: &str) -> String {
    format!("http://{}{path}", s.addr())
}

/// `GET target` with extra header lines (each ending in CRLF) on a new
/// connection.
fn get_with(s: &Server, target: &str, extra: &str) -> Response {
    s.request(&format!(
        "GET {target} HTTP/1.1\r\nHost: test\r\n{extra}\r\n"
    ))
}

// ---------------------------------------------------------------- types --

#[test]
fn curl_text_file_has_type_validators_and_exact_body() {
    let tree = Tree::new();
    let s = tree.server();
    let Some(res) = curl(&[&url(&s, "/static/hello.txt")]) else {
        return;
    };
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(res.header("content-type"), Some(TEXT), "{res:#?}");
    assert_eq!(
        res.header("content-length"),
        Some(HELLO.len().to_string().as_str()),
        "{res:#?}"
    );
    let etag = res
        .header("etag")
        .unwrap_or_else(|| panic!("ETag: {res:#?}"));
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "a strong entity tag: {etag:?}"
    );
    let lm = res
        .header("last-modified")
        .unwrap_or_else(|| panic!("Last-Modified: {res:#?}"));
    assert!(is_imf_fixdate(lm), "Last-Modified {lm:?}");
    assert_eq!(res.header("accept-ranges"), Some("bytes"), "{res:#?}");
    assert_eq!(res.body, HELLO.as_bytes(), "{res:#?}");
}

#[test]
fn curl_binary_file_arrives_byte_for_byte() {
    let tree = Tree::new();
    let s = tree.server();
    let Some(res) = curl(&[&url(&s, "/static/data.bin")]) else {
        return;
    };
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(
        res.header("content-type"),
        Some("application/octet-stream"),
        "{:?}",
        res.headers
    );
    assert_eq!(res.header("content-length"), Some("102400"));
    assert_eq!(res.header("accept-ranges"), Some("bytes"));
    assert!(res.header("etag").is_some(), "{:?}", res.headers);
    assert!(
        res.body == tree.bin,
        "body differs ({} bytes)",
        res.body.len()
    );
}

#[test]
fn content_types_by_extension_and_the_empty_file() {
    let tree = Tree::new();
    let s = tree.server();
    get_with(&s, "/static/style.css", "").assert(200, "text/css; charset=utf-8", CSS);
    get_with(&s, "/static/data.json", "").assert(200, "application/json; charset=utf-8", JSON);
    get_with(&s, "/static/sub/index.html", "").assert(200, "text/html; charset=utf-8", SUB_INDEX);

    let res = get_with(&s, "/static/empty.txt", "");
    res.assert(200, TEXT, "");
    assert_eq!(res.header("content-length"), Some("0"), "{res:#?}");
    assert!(res.header("etag").is_some(), "{res:#?}");
    // Every range of an empty file is unsatisfiable.
    let res = get_with(&s, "/static/empty.txt", "Range: bytes=0-\r\n");
    assert_eq!(res.status, 416, "{res:#?}");
    assert_eq!(res.header("content-range"), Some("bytes */0"), "{res:#?}");

    if let Some(res) = curl(&[&url(&s, "/static/style.css")]) {
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(res.body, CSS.as_bytes());
    }
    if let Some(res) = curl(&[&url(&s, "/static/empty.txt")]) {
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(res.header("content-length"), Some("0"), "{res:#?}");
        assert!(res.body.is_empty(), "{res:#?}");
    }
}

// ---------------------------------------------------------- conditional --

#[test]
fn curl_conditional_requests() {
    let tree = Tree::new();
    let s = tree.server();
    let u = url(&s, "/static/hello.txt");
    let Some(first) = curl(&[&u]) else { return };
    let etag = first.header("etag").expect("ETag").to_owned();
    let lm = first
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();

    let inm = format!("If-None-Match: {etag}");
    let res = curl(&["-H", &inm, &u]).expect("curl");
    assert_eq!(res.status, 304, "{res:#?}");
    assert!(res.body.is_empty(), "304 with a body: {res:#?}");
    assert_eq!(
        res.header("etag"),
        Some(etag.as_str()),
        "304 carries the ETag"
    );

    let ims = format!("If-Modified-Since: {lm}");
    let res = curl(&["-H", &ims, &u]).expect("curl");
    assert_eq!(res.status, 304, "{res:#?}");
    assert!(res.body.is_empty(), "304 with a body: {res:#?}");

    let res = curl(&["-H", "If-None-Match: \"not-the-etag\"", &u]).expect("curl");
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(res.body, HELLO.as_bytes());

    // If-None-Match takes precedence: a miss there means 200, whatever
    // If-Modified-Since says (RFC 9110 §13.2.2).
    let res = curl(&["-H", "If-None-Match: \"other\"", "-H", &ims, &u]).expect("curl");
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(res.body, HELLO.as_bytes());

    // If-None-Match compares weakly, and takes a list.
    let list = format!("If-None-Match: \"a\", W/{etag}");
    let res = curl(&["-H", &list, &u]).expect("curl");
    assert_eq!(res.status, 304, "{res:#?}");
}

/// A `304` carries no body: a request pipelined behind it parses cleanly.
#[test]
fn not_modified_then_pipelined_get_on_one_connection() {
    let tree = Tree::new();
    let s = tree.server();
    let first = get_with(&s, "/static/hello.txt", "");
    let etag = first.header("etag").expect("ETag").to_owned();
    let lm = first
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    let mut conn = s.connect();
    conn.send(
        format!(
            "GET /static/hello.txt HTTP/1.1\r\nHost: test\r\nIf-None-Match: {etag}\r\n\r\n\
             GET /static/hello.txt HTTP/1.1\r\nHost: test\r\nIf-Modified-Since: {lm}\r\n\r\n\
             GET /static/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n"
        )
        .as_bytes(),
    );
    let a = conn.read_response();
    assert_eq!((a.status, a.body.len()), (304, 0), "{a:#?}");
    assert_eq!(a.header("content-type"), None, "304 has no Content-Type");
    let b = conn.read_response();
    assert_eq!((b.status, b.body.len()), (304, 0), "{b:#?}");
    conn.read_response().assert(200, TEXT, HELLO);
    assert_eq!(conn.buffered(), 0, "nothing after the third response");
}

// --------------------------------------------------------------- ranges --

#[test]
fn curl_ranges() {
    let tree = Tree::new();
    let s = tree.server();
    let u = url(&s, "/static/data.bin");
    let Some(res) = curl(&["-r", "0-99", &u]) else {
        return;
    };
    assert_eq!(res.status, 206, "{:?}", res.headers);
    assert_eq!(res.header("content-range"), Some("bytes 0-99/102400"));
    assert_eq!(res.header("content-length"), Some("100"));
    assert!(res.body == tree.bin[..100], "bytes 0-99 differ");

    let res = curl(&["-r", "102300-", &u]).expect("curl");
    assert_eq!(res.status, 206, "{:?}", res.headers);
    assert_eq!(
        res.header("content-range"),
        Some("bytes 102300-102399/102400")
    );
    assert!(res.body == tree.bin[102_300..], "tail bytes differ");

    let res = curl(&["-r", "-10", &u]).expect("curl");
    assert_eq!(res.status, 206, "{:?}", res.headers);
    assert_eq!(
        res.header("content-range"),
        Some("bytes 102390-102399/102400")
    );
    assert!(res.body == tree.bin[BIN_LEN - 10..], "suffix bytes differ");

    // A middle range, with an end past the file cut to its last byte.
    let res = curl(&["-r", "50000-999999", &u]).expect("curl");
    assert_eq!(res.status, 206, "{:?}", res.headers);
    assert_eq!(
        res.header("content-range"),
        Some("bytes 50000-102399/102400")
    );
    assert!(res.body == tree.bin[50_000..], "bytes 50000- differ");

    let res = curl(&["-H", "Range: bytes=999999-", &u]).expect("curl");
    assert_eq!(res.status, 416, "{res:#?}");
    assert_eq!(res.header("content-range"), Some("bytes */102400"));
}

#[test]
fn raw_ranges_and_if_range() {
    let tree = Tree::new();
    let s = tree.server();
    let whole = get_with(&s, "/static/data.bin", "");
    let etag = whole.header("etag").expect("ETag").to_owned();

    let mut conn = s.connect();
    conn.send(
        format!(
            "GET /static/data.bin HTTP/1.1\r\nHost: test\r\nRange: bytes=1000-1999\r\n\r\n\
             GET /static/data.bin HTTP/1.1\r\nHost: test\r\nRange: bytes=-1\r\n\r\n\
             GET /static/data.bin HTTP/1.1\r\nHost: test\r\nRange: bytes=102400-\r\n\r\n\
             GET /static/data.bin HTTP/1.1\r\nHost: test\r\nRange: bytes=0-9\r\nIf-Range: {etag}\r\n\r\n\
             GET /static/data.bin HTTP/1.1\r\nHost: test\r\nRange: bytes=0-9\r\nIf-Range: \"stale\"\r\n\r\n"
        )
        .as_bytes(),
    );
    let res = conn.read_response();
    assert_eq!(res.status, 206, "{res:#?}");
    assert_eq!(res.header("content-range"), Some("bytes 1000-1999/102400"));
    assert!(res.body == tree.bin[1000..2000], "bytes 1000-1999 differ");

    let res = conn.read_response();
    assert_eq!(res.status, 206, "{res:#?}");
    assert_eq!(
        res.header("content-range"),
        Some("bytes 102399-102399/102400")
    );
    assert_eq!(res.body, [tree.bin[BIN_LEN - 1]]);

    // Starting exactly at the end: unsatisfiable, and the connection goes on.
    let res = conn.read_response();
    assert_eq!(res.status, 416, "{res:#?}");
    assert_eq!(res.header("content-range"), Some("bytes */102400"));

    // If-Range with the current ETag lets the range through...
    let res = conn.read_response();
    assert_eq!(res.status, 206, "{res:#?}");
    assert!(res.body == tree.bin[..10]);
    // ... and with another one means the whole file.
    let res = conn.read_response();
    assert_eq!(res.status, 200, "{res:#?}");
    assert!(res.body == tree.bin, "whole file differs");
    assert_eq!(res.header("content-range"), None, "{res:#?}");
}

// ------------------------------------------------- large file, slow reader --

/// An 8 MiB file to a reader that takes 16 KiB at a time with a pause after
/// each read: the server must wait for the socket, resume, and send every
/// byte in order; the request pipelined behind it is answered after it.
#[test]
fn large_file_to_a_slow_reader_then_pipelined_request() {
    let tree = Tree::new();
    let big = pattern(BIG_LEN, 2);
    tree.base.write("root/big.bin", &big);
    let s = tree.server();
    let mut conn = s.connect();
    conn.send(
        b"GET /static/big.bin HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /static/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n",
    );
    // Let the server fill the socket buffers before reading anything.
    thread::sleep(Duration::from_millis(200));
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut reads = 0u32;
    while conn.buffered() < BIG_LEN {
        assert!(
            Instant::now() < deadline,
            "only {} bytes after {reads} reads",
            conn.buffered()
        );
        match conn.read_within(IO_TIMEOUT) {
            Ok(0) => panic!("closed after {} bytes", conn.buffered()),
            Ok(_) => reads += 1,
            Err(e) => panic!("reading after {} bytes: {e}", conn.buffered()),
        }
        thread::sleep(Duration::from_millis(2));
    }
    assert!(reads > 100, "the reader was slow: {reads} reads");
    let res = conn.read_response();
    assert_eq!(res.status, 200, "{:?}", res.headers);
    assert_eq!(
        res.header("content-length"),
        Some(BIG_LEN.to_string().as_str())
    );
    assert_eq!(res.body.len(), BIG_LEN);
    if let Some(at) = res.body.iter().zip(&big).position(|(a, b)| a != b) {
        panic!("byte {at} of the large file differs");
    }
    conn.read_response().assert(200, TEXT, HELLO);
    // The connection is still usable.
    conn.send(b"GET /static/style.css HTTP/1.1\r\nHost: test\r\n\r\n");
    conn.read_response()
        .assert(200, "text/css; charset=utf-8", CSS);
}

// ---------------------------------------------------------- directories --

#[test]
fn directory_index_and_redirect_keeping_the_query() {
    let tree = Tree::new();
    let s = tree.server();
    get_with(&s, "/static/sub/", "").assert(200, "text/html; charset=utf-8", SUB_INDEX);
    get_with(&s, "/static/sub/?v=3", "").assert(200, "text/html; charset=utf-8", SUB_INDEX);

    let res = get_with(&s, "/static/sub?x=1&y=%2F", "");
    assert_eq!(res.status, 308, "{res:#?}");
    assert_eq!(
        res.header("location"),
        Some("/static/sub/?x=1&y=%2F"),
        "{res:#?}"
    );

    let Some(res) = curl(&[&url(&s, "/static/sub")]) else {
        return;
    };
    assert_eq!(res.status, 308, "{res:#?}");
    assert_eq!(res.header("location"), Some("/static/sub/"), "{res:#?}");
    // Following the redirect lands on the index.
    let target = url(&s, "/static/sub?q=1");
    let Some(out) = crate::curl::curl(&[
        "-L",
        "--max-redirs",
        "3",
        "-w",
        "\n%{http_code} %{num_redirects}",
        &target,
    ]) else {
        return;
    };
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{SUB_INDEX}\n200 1")
    );
}

// ------------------------------------------------------------ traversal --

#[track_caller]
fn assert_refused(status: u16, body: &[u8], what: &str) {
    assert!(
        matches!(status, 400 | 404),
        "{what}: status {status}, expected 400 or 404; body {:?}",
        lossy(body)
    );
    assert!(
        !String::from_utf8_lossy(body).contains(SECRET),
        "{what} leaked the secret"
    );
}

#[test]
fn traversal_over_raw_tcp_is_refused() {
    let tree = Tree::new();
    let s = tree.server();
    // The secret is there: refusing it is the server's doing.
    let secret = tree.base.path().join("secret.txt");
    assert_eq!(std::fs::read_to_string(&secret).expect("secret"), SECRET);
    let absolute = format!("/static/{}", secret.display());
    let mut targets = vec![
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/%00",
        "/static/hello.txt%00",
        "/static//etc/passwd",
        "/static/sub/../../secret.txt",
        "/static/sub/%2e%2e/%2e%2e/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/%2e%2e%5csecret.txt",
        absolute.as_str(),
    ];
    if cfg!(unix) {
        targets.push("/static/link-out.txt");
    }
    for target in targets {
        // One connection per target: a 400 may close it.
        let res = get_with(&s, target, "");
        assert_refused(res.status, &res.body, target);
    }
    // The same guards hold on one keep-alive connection, between good requests.
    let mut conn = s.connect();
    conn.send(
        b"GET /static/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /static/%2e%2e/secret.txt HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /static/hello.txt HTTP/1.1\r\nHost: test\r\n\r\n",
    );
    conn.read_response().assert(200, TEXT, HELLO);
    let res = conn.read_response();
    assert_refused(res.status, &res.body, "pipelined %2e%2e");
    if res.status == 404 {
        conn.read_response().assert(200, TEXT, HELLO);
    }
}

#[test]
fn curl_path_as_is_traversal_is_refused() {
    let tree = Tree::new();
    let s = tree.server();
    for path in [
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/./../secret.txt",
        "/static/%2e%2e/secret.txt",
    ] {
        let Some(res) = curl(&["--path-as-is", &url(&s, path)]) else {
            return;
        };
        assert_refused(res.status, &res.body, path);
    }
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_followed_outside_refused() {
    let tree = Tree::new();
    let s = tree.server();
    get_with(&s, "/static/link-in.txt", "").assert(200, TEXT, HELLO);
    let res = get_with(&s, "/static/link-out.txt", "");
    assert_refused(res.status, &res.body, "link-out.txt");
    // A directory symlink leading out is refused too, for its files and
    // its index.
    std::os::unix::fs::symlink("..", tree.root().join("up")).expect("symlink");
    for target in ["/static/up/secret.txt", "/static/up/"] {
        let res = get_with(&s, target, "");
        assert_refused(res.status, &res.body, target);
    }
    if let Some(res) = curl(&[&url(&s, "/static/link-out.txt")]) {
        assert_refused(res.status, &res.body, "curl link-out.txt");
    }
}

// ----------------------------------------------------------------- HEAD --

/// `HEAD` on a file: the `GET` headers (but `Date`), no body; the `GET`
/// pipelined behind it on the same connection parses cleanly.
#[test]
fn head_on_files_matches_get_without_body() {
    let tree = Tree::new();
    let s = tree.server();
    for (path, len) in [
        ("/static/hello.txt", HELLO.len()),
        ("/static/data.bin", BIN_LEN),
        ("/static/sub/", SUB_INDEX.len()),
        ("/static/empty.txt", 0),
    ] {
        let get = s.head_matches_get(path);
        assert_eq!(get.body.len(), len, "GET {path}");
    }
    // With curl: -I shows the same validators as a GET.
    let u = url(&s, "/static/data.bin");
    let Some(head) = curl(&["-I", &u]) else {
        return;
    };
    let get = curl(&[&u]).expect("curl");
    assert_eq!(head.status, 200, "{head:#?}");
    assert!(head.body.is_empty(), "{head:#?}");
    for name in [
        "content-type",
        "content-length",
        "etag",
        "last-modified",
        "accept-ranges",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
}
