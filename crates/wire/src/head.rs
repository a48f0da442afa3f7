//! Request heads: [`HeadParser`] finds and checks them, [`RequestHead`] keeps
//! what was found as offsets into the caller's buffer.
//!
//! The parser is fed the bytes of one connection that are not yet consumed,
//! as many as have arrived. It answers "need more" (`Ok(None)`), "a whole
//! head of `n` bytes" (`Ok(Some(n))`), or the [`HttpError`] that rejects it.
//! It keeps a few bytes of state so that a head arriving one byte at a time
//! is scanned once, not re-parsed on every byte.

use std::mem::MaybeUninit;

use netrunner_error::HttpError;

use crate::limits::{Limits, MAX_HEADERS};

/// A byte range `start..end` into the buffer a head was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(outer: &[u8], inner: &[u8]) -> Span {
        if inner.is_empty() {
            return Span::default();
        }
        // `inner` is a sub-slice of `outer` handed back by httparse, so the
        // difference of their addresses is its offset.
        let start = inner.as_ptr() as usize - outer.as_ptr() as usize;
        Span {
            start: start as u32,
            end: (start + inner.len()) as u32,
        }
    }

    /// The bytes of this span in `buf`.
    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }

    fn str<'a>(&self, buf: &'a [u8]) -> &'a str {
        // Every span of a `RequestHead` over text fields (method, target, header
        // names) was cut from a `&str` httparse validated, at char boundaries.
        std::str::from_utf8(self.get(buf)).unwrap_or("")
    }
}

/// The request method (RFC 9110 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other token; [`crate::Request::method_str`] gives its text.
    Other,
}

impl Method {
    /// The method named by `token` (case-sensitive, RFC 9110 §9.1).
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }

    /// The method's name, or `None` for [`Method::Other`].
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other => return None,
        })
    }
}

/// The protocol version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

/// How the body of a request is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length: n`, `n > 0`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// One parsed request head, as offsets into the buffer it was parsed from.
///
/// It owns no copy of the bytes: [`crate::Request`] pairs it with them.
/// Parsing again reuses its header list, so a warm `RequestHead` parses
/// without allocating.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub(crate) method: Method,
    pub(crate) method_span: Span,
    pub(crate) target: Span,
    pub(crate) path: Span,
    pub(crate) query: Option<Span>,
    pub(crate) version: Version,
    pub(crate) headers: Vec<(Span, Span)>,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) len: usize,
}

impl Default for RequestHead {
    fn default() -> Self {
        RequestHead {
            method: Method::Get,
            method_span: Span::default(),
            target: Span::default(),
            path: Span::default(),
            query: None,
            version: Version::Http11,
            headers: Vec::new(),
            framing: Framing::None,
            keep_alive: true,
            expect_continue: false,
            len: 0,
        }
    }
}

impl RequestHead {
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// How the body that follows is framed.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Whether the connection may carry another request after this one
    /// (RFC 9112 §9.3): HTTP/1.1 unless `Connection: close`, HTTP/1.0 only
    /// with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether the client sent `Expect: 100-continue` (RFC 9110 §10.1.1).
    pub fn expects_continue(&self) -> bool {
        self.expect_continue
    }

    /// Length of the head in bytes, up to and including its empty line.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no head has been parsed into this value yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn method_str<'a>(&self, buf: &'a [u8]) -> &'a str {
        self.method_span.str(buf)
    }
    pub(crate) fn target<'a>(&self, buf: &'a [u8]) -> &'a str {
        self.target.str(buf)
    }
    pub(crate) fn path<'a>(&self, buf: &'a [u8]) -> &'a str {
        self.path.str(buf)
    }
    pub(crate) fn query<'a>(&self, buf: &'a [u8]) -> Option<&'a str> {
        self.query.map(|q| q.str(buf))
    }
    pub(crate) fn header_iter<'a>(
        &'a self,
        buf: &'a [u8],
    ) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.headers
            .iter()
            .map(move |(n, v)| (n.str(buf), v.get(buf)))
    }
}

/// Finds, checks and records request heads in a byte stream.
///
/// One parser serves one connection; after a head is found it is ready for
/// the next one. It holds three words of state and no buffer.
///
/// ```
/// use netrunner_wire::{HeadParser, Limits, RequestHead};
///
/// let mut parser = HeadParser::new();
/// let mut head = RequestHead::default();
/// let limits = Limits::default();
/// let stream = b"GET /hi?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
/// assert_eq!(parser.parse(&stream[..10], &limits, &mut head)?, None);
/// assert_eq!(parser.parse(stream, &limits, &mut head)?, Some(stream.len()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct HeadParser {
    /// Bytes of the current head already scanned for its end.
    scanned: usize,
    /// Line-end state at `scanned`: 0 in a line, 1 after LF, 2 after LF CR.
    eol: u8,
    /// Whether a non-empty line has begun (leading empty lines are skipped).
    started: bool,
    /// Whether the request line has ended.
    line_done: bool,
}

