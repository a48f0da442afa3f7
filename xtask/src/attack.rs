//! `cargo xtask slowloris`: what 1,000 slowloris connections cost a normal
//! load. A benchmark, not a test: it prints a table to read, and asserts
//! nothing.
//!
//! The release server runs pinned to core 0 with one loop thread; wrk runs
//! on core 1 (`taskset`), once with no attack and once while this process
//! holds N connections that each send one byte of a never-ending request
//! head per second (reconnecting when the server cuts them at its header
//! timeout). Runs alternate, `--repeat` times.

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{load, Result};

struct Options {
    conns: usize,
    seconds: u32,
    repeat: u32,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        conns: 1000,
        seconds: 8,
        repeat: 2,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("slowloris: {flag} needs a value"))?;
        let n: u32 = value
            .parse()
            .map_err(|_| format!("slowloris: {flag} {value:?} is not a number"))?;
        match flag.as_str() {
            "--conns" => opts.conns = n as usize,
            "--duration" => opts.seconds = n,
            "--repeat" => opts.repeat = n,
            _ => return Err(format!("slowloris: unknown option {flag}")),
        }
    }
    Ok(opts)
}

pub(crate) fn slowloris(args: &[String]) -> Result {
    let opts = parse(args)?;
    load::ensure_wrk("slowloris")?;
    let bin = load::build_server()?;
    let server = load::Server::start(&bin, &[]).map_err(|e| format!("slowloris: {e}"))?;
    measure(&server, &opts).map_err(|e| format!("slowloris: {e}"))
}

fn measure(server: &load::Server, opts: &Options) -> Result {
    let addr = server.addr();
    let url = format!("http://{addr}/plaintext");
    load::wrk(&url, 1, &[])?; // warm-up

    let mut rows = Vec::new();
    for run in 1..=opts.repeat {
        rows.push(("none".to_owned(), run, load::wrk(&url, opts.seconds, &[])?));
        let attack = Attack::start(addr, opts.conns);
        attack.wait_until_open(Duration::from_secs(30));
        let open = attack.open.load(Ordering::Relaxed);
        let result = load::wrk(&url, opts.seconds, &[])?;
        let open_after = attack.open.load(Ordering::Relaxed);
        let cut = attack.cut.load(Ordering::Relaxed);
        attack.stop();
        rows.push((
            format!(
                "{} slowloris (open {open}..{open_after}, cut {cut})",
                opts.conns
            ),
            run,
            result,
        ));
    }
    println!("\n| attack | run | requests/s | p50 | p99 | errors |");
    println!("| --- | --: | --: | --: | --: | --- |");
    for (attack, run, r) in rows {
        println!(
            "| {attack} | {run} | {:.0} | {} | {} | {} |",
            r.rps, r.p50, r.p99, r.errors
        );
    }
    Ok(())
}

/// N connections that each send one more byte of an endless head every
/// second, reconnecting when the server closes them.
struct Attack {
    stop: Arc<AtomicBool>,
    open: Arc<AtomicUsize>,
    cut: Arc<AtomicUsize>,
    thread: thread::JoinHandle<()>,
}

impl Attack {
    fn start(addr: SocketAddr, conns: usize) -> Attack {
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicUsize::new(0));
        let cut = Arc::new(AtomicUsize::new(0));
        let (s, o, c) = (Arc::clone(&stop), Arc::clone(&open), Arc::clone(&cut));
        let thread = thread::spawn(move || attack(addr, conns, &s, &o, &c));
        Attack {
            stop,
            open,
            cut,
            thread,
        }
    }

    fn wait_until_open(&self, limit: Duration) {
        let start = Instant::now();
        while self.open.load(Ordering::Relaxed) == 0 && start.elapsed() < limit {
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

const HEAD: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Slow: ";

fn attack(addr: SocketAddr, n: usize, stop: &AtomicBool, open: &AtomicUsize, cut: &AtomicUsize) {
    let mut conns: Vec<Option<(TcpStream, usize)>> = (0..n).map(|_| None).collect();
    while !stop.load(Ordering::Relaxed) {
        let tick = Instant::now();
        for slot in conns.iter_mut() {
            if slot.is_none() {
                if let Ok(stream) = TcpStream::connect(addr) {
                    let _ = stream.set_nonblocking(true);
                    *slot = Some((stream, 0));
                }
            }
            let Some((stream, sent)) = slot else {
                continue;
            };
            let byte = HEAD.get(*sent).copied().unwrap_or(b'a');
            let alive = match stream.write(&[byte]) {
                Ok(_) => {
                    *sent += 1;
                    true
                }
                Err(e) => e.kind() == ErrorKind::WouldBlock,
            };
            if !alive {
                *slot = None;
                cut.fetch_add(1, Ordering::Relaxed);
            }
        }
        open.store(
            conns.iter().filter(|c| c.is_some()).count(),
            Ordering::Relaxed,
        );
        let elapsed = tick.elapsed();
        if elapsed < Duration::from_secs(1) {
            thread::sleep(Duration::from_secs(1) - elapsed);
        }
    }
}
