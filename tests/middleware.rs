//! The middleware options of CONTRACT.md with the real binary:
//! `--access-log` (Combined Log Format on stdout), `--cors-origin`
//! (preflights, allowed and other origins, `*`) and `--rate-limit N/s`
//! (`429` with `Retry-After`, then recovery).

use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::curl::curl_ok;
use crate::util::{Response, Server};

// ----------------------------------------------------------- access log --

/// One Combined Log Format line, taken apart.
#[derive(Debug)]
struct Clf<'a> {
    host: &'a str,
    /// The `[...]` time, in unix seconds.
    time: u64,
    request: &'a str,
    status: u16,
    size: &'a str,
    referer: &'a str,
    user_agent: &'a str,
}

/// Parses `HOST - - [dd/Mon/yyyy:hh:mm:ss +0000] "REQ" STATUS SIZE "REF" "UA"`,
/// panicking with the line on any deviation.
#[track_caller]
fn parse_clf(line: &str) -> Clf<'_> {
    let bad = |why: &str| -> ! { panic!("not Combined Log Format ({why}): {line:?}") };
    if !line.is_ascii() {
        bad("not ASCII");
    }
    let (host, rest) = line
        .split_once(" - - [")
        .unwrap_or_else(|| bad("host - - ["));
    let (date, rest) = rest.split_once("] \"").unwrap_or_else(|| bad("date"));
    let time = clf_time(date).unwrap_or_else(|| bad("date format"));
    let (request, rest) = rest.split_once("\" ").unwrap_or_else(|| bad("request"));
    let mut parts = rest.splitn(3, ' ');
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| bad("status"));
    let size = parts.next().unwrap_or_else(|| bad("size"));
    if size != "-" && size.parse::<u64>().is_err() {
        bad("size");
    }
    let rest = parts.next().unwrap_or_else(|| bad("referer"));
    let rest = rest
        .strip_prefix('"')
        .unwrap_or_else(|| bad("referer quote"));
    let (referer, rest) = rest.split_once("\" \"").unwrap_or_else(|| bad("referer"));
    let user_agent = rest.strip_suffix('"').unwrap_or_else(|| bad("user agent"));
    if request.contains('"') || referer.contains('"') || user_agent.contains('"') {
        bad("unescaped quote");
    }
    Clf {
        host,
        time,
        request,
        status,
        size,
        referer,
        user_agent,
    }
}

/// `10/Oct/2000:13:55:36 +0000` in unix seconds.
fn clf_time(s: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = s.as_bytes();
    if b.len() != 26
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
        || &s[20..] != " +0000"
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let d = s.get(r)?;
        d.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| d.parse().ok())?
    };
    let day = num(0..2)?;
    let month = MONTHS.iter().position(|&m| m == &s[3..6])? as u64 + 1;
    let year = num(7..11)?;
    let (hour, minute, second) = (num(12..14)?, num(15..17)?, num(18..20)?);
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 || year < 1970 {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[test]
fn clf_time_parses() {
    assert_eq!(clf_time("10/Oct/2000:13:55:36 +0000"), Some(971_186_136));
    assert_eq!(clf_time("01/Jan/1970:00:00:00 +0000"), Some(0));
    assert_eq!(clf_time("29/Feb/2024:23:59:59 +0000"), Some(1_709_251_199));
    assert_eq!(clf_time("10/Oct/2000:13:55:36 +0100"), None);
    assert_eq!(clf_time("10/Foo/2000:13:55:36 +0000"), None);
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Asserts `line` is the Combined Log Format line of a request from
/// 127.0.0.1 made between `from` and `to` (unix seconds).
#[track_caller]
fn check_line<'a>(
    line: &'a str,
    (from, to): (u64, u64),
    request: &str,
    status: u16,
    size: &str,
) -> Clf<'a> {
    let clf = parse_clf(line);
    assert_eq!(clf.host, "127.0.0.1", "{line:?}");
    assert!(
        from.saturating_sub(2) <= clf.time && clf.time <= to + 2,
        "time {} not in {from}..={to}: {line:?}",
        clf.time
    );
    assert_eq!(clf.request, request, "{line:?}");
    assert_eq!(clf.status, status, "{line:?}");
    assert_eq!(clf.size, size, "{line:?}");
    clf
}