impl HeadParser {
    /// A parser at the start of a head.
    pub fn new() -> HeadParser {
        HeadParser::default()
    }

    /// Forget any partial head: the next call starts a new one.
    pub fn reset(&mut self) {
        *self = HeadParser::default();
    }

    /// Look for a whole request head at the start of `buf` and, if one is
    /// there, record it in `head`.
    ///
    /// `buf` is every unconsumed byte of the connection, from the start of
    /// the head; call again with the same bytes and more when `Ok(None)`
    /// comes back. `Ok(Some(n))`: the head is `buf[..n]`, and the parser is
    /// ready for the next head.
    ///
    /// # Errors
    ///
    /// The [`HttpError`] of the first rule the head breaks: a malformed
    /// request line or field, a missing or repeated `Host` on HTTP/1.1, an
    /// invalid or conflicting `Content-Length`, `Content-Length` with
    /// `Transfer-Encoding`, a transfer coding other than `chunked`, a major
    /// version other than 1, or a line or head over `limits`. After an error
    /// the stream cannot be framed; the connection should close.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        head: &mut RequestHead,
    ) -> Result<Option<usize>, HttpError> {
        if self.scanned == 0 {
            // Fresh data: the whole head usually arrived in one read, so try
            // httparse at once and scan only when it comes up short.
            if let Some(n) = parse_complete(buf, limits, head)? {
                return Ok(Some(n));
            }
        }
        match self.scan(buf, limits)? {
            Some(end) => {
                let parsed = parse_complete(&buf[..end], limits, head)?;
                self.reset();
                // httparse agrees with the scan that the head ends at `end`.
                Ok(Some(parsed.ok_or(HttpError::BadHeader)?))
            }
            None => Ok(None),
        }
    }

    /// Scan the bytes not yet seen for the empty line that ends the head.
    fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, HttpError> {
        let from = self.scanned;
        let mut check_line = false;
        for (i, &b) in buf.iter().enumerate().skip(from) {
            match (b, self.eol) {
                (b'\n', _) if !self.started => {}
                (b'\r', _) if !self.started => {}
                (b'\n', 1 | 2) => {
                    self.scanned = i + 1;
                    return Ok(Some(i + 1));
                }
                (b'\n', _) => {
                    if !self.line_done {
                        self.line_done = true;
                        check_line = true;
                    }
                    self.eol = 1;
                }
                (b'\r', 1) => self.eol = 2,
                (b'\r', _) => {}
                _ => {
                    self.started = true;
                    self.eol = 0;
                }
            }
        }
        self.scanned = buf.len();
        if check_line {
            // The request line just ended: let httparse judge it now, so a
            // bad version or method is refused before the rest arrives.
            let mut scratch = RequestHead::default();
            parse_complete(buf, limits, &mut scratch)?;
        }
        if !self.line_done && buf.len() > limits.max_request_line + 2 {
            return Err(HttpError::RequestLineTooLong);
        }
        if buf.len() > limits.max_head_bytes {
            return Err(HttpError::HeadersTooLarge);
        }
        Ok(None)
    }
}

