//! [`BodyDecoder`]: frames a request body (Content-Length or chunked) out of
//! a byte stream, in any split, into the caller's buffer.

use netrunner_error::HttpError;

use crate::head::Framing;
use crate::limits::MAX_CHUNK_METADATA;

/// What one call to [`BodyDecoder::decode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input used; the rest belongs to what follows.
    pub consumed: usize,
    /// Whether the body is now complete.
    pub done: bool,
}

/// Decodes one request body.
///
/// ```
/// use netrunner_wire::{BodyDecoder, Framing};
///
/// let mut decoder = BodyDecoder::new(Framing::Chunked, 1024);
/// let mut body = Vec::new();
/// let wire = b"5\r\nhello\r\n0\r\n\r\nGET /next";
/// let step = decoder.decode(wire, &mut body)?;
/// assert!(step.done);
/// assert_eq!(&wire[step.consumed..], b"GET /next");
/// assert_eq!(body, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    kind: Kind,
    /// Body bytes produced so far.
    received: u64,
    /// Most body bytes allowed.
    limit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Length { remaining: u64 },
    Chunked(Chunked),
}

/// A chunked body part way through: where it is, and the metadata bytes
/// (extensions and trailer fields) seen so far.
///
/// **Implementation notes.** [`ChunkedState`] and [`step`] are the whole
/// grammar, one byte at a time, and decide every input. Whole lines in the
/// buffer (the usual case) take [`Chunked::decode`]'s fast paths instead:
/// [`size_line`] and [`trailer_line`] scan a line at once and accept only a
/// line that stepping would accept, ending in the same state with the same
/// counts; anything else (a line cut short by the end of the buffer, a
/// malformed line, a limit reached, 16 hex digits or more) goes to
/// [`Chunked::step_bytes`], so errors and their order are the stepper's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunked {
    state: ChunkedState,
    metadata: usize,
}

/// Where a chunked decoder is in `chunked-body` (RFC 9112 §7.1):
///
/// ```text
/// chunked-body   = *chunk last-chunk trailer-section CRLF
/// chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// last-chunk     = 1*("0") [ chunk-ext ] CRLF
/// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkedState {
    /// Before the first hex digit of a size.
    SizeStart,
    /// In the hex digits of a size; `digits` counts the significant ones.
    Size { size: u64, digits: u8 },
    /// After the size, in whitespace or an extension.
    Ext { size: u64, at: ExtAt },
    /// After the CR of the size line.
    SizeLf { size: u64 },
    /// In chunk data.
    Data { remaining: u64 },
    /// After chunk data: expecting CR.
    DataCr,
    /// After chunk data and CR: expecting LF.
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// In a trailer field line.
    Trailer { colon: bool, name: bool },
    /// After the CR of a trailer line.
    TrailerLf,
    /// After the CR of the final empty line.
    EndLf,
    /// The body is complete.
    Done,
}

