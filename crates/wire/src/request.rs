//! [`Request`]: a parsed request as a handler sees it, borrowed from the
//! connection's buffers.

use std::net::SocketAddr;

use crate::head::{Method, RequestHead, Version};

/// A whole request: its head, the bytes the head was parsed from, its body,
/// and the peer's address when known. Everything is borrowed: building one
/// costs nothing and allocates nothing.
///
/// ```
/// use netrunner_wire::{HeadParser, Limits, Method, Request, RequestHead};
///
/// let bytes = b"GET /hello/w%C3%B6rld?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
/// let mut head = RequestHead::default();
/// HeadParser::new().parse(bytes, &Limits::default(), &mut head)?;
/// let req = Request::new(&head, bytes, b"");
/// assert_eq!(req.method(), Method::Get);
/// assert_eq!(req.path(), "/hello/w%C3%B6rld");
/// assert_eq!(req.query(), Some("x=1"));
/// assert_eq!(req.header("accept"), Some(&b"*/*"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    head: &'a RequestHead,
    buf: &'a [u8],
    body: &'a [u8],
    peer: Option<SocketAddr>,
    /// The target, checked as UTF-8 once here rather than on every use.
    target: &'a str,
    /// Bytes of `target` before any `?`.
    path_len: usize,
    /// The request came over TLS.
    tls: bool,
}

impl<'a> Request<'a> {
    /// A request from a head, the buffer it was parsed from (starting where
    /// the head starts), and the decoded body.
    #[inline]
    pub fn new(head: &'a RequestHead, buf: &'a [u8], body: &'a [u8]) -> Request<'a> {
        let target = head.target(buf);
        let path_len = head.path_len().min(target.len());
        Request {
            head,
            buf,
            body,
            peer: None,
            target,
            path_len,
            tls: false,
        }
    }

    /// The same request, marked as received over TLS (or not).
    #[inline]
    pub fn with_tls(self, tls: bool) -> Request<'a> {
        Request { tls, ..self }
    }

    /// Whether the request came over TLS (`https`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The same request, with the peer's address.
    #[inline]
    pub fn with_peer(self, peer: SocketAddr) -> Request<'a> {
        Request {
            peer: Some(peer),
            ..self
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.head.method()
    }

    /// The method's text, as sent (`GET`, or any other token).
    pub fn method_str(&self) -> &'a str {
        match self.head.method().as_str() {
            Some(name) => name,
            None => self.head.method_str(self.buf),
        }
    }

    /// The request target as sent: path and query.
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The path of the target, before any `?`, still percent-encoded.
    pub fn path(&self) -> &'a str {
        &self.target[..self.path_len]
    }

    /// The query of the target, after the first `?`.
    pub fn query(&self) -> Option<&'a str> {
        self.target.get(self.path_len..)?.strip_prefix('?')
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.head.version()
    }

    /// The value of the first header field named `name` (ASCII
    /// case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.head
            .headers
            .iter()
            .find(|(n, _)| n.get(self.buf).eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.get(self.buf))
    }

    /// Every header field, in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.head.header_iter(self.buf)
    }

    /// The decoded body (empty when there is none).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The peer's address, when the caller gave it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether the client allows the connection to persist.
    pub fn keep_alive(&self) -> bool {
        self.head.keep_alive()
    }

    /// The parsed head.
    pub fn head(&self) -> &'a RequestHead {
        self.head
    }
}
