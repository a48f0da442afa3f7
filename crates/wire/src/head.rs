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
    /// The span `start..end`; every empty span is `Span::default()`.
    pub(crate) fn new(start: usize, end: usize) -> Span {
        if start == end {
            return Span::default();
        }
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

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

    #[inline]
    fn str<'a>(&self, buf: &'a [u8]) -> &'a str {
        // Every span of a `RequestHead` over text fields (method, target, header
        // names) was cut at char boundaries from bytes a parser checked (only
        // visible ASCII on the fast path, a `&str` from httparse); still, the
        // caller may pair a head with other bytes, so check.
        ascii_or_utf8(self.get(buf)).unwrap_or("")
    }
}

/// `bytes` as text, if they are UTF-8. Request targets and field names are
/// nearly always ASCII, which is checked word by word; `str::from_utf8` runs
/// only for the rest, as it costs several times more on short strings.
#[inline]
pub(crate) fn ascii_or_utf8(bytes: &[u8]) -> Option<&str> {
    if is_ascii(bytes) {
        // SAFETY: every ASCII byte sequence is valid UTF-8 (each byte is
        // below 0x80, a one-byte code point), which `is_ascii` just checked.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// `<[u8]>::is_ascii`, with a shortcut for up to 16 bytes (most request
/// targets): the first and last eight (or four) bytes, overlapping, are
/// ORed and tested at once.
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        if bytes.len() <= 16 {
            let any = u64::from_le_bytes(*first) | u64::from_le_bytes(*last);
            return any & 0x8080_8080_8080_8080 == 0;
        }
        return bytes.is_ascii();
    }
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        return (u32::from_le_bytes(*first) | u32::from_le_bytes(*last)) & 0x8080_8080 == 0;
    }
    bytes.is_ascii()
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
        Method::from_bytes(token.as_bytes())
    }

    pub(crate) fn from_bytes(token: &[u8]) -> Method {
        // Nearly every request is a GET: settle it with one comparison.
        if token == b"GET" {
            return Method::Get;
        }
        match token {
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
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
    #[inline]
    pub(crate) fn target<'a>(&self, buf: &'a [u8]) -> &'a str {
        self.target.str(buf)
    }
    #[cfg(test)]
    pub(crate) fn path<'a>(&self, buf: &'a [u8]) -> &'a str {
        self.path.str(buf)
    }
    #[cfg(test)]
    pub(crate) fn query<'a>(&self, buf: &'a [u8]) -> Option<&'a str> {
        self.query.map(|q| q.str(buf))
    }
    pub(crate) fn path_len(&self) -> usize {
        (self.path.end - self.path.start) as usize
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
    /// Where the request line starts, after any leading empty lines.
    line_start: usize,
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
    #[inline]
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        head: &mut RequestHead,
    ) -> Result<Option<usize>, HttpError> {
        if self.scanned == 0 {
            // Fresh data: the whole head usually arrived in one read, so
            // parse it at once and scan only when it comes up short. Errors
            // are left to the scan, which finds them at the same place
            // however the stream was split: at the end of the request line
            // or of the head.
            if let Ok(Some(n)) = parse_complete(buf, limits, head) {
                return Ok(Some(n));
            }
        }
        self.parse_scanning(buf, limits, head)
    }

    /// [`HeadParser::parse`] for a head that did not parse whole at once:
    /// scan on from where the last call stopped.
    #[inline(never)]
    fn parse_scanning(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        head: &mut RequestHead,
    ) -> Result<Option<usize>, HttpError> {
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
        let mut check_line = None;
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
                        check_line = Some(i + 1);
                    }
                    self.eol = 1;
                }
                (b'\r', 1) => self.eol = 2,
                (b'\r', _) => {}
                _ => {
                    if !self.started {
                        self.line_start = i;
                    }
                    self.started = true;
                    self.eol = 0;
                }
            }
        }
        self.scanned = buf.len();
        if let Some(line_end) = check_line {
            // The request line just ended: let httparse judge it now, so a
            // bad version or method is refused before the rest arrives. Only
            // the line: the fields after it are judged when the head is whole.
            // (httparse itself: the fast path takes whole heads only.)
            let mut scratch = RequestHead::default();
            parse_with_httparse(&buf[..line_end], &mut scratch, &mut Fields::default())?;
        }
        // Leading empty lines are not part of the request line.
        let line_len = if self.started {
            buf.len() - self.line_start
        } else {
            0
        };
        if !self.line_done && line_len > limits.max_request_line + 2 {
            return Err(HttpError::RequestLineTooLong);
        }
        if buf.len() > limits.max_head_bytes {
            return Err(HttpError::HeadersTooLarge);
        }
        Ok(None)
    }
}

