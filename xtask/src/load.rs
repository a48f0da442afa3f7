//! What the load benchmarks (`bench`, `slowloris`) share: the release
//! server pinned to one core, wrk pinned to another, and what `/proc` says
//! about the server.
//!
//! The server runs with one loop thread on core [`SERVER_CORE`]; wrk runs
//! with one thread and [`CONNECTIONS`] connections on core [`CLIENT_CORE`],
//! so the two never share a CPU on a 2-core machine.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{cargo, root, run, Result};

/// The core the server is pinned to.
pub(crate) const SERVER_CORE: &str = "0";
/// The core wrk is pinned to.
pub(crate) const CLIENT_CORE: &str = "1";
/// wrk's connections (`-c`), all on one wrk thread (`-t1`).
pub(crate) const CONNECTIONS: u32 = 64;

/// Make sure wrk can be run: install it with apt-get when it is missing and
/// this process is root, fail with a message otherwise.
pub(crate) fn ensure_wrk(task: &str) -> Result {
    if wrk_installed() {
        return Ok(());
    }
    if !is_root() {
        return Err(format!(
            "{task}: wrk is not installed; run `apt-get install wrk` as root"
        ));
    }
    let install = || {
        let mut cmd = Command::new("apt-get");
        cmd.args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    if run("apt-get install -y wrk", install()).is_err() {
        // A fresh container often has no package lists yet.
        run("apt-get update", {
            let mut cmd = Command::new("apt-get");
            cmd.arg("update");
            cmd
        })?;
        run("apt-get install -y wrk", install())?;
    }
    if wrk_installed() {
        Ok(())
    } else {
        Err(format!(
            "{task}: wrk is still missing after apt-get install"
        ))
    }
}

fn wrk_installed() -> bool {
    // `wrk --version` exits 1 even when it works; only "not found" counts.
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Whether the effective user id is 0, from `/proc/self/status`.
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            // Real, effective, saved, filesystem.
            line.split_whitespace().nth(2).map(|uid| uid == "0")
        })
        .unwrap_or(false)
}

/// Build the release server; its path.
pub(crate) fn build_server() -> Result<PathBuf> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "netrunner-server"]);
    run("cargo build --release -p netrunner-server", build)?;
    Ok(root().join("target/release/netrunner-server"))
}

/// A running release server, pinned to [`SERVER_CORE`] with one thread.
/// Dropping it kills it.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Start `bin` on a free port of 127.0.0.1 with `extra` options, and
    /// wait for its `netrunner listening on http://ADDR` line.
    pub(crate) fn start(bin: &Path, extra: &[&OsStr]) -> Result<Server> {
        let mut child = Command::new("taskset")
            .args(["-c", SERVER_CORE])
            .arg(bin)
            .args(["--addr", "127.0.0.1:0", "--threads", "1"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        // `taskset` execs the server, so the child's pid is the server's.
        match listening_addr(&mut child) {
            Ok(addr) => Ok(Server { child, addr }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CPU time it has used, all threads, user and system, in clock
    /// ticks (`/proc/PID/stat` fields 14 and 15).
    pub(crate) fn cpu_ticks(&self) -> Result<u64> {
        let path = format!("/proc/{}/stat", self.child.id());
        let stat = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        // The command name, field 2, is in parentheses and may hold spaces:
        // count fields from the last `)`, where field 3 (the state) follows.
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| format!("{path}: no `)` in {stat:?}"))?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let field = |n: usize| -> Result<u64> {
            fields
                .get(n - 3)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| format!("{path}: no field {n} in {stat:?}"))
        };
        Ok(field(14)? + field(15)?)
    }

    /// Its peak resident set size in KiB (`VmHWM` in `/proc/PID/status`).
    pub(crate) fn peak_rss_kib(&self) -> Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .ok_or_else(|| format!("{path}: no VmHWM"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Read the server's first stdout line for its address, then keep draining
/// its stdout so that it never writes into a closed or full pipe.
fn listening_addr(child: &mut Child) -> Result<SocketAddr> {
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("reading the server's listening line: {e}"))?;
    thread::spawn(move || io::copy(&mut reader, &mut io::sink()));
    line.trim()
        .strip_prefix("netrunner listening on http://")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 when that fails).
pub(crate) fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// What one wrk run reported.
#[derive(Debug)]
pub(crate) struct WrkReport {
    /// Responses completed.
    pub(crate) requests: u64,
    /// Responses per second, as wrk computed it.
    pub(crate) rps: f64,
    /// The 50th percentile of latency, as wrk prints it (`1.23ms`).
    pub(crate) p50: String,
    /// The 99th percentile.
    pub(crate) p99: String,
    /// Socket errors and non-2xx/3xx responses, or `none`.
    pub(crate) errors: String,
    /// Wall time of the wrk process.
    pub(crate) elapsed: Duration,
}

/// Run `taskset -c CLIENT_CORE wrk -t1 -c64 -dSs --latency EXTRA URL`.
pub(crate) fn wrk(url: &str, seconds: u32, extra: &[&OsStr]) -> Result<WrkReport> {
    let start = Instant::now();
    let out = Command::new("taskset")
        .args(["-c", CLIENT_CORE, "wrk", "-t1", "--latency"])
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .args(extra)
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let elapsed = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {}{}",
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_wrk(&text, elapsed)
        .ok_or_else(|| format!("cannot read wrk's report:\n{}", text.trim_end()))
}

fn parse_wrk(text: &str, elapsed: Duration) -> Option<WrkReport> {
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    // `  123456 requests in 10.00s, 15.23MB read`
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())?;
    let errors = text
        .lines()
        .filter(|l| l.contains("errors") || l.contains("Non-2xx"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Some(WrkReport {
        requests,
        rps: field("Requests/sec:")?.parse().ok()?,
        p50: field("50%").unwrap_or_else(|| "?".into()),
        p99: field("99%").unwrap_or_else(|| "?".into()),
        errors: if errors.is_empty() {
            "none".into()
        } else {
            errors
        },
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let text = "Running 5s test @ http://127.0.0.1:4000/plaintext
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.33us  120.10us   4.20ms   90.00%
    Req/Sec    78.50k     2.10k   80.00k    70.00%
  Latency Distribution
     50%  800.00us
     75%  850.00us
     90%  900.00us
     99%    1.20ms
  390123 requests in 5.00s, 45.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 0
Requests/sec:  78024.60
Transfer/sec:      9.00MB
";
        let r = parse_wrk(text, Duration::from_secs(5)).expect("a report");
        assert_eq!(r.requests, 390_123);
        assert!((r.rps - 78_024.6).abs() < 1e-6);
        assert_eq!(r.p50, "800.00us");
        assert_eq!(r.p99, "1.20ms");
        assert_eq!(
            r.errors,
            "Socket errors: connect 0, read 3, write 0, timeout 0"
        );
    }
}
