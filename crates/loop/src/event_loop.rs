//! [`EventLoop`]: one thread's mio poll, its connections, and the syscalls
//! that [`Conn`] asks for.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Receiver;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use netrunner_pool::{BufPool, ConnLimit, Permit, Slab};
use netrunner_wire::{HeadCache, HttpDate, Limits};

use crate::conn::{Buffers, Clock, Conn, Next, Ready, Shared, Timeouts};
use crate::deadline::{Deadlines, Kind};
use crate::handler::Handler;
use crate::listener::{self, Accepts};
use crate::socket::Socket;
use crate::tls::TlsConfig;

/// The waker of a loop: commands are waiting in its channel.
pub(crate) const WAKER: Token = Token(usize::MAX);
/// The loop's own listening socket (`SO_REUSEPORT` mode).
const LISTENER: Token = Token(usize::MAX - 1);
/// The loop's own TLS listening socket (`SO_REUSEPORT` mode).
const LISTENER_TLS: Token = Token(usize::MAX - 2);
/// How long accepting pauses when the process runs out of file descriptors
/// (or the kernel of memory) before it tries again. At the connection cap
/// it does not poll: the freed permit wakes it.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Buffer sets a loop keeps for its next busy connections.
const POOLED_BUFFERS: usize = 64;

/// What other threads tell a loop, through its channel and waker.
#[derive(Debug)]
pub(crate) enum Command {
    /// A connection accepted for this loop; `true` when it came through
    /// the TLS listener.
    Conn(TcpStream, SocketAddr, Permit, bool),
    /// Stop accepting, finish what is in progress, and return when no
    /// connection is left.
    Shutdown,
}

/// The inputs of a loop, one per poll event: a closed set.
enum Event {
    Command,
    Listener { tls: bool },
    Conn(usize, Ready),
}

struct Entry {
    stream: Socket,
    conn: Conn,
    _permit: Permit,
}

/// Whether the loop's own listener is being accepted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepting {
    Open,
    /// At the connection cap: clients wait in the backlog until a permit
    /// frees and its `on_free` wakes this loop.
    AtCap,
    /// Out of descriptors: try again at the instant given.
    Backoff(Instant),
}

/// One event-loop thread's state.
pub(crate) struct EventLoop {
    poll: Poll,
    commands: Receiver<Command>,
    listener: Option<TcpListener>,
    /// The TLS listener and its settings; with the acceptor thread, only
    /// the settings.
    tls_listener: Option<TcpListener>,
    tls: Option<TlsConfig>,
    accepting: Accepting,
    /// How the listeners report waiting clients while accepting is open.
    accepts: Accepts,
    /// An accept error has been reported and not yet followed by a success.
    accept_fault_logged: bool,
    limit: ConnLimit,
    conns: Slab<Entry>,
    pool: BufPool<Box<Buffers>>,
    deadlines: Deadlines,
    handler: Arc<dyn Handler>,
    limits: Limits,
    timeouts: Timeouts,
    date: HttpDate,
    heads: HeadCache,
    draining: bool,
}

/// What a loop is started with, besides its poll and channel.
pub(crate) struct LoopSetup {
    /// The loop's own plain listener (`SO_REUSEPORT` mode).
    pub(crate) listener: Option<TcpListener>,
    /// The loop's own TLS listener (`SO_REUSEPORT` mode).
    pub(crate) tls_listener: Option<TcpListener>,
    /// TLS settings, for connections from either kind of accept.
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) limit: ConnLimit,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) limits: Limits,
    pub(crate) timeouts: Timeouts,
}