/// Parse the head at the start of `buf`; when it is whole, check it and
/// fill `head`. The common shape of head goes through [`crate::fast`];
/// everything else, errors included, through httparse.
fn parse_complete(
    buf: &[u8],
    limits: &Limits,
    head: &mut RequestHead,
) -> Result<Option<usize>, HttpError> {
    let mut fields = Fields::default();
    let n = match crate::fast::parse(buf, head, &mut fields) {
        Some(n) => n,
        None => {
            fields = Fields::default();
            match parse_with_httparse(buf, head, &mut fields)? {
                Some(n) => n,
                None => return Ok(None),
            }
        }
    };
    check(n, limits, head, &fields)?;
    Ok(Some(n))
}

/// Run httparse over `buf`; on a complete head, record its request line
/// (path and query too) and field spans in `head`, note each field in
/// `fields`, and return its length.
#[inline(never)]
fn parse_with_httparse(
    buf: &[u8],
    head: &mut RequestHead,
    fields: &mut Fields,
) -> Result<Option<usize>, HttpError> {
    let mut parsed = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(buf, &mut parsed) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(map_httparse_error(e, buf)),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HttpError::BadRequestLine);
    };
    head.method = Method::from_token(method);
    head.method_span = Span::of(buf, method.as_bytes());
    head.target = Span::of(buf, target.as_bytes());
    match target.bytes().position(|b| b == b'?') {
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
    head.headers.clear();
    for field in req.headers.iter() {
        fields.note(field.name.as_bytes(), field.value);
        head.headers.push((
            Span::of(buf, field.name.as_bytes()),
            Span::of(buf, field.value),
        ));
    }
    Ok(Some(n))
}

/// What the fields of a head say about its framing and its connection,
/// gathered one field at a time as a parser finds them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Fields {
    hosts: u32,
    length: Option<u64>,
    chunked: bool,
    transfer_encoding: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    /// The first field that broke a rule. It is reported only once the
    /// whole head has parsed: a malformed field later on comes first.
    error: Option<HttpError>,
}

impl Fields {
    /// Take note of the field `name: value`.
    #[inline(always)]
    pub(crate) fn note(&mut self, name: &[u8], value: &[u8]) {
        match name.len() {
            // `Host`, in nearly every head: one compare of a word, with the
            // case bit of each byte set as in `is_name`.
            4 => {
                let word = name.first_chunk().map_or(0, |w| u32::from_le_bytes(*w));
                if word | 0x2020_2020 == u32::from_le_bytes(*b"host") {
                    self.hosts += 1;
                }
            }
            6 | 10 | 14 | 17 => self.note_framing(name, value),
            _ => {}
        }
    }

