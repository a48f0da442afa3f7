//! Response encoding: status line, framing fields, `Date`, chunks.
//!
//! Everything is appended to a `Vec<u8>` the caller owns (the connection's
//! write buffer), so that several pipelined responses leave in one write.

use std::fmt;

use netrunner_error::Status;

use crate::head::Version;
use crate::response::{Body, Response};

/// The `Date` field value in IMF-fixdate (RFC 9110 §5.6.7), formatted at
/// most once per second.
///
/// The codec never reads the clock: the caller passes the time in, and only
/// a new second costs a new formatting.
///
/// ```
/// let mut date = netrunner_wire::HttpDate::new(784_111_777);
/// assert_eq!(date.as_bytes(), b"Sun, 06 Nov 1994 08:49:37 GMT");
/// assert!(!date.update(784_111_777)); // the same second: nothing to do
/// assert!(date.update(784_111_778));
/// ```
#[derive(Debug, Clone)]
pub struct HttpDate {
    secs: u64,
    /// `Date: <IMF-fixdate>\r\n`, the whole field line, written in one copy.
    line: [u8; 37],
}

impl HttpDate {
    /// The date of `unix_secs` seconds after 1970-01-01T00:00:00Z.
    pub fn new(unix_secs: u64) -> HttpDate {
        HttpDate {
            secs: unix_secs,
            line: date_line(unix_secs),
        }
    }

    /// Move to `unix_secs`; formats only when the second changed, and says
    /// whether it did.
    pub fn update(&mut self, unix_secs: u64) -> bool {
        if unix_secs == self.secs {
            return false;
        }
        self.secs = unix_secs;
        self.line = date_line(unix_secs);
        true
    }

    /// The formatted date, 29 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.line[6..35]
    }

    fn field_line(&self) -> &[u8; 37] {
        &self.line
    }
}

fn date_line(secs: u64) -> [u8; 37] {
    let mut line = *b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n";
    line[6..35].copy_from_slice(&imf_fixdate(secs));
    line
}

fn imf_fixdate(secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, min, sec) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    two(&mut out[5..7], day as u64);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    let year = year.clamp(0, 9999) as u64;
    two(&mut out[12..14], year / 100);
    two(&mut out[14..16], year % 100);
    two(&mut out[17..19], hour);
    two(&mut out[20..22], min);
    two(&mut out[23..25], sec);
    out
}

fn two(dst: &mut [u8], n: u64) {
    dst[0] = b'0' + (n / 10) as u8;
    dst[1] = b'0' + (n % 10) as u8;
}

/// How the body of a response is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No framing field at all: `1xx` and `204`.
    None,
    /// `Content-Length: n`.
    Known(u64),
    /// `Transfer-Encoding: chunked`; follow with [`encode_chunk`] and
    /// [`encode_last_chunk`]. Only for HTTP/1.1 clients.
    Chunked,
}

/// What the codec must know of the request a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseContext {
    /// The request's version: an HTTP/1.0 client that keeps the connection
    /// open is told so with `Connection: keep-alive`.
    pub version: Version,
    /// Whether the connection stays open; if not, `Connection: close`.
    pub keep_alive: bool,
    /// Whether the request was `HEAD`: framing fields as for `GET`, no body.
    pub head_request: bool,
}

/// Append a whole response, head and body, to `dst`.
///
/// The body is framed with `Content-Length`; it is left out for `HEAD`
/// requests and statuses that have none (`1xx`, `204`, `304`). A `304`
/// announces the length of the body it is given (that of the
/// representation it stands for) and none when given none.
///
/// ```
/// use netrunner_wire::{encode_response, HttpDate, Response, ResponseContext, Status, Version};
///
/// let date = HttpDate::new(0);
/// let cx = ResponseContext { version: Version::Http11, keep_alive: true, head_request: false };
/// let mut out = Vec::new();
/// encode_response(&Response::text(Status::OK, "hi"), cx, &date, &mut out);
/// assert_eq!(
///     out,
///     b"HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
///       Content-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nhi"
/// );
/// ```
pub fn encode_response(res: &Response, cx: ResponseContext, date: &HttpDate, dst: &mut Vec<u8>) {
    encode_head(res, body_length(res), cx, date, dst);
    if sends_body(res, cx) {
        dst.extend_from_slice(res.body.as_bytes());
    }
}

