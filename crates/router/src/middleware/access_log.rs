//! The access log: one line per request in the Combined Log Format, written
//! by a background thread so that no request waits on the terminal.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{SystemTime, UNIX_EPOCH};

use netrunner_wire::{Method, Request, Response, Version};

use super::{Middleware, Next};

/// Lines an [`AccessLog`] queues for its writer thread at most. A request
/// that finds the queue full waits until the writer has taken a line (the
/// log falls behind only when its output is slower than the requests, and
/// then memory stays bounded and no line is lost).
pub const ACCESS_LOG_QUEUE_LINES: usize = 16_384;

/// An access log: formats one [`combined_log_line`] per request and hands
/// it to a writer thread of its own.
///
/// The writer thread writes through a [`BufWriter`] and flushes whenever it
/// finds no line waiting, so a busy server writes many lines per system
/// call and a quiet one shows each line at once. A request costs the
/// formatting of its line (one allocation) and a send on a bounded channel;
/// it never waits on the output unless [`ACCESS_LOG_QUEUE_LINES`] lines
/// are already queued.
///
/// Dropping the log (or [`AccessLog::finish`]) closes the channel and
/// joins the writer thread, once every line has been written and flushed.
/// Inside a router, that happens when the router is dropped.
///
/// ```
/// use std::io::Write;
/// use std::sync::{Arc, Mutex};
///
/// use netrunner_router::middleware::AccessLog;
/// use netrunner_router::Router;
/// use netrunner_wire::{Request, Response, Status};
///
/// /// A sink the test can read back.
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
///
/// impl Write for Shared {
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().write(buf)
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         Ok(())
///     }
/// }
///
/// let sink = Shared::default();
/// let router = Router::new()
///     .get("/", |_: &Request<'_>, _: &_| Response::text(Status::OK, "home"))
///     .wrap(AccessLog::new(sink.clone())?.middleware())
///     .build()?;
/// # let bytes = b"GET /?q HTTP/1.1\r\nHost: a\r\n\r\n";
/// # let mut head = netrunner_wire::RequestHead::default();
/// # netrunner_wire::HeadParser::new().parse(bytes, &Default::default(), &mut head)?;
/// # let _ = router.handle(&Request::new(&head, bytes, b""));
/// // ... requests ...
/// drop(router); // Joins the writer: every line is written.
/// let log = String::from_utf8(sink.0.lock().unwrap().clone())?;
/// assert!(log.ends_with("\"GET /?q HTTP/1.1\" 200 4 \"-\" \"-\"\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AccessLog {
    lines: Option<SyncSender<String>>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl AccessLog {
    /// A log written to standard output.
    ///
    /// # Errors
    ///
    /// The writer thread could not be started.
    pub fn stdout() -> io::Result<AccessLog> {
        AccessLog::new(io::stdout())
    }

    /// A log written to `sink`, through a [`BufWriter`], by a new thread.
    ///
    /// If a write or flush fails, the error is reported once on standard
    /// error, later lines are dropped (requests never wait on a broken
    /// output), and [`AccessLog::finish`] returns the error.
    ///
    /// # Errors
    ///
    /// The writer thread could not be started.
    pub fn new<W: Write + Send + 'static>(sink: W) -> io::Result<AccessLog> {
        let (tx, rx) = mpsc::sync_channel(ACCESS_LOG_QUEUE_LINES);
        let writer = thread::Builder::new()
            .name("netrunner-access-log".into())
            .spawn(move || write_lines(&rx, sink))?;
        Ok(AccessLog {
            lines: Some(tx),
            writer: Some(writer),
        })
    }

    /// Log `req`, answered by `res`, received at `at`.
    pub fn record(&self, req: &Request<'_>, res: &Response, at: SystemTime) {
        if let Some(lines) = &self.lines {
            // An error means the writer thread is gone; there is nobody
            // left to write the line.
            let _ = lines.send(combined_log_line(req, res, at));
        }
    }

    /// This log as a middleware: each request is logged once the rest of
    /// the chain has answered it, with the time it arrived. Put it first
    /// (outermost) to log the final status of every answer, those of other
    /// middleware included.
    ///
    /// A handler that panics leaves no line here: the event loop reports
    /// it.
    pub fn middleware(self) -> impl Middleware {
        move |req: &Request<'_>, next: Next<'_>| {
            let at = SystemTime::now();
            let res = next(req);
            self.record(req, &res, at);
            res
        }
    }

    /// Write every line still queued, flush, and stop the writer thread.
    ///
    /// # Errors
    ///
    /// The first error writing to the sink, if any.
    pub fn finish(mut self) -> io::Result<()> {
        self.close()
    }

    fn close(&mut self) -> io::Result<()> {
        drop(self.lines.take());
        match self.writer.take() {
            Some(writer) => writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the access log writer panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The writer thread: write each line, flush whenever the channel is
/// momentarily empty, stop when every sender is gone.
fn write_lines<W: Write>(lines: &Receiver<String>, sink: W) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, sink);
    let mut result = Ok(());
    loop {
        let line = match lines.try_recv() {
            Ok(line) => line,
            Err(TryRecvError::Empty) => {
                if result.is_ok() {
                    check(out.flush(), &mut result);
                }
                match lines.recv() {
                    Ok(line) => line,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        if result.is_ok() {
            check(out.write_all(line.as_bytes()), &mut result);
        }
    }
    if result.is_ok() {
        check(out.flush(), &mut result);
    } else {
        // Nothing more may reach the broken sink, not even from `drop`.
        let _ = out.into_parts();
    }
    result
}

/// Keep the first error in `result`, and report it on standard error.
fn check(r: io::Result<()>, result: &mut io::Result<()>) {
    if let (Err(err), Ok(())) = (r, &result) {
        eprintln!("netrunner: access log: {err}; later lines are dropped");
        *result = Err(err);
    }
}

/// One line of the Combined Log Format, newline included:
///
/// ```text
/// HOST - - [10/Oct/2000:13:55:36 +0000] "GET /path?q HTTP/1.1" 200 13 "REFERER" "USER-AGENT"
/// ```
///
/// - `HOST` is the peer's IP address (an IPv4-mapped IPv6 address as
///   IPv4), `-` when unknown. Identity and user are always `-`.
/// - The time is `at`, in UTC.
/// - The request line is the method, the target and the version as
///   received.
/// - The size is the number of body bytes sent, `-` for none (as Apache's
///   `%b`): `-` for a `HEAD` request and for `1xx`, `204` and `304`, which
///   carry no body.
/// - `REFERER` and `USER-AGENT` are the request's fields, `-` when absent
///   or empty.
/// - In the quoted fields, `"`, `\`, control bytes and bytes outside ASCII
///   are written `\xHH` (as nginx does), so a line is always one line of
///   ASCII and a field always ends at the next `"`.
pub fn combined_log_line(req: &Request<'_>, res: &Response, at: SystemTime) -> String {
    let mut line = String::with_capacity(160);
    match req.peer() {
        Some(peer) => {
            let _ = write!(line, "{}", peer.ip().to_canonical());
        }
        None => line.push('-'),
    }
    line.push_str(" - - [");
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    clf_date(&mut line, secs);
    line.push_str("] \"");
    escape(&mut line, req.method_str().as_bytes());
    line.push(' ');
    escape(&mut line, req.target().as_bytes());
    line.push_str(match req.version() {
        Version::Http10 => " HTTP/1.0",
        Version::Http11 => " HTTP/1.1",
    });
    let sent = if req.method() == Method::Head || !res.status.allows_body() {
        0
    } else {
        res.body.len()
    };
    let _ = write!(line, "\" {} ", res.status.code());
    if sent == 0 {
        line.push('-');
    } else {
        let _ = write!(line, "{sent}");
    }
    for name in ["referer", "user-agent"] {
        line.push_str(" \"");
        match req.header(name) {
            Some(value) if !value.is_empty() => escape(&mut line, value),
            _ => line.push('-'),
        }
        line.push('"');
    }
    line.push('\n');
    line
}

/// Append `bytes` to `out`, with `"`, `\`, control bytes and non-ASCII
/// bytes as `\xHH`.
fn escape(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
}

/// Append the Common Log Format date of `unix_secs`, in UTC:
/// `10/Oct/2000:13:55:36 +0000`.
fn clf_date(out: &mut String, unix_secs: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let rem = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(unix_secs / 86_400);
    let _ = write!(
        out,
        "{day:02}/{}/{year:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[month as usize - 1],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    );
}

/// The proleptic Gregorian date (year, month 1 to 12, day 1 to 31) of a
/// day counted from 1970-01-01: Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>), in eras of 400
/// years (146,097 days) that start on 1 March, so the leap day ends a year.
fn civil_from_days(days: u64) -> (u64, u32, u32) {
    // 719,468 days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // Day of the era, 0 to 146,096.
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0 to 399.
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // Day of the year from 1 March.
    let mp = (5 * doy + 2) / 153; // Month from March, 0 to 11.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use netrunner_wire::{Body, HeadParser, Limits, RequestHead, Status};

    use super::*;
    use crate::testing::with_request;
    use crate::Router;

    /// 2000-10-10 13:55:36 UTC.
    const OCT_10_2000: u64 = 971_186_136;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn date(secs: u64) -> String {
        let mut out = String::new();
        clf_date(&mut out, secs);
        out
    }

    /// The log line for the raw request `head` (with `Host: a` added, and
    /// `peer`), answered by `res` at the fixed time.
    fn line(head: &str, peer: Option<&str>, res: &Response) -> String {
        let head = head.replacen("\r\n", "\r\nHost: a\r\n", 1);
        let mut parsed = RequestHead::default();
        HeadParser::new()
            .parse(head.as_bytes(), &Limits::default(), &mut parsed)
            .unwrap()
            .expect("a whole head");
        let mut req = Request::new(&parsed, head.as_bytes(), b"");
        if let Some(peer) = peer {
            req = req.with_peer(peer.parse::<SocketAddr>().unwrap());
        }
        combined_log_line(&req, res, at(OCT_10_2000))
    }

    #[test]
    fn dates() {
        assert_eq!(date(OCT_10_2000), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(date(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(date(1_709_251_199), "29/Feb/2024:23:59:59 +0000");
        assert_eq!(date(1_709_251_200), "01/Mar/2024:00:00:00 +0000");
        assert_eq!(date(951_782_400), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(date(4_107_542_400), "01/Mar/2100:00:00:00 +0000");
        assert_eq!(date(253_402_300_799), "31/Dec/9999:23:59:59 +0000");
        // Every day for 30 years moves the date by exactly one day.
        let mut prev = civil_from_days(0);
        for days in 1..=11_016 {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = prev;
            let next_day = (y, m, d) == (py, pm, pd + 1);
            let next_month = (y, m, d) == (py, pm + 1, 1);
            let next_year = (y, m, d) == (py + 1, 1, 1) && (pm, pd) == (12, 31);
            assert!(
                next_day || next_month || next_year,
                "{prev:?} -> {y}-{m}-{d}"
            );
            prev = (y, m, d);
        }
        assert_eq!(prev, (2000, 2, 29));
    }

    #[test]
    fn combined_format() {
        let res = Response::text(Status::OK, "Hello, World!");
        assert_eq!(
            line(
                "GET /path?q HTTP/1.1\r\nReferer: http://r.example/\r\nUser-Agent: curl/8.5.0\r\n\r\n",
                Some("192.0.2.7:51234"),
                &res,
            ),
            "192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /path?q HTTP/1.1\" 200 13 \
             \"http://r.example/\" \"curl/8.5.0\"\n"
        );
        // No peer, no referer, no agent, HTTP/1.0.
        assert_eq!(
            line("GET / HTTP/1.0\r\n\r\n", None, &res),
            "- - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.0\" 200 13 \"-\" \"-\"\n"
        );
        // IPv6, and IPv4 mapped into IPv6.
        assert!(
            line("GET / HTTP/1.1\r\n\r\n", Some("[2001:db8::1]:80"), &res)
                .starts_with("2001:db8::1 - - ")
        );
        assert!(
            line("GET / HTTP/1.1\r\n\r\n", Some("[::ffff:10.0.0.1]:80"), &res)
                .starts_with("10.0.0.1 - - ")
        );
        // An empty field is `-` too.
        assert!(line("GET / HTTP/1.1\r\nReferer: \r\n\r\n", None, &res).ends_with(" \"-\" \"-\"\n"));
    }

    #[test]
    fn sizes() {
        let req = "GET / HTTP/1.1\r\n\r\n";
        let size = |head: &str, res: &Response| -> String {
            let line = line(head, None, res);
            line.split('"').nth(2).unwrap().trim().to_owned()
        };
        assert_eq!(size(req, &Response::text(Status::OK, "abc")), "200 3");
        assert_eq!(size(req, &Response::new(Status::OK)), "200 -");
        assert_eq!(size(req, &Response::new(Status::NO_CONTENT)), "204 -");
        assert_eq!(
            size(req, &Response::text(Status::NOT_MODIFIED, "abc")),
            "304 -"
        );
        assert_eq!(
            size(
                "HEAD / HTTP/1.1\r\n\r\n",
                &Response::text(Status::OK, "abc")
            ),
            "200 -"
        );
        assert_eq!(
            size(req, &Response::error(Status::TOO_MANY_REQUESTS)),
            "429 22"
        );
        let big = Response::with_body(Status::OK, "a/b", Body::Bytes(vec![0; 100_000]));
        assert_eq!(size(req, &big), "200 100000");
    }

    #[test]
    fn escaping() {
        let res = Response::new(Status::OK);
        let l = line(
            "GET /a\"b\\c HTTP/1.1\r\nUser-Agent: say \"hi\" \\ \tnow\r\nReferer: caf\u{e9}\r\n\r\n",
            None,
            &res,
        );
        assert_eq!(
            l,
            "- - - [10/Oct/2000:13:55:36 +0000] \"GET /a\\x22b\\x5Cc HTTP/1.1\" 200 - \
             \"caf\\xC3\\xA9\" \"say \\x22hi\\x22 \\x5C \\x09now\"\n"
        );
        // Every byte: the line stays printable ASCII, and `"` only
        // delimits fields.
        let mut out = String::new();
        let all: Vec<u8> = (0..=255).collect();
        escape(&mut out, &all);
        assert!(out.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"'));
        assert_eq!(out.len(), 95 - 2 + (256 - 95 + 2) * 4);
    }

    /// A sink the test can read back; it counts flushes.
    #[derive(Clone, Default)]
    struct Shared {
        bytes: Arc<Mutex<Vec<u8>>>,
        flushes: Arc<Mutex<usize>>,
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            *self.flushes.lock().unwrap() += 1;
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn writer_writes_every_line_in_order() {
        let sink = Shared::default();
        let log = AccessLog::new(sink.clone()).unwrap();
        let res = Response::text(Status::OK, "x");
        for i in 0..20_000 {
            with_request("GET", &format!("/{i}"), |req| {
                log.record(req, &res, at(OCT_10_2000));
            });
        }
        log.finish().unwrap();
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000);
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(
                *line,
                format!(
                    "- - - [10/Oct/2000:13:55:36 +0000] \"GET /{i} HTTP/1.1\" 200 1 \"-\" \"-\""
                )
            );
        }
        assert!(*sink.flushes.lock().unwrap() >= 1);
    }

    #[test]
    fn writer_flushes_when_idle() {
        let sink = Shared::default();
        let log = AccessLog::new(sink.clone()).unwrap();
        with_request("GET", "/", |req| {
            log.record(req, &Response::new(Status::OK), at(0));
        });
        // The line is flushed without more lines or a drop: wait for the
        // writer (a bounded wait on the flush count, not a fixed sleep).
        // The writer may flush once before the line reaches it (its queue
        // was empty when it started), so wait for the line itself.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sink.text().lines().count() == 0 {
            assert!(std::time::Instant::now() < deadline, "never flushed");
            thread::yield_now();
        }
        assert!(*sink.flushes.lock().unwrap() >= 1);
        assert_eq!(sink.text().lines().count(), 1);
        drop(log);
    }

    #[test]
    fn broken_sink_drops_lines_and_reports() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let log = AccessLog::new(Broken).unwrap();
        let res = Response::new(Status::OK);
        // More lines than the queue holds: requests never block on it.
        for _ in 0..ACCESS_LOG_QUEUE_LINES * 2 {
            with_request("GET", "/", |req| log.record(req, &res, at(0)));
        }
        let err = log.finish().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn middleware_logs_the_answer() {
        let sink = Shared::default();
        let router = Router::new()
            .get("/hello", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "Hello!")
            })
            .wrap(AccessLog::new(sink.clone()).unwrap().middleware())
            .build()
            .unwrap();
        for target in ["/hello", "/nope?x=1"] {
            with_request("GET", target, |req| {
                let req = req.with_peer("127.0.0.1:4000".parse().unwrap());
                router.handle(&req);
            });
        }
        drop(router);
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("127.0.0.1 - - ["), "{}", lines[0]);
        assert!(lines[0].ends_with("] \"GET /hello HTTP/1.1\" 200 6 \"-\" \"-\""));
        assert!(lines[1].ends_with("] \"GET /nope?x=1 HTTP/1.1\" 404 14 \"-\" \"-\""));
    }
}
