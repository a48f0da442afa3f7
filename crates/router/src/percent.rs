//! Percent-decoding of path parameters (RFC 3986 §2.1), done after routing
//! so that an encoded `/` (`%2F`) stays inside its segment.

use std::borrow::Cow;

/// `raw` with every `%XX` replaced by its byte, or `None` when an escape is
/// malformed (`%`, `%4`, `%zz`) or the result is not UTF-8.
///
/// Text without `%` is returned borrowed: no allocation. `+` is left as it
/// is: it means a space only in form-encoded queries, never in a path.
pub(crate) fn decode(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains('%') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(raw.len());
    for b in Bytes(raw.as_bytes()) {
        out.push(b?);
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Whether [`decode`] would succeed, found without allocating: the bytes
/// are decoded into a small buffer on the stack and checked a piece at a
/// time, a character cut at the end of one piece carried to the next.
pub(crate) fn is_decodable(raw: &str) -> bool {
    if !raw.contains('%') {
        return true;
    }
    let mut buf = [0u8; 64];
    let mut len = 0;
    let mut bytes = Bytes(raw.as_bytes()).peekable();
    loop {
        while len < buf.len() {
            match bytes.next() {
                Some(Some(b)) => {
                    buf[len] = b;
                    len += 1;
                }
                Some(None) => return false,
                None => break,
            }
        }
        let done = bytes.peek().is_none();
        match std::str::from_utf8(&buf[..len]) {
            Ok(_) if done => return true,
            Ok(_) => len = 0,
            // A character cut short by the end of the buffer: keep its
            // first bytes (three at most) for the next piece.
            Err(e) if e.error_len().is_none() && !done => {
                buf.copy_within(e.valid_up_to()..len, 0);
                len -= e.valid_up_to();
            }
            Err(_) => return false,
        }
    }
}

/// The decoded bytes of a percent-encoded text; `None` for a malformed
/// escape.
struct Bytes<'a>(&'a [u8]);

impl Iterator for Bytes<'_> {
    type Item = Option<u8>;

    fn next(&mut self) -> Option<Option<u8>> {
        let (&b, rest) = self.0.split_first()?;
        if b != b'%' {
            self.0 = rest;
            return Some(Some(b));
        }
        let decoded = match rest {
            [hi, lo, ..] => hex(*hi).zip(hex(*lo)).map(|(hi, lo)| hi << 4 | lo),
            _ => None,
        };
        self.0 = rest.get(2..).unwrap_or_default();
        Some(decoded)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Option<&str>) {
        assert_eq!(decode(raw).as_deref(), expected, "{raw}");
        assert_eq!(is_decodable(raw), expected.is_some(), "{raw}");
    }

    #[test]
    fn decoding() {
        check("plain", Some("plain"));
        check("", Some(""));
        check("w%C3%B6rld", Some("wörld"));
        check("w%c3%b6rld", Some("wörld"));
        check("a%2Fb", Some("a/b"));
        check("a+b", Some("a+b"));
        check("%2e%2E", Some(".."));
        check("100%25", Some("100%"));
        check("%00", Some("\0"));
    }

    #[test]
    fn undecodable() {
        check("%", None);
        check("a%4", None);
        check("%zz", None);
        check("%C3", None);
        check("%FF%FE", None);
        check("%C0%AF", None);
    }

    #[test]
    fn long_values_checked_piece_by_piece() {
        // Characters of 1 to 4 bytes, so that some straddle the 64-byte
        // pieces of `is_decodable` at every offset.
        let text = "aé€😀".repeat(40);
        for skip in 0..4 {
            let text: String = text.chars().skip(skip).collect();
            let encoded: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
            check(&encoded, Some(&text));
            let mut cut = encoded.clone();
            cut.truncate(cut.len() - 3);
            assert_eq!(is_decodable(&cut), decode(&cut).is_some(), "{skip}");
            check(&format!("{encoded}%FF"), None);
            check(&format!("{encoded}%"), None);
        }
    }

    #[test]
    fn borrowed_without_escapes() {
        assert!(matches!(decode("hello"), Some(Cow::Borrowed("hello"))));
    }
}