/// How [`encode_response`] frames the body of `res`.
fn body_length(res: &Response) -> BodyLength {
    let len = res.body.len();
    if res.status.is_informational()
        || res.status == Status::NO_CONTENT
        // RFC 9110 §8.6: a 304 may only announce the length of the body it
        // stands for; with none given, it announces nothing (as nginx does).
        || (res.status == Status::NOT_MODIFIED && len == 0)
    {
        BodyLength::None
    } else {
        BodyLength::Known(len)
    }
}

/// The longest head [`HeadCache`] keeps.
const CACHED_HEAD_MAX: usize = 176;

/// The longest `'static` body [`HeadCache`] keeps after its head.
const CACHED_BODY_MAX: usize = 128;

/// How many heads [`HeadCache`] keeps.
const CACHED_HEADS: usize = 8;

/// Encoded heads of the responses a server sends over and over (the same
/// status, content type and length, no fields of their own), so that each
/// is formatted once per `Date` second rather than once per request; a
/// short `'static` body is kept after its head, so that such a response
/// is one copy.
///
/// [`HeadCache::encode_response`] writes exactly the bytes of
/// [`encode_response`]. A response is kept only when its content type is
/// `'static` (it is known by its address, as a kept body is) and it has no
/// other fields; a head is reused only within the second of the `Date` it
/// was written with.
///
/// ```
/// use netrunner_wire::{encode_response, HeadCache, HttpDate, Response, ResponseContext, Status, Version};
///
/// let date = HttpDate::new(0);
/// let cx = ResponseContext { version: Version::Http11, keep_alive: true, head_request: false };
/// let mut cache = HeadCache::new();
/// let (mut cached, mut plain) = (Vec::new(), Vec::new());
/// for _ in 0..2 {
///     cache.encode_response(&Response::text(Status::OK, "hi"), cx, &date, &mut cached);
///     encode_response(&Response::text(Status::OK, "hi"), cx, &date, &mut plain);
/// }
/// assert_eq!(cached, plain);
/// ```
#[derive(Clone)]
pub struct HeadCache {
    heads: [CachedHead; CACHED_HEADS],
}

#[derive(Clone, Copy)]
struct CachedHead {
    key: HeadKey,
    len: usize,
    bytes: [u8; CACHED_HEAD_MAX + CACHED_BODY_MAX],
}

/// Everything a cached head (and body) depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeadKey {
    /// The `Date` second; `u64::MAX` for an empty slot.
    secs: u64,
    body_len: u64,
    /// The address of the `'static` body kept after the head; 0 when only
    /// the head is kept.
    body: usize,
    /// Address and length of the `'static` content type; `(0, 0)` for none.
    content_type: (usize, usize),
    /// The status code, and bits for HTTP/1.1 (16) and keep-alive (17):
    /// one compare for the three.
    shape: u32,
}

impl HeadKey {
    /// The key of `res`, if its head may be cached.
    #[inline]
    fn of(res: &Response, cx: ResponseContext, date: &HttpDate) -> Option<HeadKey> {
        if !res.headers.is_empty() {
            return None;
        }
        let content_type = match &res.content_type {
            None => (0, 0),
            Some(std::borrow::Cow::Borrowed(text)) => (text.as_ptr() as usize, text.len()),
            Some(std::borrow::Cow::Owned(_)) => return None,
        };
        let (body, body_len) = match res.body {
            Body::Static(bytes) if bytes.len() <= CACHED_BODY_MAX && sends_body(res, cx) => {
                (bytes.as_ptr() as usize, bytes.len() as u64)
            }
            ref other => (0, other.len()),
        };
        Some(HeadKey {
            secs: date.secs,
            body_len,
            body,
            content_type,
            shape: u32::from(res.status.code())
                | u32::from(cx.version == Version::Http11) << 16
                | u32::from(cx.keep_alive) << 17,
        })
    }