/// Where a size line is in `[ chunk-ext ]` (RFC 9112 §7.1.1):
/// `*( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtAt {
    /// Whitespace after the size or after a value: `;` or the end next.
    Between,
    /// After `;`: a name next.
    NameStart,
    /// In a name.
    Name,
    /// Whitespace after a name: `=`, `;` or the end next.
    AfterName,
    /// After `=`: a token or a quoted string next.
    ValueStart,
    /// In a token value.
    Value,
    /// In a quoted-string value.
    Quoted,
    /// In a quoted-string value, after a backslash.
    QuotedEscape,
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`, refusing more than `limit`
    /// bytes of body. [`Framing::None`] gives a decoder that is already done.
    pub fn new(framing: Framing, limit: u64) -> BodyDecoder {
        let kind = match framing {
            Framing::None => Kind::Length { remaining: 0 },
            Framing::Length(n) => Kind::Length { remaining: n },
            Framing::Chunked => Kind::Chunked(Chunked {
                state: ChunkedState::SizeStart,
                metadata: 0,
            }),
        };
        BodyDecoder {
            kind,
            received: 0,
            limit,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        matches!(
            self.kind,
            Kind::Length { remaining: 0 }
                | Kind::Chunked(Chunked {
                    state: ChunkedState::Done,
                    ..
                })
        )
    }

    /// Body bytes produced so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Decode as much of `src` as belongs to the body, appending the body
    /// bytes to `dst`.
    ///
    /// # Errors
    ///
    /// [`HttpError::BadChunk`] for malformed chunked framing and
    /// [`HttpError::BodyTooLarge`] when the body passes the limit. After an
    /// error the stream cannot be framed.
    pub fn decode(&mut self, src: &[u8], dst: &mut Vec<u8>) -> Result<Decoded, HttpError> {
        match &mut self.kind {
            Kind::Length { remaining } => {
                if self.received.saturating_add(*remaining) > self.limit {
                    return Err(HttpError::BodyTooLarge);
                }
                let take = (*remaining).min(src.len() as u64) as usize;
                dst.extend_from_slice(&src[..take]);
                *remaining -= take as u64;
                self.received += take as u64;
                Ok(Decoded {
                    consumed: take,
                    done: *remaining == 0,
                })
            }
            Kind::Chunked(chunked) => {
                let consumed = chunked.decode(src, dst, &mut self.received, self.limit)?;
                Ok(Decoded {
                    consumed,
                    done: chunked.state == ChunkedState::Done,
                })
            }
        }
    }
}

impl Chunked {
    /// Decode what `src` holds of the body; the number of bytes used.
    /// `received` counts the body bytes, refused past `limit`.
    fn decode(
        &mut self,
        src: &[u8],
        dst: &mut Vec<u8>,
        received: &mut u64,
        limit: u64,
    ) -> Result<usize, HttpError> {
        let mut pos = 0;
        while pos < src.len() {
            let rest = &src[pos..];
            pos += match self.state {
                ChunkedState::Data { remaining } => {
                    let take = remaining.min(rest.len() as u64) as usize;
                    dst.extend_from_slice(&rest[..take]);
                    let left = remaining - take as u64;
                    if left > 0 {
                        self.state = ChunkedState::Data { remaining: left };
                        take
                    } else if rest[take..].starts_with(b"\r\n") {
                        // The CRLF after the data, whole.
                        self.state = ChunkedState::SizeStart;
                        take + 2
                    } else {
                        self.state = ChunkedState::DataCr;
                        take
                    }
                }
                ChunkedState::SizeStart => match size_line(rest) {
                    Some(line)
                        if received.saturating_add(line.size) <= limit
                            && self.metadata + line.ext <= MAX_CHUNK_METADATA =>
                    {
                        self.metadata += line.ext;
                        self.state = if line.size == 0 {
                            ChunkedState::TrailerStart
                        } else {
                            *received += line.size;
                            ChunkedState::Data {
                                remaining: line.size,
                            }
                        };
                        line.len
                    }
                    _ => self.step_bytes(rest, received, limit)?,
                },
                ChunkedState::TrailerStart => {
                    if rest.starts_with(b"\r\n") {
                        self.state = ChunkedState::Done;
                        return Ok(pos + 2);
                    }
                    match trailer_line(rest) {
                        Some(len) if self.metadata + len <= MAX_CHUNK_METADATA => {
                            self.metadata += len;
                            len + 2
                        }
                        _ => self.step_bytes(rest, received, limit)?,
                    }
                }
                ChunkedState::Done => break,
                _ => self.step_bytes(rest, received, limit)?,
            };
        }
        Ok(pos)
    }

    /// Step through `src` a byte at a time, at least one byte, until the
    /// state is one that [`Chunked::decode`] handles at speed (chunk data,
    /// or the start of a line) or `src` runs out; the number of bytes used.
    /// Lines split across reads and every malformed or over-limit line come
    /// here.
    #[cold]
    #[inline(never)]
    fn step_bytes(
        &mut self,
        src: &[u8],
        received: &mut u64,
        limit: u64,
    ) -> Result<usize, HttpError> {
        for (i, &b) in src.iter().enumerate() {
            self.state = step(self.state, b, *received, limit)?;
            if let ChunkedState::Data { remaining } = self.state {
                *received += remaining;
            }
            if is_metadata(self.state) {
                self.metadata += 1;
                if self.metadata > MAX_CHUNK_METADATA {
                    return Err(HttpError::BadChunk);
                }
            }
            if matches!(
                self.state,
                ChunkedState::SizeStart
                    | ChunkedState::Data { .. }
                    | ChunkedState::TrailerStart
                    | ChunkedState::Done
            ) {
                return Ok(i + 1);
            }
        }
        Ok(src.len())
    }
}

fn is_metadata(state: ChunkedState) -> bool {
    matches!(
        state,
        ChunkedState::Ext { .. } | ChunkedState::Trailer { .. }
    )
}

/// One byte of chunked framing (never inside chunk data).
fn step(state: ChunkedState, b: u8, received: u64, limit: u64) -> Result<ChunkedState, HttpError> {
    use ChunkedState::*;
    let next = match state {
        SizeStart => match hex(b) {
            Some(d) => Size {
                size: u64::from(d),
                digits: 1,
            },
            None => return Err(HttpError::BadChunk),
        },
        Size { size, digits } => match hex(b) {
            // Leading zeros are not significant. 15 significant hex digits
            // are over any body limit already; refuse longer sizes outright
            // rather than risk overflow.
            Some(d) if digits < 15 => Size {
                size: size << 4 | u64::from(d),
                digits: if size == 0 && d == 0 { 0 } else { digits + 1 },
            },
            Some(_) => return Err(HttpError::BodyTooLarge),
            None => return extension(size, ExtAt::Between, b, received, limit),
        },
        Ext { size, at } => return extension(size, at, b, received, limit),
        SizeLf { size } => match b {
            b'\n' if size == 0 => TrailerStart,
            b'\n' => Data { remaining: size },
            _ => return Err(HttpError::BadChunk),
        },
        Data { .. } => unreachable!("chunk data is copied by the caller, not stepped"),
        DataCr => match b {
            b'\r' => DataLf,
            _ => return Err(HttpError::BadChunk),
        },
        DataLf => match b {
            b'\n' => SizeStart,
            _ => return Err(HttpError::BadChunk),
        },
        TrailerStart => match b {
            b'\r' => EndLf,
            b if is_tchar(b) => Trailer {
                colon: false,
                name: true,
            },
            _ => return Err(HttpError::BadChunk),
        },
        Trailer { colon: false, name } => match b {
            b':' if name => Trailer {
                colon: true,
                name: false,
            },
            b if is_tchar(b) => Trailer { colon: false, name },
            _ => return Err(HttpError::BadChunk),
        },
        Trailer { colon: true, .. } => match b {
            b'\r' => TrailerLf,
            b if is_field_text(b) => Trailer {
                colon: true,
                name: false,
            },
            _ => return Err(HttpError::BadChunk),
        },
        TrailerLf => match b {
            b'\n' => TrailerStart,
            _ => return Err(HttpError::BadChunk),
        },
        EndLf => match b {
            b'\n' => Done,
            _ => return Err(HttpError::BadChunk),
        },
        Done => Done,
    };
    Ok(next)
}

/// One byte of the size line after the size: extensions are checked
/// against the grammar, then dropped.
fn extension(
    size: u64,
    at: ExtAt,
    b: u8,
    received: u64,
    limit: u64,
) -> Result<ChunkedState, HttpError> {
    if b == b'\r' && at.may_end() {
        return size_line_end(size, received, limit);
    }
    match ext_next(at, b) {
        Some(at) => Ok(ChunkedState::Ext { size, at }),
        None => Err(HttpError::BadChunk),
    }
}

impl ExtAt {
    /// Whether the size line may end here (RFC 9112 §7.1.1: after the size,
    /// a name or a value, and whitespace).
    fn may_end(self) -> bool {
        matches!(
            self,
            ExtAt::Between | ExtAt::Name | ExtAt::AfterName | ExtAt::Value
        )
    }
}

/// Where `b` takes an extension from `at`, other than to the end of the
/// line; `None` when it breaks the grammar.
fn ext_next(at: ExtAt, b: u8) -> Option<ExtAt> {
    use ExtAt::*;
    let next = match (at, b) {
        // chunk-ext-val = token / quoted-string, and RFC 9110 §5.6.4:
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ).
        (Quoted, b'"') => Between,
        (Quoted, b'\\') => QuotedEscape,
        (Quoted | QuotedEscape, b) if is_field_text(b) => Quoted,
        (Quoted | QuotedEscape, _) => return None,
        (Between | Name | AfterName | Value, b';') => NameStart,
        (_, b' ' | b'\t') => match at {
            Name => AfterName,
            Value => Between,
            other => other,
        },
        (NameStart | Name, b) if is_tchar(b) => Name,
        (Name | AfterName, b'=') => ValueStart,
        (ValueStart, b'"') => Quoted,
        (ValueStart | Value, b) if is_tchar(b) => Value,
        _ => return None,
    };
    Some(next)
}

/// The size line is complete: refuse a chunk that would pass the limit
/// before any of its data arrives.
fn size_line_end(size: u64, received: u64, limit: u64) -> Result<ChunkedState, HttpError> {
    if received.saturating_add(size) > limit {
        return Err(HttpError::BodyTooLarge);
    }
    Ok(ChunkedState::SizeLf { size })
}

/// A whole size line, as [`size_line`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SizeLine {
    /// Bytes of the line, CRLF included.
    len: usize,
    /// The chunk size.
    size: u64,
    /// Bytes between the size and the CR: metadata, as stepping counts it.
    ext: usize,
}

/// Most hex digits [`size_line`] takes. Up to 15, [`step`] accepts every
/// size, leading zeros or not, and cannot overflow; past it, it counts
/// significant digits, which is for it to do.
const FAST_SIZE_DIGITS: usize = 15;

/// The size line at the start of `src` when it is all there and well
/// formed: `chunk-size [ chunk-ext ] CRLF` with at most
/// [`FAST_SIZE_DIGITS`] digits. `None` otherwise, for [`step`] to decide.
/// Limits are the caller's to check.
#[inline]
fn size_line(src: &[u8]) -> Option<SizeLine> {
    let mut size = 0;
    let mut i = 0;
    while let Some(d) = src.get(i).and_then(|&b| hex(b)) {
        if i == FAST_SIZE_DIGITS {
            return None;
        }
        size = size << 4 | u64::from(d);
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let digits = i;
    if src.get(i) != Some(&b'\r') {
        i = extension_end(src, i)?;
    }
    if src.get(i + 1) != Some(&b'\n') {
        return None;
    }
    Some(SizeLine {
        len: i + 2,
        size,
        ext: i - digits,
    })
}

/// The offset of the CR that ends a well-formed `[ chunk-ext ]` starting at
/// `src[i]`, or `None`: [`ext_next`]'s grammar, run over the line (chunk
/// extensions are rare; the line without one never comes here).
#[inline(never)]
fn extension_end(src: &[u8], i: usize) -> Option<usize> {
    let mut at = ExtAt::Between;
    for (k, &b) in src.get(i..)?.iter().enumerate() {
        if b == b'\r' && at.may_end() {
            return Some(i + k);
        }
        at = ext_next(at, b)?;
    }
    None
}

/// The length, CRLF excluded, of the trailer field line at the start of
/// `src` when it is all there and well formed: `1*tchar ":" *field-text
/// CRLF`, the rule [`step`] applies. `None` otherwise, for [`step`] to
/// decide.
#[inline(never)]
fn trailer_line(src: &[u8]) -> Option<usize> {
    let name = skip(src, 0, is_tchar);
    if name == 0 || src.get(name) != Some(&b':') {
        return None;
    }
    let end = skip(src, name + 1, is_field_text);
    (src.get(end..end + 2) == Some(b"\r\n")).then_some(end)
}