impl EventLoop {
    pub(crate) fn new(
        poll: Poll,
        commands: Receiver<Command>,
        setup: LoopSetup,
    ) -> io::Result<EventLoop> {
        let LoopSetup {
            mut listener,
            mut tls_listener,
            tls,
            limit,
            handler,
            limits,
            timeouts,
        } = setup;
        // Both listeners get the same mode: level-triggered where the
        // system allows, and if either is refused, both edge-triggered.
        let mut accepts = Accepts::Level;
        for (listener, token) in [(&mut listener, LISTENER), (&mut tls_listener, LISTENER_TLS)] {
            if let Some(listener) = listener {
                if listener::register(poll.registry(), listener, token)? == Accepts::Edge {
                    accepts = Accepts::Edge;
                }
            }
        }
        let mut event_loop = EventLoop {
            poll,
            commands,
            listener,
            tls_listener,
            tls,
            accepting: Accepting::Open,
            accepts,
            accept_fault_logged: false,
            limit,
            conns: Slab::new(),
            pool: BufPool::new(POOLED_BUFFERS),
            deadlines: Deadlines::default(),
            handler,
            limits,
            timeouts,
            date: HttpDate::new(unix_now()),
            heads: HeadCache::new(),
            draining: false,
        };
        if accepts == Accepts::Edge {
            event_loop.each_listener(listener::pause);
        }
        Ok(event_loop)
    }

    /// Serve until shut down and drained.
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        // The clock is read once a round, after the poll; the next poll's
        // timeout is reckoned from that reading, so a deadline can pass at
        // most one round's work late.
        let mut now = Instant::now();
        // When the `Date` second may next change: the wall clock is read
        // only then, not every round.
        let mut date_until = now;
        loop {
            let mut timeout = self.deadlines.timeout(now);
            if let Accepting::Backoff(at) = self.accepting {
                let wait = at.saturating_duration_since(now);
                timeout = Some(timeout.map_or(wait, |t| t.min(wait)));
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            now = Instant::now();
            let clock = Clock::new(now, self.timeouts);
            if now >= date_until {
                let wall = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                self.date.update(wall.as_secs());
                date_until = now
                    + (Duration::from_secs(1) - Duration::from_nanos(wall.subsec_nanos().into()));
            }
            for event in events.iter() {
                let input = match event.token() {
                    WAKER => Event::Command,
                    LISTENER => Event::Listener { tls: false },
                    LISTENER_TLS => Event::Listener { tls: true },
                    Token(key) => Event::Conn(
                        key,
                        Ready {
                            readable: event.is_readable() || event.is_read_closed(),
                            writable: event.is_writable() || event.is_write_closed(),
                            read_closed: event.is_read_closed(),
                        },
                    ),
                };
                match input {
                    Event::Command => self.on_commands(now)?,
                    Event::Listener { tls } => {
                        if self.accepting == Accepting::Open {
                            self.accept_from(tls, now);
                        }
                    }
                    Event::Conn(key, ready) => self.on_conn(key, ready, &clock),
                }
            }
            if matches!(self.accepting, Accepting::Backoff(at) if at <= now) {
                self.resume_accepting(now);
            }
            while let Some((key, kind)) = self.deadlines.pop_due(now) {
                self.on_deadline(key, kind, &clock);
            }
            if self.draining && self.conns.is_empty() {
                return Ok(());
            }
        }
    }