    fn slot(&self) -> usize {
        (self.body_len as usize ^ self.content_type.1 ^ self.shape as usize) % CACHED_HEADS
    }
}

impl Default for HeadCache {
    fn default() -> Self {
        HeadCache::new()
    }
}

impl fmt::Debug for HeadCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self.heads.iter().filter(|h| h.key.secs != u64::MAX).count();
        f.debug_struct("HeadCache").field("kept", &kept).finish()
    }
}

impl HeadCache {
    /// An empty cache.
    pub fn new() -> HeadCache {
        let empty = CachedHead {
            key: HeadKey {
                secs: u64::MAX,
                body_len: 0,
                body: 0,
                content_type: (0, 0),
                shape: 0,
            },
            len: 0,
            bytes: [0; CACHED_HEAD_MAX + CACHED_BODY_MAX],
        };
        HeadCache {
            heads: [empty; CACHED_HEADS],
        }
    }

    /// [`encode_response`], with the head (and a short `'static` body)
    /// copied from the cache when the same was written before in this
    /// `Date` second.
    pub fn encode_response(
        &mut self,
        res: &Response,
        cx: ResponseContext,
        date: &HttpDate,
        dst: &mut Vec<u8>,
    ) {
        let Some(key) = HeadKey::of(res, cx, date) else {
            return encode_response(res, cx, date, dst);
        };
        let cached = &mut self.heads[key.slot()];
        if cached.key == key {
            dst.extend_from_slice(&cached.bytes[..cached.len]);
            if key.body == 0 && sends_body(res, cx) {
                dst.extend_from_slice(res.body.as_bytes());
            }
            return;
        }
        let mark = dst.len();
        encode_head(res, body_length(res), cx, date, dst);
        let head_end = dst.len();
        if sends_body(res, cx) {
            dst.extend_from_slice(res.body.as_bytes());
        }
        // What is kept: the head, and the body when the key says so.
        let kept = if key.body == 0 { head_end } else { dst.len() } - mark;
        if kept <= cached.bytes.len() && (key.body != 0 || kept <= CACHED_HEAD_MAX) {
            cached.key = key;
            cached.len = kept;
            cached.bytes[..kept].copy_from_slice(&dst[mark..mark + kept]);
        }
    }
}

/// Whether the body of `res` goes on the wire: not for `HEAD`, nor for the
/// statuses that have none. [`encode_response`] appends an in-memory body;
/// a [`Body::File`](crate::Body::File) is the caller's to stream after the
/// head when this is true.
pub fn sends_body(res: &Response, cx: ResponseContext) -> bool {
    !cx.head_request && res.status.allows_body()
}

