//! Drivers shared by the fuzz targets and the property tests: they feed a
//! byte stream to the codec the way a connection does, in pieces.

use netrunner_error::HttpError;

use crate::body::BodyDecoder;
use crate::head::{Framing, HeadParser, RequestHead};
use crate::limits::Limits;
use crate::request::Request;

/// A request read from a stream, owned, for comparing outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRequest {
    /// The method text.
    pub method: String,
    /// The request target.
    pub target: String,
    /// Header fields, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The decoded body.
    pub body: Vec<u8>,
    /// Whether the connection may persist after it.
    pub keep_alive: bool,
}

/// Parse every request of a stream that arrives in `pieces`, as a
/// connection would: append each piece to a buffer, take out whole heads
/// and bodies, keep the rest for the next piece. Stops at the first error,
/// which it returns beside the requests read before it.
pub fn parse_stream<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
    limits: &Limits,
) -> (Vec<OwnedRequest>, Option<HttpError>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut parser = HeadParser::new();
    let mut head = RequestHead::default();
    let mut reading: Option<(BodyDecoder, Vec<u8>)> = None;
    let mut head_bytes: Vec<u8> = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            if let Some((decoder, body)) = &mut reading {
                let step = match decoder.decode(&buf, body) {
                    Ok(step) => step,
                    Err(e) => return (out, Some(e)),
                };
                buf.drain(..step.consumed);
                if !step.done {
                    break;
                }
                let req = Request::new(&head, &head_bytes, body);
                out.push(own(&req));
                reading = None;
                continue;
            }
            match parser.parse(&buf, limits, &mut head) {
                Ok(Some(n)) => {
                    head_bytes.clear();
                    head_bytes.extend(buf.drain(..n));
                    match head.framing() {
                        Framing::None => {
                            let req = Request::new(&head, &head_bytes, b"");
                            out.push(own(&req));
                        }
                        framing => {
                            reading = Some((
                                BodyDecoder::new(framing, limits.max_body_bytes),
                                Vec::new(),
                            ));
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fn own(req: &Request<'_>) -> OwnedRequest {
    OwnedRequest {
        method: req.method_str().to_owned(),
        target: req.target().to_owned(),
        headers: req
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect(),
        body: req.body().to_vec(),
        keep_alive: req.keep_alive(),
    }
}

/// The fuzz target for the request parser: parse `data` whole, then split
/// in two at a place chosen by its first byte, then one byte at a time, and
/// panic unless all three agree; and panic if the fast path takes a head
/// that httparse reads differently.
pub fn check_request_stream(data: &[u8]) {
    crate::head::fast_path_agrees_with_httparse(data);
    let limits = Limits {
        max_request_line: 256,
        max_head_bytes: 1024,
        max_body_bytes: 4096,
    };
    let whole = parse_stream([data], &limits);
    let cut = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let halves = parse_stream([&data[..cut], &data[cut..]], &limits);
    let bytes = parse_stream(data.chunks(1), &limits);
    assert_eq!(whole.0, halves.0, "split at {cut}");
    assert_eq!(whole.0, bytes.0, "one byte at a time");
    // The error may come at a different request only when it is a limit
    // check, which looks at the bytes arrived so far; otherwise the same.
    if !is_limit(whole.1) && !is_limit(halves.1) {
        assert_eq!(whole.1, halves.1, "split at {cut}");
    }
}

fn is_limit(e: Option<HttpError>) -> bool {
    matches!(
        e,
        Some(
            HttpError::RequestLineTooLong | HttpError::HeadersTooLarge | HttpError::TooManyHeaders
        )
    )
}
