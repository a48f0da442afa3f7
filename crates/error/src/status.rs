//! [`Status`]: a status code and its reason phrase (RFC 9110 §15).

use std::fmt;

/// An HTTP status code, `100..=999`.
///
/// The constants are the codes registered by RFC 9110 (plus 428 and 429 of
/// RFC 6585); any other three-digit code can be made with [`Status::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status(u16);

impl Status {
    /// `100 Continue`.
    pub const CONTINUE: Status = Status(100);
    /// `101 Switching Protocols`.
    pub const SWITCHING_PROTOCOLS: Status = Status(101);
    /// `200 OK`.
    pub const OK: Status = Status(200);
    /// `201 Created`.
    pub const CREATED: Status = Status(201);
    /// `202 Accepted`.
    pub const ACCEPTED: Status = Status(202);
    /// `203 Non-Authoritative Information`.
    pub const NON_AUTHORITATIVE_INFORMATION: Status = Status(203);
    /// `204 No Content`.
    pub const NO_CONTENT: Status = Status(204);
    /// `205 Reset Content`.
    pub const RESET_CONTENT: Status = Status(205);
    /// `206 Partial Content`.
    pub const PARTIAL_CONTENT: Status = Status(206);
    /// `300 Multiple Choices`.
    pub const MULTIPLE_CHOICES: Status = Status(300);
    /// `301 Moved Permanently`.
    pub const MOVED_PERMANENTLY: Status = Status(301);
    /// `302 Found`.
    pub const FOUND: Status = Status(302);
    /// `303 See Other`.
    pub const SEE_OTHER: Status = Status(303);
    /// `304 Not Modified`.
    pub const NOT_MODIFIED: Status = Status(304);
    /// `305 Use Proxy`.
    pub const USE_PROXY: Status = Status(305);
    /// `307 Temporary Redirect`.
    pub const TEMPORARY_REDIRECT: Status = Status(307);
    /// `308 Permanent Redirect`.
    pub const PERMANENT_REDIRECT: Status = Status(308);
    /// `400 Bad Request`.
    pub const BAD_REQUEST: Status = Status(400);
    /// `401 Unauthorized`.
    pub const UNAUTHORIZED: Status = Status(401);
    /// `402 Payment Required`.
    pub const PAYMENT_REQUIRED: Status = Status(402);
    /// `403 Forbidden`.
    pub const FORBIDDEN: Status = Status(403);
    /// `404 Not Found`.
    pub const NOT_FOUND: Status = Status(404);
    /// `405 Method Not Allowed`.
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// `406 Not Acceptable`.
    pub const NOT_ACCEPTABLE: Status = Status(406);
    /// `407 Proxy Authentication Required`.
    pub const PROXY_AUTHENTICATION_REQUIRED: Status = Status(407);
    /// `408 Request Timeout`.
    pub const REQUEST_TIMEOUT: Status = Status(408);
    /// `409 Conflict`.
    pub const CONFLICT: Status = Status(409);
    /// `410 Gone`.
    pub const GONE: Status = Status(410);
    /// `411 Length Required`.
    pub const LENGTH_REQUIRED: Status = Status(411);
    /// `412 Precondition Failed`.
    pub const PRECONDITION_FAILED: Status = Status(412);
    /// `413 Content Too Large`.
    pub const PAYLOAD_TOO_LARGE: Status = Status(413);
    /// `414 URI Too Long`.
    pub const URI_TOO_LONG: Status = Status(414);
    /// `415 Unsupported Media Type`.
    pub const UNSUPPORTED_MEDIA_TYPE: Status = Status(415);
    /// `416 Range Not Satisfiable`.
    pub const RANGE_NOT_SATISFIABLE: Status = Status(416);
    /// `417 Expectation Failed`.
    pub const EXPECTATION_FAILED: Status = Status(417);
    /// `421 Misdirected Request`.
    pub const MISDIRECTED_REQUEST: Status = Status(421);
    /// `422 Unprocessable Content`.
    pub const UNPROCESSABLE_CONTENT: Status = Status(422);
    /// `426 Upgrade Required`.
    pub const UPGRADE_REQUIRED: Status = Status(426);
    /// `428 Precondition Required`.
    pub const PRECONDITION_REQUIRED: Status = Status(428);
    /// `429 Too Many Requests`.
    pub const TOO_MANY_REQUESTS: Status = Status(429);
    /// `431 Request Header Fields Too Large`.
    pub const REQUEST_HEADER_FIELDS_TOO_LARGE: Status = Status(431);
    /// `500 Internal Server Error`.
    pub const INTERNAL_SERVER_ERROR: Status = Status(500);
    /// `501 Not Implemented`.
    pub const NOT_IMPLEMENTED: Status = Status(501);
    /// `502 Bad Gateway`.
    pub const BAD_GATEWAY: Status = Status(502);
    /// `503 Service Unavailable`.
    pub const SERVICE_UNAVAILABLE: Status = Status(503);
    /// `504 Gateway Timeout`.
    pub const GATEWAY_TIMEOUT: Status = Status(504);
    /// `505 HTTP Version Not Supported`.
    pub const HTTP_VERSION_NOT_SUPPORTED: Status = Status(505);

