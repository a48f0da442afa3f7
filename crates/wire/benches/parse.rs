//! Criterion benchmarks: netrunner-wire's head parser and chunked decoder
//! beside bare httparse, on three requests.
//!
//! Run with `cargo bench -p netrunner-wire` (add `-- --warm-up-time 1
//! --measurement-time 3` for a quick pass). Each input is one criterion
//! group, so the pairs print next to each other:
//!
//! - `httparse`: `httparse::Request::parse` alone, with a fresh stack array
//!   of 32 headers per call, as a caller of httparse would write it. This
//!   is the floor: it checks syntax only.
//! - `netrunner`: [`HeadParser::parse`] into a warm [`RequestHead`] (parser
//!   and head made once, outside the timed loop; the parser is reset each
//!   iteration). It records spans and checks the RFC 9112 rules (Host,
//!   Content-Length, Transfer-Encoding, Connection, limits); all three heads
//!   here take its own fast path, httparse being kept for the rest.
//! - for the chunked upload also `httparse+chunks` (httparse's head parse,
//!   then `httparse::parse_chunk_size` per chunk, the data copied into a
//!   reused `Vec`, and `httparse::parse_headers` for the trailer) beside
//!   `netrunner+body` (the head, then [`BodyDecoder::decode`] into a reused
//!   `Vec`).
//!
//! The ratio netrunner / httparse per group is the codec's overhead.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netrunner_wire::{BodyDecoder, Framing, HeadParser, Limits, RequestHead};

/// The smallest realistic request: what wrk sends for `/plaintext`.
const SHORT_GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// A page load from a desktop Chrome: 702 bytes, 11 header fields.
const BROWSER: &[u8] = b"GET /articles/http-servers-in-rust?ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Windows\"\r\n\
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n\
Referer: https://www.example.com/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n\
Cookie: session=6f1c2e9a8b7d4c3e; _ga=GA1.1.1234567890.1712345678; theme=dark\r\n\
\r\n";

/// An upload in three chunks, one with an extension, and a trailer field.
const CHUNKED: &[u8] = b"POST /upload HTTP/1.1\r\n\
Host: localhost\r\n\
User-Agent: curl/8.5.0\r\n\
Accept: */*\r\n\
Content-Type: application/octet-stream\r\n\
Transfer-Encoding: chunked\r\n\
Trailer: X-Checksum\r\n\
\r\n\
10;part=one\r\n\
0123456789abcdef\r\n\
20\r\n\
0123456789abcdef0123456789abcdef\r\n\
8\r\n\
01234567\r\n\
0\r\n\
X-Checksum: 9f86d081\r\n\
\r\n";

/// The body bytes of [`CHUNKED`], decoded.
const CHUNKED_BODY_LEN: usize = 16 + 32 + 8;

/// Headers in the baseline's stack array: more than any input here has.
const BASELINE_HEADERS: usize = 32;

/// The baseline: httparse alone. Returns the head length.
fn httparse_head(input: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; BASELINE_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("httparse: {other:?}"),
    }
}

/// The baseline of the body: httparse's chunk-size parser, the data copied
/// out, the trailer parsed as header fields. Returns the bytes consumed.
fn httparse_chunks(src: &[u8], dst: &mut Vec<u8>) -> usize {
    let mut pos = 0;
    loop {
        let (n, size) = match httparse::parse_chunk_size(&src[pos..]) {
            Ok(httparse::Status::Complete(found)) => found,
            other => panic!("parse_chunk_size: {other:?}"),
        };
        pos += n;
        if size == 0 {
            break;
        }
        let size = size as usize;
        dst.extend_from_slice(&src[pos..pos + size]);
        pos += size;
        assert_eq!(&src[pos..pos + 2], b"\r\n", "chunk data ends in CRLF");
        pos += 2;
    }
    let mut trailer = [httparse::EMPTY_HEADER; 4];
    match httparse::parse_headers(&src[pos..], &mut trailer) {
        Ok(httparse::Status::Complete((n, _))) => pos + n,
        other => panic!("trailer: {other:?}"),
    }
}

/// netrunner's head parser into a warm head. Returns the head length.
fn netrunner_head(
    parser: &mut HeadParser,
    head: &mut RequestHead,
    limits: &Limits,
    input: &[u8],
) -> usize {
    parser.reset();
    match parser.parse(input, limits, head) {
        Ok(Some(n)) => n,
        other => panic!("netrunner: {other:?}"),
    }
}

/// netrunner's head parser, then its body decoder into a reused `Vec`.
/// Returns the bytes consumed.
fn netrunner_request(
    parser: &mut HeadParser,
    head: &mut RequestHead,
    limits: &Limits,
    body: &mut Vec<u8>,
    input: &[u8],
) -> usize {
    let n = netrunner_head(parser, head, limits, input);
    body.clear();
    let mut decoder = BodyDecoder::new(head.framing(), limits.max_body_bytes);
    match decoder.decode(&input[n..], body) {
        Ok(d) if d.done => n + d.consumed,
        other => panic!("netrunner body: {other:?}"),
    }
}

/// One group per input: the httparse baseline, then netrunner's head parse.
fn heads(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, input) in [
        ("short_get", SHORT_GET),
        ("browser", BROWSER),
        ("chunked_upload", CHUNKED),
    ] {
        let mut parser = HeadParser::new();
        let mut head = RequestHead::default();
        // Both must agree on where the head ends before anything is timed.
        let n = httparse_head(input);
        assert_eq!(netrunner_head(&mut parser, &mut head, &limits, input), n);

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(n as u64));
        group.bench_function("httparse", |b| {
            b.iter(|| httparse_head(black_box(input)));
        });
        group.bench_function("netrunner", |b| {
            b.iter(|| netrunner_head(&mut parser, &mut head, &limits, black_box(input)));
        });
        if name == "chunked_upload" {
            let mut body = Vec::with_capacity(CHUNKED_BODY_LEN);
            let whole = |body: &mut Vec<u8>| {
                body.clear();
                let n = httparse_head(input);
                n + httparse_chunks(&input[n..], body)
            };
            assert_eq!(whole(&mut body), input.len());
            assert_eq!(body.len(), CHUNKED_BODY_LEN);
            assert_eq!(head.framing(), Framing::Chunked);
            let consumed = netrunner_request(&mut parser, &mut head, &limits, &mut body, input);
            assert_eq!(consumed, input.len());
            assert_eq!(body.len(), CHUNKED_BODY_LEN);

            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_function("httparse+chunks", |b| {
                b.iter(|| whole(black_box(&mut body)));
            });
            group.bench_function("netrunner+body", |b| {
                b.iter(|| {
                    netrunner_request(&mut parser, &mut head, &limits, &mut body, black_box(input))
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, heads);
criterion_main!(benches);