/// The first offset from `i` on whose byte is not `class`, or the end.
#[inline(always)]
fn skip(src: &[u8], mut i: usize, class: fn(u8) -> bool) -> usize {
    while i < src.len() && class(src[i]) {
        i += 1;
    }
    i
}

/// The value of `HEXDIG` `b` (RFC 5234 §B.1, either case).
fn hex(b: u8) -> Option<u8> {
    match HEX[usize::from(b)] {
        NOT_HEX => None,
        d => Some(d),
    }
}

/// `HEX[b]`: the value of hex digit `b`, or [`NOT_HEX`].
static HEX: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = d as u8;
        d += 1;
    }
    while d < 16 {
        table[b'a' as usize + d - 10] = d as u8;
        table[b'A' as usize + d - 10] = d as u8;
        d += 1;
    }
    table
};

/// In [`HEX`]: not a hex digit.
const NOT_HEX: u8 = 0xff;

/// The bytes a trailer field value or a quoted string may hold:
/// HTAB / SP / VCHAR / obs-text (RFC 9110 §5.5, §5.6.4).
fn is_field_text(b: u8) -> bool {
    CLASS[usize::from(b)] & FIELD_TEXT != 0
}

/// `tchar` of RFC 9110 §5.6.2: the bytes of a token (a method, a field
/// name, a chunk extension name).
#[inline(always)]
pub(crate) fn is_tchar(b: u8) -> bool {
    CLASS[usize::from(b)] & TCHAR != 0
}

