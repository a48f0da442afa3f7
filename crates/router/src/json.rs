//! JSON without a JSON library: [`json_response`] answers with a JSON body,
//! and [`validate_json`] checks that bytes are one strict JSON text.

use std::borrow::Cow;

use netrunner_wire::{Body, Response, Status};

/// Arrays and objects nested deeper than this are refused by
/// [`validate_json`] (as serde_json refuses them by default), so that no
/// input can exhaust the stack.
pub const MAX_JSON_DEPTH: usize = 128;

/// A response with `Content-Type: application/json` and `body`, which is
/// not checked. A `&'static str` body costs no allocation.
///
/// ```
/// use netrunner_router::json_response;
/// use netrunner_wire::Status;
///
/// let res = json_response(Status::OK, r#"{"message":"Hello, World!"}"#);
/// assert_eq!(res.header("content-type"), Some("application/json"));
/// let res = json_response(Status::CREATED, format!(r#"{{"id":{}}}"#, 7));
/// assert_eq!(res.body.as_bytes(), br#"{"id":7}"#);
/// ```
pub fn json_response(status: Status, body: impl Into<Cow<'static, str>>) -> Response {
    let body = match body.into() {
        Cow::Borrowed(text) => Body::Static(text.as_bytes()),
        Cow::Owned(text) => Body::Bytes(text.into_bytes()),
    };
    Response::with_body(status, "application/json", body)
}

/// Why bytes are not one JSON text: where, and what was expected there.
/// The message reads `invalid JSON at byte 7: expected ',' or '}'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Something else than what the grammar allows at `offset` (the
    /// input's length when it ended too soon).
    #[error("invalid JSON at byte {offset}: expected {expected}")]
    Expected {
        /// Where, counted in bytes from the start.
        offset: usize,
        /// What would have been valid there.
        expected: &'static str,
    },
    /// An array or object opened at `offset` is nested deeper than
    /// [`MAX_JSON_DEPTH`].
    #[error("invalid JSON at byte {offset}: nested deeper than {MAX_JSON_DEPTH} levels")]
    TooDeep {
        /// Where the array or object too many starts.
        offset: usize,
    },
    /// The bytes at `offset` are not UTF-8.
    #[error("invalid JSON at byte {offset}: not UTF-8")]
    NotUtf8 {
        /// Where the first byte that is not UTF-8 is.
        offset: usize,
    },
}

impl JsonError {
    /// Where the input went wrong, counted in bytes from its start.
    pub fn offset(&self) -> usize {
        match *self {
            JsonError::Expected { offset, .. }
            | JsonError::TooDeep { offset }
            | JsonError::NotUtf8 { offset } => offset,
        }
    }
}

/// Check that `bytes` are one JSON text (RFC 8259), strictly: UTF-8, one
/// value of any kind with optional whitespace around it, and nothing else.
///
/// Refused, though some parsers take them: a byte order mark, comments,
/// trailing commas, single quotes, unquoted keys, leading zeros, `NaN`,
/// control characters unescaped in strings, and `\u` escapes that leave a
/// surrogate unpaired (not valid Unicode). Duplicate keys are allowed, as
/// RFC 8259 allows them. Nesting is limited to [`MAX_JSON_DEPTH`].
///
/// The check allocates nothing and reads each byte once.
///
/// # Errors
///
/// The first problem, with its byte offset ([`JsonError`]).
///
/// ```
/// use netrunner_router::{validate_json, JsonError};
///
/// assert_eq!(validate_json(br#"{"a": [1, 2.5e3, true, null, "\u00e9"]}"#), Ok(()));
/// let err = validate_json(br#"{"a":1 "b":2}"#).unwrap_err();
/// assert_eq!(err, JsonError::Expected { offset: 7, expected: "',' or '}'" });
/// assert_eq!(err.to_string(), "invalid JSON at byte 7: expected ',' or '}'");
/// ```
pub fn validate_json(bytes: &[u8]) -> Result<(), JsonError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(JsonError::NotUtf8 {
            offset: e.valid_up_to(),
        });
    }
    let mut parser = Parser { bytes, pos: 0 };
    parser.value(0)?;
    parser.whitespace();
    if parser.pos < bytes.len() {
        return Err(parser.expected("end of input"));
    }
    Ok(())
}

