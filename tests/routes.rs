//! The routes of the default application (CONTRACT.md, "Routes"), over raw TCP.

use crate::util::{Response, Server, TempDir, TEXT};

/// `GET path` on a fresh connection must give exactly this response.
#[track_caller]
fn check_get(server: &Server, path: &str, status: u16, content_type: &str, body: &str) {
    server.get(path).assert(status, content_type, body);
}

#[test]
fn root() {
    let s = Server::start(&[]);
    check_get(&s, "/", 200, TEXT, "Welcome to Netrunner!");
}

#[test]
fn hello() {
    let s = Server::start(&[]);
    check_get(&s, "/hello", 200, TEXT, "Hello, Netrunner!");
}

#[test]
fn hello_name_is_percent_decoded() {
    let s = Server::start(&[]);
    check_get(&s, "/hello/bob", 200, TEXT, "Hello, bob!");
    check_get(&s, "/hello/w%C3%B6rld", 200, TEXT, "Hello, wörld!");
    check_get(&s, "/hello/a%20b", 200, TEXT, "Hello, a b!");
}

#[test]
fn plaintext_json_healthz() {
    let s = Server::start(&[]);
    check_get(&s, "/plaintext", 200, "text/plain", "Hello, World!");
    check_get(
        &s,
        "/json",
        200,
        "application/json",
        r#"{"message":"Hello, World!"}"#,
    );
    let res = s.get("/healthz");
    assert_eq!((res.status, res.text()), (200, "ok"), "{res:#?}");
}

#[test]
fn echo_with_content_type() {
    let s = Server::start(&[]);
    let res = s.request(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: text/x-test\r\n\
         Content-Length: 11\r\n\r\nhello world",
    );
    res.assert(200, "text/x-test", "hello world");
}

#[test]
fn echo_without_content_type_is_octet_stream() {
    let s = Server::start(&[]);
    let res = s.request("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc");
    res.assert(200, "application/octet-stream", "abc");
}

#[test]
fn echo_binary_and_empty_bodies() {
    let s = Server::start(&[]);
    let body: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let mut conn = s.connect();
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    conn.send(&req);
    let res = conn.read_response();
    assert_eq!(res.status, 200);
    assert!(
        res.body == body,
        "echoed body differs ({} bytes back)",
        res.body.len()
    );

    conn.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    let res = conn.read_response();
    assert_eq!((res.status, res.body.len()), (200, 0), "{res:#?}");
}

#[test]
fn query_string_takes_no_part_in_routing() {
    let s = Server::start(&[]);
    check_get(&s, "/hello?x=1", 200, TEXT, "Hello, Netrunner!");
    check_get(&s, "/hello/bob?x=1&y=%2F", 200, TEXT, "Hello, bob!");
    check_get(&s, "/?", 200, TEXT, "Welcome to Netrunner!");
}

#[test]
fn unknown_path_is_404() {
    let s = Server::start(&[]);
    for path in ["/nope", "/hello/a/b", "/healthz/x", "/echo/x"] {
        let res = s.get(path);
        assert_eq!(res.status, 404, "{path}: {res:#?}");
        assert_eq!(res.header("content-type"), Some(TEXT), "{path}");
        assert!(res.text().contains("404"), "{path}: {res:#?}");
    }
}