    /// [`Fields::note`] for the fields that say how the body is framed or
    /// the connection kept: rare enough to be out of line.
    #[inline(never)]
    fn note_framing(&mut self, name: &[u8], value: &[u8]) {
        match name.len() {
            14 if is_name(name, b"content-length") => match content_length(value, self.length) {
                Ok(n) => self.length = Some(n),
                Err(e) => self.fail(e),
            },
            17 if is_name(name, b"transfer-encoding") => {
                self.transfer_encoding = true;
                match transfer_codings(value, self.chunked) {
                    Ok(chunked) => self.chunked = chunked,
                    Err(e) => self.fail(e),
                }
            }
            10 if is_name(name, b"connection") => {
                // The one-token values nearly every client sends, then the
                // general list.
                // (`is_name` is exact here too: a field value holds no
                // control byte.)
                if is_name(value, b"close") {
                    self.close = true;
                    return;
                }
                if is_name(value, b"keep-alive") {
                    self.keep_alive = true;
                    return;
                }
                for token in list(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        self.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        self.keep_alive = true;
                    }
                }
            }
            6 if is_name(name, b"expect") => {
                self.expect_continue |= trim(value).eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
    }

    #[cold]
    fn fail(&mut self, e: HttpError) {
        self.error.get_or_insert(e);
    }
}

/// Check a whole head of `n` bytes whose request line and field spans are
/// in `head` and whose fields are summed up in `fields`, and fill in the
/// rest of `head`: framing, persistence, `Expect`.
fn check(
    n: usize,
    limits: &Limits,
    head: &mut RequestHead,
    fields: &Fields,
) -> Result<(), HttpError> {
    if n > limits.max_head_bytes {
        return Err(HttpError::HeadersTooLarge);
    }
    let method_len = (head.method_span.end - head.method_span.start) as usize;
    let target_len = (head.target.end - head.target.start) as usize;
    // Both parsers allow exactly one space between the parts of the
    // request line, so it is `method SP target SP HTTP/1.x` long.
    if method_len + target_len + 10 > limits.max_request_line {
        return Err(HttpError::RequestLineTooLong);
    }
    head.len = n;
    if let Some(e) = fields.error {
        return Err(e);
    }

    // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request that
    // lacks a Host header field and to any request with more than one.
    if fields.hosts > 1 {
        return Err(HttpError::DuplicateHost);
    }
    if fields.hosts == 0 && head.version == Version::Http11 {
        return Err(HttpError::MissingHost);
    }
    head.framing = if fields.transfer_encoding {
        // RFC 9112 §6.1: Content-Length with Transfer-Encoding may be an
        // attempt at request smuggling; refuse it rather than pick one.
        // A Transfer-Encoding in an HTTP/1.0 request is faulty framing too.
        if fields.length.is_some() || head.version == Version::Http10 {
            return Err(HttpError::LengthAndTransferEncoding);
        }
        if !fields.chunked {
            return Err(HttpError::BadHeader);
        }
        Framing::Chunked
    } else {
        match fields.length {
            Some(n) if n > limits.max_body_bytes => return Err(HttpError::BodyTooLarge),
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        }
    };
    head.keep_alive = match head.version {
        Version::Http11 => !fields.close,
        Version::Http10 => fields.keep_alive && !fields.close,
    };
    head.expect_continue = fields.expect_continue && head.version == Version::Http11;
    Ok(())
}

/// Whether the field name `name` is `lower` (lowercase letters and `-`),
/// ignoring ASCII case. Setting bit `0x20` lowers a letter and leaves `-`
/// as it is; the only other bytes it maps onto a letter or `-` are control
/// bytes, and a field name is a token, which holds none.
#[inline(always)]
fn is_name(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).all(|(&b, &l)| b | 0x20 == l)
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
        let n = item.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
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
        httparse::Error::Version if names_other_major_version(buf) => HttpError::UnsupportedVersion,
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
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', d, ..] => d.is_ascii_digit() && *d > b'1',
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

/// Whether the first request line has ended and ends in its version, so
/// that a newline error lies in the fields after it.
fn line_done(buf: &[u8]) -> bool {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = first_line(buf);
    buf[start..].contains(&b'\n') && (line.ends_with(b" HTTP/1.0") || line.ends_with(b" HTTP/1.1"))
}

/// Whether [`crate::fast`] takes the head at the start of `buf`; panics
/// unless httparse then agrees on its length and on everything recorded.
/// For the fuzz target and the property tests.
pub(crate) fn fast_path_agrees_with_httparse(buf: &[u8]) -> bool {
    let (mut fast, mut fast_fields) = (RequestHead::default(), Fields::default());
    let Some(n) = crate::fast::parse(buf, &mut fast, &mut fast_fields) else {
        return false;
    };
    let (mut slow, mut slow_fields) = (RequestHead::default(), Fields::default());
    assert_eq!(
        parse_with_httparse(buf, &mut slow, &mut slow_fields),
        Ok(Some(n)),
        "{buf:?}"
    );
    assert_eq!(fast_fields, slow_fields, "{buf:?}");
    let recorded = |h: &RequestHead| {
        (
            h.method,
            h.method_span,
            h.target,
            h.path,
            h.query,
            h.version,
            h.headers.clone(),
        )
    };
    assert_eq!(recorded(&fast), recorded(&slow), "{buf:?}");
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{parse_stream, OwnedRequest};
    use crate::test_support::arrivals;
    use crate::{DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_REQUEST_LINE};

    type Outcome = Result<Option<(RequestHead, usize)>, HttpError>;

    /// Feed `pieces` to one parser the way a connection does (a growing
    /// buffer) and return what became of the first head.
    fn feed(pieces: &[&[u8]], limits: &Limits) -> Outcome {
        let mut parser = HeadParser::new();
        let mut head = RequestHead::default();
        let mut buf = Vec::new();
        for piece in pieces {
            buf.extend_from_slice(piece);
            if let Some(n) = parser.parse(&buf, limits, &mut head)? {
                assert_eq!(head.len(), n);
                return Ok(Some((head, n)));
            }
        }
        Ok(None)
    }

    /// One line that says everything a head records:
    /// `METHOD path [?query] VERSION [framing] keep-alive|close
    /// [100-continue] | Name: value | ...`, then ` rest "..."` for the
    /// bytes after the head.
    fn render(outcome: &Outcome, input: &[u8]) -> String {
        let (head, n) = match outcome {
            Err(e) => return format!("error {e:?} {}", e.status().code()),
            Ok(None) => return "incomplete".to_owned(),
            Ok(Some((head, n))) => (head, *n),
        };
        let buf = &input[..n];
        let method = head.method_str(buf);
        assert_eq!(head.method(), Method::from_token(method));
        let (path, target) = (head.path(buf), head.target(buf));
        let mut out = format!("{method} {path}");
        match head.query(buf) {
            Some(query) => {
                assert_eq!(target, format!("{path}?{query}"));
                out += &format!(" ?{query}");
            }
            None => assert_eq!(target, path),
        }
        out += match head.version() {
            Version::Http10 => " HTTP/1.0",
            Version::Http11 => " HTTP/1.1",
        };
        match head.framing() {
            Framing::None => {}
            Framing::Length(len) => out += &format!(" length={len}"),
            Framing::Chunked => out += " chunked",
        }
        out += if head.keep_alive() {
            " keep-alive"
        } else {
            " close"
        };
        if head.expects_continue() {
            out += " 100-continue";
        }
        for (name, value) in head.header_iter(buf) {
            out += &format!(" | {name}: {}", value.escape_ascii());
        }
        if n < input.len() {
            out += &format!(" rest \"{}\"", input[n..].escape_ascii());
        }
        out
    }

    /// What `fuzz::parse_stream` must make of `input` given how the head
    /// parser judged it.
    fn agrees(outcome: &Outcome, input: &[u8], stream: &(Vec<OwnedRequest>, Option<HttpError>)) {
        match outcome {
            Err(e) => assert_eq!((stream.0.as_slice(), stream.1), (&[][..], Some(*e))),
            Ok(None) => assert_eq!((stream.0.as_slice(), stream.1), (&[][..], None)),
            Ok(Some((head, n))) => {
                let buf = &input[..*n];
                match head.framing() {
                    Framing::None => {
                        let first = &stream.0[0];
                        assert_eq!(first.method, head.method_str(buf));
                        assert_eq!(first.target, head.target(buf));
                        assert_eq!(first.keep_alive, head.keep_alive());
                        assert!(first.body.is_empty());
                        let headers: Vec<_> = head
                            .header_iter(buf)
                            .map(|(n, v)| (n.to_owned(), v.to_vec()))
                            .collect();
                        assert_eq!(first.headers, headers);
                    }
                    // The body has not arrived.
                    _ if *n == input.len() => assert_eq!(stream, &(Vec::new(), None)),
                    _ => {}
                }
            }
        }
    }

    /// Parse `input` whole, cut in two at every offset, and one byte at a
    /// time, with the head parser and with `fuzz::parse_stream`; all must
    /// agree, and the head must render as `expected`.
    fn check_with(limits: &Limits, input: impl AsRef<[u8]>, expected: &str) {
        let input = input.as_ref();
        let whole = feed(&[input], limits);
        let whole_stream = parse_stream([input], limits);
        for (how, pieces) in arrivals(input) {
            let outcome = feed(&pieces, limits);
            assert_eq!(
                render(&outcome, input),
                render(&whole, input),
                "{how}: {:?}",
                input.escape_ascii().to_string()
            );
            if let (Ok(Some((a, _))), Ok(Some((b, _)))) = (&outcome, &whole) {
                assert_eq!(a.len(), b.len(), "{how}");
            }
            let stream = parse_stream(pieces.iter().copied(), limits);
            assert_eq!(stream, whole_stream, "{how}: parse_stream");
        }
        agrees(&whole, input, &whole_stream);
        assert_eq!(
            render(&whole, input),
            expected,
            "{:?}",
            input.escape_ascii().to_string()
        );
    }

    fn check(input: impl AsRef<[u8]>, expected: &str) {
        check_with(&Limits::default(), input, expected);
    }

    /// A request line of exactly `len` bytes: `GET /aaa... HTTP/1.1`.
    fn line_of(len: usize) -> String {
        format!("GET /{} HTTP/1.1", "a".repeat(len - 14))
    }

    #[test]
    fn request_line() {
        check(
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1 keep-alive | Host: x",
        );
        check(
            "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /a/b ?x=1&y=2 HTTP/1.1 keep-alive | Host: x",
        );
        check(
            "GET /a? HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /a ? HTTP/1.1 keep-alive | Host: x",
        );
        check(
            "GET /a?b?c=/d HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /a ?b?c=/d HTTP/1.1 keep-alive | Host: x",
        );
        check(
            "GET /hello/w%C3%B6rld HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /hello/w%C3%B6rld HTTP/1.1 keep-alive | Host: x",
        );
        check(
            "GET http://x.example/y?z HTTP/1.1\r\nHost: x.example\r\n\r\n",
            "GET http://x.example/y ?z HTTP/1.1 keep-alive | Host: x.example",
        );
        check(
            "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
            "OPTIONS * HTTP/1.1 keep-alive | Host: x",
        );
        check(
            "CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n",
            "CONNECT x.example:443 HTTP/1.1 keep-alive | Host: x.example:443",
        );
    }

    #[test]
    fn methods() {
        for method in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
            "PURGE", "get", "M-SEARCH",
        ] {
            check(
                format!("{method} /m HTTP/1.1\r\nHost: x\r\n\r\n"),
                &format!("{method} /m HTTP/1.1 keep-alive | Host: x"),
            );
        }
        assert_eq!(Method::from_token("GET"), Method::Get);
        assert_eq!(Method::from_token("PATCH"), Method::Patch);
        assert_eq!(Method::from_token("get"), Method::Other);
        assert_eq!(Method::from_token("PURGE").as_str(), None);
        assert_eq!(Method::Delete.as_str(), Some("DELETE"));
    }

