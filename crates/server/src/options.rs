//! Command-line options of CONTRACT.md: parsed, validated, one-line errors.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use netrunner_loop::DEFAULT_MAX_CONNECTIONS;
use netrunner_wire::{DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEAD_BYTES};

/// Every option of the server, with its default.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub addr: SocketAddr,
    pub root: PathBuf,
    pub threads: usize,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub max_body_bytes: u64,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_addr: SocketAddr,
    pub redirect_https: bool,
    pub access_log: bool,
    pub cors_origins: Vec<String>,
    pub rate_limit: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            root: PathBuf::from("./public"),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            tls_cert: None,
            tls_key: None,
            tls_addr: SocketAddr::from(([127, 0, 0, 1], 8443)),
            redirect_https: false,
            access_log: false,
            cors_origins: Vec::new(),
            rate_limit: None,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Serve(Box<Options>),
    Help,
    Version,
}

/// A bad option or value: printed as one line, exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError(String);

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(option: &str, value: &str, why: &str) -> OptionError {
    OptionError(format!("invalid value {value:?} for {option}: {why}"))
}

pub const USAGE: &str = "\
Usage: netrunner-server [OPTIONS]

Options:
  --addr ADDR               HTTP listen address [default: 127.0.0.1:8080]
  --root DIR                directory served under /static/ [default: ./public]
  --threads N               event-loop threads [default: number of CPUs]
  --max-connections N       open connections at most [default: 10000]
  --max-header-bytes N      request line + headers [default: 65536]
  --max-body-bytes N        request body [default: 8388608]
  --header-timeout DUR      time to receive a request head [default: 10s]
  --body-timeout DUR        longest wait for more body bytes [default: 30s]
  --idle-timeout DUR        idle keep-alive connection [default: 60s]
  --write-timeout DUR       longest a response may stay unread [default: 30s]
  --shutdown-timeout DUR    graceful drain limit [default: 30s]
  --tls-cert FILE           certificate chain (PEM) for HTTPS
  --tls-key FILE            private key (PEM) for HTTPS
  --tls-addr ADDR           HTTPS listen address [default: 127.0.0.1:8443]
  --redirect-https          with TLS on, redirect plain HTTP to HTTPS
  --access-log              one line per request on stdout
  --cors-origin ORIGIN      allow cross-origin requests (repeatable, * for any)
  --rate-limit N/s          per client IP token bucket
  -h, --help                print this help
  -V, --version             print the version

Durations take a number and a unit: 250ms, 2s, 1m.
";

/// Parse the arguments after the program name.
pub fn parse<I>(args: I) -> Result<Command, OptionError>
where
    I: IntoIterator<Item = String>,
{
    let mut opts = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let flag = |inline: &Option<String>| match inline {
            Some(_) => Err(OptionError(format!("{name} takes no value"))),
            None => Ok(true),
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--redirect-https" => opts.redirect_https = flag(&inline)?,
            "--access-log" => opts.access_log = flag(&inline)?,
            _ => {
                let value = match inline {
                    Some(v) => v,
                    None => args
                        .next()
                        .ok_or_else(|| OptionError(format!("{name} needs a value")))?,
                };
                set(&mut opts, &name, &value)?;
            }
        }
    }
    validate(&opts)?;
    Ok(Command::Serve(Box::new(opts)))
}

fn set(opts: &mut Options, name: &str, value: &str) -> Result<(), OptionError> {
    match name {
        "--addr" => opts.addr = addr(name, value)?,
        "--tls-addr" => opts.tls_addr = addr(name, value)?,
        "--root" => opts.root = path(name, value)?,
        "--tls-cert" => opts.tls_cert = Some(path(name, value)?),
        "--tls-key" => opts.tls_key = Some(path(name, value)?),
        "--threads" => opts.threads = count(name, value, 1, 1024)? as usize,
        "--max-connections" => opts.max_connections = count(name, value, 1, 10_000_000)? as usize,
        "--max-header-bytes" => opts.max_header_bytes = count(name, value, 64, 1 << 24)? as usize,
        "--max-body-bytes" => opts.max_body_bytes = count(name, value, 0, 1 << 40)?,
        "--header-timeout" => opts.header_timeout = duration(name, value)?,
        "--body-timeout" => opts.body_timeout = duration(name, value)?,
        "--idle-timeout" => opts.idle_timeout = duration(name, value)?,
        "--write-timeout" => opts.write_timeout = duration(name, value)?,
        "--shutdown-timeout" => opts.shutdown_timeout = duration(name, value)?,
        "--cors-origin" => opts.cors_origins.push(origin(name, value)?),
        "--rate-limit" => opts.rate_limit = Some(rate(name, value)?),
        _ => return Err(OptionError(format!("unknown option {name:?} (see --help)"))),
    }
    Ok(())
}

fn validate(opts: &Options) -> Result<(), OptionError> {
    match (&opts.tls_cert, &opts.tls_key) {
        (Some(_), None) => return Err(OptionError("--tls-cert needs --tls-key".into())),
        (None, Some(_)) => return Err(OptionError("--tls-key needs --tls-cert".into())),
        (Some(_), Some(_)) | (None, None) => {}
    }
    if opts.redirect_https && opts.tls_cert.is_none() {
        return Err(OptionError(
            "--redirect-https needs --tls-cert and --tls-key".into(),
        ));
    }
    Ok(())
}

fn addr(name: &str, value: &str) -> Result<SocketAddr, OptionError> {
    value
        .parse()
        .map_err(|_| bad(name, value, "expected IP:PORT, such as 127.0.0.1:8080"))
}

