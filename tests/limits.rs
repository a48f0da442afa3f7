//! Connection limits (CONTRACT.md, `--max-connections`) and running out of
//! file descriptors: clients wait instead of being reset, and the server
//! neither crashes nor spins.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{assert_between, Conn, Server, TEXT};

/// 60 clients at once against a cap of 20: all are answered, none is reset.
#[test]
fn clients_over_the_cap_wait_and_are_all_served() {
    const CLIENTS: usize = 60;
    let s = Server::start(&["--max-connections", "20"]);
    let addr = s.addr();
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let mut conn = Conn::connect(addr);
                conn.send(b"GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
                conn.read_response().assert(200, TEXT, "Hello, Netrunner!");
                conn.assert_closed_cleanly();
            })
        })
        .collect();
    let failed: Vec<usize> = clients
        .into_iter()
        .enumerate()
        .filter_map(|(i, client)| client.join().is_err().then_some(i))
        .collect();
    assert!(failed.is_empty(), "clients {failed:?} failed (see above)");
}

/// At the cap a new client's connect succeeds but it is not answered (and
/// the server idles); it is answered as soon as one of the open
/// connections closes.
#[test]
fn client_at_the_cap_waits_in_the_backlog_until_a_place_frees() {
    const CAP: usize = 20;
    let s = Server::start(&["--max-connections", &CAP.to_string()]);
    let mut held: Vec<Conn> = (0..CAP).map(|i| s.served(i)).collect();

    let mut waiting = s.connect();
    waiting.send(b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    // A second at the cap with a client waiting: the server must not spin
    // on the listener that reports it (level-triggered, on Linux).
    #[cfg(target_os = "linux")]
    let cpu_before = cpu_time(s.pid());
    waiting.expect_silence(Duration::from_secs(1));
    #[cfg(target_os = "linux")]
    {
        let cpu = cpu_time(s.pid()).saturating_sub(cpu_before);
        assert!(
            cpu < Duration::from_millis(500),
            "the server used {cpu:?} of CPU in one second at the cap: it spins"
        );
    }

    drop(held.pop());
    let freed = Instant::now();
    let res = waiting.read_response();
    assert_between(
        freed.elapsed(),
        Duration::ZERO,
        Duration::from_secs(3),
        "answer after a place freed",
    );
    res.assert(200, TEXT, "Hello, Netrunner!");

    // The others were kept and still work.
    for (i, conn) in held.iter_mut().enumerate() {
        conn.hello(i);
    }
}

/// With `RLIMIT_NOFILE` at 64 and 100 clients connected, accepting fails
/// with EMFILE: the server backs off instead of spinning, keeps serving the
/// connections it has, and accepts again once descriptors are free.
#[cfg(target_os = "linux")]
#[test]
fn out_of_file_descriptors_backs_off_and_recovers() {
    const NOFILE: usize = 64;
    const CLIENTS: usize = 100;
    let mut s = Server::start_with_fd_limit(NOFILE as u32, &[]);
    let pid = s.pid();

    let mut early = s.connect();
    early.send(b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    early.read_response().assert(200, TEXT, "Hello, Netrunner!");

    // More clients than descriptors: all connect (the kernel's backlog holds
    // what the server cannot accept).
    let held: Vec<Conn> = (0..CLIENTS).map(|_| s.connect()).collect();

    // One second at EMFILE, timed by a read timeout on the early connection,
    // which must stay open and quiet.
    let cpu_before = cpu_time(pid);
    early.expect_silence(Duration::from_secs(1));
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    assert!(s.is_running(), "the server died at EMFILE");
    let fds = open_fds(pid);
    assert!(
        fds + 4 >= NOFILE,
        "the server holds {fds} descriptors of {NOFILE}: EMFILE was not reached"
    );
    assert!(
        cpu < Duration::from_millis(500),
        "the server used {cpu:?} of CPU in one second at EMFILE: it spins"
    );

    // Connections already open are still served.
    early.send(b"GET /hello/again HTTP/1.1\r\nHost: test\r\n\r\n");
    early.read_response().assert(200, TEXT, "Hello, again!");

    drop(held);
    drop(early);
    let released = Instant::now();
    let res = s.get("/healthz");
    assert_eq!((res.status, res.text()), (200, "ok"), "{res:#?}");
    assert_between(
        released.elapsed(),
        Duration::ZERO,
        Duration::from_secs(5),
        "a new connection served after the descriptors were released",
    );
    assert!(s.is_running(), "the server died after EMFILE");
}

/// CPU time (user + system) the process `pid` has used, from `/proc/PID/stat`.
#[cfg(target_os = "linux")]
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The command name may hold spaces; the fields after it do not. Field 3
    // (state) comes first, so utime (14) and stime (15) are at 11 and 12.
    let (_, fields) = stat.rsplit_once(')').expect("stat format");
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf`; 100 (Linux's USER_HZ) if that fails.
#[cfg(target_os = "linux")]
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// How many file descriptors the process `pid` has open.
#[cfg(target_os = "linux")]
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .count()
}
