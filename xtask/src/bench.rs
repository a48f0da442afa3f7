//! `cargo xtask bench`: netrunner's own load benchmark. A benchmark, not a
//! test: it prints a table to read, and asserts nothing beyond one correct
//! response per scenario before loading it.
//!
//! For each scenario and run, a fresh release server starts pinned to
//! core 0 with one loop thread (`--root` is a temporary folder holding
//! `bench-4k.bin`); wrk (`-t1 -c64 --latency`) loads it from core 1: 1 s of
//! unmeasured warm-up, then the measured run. The server's CPU time
//! (utime + stime of `/proc/PID/stat`, all threads) is read just before and
//! after the measured run and divided by wrk's completed responses; peak RSS
//! is `VmHWM` at the end. With `--repeat R` the scenarios are interleaved
//! (all scenarios, run 1; all scenarios, run 2) so that a noisy minute
//! hits all of them, and every run gets its own row.
//!
//! `--compare` then runs `../shared/bench/compare` (netrunner beside its
//! peers, same pinning) with the same `--repeat` and `--duration`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::load::{self, Server, CLIENT_CORE, CONNECTIONS, SERVER_CORE};
use crate::{root, run, Result};

/// Requests per write in the `pipelined` scenario.
const PIPELINE_DEPTH: usize = 16;
/// Size of the file the `static` scenario fetches.
const STATIC_FILE_BYTES: usize = 4096;
/// Size of the body the `echo` scenario posts.
const ECHO_BODY_BYTES: usize = 1024;
/// Unmeasured load before each measured run.
const WARMUP_SECONDS: u32 = 1;

const USAGE: &str = "bench [--duration S] [--repeat R] [--compare]";

#[derive(Debug)]
struct Options {
    seconds: u32,
    repeat: u32,
    compare: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        seconds: 10,
        repeat: 1,
        compare: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut number = || -> Result<u32> {
            let value = it
                .next()
                .ok_or_else(|| format!("bench: {flag} needs a value"))?;
            match value.parse() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("bench: {flag} {value:?} is not a positive number")),
            }
        };
        match flag.as_str() {
            "--duration" => opts.seconds = number()?,
            "--repeat" => opts.repeat = number()?,
            "--compare" => opts.compare = true,
            _ => return Err(format!("bench: unknown option {flag}; usage: {USAGE}")),
        }
    }
    Ok(opts)
}

/// One way of loading the server.
#[derive(Debug)]
struct Scenario {
    name: &'static str,
    /// The path wrk requests.
    path: &'static str,
    /// wrk options besides the common ones (`-s script`, `-H header`).
    wrk_args: Vec<OsString>,
    /// Whether wrk's latency percentiles mean anything (not when pipelined:
    /// wrk times one sample per batch and then "corrects" it).
    latency: bool,
    /// The check before loading: one request and the body it must answer.
    request: Vec<u8>,
    expect_body: Vec<u8>,
}

/// The scenarios, with their wrk scripts and static file written to `dir`.
fn scenarios(dir: &Path) -> Result<Vec<Scenario>> {
    let write = |name: &str, contents: &[u8]| -> Result<PathBuf> {
        let path = dir.join(name);
        fs::write(&path, contents).map_err(|e| format!("bench: {}: {e}", path.display()))?;
        Ok(path)
    };
    let file: Vec<u8> = (0..STATIC_FILE_BYTES)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    write("bench-4k.bin", &file)?;
    let pipeline = write("pipeline.lua", pipeline_script(PIPELINE_DEPTH).as_bytes())?;
    let echo_body = "x".repeat(ECHO_BODY_BYTES);
    let echo = write("echo.lua", echo_script(&echo_body).as_bytes())?;

    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes();
    let script = |path: &Path| vec![OsString::from("-s"), path.into()];
    let hello = b"Hello, World!".to_vec();
    Ok(vec![
        Scenario {
            name: "plaintext",
            path: "/plaintext",
            wrk_args: vec![],
            latency: true,
            request: get("/plaintext"),
            expect_body: hello.clone(),
        },
        Scenario {
            name: "pipelined ×16",
            path: "/plaintext",
            wrk_args: script(&pipeline),
            latency: false,
            request: get("/plaintext"),
            expect_body: hello.clone(),
        },
        Scenario {
            name: "close",
            path: "/plaintext",
            wrk_args: vec!["-H".into(), "Connection: close".into()],
            latency: true,
            request: get("/plaintext"),
            expect_body: hello,
        },
        Scenario {
            name: "json",
            path: "/json",
            wrk_args: vec![],
            latency: true,
            request: get("/json"),
            expect_body: br#"{"message":"Hello, World!"}"#.to_vec(),
        },
        Scenario {
            name: "static 4 KiB",
            path: "/static/bench-4k.bin",
            wrk_args: vec![],
            latency: true,
            request: get("/static/bench-4k.bin"),
            expect_body: file,
        },
        Scenario {
            name: "echo 1 KiB",
            path: "/echo",
            wrk_args: script(&echo),
            latency: true,
            request: format!(
                "POST /echo HTTP/1.1\r\nHost: bench\r\n\
                 Content-Type: application/octet-stream\r\n\
                 Content-Length: {ECHO_BODY_BYTES}\r\n\r\n{echo_body}"
            )
            .into_bytes(),
            expect_body: echo_body.into_bytes(),
        },
    ])
}

