//! Property tests: a stream of pipelined requests parses the same however it
//! is split, and no input makes the fuzz driver panic.

use netrunner_wire::fuzz::{check_request_stream, parse_stream, OwnedRequest};
use netrunner_wire::{HttpError, Limits};
use proptest::prelude::*;
use proptest::sample::Index;

/// A request to send: what goes on the wire and what must come out.
#[derive(Debug, Clone)]
struct Generated {
    method: &'static str,
    target: String,
    http10: bool,
    leading_empty_lines: usize,
    host: bool,
    connection: Option<&'static str>,
    headers: Vec<(String, String)>,
    body: GeneratedBody,
}

#[derive(Debug, Clone)]
enum GeneratedBody {
    None,
    Length(Vec<u8>),
    Chunked {
        chunks: Vec<(Vec<u8>, &'static str)>,
        last_ext: &'static str,
        trailers: Vec<(String, String)>,
    },
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PURGE",
];
const EXTENSIONS: &[&str] = &[
    "",
    ";a=b",
    " ; x",
    ";q=\"a b\\\"c\"",
    ";n;m=1",
    "\t;e = \"\"",
];

fn header() -> impl Strategy<Value = (String, String)> {
    // `X-` keeps clear of the fields the codec interprets.
    ("X-[A-Za-z0-9-]{1,12}", "[!-~]( ?[!-~]){0,12}")
}

fn body(http10: bool) -> impl Strategy<Value = GeneratedBody> {
    let none = Just(GeneratedBody::None).boxed();
    let length = prop::collection::vec(any::<u8>(), 1..64)
        .prop_map(GeneratedBody::Length)
        .boxed();
    if http10 {
        return prop_oneof![none, length].boxed();
    }
    let chunk = (
        prop::collection::vec(any::<u8>(), 1..40),
        prop::sample::select(EXTENSIONS),
    );
    let chunked = (
        prop::collection::vec(chunk, 0..5),
        prop::sample::select(EXTENSIONS),
        prop::collection::vec(("X-T[a-z]{0,5}", "[!-~]( ?[!-~]){0,8}"), 0..3),
    )
        .prop_map(|(chunks, last_ext, trailers)| GeneratedBody::Chunked {
            chunks,
            last_ext,
            trailers,
        });
    prop_oneof![none, length, chunked.boxed()].boxed()
}

fn request() -> impl Strategy<Value = Generated> {
    (
        prop::sample::select(METHODS),
        "/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,20}",
        prop::option::of("[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,20}"),
        any::<bool>(),
        0..3usize,
        any::<bool>(),
        prop::option::of(prop::sample::select(
            &["close", "keep-alive", "Keep-Alive, Upgrade"][..],
        )),
        prop::collection::vec(header(), 0..5),
    )
        .prop_flat_map(
            |(method, path, query, http10, empty, host, connection, headers)| {
                let target = match query {
                    Some(q) => format!("{path}?{q}"),
                    None => path,
                };
                body(http10).prop_map(move |body| Generated {
                    method,
                    target: target.clone(),
                    http10,
                    leading_empty_lines: empty,
                    // HTTP/1.1 needs a Host.
                    host: host || !http10,
                    connection,
                    headers: headers.clone(),
                    body,
                })
            },
        )
}

impl Generated {
    /// Append the request's bytes to `wire` and return what parsing them
    /// must give.
    fn write(&self, wire: &mut Vec<u8>) -> OwnedRequest {
        let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
        if self.host {
            fields.push(("Host".into(), b"example.test".to_vec()));
        }
        if let Some(c) = self.connection {
            fields.push(("Connection".into(), c.as_bytes().to_vec()));
        }
        for (n, v) in &self.headers {
            fields.push((n.clone(), v.clone().into_bytes()));
        }
        let mut body = Vec::new();
        let mut payload = Vec::new();
        match &self.body {
            GeneratedBody::None => {}
            GeneratedBody::Length(bytes) => {
                fields.push((
                    "Content-Length".into(),
                    bytes.len().to_string().into_bytes(),
                ));
                payload.extend_from_slice(bytes);
                body.extend_from_slice(bytes);
            }
            GeneratedBody::Chunked {
                chunks,
                last_ext,
                trailers,
            } => {
                fields.push(("Transfer-Encoding".into(), b"chunked".to_vec()));
                for (data, ext) in chunks {
                    payload.extend_from_slice(format!("{:X}{ext}\r\n", data.len()).as_bytes());
                    payload.extend_from_slice(data);
                    payload.extend_from_slice(b"\r\n");
                    body.extend_from_slice(data);
                }
                payload.extend_from_slice(format!("0{last_ext}\r\n").as_bytes());
                for (n, v) in trailers {
                    payload.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                }
                payload.extend_from_slice(b"\r\n");
            }
        }
        wire.extend_from_slice(&b"\r\n".repeat(self.leading_empty_lines));
        let minor = if self.http10 { 0 } else { 1 };
        wire.extend_from_slice(
            format!("{} {} HTTP/1.{minor}\r\n", self.method, self.target).as_bytes(),
        );
        for (n, v) in &fields {
            wire.extend_from_slice(n.as_bytes());
            wire.extend_from_slice(b": ");
            wire.extend_from_slice(v);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&payload);

        let close = self.connection == Some("close");
        let keep_alive = match self.http10 {
            false => !close,
            true => self.connection.is_some() && !close,
        };
        OwnedRequest {
            method: self.method.to_owned(),
            target: self.target.clone(),
            headers: fields,
            body,
            keep_alive,
        }
    }
}

/// Cut `data` at the given places (in any order, repeats allowed).
fn cut<'a>(data: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
    at.push(0);
    at.push(data.len());
    at.sort_unstable();
    at.windows(2).map(|w| &data[w[0]..w[1]]).collect()
}

