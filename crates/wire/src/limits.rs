//! [`Limits`]: the size limits the codec enforces, as plain data.

/// Longest request line accepted; longer is `414 URI Too Long`.
pub const DEFAULT_MAX_REQUEST_LINE: usize = 8 * 1024;
/// Largest request head (request line and header fields) accepted; larger is
/// `431 Request Header Fields Too Large`.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body accepted; larger is `413 Content Too Large`.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;
/// Most header fields in one request head; more is `431`.
pub const MAX_HEADERS: usize = 100;
/// Most bytes of chunk extensions and trailer fields in one chunked body,
/// together; more is `400` (they carry nothing netrunner uses).
pub const MAX_CHUNK_METADATA: usize = 16 * 1024;

/// The size limits of one server, handed to the codec.
///
/// ```
/// let limits = netrunner_wire::Limits { max_body_bytes: 1024, ..Default::default() };
/// assert_eq!(limits.max_request_line, netrunner_wire::DEFAULT_MAX_REQUEST_LINE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, CRLF excluded.
    pub max_request_line: usize,
    /// Largest head: request line, header fields and the empty line.
    pub max_head_bytes: usize,
    /// Largest body, counted after chunked decoding.
    pub max_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: DEFAULT_MAX_REQUEST_LINE,
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}
