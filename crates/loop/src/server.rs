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
use crate::event_loop::{
    accept_error, AcceptError, Command, EventLoop, LoopSetup, ACCEPT_BACKOFF, WAKER,
};
use crate::handler::Handler;
use crate::tls::TlsConfig;

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
    /// A second listener that speaks TLS, serving the same handler.
    pub tls: Option<TlsListen>,
}

/// Where and with what certificate to serve HTTPS.
#[derive(Debug, Clone)]
pub struct TlsListen {
    /// Address of the TLS listener; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Certificate, key and protocol settings.
    pub config: TlsConfig,
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
            tls: None,
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
    tls_listeners: Vec<StdListener>,
    tls_addr: Option<SocketAddr>,
}

impl Server {
    /// Bind the listening socket(s) of `config`.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] when the address is taken or not ours.
    pub fn bind(config: Config) -> Result<Server, Error> {
        let reuse_port = config.accept == AcceptMode::ReusePort;
        let threads = config.threads.max(1);
        let (listeners, local_addr) = bind_group(config.addr, reuse_port, threads)?;
        let (tls_listeners, tls_addr) = match &config.tls {
            Some(tls) => {
                let (listeners, addr) = bind_group(tls.addr, reuse_port, threads)?;
                (listeners, Some(addr))
            }
            None => (Vec::new(), None),
        };
        Ok(Server {
            config,
            listeners,
            local_addr,
            tls_listeners,
            tls_addr,
        })
    }

    /// The address the server listens on, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the TLS listener, with the real port, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
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
        let tls = self.config.tls.as_ref().map(|t| t.config.clone());
        // Each loop's own (plain, TLS) listeners, or the acceptor's.
        let mut plain = self.listeners.into_iter();
        let mut secure = self.tls_listeners.into_iter();
        let mut shared_listeners = Vec::new();
        let mut own_listeners: Vec<(Option<StdListener>, Option<StdListener>)> = Vec::new();
        match self.config.accept {
            AcceptMode::ReusePort => {
                for _ in 0..threads {
                    own_listeners.push((plain.next(), secure.next()));
                }
            }
            AcceptMode::Acceptor => {
                own_listeners.extend((0..threads).map(|_| (None, None)));
                shared_listeners.extend(plain.next().map(|l| (l, false)));
                shared_listeners.extend(secure.next().map(|l| (l, true)));
            }
        }
        for (i, (listener, tls_listener)) in own_listeners.into_iter().enumerate() {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let (tx, rx) = crossbeam_channel::unbounded();
            let setup = LoopSetup {
                listener: listener.map(TcpListener::from_std),
                tls_listener: tls_listener.map(TcpListener::from_std),
                tls: tls.clone(),
                limit: limit.clone(),
                handler: Arc::clone(&handler),
                limits: self.config.limits,
                timeouts: self.config.timeouts,
            };
            let event_loop = EventLoop::new(poll, rx, setup)?;
            let join = thread::Builder::new()
                .name(format!("netrunner-loop-{i}"))
                .spawn(move || event_loop.run())?;
            joins.push(join);
            loops.push(LoopControl { tx, waker });
        }
        let mut acceptor = None;
        if shared_listeners.is_empty() {
            // At the cap every loop stops accepting; a freed place wakes them.
            let wakers: Vec<Arc<Waker>> = loops.iter().map(|l| Arc::clone(&l.waker)).collect();
            limit.on_free(move || {
                for waker in &wakers {
                    let _ = waker.wake();
                }
            });
        }
        if !shared_listeners.is_empty() {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let wake_acceptor = Arc::clone(&waker);
            limit.on_free(move || {
                let _ = wake_acceptor.wake();
            });
            let (tx, rx) = crossbeam_channel::bounded(1);
            let targets = loops.clone();
            let listeners = shared_listeners
                .into_iter()
                .map(|(l, tls)| (TcpListener::from_std(l), tls))
                .collect();
            let join = thread::Builder::new()
                .name("netrunner-acceptor".into())
                .spawn(move || run_acceptor(poll, listeners, targets, limit, rx))?;
            joins.push(join);
            acceptor = Some(LoopControl { tx, waker });
        }
        Ok(ServerHandle {
            local_addr: self.local_addr,
            tls_addr: self.tls_addr,
            stop: Shutdown { loops, acceptor },
            joins,
        })
    }
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    stop: Shutdown,
    joins: Vec<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the TLS listener, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
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
    // Responses are written whole; Nagle would only delay them. Linux
    // copies the option to every socket accepted from this one, so no
    // connection makes the call (elsewhere the loop sets it per socket).
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// The listening sockets for one address: one per loop with
/// `SO_REUSEPORT`, else one; and the address with its real port.
fn bind_group(
    addr: SocketAddr,
    reuse_port: bool,
    threads: usize,
) -> Result<(Vec<StdListener>, SocketAddr), Error> {
    let bind_error = |addr| move |source| Error::Bind { addr, source };
    // One loop needs no group: a plain listener spares the kernel the
    // group's lookup on every new connection.
    let reuse_port = reuse_port && threads > 1;
    if reuse_port && addr.port() != 0 {
        // SO_REUSEPORT would let us share a port that another server of
        // the same user is listening on, and take half its connections.
        // A plain bind first makes a port in use an error, as it should be.
        probe(addr).map_err(bind_error(addr))?;
    }
    let first = listen(addr, reuse_port).map_err(bind_error(addr))?;
    let local_addr = first.local_addr()?;
    let mut listeners = vec![first];
    if reuse_port {
        // The others bind the port the first one got (port 0 resolved).
        for _ in 1..threads {
            listeners.push(listen(local_addr, true).map_err(bind_error(local_addr))?);
        }
    }
    Ok((listeners, local_addr))
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
    mut listeners: Vec<(TcpListener, bool)>,
    loops: Vec<LoopControl>,
    limit: ConnLimit,
    commands: crossbeam_channel::Receiver<Command>,
) -> io::Result<()> {
    for (i, (listener, _)) in listeners.iter_mut().enumerate() {
        poll.registry()
            .register(listener, Token(i), Interest::READABLE)?;
    }
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
        'listeners: for (listener, tls) in &listeners {
            loop {
                let Some(permit) = limit.try_acquire() else {
                    // At the cap: clients wait in the backlog; a freed place
                    // wakes this thread through the limit's `on_free`.
                    break 'listeners;
                };
                match listener.accept() {
                    Ok((stream, peer)) => {
                        let target = &loops[next];
                        let command = Command::Conn(stream, peer, permit, *tls);
                        if target.tx.send(command).is_ok() {
                            woken[next] = true;
                        }
                        next = (next + 1) % loops.len();
                    }
                    Err(e) => match accept_error(&e) {
                        AcceptError::Drained => break,
                        AcceptError::Retry => continue,
                        AcceptError::Backoff => {
                            paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                            break 'listeners;
                        }
                    },
                }
            }
        }
        for (control, woken) in loops.iter().zip(woken.iter_mut()) {
            if std::mem::take(woken) {
                let _ = control.waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sockets accepted from our listener have Nagle off without a call of
    /// their own (Linux copies `TCP_NODELAY` from the listener).
    #[cfg(target_os = "linux")]
    #[test]
    fn accepted_sockets_inherit_nagle_off() {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0)), false).unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        listener.set_nonblocking(false).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
