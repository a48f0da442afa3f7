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
use netrunner_wire::{HttpDate, Limits};

use crate::conn::{Buffers, Conn, Next, Ready, Shared};
use crate::deadline::Deadlines;
use crate::handler::Handler;

/// The waker of a loop: commands are waiting in its channel.
pub(crate) const WAKER: Token = Token(usize::MAX);
/// The loop's own listening socket (`SO_REUSEPORT` mode).
const LISTENER: Token = Token(usize::MAX - 1);
/// How long accepting pauses when the connection cap or the process's file
/// descriptors run out, before it tries again.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
/// Buffer sets a loop keeps for its next busy connections.
const POOLED_BUFFERS: usize = 64;

/// What other threads tell a loop, through its channel and waker.
#[derive(Debug)]
pub(crate) enum Command {
    /// A connection accepted for this loop.
    Conn(TcpStream, SocketAddr, Permit),
    /// Stop accepting, finish what is in progress, and return when no
    /// connection is left.
    Shutdown,
}

/// The inputs of a loop, one per poll event: a closed set.
enum Event {
    Command,
    Listener,
    Conn(usize, Ready),
}

struct Entry {
    stream: TcpStream,
    conn: Conn,
    /// The deadline last put in the queue for this connection.
    queued: Option<Instant>,
    _permit: Permit,
}

/// One event-loop thread's state.
pub(crate) struct EventLoop {
    poll: Poll,
    commands: Receiver<Command>,
    listener: Option<TcpListener>,
    accept_paused_until: Option<Instant>,
    limit: ConnLimit,
    conns: Slab<Entry>,
    pool: BufPool<Box<Buffers>>,
    deadlines: Deadlines,
    handler: Arc<dyn Handler>,
    limits: Limits,
    date: HttpDate,
    draining: bool,
}

impl EventLoop {
    pub(crate) fn new(
        poll: Poll,
        commands: Receiver<Command>,
        mut listener: Option<TcpListener>,
        limit: ConnLimit,
        handler: Arc<dyn Handler>,
        limits: Limits,
    ) -> io::Result<EventLoop> {
        if let Some(listener) = &mut listener {
            poll.registry()
                .register(listener, LISTENER, Interest::READABLE)?;
        }
        Ok(EventLoop {
            poll,
            commands,
            listener,
            accept_paused_until: None,
            limit,
            conns: Slab::new(),
            pool: BufPool::new(POOLED_BUFFERS),
            deadlines: Deadlines::default(),
            handler,
            limits,
            date: HttpDate::new(unix_now()),
            draining: false,
        })
    }

    /// Serve until shut down and drained.
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            let mut timeout = self.deadlines.timeout(now);
            if let Some(at) = self.accept_paused_until {
                let wait = at.saturating_duration_since(now);
                timeout = Some(timeout.map_or(wait, |t| t.min(wait)));
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            self.date.update(unix_now());
            for event in events.iter() {
                let input = match event.token() {
                    WAKER => Event::Command,
                    LISTENER => Event::Listener,
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
                    Event::Command => self.on_commands()?,
                    Event::Listener => self.accept(now),
                    Event::Conn(key, ready) => self.on_conn(key, ready, now),
                }
            }
            if self.accept_paused_until.is_some_and(|at| at <= now) {
                self.accept_paused_until = None;
                self.accept(now);
            }
            while let Some(key) = self.deadlines.pop_due(now) {
                self.on_deadline(key, now);
            }
            if self.draining && self.conns.is_empty() {
                return Ok(());
            }
        }
    }

    fn on_commands(&mut self) -> io::Result<()> {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Conn(stream, peer, permit) => {
                    if self.draining {
                        continue;
                    }
                    self.add(stream, peer, permit);
                }
                Command::Shutdown => self.start_drain(),
            }
        }
        Ok(())
    }

    fn start_drain(&mut self) {
        self.draining = true;
        if let Some(mut listener) = self.listener.take() {
            // Closing the socket refuses new connections at once.
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_paused_until = None;
        for key in self.conns.keys() {
            let next = self.conns.get_mut(key).map(|e| e.conn.on_shutdown());
            if next == Some(Next::Close) {
                self.close(key);
            }
        }
    }

    /// Accept from this loop's own listener until it is drained, the cap is
    /// reached, or descriptors run out.
    fn accept(&mut self, now: Instant) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            let Some(permit) = self.limit.try_acquire() else {
                // At the cap: leave clients in the kernel's backlog.
                self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                return;
            };
            let accepted = match &self.listener {
                Some(listener) => listener.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, peer)) => self.add(stream, peer, permit),
                Err(e) => match accept_error(&e) {
                    AcceptError::Drained => return,
                    AcceptError::Retry => continue,
                    AcceptError::Backoff => {
                        self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                        return;
                    }
                },
            }
        }
    }

    fn add(&mut self, stream: TcpStream, peer: SocketAddr, permit: Permit) {
        // Responses are written whole; Nagle would only delay them.
        let _ = stream.set_nodelay(true);
        let entry = self.conns.insert(Entry {
            stream,
            conn: Conn::new(peer),
            queued: None,
            _permit: permit,
        });
        let e = self.conns.get_mut(entry).expect("just inserted");
        // Registered once for both directions: edge-triggered readiness
        // then costs no system call per state change.
        if self
            .poll
            .registry()
            .register(
                &mut e.stream,
                Token(entry),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            self.conns.remove(entry);
        }
    }

    fn on_conn(&mut self, key: usize, ready: Ready, now: Instant) {
        let Some(entry) = self.conns.get_mut(key) else {
            return;
        };
        let mut shared = Shared {
            handler: &*self.handler,
            limits: &self.limits,
            date: &self.date,
            pool: &mut self.pool,
        };
        let next = entry
            .conn
            .on_ready(&mut entry.stream, ready, &mut shared, now);
        if next == Next::Close || (self.draining && entry.conn.is_idle()) {
            self.close(key);
            return;
        }
        let deadline = entry.conn.deadline();
        if deadline != entry.queued {
            entry.queued = deadline;
            if let Some(at) = deadline {
                self.deadlines.push(at, key);
            }
        }
    }

    fn on_deadline(&mut self, key: usize, now: Instant) {
        let Some(entry) = self.conns.get_mut(key) else {
            return;
        };
        if entry.conn.on_deadline(now) == Next::Close {
            self.close(key);
        }
    }

    fn close(&mut self, key: usize) {
        if let Some(mut entry) = self.conns.remove(key) {
            let _ = self.poll.registry().deregister(&mut entry.stream);
        }
        if self.accept_paused_until.is_some() && !self.limit.is_full() {
            // A place is free: try the backlog at the next turn.
            self.accept_paused_until = Some(Instant::now());
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
