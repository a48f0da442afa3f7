//! The server as a real client sees it: `curl` against the binary.
//!
//! Each test returns early (with a note on stderr) when `curl` is not on
//! PATH; CI installs it, so there they always run.

use std::process::{Command, Output};

use crate::util::{Server, TempDir};

/// Runs `curl` with `args` (bounded by `--max-time`), or `None` if there is no curl.
pub(crate) fn curl(args: &[&str]) -> Option<Output> {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--noproxy",
            "*",
            "--max-time",
            "10",
        ])
        .args(args)
        .output();
    match out {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("curl not found on PATH: skipping");
            None
        }
        Err(e) => panic!("running curl: {e}"),
    }
}

/// Runs `curl`, expects success, and returns its stdout as text.
#[track_caller]
pub(crate) fn curl_ok(args: &[&str]) -> Option<String> {
    let out = curl(args)?;
    assert!(
        out.status.success(),
        "curl {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("UTF-8 curl output"))
}

/// Splits `curl -i` output into the last response's status line, headers and body.
pub(crate) fn split_included(out: &str) -> (&str, Vec<(String, String)>, &str) {
    let mut rest = out;
    loop {
        let (head, body) = rest.split_once("\r\n\r\n").expect("curl -i head");
        // `curl -i` also prints interim 1xx responses.
        if head.starts_with("HTTP/1.1 1") && !body.is_empty() {
            rest = body;
            continue;
        }
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        return (status, headers, body);
    }
}

/// A 200 KB chunked upload to the echo route `url` (curl with `extra`
/// arguments first, e.g. TLS trust), written to a file: it must come back
/// byte for byte. `None` when there is no curl.
pub(crate) fn chunked_upload_echoes(extra: &[&str], url: &str) -> Option<()> {
    let dir = TempDir::new();
    let data: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let input = dir.write("upload.bin", &data);
    let output = dir.path().join("download.bin");
    let upload = format!("@{}", input.display());
    let mut args = extra.to_vec();
    args.extend([
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &upload,
        "-o",
        output.to_str().expect("UTF-8 temp path"),
        "-w",
        "%{http_code}",
        url,
    ]);
    assert_eq!(curl_ok(&args)?, "200");
    let echoed = std::fs::read(&output).expect("curl output file");
    assert!(
        echoed == data,
        "echoed {} bytes of {}",
        echoed.len(),
        data.len()
    );
    Some(())
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn curl_get() {
    let s = Server::start(&[]);
    let url = format!("http://{}/", s.addr());
    let Some(out) = curl_ok(&["-i", &url]) else {
        return;
    };
    let (status, headers, body) = split_included(&out);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&headers, "content-length"), Some("21"));
    assert_eq!(body, "Welcome to Netrunner!");
}

#[test]
fn curl_head() {
    let s = Server::start(&[]);
    let url = format!("http://{}/hello", s.addr());
    let Some(out) = curl_ok(&["-I", &url]) else {
        return;
    };
    let (status, headers, body) = split_included(&out);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-length"), Some("17"));
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(header(&headers, "date").is_some(), "{out}");
    assert_eq!(body, "");
}

#[test]
fn curl_post_echo() {
    let s = Server::start(&[]);
    let url = format!("http://{}/echo", s.addr());
    let args = [
        "-i",
        "-H",
        "Content-Type: text/x-curl",
        "--data-binary",
        "hello from curl",
        &url,
    ];
    let Some(out) = curl_ok(&args) else { return };
    let (status, headers, body) = split_included(&out);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-type"), Some("text/x-curl"));
    assert_eq!(body, "hello from curl");
}

#[test]
fn curl_chunked_upload_echo() {
    let s = Server::start(&[]);
    chunked_upload_echoes(&[], &format!("http://{}/echo", s.addr()));
}

#[test]
fn curl_keep_alive_reuses_the_connection() {
    let s = Server::start(&[]);
    let a = format!("http://{}/hello/a", s.addr());
    let b = format!("http://{}/hello/b", s.addr());
    // `num_connects` counts new connections per transfer: 0 when reused.
    let Some(out) = curl_ok(&["-w", " %{num_connects}\n", &a, &b]) else {
        return;
    };
    assert_eq!(out, "Hello, a! 1\nHello, b! 0\n");
}
