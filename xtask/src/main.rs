//! `cargo xtask`: the project's own tasks, as one binary.
//!
//! - `ci`: everything CI checks, in order (fmt, clippy, tests, docs, tidy,
//!   end-to-end tests against the built binary);
//! - `tidy`: the code invariants of docs/ARCHITECTURE.md, checked by text;
//! - `fuzz [SECONDS]`: run each netrunner-wire fuzz target (needs
//!   `cargo fuzz` and a nightly toolchain);
//! - `bench [--duration S] [--repeat R] [--compare]`: wrk load on the
//!   release server, one Markdown table (a benchmark; `--compare` adds the
//!   shared harness that runs the peers beside it);
//! - `slowloris [--conns N] [--duration S] [--repeat R]`: wrk load with and
//!   without N slowloris connections held open (a benchmark);
//! - `cert [DIR]`: a self-signed development certificate and key for
//!   localhost, `DIR/cert.pem` and `DIR/key.pem` (default `dev-cert/`).

mod attack;
mod bench;
mod cert;
mod load;
mod tidy;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("tidy") => tidy::check(&root()).map_err(|errors| errors.join("\n")),
        Some("fuzz") => fuzz(args.get(1).map(String::as_str).unwrap_or("60")),
        Some("bench") => bench::bench(&args[1..]),
        Some("slowloris") => attack::slowloris(&args[1..]),
        Some("cert") => cert::write(args.get(1).map(String::as_str).unwrap_or("dev-cert")),
        _ => Err("usage: cargo xtask <ci | tidy | fuzz [SECONDS] \
             | bench [--duration S] [--repeat R] [--compare] \
             | slowloris [--conns N] [--duration S] [--repeat R] | cert [DIR]>"
            .to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(step: &str, mut cmd: Command) -> Result {
    eprintln!("\n==> {step}");
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step}: failed ({status})"))
    }
}

fn ci() -> Result {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run("cargo fmt --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run("cargo clippy -D warnings", clippy)?;

    let mut test = cargo();
    test.args(["test", "--workspace", "--exclude", "netrunner-tests"]);
    run("cargo test (every crate alone)", test)?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run("cargo doc -D warnings", doc)?;

    eprintln!("\n==> tidy");
    tidy::check(&root()).map_err(|errors| errors.join("\n"))?;

    let mut build = cargo();
    build.args(["build", "--release", "-p", "netrunner-server"]);
    run("cargo build --release -p netrunner-server", build)?;

    let bin = root().join("target/release/netrunner-server");
    let mut e2e = cargo();
    e2e.args(["test", "-p", "netrunner-tests"])
        .env("NETRUNNER_BIN", &bin);
    run("end-to-end tests against the release binary", e2e)?;

    eprintln!("\nxtask ci: all green");
    Ok(())
}

fn fuzz(seconds: &str) -> Result {
    let seconds: u32 = seconds
        .parse()
        .map_err(|_| format!("fuzz: {seconds:?} is not a number of seconds"))?;
    let dir = root().join("crates/wire/fuzz");
    // libFuzzer writes what it finds into the first corpus directory; keep
    // that out of the checked-in seeds.
    std::fs::create_dir_all(dir.join("corpus/request"))
        .map_err(|e| format!("fuzz: cannot create the corpus directory: {e}"))?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&dir).args([
        "+nightly",
        "fuzz",
        "run",
        "request",
        "corpus/request",
        "seeds/request",
        "--",
        &format!("-max_total_time={seconds}"),
    ]);
    run("cargo fuzz run request", cmd)
}