/// A wrk script that writes `depth` copies of its request per batch; wrk
/// counts the responses one by one (it finds the depth by parsing what
/// `request` returns).
fn pipeline_script(depth: usize) -> String {
    format!(
        "-- {depth} requests per write (written by cargo xtask bench).\n\
         init = function(args)\n\
         \x20  local batch = {{}}\n\
         \x20  for i = 1, {depth} do\n\
         \x20     batch[i] = wrk.format()\n\
         \x20  end\n\
         \x20  req = table.concat(batch)\n\
         end\n\
         request = function()\n\
         \x20  return req\n\
         end\n"
    )
}

/// A wrk script that posts `body`; its request stays static (no Lua call
/// per request), and wrk adds the Content-Length.
fn echo_script(body: &str) -> String {
    format!(
        "-- POST /echo with a {} byte body (written by cargo xtask bench).\n\
         wrk.method = \"POST\"\n\
         wrk.body = \"{body}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n",
        body.len()
    )
}

/// One measured run.
#[derive(Debug)]
struct Row {
    scenario: usize,
    run: u32,
    outcome: Result<Measured>,
}

#[derive(Debug)]
struct Measured {
    wrk: load::WrkReport,
    cpu_us_per_req: f64,
    server_cpu_pct: f64,
    peak_rss_kib: u64,
}