/// A recursive-descent checker; `pos` is the next byte to read. Strings are
/// known to be UTF-8 already, so only ASCII needs looking at.
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expected(&self, expected: &'static str) -> JsonError {
        JsonError::Expected {
            offset: self.pos,
            expected,
        }
    }

    /// Skip `ws = *( %x20 / %x09 / %x0A / %x0D )`.
    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consume `byte` or fail with `expected`.
    fn eat(&mut self, byte: u8, expected: &'static str) -> Result<(), JsonError> {
        if self.peek() != Some(byte) {
            return Err(self.expected(expected));
        }
        self.pos += 1;
        Ok(())
    }

    /// A value, after optional whitespace, inside `depth` arrays and
    /// objects.
    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        self.whitespace();
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.expected("a value")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), JsonError> {
        for &b in word {
            self.eat(b, "a value")?;
        }
        Ok(())
    }

    /// `{ "key": value, ... }`, the `{` next.
    fn object(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_JSON_DEPTH {
            return Err(JsonError::TooDeep { offset: self.pos });
        }
        self.pos += 1;
        self.whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        let mut expected_key = "'\"' or '}'";
        loop {
            self.whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.expected(expected_key));
            }
            self.string()?;
            self.whitespace();
            self.eat(b':', "':'")?;
            self.value(depth)?;
            self.whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.expected("',' or '}'")),
            }
            expected_key = "'\"'";
        }
    }

    /// `[ value, ... ]`, the `[` next.
    fn array(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_JSON_DEPTH {
            return Err(JsonError::TooDeep { offset: self.pos });
        }
        self.pos += 1;
        self.whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            self.whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.expected("',' or ']'")),
            }
        }
    }

    /// `"..."`, the `"` next.
    fn string(&mut self) -> Result<(), JsonError> {
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(self.expected("'\"'")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape()?;
                }
                Some(0x00..=0x1f) => {
                    return Err(self.expected("'\"' or a character other than a control character"))
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// What follows a `\` in a string.
    fn escape(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'u') => {
                let start = self.pos - 1;
                self.pos += 1;
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate: a low one must follow.
                        let low = self.pos;
                        if self.bytes[self.pos..].starts_with(b"\\u") {
                            self.pos += 2;
                            if matches!(self.hex4()?, 0xDC00..=0xDFFF) {
                                return Ok(());
                            }
                        }
                        self.pos = low;
                        Err(self.expected("'\\u' and a low surrogate (DC00 to DFFF)"))
                    }
                    0xDC00..=0xDFFF => {
                        self.pos = start;
                        Err(self.expected("a high surrogate (D800 to DBFF) before a low one"))
                    }
                    _ => Ok(()),
                }
            }
            _ => Err(self.expected("an escape: '\"', '\\', '/', 'b', 'f', 'n', 'r', 't' or 'u'")),
        }
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Result<u16, JsonError> {
        let mut unit = 0u16;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return Err(self.expected("a hex digit")),
            };
            unit = unit << 4 | u16::from(digit);
            self.pos += 1;
        }
        Ok(unit)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.expected("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.expected("a digit after '.'"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.expected("a digit in the exponent"));
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `input` is valid JSON.
    fn ok(input: &str) {
        assert_eq!(validate_json(input.as_bytes()), Ok(()), "{input:?}");
    }

    /// `input` is refused at `offset` with `expected`.
    fn bad(input: &str, offset: usize, expected: &'static str) {
        assert_eq!(
            validate_json(input.as_bytes()),
            Err(JsonError::Expected { offset, expected }),
            "{input:?}"
        );
    }

    #[test]
    fn accepted() {
        for input in [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "12",
            "-12.5",
            "1e10",
            "1E+2",
            "1.5e-3",
            "0.0",
            r#""""#,
            r#""text""#,
            r#""caf\u00e9 \u00E9 \" \\ \/ \b \f \n \r \t""#,
            r#""\ud83d\ude00""#,
            "\"caf\u{e9} \u{1f600}\"",
            "[]",
            "{}",
            " \t\r\n[ 1 , \"a\" , null ]\n",
            r#"{"a":{"b":[{},[],{"c":null}]},"d":-1.0e+9}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"message":"Hello, World!"}"#,
            "[\"\u{7f}\"]",
        ] {
            ok(input);
        }
    }

    #[test]
    fn refused() {
        bad("", 0, "a value");
        bad("   ", 3, "a value");
        bad("nul", 3, "a value");
        bad("nulL", 3, "a value");
        bad("True", 0, "a value");
        bad("NaN", 0, "a value");
        bad("'a'", 0, "a value");
        bad("+1", 0, "a value");
        bad(".5", 0, "a value");
        bad("-", 1, "a digit");
        bad("-a", 1, "a digit");
        bad("01", 1, "end of input");
        bad("1.", 2, "a digit after '.'");
        bad("1.e3", 2, "a digit after '.'");
        bad("1e", 2, "a digit in the exponent");
        bad("1e+", 3, "a digit in the exponent");
        bad("1 2", 2, "end of input");
        bad("{} []", 3, "end of input");
        bad("[1,]", 3, "a value");
        bad("[1 2]", 3, "',' or ']'");
        bad("[1", 2, "',' or ']'");
        bad("[", 1, "a value");
        bad(r#"{"a":1 "b":2}"#, 7, "',' or '}'");
        bad(r#"{"a":1,}"#, 7, "'\"'");
        bad("{a:1}", 1, "'\"' or '}'");
        bad("{'a':1}", 1, "'\"' or '}'");
        bad(r#"{"a" 1}"#, 5, "':'");
        bad(r#"{"a":}"#, 5, "a value");
        bad(r#"{"a":1"#, 6, "',' or '}'");
        bad(r#"""#, 1, "'\"'");
        bad(r#""abc"#, 4, "'\"'");
        bad(
            "\"a\tb\"",
            2,
            "'\"' or a character other than a control character",
        );
        bad(
            "\"a\nb\"",
            2,
            "'\"' or a character other than a control character",
        );
        bad(
            r#""\x""#,
            2,
            "an escape: '\"', '\\', '/', 'b', 'f', 'n', 'r', 't' or 'u'",
        );
        bad(r#""\u12G4""#, 5, "a hex digit");
        bad(r#""\u12""#, 5, "a hex digit");
        bad(r#""\ud83d""#, 7, "'\\u' and a low surrogate (DC00 to DFFF)");
        bad(
            r#""\ud83dx""#,
            7,
            "'\\u' and a low surrogate (DC00 to DFFF)",
        );
        bad(
            r#""\ud83d\u0041""#,
            7,
            "'\\u' and a low surrogate (DC00 to DFFF)",
        );
        bad(
            r#""\ude00""#,
            1,
            "a high surrogate (D800 to DBFF) before a low one",
        );
        bad("[1] // c", 4, "end of input");
        bad("/* c */ 1", 0, "a value");
        bad("\u{feff}1", 0, "a value");
        bad("[1]\0", 3, "end of input");
    }

    #[test]
    fn not_utf8() {
        assert_eq!(
            validate_json(b"\"ab\xff\""),
            Err(JsonError::NotUtf8 { offset: 3 })
        );
        assert_eq!(
            validate_json(b"[\"\xc3\"]"),
            Err(JsonError::NotUtf8 { offset: 2 })
        );
        // Encoded surrogates are not UTF-8 either.
        assert_eq!(
            validate_json(b"\"\xed\xa0\x80\""),
            Err(JsonError::NotUtf8 { offset: 1 })
        );
    }

    #[test]
    fn depth_limit() {
        let nested = |open: &str, close: &str, n: usize| open.repeat(n) + "0" + &close.repeat(n);
        ok(&nested("[", "]", MAX_JSON_DEPTH));
        ok(&nested("{\"a\":", "}", MAX_JSON_DEPTH));
        let deep = nested("[", "]", MAX_JSON_DEPTH + 1);
        assert_eq!(
            validate_json(deep.as_bytes()),
            Err(JsonError::TooDeep {
                offset: MAX_JSON_DEPTH
            })
        );
        let deep = nested("{\"a\":", "}", MAX_JSON_DEPTH + 1);
        assert_eq!(
            validate_json(deep.as_bytes()),
            Err(JsonError::TooDeep {
                offset: 5 * MAX_JSON_DEPTH
            })
        );
        // Far deeper input fails as fast, without touching the stack.
        let deep = "[".repeat(1_000_000);
        assert_eq!(
            validate_json(deep.as_bytes()),
            Err(JsonError::TooDeep {
                offset: MAX_JSON_DEPTH
            })
        );
        assert_eq!(
            validate_json(deep.as_bytes()).unwrap_err().to_string(),
            "invalid JSON at byte 128: nested deeper than 128 levels"
        );
    }

    #[test]
    fn messages() {
        let err = validate_json(br#"{"a":1 "b":2}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid JSON at byte 7: expected ',' or '}'"
        );
        assert_eq!(err.offset(), 7);
        let err = validate_json(b"").unwrap_err();
        assert_eq!(err.to_string(), "invalid JSON at byte 0: expected a value");
        let err = validate_json(b"\xff").unwrap_err();
        assert_eq!(err.to_string(), "invalid JSON at byte 0: not UTF-8");
    }

    #[test]
    fn responses() {
        let res = json_response(Status::OK, r#"{"message":"Hello, World!"}"#);
        assert_eq!(res.status, Status::OK);
        assert_eq!(res.content_type.as_deref(), Some("application/json"));
        assert!(matches!(res.body, Body::Static(_)));
        assert!(matches!(res.content_type, Some(Cow::Borrowed(_))));
        let res = json_response(Status::BAD_REQUEST, String::from("[1]"));
        assert_eq!(res.body, Body::Bytes(b"[1]".to_vec()));
    }
}
