//! [`Server`]: listeners, loop threads, and the handle that stops them.

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::Sender;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use netrunner_pool::ConnLimit;
use netrunner_wire::Limits;
use socket2::{Domain, Protocol, Socket, Type};

use crate::conn::Timeouts;
use crate::event_loop::{accept_error, AcceptError, Command, EventLoop, ACCEPT_BACKOFF, WAKER};
use crate::handler::Handler;

/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Length of the kernel's queue of connections not yet accepted.
const BACKLOG: i32 = 1024;

/// How connections reach the loop threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcceptMode {
    /// Every loop has its own listening socket on the same address
    /// (`SO_REUSEPORT`) and accepts for itself; the kernel spreads new
    /// connections over them. No thread hop per connection.
    #[default]
    ReusePort,
    /// One acceptor thread accepts and hands each connection to a loop over
    /// a channel, waking it.
    Acceptor,
}

/// What a server is started with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Event-loop threads (at least 1).
    pub threads: usize,
    /// Open connections at most, across every loop.
    pub max_connections: usize,
    /// Size limits of requests.
    pub limits: Limits,
    /// How long each kind of wait may last.
    pub timeouts: Timeouts,
    /// How connections reach the loops.
    pub accept: AcceptMode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            threads: thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            accept: AcceptMode::default(),
        }
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Another system call failed while starting.
    #[error("cannot start the event loop: {0}")]
    Io(#[from] io::Error),
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    config: Config,
    listeners: Vec<StdListener>,
    local_addr: SocketAddr,
}

impl Server {
    /// Bind the listening socket(s) of `config`.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] when the address is taken or not ours.
    pub fn bind(config: Config) -> Result<Server, Error> {
        let reuse_port = config.accept == AcceptMode::ReusePort;
        let bind_error = |source| Error::Bind {
            addr: config.addr,
            source,
        };
        if reuse_port && config.addr.port() != 0 {
            // SO_REUSEPORT would let us share a port that another server of
            // the same user is listening on, and take half its connections.
            // A plain bind first makes a port in use an error, as it should be.
            probe(config.addr).map_err(bind_error)?;
        }
        let first = listen(config.addr, reuse_port).map_err(bind_error)?;
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        if reuse_port {
            // The others bind the port the first one got (port 0 resolved).
            for _ in 1..config.threads.max(1) {
                listeners.push(listen(local_addr, true).map_err(|source| Error::Bind {
                    addr: local_addr,
                    source,
                })?);
            }
        }
        Ok(Server {
            config,
            listeners,
            local_addr,
        })
    }

    /// The address the server listens on, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Start the loop threads (and the acceptor, in that mode) serving
    /// `handler`.
    ///
    /// # Errors
    ///
    /// When a poll, waker or thread cannot be made.
    pub fn start(self, handler: impl Handler) -> Result<ServerHandle, Error> {
        let handler: Arc<dyn Handler> = Arc::new(handler);
        let limit = ConnLimit::new(self.config.max_connections);
        let threads = self.config.threads.max(1);
        let mut loops = Vec::with_capacity(threads);
        let mut joins = Vec::with_capacity(threads + 1);
        let (mut own_listeners, mut shared_listener): (Vec<Option<StdListener>>, _) =
            match self.config.accept {
                AcceptMode::ReusePort => (self.listeners.into_iter().map(Some).collect(), None),
                AcceptMode::Acceptor => (
                    (0..threads).map(|_| None).collect(),
                    self.listeners.into_iter().next(),
                ),
            };
        for (i, listener) in own_listeners.drain(..).enumerate() {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let (tx, rx) = crossbeam_channel::unbounded();
            let listener = listener.map(TcpListener::from_std);
            let event_loop = EventLoop::new(
                poll,
                rx,
                listener,
                limit.clone(),
                Arc::clone(&handler),
                self.config.limits,
                self.config.timeouts,
            )?;
            let join = thread::Builder::new()
                .name(format!("netrunner-loop-{i}"))
                .spawn(move || event_loop.run())?;
            joins.push(join);
            loops.push(LoopControl { tx, waker });
        }
        let mut acceptor = None;
        if shared_listener.is_none() {
            // At the cap every loop stops accepting; a freed place wakes them.
            let wakers: Vec<Arc<Waker>> = loops.iter().map(|l| Arc::clone(&l.waker)).collect();
            limit.on_free(move || {
                for waker in &wakers {
                    let _ = waker.wake();
                }
            });
        }
        if let Some(listener) = shared_listener.take() {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let wake_acceptor = Arc::clone(&waker);
            limit.on_free(move || {
                let _ = wake_acceptor.wake();
            });
            let (tx, rx) = crossbeam_channel::bounded(1);
            let targets = loops.clone();
            let listener = TcpListener::from_std(listener);
            let join = thread::Builder::new()
                .name("netrunner-acceptor".into())
                .spawn(move || run_acceptor(poll, listener, targets, limit, rx))?;
            joins.push(join);
            acceptor = Some(LoopControl { tx, waker });
        }
        Ok(ServerHandle {
            local_addr: self.local_addr,
            stop: Shutdown { loops, acceptor },
            joins,
        })
    }
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: Shutdown,
    joins: Vec<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A value that starts the shutdown from any thread (a signal handler,
    /// say).
    pub fn shutdown_trigger(&self) -> Shutdown {
        self.stop.clone()
    }

    /// Wait until every thread has stopped: after a shutdown, once every
    /// connection is drained.
    ///
    /// # Errors
    ///
    /// The first error a loop stopped with.
    pub fn join(self) -> io::Result<()> {
        let mut result = Ok(());
        for join in self.joins {
            let outcome = join
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("an event-loop thread panicked")));
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    }
}