/// Run httparse over `buf`; on a complete head, check it and fill `head`.
fn parse_complete(
    buf: &[u8],
    limits: &Limits,
    head: &mut RequestHead,
) -> Result<Option<usize>, HttpError> {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(map_httparse_error(e, buf)),
    };
    if n > limits.max_head_bytes {
        return Err(HttpError::HeadersTooLarge);
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HttpError::BadRequestLine);
    };
    // httparse allows exactly one space between the parts of the request
    // line, so it is `method SP target SP HTTP/1.x` long.
    if method.len() + target.len() + 10 > limits.max_request_line {
        return Err(HttpError::RequestLineTooLong);
    }
    head.method = Method::from_token(method);
    head.method_span = Span::of(buf, method.as_bytes());
    head.target = Span::of(buf, target.as_bytes());
    match target.find('?') {
        Some(q) => {
            head.path = Span::of(buf, &target.as_bytes()[..q]);
            head.query = Some(Span::of(buf, &target.as_bytes()[q + 1..]));
        }
        None => {
            head.path = head.target;
            head.query = None;
        }
    }
    head.version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    head.len = n;
    head.headers.clear();

    let mut hosts = 0u32;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut close = false;
    let mut keep_alive = false;
    let mut expect_continue = false;
    for field in req.headers.iter() {
        head.headers
            .push((Span::of(buf, field.name.as_bytes()), Span::of(buf, field.value)));
        let name = field.name.as_bytes();
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => hosts += 1,
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                length = Some(content_length(field.value, length)?);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                transfer_encoding = true;
                chunked = transfer_codings(field.value, chunked)?;
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in list(field.value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    }
                }
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expect_continue |= trim(field.value).eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
    }

    // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request that
    // lacks a Host header field and to any request with more than one.
    if hosts > 1 {
        return Err(HttpError::DuplicateHost);
    }
    if hosts == 0 && head.version == Version::Http11 {
        return Err(HttpError::MissingHost);
    }
    head.framing = if transfer_encoding {
        // RFC 9112 §6.1: Content-Length with Transfer-Encoding may be an
        // attempt at request smuggling; refuse it rather than pick one.
        // A Transfer-Encoding in an HTTP/1.0 request is faulty framing too.
        if length.is_some() || head.version == Version::Http10 {
            return Err(HttpError::LengthAndTransferEncoding);
        }
        if !chunked {
            return Err(HttpError::BadHeader);
        }
        Framing::Chunked
    } else {
        match length {
            Some(n) if n > limits.max_body_bytes => return Err(HttpError::BodyTooLarge),
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        }
    };
    head.keep_alive = match head.version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive && !close,
    };
    head.expect_continue = expect_continue && head.version == Version::Http11;
    Ok(Some(n))
}

/// RFC 9110 §8.6: `Content-Length = 1*DIGIT`. Several fields, or a list,
/// are accepted only when every value is the same.
fn content_length(value: &[u8], seen: Option<u64>) -> Result<u64, HttpError> {
    let mut found = seen;
    let mut any = false;
    for item in value.split(|&b| b == b',') {
        let item = trim(item);
        if item.is_empty() || item.len() > 19 || !item.iter().all(u8::is_ascii_digit) {
            return Err(HttpError::InvalidContentLength);
        }
        let n = item
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        match found {
            Some(m) if m != n => return Err(HttpError::ConflictingContentLength),
            _ => found = Some(n),
        }
        any = true;
    }
    match (any, found) {
        (true, Some(n)) => Ok(n),
        _ => Err(HttpError::InvalidContentLength),
    }
}

/// RFC 9112 §6.1: the codings of `Transfer-Encoding`, in order. Only
/// `chunked` is supported (anything else is `501`), and it may be applied
/// once. Returns whether `chunked` has now been seen.
fn transfer_codings(value: &[u8], mut chunked: bool) -> Result<bool, HttpError> {
    let mut any = false;
    for coding in list(value) {
        any = true;
        // A parameter (`;q=...`) is not allowed on chunked.
        if !coding.eq_ignore_ascii_case(b"chunked") {
            return Err(HttpError::UnsupportedTransferCoding);
        }
        if chunked {
            return Err(HttpError::BadHeader);
        }
        chunked = true;
    }
    if !any {
        return Err(HttpError::BadHeader);
    }
    Ok(chunked)
}

/// The non-empty elements of a comma-separated list (RFC 9110 §5.6.1).
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|item| !item.is_empty())
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Turn an httparse error into the rule it broke. A version error is `505`
/// when the request names a major version other than 1 (`HTTP/2.0`).
fn map_httparse_error(e: httparse::Error, buf: &[u8]) -> HttpError {
    match e {
        httparse::Error::HeaderName | httparse::Error::HeaderValue => HttpError::BadHeader,
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        httparse::Error::Version if names_other_major_version(buf) => {
            HttpError::UnsupportedVersion
        }
        httparse::Error::NewLine if line_done(buf) => HttpError::BadHeader,
        _ => HttpError::BadRequestLine,
    }
}

/// Whether the first request line ends in `HTTP/d` with `d` other than 1,
/// or in `HTTP/1.d` with `d` past 1.
fn names_other_major_version(buf: &[u8]) -> bool {
    let line = first_line(buf);
    let Some(sp) = line.iter().rposition(|&b| b == b' ') else {
        return false;
    };
    match &line[sp + 1..] {
        [b'H', b'T', b'T', b'P', b'/', d, ..] if d.is_ascii_digit() && *d != b'1' => true,
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', d, ..] => d.is_ascii_digit(),
        _ => false,
    }
}

fn first_line(buf: &[u8]) -> &[u8] {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let line = &rest[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn line_done(buf: &[u8]) -> bool {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    buf[start..].contains(&b'\n')
}