#[test]
fn wrong_method_is_405_with_allow() {
    let s = Server::start(&[]);
    let res = s.request("POST /hello HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(res.status, 405, "{res:#?}");
    assert!(res.has_token("allow", "GET"), "Allow lists GET: {res:#?}");
    assert!(
        !res.has_token("allow", "POST"),
        "Allow lists no POST: {res:#?}"
    );

    let res = s.get("/echo");
    assert_eq!(res.status, 405, "{res:#?}");
    assert!(res.has_token("allow", "POST"), "Allow lists POST: {res:#?}");

    let res = s.request("DELETE / HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(res.status, 405, "{res:#?}");
    assert!(res.has_token("allow", "GET"), "Allow lists GET: {res:#?}");
}

#[test]
fn options_answers_with_allow() {
    let s = Server::start(&[]);
    for (path, method) in [("/hello", "GET"), ("/echo", "POST"), ("/", "GET")] {
        let res = s.request(&format!("OPTIONS {path} HTTP/1.1\r\nHost: test\r\n\r\n"));
        assert!(matches!(res.status, 200 | 204), "OPTIONS {path}: {res:#?}");
        assert!(
            res.has_token("allow", method),
            "OPTIONS {path}: Allow has {method}: {res:#?}"
        );
    }
}

/// HEAD gives the GET headers and no body; the GET pipelined right behind it
/// on the same connection must then parse cleanly.
#[test]
fn head_matches_get_without_body() {
    let s = Server::start(&[]);
    for path in ["/", "/hello", "/json", "/hello/w%C3%B6rld"] {
        s.head_matches_get(path);
    }
}

/// A temp tree: `<base>/root/` is served, `<base>/secret` and
/// `<base>/Cargo.toml` sit just outside it.
struct StaticTree {
    base: TempDir,
}

const SECRET: &str = "TOP-SECRET-do-not-serve";
const INDEX: &str = "<!doctype html><title>netrunner</title>\n";

impl StaticTree {
    fn new() -> StaticTree {
        let base = TempDir::new();
        base.write("root/index.html", INDEX.as_bytes());
        base.write("root/hello.txt", b"hi from a file\n");
        base.write("root/sub/index.html", b"<p>sub</p>\n");
        base.write("secret", SECRET.as_bytes());
        base.write("Cargo.toml", SECRET.as_bytes());
        StaticTree { base }
    }

    fn server(&self) -> Server {
        let root = self.base.path().join("root");
        Server::start(&["--root", root.to_str().expect("UTF-8 temp path")])
    }
}

#[test]
fn static_file_is_served() {
    let tree = StaticTree::new();
    let s = tree.server();
    let res = s.get("/static/index.html");
    res.assert(200, "text/html; charset=utf-8", INDEX);
    s.get("/static/hello.txt")
        .assert(200, "text/plain; charset=utf-8", "hi from a file\n");
    s.get("/static/")
        .assert(200, "text/html; charset=utf-8", INDEX);
}

#[test]
fn static_file_has_validators_and_accept_ranges() {
    let tree = StaticTree::new();
    let s = tree.server();
    let res = s.get("/static/index.html");
    assert_eq!(res.status, 200, "{res:#?}");
    assert!(res.header("etag").is_some(), "ETag: {res:#?}");
    let last_modified = res
        .header("last-modified")
        .unwrap_or_else(|| panic!("Last-Modified: {res:#?}"));
    assert!(
        crate::util::is_imf_fixdate(last_modified),
        "Last-Modified {last_modified:?}"
    );
    assert_eq!(res.header("accept-ranges"), Some("bytes"), "{res:#?}");
}

#[test]
fn static_directory_index_and_redirect() {
    let tree = StaticTree::new();
    let s = tree.server();
    s.get("/static/sub/")
        .assert(200, "text/html; charset=utf-8", "<p>sub</p>\n");
    let res = s.get("/static/sub");
    assert_eq!(res.status, 308, "{res:#?}");
    assert_eq!(res.header("location"), Some("/static/sub/"), "{res:#?}");
}

#[test]
fn static_conditional_and_range() {
    let tree = StaticTree::new();
    let s = tree.server();
    let first = s.get("/static/index.html");
    let etag = first.header("etag").expect("ETag").to_owned();

    let res = s.request(&format!(
        "GET /static/index.html HTTP/1.1\r\nHost: test\r\nIf-None-Match: {etag}\r\n\r\n"
    ));
    assert_eq!((res.status, res.body.len()), (304, 0), "{res:#?}");

    let res =
        s.request("GET /static/index.html HTTP/1.1\r\nHost: test\r\nRange: bytes=0-8\r\n\r\n");
    assert_eq!(res.status, 206, "{res:#?}");
    assert_eq!(res.text(), &INDEX[..9]);
    assert!(res.header("content-range").is_some(), "{res:#?}");

    let res =
        s.request("GET /static/index.html HTTP/1.1\r\nHost: test\r\nRange: bytes=9999-\r\n\r\n");
    assert_eq!(res.status, 416, "{res:#?}");
}

#[test]
fn static_missing_file_is_404() {
    let tree = StaticTree::new();
    let s = tree.server();
    assert_eq!(s.get("/static/nope.html").status, 404);
}

#[track_caller]
fn assert_not_served(res: &Response, allowed: &[u16], what: &str) {
    assert!(
        allowed.contains(&res.status),
        "{what}: status {} not in {allowed:?}: {res:#?}",
        res.status
    );
    assert!(
        !String::from_utf8_lossy(&res.body).contains(SECRET),
        "{what} leaked the secret"
    );
}

#[test]
fn static_traversal_is_not_served() {
    let tree = StaticTree::new();
    let s = tree.server();
    for path in [
        "/static/../Cargo.toml",
        "/static/../secret",
        "/static/%2e%2e/secret",
        "/static/%2E%2E/Cargo.toml",
        "/static/sub/../../secret",
        "/static/%2e%2e%2fsecret",
        "/static/..%2fsecret",
        "/static/..%5csecret",
    ] {
        let res = s.get(path);
        assert_not_served(&res, &[400, 404], path);
    }
}

#[cfg(unix)]
#[test]
fn static_symlink_out_of_root_is_not_served() {
    let tree = StaticTree::new();
    let root = tree.base.path().join("root");
    std::os::unix::fs::symlink(tree.base.path().join("secret"), root.join("link.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink(tree.base.path(), root.join("up")).expect("symlink");
    let s = tree.server();
    assert_not_served(&s.get("/static/link.txt"), &[400, 403, 404], "file symlink");
    assert_not_served(
        &s.get("/static/up/secret"),
        &[400, 403, 404],
        "directory symlink",
    );
}
