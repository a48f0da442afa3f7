//! The head nearly every client sends, parsed without httparse.
//!
//! [`parse`] accepts a strict subset of what httparse accepts: a method
//! token, one space, a target of visible ASCII, one space, `HTTP/1.0` or
//! `HTTP/1.1`, CRLF; then fields of a token name, a colon, optional
//! whitespace and a value of visible ASCII, spaces and tabs, each ended by
//! CRLF; then CRLF. For every head in that subset it records exactly what
//! httparse would (the same spans, the same trimming of the value). For
//! anything else (a partial head, leading empty lines, a bare LF, a byte
//! outside ASCII, more than [`MAX_HEADERS`] fields, any error) it declines,
//! and the caller hands the bytes to httparse, which then has the last
//! word on what is accepted and which error a head gets. The property test
//! `the_fast_path_reads_heads_as_httparse_does` in `head.rs` and the fuzz
//! target hold the two together.
//!
//! Why: httparse is general (partial input, UTF-8 targets, SIMD dispatch
//! per call) and costs about 560 instructions on a two-line head; this path
//! checks the same bytes eight at a time for about a fifth of that.

use crate::body::is_tchar;
use crate::head::{Fields, Method, RequestHead, Span, Version};
use crate::limits::MAX_HEADERS;

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// The eight bytes of `buf` from `i` as a little-endian word, if there are
/// eight. (Written with one explicit length check: `buf.get(i..)?
/// .first_chunk()` measured 17 instructions more per request.)
#[inline(always)]
fn word_at(buf: &[u8], i: usize) -> Option<u64> {
    if i + 8 > buf.len() {
        return None;
    }
    let bytes: [u8; 8] = buf[i..i + 8].try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// The index of the first byte at or after `i` that is not in `lo..=0x7e`
/// (`buf.len()` if there is none), testing eight bytes per step.
///
/// In a word read little-endian, `(w - lo·ONES) & !w & HIGHS` flags bytes
/// below `lo` (for `lo <= 0x80`) and `((w + ONES) | w) & HIGHS` flags bytes
/// from `0x7f` up. A borrow or carry crosses into a byte only from a lower
/// byte that is itself flagged, so the lowest flag is always exact.
#[inline(always)]
fn visible_run(buf: &[u8], mut i: usize, lo: u8) -> usize {
    while let Some(word) = word_at(buf, i) {
        let below = word.wrapping_sub(ONES * u64::from(lo)) & !word & HIGHS;
        let above = (word.wrapping_add(ONES) | word) & HIGHS;
        let flags = below | above;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < buf.len() && (lo..=0x7e).contains(&buf[i]) {
        i += 1;
    }
    i
}

/// [`visible_run`] over a request target from `i`, which also finds the
/// first `?` in it: `(end, query)`, `query` being `usize::MAX` when the
/// target has none.
#[inline(always)]
fn target_run(buf: &[u8], mut i: usize) -> (usize, usize) {
    const QUESTION: u64 = ONES * b'?' as u64;
    let mut query = usize::MAX;
    while let Some(word) = word_at(buf, i) {
        let below = word.wrapping_sub(ONES * 0x21) & !word & HIGHS;
        let above = (word.wrapping_add(ONES) | word) & HIGHS;
        let stops = below | above;
        if query == usize::MAX {
            // Bytes equal to `?` are the zero bytes of `word ^ QUESTION`;
            // one at or past the first stop is not part of the target.
            let x = word ^ QUESTION;
            let marks = x.wrapping_sub(ONES) & !x & HIGHS;
            let marks = marks & (stops ^ stops.wrapping_sub(1));
            if marks != 0 {
                query = i + (marks.trailing_zeros() / 8) as usize;
            }
        }
        if stops != 0 {
            return (i + (stops.trailing_zeros() / 8) as usize, query);
        }
        i += 8;
    }
    let end = visible_run(buf, i, 0x21);
    if query == usize::MAX {
        if let Some(q) = buf[i..end].iter().position(|&b| b == b'?') {
            query = i + q;
        }
    }
    (end, query)
}

/// Parse the whole head at the start of `buf` into `head` (method, target,
/// path, query, version and field spans; nothing else), note each field in
/// `fields`, and return its length, or
/// `None` when the head is not whole or not in the subset this path takes.
/// On `None`, `head` may hold partial results; the caller parses again.
#[inline]
pub(crate) fn parse(buf: &[u8], head: &mut RequestHead, fields: &mut Fields) -> Option<usize> {
    // The request line.
    let (method, method_end) = if buf.starts_with(b"GET ") {
        (Method::Get, 3)
    } else {
        let end = buf.iter().position(|&b| !is_tchar(b))?;
        if end == 0 || buf[end] != b' ' {
            return None;
        }
        (Method::from_bytes(&buf[..end]), end)
    };
    let target_start = method_end + 1;
    let (target_end, query) = target_run(buf, target_start);
    if target_end == target_start || buf.get(target_end) != Some(&b' ') {
        return None;
    }
    let (word, rest) = buf.get(target_end + 1..)?.split_first_chunk::<8>()?;
    let word = u64::from_le_bytes(*word);
    let version = if word == u64::from_le_bytes(*b"HTTP/1.1") {
        Version::Http11
    } else if word == u64::from_le_bytes(*b"HTTP/1.0") {
        Version::Http10
    } else {
        return None;
    };
    if rest.first_chunk::<2>()? != b"\r\n" {
        return None;
    }
    head.method = method;
    head.method_span = Span::new(0, method_end);
    head.target = Span::new(target_start, target_end);
    if query == usize::MAX {
        head.path = head.target;
        head.query = None;
    } else {
        head.path = Span::new(target_start, query);
        head.query = Some(Span::new(query + 1, target_end));
    }
    head.version = version;
    head.headers.clear();

    // The fields, up to the empty line.
    let mut i = target_end + 11;
    loop {
        let name_start = i;
        while is_tchar(*buf.get(i)?) {
            i += 1;
        }
        if i == name_start {
            return (buf.get(i..i + 2)? == b"\r\n").then_some(i + 2);
        }
        if buf[i] != b':' || head.headers.len() == MAX_HEADERS {
            return None;
        }
        let name_end = i;
        i += 1;
        while let Some(b' ' | b'\t') = buf.get(i) {
            i += 1;
        }
        let value_start = i;
        loop {
            i = visible_run(buf, i, 0x20);
            match buf.get(i)? {
                b'\t' => i += 1,
                b'\r' => break,
                _ => return None,
            }
        }
        if buf.get(i + 1) != Some(&b'\n') {
            return None;
        }
        let mut value_end = i;
        while value_end > value_start && matches!(buf[value_end - 1], b' ' | b'\t') {
            value_end -= 1;
        }
        fields.note(&buf[name_start..name_end], &buf[value_start..value_end]);
        head.headers.push((
            Span::new(name_start, name_end),
            Span::new(value_start, value_end),
        ));
        i += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_run_stops_at_the_first_byte_outside_the_range() {
        let text: Vec<u8> = (0u8..=255).collect();
        for lo in [0x20u8, 0x21] {
            for start in 0..text.len() {
                for len in 0..24.min(text.len() - start) {
                    let buf = &text[start..start + len];
                    let expected = buf
                        .iter()
                        .position(|b| !(lo..=0x7e).contains(b))
                        .unwrap_or(buf.len());
                    assert_eq!(visible_run(buf, 0, lo), expected, "{buf:?} lo {lo:#x}");
                }
            }
        }
        // A run inside visible bytes, ended by each byte in turn at each
        // offset of a word.
        for stop in 0u8..=255 {
            for at in 0..20 {
                let mut buf = vec![b'a'; 24];
                buf[at] = stop;
                let expected = if (0x21..=0x7e).contains(&stop) {
                    24
                } else {
                    at
                };
                assert_eq!(
                    visible_run(&buf, 0, 0x21),
                    expected,
                    "stop {stop:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn declines_what_it_does_not_take() {
        for input in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n"[..],
            b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\nHost: a\n\n",
            b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n",
            b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
            b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
            b" / HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            let mut head = RequestHead::default();
            assert_eq!(
                parse(input, &mut head, &mut Fields::default()),
                None,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn more_fields_than_the_limit_are_declined() {
        let mut input = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            input.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\n");
        assert_eq!(
            parse(&input, &mut RequestHead::default(), &mut Fields::default()),
            None
        );
    }
}