fn is_limit(e: Option<HttpError>) -> bool {
    matches!(
        e,
        Some(
            HttpError::RequestLineTooLong | HttpError::HeadersTooLarge | HttpError::TooManyHeaders
        )
    )
}

/// Bytes that mean something to the codec, so that random streams reach
/// past the request line.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(&b"GET /HTTP1.0\r\n:; =\"\\,chunkedHostContent-Length0123456789abcdefTransfer-Encoding"[..]),
        1 => any::<u8>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pipelined_requests_parse_the_same_in_any_split(
        requests in prop::collection::vec(request(), 1..6),
        cuts in prop::collection::vec(any::<Index>(), 1..8),
    ) {
        let mut wire = Vec::new();
        let expected: Vec<OwnedRequest> = requests.iter().map(|r| r.write(&mut wire)).collect();
        let limits = Limits::default();

        let whole = parse_stream([&wire[..]], &limits);
        prop_assert_eq!(&whole, &(expected, None));
        prop_assert_eq!(&parse_stream(cut(&wire, &cuts), &limits), &whole);
        prop_assert_eq!(&parse_stream(wire.chunks(1), &limits), &whole);
        check_request_stream(&wire);
    }

    #[test]
    fn damaged_streams_parse_alike_in_any_split(
        requests in prop::collection::vec(request(), 1..4),
        damage in prop::collection::vec((any::<Index>(), interesting_byte(), 0..3u8), 1..4),
        cuts in prop::collection::vec(any::<Index>(), 1..8),
    ) {
        let mut wire = Vec::new();
        for r in &requests {
            r.write(&mut wire);
        }
        for (at, byte, how) in damage {
            let i = at.index(wire.len());
            match how {
                0 => wire[i] = byte,
                1 => wire.insert(i, byte),
                _ => {
                    wire.remove(i);
                    if wire.is_empty() {
                        break;
                    }
                }
            }
        }
        let limits = Limits::default();
        let whole = parse_stream([&wire[..]], &limits);
        for other in [parse_stream(cut(&wire, &cuts), &limits), parse_stream(wire.chunks(1), &limits)] {
            prop_assert_eq!(&other.0, &whole.0);
            if !is_limit(other.1) && !is_limit(whole.1) {
                prop_assert_eq!(other.1, whole.1);
            }
        }
        check_request_stream(&wire);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        check_request_stream(&data);
    }

    #[test]
    fn arbitrary_request_like_bytes_never_panic(
        data in prop::collection::vec(interesting_byte(), 0..512),
    ) {
        check_request_stream(&data);
    }
}