    fn on_commands(&mut self, now: Instant) -> io::Result<()> {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Conn(stream, peer, permit, tls) => {
                    if self.draining {
                        continue;
                    }
                    self.add(stream, peer, permit, tls, now);
                }
                Command::Shutdown => self.start_drain(),
            }
        }
        // The waker also says that a permit freed while at the cap.
        if self.accepting == Accepting::AtCap {
            self.resume_accepting(now);
        }
        Ok(())
    }

    fn start_drain(&mut self) {
        self.draining = true;
        for mut listener in [self.listener.take(), self.tls_listener.take()]
            .into_iter()
            .flatten()
        {
            // Closing the socket refuses new connections at once.
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accepting = Accepting::Open;
        // Idle connections close at once: the pool hands them over.
        for (key, mut entry) in self.conns.close_idle() {
            self.deadlines.clear(key);
            entry.stream.close_notify();
            let _ = self.poll.registry().deregister(&mut entry.stream);
        }
        // The others finish what is in progress, with `Connection: close`.
        for key in self.conns.keys() {
            let next = self.conns.get_mut(key).map(|e| e.conn.on_shutdown());
            if next == Some(Next::Close) {
                self.close(key);
            }
        }
    }

    /// Accept from this loop's own listeners (as many per listener as
    /// [`Accepts::per_event`] allows), until the cap is reached or
    /// descriptors run out.
    fn accept(&mut self, now: Instant) {
        for tls in [false, true] {
            self.accept_from(tls, now);
        }
    }

    fn accept_from(&mut self, tls: bool, now: Instant) {
        if self.accepting != Accepting::Open {
            return;
        }
        for _ in 0..self.accepts.per_event() {
            let Some(permit) = self.limit.try_acquire() else {
                // At the cap: leave clients in the kernel's backlog.
                self.pause_accepting(Accepting::AtCap);
                return;
            };
            let listener = if tls {
                &self.tls_listener
            } else {
                &self.listener
            };
            let accepted = match listener {
                Some(listener) => listener.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, peer)) => {
                    self.accept_fault_logged = false;
                    self.add(stream, peer, permit, tls, now);
                }
                Err(e) => match accept_error(&e) {
                    AcceptError::Drained => return,
                    AcceptError::Retry => continue,
                    AcceptError::Backoff => {
                        if !self.accept_fault_logged {
                            eprintln!("netrunner: cannot accept ({e}); retrying, serving on");
                            self.accept_fault_logged = true;
                        }
                        self.pause_accepting(Accepting::Backoff(now + ACCEPT_BACKOFF));
                        return;
                    }
                },
            }
        }
    }

    /// Stop accepting (at the cap, or backing off): level-triggered
    /// listeners would otherwise report waiting clients at every poll.
    fn pause_accepting(&mut self, why: Accepting) {
        self.accepting = why;
        if self.accepts == Accepts::Level {
            self.each_listener(listener::pause);
        }
    }

    /// Accept again after [`pause_accepting`](Self::pause_accepting).
    fn resume_accepting(&mut self, now: Instant) {
        self.accepting = Accepting::Open;
        if self.accepts == Accepts::Level {
            let mut refused = false;
            self.each_listener(|registry, listener, token| {
                refused |= listener::resume(registry, listener, token) == Accepts::Edge;
            });
            if refused {
                // Edge-triggered from now on, both of them alike.
                self.accepts = Accepts::Edge;
                self.each_listener(listener::pause);
            }
        }
        match self.accepts {
            // The next poll reports a listener that has clients waiting;
            // trying now could only find out with a failing `accept`.
            Accepts::Level => {}
            // No report will come for clients that arrived meanwhile.
            Accepts::Edge => self.accept(now),
        }
    }

    fn each_listener(&mut self, mut f: impl FnMut(&mio::Registry, &mut TcpListener, Token)) {
        let registry = self.poll.registry();
        if let Some(listener) = &mut self.listener {
            f(registry, listener, LISTENER);
        }
        if let Some(listener) = &mut self.tls_listener {
            f(registry, listener, LISTENER_TLS);
        }
    }

    fn add(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        permit: Permit,
        tls: bool,
        now: Instant,
    ) {
        // Nagle off: Linux copies it from the listener (see `listen`);
        // elsewhere each accepted socket is told.
        #[cfg(not(target_os = "linux"))]
        let _ = stream.set_nodelay(true);
        let stream = match (&self.tls, tls) {
            (Some(config), true) => match config.accept(stream) {
                Ok(tls) => Socket::Tls(Box::new(tls)),
                Err(_) => return,
            },
            _ => Socket::Plain(stream),
        };
        let tls = stream.is_tls();
        let entry = self.conns.insert(Entry {
            stream,
            conn: Conn::new(peer, now, &self.timeouts).over_tls(tls),
            _permit: permit,
        });
        let e = self.conns.get_mut(entry).expect("just inserted");
        // Registered for reading only (edge-triggered), as nginx does:
        // registered for writing too, a new socket is reported writable at
        // once, a round of the loop per connection for nothing. Writable
        // events are asked for the first time the connection waits with
        // bytes owed (a write that would block, or TLS records the
        // transport still holds; see `drive`) and kept from then on, so a
        // connection makes at most one more `epoll_ctl`, and most never do.
        if self
            .poll
            .registry()
            .register(&mut e.stream, Token(entry), Interest::READABLE)
            .is_err()
        {
            self.conns.remove(entry);
            return;
        }
        self.sync(entry);
    }

    // Both match on the socket once, so that the connection runs over
    // the TCP or TLS stream itself rather than asking the `Socket` which it
    // is at every read and write.

    fn on_conn(&mut self, key: usize, ready: Ready, clock: &Clock) {
        self.drive(key, clock, |conn, stream, shared| match stream {
            Socket::Plain(tcp) => conn.on_ready(tcp, ready, shared),
            Socket::Tls(tls) => conn.on_ready(&mut **tls, ready, shared),
        });
    }

    fn on_deadline(&mut self, key: usize, kind: Kind, clock: &Clock) {
        self.drive(key, clock, |conn, stream, shared| match stream {
            Socket::Plain(tcp) => conn.on_deadline(kind, tcp, shared),
            Socket::Tls(tls) => conn.on_deadline(kind, &mut **tls, shared),
        });
    }

    /// Hand connection `key` what the loop shares, let `input` act on it,
    /// then close it or bring its deadline up to date.
    fn drive(
        &mut self,
        key: usize,
        clock: &Clock,
        input: impl FnOnce(&mut Conn, &mut Socket, &mut Shared<'_>) -> Next,
    ) {
        let Some((entry, idle_mark)) = self.conns.get_mut_marked(key) else {
            return;
        };
        let mut shared = Shared {
            handler: &*self.handler,
            limits: &self.limits,
            clock,
            date: &self.date,
            heads: &mut self.heads,
            pool: &mut self.pool,
        };
        let next = input(&mut entry.conn, &mut entry.stream, &mut shared);
        // Close the connection, or bring its idle mark and deadline up to
        // date (as `sync` does, without looking it up again).
        let idle = entry.conn.is_idle();
        if next == Next::Close || (self.draining && idle) {
            self.close(key);
            return;
        }
        *idle_mark = idle;
        self.deadlines.update(key, entry.conn.timer());
        if entry.conn.needs_write_events() {
            // Re-registering reports the socket at once if it has become
            // writable since the write that stopped.
            if self
                .poll
                .registry()
                .reregister(
                    &mut entry.stream,
                    Token(key),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
            {
                self.close(key);
            }
        }
    }

    fn sync(&mut self, key: usize) {
        let Some(entry) = self.conns.get(key) else {
            return;
        };
        let (timer, idle) = (entry.conn.timer(), entry.conn.is_idle());
        self.deadlines.update(key, timer);
        self.conns.set_idle(key, idle);
    }

    fn close(&mut self, key: usize) {
        self.deadlines.clear(key);
        if let Some(mut entry) = self.conns.remove(key) {
            entry.stream.close_notify();
            // On Unix, closing the socket (dropping `entry`) takes it out of
            // the poll set: epoll and kqueue forget a descriptor when its
            // last reference is closed, and no other process or descriptor
            // shares ours (accepted with close-on-exec, never duplicated).
            // That saves a system call per connection.
            #[cfg(not(unix))]
            let _ = self.poll.registry().deregister(&mut entry.stream);
        }
    }
}

pub(crate) enum AcceptError {
    /// No connection is waiting.
    Drained,
    /// This one failed; try the next.
    Retry,
    /// Out of descriptors or memory: pause, keep serving, try again.
    Backoff,
}

pub(crate) fn accept_error(e: &io::Error) -> AcceptError {
    match e.kind() {
        ErrorKind::WouldBlock => AcceptError::Drained,
        ErrorKind::Interrupted | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset => {
            AcceptError::Retry
        }
        _ => AcceptError::Backoff,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