/// The three requests of the brief, made with curl: a `GET`, a `404` and a
/// `HEAD`, each one line with curl's User-Agent.
#[test]
fn access_log_with_curl() {
    let s = Server::start(&["--access-log"]);
    let base = format!("http://{}", s.addr());
    let from = unix_now();
    let Some(_) = curl_ok(&["-o", "/dev/null", &format!("{base}/hello")]) else {
        return;
    };
    curl_ok(&["-o", "/dev/null", &format!("{base}/nope")]).expect("curl");
    curl_ok(&["-I", &format!("{base}/hello")]).expect("curl");
    // A raw GET /nope, to learn the 404 body's length: the fourth line.
    let not_found = s.request("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(not_found.status, 404, "{not_found:#?}");
    let to = unix_now();

    let line = s.next_line();
    let clf = check_line(&line, (from, to), "GET /hello HTTP/1.1", 200, "17");
    assert_eq!(clf.referer, "-", "{line:?}");
    assert!(clf.user_agent.starts_with("curl/"), "{line:?}");

    let line = s.next_line();
    let size = clf_size(&not_found);
    let clf = check_line(&line, (from, to), "GET /nope HTTP/1.1", 404, &size);
    assert_eq!(clf.referer, "-", "{line:?}");
    assert!(clf.user_agent.starts_with("curl/"), "{line:?}");

    let line = s.next_line();
    let clf = parse_clf(&line);
    assert_eq!(clf.request, "HEAD /hello HTTP/1.1", "{line:?}");
    assert_eq!(clf.status, 200, "{line:?}");
    // HEAD sends no body: Apache's `%b` writes that as `-`.
    assert!(matches!(clf.size, "-" | "0"), "{line:?}");
    assert!(clf.user_agent.starts_with("curl/"), "{line:?}");

    let line = s.next_line();
    let clf = check_line(&line, (from, to), "GET /nope HTTP/1.1", 404, &size);
    assert_eq!((clf.referer, clf.user_agent), ("-", "-"), "{line:?}");
    s.expect_no_more_lines();
}

/// The size field for a response to a `GET`: its body length, `-` for none.
fn clf_size(res: &Response) -> String {
    if res.body.is_empty() {
        "-".to_owned()
    } else {
        res.body.len().to_string()
    }
}

/// The other fields over raw TCP: the target as sent (query included),
/// Referer and User-Agent, HTTP/1.0, pipelined requests in order, a quote
/// in a field escaped, and `-` for absent fields.
#[test]
fn access_log_fields_over_raw_tcp() {
    let s = Server::start(&["--access-log"]);
    let from = unix_now();
    let mut conn = s.connect();
    conn.send(
        b"GET /hello/w%C3%B6rld?x=1&y=2 HTTP/1.1\r\nHost: t\r\n\
          Referer: http://ref.example/page\r\nUser-Agent: netrunner-tests/1.0 (raw)\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nUser-Agent: say \"hi\"\r\n\r\nhello\
          HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let a = conn.read_response();
    assert_eq!(a.status, 200, "{a:#?}");
    let b = conn.read_response();
    assert_eq!((b.status, b.text()), (200, "hello"), "{b:#?}");
    let c = conn.read_head_response();
    assert_eq!(c.status, 200, "{c:#?}");
    let res = s.request("GET /json HTTP/1.0\r\n\r\n");
    assert_eq!(res.status, 200, "{res:#?}");
    let to = unix_now();

    let line = s.next_line();
    let clf = check_line(
        &line,
        (from, to),
        "GET /hello/w%C3%B6rld?x=1&y=2 HTTP/1.1",
        200,
        &a.body.len().to_string(),
    );
    assert_eq!(clf.referer, "http://ref.example/page", "{line:?}");
    assert_eq!(clf.user_agent, "netrunner-tests/1.0 (raw)", "{line:?}");

    let line = s.next_line();
    let clf = check_line(&line, (from, to), "POST /echo HTTP/1.1", 200, "5");
    assert_eq!(clf.referer, "-", "{line:?}");
    // The quotes are escaped (nginx writes `\x22`, Apache `\"`): the field
    // still ends at the next quote, and the text is there.
    assert!(
        clf.user_agent.starts_with("say ") && clf.user_agent.contains("hi"),
        "{line:?}"
    );
    assert_ne!(clf.user_agent, "say ", "{line:?}");

    let line = s.next_line();
    let clf = parse_clf(&line);
    assert_eq!(
        (clf.request, clf.status),
        ("HEAD /hello HTTP/1.1", 200),
        "{line:?}"
    );
    assert!(matches!(clf.size, "-" | "0"), "{line:?}");
    assert_eq!((clf.referer, clf.user_agent), ("-", "-"), "{line:?}");

    let line = s.next_line();
    check_line(
        &line,
        (from, to),
        "GET /json HTTP/1.0",
        200,
        &res.body.len().to_string(),
    );
    s.expect_no_more_lines();
}

/// Every request gets its line, those the rate limiter refuses included.
#[test]
fn access_log_records_rate_limited_requests() {
    let s = Server::start(&["--access-log", "--rate-limit", "2/s"]);
    let mut conn = s.connect();
    conn.send(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let statuses: Vec<u16> = (0..4).map(|_| conn.read_response().status).collect();
    assert_eq!(&statuses[..2], [200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let logged: Vec<u16> = (0..4).map(|_| parse_clf(&s.next_line()).status).collect();
    assert_eq!(logged, statuses, "one line per request, in order");
    s.expect_no_more_lines();
}

#[test]
fn no_access_log_by_default() {
    let s = Server::start(&[]);
    assert_eq!(
        s.request("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").status,
        200
    );
    assert_eq!(
        s.request("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n").status,
        404
    );
    s.expect_no_more_lines();
}

// ----------------------------------------------------------------- CORS --

const APP: &str = "https://app.example";

fn preflight(s: &Server, path: &str, origin: &str) -> Response {
    s.request(&format!(
        "OPTIONS {path} HTTP/1.1\r\nHost: t\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: GET\r\n\r\n"
    ))
}

fn get_from(s: &Server, path: &str, origin: &str) -> Response {
    s.request(&format!(
        "GET {path} HTTP/1.1\r\nHost: t\r\nOrigin: {origin}\r\n\r\n"
    ))
}

#[test]
fn cors_preflight_from_the_allowed_origin() {
    let s = Server::start(&["--cors-origin", APP]);
    let res = preflight(&s, "/hello", APP);
    assert_eq!(res.status, 204, "{res:#?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some(APP),
        "{res:#?}"
    );
    assert!(
        res.has_token("access-control-allow-methods", "GET"),
        "Access-Control-Allow-Methods lists GET: {res:#?}"
    );
    assert!(res.has_token("allow", "GET"), "Allow lists GET: {res:#?}");
    assert!(res.has_token("vary", "Origin"), "{res:#?}");
    assert!(res.body.is_empty(), "{res:#?}");

    // Requested headers: the allowed one comes back.
    let res = s.request(&format!(
        "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nOrigin: {APP}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type\r\n\r\n"
    ));
    assert_eq!(res.status, 204, "{res:#?}");
    assert_eq!(res.header("access-control-allow-origin"), Some(APP));
    assert!(
        res.has_token("access-control-allow-methods", "POST"),
        "{res:#?}"
    );
    assert!(
        res.has_token("access-control-allow-headers", "content-type"),
        "{res:#?}"
    );
    assert!(res.has_token("allow", "POST"), "{res:#?}");
}

#[test]
fn cors_simple_requests_allowed_and_other_origins() {
    let s = Server::start(&["--cors-origin", APP]);
    let res = get_from(&s, "/hello", APP);
    res.assert(200, "text/plain; charset=utf-8", "Hello, Netrunner!");
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some(APP),
        "{res:#?}"
    );
    assert!(res.has_token("vary", "Origin"), "Vary: Origin: {res:#?}");

    // Another origin gets the resource, but no permission to read it.
    let res = get_from(&s, "/hello", "https://evil.example");
    res.assert(200, "text/plain; charset=utf-8", "Hello, Netrunner!");
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:#?}");
    // The answer depends on Origin, so caches must be told (Fetch, "CORS
    // protocol and HTTP caches").
    assert!(res.has_token("vary", "Origin"), "Vary: Origin: {res:#?}");

    // A preflight from another origin gets no CORS permission.
    let res = preflight(&s, "/hello", "https://evil.example");
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:#?}");
    assert_eq!(res.header("access-control-allow-methods"), None, "{res:#?}");

    // A prefix or suffix of the allowed origin is another origin.
    for origin in ["https://app.example.evil", "http://app.example", "null"] {
        let res = get_from(&s, "/hello", origin);
        assert_eq!(
            res.header("access-control-allow-origin"),
            None,
            "{origin}: {res:#?}"
        );
    }

    // Without Origin: no CORS permission either.
    let res = s.get("/hello");
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:#?}");
}

#[test]
fn cors_origin_is_repeatable() {
    let s = Server::start(&[
        "--cors-origin",
        "https://a.example",
        "--cors-origin",
        "https://b.example",
    ]);
    for origin in ["https://a.example", "https://b.example"] {
        let res = get_from(&s, "/json", origin);
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some(origin),
            "{res:#?}"
        );
        let res = preflight(&s, "/json", origin);
        assert_eq!(res.status, 204, "{origin}: {res:#?}");
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
    }
    let res = get_from(&s, "/json", "https://c.example");
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:#?}");
}

#[test]
fn cors_any_origin() {
    let s = Server::start(&["--cors-origin", "*"]);
    for origin in [APP, "https://anything.example", "http://localhost:3000"] {
        let res = get_from(&s, "/hello", origin);
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some("*"),
            "{origin}: {res:#?}"
        );
        let res = preflight(&s, "/hello", origin);
        assert_eq!(res.status, 204, "{origin}: {res:#?}");
        assert_eq!(res.header("access-control-allow-origin"), Some("*"));
        assert!(
            res.has_token("access-control-allow-methods", "GET"),
            "{res:#?}"
        );
        assert!(res.has_token("allow", "GET"), "{res:#?}");
    }
}

#[test]
fn no_cors_headers_without_the_option() {
    let s = Server::start(&[]);
    let res = get_from(&s, "/hello", APP);
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:#?}");
    let res = preflight(&s, "/hello", APP);
    assert_eq!(res.header("access-control-allow-origin"), None, "{res:#?}");
    assert_eq!(res.header("access-control-allow-methods"), None, "{res:#?}");
}

// ----------------------------------------------------------- rate limit --

/// Asserts a `429` from the rate limiter: `Retry-After` a positive whole
/// number of seconds (at most one at 5/s, given a wide margin), a plain
/// text body naming the status; returns `Retry-After`.
#[track_caller]
fn check_429(res: &Response) -> u64 {
    assert_eq!(res.status, 429, "{res:#?}");
    let retry = res
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {res:#?}"));
    let secs: u64 = retry
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After not an integer: {retry:?}"));
    assert!((1..=5).contains(&secs), "Retry-After {secs}");
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{res:#?}"
    );
    assert!(res.text().contains("429"), "{res:#?}");
    secs
}

/// 20 pipelined requests on one connection: the burst of 5 passes, the
/// rest is mostly `429` (a token comes back every 200 ms), the connection
/// stays open; 1.2 s later the bucket is full again.
#[test]
fn rate_limit_on_one_connection() {
    let s = Server::start(&["--rate-limit", "5/s"]);
    let mut conn = s.connect();
    let batch = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n".repeat(20);
    conn.send(batch.as_bytes());
    let responses: Vec<Response> = (0..20).map(|_| conn.read_response()).collect();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..5], [200; 5], "the burst passes: {statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 429)),
        "{statuses:?}"
    );
    let refused: Vec<&Response> = responses.iter().filter(|r| r.status == 429).collect();
    assert!(!refused.is_empty(), "no 429 in {statuses:?}");
    for res in refused {
        check_429(res);
    }
    for res in responses.iter().filter(|r| r.status == 200) {
        assert_eq!(res.text(), "Hello, Netrunner!");
    }

    // The limiter waits out its window: time is the point here.
    thread::sleep(Duration::from_millis(1200));
    conn.send(
        "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            .repeat(5)
            .as_bytes(),
    );
    let statuses: Vec<u16> = (0..5).map(|_| conn.read_response().status).collect();
    assert_eq!(statuses, [200; 5], "after 1.2 s the bucket is full again");
}

/// The bucket is per client address, not per connection: fresh
/// connections share it.
#[test]
fn rate_limit_across_connections() {
    let s = Server::start(&["--rate-limit", "5/s"]);
    let statuses: Vec<u16> = (0..20).map(|_| s.get("/healthz").status).collect();
    assert_eq!(&statuses[..5], [200; 5], "the burst passes: {statuses:?}");
    assert!(statuses.contains(&429), "no 429 in {statuses:?}");
    let mut conn = s.connect();
    conn.send(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n");
    let res = conn.read_response();
    if res.status == 429 {
        let retry = check_429(&res);
        // Waiting as long as told (with a margin) is enough.
        assert!(conn
            .read_within(Duration::from_millis(retry * 1000 + 200))
            .is_err());
        conn.send(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(conn.read_response().status, 200, "after Retry-After");
    }
    // The wait is a socket read timeout: nothing arrives meanwhile.
    conn.expect_silence(Duration::from_millis(1200));
    for _ in 0..5 {
        let res = s.get("/healthz");
        assert_eq!((res.status, res.text()), (200, "ok"), "{res:#?}");
    }
}

#[test]
fn no_rate_limit_by_default() {
    let s = Server::start(&[]);
    let mut conn = s.connect();
    conn.send(
        "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
            .repeat(50)
            .as_bytes(),
    );
    for i in 0..50 {
        assert_eq!(conn.read_response().status, 200, "request {i}");
    }
}
