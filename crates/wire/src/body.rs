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
    Chunked { state: ChunkedState, metadata: usize },
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
    /// In the hex digits of a size.
    Size { size: u64, digits: u8 },
    /// In whitespace or an extension after the size.
    Ext { size: u64 },
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
            // 16 hex digits overflow nothing, but no body that large passes
            // the limit anyway; refuse longer sizes outright.
            Some(d) if digits < 15 => Size {
                size: size << 4 | u64::from(d),
                digits: digits + 1,
            },
            Some(_) => return Err(HttpError::BodyTooLarge),
            None => return after_size(size, b, received, limit),
        },
        Ext { size } => match b {
            b'\r' => return size_line_end(size, received, limit),
            b'"' => ExtQuoted {
                size,
                escaped: false,
            },
            // chunk-ext: BWS ";" BWS name [ BWS "=" BWS value ], where name
            // and value are tokens. Check the characters, not the grammar:
            // extensions are read and dropped.
            b' ' | b'\t' | b';' | b'=' => Ext { size },
            b if is_tchar(b) => Ext { size },
            _ => return Err(HttpError::BadChunk),
        },
        ExtQuoted { size, escaped: true } => match b {
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
            b'"' => Ext { size },
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

fn after_size(size: u64, b: u8, received: u64, limit: u64) -> Result<ChunkedState, HttpError> {
    match b {
        b'\r' => size_line_end(size, received, limit),
        b' ' | b'\t' | b';' => Ok(ChunkedState::Ext { size }),
        _ => Err(HttpError::BadChunk),
    }
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
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
