//! Command-line options (CONTRACT.md, "Starting and stopping"): bad values
//! exit 2 with one line naming the option; the listening line shows the port.

use crate::util::{start_expect_exit, Server};

/// `args` must exit with status 2 and one stderr line that names `option`.
#[track_caller]
pub(crate) fn check_rejected(args: &[&str], option: &str) {
    let exit = start_expect_exit(args);
    assert_eq!(exit.code, Some(2), "{args:?}: {exit:#?}");
    let stderr = exit.stderr.trim_end_matches('\n');
    assert!(
        !stderr.is_empty() && !stderr.contains('\n'),
        "{args:?}: one line: {stderr:?}"
    );
    assert!(
        stderr.contains(option),
        "{args:?}: names {option}: {stderr:?}"
    );
    assert!(!exit.stdout.contains("listening"), "{args:?}: {exit:#?}");
}

#[test]
fn bad_values_exit_2_naming_the_option() {
    for (args, option) in [
        (&["--threads", "0"][..], "--threads"),
        (&["--addr", "nope"][..], "--addr"),
        (&["--header-timeout", "10"][..], "--header-timeout"),
        (&["--bogus"][..], "--bogus"),
        (&["--rate-limit", "x"][..], "--rate-limit"),
        (&["--max-body-bytes", "-1"][..], "--max-body-bytes"),
        (&["--idle-timeout", "5h"][..], "--idle-timeout"),
        (&["--root"][..], "--root"),
    ] {
        check_rejected(args, option);
    }
}

#[test]
fn help_exits_0() {
    let exit = start_expect_exit(&["--help"]);
    assert_eq!(exit.code, Some(0), "{exit:#?}");
    assert!(exit.stdout.contains("--addr"), "{exit:#?}");
    assert!(exit.stdout.contains("--max-body-bytes"), "{exit:#?}");
}

#[test]
fn listening_line_shows_the_real_port() {
    let s = Server::start(&[]);
    assert_ne!(s.addr().port(), 0);
    assert!(s.addr().ip().is_loopback(), "{}", s.addr());
    assert_eq!(s.get("/healthz").status, 200);
}

#[test]
fn duration_units_are_accepted() {
    let s = Server::start(&[
        "--header-timeout",
        "250ms",
        "--body-timeout",
        "2s",
        "--idle-timeout",
        "1m",
        "--write-timeout=5s",
    ]);
    assert_eq!(s.get("/healthz").status, 200);
}