pub(crate) fn bench(args: &[String]) -> Result {
    let opts = parse(args)?;
    load::ensure_wrk("bench")?;
    let bin = load::build_server()?;
    let dir = std::env::temp_dir().join(format!("netrunner-xtask-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("bench: {}: {e}", dir.display()))?;
    let result = measure_all(&bin, &dir, &opts);
    let _ = fs::remove_dir_all(&dir);
    result?;

    if opts.compare {
        compare(&opts)?;
    }
    Ok(())
}

fn measure_all(bin: &Path, dir: &Path, opts: &Options) -> Result {
    let scenarios = scenarios(dir)?;
    let ticks_per_second = load::clock_ticks_per_second();
    let mut rows = Vec::new();
    for run in 1..=opts.repeat {
        for (i, scenario) in scenarios.iter().enumerate() {
            eprintln!(
                "==> bench: {} (run {run}/{}, {} s)",
                scenario.name, opts.repeat, opts.seconds
            );
            let outcome = measure(bin, dir, scenario, opts.seconds, ticks_per_second);
            if let Err(e) = &outcome {
                eprintln!("bench: {}: {e}", scenario.name);
            }
            rows.push(Row {
                scenario: i,
                run,
                outcome,
            });
        }
    }
    rows.sort_by_key(|r| (r.scenario, r.run));
    print_table(&scenarios, &rows, opts);
    let failed = rows.iter().filter(|r| r.outcome.is_err()).count();
    if failed > 0 {
        return Err(format!("bench: {failed} run(s) failed"));
    }
    Ok(())
}

fn measure(
    bin: &Path,
    dir: &Path,
    scenario: &Scenario,
    seconds: u32,
    ticks_per_second: u64,
) -> Result<Measured> {
    let server = Server::start(bin, &[OsStr::new("--root"), dir.as_os_str()])?;
    check(server.addr(), scenario)?;
    let url = format!("http://{}{}", server.addr(), scenario.path);
    let wrk_args: Vec<&OsStr> = scenario.wrk_args.iter().map(OsString::as_os_str).collect();
    load::wrk(&url, WARMUP_SECONDS, &wrk_args)?;

    let before = server.cpu_ticks()?;
    let wrk = load::wrk(&url, seconds, &wrk_args)?;
    let after = server.cpu_ticks()?;
    let peak_rss_kib = server.peak_rss_kib()?;

    let cpu_seconds = (after - before) as f64 / ticks_per_second as f64;
    Ok(Measured {
        cpu_us_per_req: cpu_seconds * 1e6 / wrk.requests.max(1) as f64,
        server_cpu_pct: 100.0 * cpu_seconds / wrk.elapsed.as_secs_f64(),
        peak_rss_kib,
        wrk,
    })
}

/// Send the scenario's request on a fresh connection and read one
/// response: it must be `200` with the expected body, so that a 404 or a
/// wrong answer is never benchmarked.
fn check(addr: SocketAddr, scenario: &Scenario) -> Result {
    let fail = |why: String| format!("check of {}: {why}", scenario.name);
    let mut stream = TcpStream::connect(addr).map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| fail(e.to_string()))?;
    stream
        .write_all(&scenario.request)
        .map_err(|e| fail(e.to_string()))?;
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    // Read until the head is in and the body is as long as expected.
    loop {
        if let Some(end) = find(&response, b"\r\n\r\n") {
            if response.len() >= end + 4 + scenario.expect_body.len() {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    let text = String::from_utf8_lossy(&response);
    if !response.starts_with(b"HTTP/1.1 200 ") {
        let first = text.lines().next().unwrap_or("");
        return Err(fail(format!("answered {first:?}")));
    }
    let body = find(&response, b"\r\n\r\n").map_or(&[][..], |end| &response[end + 4..]);
    if body != scenario.expect_body {
        return Err(fail(format!(
            "unexpected body of {} bytes (wanted {})",
            body.len(),
            scenario.expect_body.len()
        )));
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn print_table(scenarios: &[Scenario], rows: &[Row], opts: &Options) {
    println!(
        "\nnetrunner-server --threads 1 on core {SERVER_CORE}; \
         wrk -t1 -c{CONNECTIONS} -d{}s on core {CLIENT_CORE}; \
         {WARMUP_SECONDS} s warm-up per run\n",
        opts.seconds
    );
    println!(
        "| scenario | run | requests/s | p50 | p99 | CPU µs/req | server CPU | peak RSS | errors |"
    );
    println!("| --- | --: | --: | --: | --: | --: | --: | --: | --- |");
    for row in rows {
        let scenario = &scenarios[row.scenario];
        match &row.outcome {
            Ok(m) => {
                let (p50, p99) = if scenario.latency {
                    (m.wrk.p50.as_str(), m.wrk.p99.as_str())
                } else {
                    ("n/a", "n/a")
                };
                println!(
                    "| {} | {} | {:.0} | {p50} | {p99} | {:.2} | {:.0} % | {:.1} MiB | {} |",
                    scenario.name,
                    row.run,
                    m.wrk.rps,
                    m.cpu_us_per_req,
                    m.server_cpu_pct,
                    m.peak_rss_kib as f64 / 1024.0,
                    m.wrk.errors
                );
            }
            Err(e) => println!(
                "| {} | {} | FAILED: {} | | | | | | |",
                scenario.name,
                row.run,
                e.replace('\n', " ").replace('|', "/")
            ),
        }
    }
}

/// Run the shared comparison harness with netrunner beside its peers.
fn compare(opts: &Options) -> Result {
    let script = root().join("../shared/bench/compare");
    if !script.exists() {
        return Err(format!("bench --compare: {} is missing", script.display()));
    }
    let mut cmd = Command::new(&script);
    cmd.current_dir(root())
        .arg("--netrunner")
        .arg("target/release/netrunner-server --addr {addr} --threads {threads}")
        .arg("--repeat")
        .arg(opts.repeat.to_string())
        .arg("--duration")
        .arg(opts.seconds.to_string());
    run("../shared/bench/compare (netrunner beside its peers)", cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let o = parse(&args("")).unwrap();
        assert_eq!((o.seconds, o.repeat, o.compare), (10, 1, false));
        let o = parse(&args("--duration 5 --repeat 3 --compare")).unwrap();
        assert_eq!((o.seconds, o.repeat, o.compare), (5, 3, true));
        assert!(parse(&args("--duration")).is_err());
        assert!(parse(&args("--repeat 0")).is_err());
        assert!(parse(&args("--fast")).is_err());
    }

    #[test]
    fn pipeline_script_batches_requests() {
        let script = pipeline_script(16);
        assert!(script.contains("for i = 1, 16 do"));
        assert!(script.contains("request = function()"));
    }
}
