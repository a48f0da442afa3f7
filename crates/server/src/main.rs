//! `netrunner-server`: the netrunner HTTP/1.1 server.
//!
//! Parses the options of CONTRACT.md, binds, prints one `netrunner listening
//! on http://ADDR` line per listener (and `https://ADDR` for TLS), serves
//! the default application, and turns SIGINT/SIGTERM into a graceful
//! shutdown.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use netrunner_loop::{AcceptMode, Config, Server, Shutdown, Timeouts, TlsConfig, TlsListen};
use netrunner_wire::{Limits, Request, Response, DEFAULT_MAX_REQUEST_LINE};

use netrunner_server::app;
use netrunner_server::options::{self, Command, Options};

fn main() -> ExitCode {
    let opts = match options::parse(std::env::args().skip(1)) {
        Ok(Command::Serve(opts)) => opts,
        Ok(Command::Help) => {
            print!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("netrunner-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("netrunner-server: {err}");
            return ExitCode::from(2);
        }
    };
    // A certificate or key that cannot be used is an option error: exit 2,
    // naming the file, before anything listens.
    let tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => match TlsConfig::from_pem_files(cert, key) {
            Ok(config) => Some(config),
            Err(err) => {
                eprintln!("netrunner-server: --tls-cert/--tls-key: {err}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    match run(&opts, tls) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("netrunner-server: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options, tls: Option<TlsConfig>) -> Result<ExitCode, Box<dyn std::error::Error>> {
    // A handler's panic is reported by the loop, once, with its peer.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !netrunner_loop::in_handler() {
            default_hook(info);
        }
    }));
    // Catch signals before anything listens, so a signal sent as soon as
    // the listening line appears starts a shutdown instead of killing us.
    let (signal_tx, signals) = crossbeam_channel::bounded::<()>(4);
    ctrlc::set_handler(move || {
        let _ = signal_tx.try_send(());
    })?;

    let config = Config {
        addr: opts.addr,
        threads: opts.threads,
        max_connections: opts.max_connections,
        limits: Limits {
            max_request_line: DEFAULT_MAX_REQUEST_LINE.min(opts.max_header_bytes),
            max_head_bytes: opts.max_header_bytes,
            max_body_bytes: opts.max_body_bytes,
        },
        timeouts: Timeouts {
            header: opts.header_timeout,
            body: opts.body_timeout,
            idle: opts.idle_timeout,
            write: opts.write_timeout,
        },
        accept: accept_mode(),
        tls: tls.map(|config| TlsListen {
            addr: opts.tls_addr,
            config,
        }),
    };
    let server = Server::bind(config)?;
    let redirect = server.tls_addr().filter(|_| opts.redirect_https);
    let router = app::default_app(opts, redirect)?;
    let running = server.start(move |req: &Request<'_>| -> Response { router.handle(req) })?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "netrunner listening on http://{}",
        running.local_addr()
    )?;
    if let Some(tls_addr) = running.tls_addr() {
        writeln!(out, "netrunner listening on https://{tls_addr}")?;
    }
    out.flush()?;
    drop(out);

    let trigger = running.shutdown_trigger();
    let shutdown_timeout = opts.shutdown_timeout;
    std::thread::Builder::new()
        .name("netrunner-signals".into())
        .spawn(move || watch_signals(&signals, &trigger, shutdown_timeout))?;
    running.join()?;
    Ok(ExitCode::SUCCESS)
}

/// The first signal starts a graceful shutdown bounded by the shutdown
/// timeout; the second exits at once.
fn watch_signals(signals: &Receiver<()>, trigger: &Shutdown, timeout: Duration) {
    if signals.recv().is_err() {
        return;
    }
    trigger.trigger();
    let deadline = Instant::now() + timeout;
    match signals.recv_deadline(deadline) {
        Ok(()) => eprintln!("netrunner-server: second signal; exiting now"),
        Err(_) => eprintln!(
            "netrunner-server: connections still open after the shutdown timeout; closing them"
        ),
    }
    std::process::exit(1);
}

/// `NETRUNNER_ACCEPT=acceptor` selects the acceptor thread instead of one
/// `SO_REUSEPORT` listener per loop (for measuring the two).
fn accept_mode() -> AcceptMode {
    match std::env::var("NETRUNNER_ACCEPT").as_deref() {
        Ok("acceptor") => AcceptMode::Acceptor,
        _ => AcceptMode::ReusePort,
    }
}