/// Starts a graceful shutdown: listeners close, idle connections close,
/// requests in progress finish with `Connection: close`, and the loops stop
/// once drained.
#[derive(Debug, Clone)]
pub struct Shutdown {
    loops: Vec<LoopControl>,
    acceptor: Option<LoopControl>,
}

impl Shutdown {
    /// Tell every thread to shut down. Calling it again does nothing more.
    pub fn trigger(&self) {
        for control in self.acceptor.iter().chain(&self.loops) {
            control.send(Command::Shutdown);
        }
    }
}

#[derive(Debug, Clone)]
struct LoopControl {
    tx: Sender<Command>,
    waker: Arc<Waker>,
}

impl LoopControl {
    fn send(&self, command: Command) {
        // A loop that already stopped has dropped its receiver; nothing to do.
        if self.tx.try_send(command).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

/// A listening socket; `SO_REUSEPORT` lets every loop have its own.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<StdListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Bind `addr` without `SO_REUSEPORT` and let go: fails if it is in use.
fn probe(addr: SocketAddr) -> io::Result<()> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())
}

/// The acceptor thread of [`AcceptMode::Acceptor`]: accept, hand each
/// connection to the next loop in turn, wake each loop once per burst.
fn run_acceptor(
    mut poll: Poll,
    mut listener: TcpListener,
    loops: Vec<LoopControl>,
    limit: ConnLimit,
    commands: crossbeam_channel::Receiver<Command>,
) -> io::Result<()> {
    const LISTENER: Token = Token(0);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(64);
    let mut next = 0;
    let mut woken = vec![false; loops.len()];
    let mut paused_until: Option<Instant> = None;
    loop {
        let timeout = paused_until.map(|at| at.saturating_duration_since(Instant::now()));
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if commands.try_recv().is_ok() {
            // Shutdown: dropping the listener closes it.
            return Ok(());
        }
        if paused_until.is_some_and(|at| at > Instant::now()) {
            continue;
        }
        paused_until = None;
        loop {
            let Some(permit) = limit.try_acquire() else {
                // At the cap: clients wait in the backlog; a freed place
                // wakes this thread through the limit's `on_free`.
                break;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    let target = &loops[next];
                    if target.tx.send(Command::Conn(stream, peer, permit)).is_ok() {
                        woken[next] = true;
                    }
                    next = (next + 1) % loops.len();
                }
                Err(e) => match accept_error(&e) {
                    AcceptError::Drained => break,
                    AcceptError::Retry => continue,
                    AcceptError::Backoff => {
                        paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                        break;
                    }
                },
            }
        }
        for (control, woken) in loops.iter().zip(woken.iter_mut()) {
            if std::mem::take(woken) {
                let _ = control.waker.wake();
            }
        }
    }
}
