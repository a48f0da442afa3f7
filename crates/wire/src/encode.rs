//! Response encoding: status line, framing fields, `Date`, chunks.
//!
//! Everything is appended to a `Vec<u8>` the caller owns (the connection's
//! write buffer), so that several pipelined responses leave in one write.

use netrunner_error::Status;

use crate::head::Version;
use crate::response::Response;

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
    bytes: [u8; 29],
}

impl HttpDate {
    /// The date of `unix_secs` seconds after 1970-01-01T00:00:00Z.
    pub fn new(unix_secs: u64) -> HttpDate {
        HttpDate {
            secs: unix_secs,
            bytes: imf_fixdate(unix_secs),
        }
    }

    /// Move to `unix_secs`; formats only when the second changed, and says
    /// whether it did.
    pub fn update(&mut self, unix_secs: u64) -> bool {
        if unix_secs == self.secs {
            return false;
        }
        self.secs = unix_secs;
        self.bytes = imf_fixdate(unix_secs);
        true
    }

    /// The formatted date, 29 bytes.
    pub fn as_bytes(&self) -> &[u8; 29] {
        &self.bytes
    }
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
/// requests and statuses that have none (`1xx`, `204`, `304`).
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
    let body = res.body.as_bytes();
    let length = if res.status.is_informational() || res.status == Status::NO_CONTENT {
        BodyLength::None
    } else {
        BodyLength::Known(body.len() as u64)
    };
    encode_head(res, length, cx, date, dst);
    if !cx.head_request && res.status.allows_body() {
        dst.extend_from_slice(body);
    }
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
    status_line(res.status, dst);
    dst.extend_from_slice(b"Date: ");
    dst.extend_from_slice(date.as_bytes());
    dst.extend_from_slice(b"\r\n");
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
