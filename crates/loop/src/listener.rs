//! How a loop's listening socket reports new connections.
//!
//! mio registers every source edge-triggered: a listener reports once per
//! new arrival, so a loop must accept until `accept` fails with
//! `WouldBlock`, or a client left in the queue would never be reported
//! again. On Linux that failing `accept4` is not cheap: the kernel builds
//! the new socket's inode and file *before* it looks at the queue and
//! tears them down again when the queue is empty (a `perf` profile of a
//! new connection per request put about 2 µs a connection there, the whole
//! gap to nginx).
//!
//! So on Linux a loop switches its listeners to level-triggered with one
//! `epoll_ctl`: the listener is reported at every poll while clients wait,
//! and a loop takes at most [`Accepts::per_event`] of them per report and
//! never needs to see the queue empty (nginx does the same). While a loop
//! is not accepting (at the connection cap, or backing off after running
//! out of descriptors) it puts them back to edge-triggered with mio, or
//! each poll would return at once for clients it is not going to take.
//!
//! Elsewhere (kqueue), and if the `epoll_ctl` fails, listeners stay
//! edge-triggered and a loop accepts until the queue is empty.

use std::io;

use mio::net::TcpListener;
use mio::{Interest, Registry, Token};

/// How many connections to take from a listener per readiness report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepts {
    /// Level-triggered: take this many at most; the next poll reports the
    /// listener again if more are waiting.
    Level,
    /// Edge-triggered: take all, until `accept` says `WouldBlock`.
    Edge,
}

impl Accepts {
    /// One per report, as nginx does without `multi_accept`: a busy loop
    /// polls often, and each poll that reports the listener hands over
    /// one more client, interleaved fairly with the connections' events.
    /// Taking more per report would mostly find the queue empty, which is
    /// the failing `accept4` this mode exists to avoid.
    const LEVEL_PER_EVENT: usize = 1;

    pub(crate) fn per_event(self) -> usize {
        match self {
            Accepts::Level => Self::LEVEL_PER_EVENT,
            Accepts::Edge => usize::MAX,
        }
    }
}

/// Register `listener` under `token` and make it level-triggered where
/// that is possible; says which mode it got.
pub(crate) fn register(
    registry: &Registry,
    listener: &mut TcpListener,
    token: Token,
) -> io::Result<Accepts> {
    registry.register(listener, token, Interest::READABLE)?;
    Ok(resume(registry, listener, token))
}

/// Stop `listener` from reporting until [`resume`]: edge-triggered again,
/// so at most one more report per new arrival.
pub(crate) fn pause(registry: &Registry, listener: &mut TcpListener, token: Token) {
    // This fails only when the kernel is out of memory; the listener then
    // stays level-triggered and the loop, still serving, polls without
    // sleeping (a busy core) until it accepts again.
    let _ = registry.reregister(listener, token, Interest::READABLE);
}

/// Level-triggered again after [`pause`] (or after [`register`]); says
/// which mode the listener is in.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn resume(registry: &Registry, listener: &TcpListener, token: Token) -> Accepts {
    use std::os::fd::AsRawFd;

    let mut event = libc::epoll_event {
        // Readable, and not `EPOLLET`: reported while clients wait.
        events: libc::EPOLLIN as u32,
        // Where mio keeps the token, as its own registration does.
        u64: token.0 as u64,
    };
    // SAFETY: `epoll_ctl` reads `event`, a live and initialised local
    // that nothing else refers to, only during the call, and keeps no
    // pointer to it. Both descriptors belong to objects borrowed for the
    // whole call (mio's `Registry` owns the epoll instance, the listener
    // its socket), so they are open and are the ones meant; the call
    // changes only the flags of a registration mio already made, under
    // the same token, which mio's selector reads back as any other.
    let rc = unsafe {
        libc::epoll_ctl(
            registry.as_raw_fd(),
            libc::EPOLL_CTL_MOD,
            listener.as_raw_fd(),
            &mut event,
        )
    };
    if rc == 0 {
        Accepts::Level
    } else {
        Accepts::Edge
    }
}

/// Elsewhere listeners stay edge-triggered.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn resume(_registry: &Registry, _listener: &TcpListener, _token: Token) -> Accepts {
    Accepts::Edge
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    use mio::{Events, Poll};

    use super::*;

    const TOKEN: Token = Token(7);

    /// Whether a poll that does not wait reports the listener.
    fn reported(poll: &mut Poll) -> bool {
        let mut events = Events::with_capacity(8);
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        events.iter().any(|e| e.token() == TOKEN)
    }

    /// Waits (up to 5 s) until the listener is reported, as a client's
    /// handshake completes in the background.
    fn wait_reported(poll: &mut Poll) {
        let mut events = Events::with_capacity(8);
        for _ in 0..50 {
            poll.poll(&mut events, Some(Duration::from_millis(100)))
                .unwrap();
            if events.iter().any(|e| e.token() == TOKEN) {
                return;
            }
        }
        panic!("the listener was never reported");
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_level_triggered_listener_is_reported_while_clients_wait_unless_paused() {
        let mut poll = Poll::new().unwrap();
        let mut listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = register(poll.registry(), &mut listener, TOKEN).unwrap();
        assert_eq!(mode, Accepts::Level);
        assert_eq!(mode.per_event(), 1);
        assert!(!reported(&mut poll), "nobody is waiting yet");

        let _clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        wait_reported(&mut poll);
        // Edge-triggered, nothing new has arrived, so these would be
        // silent; level-triggered, two clients still wait after one accept.
        listener.accept().unwrap();
        assert!(reported(&mut poll));
        listener.accept().unwrap();
        assert!(reported(&mut poll));

        // Paused, one client still waits and no poll reports it...
        pause(poll.registry(), &mut listener, TOKEN);
        let _ = reported(&mut poll); // the re-registration's own report
        assert!(!reported(&mut poll));
        assert!(!reported(&mut poll));
        // ...until accepting resumes.
        assert_eq!(resume(poll.registry(), &listener, TOKEN), Accepts::Level);
        assert!(reported(&mut poll));
        listener.accept().unwrap();
        assert!(!reported(&mut poll), "the queue is empty");
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    #[test]
    fn elsewhere_a_listener_is_edge_triggered_and_drained() {
        let poll = Poll::new().unwrap();
        let mut listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let mode = register(poll.registry(), &mut listener, TOKEN).unwrap();
        assert_eq!(mode, Accepts::Edge);
        assert_eq!(mode.per_event(), usize::MAX);
    }
}
