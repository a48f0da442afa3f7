//! A pure HTTP/1.1 codec on [httparse]: request heads, body framing,
//! response heads. No I/O, no clock, no threads.
//!
//! The head nearly every client sends is parsed by a fast path that reads
//! eight bytes at a time and records exactly what httparse would; any
//! other head, and every malformed one, goes to httparse, which decides.
//!
//! Feed it the bytes of one connection in whatever pieces they arrive:
//!
//! - [`HeadParser::parse`] finds a whole request head and checks it against
//!   RFC 9112 and the [`Limits`], filling a reusable [`RequestHead`];
//! - [`BodyDecoder::decode`] frames the body that follows
//!   (`Content-Length` or `chunked`, extensions and trailers);
//! - [`Request`] pairs a head with its bytes and body for a handler;
//! - [`encode_response`] writes a [`Response`] into the caller's buffer,
//!   with the `Date` of an [`HttpDate`] that the caller updates;
//!   [`HeadCache`] does the same, copying heads it wrote before.
//!
//! Each rejection is an [`HttpError`] that carries its status.
//!
//! ```
//! use netrunner_wire::*;
//!
//! let limits = Limits::default();
//! let mut parser = HeadParser::new();
//! let mut head = RequestHead::default();
//! let stream = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
//!
//! let n = parser.parse(stream, &limits, &mut head)?.expect("a whole head");
//! let mut body = Vec::new();
//! let mut decoder = BodyDecoder::new(head.framing(), limits.max_body_bytes);
//! assert!(decoder.decode(&stream[n..], &mut body)?.done);
//!
//! let req = Request::new(&head, &stream[..n], &body);
//! let res = Response::with_body(Status::OK, "text/plain", Body::Bytes(req.body().to_vec()));
//! let cx = ResponseContext { version: req.version(), keep_alive: req.keep_alive(), head_request: false };
//! let mut out = Vec::new();
//! encode_response(&res, cx, &HttpDate::new(0), &mut out);
//! assert!(out.ends_with(b"Content-Length: 2\r\n\r\nhi"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod body;
mod encode;
mod fast;
pub mod fuzz;
mod head;
mod limits;
mod request;
mod response;
#[cfg(test)]
mod test_support;

pub use body::{BodyDecoder, Decoded};
pub use encode::{
    encode_chunk, encode_continue, encode_head, encode_last_chunk, encode_response, sends_body,
    BodyLength, HeadCache, HttpDate, ResponseContext,
};
pub use head::{Framing, HeadParser, Method, RequestHead, Span, Version};
pub use limits::{
    Limits, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_REQUEST_LINE,
    MAX_CHUNK_METADATA, MAX_HEADERS,
};
pub use netrunner_error::{HttpError, Status};
pub use request::Request;
pub use response::{Body, FileBody, Response, Text};
