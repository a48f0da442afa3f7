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
    Length {
        remaining: u64,
    },
    Chunked {
        state: ChunkedState,
        metadata: usize,
    },
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
    /// In a quoted-string extension value.
    ExtQuoted { size: u64, escaped: bool },
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
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`, refusing more than `limit`
    /// bytes of body. [`Framing::None`] gives a decoder that is already done.
    pub fn new(framing: Framing, limit: u64) -> BodyDecoder {
        let kind = match framing {
            Framing::None => Kind::Length { remaining: 0 },
            Framing::Length(n) => Kind::Length { remaining: n },
            Framing::Chunked => Kind::Chunked {
                state: ChunkedState::SizeStart,
                metadata: 0,
            },
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
                | Kind::Chunked {
                    state: ChunkedState::Done,
                    ..
                }
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
            Kind::Chunked { state, metadata } => {
                let mut pos = 0;
                while pos < src.len() && *state != ChunkedState::Done {
                    if let ChunkedState::Data { remaining } = state {
                        let take = (*remaining).min((src.len() - pos) as u64) as usize;
                        dst.extend_from_slice(&src[pos..pos + take]);
                        pos += take;
                        *remaining -= take as u64;
                        if *remaining == 0 {
                            *state = ChunkedState::DataCr;
                        }
                        continue;
                    }
                    *state = step(*state, src[pos], self.received, self.limit)?;
                    if let ChunkedState::Data { remaining } = *state {
                        self.received += remaining;
                    }
                    if is_metadata(*state) {
                        *metadata += 1;
                        if *metadata > MAX_CHUNK_METADATA {
                            return Err(HttpError::BadChunk);
                        }
                    }
                    pos += 1;
                }
                Ok(Decoded {
                    consumed: pos,
                    done: *state == ChunkedState::Done,
                })
            }
        }
    }
}

fn is_metadata(state: ChunkedState) -> bool {
    matches!(
        state,
        ChunkedState::Ext { .. } | ChunkedState::ExtQuoted { .. } | ChunkedState::Trailer { .. }
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
        ExtQuoted {
            size,
            escaped: true,
        } => match b {
            b'\t' | b' '..=b'~' | 0x80..=0xff => ExtQuoted {
                size,
                escaped: false,
            },
            _ => return Err(HttpError::BadChunk),
        },
        ExtQuoted {
            size,
            escaped: false,
        } => match b {
            b'"' => Ext {
                size,
                at: ExtAt::Between,
            },
            b'\\' => ExtQuoted {
                size,
                escaped: true,
            },
            b'\t' | b' '..=b'~' | 0x80..=0xff => ExtQuoted {
                size,
                escaped: false,
            },
            _ => return Err(HttpError::BadChunk),
        },
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
            b'\t' | b' '..=b'~' | 0x80..=0xff => Trailer {
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
    use ExtAt::*;
    let next = match (at, b) {
        (Between | Name | AfterName | Value, b'\r') => return size_line_end(size, received, limit),
        (Between | Name | AfterName | Value, b';') => NameStart,
        (_, b' ' | b'\t') => match at {
            Name => AfterName,
            Value => Between,
            other => other,
        },
        (NameStart | Name, b) if is_tchar(b) => Name,
        (Name | AfterName, b'=') => ValueStart,
        (ValueStart, b'"') => {
            return Ok(ChunkedState::ExtQuoted {
                size,
                escaped: false,
            })
        }
        (ValueStart | Value, b) if is_tchar(b) => Value,
        _ => return Err(HttpError::BadChunk),
    };
    Ok(ChunkedState::Ext { size, at: next })
}

/// The size line is complete: refuse a chunk that would pass the limit
/// before any of its data arrives.
fn size_line_end(size: u64, received: u64, limit: u64) -> Result<ChunkedState, HttpError> {
    if received.saturating_add(size) > limit {
        return Err(HttpError::BodyTooLarge);
    }
    Ok(ChunkedState::SizeLf { size })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    // A `matches!` compiles to a range test and a bit test; a search of the
    // punctuation list was a memchr call per byte of every extension and
    // trailer.
    matches!(
        b,
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
    )
}

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
}