    #[test]
    fn header_fields() {
        check(
            "GET / HTTP/1.1\r\nhost: x\r\nAccept: */*\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
            "GET / HTTP/1.1 keep-alive | host: x | Accept: */* | X-A: 1 | x-a: 2",
        );
        // Whitespace around the value is not part of it.
        check(
            "GET / HTTP/1.1\r\nHost:x\r\nUser-Agent: \t curl/8 (a b) \t\r\n\r\n",
            "GET / HTTP/1.1 keep-alive | Host: x | User-Agent: curl/8 (a b)",
        );
        check(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Blank:   \r\n\r\n",
            "GET / HTTP/1.1 keep-alive | Host: x | X-Empty:  | X-Blank: ",
        );
        // obs-text in a value is kept as bytes.
        check(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9 \xff\r\n\r\n",
            r"GET / HTTP/1.1 keep-alive | Host: x | X-Name: caf\xc3\xa9 \xff",
        );
        // LF alone ends lines too (RFC 9112 §2.2).
        check(
            "GET / HTTP/1.1\nHost: x\nAccept: */*\n\n",
            "GET / HTTP/1.1 keep-alive | Host: x | Accept: */*",
        );
    }

    #[test]
    fn leading_empty_lines_are_ignored() {
        check(
            "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1 keep-alive | Host: x",
        );
        check(
            "\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1 keep-alive | Host: x",
        );
        check("\r\n\r\n", "incomplete");
    }