    /// A status from its numeric code, or `None` outside `100..=999`.
    pub const fn new(code: u16) -> Option<Status> {
        if code >= 100 && code <= 999 {
            Some(Status(code))
        } else {
            None
        }
    }

    /// The numeric code.
    pub const fn code(self) -> u16 {
        self.0
    }

    /// The reason phrase of RFC 9110, or `""` for an unregistered code.
    pub const fn reason(self) -> &'static str {
        match self.0 {
            100 => "Continue",
            101 => "Switching Protocols",
            200 => "OK",
            201 => "Created",
            202 => "Accepted",
            203 => "Non-Authoritative Information",
            204 => "No Content",
            205 => "Reset Content",
            206 => "Partial Content",
            300 => "Multiple Choices",
            301 => "Moved Permanently",
            302 => "Found",
            303 => "See Other",
            304 => "Not Modified",
            305 => "Use Proxy",
            307 => "Temporary Redirect",
            308 => "Permanent Redirect",
            400 => "Bad Request",
            401 => "Unauthorized",
            402 => "Payment Required",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            409 => "Conflict",
            410 => "Gone",
            411 => "Length Required",
            412 => "Precondition Failed",
            413 => "Content Too Large",
            414 => "URI Too Long",
            415 => "Unsupported Media Type",
            416 => "Range Not Satisfiable",
            417 => "Expectation Failed",
            421 => "Misdirected Request",
            422 => "Unprocessable Content",
            426 => "Upgrade Required",
            428 => "Precondition Required",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            505 => "HTTP Version Not Supported",
            _ => "",
        }
    }

    /// `1xx`: the response has no body and no final status.
    pub const fn is_informational(self) -> bool {
        self.0 < 200
    }

    /// `2xx`.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// `4xx` or `5xx`.
    pub const fn is_error(self) -> bool {
        self.0 >= 400
    }

    /// Whether a response with this status may carry a body
    /// (RFC 9110 §15: not `1xx`, `204` or `304`).
    pub const fn allows_body(self) -> bool {
        !(self.is_informational() || self.0 == 204 || self.0 == 304)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(Status::OK.reason(), "OK");
        assert_eq!(Status::NOT_FOUND.to_string(), "404 Not Found");
        assert_eq!(Status::PAYLOAD_TOO_LARGE.reason(), "Content Too Large");
        assert_eq!(Status::new(299).map(Status::reason), Some(""));
        assert_eq!(Status::new(99), None);
        assert_eq!(Status::new(1000), None);
    }

    #[test]
    fn bodies() {
        assert!(!Status::CONTINUE.allows_body());
        assert!(!Status::NO_CONTENT.allows_body());
        assert!(!Status::NOT_MODIFIED.allows_body());
        assert!(Status::OK.allows_body());
        assert!(Status::NOT_FOUND.allows_body());
    }
}