fn path(name: &str, value: &str) -> Result<PathBuf, OptionError> {
    if value.is_empty() {
        return Err(bad(name, value, "expected a path"));
    }
    Ok(PathBuf::from(value))
}

fn count(name: &str, value: &str, min: u64, max: u64) -> Result<u64, OptionError> {
    let n: u64 = value
        .parse()
        .map_err(|_| bad(name, value, "expected a whole number"))?;
    if n < min || n > max {
        return Err(bad(name, value, &format!("expected {min} to {max}")));
    }
    Ok(n)
}

/// The longest timeout accepted: one day.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// `250ms`, `2s`, `1m`: a number and a unit.
pub fn duration(name: &str, value: &str) -> Result<Duration, OptionError> {
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let expected = "expected a number and a unit (ms, s, m), such as 250ms or 2s";
    let n: u64 = digits.parse().map_err(|_| bad(name, value, expected))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad(name, value, expected)),
    };
    if d.is_zero() {
        return Err(bad(name, value, "must be more than zero"));
    }
    if d > MAX_DURATION {
        return Err(bad(name, value, "must be at most 1440m (one day)"));
    }
    Ok(d)
}

fn origin(name: &str, value: &str) -> Result<String, OptionError> {
    let ok = value == "*"
        || ((value.starts_with("http://") || value.starts_with("https://"))
            && !value.ends_with('/')
            && value.len() > "https://".len()
            && value.bytes().all(|b| b.is_ascii_graphic()));
    if !ok {
        return Err(bad(
            name,
            value,
            "expected * or an origin such as https://example.com",
        ));
    }
    Ok(value.to_owned())
}

fn rate(name: &str, value: &str) -> Result<u32, OptionError> {
    let n = value
        .strip_suffix("/s")
        .ok_or_else(|| bad(name, value, "expected requests per second, such as 100/s"))?;
    let n: u32 = n
        .parse()
        .map_err(|_| bad(name, value, "expected requests per second, such as 100/s"))?;
    if n == 0 {
        return Err(bad(name, value, "must be more than zero"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, OptionError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    fn serve(args: &[&str]) -> Options {
        match parse_args(args) {
            Ok(Command::Serve(opts)) => *opts,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = serve(&[]);
        assert_eq!(o.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(o.root, PathBuf::from("./public"));
        assert_eq!(o.max_connections, 10_000);
        assert_eq!(o.max_header_bytes, 65_536);
        assert_eq!(o.max_body_bytes, 8_388_608);
        assert_eq!(o.header_timeout, Duration::from_secs(10));
        assert_eq!(o.body_timeout, Duration::from_secs(30));
        assert_eq!(o.idle_timeout, Duration::from_secs(60));
        assert_eq!(o.write_timeout, Duration::from_secs(30));
        assert_eq!(o.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(o.tls_addr, "127.0.0.1:8443".parse().unwrap());
        assert!(o.threads >= 1);
    }

    #[test]
    fn values() {
        let o = serve(&[
            "--addr",
            "127.0.0.1:0",
            "--threads",
            "3",
            "--header-timeout",
            "250ms",
            "--idle-timeout=1m",
            "--max-body-bytes",
            "10",
            "--access-log",
            "--cors-origin",
            "*",
            "--cors-origin",
            "https://a.example",
            "--rate-limit",
            "100/s",
            "--root",
            "/tmp",
        ]);
        assert_eq!(o.addr.port(), 0);
        assert_eq!(o.threads, 3);
        assert_eq!(o.header_timeout, Duration::from_millis(250));
        assert_eq!(o.idle_timeout, Duration::from_secs(60));
        assert_eq!(o.max_body_bytes, 10);
        assert!(o.access_log);
        assert_eq!(o.cors_origins, vec!["*", "https://a.example"]);
        assert_eq!(o.rate_limit, Some(100));
        assert_eq!(o.root, PathBuf::from("/tmp"));
    }

    #[test]
    fn errors_name_the_option() {
        for (args, needle) in [
            (&["--addr", "nope"][..], "--addr"),
            (&["--threads", "0"][..], "--threads"),
            (&["--threads", "x"][..], "--threads"),
            (&["--header-timeout", "10"][..], "--header-timeout"),
            (&["--header-timeout", "5h"][..], "--header-timeout"),
            (&["--idle-timeout", "0s"][..], "--idle-timeout"),
            (
                &["--header-timeout", "18446744073709551615s"][..],
                "--header-timeout",
            ),
            (
                &["--idle-timeout", "999999999999999999m"][..],
                "--idle-timeout",
            ),
            (&["--shutdown-timeout", "1441m"][..], "--shutdown-timeout"),
            (&["--max-connections", "-1"][..], "--max-connections"),
            (&["--rate-limit", "10"][..], "--rate-limit"),
            (&["--cors-origin", "example.com"][..], "--cors-origin"),
            (&["--bogus"][..], "--bogus"),
            (&["--addr"][..], "--addr"),
            (&["--access-log=yes"][..], "--access-log"),
            (&["--tls-cert", "c.pem"][..], "--tls-cert"),
            (&["--tls-key", "k.pem"][..], "--tls-key"),
            (&["--redirect-https"][..], "--redirect-https"),
        ] {
            let err = parse_args(args).expect_err(&format!("{args:?}"));
            assert!(err.to_string().contains(needle), "{args:?}: {err}");
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_args(&["--help"]), Ok(Command::Help));
        assert_eq!(parse_args(&["-V"]), Ok(Command::Version));
    }
}