    #[test]
    fn head_ends_at_the_empty_line() {
        check(
            "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next",
            "GET / HTTP/1.1 keep-alive | Host: x rest \"GET /next\"",
        );
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
            "POST / HTTP/1.1 length=2 keep-alive | Host: x | Content-Length: 2 rest \"hi\"",
        );
        check("GET / HTTP/1.1\r\nHost: x\r\n", "incomplete");
        check("GET / HTTP/1.1\r\nHost: x\r\n\r", "incomplete");
        check("GET / HTT", "incomplete");
        check("", "incomplete");
    }

    #[test]
    fn http_1_0() {
        check("GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0 close");
        check(
            "GET / HTTP/1.0\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.0 close | Host: x",
        );
        check(
            "POST /p HTTP/1.0\r\nContent-Length: 3\r\n\r\n",
            "POST /p HTTP/1.0 length=3 close | Content-Length: 3",
        );
    }

    #[test]
    fn bad_request_line() {
        for input in [
            "GET\r\n\r\n",
            "GET /\r\nHost: x\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /  HTTP/1.1\r\nHost: x\r\n\r\n",
            " GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / FTP/1.1\r\nHost: x\r\n\r\n",
            "GET / http/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
            "GET / HTTP/1.x\r\nHost: x\r\n\r\n",
            "GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\r\nHost: x\r\n\r\n",
        ] {
            check(input, "error BadRequestLine 400");
        }
        check(
            b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
            "error BadRequestLine 400",
        );
        // A space inside the target leaves `b HTTP/1.1` where the version
        // belongs: a malformed line, not another version.
        check(
            "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
            "error BadRequestLine 400",
        );
        // Judged as soon as the line ends, before the rest of the head.
        check("GET  / HTTP/1.1\r\n", "error BadRequestLine 400");
        check(
            "GET  / HTTP/1.1\r\nHost: x\r\nAcc",
            "error BadRequestLine 400",
        );
    }

    #[test]
    fn bad_header() {
        for input in [
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHo(st: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHo\"st: x\r\n\r\n",
            "GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n",
            // obs-fold (RFC 9112 §5.2) is refused.
            "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
            "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\n\r\r\n",
        ] {
            check(input, "error BadHeader 400");
        }
        // A bad field is judged once the head is whole, however it arrives.
        check("GET / HTTP/1.1\r\nHost : x\r\n", "incomplete");
    }

    #[test]
    fn host() {
        check("GET / HTTP/1.1\r\n\r\n", "error MissingHost 400");
        check(
            "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
            "error MissingHost 400",
        );
        check(
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "error DuplicateHost 400",
        );
        check(
            "GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n",
            "error DuplicateHost 400",
        );
        check(
            "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
            "error DuplicateHost 400",
        );
        // An empty Host is a Host (RFC 9112 §3.2: empty when the target has
        // no authority).
        check(
            "GET / HTTP/1.1\r\nHost:\r\n\r\n",
            "GET / HTTP/1.1 keep-alive | Host: ",
        );
    }

    #[test]
    fn content_length() {
        let head =
            |value: &str| format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n");
        for (value, expected) in [
            ("5", "length=5"),
            ("0", ""),
            ("005", "length=5"),
            ("0000000000000000005", "length=5"),
            ("5, 5", "length=5"),
            (" 5 ,5,  5", "length=5"),
            ("8388608", "length=8388608"),
        ] {
            let len = if expected.is_empty() {
                String::new()
            } else {
                format!(" {expected}")
            };
            let value_seen = value.trim();
            check(
                head(value),
                &format!(
                    "POST / HTTP/1.1{len} keep-alive | Host: x | Content-Length: {value_seen}"
                ),
            );
        }
        for value in [
            "abc",
            "-1",
            "+5",
            "1 2",
            "",
            "5,",
            ",5",
            "5,,5",
            "0x5",
            "5.0",
            "99999999999999999999",
            "18446744073709551616",
            "100000000000000000000000",
        ] {
            check(head(value), "error InvalidContentLength 400");
        }
        for value in ["5, 6", "5,6,5", "0, 1"] {
            check(head(value), "error ConflictingContentLength 400");
        }
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "error ConflictingContentLength 400",
        );
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n",
            "POST / HTTP/1.1 length=5 keep-alive | Host: x | Content-Length: 5 | content-length: 5",
        );
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: x\r\n\r\n",
            "error InvalidContentLength 400",
        );
    }

    #[test]
    fn body_too_large() {
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8388609\r\n\r\n",
            "error BodyTooLarge 413",
        );
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999999\r\n\r\n",
            "error BodyTooLarge 413",
        );
        let small = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        check_with(
            &small,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
            "POST / HTTP/1.1 length=10 keep-alive | Host: x | Content-Length: 10",
        );
        check_with(
            &small,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n",
            "error BodyTooLarge 413",
        );
    }

    #[test]
    fn transfer_encoding() {
        let head = |value: &str| {
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {value}\r\n\r\n")
        };
        for value in ["chunked", "Chunked", "CHUNKED", " chunked ", ", chunked,"] {
            let seen = value.trim();
            check(
                head(value),
                &format!(
                    "POST / HTTP/1.1 chunked keep-alive | Host: x | Transfer-Encoding: {seen}"
                ),
            );
        }
        for value in [
            "gzip",
            "gzip, chunked",
            "chunked, gzip",
            "identity",
            "deflate",
            "chunked;q=1",
        ] {
            check(head(value), "error UnsupportedTransferCoding 501");
        }
        for value in ["", ",", "chunked, chunked"] {
            check(head(value), "error BadHeader 400");
        }
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "error BadHeader 400",
        );
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
            "error UnsupportedTransferCoding 501",
        );
        // Never both framings (RFC 9112 §6.1), in either order.
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "error LengthAndTransferEncoding 400",
        );
        check(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            "error LengthAndTransferEncoding 400",
        );
        // HTTP/1.0 has no chunked coding.
        check(
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "error LengthAndTransferEncoding 400",
        );
    }

    #[test]
    fn unsupported_version() {
        for version in [
            "HTTP/2.0", "HTTP/3.0", "HTTP/1.2", "HTTP/1.9", "HTTP/0.9", "HTTP/2",
        ] {
            check(
                format!("GET / {version}\r\nHost: x\r\n\r\n"),
                "error UnsupportedVersion 505",
            );
        }
        // Refused once the request line is whole, before the rest arrives.
        check("GET / HTTP/2.0\r\n", "error UnsupportedVersion 505");
        check(
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "error UnsupportedVersion 505",
        );
    }

    #[test]
    fn request_line_too_long() {
        let max = DEFAULT_MAX_REQUEST_LINE;
        assert_eq!(line_of(max).len(), max);
        let ok = format!("{}\r\nHost: x\r\n\r\n", line_of(max));
        let expected = format!(
            "GET /{} HTTP/1.1 keep-alive | Host: x",
            "a".repeat(max - 14)
        );
        check(&ok, &expected);
        // Leading empty lines are not part of the request line.
        check(format!("\r\n\r\n{ok}"), &expected);
        check(
            format!("{}\r\nHost: x\r\n\r\n", line_of(max + 1)),
            "error RequestLineTooLong 414",
        );
        // Still partial, no newline yet: refused without waiting for it.
        check(line_of(max + 3), "error RequestLineTooLong 414");
        check(
            format!("GET /{}", "a".repeat(max)),
            "error RequestLineTooLong 414",
        );
        // Up to the limit and its CRLF, a partial line may still be good.
        check(line_of(max), "incomplete");
        check(format!("{}\r", line_of(max)), "incomplete");

        let small = Limits {
            max_request_line: 40,
            ..Limits::default()
        };
        check_with(
            &small,
            format!("{}\r\nHost: x\r\n\r\n", line_of(41)),
            "error RequestLineTooLong 414",
        );
        check_with(&small, format!("\r\n\r\n\r\n{}", line_of(40)), "incomplete");
        check_with(&small, line_of(43), "error RequestLineTooLong 414");
        check_with(&small, "x".repeat(43), "error RequestLineTooLong 414");
    }

    #[test]
    fn headers_too_large() {
        let small = Limits {
            max_request_line: 64,
            max_head_bytes: 128,
            ..Limits::default()
        };
        // A head of exactly 128 bytes passes, one more does not.
        let head = |len: usize| {
            let fixed = "GET / HTTP/1.1\r\nHost: x\r\nX: \r\n\r\n".len();
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
                "v".repeat(len - fixed)
            )
        };
        assert_eq!(head(128).len(), 128);
        check_with(
            &small,
            head(128),
            &format!(
                "GET / HTTP/1.1 keep-alive | Host: x | X: {}",
                "v".repeat(96)
            ),
        );
        check_with(&small, head(129), "error HeadersTooLarge 431");
        // Still partial: refused once it passes the limit.
        check_with(&small, &head(200)[..129], "error HeadersTooLarge 431");
        check_with(&small, &head(200)[..128], "incomplete");

        // The default limit, 64 KiB, whole and one byte at a time only.
        let limits = Limits::default();
        let big = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
            "v".repeat(DEFAULT_MAX_HEAD_BYTES)
        );
        let partial = &big.as_bytes()[..DEFAULT_MAX_HEAD_BYTES + 1];
        for input in [big.as_bytes(), partial] {
            let arrivals: [Vec<&[u8]>; 2] = [vec![input], input.chunks(1).collect()];
            for pieces in arrivals {
                let outcome = feed(&pieces, &limits);
                assert_eq!(render(&outcome, input), "error HeadersTooLarge 431");
                let (requests, err) = parse_stream(pieces, &limits);
                assert_eq!((requests.len(), err), (0, Some(HttpError::HeadersTooLarge)));
            }
        }
    }

    #[test]
    fn too_many_headers() {
        let head = |fields: usize| {
            let mut s = "GET / HTTP/1.1\r\nHost: x\r\n".to_owned();
            for i in 1..fields {
                s += &format!("X-{i}: {i}\r\n");
            }
            s + "\r\n"
        };
        let ok = render(
            &feed(&[head(MAX_HEADERS).as_bytes()], &Limits::default()),
            head(MAX_HEADERS).as_bytes(),
        );
        assert!(ok.ends_with("X-99: 99"), "{ok}");
        check(head(MAX_HEADERS), &ok);
        check(head(MAX_HEADERS + 1), "error TooManyHeaders 431");
        assert_eq!(HttpError::TooManyHeaders.status().code(), 431);
    }

    #[test]
    fn keep_alive() {
        for (version, connection, expected) in [
            ("1.1", "", "keep-alive"),
            ("1.1", "Connection: close\r\n", "close"),
            ("1.1", "Connection: Close\r\n", "close"),
            ("1.1", "Connection: keep-alive\r\n", "keep-alive"),
            ("1.1", "Connection: Keep-Alive, Upgrade\r\n", "keep-alive"),
            ("1.1", "Connection: Upgrade, close\r\n", "close"),
            (
                "1.1",
                "Connection: upgrade\r\nConnection: close\r\n",
                "close",
            ),
            ("1.1", "Connection: closed\r\n", "keep-alive"),
            ("1.1", "Connection:\r\n", "keep-alive"),
            ("1.0", "", "close"),
            ("1.0", "Connection: keep-alive\r\n", "keep-alive"),
            ("1.0", "Connection: Keep-Alive\r\n", "keep-alive"),
            ("1.0", "Connection: Keep-Alive, Upgrade\r\n", "keep-alive"),
            ("1.0", "Connection: upgrade , keep-alive\r\n", "keep-alive"),
            ("1.0", "Connection: keep-alive, close\r\n", "close"),
            (
                "1.0",
                "Connection: keep-alive\r\nConnection: close\r\n",
                "close",
            ),
            ("1.0", "Connection: keep-alives\r\n", "close"),
            ("1.0", "Connection: close\r\n", "close"),
        ] {
            let input = format!("GET / HTTP/{version}\r\nHost: x\r\n{connection}\r\n");
            let outcome = feed(&[input.as_bytes()], &Limits::default());
            let line = render(&outcome, input.as_bytes());
            let state = line.split(" | ").next().unwrap();
            assert_eq!(
                state,
                format!("GET / HTTP/{version} {expected}"),
                "{input:?}"
            );
            check(&input, &line);
        }
    }

    #[test]
    fn expect_continue() {
        check(
            "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            "PUT / HTTP/1.1 length=1 keep-alive 100-continue | Host: x | Expect: 100-continue | Content-Length: 1",
        );
        check(
            "PUT / HTTP/1.1\r\nHost: x\r\nexpect:  100-Continue \r\n\r\n",
            "PUT / HTTP/1.1 keep-alive 100-continue | Host: x | expect: 100-Continue",
        );
        check(
            "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n",
            "PUT / HTTP/1.1 keep-alive | Host: x | Expect: 200-ok",
        );
        // HTTP/1.0 has no 100 Continue (RFC 9110 §10.1.1).
        check(
            "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
            "PUT / HTTP/1.0 close | Expect: 100-continue",
        );
    }

    #[test]
    fn a_warm_head_is_reused() {
        let limits = Limits::default();
        let mut parser = HeadParser::new();
        let mut head = RequestHead::default();
        assert!(head.is_empty());
        let first = b"POST /a?q HTTP/1.0\r\nContent-Length: 1\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n";
        assert_eq!(
            parser.parse(first, &limits, &mut head),
            Ok(Some(first.len()))
        );
        assert_eq!(head.framing(), Framing::Length(1));
        let second = b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            parser.parse(second, &limits, &mut head),
            Ok(Some(second.len()))
        );
        assert_eq!(
            render(&Ok(Some((head.clone(), second.len()))), second),
            "GET /b HTTP/1.1 keep-alive | Host: x"
        );
        assert!(!head.is_empty());
    }

    #[test]
    fn reset_forgets_a_partial_head() {
        let limits = Limits::default();
        let mut parser = HeadParser::new();
        let mut head = RequestHead::default();
        assert_eq!(
            parser.parse(b"GET /a HTTP/1.1\r\nHo", &limits, &mut head),
            Ok(None)
        );
        parser.reset();
        let next = b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(parser.parse(next, &limits, &mut head), Ok(Some(next.len())));
        assert_eq!(head.path(next), "/b");
    }

    /// Bytes at the edges of what a head may hold.
    fn edge_byte() -> impl proptest::strategy::Strategy<Value = u8> {
        use proptest::prelude::*;
        prop_oneof![
            4 => prop::sample::select(&b"GET /?HTTP1.0\r\n\t :;,aZ~\x7f\x80\xc3\xa9\x00"[..]),
            1 => any::<u8>(),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Every head the fast path takes, httparse takes too, with the same
        /// length and the same spans; and it takes every undamaged head of
        /// the shape it is for.
        #[test]
        fn the_fast_path_reads_heads_as_httparse_does(
            method in "[A-Z]{1,7}|[!#$%&'*+.^_`|~0-9a-z-]{1,8}",
            target in "[!-~]{1,30}",
            http10 in proptest::prelude::any::<bool>(),
            fields in proptest::collection::vec(
                ("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}", "[ \t]{0,2}[ -~\t]{0,20}"),
                0..6,
            ),
            damage in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), edge_byte(), 0..3u8),
                0..3,
            ),
        ) {
            let mut buf = format!(
                "{method} {target} HTTP/1.{}\r\n",
                if http10 { 0 } else { 1 }
            )
            .into_bytes();
            for (name, value) in &fields {
                buf.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
            }
            buf.extend_from_slice(b"\r\n");
            let damaged = !damage.is_empty();
            for (at, byte, how) in damage {
                let i = at.index(buf.len());
                match how {
                    0 => buf[i] = byte,
                    1 => buf.insert(i, byte),
                    _ => {
                        buf.remove(i);
                        if buf.is_empty() {
                            break;
                        }
                    }
                }
            }
            let taken = fast_path_agrees_with_httparse(&buf);
            proptest::prop_assert!(taken || damaged, "declined {:?}", String::from_utf8_lossy(&buf));
        }
    }

    #[test]
    fn common_heads_take_the_fast_path() {
        for input in [
            &b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"[..],
            b"POST /echo?x=1 HTTP/1.0\r\nContent-Length: 3\r\nX-Empty:\r\nX-Tab:\ta\tb \t\r\n\r\nabc",
            b"DELETE /a HTTP/1.1\r\nhost: a\r\n\r\n",
        ] {
            assert!(
                fast_path_agrees_with_httparse(input),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn is_ascii_agrees_with_the_standard_library() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                assert!(is_ascii(&bytes), "{len}");
                bytes[at] = 0x80;
                assert!(!is_ascii(&bytes), "{len} {at}");
                bytes[at] = 0xff;
                assert!(!is_ascii(&bytes), "{len} {at}");
            }
        }
    }
}
