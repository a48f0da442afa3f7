//! [`Response`]: what a handler returns.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::sync::Arc;

use netrunner_error::{HttpError, Status};

/// Text that is usually a `&'static str` and so costs no allocation.
pub type Text = Cow<'static, str>;

/// The body of a response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Body {
    /// No body: `Content-Length: 0` where the status allows a body.
    #[default]
    Empty,
    /// Bytes that live for the whole program.
    Static(&'static [u8]),
    /// Bytes made for this response.
    Bytes(Vec<u8>),
    /// A range of an open file, sent in pieces as the socket takes them
    /// (never read whole into memory). The codec writes its length; the
    /// event loop streams its bytes.
    File(FileBody),
}

/// `len` bytes of an open file from offset `start`.
///
/// The file is shared (`Arc`) so that a response can be cloned; reads go
/// through positioned reads, so no shared cursor moves.
#[derive(Clone)]
pub struct FileBody {
    file: Arc<File>,
    start: u64,
    len: u64,
}

impl FileBody {
    /// The bytes `start..start + len` of `file`.
    pub fn new(file: File, start: u64, len: u64) -> FileBody {
        FileBody {
            file: Arc::new(file),
            start,
            len,
        }
    }

    /// The file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Offset of the first byte.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Bytes to send.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Mark the first `n` bytes as sent.
    pub fn advance(&mut self, n: u64) {
        let n = n.min(self.len);
        self.start += n;
        self.len -= n;
    }
}

impl fmt::Debug for FileBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileBody")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Two file bodies are equal when they are the same range of the same
/// open file.
impl PartialEq for FileBody {
    fn eq(&self, other: &FileBody) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && self.start == other.start && self.len == other.len
    }
}

impl Eq for FileBody {}

impl Body {
    /// The body's bytes when they are in memory; empty for a file, whose
    /// bytes the event loop reads as it sends them.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty | Body::File(_) => b"",
            Body::Static(b) => b,
            Body::Bytes(b) => b,
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::File(f) => f.len(),
            other => other.as_bytes().len() as u64,
        }
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response: status, `Content-Type`, other header fields, and a body.
///
/// The codec writes the framing fields itself (`Date`, `Content-Length`,
/// `Transfer-Encoding`, `Connection`); fields of those names given here are
/// dropped. A response built from static text allocates nothing.
///
/// ```
/// use netrunner_wire::{Response, Status};
///
/// let res = Response::text(Status::OK, "Hello, World!").with_header("Cache-Control", "no-store");
/// assert_eq!(res.status, Status::OK);
/// assert_eq!(res.content_type.as_deref(), Some("text/plain; charset=utf-8"));
/// assert_eq!(res.body.as_bytes(), b"Hello, World!");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status.
    pub status: Status,
    /// The `Content-Type`, if any.
    pub content_type: Option<Text>,
    /// Other header fields, in order.
    pub headers: Vec<(Text, Text)>,
    /// The body. For `HEAD` requests and `304` its length is announced and
    /// its bytes are not sent.
    pub body: Body,
}

impl Response {
    /// A response with a status and nothing else.
    pub fn new(status: Status) -> Response {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// `text/plain; charset=utf-8` with a static body.
    pub fn text(status: Status, body: &'static str) -> Response {
        Response {
            status,
            content_type: Some(Cow::Borrowed("text/plain; charset=utf-8")),
            headers: Vec::new(),
            body: Body::Static(body.as_bytes()),
        }
    }

    /// `text/plain; charset=utf-8` with a body made at run time.
    pub fn text_owned(status: Status, body: String) -> Response {
        Response {
            status,
            content_type: Some(Cow::Borrowed("text/plain; charset=utf-8")),
            headers: Vec::new(),
            body: Body::Bytes(body.into_bytes()),
        }
    }

    /// A response with the given content type and body.
    pub fn with_body(status: Status, content_type: impl Into<Text>, body: Body) -> Response {
        Response {
            status,
            content_type: Some(content_type.into()),
            headers: Vec::new(),
            body,
        }
    }

    /// The error response for `status`: `text/plain; charset=utf-8`, a
    /// short body naming the status.
    pub fn error(status: Status) -> Response {
        let body = match status.code() {
            400 => Body::Static(b"400 Bad Request\n"),
            404 => Body::Static(b"404 Not Found\n"),
            405 => Body::Static(b"405 Method Not Allowed\n"),
            408 => Body::Static(b"408 Request Timeout\n"),
            413 => Body::Static(b"413 Content Too Large\n"),
            414 => Body::Static(b"414 URI Too Long\n"),
            431 => Body::Static(b"431 Request Header Fields Too Large\n"),
            500 => Body::Static(b"500 Internal Server Error\n"),
            501 => Body::Static(b"501 Not Implemented\n"),
            505 => Body::Static(b"505 HTTP Version Not Supported\n"),
            _ => Body::Bytes(format!("{status}\n").into_bytes()),
        };
        Response {
            status,
            content_type: Some(Cow::Borrowed("text/plain; charset=utf-8")),
            headers: Vec::new(),
            body,
        }
    }

    /// The response that answers a rejected request.
    pub fn from_error(err: HttpError) -> Response {
        Response::error(err.status())
    }

    /// This response with one more header field.
    pub fn with_header(mut self, name: impl Into<Text>, value: impl Into<Text>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of the first header field named `name` (ASCII
    /// case-insensitive), `Content-Type` included.
    pub fn header(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case("content-type") {
            return self.content_type.as_deref();
        }
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}
