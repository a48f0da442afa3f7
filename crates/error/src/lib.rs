//! Status codes and the typed rejections of netrunner.
//!
//! [`Status`] is an HTTP status code with its reason phrase (RFC 9110 §15).
//! [`HttpError`] names every way a request can be refused before a handler
//! sees it; [`HttpError::status`] maps each to exactly one status, in one
//! place, so the wire codec, the event loop and the tests agree.
//!
//! ```
//! use netrunner_error::{HttpError, Status};
//!
//! let err = HttpError::RequestLineTooLong;
//! assert_eq!(err.status(), Status::URI_TOO_LONG);
//! assert_eq!(err.status().reason(), "URI Too Long");
//! assert!(err.closes_connection());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod status;

pub use status::Status;

/// A request rejected before it reached a handler, or a failure on its way
/// back. Each variant is one rule; [`HttpError::status`] gives its status.
///
/// The type is `Copy + Eq` and carries no `io::Error`: I/O failures belong to
/// the event loop, which closes the connection instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum HttpError {
    /// The request line is not `METHOD SP target SP HTTP/x.y CRLF`.
    #[error("malformed request line: expected `METHOD /path HTTP/1.1`")]
    BadRequestLine,
    /// A header field is malformed (bad name, bad value, bare CR, or
    /// whitespace before the colon).
    #[error("malformed header field: expected `Name: value`")]
    BadHeader,
    /// More header fields than the parser allows.
    #[error("too many header fields in the request")]
    TooManyHeaders,
    /// An HTTP/1.1 request without a `Host` header (RFC 9112 §3.2).
    #[error("missing Host header: HTTP/1.1 requests must name a Host")]
    MissingHost,
    /// More than one `Host` header (RFC 9112 §3.2).
    #[error("repeated Host header: send exactly one")]
    DuplicateHost,
    /// A `Content-Length` that is not a decimal number (RFC 9110 §8.6).
    #[error("invalid Content-Length: expected a decimal number of bytes")]
    InvalidContentLength,
    /// Several `Content-Length` values that disagree (RFC 9112 §6.3).
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.1).
    #[error("both Content-Length and Transfer-Encoding: send only one")]
    LengthAndTransferEncoding,
    /// A transfer coding other than `chunked` (RFC 9112 §6.1).
    #[error("unsupported transfer coding: only chunked is accepted")]
    UnsupportedTransferCoding,
    /// A malformed chunk size, extension, delimiter or trailer (RFC 9112 §7.1).
    #[error("malformed chunked body")]
    BadChunk,
    /// A major HTTP version other than 1 on an HTTP/1 connection.
    #[error("unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1")]
    UnsupportedVersion,
    /// The request line alone is longer than the limit (8 KiB by default).
    #[error("request line too long: shorten the URI")]
    RequestLineTooLong,
    /// The request head (line and headers) is larger than the limit.
    #[error("request header fields too large")]
    HeadersTooLarge,
    /// The declared or received body is larger than the limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// The request head did not arrive in time.
    #[error("timed out waiting for the request head")]
    HeaderTimeout,
    /// The request body stalled.
    #[error("timed out waiting for the request body")]
    BodyTimeout,
    /// The handler panicked while producing a response.
    #[error("the handler failed while producing the response")]
    HandlerPanicked,
}

impl HttpError {
    /// The status this rejection is answered with.
    pub const fn status(self) -> Status {
        match self {
            HttpError::BadRequestLine
            | HttpError::BadHeader
            | HttpError::MissingHost
            | HttpError::DuplicateHost
            | HttpError::InvalidContentLength
            | HttpError::ConflictingContentLength
            | HttpError::LengthAndTransferEncoding
            | HttpError::BadChunk => Status::BAD_REQUEST,
            HttpError::UnsupportedTransferCoding => Status::NOT_IMPLEMENTED,
            HttpError::UnsupportedVersion => Status::HTTP_VERSION_NOT_SUPPORTED,
            HttpError::RequestLineTooLong => Status::URI_TOO_LONG,
            HttpError::HeadersTooLarge | HttpError::TooManyHeaders => {
                Status::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            HttpError::BodyTooLarge => Status::PAYLOAD_TOO_LARGE,
            HttpError::HeaderTimeout | HttpError::BodyTimeout => Status::REQUEST_TIMEOUT,
            HttpError::HandlerPanicked => Status::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the connection must close after the error response.
    ///
    /// Every rejection leaves the byte stream in an unknown place (the rest
    /// of the request cannot be framed safely), so all of them close.
    pub const fn closes_connection(self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_a_client_or_server_error() {
        let all = [
            HttpError::BadRequestLine,
            HttpError::BadHeader,
            HttpError::TooManyHeaders,
            HttpError::MissingHost,
            HttpError::DuplicateHost,
            HttpError::InvalidContentLength,
            HttpError::ConflictingContentLength,
            HttpError::LengthAndTransferEncoding,
            HttpError::UnsupportedTransferCoding,
            HttpError::BadChunk,
            HttpError::UnsupportedVersion,
            HttpError::RequestLineTooLong,
            HttpError::HeadersTooLarge,
            HttpError::BodyTooLarge,
            HttpError::HeaderTimeout,
            HttpError::BodyTimeout,
            HttpError::HandlerPanicked,
        ];
        for err in all {
            let code = err.status().code();
            assert!((400..600).contains(&code), "{err:?} -> {code}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn statuses_of_the_contract() {
        assert_eq!(HttpError::MissingHost.status().code(), 400);
        assert_eq!(HttpError::UnsupportedTransferCoding.status().code(), 501);
        assert_eq!(HttpError::UnsupportedVersion.status().code(), 505);
        assert_eq!(HttpError::RequestLineTooLong.status().code(), 414);
        assert_eq!(HttpError::HeadersTooLarge.status().code(), 431);
        assert_eq!(HttpError::BodyTooLarge.status().code(), 413);
        assert_eq!(HttpError::HeaderTimeout.status().code(), 408);
        assert_eq!(HttpError::HandlerPanicked.status().code(), 500);
    }
}