/// Append a response head framed by `length` to `dst`, ending with the
/// empty line; the body (if any) is the caller's to append.
pub fn encode_head(
    res: &Response,
    length: BodyLength,
    cx: ResponseContext,
    date: &HttpDate,
    dst: &mut Vec<u8>,
) {
    // One reservation for the usual head; the copies below then never
    // reallocate, and each field line is as few copies as it can be.
    dst.reserve(160 + res.content_type.as_ref().map_or(0, |c| c.len()));
    status_line(res.status, dst);
    dst.extend_from_slice(date.field_line());
    if let Some(content_type) = &res.content_type {
        dst.extend_from_slice(b"Content-Type: ");
        dst.extend_from_slice(content_type.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    match length {
        BodyLength::None => {}
        BodyLength::Known(n) => {
            dst.extend_from_slice(b"Content-Length: ");
            decimal(n, dst);
            dst.extend_from_slice(b"\r\n");
        }
        BodyLength::Chunked => dst.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
    }
    if !cx.keep_alive {
        dst.extend_from_slice(b"Connection: close\r\n");
    } else if cx.version == Version::Http10 {
        dst.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    for (name, value) in &res.headers {
        if is_framing_field(name) {
            continue;
        }
        dst.extend_from_slice(name.as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
}

/// Append the interim `100 Continue` response (RFC 9110 §15.2.1).
pub fn encode_continue(dst: &mut Vec<u8>) {
    dst.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
}

/// Append one chunk of a chunked body. An empty `data` appends nothing
/// (an empty chunk would end the body).
pub fn encode_chunk(data: &[u8], dst: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    let mut digits = [0u8; 16];
    let mut n = data.len();
    let mut i = digits.len();
    while n > 0 || i == digits.len() {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
    }
    dst.extend_from_slice(&digits[i..]);
    dst.extend_from_slice(b"\r\n");
    dst.extend_from_slice(data);
    dst.extend_from_slice(b"\r\n");
}

/// Append the last chunk and the empty trailer section.
pub fn encode_last_chunk(dst: &mut Vec<u8>) {
    dst.extend_from_slice(b"0\r\n\r\n");
}

fn is_framing_field(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection", "date"]
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f))
}

fn status_line(status: Status, dst: &mut Vec<u8>) {
    let line: &[u8] = match status.code() {
        200 => b"HTTP/1.1 200 OK\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        400 => b"HTTP/1.1 400 Bad Request\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => {
            dst.extend_from_slice(b"HTTP/1.1 ");
            decimal(u64::from(status.code()), dst);
            dst.push(b' ');
            dst.extend_from_slice(status.reason().as_bytes());
            dst.extend_from_slice(b"\r\n");
            return;
        }
    };
    dst.extend_from_slice(line);
}

fn decimal(mut n: u64, dst: &mut Vec<u8>) {
    if n < 10 {
        dst.push(b'0' + n as u8);
        return;
    }
    if n < 100 {
        dst.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    dst.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::BodyDecoder;
    use crate::head::Framing;
    use crate::response::Body;
    use crate::test_support::arrivals;

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, the example date of RFC 9110.
    const DATE: u64 = 784_111_777;

    const KEEP_ALIVE: ResponseContext = ResponseContext {
        version: Version::Http11,
        keep_alive: true,
        head_request: false,
    };

    /// Encode `res` for a request described by `cx` and compare the exact
    /// bytes, written with `|` for CRLF so that tables read as lines. The
    /// head must also parse as a response, and the body must be what its
    /// `Content-Length` says.
    fn check(res: Response, cx: ResponseContext, expected: &str) {
        let mut out = b"previous response|".to_vec();
        encode_response(&res, cx, &HttpDate::new(DATE), &mut out);
        let out = out
            .strip_prefix(b"previous response|")
            .expect("appends to what is in the buffer");
        let shown = String::from_utf8_lossy(out).replace("\r\n", "|");
        assert_eq!(shown, expected);

        let mut fields = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Response::new(&mut fields);
        let Ok(httparse::Status::Complete(n)) = parsed.parse(out) else {
            panic!("not a response head: {shown:?}");
        };
        assert_eq!(parsed.code, Some(res.status.code()));
        let length = parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .map(|h| {
                std::str::from_utf8(h.value)
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            });
        let sends_body = !cx.head_request && res.status.allows_body();
        match length {
            Some(len) if sends_body => assert_eq!(out.len() - n, len),
            _ => assert_eq!(out.len(), n, "no body may follow"),
        }
    }

    #[test]
    fn ok_text() {
        check(
            Response::text(Status::OK, "Hello, World!"),
            KEEP_ALIVE,
            "HTTP/1.1 200 OK|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 13||Hello, World!",
        );
        check(
            Response::new(Status::OK),
            KEEP_ALIVE,
            "HTTP/1.1 200 OK|Date: Sun, 06 Nov 1994 08:49:37 GMT|Content-Length: 0||",
        );
        check(
            Response::with_body(
                Status::CREATED,
                "application/json",
                Body::Bytes(b"{}".to_vec()),
            )
            .with_header("Location", "/items/1")
            .with_header("Cache-Control", "no-store"),
            KEEP_ALIVE,
            "HTTP/1.1 201 Created|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: application/json|Content-Length: 2|\
             Location: /items/1|Cache-Control: no-store||{}",
        );
    }

    #[test]
    fn errors() {
        check(
            Response::error(Status::NOT_FOUND),
            KEEP_ALIVE,
            "HTTP/1.1 404 Not Found|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 14||404 Not Found\n",
        );
        check(
            Response::from_error(netrunner_error::HttpError::RequestLineTooLong),
            ResponseContext {
                keep_alive: false,
                ..KEEP_ALIVE
            },
            "HTTP/1.1 414 URI Too Long|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 17|\
             Connection: close||414 URI Too Long\n",
        );
        check(
            Response::error(Status::BAD_REQUEST),
            ResponseContext {
                keep_alive: false,
                ..KEEP_ALIVE
            },
            "HTTP/1.1 400 Bad Request|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 16|\
             Connection: close||400 Bad Request\n",
        );
    }

    #[test]
    fn head_requests_get_the_length_and_no_body() {
        check(
            Response::text(Status::OK, "Hello, World!"),
            ResponseContext {
                head_request: true,
                ..KEEP_ALIVE
            },
            "HTTP/1.1 200 OK|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 13||",
        );
    }

    #[test]
    fn statuses_without_a_body() {
        check(
            Response::new(Status::NO_CONTENT),
            KEEP_ALIVE,
            "HTTP/1.1 204 No Content|Date: Sun, 06 Nov 1994 08:49:37 GMT||",
        );
        // A body given for 204 is dropped, and no length announced.
        check(
            Response::text(Status::NO_CONTENT, "ignored"),
            KEEP_ALIVE,
            "HTTP/1.1 204 No Content|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8||",
        );
        // 304 announces the length of the body it stands for, sends none.
        check(
            Response::with_body(
                Status::NOT_MODIFIED,
                "text/html",
                Body::Static(b"<p>hi</p>"),
            )
            .with_header("ETag", "\"v1\""),
            KEEP_ALIVE,
            "HTTP/1.1 304 Not Modified|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/html|Content-Length: 9|ETag: \"v1\"||",
        );
        // A 304 without a body announces no length: 0 would be false.
        check(
            Response::new(Status::NOT_MODIFIED).with_header("ETag", "\"v1\""),
            KEEP_ALIVE,
            "HTTP/1.1 304 Not Modified|Date: Sun, 06 Nov 1994 08:49:37 GMT|ETag: \"v1\"||",
        );
        check(
            Response::new(Status::SWITCHING_PROTOCOLS).with_header("Upgrade", "websocket"),
            KEEP_ALIVE,
            "HTTP/1.1 101 Switching Protocols|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Upgrade: websocket||",
        );
    }

    #[test]
    fn connection() {
        let close = ResponseContext {
            keep_alive: false,
            ..KEEP_ALIVE
        };
        check(
            Response::text(Status::OK, "hi"),
            close,
            "HTTP/1.1 200 OK|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 2|Connection: close||hi",
        );
        let http10 = ResponseContext {
            version: Version::Http10,
            ..KEEP_ALIVE
        };
        check(
            Response::text(Status::OK, "hi"),
            http10,
            "HTTP/1.1 200 OK|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 2|Connection: keep-alive||hi",
        );
        check(
            Response::text(Status::OK, "hi"),
            ResponseContext {
                keep_alive: false,
                ..http10
            },
            "HTTP/1.1 200 OK|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 2|Connection: close||hi",
        );
    }

    #[test]
    fn framing_fields_of_the_handler_are_dropped() {
        check(
            Response::text(Status::OK, "hi")
                .with_header("Content-Length", "99")
                .with_header("X-Kept", "1")
                .with_header("transfer-encoding", "chunked")
                .with_header("CONNECTION", "keep-alive")
                .with_header("Date", "Mon, 01 Jan 2001 00:00:00 GMT")
                .with_header("Cache-Control", "no-store"),
            ResponseContext {
                keep_alive: false,
                ..KEEP_ALIVE
            },
            "HTTP/1.1 200 OK|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 2|Connection: close|\
             X-Kept: 1|Cache-Control: no-store||hi",
        );
    }

    #[test]
    fn any_status_code() {
        let status = |code| Status::new(code).unwrap();
        check(
            Response::new(status(299)),
            KEEP_ALIVE,
            "HTTP/1.1 299 |Date: Sun, 06 Nov 1994 08:49:37 GMT|Content-Length: 0||",
        );
        check(
            Response::error(status(599)),
            KEEP_ALIVE,
            "HTTP/1.1 599 |Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 5||599 \n",
        );
        check(
            Response::error(Status::HTTP_VERSION_NOT_SUPPORTED),
            KEEP_ALIVE,
            "HTTP/1.1 505 HTTP Version Not Supported|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 31||\
             505 HTTP Version Not Supported\n",
        );
        check(
            Response::new(Status::PERMANENT_REDIRECT).with_header("Location", "/new"),
            KEEP_ALIVE,
            "HTTP/1.1 308 Permanent Redirect|Date: Sun, 06 Nov 1994 08:49:37 GMT|\
             Content-Length: 0|Location: /new||",
        );
    }

    #[test]
    fn heads_for_a_chunked_body() {
        let mut out = Vec::new();
        let res = Response::with_body(Status::OK, "text/plain", Body::Empty);
        let date = HttpDate::new(DATE);
        encode_head(&res, BodyLength::Chunked, KEEP_ALIVE, &date, &mut out);
        encode_chunk(b"hello", &mut out);
        encode_last_chunk(&mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
              Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n0\r\n\r\n"
        );
        out.clear();
        encode_head(&res, BodyLength::None, KEEP_ALIVE, &date, &mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\r\n"
        );
        out.clear();
        encode_head(
            &res,
            BodyLength::Known(u64::MAX),
            KEEP_ALIVE,
            &date,
            &mut out,
        );
        assert!(out.ends_with(b"Content-Length: 18446744073709551615\r\n\r\n"));
        out.clear();
        encode_continue(&mut out);
        assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn pipelined_responses_share_a_buffer() {
        let date = HttpDate::new(0);
        let mut out = Vec::new();
        encode_response(
            &Response::text(Status::OK, "a"),
            KEEP_ALIVE,
            &date,
            &mut out,
        );
        encode_response(
            &Response::new(Status::NO_CONTENT),
            KEEP_ALIVE,
            &date,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap().replace("\r\n", "|"),
            "HTTP/1.1 200 OK|Date: Thu, 01 Jan 1970 00:00:00 GMT|\
             Content-Type: text/plain; charset=utf-8|Content-Length: 1||a\
             HTTP/1.1 204 No Content|Date: Thu, 01 Jan 1970 00:00:00 GMT||"
        );
    }

    #[test]
    fn http_date() {
        for (secs, expected) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (1_709_251_199, "Thu, 29 Feb 2024 23:59:59 GMT"),
            (2_147_483_647, "Tue, 19 Jan 2038 03:14:07 GMT"),
            (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 GMT"),
            (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"),
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(
                std::str::from_utf8(HttpDate::new(secs).as_bytes()).unwrap(),
                expected,
                "{secs}"
            );
        }
        // Past year 9999 the date is wrong but still 29 bytes of ASCII.
        assert!(HttpDate::new(u64::MAX).as_bytes().is_ascii());
    }

    #[test]
    fn http_date_updates_once_a_second() {
        let mut date = HttpDate::new(DATE);
        assert!(!date.update(DATE));
        assert_eq!(date.as_bytes(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(date.update(DATE + 1));
        assert_eq!(date.as_bytes(), b"Sun, 06 Nov 1994 08:49:38 GMT");
        assert!(!date.update(DATE + 1));
        // A clock that steps back is followed too.
        assert!(date.update(0));
        assert_eq!(date.as_bytes(), b"Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn chunks() {
        let encoded = |data: &[u8]| {
            let mut out = Vec::new();
            encode_chunk(data, &mut out);
            out
        };
        assert_eq!(encoded(b"hello"), b"5\r\nhello\r\n");
        assert_eq!(encoded(b""), b"");
        assert!(encoded(&[b'x'; 15]).starts_with(b"f\r\nxxx"));
        assert!(encoded(&[b'x'; 16]).starts_with(b"10\r\nxxx"));
        assert!(encoded(&[b'x'; 255]).starts_with(b"ff\r\nxxx"));
        assert!(encoded(&[b'x'; 4096]).starts_with(b"1000\r\nxxx"));
        let mut last = Vec::new();
        encode_last_chunk(&mut last);
        assert_eq!(last, b"0\r\n\r\n");
    }

    #[test]
    fn chunks_round_trip_through_the_decoder() {
        let sizes = [1, 0, 15, 16, 17, 255, 256, 2, 0, 1000];
        let mut wire = Vec::new();
        let mut sent = Vec::new();
        for (i, size) in sizes.into_iter().enumerate() {
            let data: Vec<u8> = (0..size).map(|j| (i * 31 + j) as u8).collect();
            encode_chunk(&data, &mut wire);
            sent.extend_from_slice(&data);
        }
        encode_last_chunk(&mut wire);
        wire.extend_from_slice(b"GET /");
        for (how, pieces) in arrivals(&wire) {
            let mut decoder = BodyDecoder::new(Framing::Chunked, sent.len() as u64);
            let (mut buf, mut body) = (Vec::new(), Vec::new());
            for piece in pieces {
                buf.extend_from_slice(piece);
                let step = decoder.decode(&buf, &mut body).unwrap();
                buf.drain(..step.consumed);
            }
            assert!(decoder.is_done(), "{how}");
            assert_eq!(body, sent, "{how}");
            assert_eq!(buf, b"GET /", "{how}");
        }
    }

    #[test]
    fn the_head_cache_writes_what_encode_response_writes() {
        let responses = || {
            let mut all = vec![
                Response::text(Status::OK, "hi"),
                Response::text(Status::OK, "ho"),
                Response::text(Status::OK, "hello"),
                Response::text(Status::OK, &"long body ".repeat(20).leak()[..]),
                Response::text(Status::NOT_FOUND, "hi"),
                Response::with_body(Status::OK, "text/plain", Body::Static(b"Hello, World!")),
                Response::with_body(Status::OK, "application/json", Body::Static(b"{}")),
                Response::with_body(Status::OK, String::from("text/plain"), Body::Static(b"x")),
                Response {
                    body: Body::Static(b"x"),
                    ..Response::new(Status::OK)
                },
                Response::new(Status::NO_CONTENT),
                Response::new(Status::NOT_MODIFIED),
                Response::error(Status::BAD_REQUEST),
                Response::text(Status::OK, "with a field").with_header("X-A", "1"),
                Response::text(Status::OK, "with a field").with_header("X-A", "2"),
            ];
            // More shapes than the cache has places, so that they collide.
            for len in 0..=2 * CACHED_HEADS {
                let body: &'static [u8] = &[b'a'; 2 * CACHED_HEADS][..len];
                all.push(Response::with_body(
                    Status::OK,
                    "text/plain",
                    Body::Static(body),
                ));
            }
            all
        };
        let mut contexts = Vec::new();
        for version in [Version::Http10, Version::Http11] {
            for keep_alive in [false, true] {
                for head_request in [false, true] {
                    contexts.push(ResponseContext {
                        version,
                        keep_alive,
                        head_request,
                    });
                }
            }
        }
        // Every pair of (response, context, second) one right after the
        // other with nothing between: whatever the key missed, the second
        // of some pair would be handed the first one's head.
        let mut states = Vec::new();
        for res in responses() {
            for secs in [DATE, DATE + 1] {
                for cx in &contexts {
                    states.push((res.clone(), *cx, secs));
                }
            }
        }
        let (mut cached, mut plain) = (Vec::new(), Vec::new());
        for first in &states {
            for (res, cx, secs) in &states {
                let mut cache = HeadCache::new();
                cache.encode_response(&first.0, first.1, &HttpDate::new(first.2), &mut cached);
                cached.clear();
                plain.clear();
                let date = HttpDate::new(*secs);
                cache.encode_response(res, *cx, &date, &mut cached);
                encode_response(res, *cx, &date, &mut plain);
                assert_eq!(cached, plain, "{res:?} {cx:?} after {first:?}");
            }
        }
    }
}