/// `CLASS[b]`: the classes byte `b` is in, as [`TCHAR`] and [`FIELD_TEXT`]
/// bits. One load per byte; the range tests of a `matches!` took a dozen
/// instructions per byte of every extension and trailer.
static CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if matches!(
            byte,
            b'0'..=b'9'
                | b'a'..=b'z'
                | b'A'..=b'Z'
                | b'!'
                | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        ) {
            table[b] |= TCHAR;
        }
        if matches!(byte, b'\t' | b' '..=b'~' | 0x80..=0xff) {
            table[b] |= FIELD_TEXT;
        }
        b += 1;
    }
    table
};

/// In [`CLASS`]: `tchar`.
const TCHAR: u8 = 1;
/// In [`CLASS`]: HTAB / SP / VCHAR / obs-text.
const FIELD_TEXT: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::parse_stream;
    use crate::test_support::arrivals;
    use crate::Limits;

    /// Feed `pieces` to one decoder the way a connection does (a buffer that
    /// keeps what was not consumed) and render the outcome: `"body"` and
    /// ` rest "..."` when done, `partial "body"`, or `error Kind code`.
    fn feed(framing: Framing, limit: u64, input: &[u8], pieces: &[&[u8]]) -> String {
        let mut decoder = BodyDecoder::new(framing, limit);
        let mut body = Vec::new();
        let mut buf = Vec::new();
        let mut consumed = 0;
        // A connection asks as soon as the head is parsed, bytes or not.
        for piece in std::iter::once(&[][..]).chain(pieces.iter().copied()) {
            buf.extend_from_slice(piece);
            let step = match decoder.decode(&buf, &mut body) {
                Ok(step) => step,
                Err(e) => return format!("error {e:?} {}", e.status().code()),
            };
            assert_eq!(step.done, decoder.is_done());
            assert!(decoder.received() >= body.len() as u64);
            buf.drain(..step.consumed);
            consumed += step.consumed;
            if step.done {
                assert_eq!(decoder.received(), body.len() as u64);
                // A done decoder takes nothing more.
                assert_eq!(
                    decoder.decode(&input[consumed..], &mut body),
                    Ok(Decoded {
                        consumed: 0,
                        done: true
                    })
                );
                let mut out = format!("\"{}\"", body.escape_ascii());
                if consumed < input.len() {
                    out += &format!(" rest \"{}\"", input[consumed..].escape_ascii());
                }
                return out;
            }
        }
        format!("partial \"{}\"", body.escape_ascii())
    }

    /// Decode `input` framed as `framing` whole, cut in two at every
    /// offset, and one byte at a time; all must agree and render as
    /// `expected`. The same body after a request head must come out of
    /// `fuzz::parse_stream` alike.
    fn check_with(framing: Framing, limit: u64, input: impl AsRef<[u8]>, expected: &str) {
        let input = input.as_ref();
        let shown = input.escape_ascii().to_string();
        for (how, pieces) in arrivals(input) {
            let outcome = feed(framing, limit, input, &pieces);
            assert_eq!(outcome, expected, "{how}: {shown:?}");
        }

        let field = match framing {
            Framing::None => return,
            Framing::Length(n) => format!("Content-Length: {n}"),
            Framing::Chunked => "Transfer-Encoding: chunked".to_owned(),
        };
        let mut stream = format!("POST /b HTTP/1.1\r\nHost: x\r\n{field}\r\n\r\n").into_bytes();
        stream.extend_from_slice(input);
        let limits = Limits {
            max_body_bytes: limit,
            ..Limits::default()
        };
        let whole = parse_stream([&stream[..]], &limits);
        assert_eq!(parse_stream(stream.chunks(1), &limits), whole, "{shown:?}");
        let (requests, err) = whole;
        if let Some(error) = expected.strip_prefix("error ") {
            assert!(requests.is_empty());
            assert_eq!(
                err.map(|e| format!("{e:?} {}", e.status().code()))
                    .as_deref(),
                Some(error)
            );
        } else if expected.starts_with("partial") {
            assert_eq!((requests.len(), err), (0, None));
        } else {
            assert_eq!(
                format!("\"{}\"", requests[0].body.escape_ascii()),
                expected.split(" rest ").next().unwrap()
            );
        }
    }

    /// A chunked body, with no limit to speak of.
    fn check(input: impl AsRef<[u8]>, expected: &str) {
        check_with(Framing::Chunked, u64::MAX, input, expected);
    }

    #[test]
    fn content_length() {
        check_with(Framing::Length(5), 100, "hello", r#""hello""#);
        check_with(Framing::Length(5), 100, "hel", r#"partial "hel""#);
        check_with(Framing::Length(5), 100, "", r#"partial """#);
        check_with(
            Framing::Length(5),
            100,
            "helloGET / HTTP/1.1",
            r#""hello" rest "GET / HTTP/1.1""#,
        );
        // The bytes are the body, whatever they look like.
        check_with(
            Framing::Length(7),
            100,
            b"0\r\n\r\n\x00\xff!",
            r#""0\r\n\r\n\x00\xff" rest "!""#,
        );
        check_with(Framing::Length(5), 5, "hello", r#""hello""#);
        check_with(Framing::None, 100, "GET /", r#""" rest "GET /""#);
        check_with(Framing::None, 0, "", r#""""#);
    }

    #[test]
    fn content_length_over_the_limit() {
        check_with(Framing::Length(6), 5, "hello!", "error BodyTooLarge 413");
        check_with(Framing::Length(1 << 40), 5, "", "error BodyTooLarge 413");
    }

    #[test]
    fn chunks() {
        check("5\r\nhello\r\n0\r\n\r\n", r#""hello""#);
        check("0\r\n\r\n", r#""""#);
        check(
            "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
            r#""hello world""#,
        );
        check("A\r\n0123456789\r\n0\r\n\r\n", r#""0123456789""#);
        check("a\r\n0123456789\r\n0\r\n\r\n", r#""0123456789""#);
        check(
            format!(
                "1F\r\n{}\r\n1f\r\n{}\r\n0\r\n\r\n",
                "x".repeat(31),
                "y".repeat(31)
            ),
            &format!("\"{}{}\"", "x".repeat(31), "y".repeat(31)),
        );
        check("005\r\nhello\r\n000\r\n\r\n", r#""hello""#);
        check("000000000000005\r\nhello\r\n0\r\n\r\n", r#""hello""#);
        // Chunk data is bytes, CRLF and all.
        check("4\r\n\r\n\r\n\r\n0\r\n\r\n", r#""\r\n\r\n""#);
        check(b"2\r\n\x00\xff\r\n0\r\n\r\n", r#""\x00\xff""#);
    }

    #[test]
    fn following_bytes_are_not_consumed() {
        check(
            "5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1",
            r#""hello" rest "GET /next HTTP/1.1""#,
        );
        check("0\r\n\r\n0\r\n\r\n", r#""" rest "0\r\n\r\n""#);
    }

    #[test]
    fn partial_chunks() {
        check("", r#"partial """#);
        check("5", r#"partial """#);
        check("5\r\nhel", r#"partial "hel""#);
        check("5\r\nhello\r", r#"partial "hello""#);
        check("5\r\nhello\r\n0\r\n\r", r#"partial "hello""#);
        check("5\r\nhello\r\n0\r\nX: 1\r\n", r#"partial "hello""#);
    }

    #[test]
    fn extensions() {
        for line in [
            "5;a=b",
            "5;a",
            "5;a=b;c;d=e",
            "5;a=\"q\\\"x\"",
            "5;a=\"x; y=\\\\ z\"",
            "5;a=\"\"",
            "5 ;a=b",
            "5\t; a = b ; c",
            "5;!#$%&'*+-.^_`|~=v",
            "5 ",
        ] {
            check(format!("{line}\r\nhello\r\n0\r\n\r\n"), r#""hello""#);
        }
        check(b"5;a=\"caf\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", r#""hello""#);
        // Leading zeros are not significant digits.
        check("0000000000000005\r\nhello\r\n0\r\n\r\n", r#""hello""#);
        check("5;a=b\r\nhello\r\n0;last=1\r\n\r\n", r#""hello""#);
    }

    #[test]
    fn trailers() {
        check("5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", r#""hello""#);
        check(
            "5\r\nhello\r\n0\r\nX-T: 1\r\nChecksum:two words \t\r\nE:\r\n\r\n",
            r#""hello""#,
        );
        check(b"0\r\nX: caf\xc3\xa9\r\n\r\n", r#""""#);
        check("0\r\nX-T: 1\r\n\r\nGET /", r#""" rest "GET /""#);
    }

    #[test]
    fn bad_chunks() {
        for input in [
            // Extensions that do not follow `; name [= value]` (RFC 9112 §7.1.1).
            "5 x\r\nhello\r\n0\r\n\r\n",
            "5;=\r\nhello\r\n0\r\n\r\n",
            "5;a=\r\nhello\r\n0\r\n\r\n",
            "5;a b\r\nhello\r\n0\r\n\r\n",
            "5;a=\"x\" y\r\nhello\r\n0\r\n\r\n",
            // No CRLF after the data.
            "5\r\nhelloX\r\n0\r\n\r\n",
            "5\r\nhello0\r\n\r\n",
            "5\r\nhello\n0\r\n\r\n",
            "5\r\nhello\rX",
            "5\r\nhello\r\r\n",
            // A bare LF or CR on the size line.
            "5\nhello\r\n0\r\n\r\n",
            "5\rhello\r\n0\r\n\r\n",
            "5;a\nhello\r\n0\r\n\r\n",
            "0\n\r\n",
            // Not a hex size.
            "g\r\nhello\r\n0\r\n\r\n",
            "5x\r\nhello\r\n0\r\n\r\n",
            "-5\r\nhello\r\n0\r\n\r\n",
            "+5\r\nhello\r\n0\r\n\r\n",
            "0x5\r\nhello\r\n0\r\n\r\n",
            " 5\r\nhello\r\n0\r\n\r\n",
            // No size at all.
            "\r\nhello\r\n0\r\n\r\n",
            ";a=b\r\nhello\r\n0\r\n\r\n",
            "5\r\nhello\r\n\r\n",
            // Bad extensions.
            "5;a@b\r\nhello\r\n0\r\n\r\n",
            "5;a=(b)\r\nhello\r\n0\r\n\r\n",
            "5;a\x01\r\nhello\r\n0\r\n\r\n",
            "5;a=\"open\r\nhello\r\n0\r\n\r\n",
            "5;a=\"x\x7f\"\r\nhello\r\n0\r\n\r\n",
            "5;a=\"\\\x00\"\r\nhello\r\n0\r\n\r\n",
            // Bad trailers.
            "0\r\nX-T 1\r\n\r\n",
            "0\r\nX-T : 1\r\n\r\n",
            "0\r\n: v\r\n\r\n",
            "0\r\nX-T\r\n\r\n",
            "0\r\n X: v\r\n\r\n",
            "0\r\nX(T): v\r\n\r\n",
            "0\r\nX: a\x01b\r\n\r\n",
            "0\r\nX: v\n\r\n",
            "0\r\nX: v\r\r\n",
            "0\r\n\rX",
            "0\r\n\n",
        ] {
            check(input, "error BadChunk 400");
        }
    }

    #[test]
    fn chunk_metadata_limit() {
        // `;` and the name are metadata: 1 + (MAX - 1) bytes pass.
        let ext = |len: usize| format!("5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(len - 1));
        check(ext(MAX_CHUNK_METADATA), r#""hello""#);
        check(ext(MAX_CHUNK_METADATA + 1), "error BadChunk 400");
        // So is a trailer line, CRLF aside.
        let trailer = |len: usize| format!("0\r\nX:{}\r\n\r\n", "v".repeat(len - 2));
        check(trailer(MAX_CHUNK_METADATA), r#""""#);
        check(trailer(MAX_CHUNK_METADATA + 1), "error BadChunk 400");
        // Refused before the line ends.
        check(
            &ext(MAX_CHUNK_METADATA + 1)[..MAX_CHUNK_METADATA + 2],
            "error BadChunk 400",
        );
        // The limit covers the whole body, not each chunk.
        let ext_8 = "1;abcdefg\r\nx\r\n";
        let many = MAX_CHUNK_METADATA / 8;
        let body = "x".repeat(many);
        check(
            format!("{}0\r\n\r\n", ext_8.repeat(many)),
            &format!("\"{body}\""),
        );
        check(
            format!("{}0;e\r\n\r\n", ext_8.repeat(many)),
            "error BadChunk 400",
        );
    }

    #[test]
    fn chunked_over_the_limit() {
        check_with(
            Framing::Chunked,
            10,
            "a\r\n0123456789\r\n0\r\n\r\n",
            r#""0123456789""#,
        );
        check_with(
            Framing::Chunked,
            10,
            "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n",
            r#""0123456789""#,
        );
        // A declared size over the limit is refused before its data.
        check_with(Framing::Chunked, 10, "b\r\n", "error BodyTooLarge 413");
        check_with(
            Framing::Chunked,
            10,
            "b;ext=1\r\n",
            "error BodyTooLarge 413",
        );
        check_with(
            Framing::Chunked,
            10,
            "6\r\n012345\r\n5\r\n",
            "error BodyTooLarge 413",
        );
        check("fffffffffffffff\r\n", r#"partial """#);
        check_with(
            Framing::Chunked,
            1 << 20,
            "fffffffffffffff\r\n",
            "error BodyTooLarge 413",
        );
        // Sixteen hex digits or more never fit.
        check("10000000000000000\r\n", "error BodyTooLarge 413");
        check("ffffffffffffffff", "error BodyTooLarge 413");
    }

    #[test]
    fn framing_none_is_done_at_once() {
        let decoder = BodyDecoder::new(Framing::None, 0);
        assert!(decoder.is_done());
        assert_eq!(decoder.received(), 0);
        assert!(!BodyDecoder::new(Framing::Chunked, 0).is_done());
        assert!(!BodyDecoder::new(Framing::Length(1), 1).is_done());
    }

    /// What stepping a byte at a time makes of the size line at the start
    /// of `src`, where it accepts a whole one.
    fn stepped_size_line(src: &[u8]) -> Option<SizeLine> {
        let mut state = ChunkedState::SizeStart;
        let mut ext = 0;
        for (i, &b) in src.iter().enumerate() {
            state = step(state, b, 0, u64::MAX).ok()?;
            let size = match state {
                ChunkedState::Ext { .. } => {
                    ext += 1;
                    continue;
                }
                ChunkedState::Data { remaining } => remaining,
                ChunkedState::TrailerStart => 0,
                _ => continue,
            };
            return Some(SizeLine {
                len: i + 1,
                size,
                ext,
            });
        }
        None
    }

    /// What stepping a byte at a time makes of the trailer field line at
    /// the start of `src`, where it accepts a whole one: its length, CRLF
    /// excluded.
    fn stepped_trailer_line(src: &[u8]) -> Option<usize> {
        let mut state = ChunkedState::TrailerStart;
        for (i, &b) in src.iter().enumerate() {
            state = step(state, b, 0, u64::MAX).ok()?;
            if state == ChunkedState::TrailerStart {
                return Some(i - 1);
            }
        }
        None
    }

    /// `size_line` takes exactly the lines stepping takes, whole and with
    /// at most 15 digits, and finds the same length, size and metadata.
    fn check_size_line(src: &[u8]) {
        let digits = src.iter().take_while(|&&b| hex(b).is_some()).count();
        let stepped = stepped_size_line(src).filter(|_| digits <= FAST_SIZE_DIGITS);
        assert_eq!(
            size_line(src),
            stepped,
            "{:?}",
            src.escape_ascii().to_string()
        );
    }

    /// `trailer_line` takes exactly the field lines stepping takes, whole.
    fn check_trailer_line(src: &[u8]) {
        assert_eq!(
            trailer_line(src),
            stepped_trailer_line(src),
            "{:?}",
            src.escape_ascii().to_string()
        );
    }

    /// Every string of up to `len` bytes from `alphabet`, after `prefix`.
    fn every_line(prefix: &[u8], alphabet: &[u8], len: usize, each: &mut dyn FnMut(&[u8])) {
        let mut line = prefix.to_vec();
        fn grow(line: &mut Vec<u8>, alphabet: &[u8], left: usize, each: &mut dyn FnMut(&[u8])) {
            each(line);
            if left == 0 {
                return;
            }
            for &b in alphabet {
                line.push(b);
                grow(line, alphabet, left - 1, each);
                line.pop();
            }
        }
        grow(&mut line, alphabet, len, each);
    }

    #[test]
    fn size_lines_scan_as_they_step() {
        // Every short line over the bytes that move the extension grammar.
        every_line(b"", b"1;= \"\\\r\nx@", 6, &mut check_size_line);
        every_line(b"5;a=\"", b"\"\\\r\n\x7f\x80\t", 5, &mut check_size_line);
        // Sizes of every length around the 15 digits the scan takes.
        for zeros in 0..18 {
            for digits in ["", "5", "f", "fffffffffffffff", "1000000000000000"] {
                for end in ["", "\r", "\r\n", ";a\r\n", "\n", "x\r\n"] {
                    check_size_line(format!("{}{digits}{end}", "0".repeat(zeros)).as_bytes());
                }
            }
        }
    }

    #[test]
    fn trailer_lines_scan_as_they_step() {
        every_line(b"", b"x:@ \t\r\n\x7f\x80", 6, &mut check_trailer_line);
        every_line(
            b"X-T:",
            b"\x00\x01\t\x7f\xff\r\n",
            5,
            &mut check_trailer_line,
        );
    }

    #[test]
    fn byte_classes() {
        for b in 0..=u8::MAX {
            let c = char::from(b);
            let tchar = c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            assert_eq!(is_tchar(b), tchar, "{b:#x}");
            let field_text = b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80;
            assert_eq!(is_field_text(b), field_text, "{b:#x}");
            let digit = c.to_digit(16).map(|d| d as u8);
            assert_eq!(hex(b), digit, "{b:#x}");
        }
    }

    #[test]
    fn whole_lines_take_the_fast_paths() {
        // The lines of the tests above that are well formed: if the scans
        // turned them down, every test would still pass, through `step`.
        for line in [
            &b"5\r\n"[..],
            b"000000000000005\r\n",
            b"fffffffffffffff\r\n",
            b"5;a=b;c;d=e\r\n",
            b"5;a=\"q\\\"x\"\r\n",
            b"5\t; a = b ; c\r\n",
            b"5;!#$%&'*+-.^_`|~=v\r\n",
            b"5;a=\"caf\xc3\xa9\"\r\n",
            b"5 \r\n",
        ] {
            assert!(
                size_line(line).is_some(),
                "{:?}",
                line.escape_ascii().to_string()
            );
        }
        for line in [&b"X-T: 1\r\n"[..], b"E:\r\n", b"X: caf\xc3\xa9 \t\r\n"] {
            assert!(
                trailer_line(line).is_some(),
                "{:?}",
                line.escape_ascii().to_string()
            );
        }
    }

    /// Decode `pieces` with a buffer that keeps what was not consumed, and
    /// return everything that could tell two runs apart: the outcome (the
    /// bytes consumed, or the error), the decoder's state and the body.
    fn decode_all(limit: u64, pieces: &[&[u8]]) -> (Result<usize, HttpError>, Kind, u64, Vec<u8>) {
        let mut decoder = BodyDecoder::new(Framing::Chunked, limit);
        let mut body = Vec::new();
        let mut buf = Vec::new();
        let mut consumed = 0;
        for piece in pieces {
            buf.extend_from_slice(piece);
            match decoder.decode(&buf, &mut body) {
                Ok(step) => {
                    buf.drain(..step.consumed);
                    consumed += step.consumed;
                }
                Err(e) => return (Err(e), decoder.kind, decoder.received, body),
            }
        }
        (Ok(consumed), decoder.kind, decoder.received, body)
    }

    /// Size-line suffixes, well formed or not.
    const EXTENSIONS: &[&str] = &[
        "",
        "",
        "",
        ";a=b",
        " ; x",
        ";q=\"a b\\\"c\"",
        ";n;m=1",
        "\t;e = \"\"",
        "x",
        ";",
        ";=",
        ";a=",
        " x",
        ";a b",
        ";a=\"x\" y",
        ";a=\"open",
        ";a=\"\\\x7f\"",
        ";a@b",
        "\n",
        "\r",
        ";a=b;",
        "  ",
        ";a=\"\u{e9}\"",
    ];

    /// Trailer field lines, well formed or not.
    const TRAILERS: &[&str] = &[
        "X-T: 1",
        "E:",
        "Checksum:two words \t",
        "X: caf\u{e9}",
        "X-T 1",
        ": v",
        "X-T",
        " X: v",
        "X: a\x01b",
        "X: v\n",
        "X(T): v",
        "X:\r",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Whole, a body decodes as it does a byte at a time (through
        /// `step` alone), to the same state and the same error, damaged or
        /// not, under any limit.
        #[test]
        fn whole_bodies_decode_as_bytes_do(
            chunks in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
                    proptest::sample::select(&[0usize, 0, 0, 1, 14, 15, 16][..]),
                    proptest::sample::select(EXTENSIONS),
                ),
                0..4,
            ),
            last in proptest::sample::select(EXTENSIONS),
            trailers in proptest::collection::vec(proptest::sample::select(TRAILERS), 0..3),
            damage in proptest::collection::vec(
                (
                    proptest::prelude::any::<proptest::sample::Index>(),
                    proptest::sample::select(&b"0aF;= \t\"\\\r\n:x@\x7f\x80\x00"[..]),
                ),
                0..2,
            ),
            limit in proptest::prelude::prop_oneof![0..100u64, proptest::strategy::Just(u64::MAX)],
        ) {
            let mut input = Vec::new();
            for (data, zeros, ext) in &chunks {
                let size = format!("{}{:X}{ext}\r\n", "0".repeat(*zeros), data.len());
                input.extend_from_slice(size.as_bytes());
                input.extend_from_slice(data);
                input.extend_from_slice(b"\r\n");
            }
            input.extend_from_slice(format!("0{last}\r\n").as_bytes());
            for trailer in &trailers {
                input.extend_from_slice(format!("{trailer}\r\n").as_bytes());
            }
            input.extend_from_slice(b"\r\nGET /");
            for (at, byte) in damage {
                let i = at.index(input.len());
                input[i] = byte;
            }
            let whole = decode_all(limit, &[&input]);
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            proptest::prop_assert_eq!(&whole, &decode_all(limit, &bytes));
        }
    }
}
