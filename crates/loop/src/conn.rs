//! [`Conn`]: one connection's state machine.
//!
//! A `Conn` is driven by its event loop with readiness events and the time;
//! it never reads the clock and never polls. It talks to its socket through
//! [`Transport`], which tests implement with scripted bytes.
//!
//! Per event, a connection (1) writes what it owes, (2) reads until the
//! socket is drained, and (3) answers every whole request it holds, in
//! order, into one write buffer, so pipelined responses leave together.

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use netrunner_pool::{BufPool, Recycle};
use netrunner_wire::{
    encode_continue, encode_response, sends_body, Body, BodyDecoder, FileBody, Framing, HeadCache,
    HeadParser, HttpDate, HttpError, Limits, Method, Request, RequestHead, Response,
    ResponseContext, Version,
};

use crate::deadline::{Kind, KINDS};
use crate::handler::Handler;

/// Bytes a connection's read buffer starts with.
pub(crate) const READ_BUF_SIZE: usize = 16 * 1024;
/// Read room kept free behind a partial request, so reads are never tiny.
const MIN_READ_ROOM: usize = 4 * 1024;
/// Output a connection may queue before it stops answering pipelined
/// requests and waits for the client to read.
const WRITE_HIGH_WATER: usize = 256 * 1024;
/// How long a connection closed after an error keeps reading (and dropping)
/// what the client still sends, so that the client reads the response
/// instead of a reset (a lingering close).
pub(crate) const LINGER: Duration = Duration::from_secs(2);
/// Most bytes read and dropped while lingering.
const LINGER_MAX_BYTES: usize = 1024 * 1024;
/// Bytes of a file body read into the write buffer at a time: a file is
/// sent in pieces as the socket takes them, never read whole.
const FILE_PIECE: usize = 32 * 1024;

/// A byte stream under a connection: a TCP socket, TLS over one, or a test
/// script.
pub(crate) trait Transport: Read + Write {
    /// Send FIN: no more bytes from this side (TLS: close_notify first).
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// Whether the transport itself still holds bytes for the peer that
    /// the socket has not taken (TLS records), beyond what `write` took.
    fn pending(&self) -> bool {
        false
    }

    /// Send what the transport holds: whether nothing is left, and whether
    /// any byte went out (progress for the write timeout).
    fn flush_pending(&mut self) -> io::Result<Flushed> {
        Ok(Flushed {
            done: true,
            wrote: false,
        })
    }

    /// Tell the peer, best effort, that the connection is closing (TLS
    /// close_notify); nothing for plain TCP.
    fn close_notify(&mut self) {}

    /// Whether a read that filled less than the buffer means the socket is
    /// drained. True of a TCP socket; not of TLS, which reads the socket in
    /// records and may leave bytes in it after a short read of plaintext.
    fn short_read_drains(&self) -> bool {
        true
    }
}

impl Transport for mio::net::TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// What [`Transport::flush_pending`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flushed {
    /// Nothing is left to send.
    pub(crate) done: bool,
    /// Some bytes went out.
    pub(crate) wrote: bool,
}

/// What a connection's owner should do after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep it; wait for the next event or its deadline.
    Wait,
    /// Close and forget it.
    Close,
}

/// Readiness reported by the poller for one event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ready {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// The peer's FIN has arrived: read to the end, whatever a short read
    /// suggests, since no later event will announce it.
    pub(crate) read_closed: bool,
}

/// How long each kind of wait may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request head to its end, in total (and for
    /// a new connection, from accept to its first head).
    pub header: Duration,
    /// Each wait for more body bytes.
    pub body: Duration,
    /// A keep-alive connection with no request in progress.
    pub idle: Duration,
    /// Each wait for the client to take more of a response.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            write: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    fn of(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Header => self.header,
            Kind::Body => self.body,
            Kind::Idle => self.idle,
            Kind::Write => self.write,
            Kind::Linger => LINGER,
        }
    }
}

/// The time of one round of a loop's events, and each kind of deadline
/// from then, worked out at most once a round: the connections served in a
/// round share them rather than each adding durations to instants.
#[derive(Debug)]
pub(crate) struct Clock {
    now: Instant,
    timeouts: Timeouts,
    /// Per kind, once asked for: its deadline from `now`, and the latest
    /// deadline that progress leaves where it is (`now` plus the timeout
    /// less `lazy_by` of it).
    due: [Cell<Option<(Instant, Instant)>>; KINDS],
}

impl Clock {
    pub(crate) fn new(now: Instant, timeouts: Timeouts) -> Clock {
        Clock {
            now,
            timeouts,
            due: Default::default(),
        }
    }

    /// The deadline of `kind` from now, and the latest one that progress
    /// leaves in place.
    #[inline]
    fn due(&self, kind: Kind) -> (Instant, Instant) {
        let memo = &self.due[kind.index()];
        if let Some(due) = memo.get() {
            return due;
        }
        let d = self.timeouts.of(kind);
        let due = (later(self.now, d), later(self.now, d - lazy_by(d)));
        memo.set(Some(due));
        due
    }
}

/// What every connection of a loop shares: the application, the limits,
/// the `Date` and the heads written with it, and the buffers it borrows.
pub(crate) struct Shared<'a> {
    pub(crate) handler: &'a dyn Handler,
    pub(crate) limits: &'a Limits,
    /// The time of this round of events, and the deadlines from it.
    pub(crate) clock: &'a Clock,
    pub(crate) date: &'a HttpDate,
    /// Heads of responses sent before, to copy rather than format.
    pub(crate) heads: &'a mut HeadCache,
    pub(crate) pool: &'a mut BufPool<Box<Buffers>>,
}

/// The buffers of a busy connection, lent by the loop's pool and given back
/// when the connection goes idle.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    read: ReadBuf,
    write: Vec<u8>,
    written: usize,
    body: Vec<u8>,
    head: RequestHead,
}

impl Recycle for Buffers {
    fn reuse(&mut self) -> bool {
        self.written = 0;
        self.read.clear();
        // Drop buffers that one large request grew, rather than keep them.
        self.read.data.len() <= 2 * READ_BUF_SIZE && self.write.reuse() && self.body.reuse()
    }
}

/// A read buffer that is initialised once, so reading into it costs no
/// zeroing: `data[start..end]` holds bytes not yet consumed.
#[derive(Debug, Default)]
struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    fn unconsumed(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.clear();
        }
    }

    /// Remove `len` bytes at `at` (relative to `start`), keeping what is
    /// before and after them.
    fn remove(&mut self, at: usize, len: usize) {
        let from = self.start + at;
        self.data.copy_within(from + len..self.end, from);
        self.end -= len;
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Room to read into, made by moving bytes to the front or growing.
    #[inline]
    fn spare(&mut self) -> &mut [u8] {
        if self.data.len() - self.end < MIN_READ_ROOM {
            self.make_room();
        }
        &mut self.data[self.end..]
    }

    #[cold]
    fn make_room(&mut self) {
        if self.data.is_empty() {
            self.data = vec![0; READ_BUF_SIZE];
        }
        if self.data.len() - self.end < MIN_READ_ROOM && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.data.len() - self.end < MIN_READ_ROOM {
            let grown = self.data.len() * 2;
            self.data.resize(grown, 0);
        }
    }

    fn filled(&mut self, n: usize) {
        self.end += n;
    }
}

/// Where a connection is in its request stream.
#[derive(Debug)]
enum State {
    /// Waiting for, or in the middle of, a request head. With no bytes and
    /// no output this is the idle keep-alive state.
    Head { parser: HeadParser },
    /// A head of `head_len` bytes (still at the front of the read buffer)
    /// was accepted; its body is being read.
    Body {
        decoder: BodyDecoder,
        head_len: usize,
    },
    /// The last response is queued; once it is written the connection
    /// closes (after a lingering read when `linger`).
    Closing { linger: bool },
    /// The write side is shut; what the client still sends is dropped
    /// until it closes or the linger deadline passes.
    Lingering { dropped: usize },
}

/// What a connection is asked to act on.
#[derive(Debug, Clone, Copy)]
enum Input {
    Ready(Ready),
    Deadline(Kind),
}

/// One connection: its state, its peer, and its buffers while busy.
#[derive(Debug)]
pub(crate) struct Conn {
    state: State,
    bufs: Option<Box<Buffers>>,
    peer: SocketAddr,
    /// The socket may have more bytes: keep reading until `WouldBlock`.
    read_ready: bool,
    /// The FIN has been reported: the next read that is short is not the end.
    read_closed: bool,
    /// The last write stopped at `WouldBlock`: wait for a writable event.
    write_blocked: bool,
    /// Whether the socket reports writable events (`needs_write_events`).
    write_events: WriteEvents,
    /// The peer sent FIN.
    peer_closed: bool,
    /// Shutdown asked the connection to finish its request and close.
    draining: bool,
    /// No byte has arrived yet.
    fresh: bool,
    /// The one deadline of the current state: its kind and when it is due.
    timer: Option<(Kind, Instant)>,
    /// A head completed or body bytes arrived this event: restart the
    /// clock of a header, body or idle wait.
    touched: bool,
    /// Response bytes went out this event: restart the clock of a write wait.
    wrote: bool,
    /// `answer` stopped at the high-water mark of queued output, or behind
    /// a file body still being sent.
    stalled: bool,
    /// The rest of a file body, sent after what is in the write buffer
    /// (boxed: a connection that sends no file keeps one word for it).
    file: Option<Box<FileBody>>,
    /// The connection came through the TLS listener.
    tls: bool,
}

/// A socket is registered for reading; writable events are asked for once
/// the connection first waits with output owed, and kept from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteEvents {
    Off,
    /// Owed output is waiting: the loop must ask for writable events.
    Wanted,
    On,
}

impl Conn {
    /// A connection accepted at `now`: it has the header timeout to send
    /// its first request.
    pub(crate) fn new(peer: SocketAddr, now: Instant, timeouts: &Timeouts) -> Conn {
        Conn {
            state: State::Head {
                parser: HeadParser::new(),
            },
            bufs: None,
            peer,
            // Not until the poll says so: registering a socket reports the
            // bytes already there, and the first event of a new connection
            // is often only "writable", on which a read would find nothing.
            read_ready: false,
            read_closed: false,
            write_blocked: false,
            write_events: WriteEvents::Off,
            peer_closed: false,
            draining: false,
            fresh: true,
            timer: Some((Kind::Header, later(now, timeouts.header))),
            touched: false,
            wrote: false,
            stalled: false,
            file: None,
            tls: false,
        }
    }

    /// Whether the loop must now have the socket report writable events
    /// too: true once, the first time the connection waits with bytes
    /// owed (until then the socket is registered for reading only).
    pub(crate) fn needs_write_events(&mut self) -> bool {
        let needs = self.write_events == WriteEvents::Wanted;
        if needs {
            self.write_events = WriteEvents::On;
        }
        needs
    }

    /// The same connection, marked as one that came through TLS.
    pub(crate) fn over_tls(mut self, tls: bool) -> Conn {
        self.tls = tls;
        self
    }

    /// The connection's deadline: what it waits for, and until when.
    pub(crate) fn timer(&self) -> Option<(Kind, Instant)> {
        self.timer
    }

    /// Whether the connection holds buffers (it is not idle).
    #[cfg(test)]
    pub(crate) fn holds_buffers(&self) -> bool {
        self.bufs.is_some()
    }

    /// Whether the connection is between requests with nothing owed (a new
    /// connection that has sent nothing counts).
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.state, State::Head { .. }) && self.bufs.is_none()
    }

    /// The connection's deadline of `kind` passed.
    ///
    /// A head or body that did not arrive in time is answered `408` and the
    /// connection closes; a new connection that sent nothing, an idle one,
    /// one whose client does not read, and a lingering one close quietly.
    pub(crate) fn on_deadline(
        &mut self,
        kind: Kind,
        io: &mut impl Transport,
        shared: &mut Shared<'_>,
    ) -> Next {
        self.step(io, Input::Deadline(kind), shared)
    }

    /// Finish what is in progress, then close.
    pub(crate) fn on_shutdown(&mut self) -> Next {
        self.draining = true;
        // A lingering connection has had its answer; nothing is in progress.
        if self.is_idle() || matches!(self.state, State::Lingering { .. }) {
            Next::Close
        } else {
            Next::Wait
        }
    }

    /// Readiness reported for this connection's socket.
    pub(crate) fn on_ready(
        &mut self,
        io: &mut impl Transport,
        ready: Ready,
        shared: &mut Shared<'_>,
    ) -> Next {
        self.step(io, Input::Ready(ready), shared)
    }

    /// Borrow buffers, act on `input`, set the deadline of the state the
    /// connection is left in, and give the buffers back if it is idle.
    fn step(&mut self, io: &mut impl Transport, input: Input, shared: &mut Shared<'_>) -> Next {
        let mut bufs = match self.bufs.take() {
            Some(bufs) => bufs,
            None => shared.pool.take(),
        };
        let next = match input {
            Input::Ready(ready) => {
                self.read_ready |= ready.readable;
                self.read_closed |= ready.read_closed;
                if ready.writable {
                    self.write_blocked = false;
                }
                self.drive(io, &mut bufs, shared)
            }
            Input::Deadline(kind) => self.expire(kind, io, &mut bufs, shared),
        };
        if next == Next::Close {
            shared.pool.give(bufs);
            return next;
        }
        let owed = bufs.written < bufs.write.len() || io.pending();
        if owed && self.write_events == WriteEvents::Off {
            // Only the socket draining moves owed bytes; that includes TLS
            // records the transport holds after a write it reported whole.
            self.write_events = WriteEvents::Wanted;
        }
        self.rearm(&bufs, owed, shared.clock);
        let idle = matches!(self.state, State::Head { .. })
            && bufs.read.unconsumed().is_empty()
            && !owed
            && self.file.is_none();
        if idle {
            shared.pool.give(bufs);
        } else {
            self.bufs = Some(bufs);
        }
        next
    }

    /// Act on a deadline that passed.
    fn expire(
        &mut self,
        kind: Kind,
        io: &mut impl Transport,
        bufs: &mut Buffers,
        shared: &mut Shared<'_>,
    ) -> Next {
        self.timer = None;
        match kind {
            Kind::Header if !bufs.read.unconsumed().is_empty() => {
                self.reject(HttpError::HeaderTimeout, bufs, shared);
                self.drive(io, bufs, shared)
            }
            Kind::Body => {
                self.reject(HttpError::BodyTimeout, bufs, shared);
                self.drive(io, bufs, shared)
            }
            Kind::Header | Kind::Idle | Kind::Write | Kind::Linger => Next::Close,
        }
    }

    /// Give the connection the deadline of the state it is in. A deadline
    /// keeps running while the connection stays in the same kind of wait
    /// without progress, so a client that sends a head one byte at a time
    /// is cut at the header timeout in total.
    fn rearm(&mut self, bufs: &Buffers, owed: bool, clock: &Clock) {
        let wanted = match self.state {
            State::Lingering { .. } => Some(Kind::Linger),
            _ if owed => Some(Kind::Write),
            State::Head { .. } if self.fresh || !bufs.read.unconsumed().is_empty() => {
                Some(Kind::Header)
            }
            State::Head { .. } => Some(Kind::Idle),
            State::Body { .. } => Some(Kind::Body),
            State::Closing { .. } => None,
        };
        let same = self.timer.map(|(kind, _)| kind) == wanted;
        let progress = match wanted {
            Some(Kind::Write) => self.wrote,
            _ => self.touched,
        };
        // Progress in the same wait moves its deadline only once the move
        // is worth `lazy_by` of it: a busy keep-alive connection then
        // changes its place in the loop's deadline lists a few times per
        // timeout, not once per request (nginx's lazy timers, the same
        // idea). A deadline may so pass up to that much early.
        let lazy = |(kind, old): (Kind, Instant)| clock.due(kind).1 < old;
        if !same || (progress && !self.timer.is_some_and(lazy)) {
            self.timer = wanted.map(|kind| (kind, clock.due(kind).0));
        }
        self.touched = false;
        self.wrote = false;
    }

    fn drive(
        &mut self,
        io: &mut impl Transport,
        bufs: &mut Buffers,
        shared: &mut Shared<'_>,
    ) -> Next {
        if let Some(next) = self.drive_usual(io, bufs, shared) {
            return next;
        }
        loop {
            if let State::Lingering { dropped, .. } = &mut self.state {
                return linger(io, &mut bufs.read, dropped);
            }
            self.answer(bufs, shared);
            if io.pending() && !self.write_blocked {
                // The transport's own bytes (TLS records) go first.
                match io.flush_pending() {
                    Ok(flushed) => {
                        self.write_blocked = !flushed.done;
                        self.wrote |= flushed.wrote;
                    }
                    Err(e) => return self.fail(&e),
                }
            }
            if bufs.written < bufs.write.len() && !self.write_blocked {
                let before = bufs.written;
                match flush(io, bufs) {
                    Ok(done) => self.write_blocked = !done,
                    Err(e) => return self.fail(&e),
                }
                self.wrote |= bufs.written > before;
            }
            if bufs.written == bufs.write.len() {
                bufs.write.clear();
                bufs.written = 0;
                if self.file.is_some() {
                    // The socket took everything: the next piece of the file.
                    match self.next_piece(bufs) {
                        Ok(()) => continue,
                        Err(e) => {
                            eprintln!(
                                "netrunner: reading a file for {} failed mid-response ({e}); closing",
                                self.peer
                            );
                            return Next::Close;
                        }
                    }
                }
            }
            let flushed = bufs.written == bufs.write.len() && !io.pending();
            if let State::Closing { linger } = self.state {
                if !flushed {
                    return Next::Wait;
                }
                if !linger || self.peer_closed || io.shutdown_write().is_err() {
                    return Next::Close;
                }
                self.state = State::Lingering { dropped: 0 };
                continue;
            }
            if flushed && self.stalled {
                // `answer` stopped at the high-water mark with requests
                // still buffered; the output is gone, so answer them now
                // rather than wait for bytes that may never come.
                continue;
            }
            if self.peer_closed {
                // Answer what arrived before the FIN, then close: a partial
                // request can never complete.
                return if flushed { Next::Close } else { Next::Wait };
            }
            if self.draining
                && flushed
                && matches!(self.state, State::Head { .. })
                && bufs.read.unconsumed().is_empty()
            {
                return Next::Close;
            }
            // Read no more while answers wait behind queued output or a file
            // body: the client must take what it asked for first, and its
            // unread requests stay in the kernel, not in our memory.
            if !self.read_ready
                || bufs.write.len() - bufs.written >= WRITE_HIGH_WATER
                || self.file.is_some()
            {
                return Next::Wait;
            }
            match self.read(io, bufs) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Next::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.fail(&e),
            }
        }
    }

    /// The usual event of a keep-alive connection, in one pass: it waits
    /// for a request with nothing unread and nothing owed, and the socket
    /// has bytes. Read them, answer the whole requests among them, write the
    /// answers: the steps the general loop of [`Conn::drive`] takes in the
    /// same order, without its checks for what is not the case.
    ///
    /// `Some` when that settled the event. `None` hands whatever is left (a
    /// partial request, output the socket did not take, a closing
    /// connection, a file body, TLS, anything less usual) to the general
    /// loop, which picks up from the state this leaves.
    #[inline]
    fn drive_usual(
        &mut self,
        io: &mut impl Transport,
        bufs: &mut Buffers,
        shared: &mut Shared<'_>,
    ) -> Option<Next> {
        let usual = matches!(self.state, State::Head { .. })
            && self.read_ready
            && !self.write_blocked
            && !self.peer_closed
            && !self.draining
            && self.file.is_none()
            && bufs.write.is_empty()
            && bufs.read.unconsumed().is_empty()
            && !io.pending();
        if !usual {
            return None;
        }
        match self.read(io, bufs) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Some(Next::Wait),
            Err(e) if e.kind() == ErrorKind::Interrupted => return None,
            Err(e) => return Some(self.fail(&e)),
        }
        self.answer(bufs, shared);
        if bufs.write.is_empty() {
            return None;
        }
        match flush(io, bufs) {
            Ok(done) => self.write_blocked = !done,
            Err(e) => return Some(self.fail(&e)),
        }
        self.wrote |= bufs.written > 0;
        if self.write_blocked
            || self.read_ready
            || self.stalled
            || self.file.is_some()
            || io.pending()
            || !matches!(self.state, State::Head { .. })
        {
            return None;
        }
        bufs.write.clear();
        bufs.written = 0;
        Some(Next::Wait)
    }

    /// Read what the socket has onto the end of the read buffer, and take
    /// note: the end of the stream, the first byte (the header clock starts
    /// then), whether the socket may hold more.
    #[inline(always)]
    fn read(&mut self, io: &mut impl Transport, bufs: &mut Buffers) -> io::Result<usize> {
        let spare = bufs.read.spare();
        let room = spare.len();
        match io.read(spare) {
            Ok(0) => {
                self.peer_closed = true;
                self.read_ready = false;
                Ok(0)
            }
            Ok(n) => {
                bufs.read.filled(n);
                if self.fresh {
                    self.fresh = false;
                    self.touched = true;
                }
                // Edge-triggered readiness: a short read drained the
                // socket, and any later bytes raise a new event.
                self.read_ready = n == room || self.read_closed || !io.short_read_drains();
                Ok(n)
            }
            Err(e) => {
                if e.kind() == ErrorKind::WouldBlock {
                    self.read_ready = false;
                }
                Err(e)
            }
        }
    }

    /// Read the next piece of the file body onto the end of the write
    /// buffer.
    ///
    /// # Errors
    ///
    /// A read error, or a file that ends before its announced length (the
    /// head has gone out, so the connection can only be closed).
    fn next_piece(&mut self, bufs: &mut Buffers) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let want = file.len().min(FILE_PIECE as u64) as usize;
        let at = bufs.write.len();
        bufs.write.resize(at + want, 0);
        let read = loop {
            match file.file().read_at(&mut bufs.write[at..], file.start()) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match read {
            Ok(0) => Err(io::Error::new(
                ErrorKind::UnexpectedEof,
                "the file got shorter",
            )),
            other => other,
        };
        let n = n.inspect_err(|_| bufs.write.truncate(at))?;
        bufs.write.truncate(at + n);
        file.advance(n as u64);
        if file.is_empty() {
            self.file = None;
        }
        Ok(())
    }

    /// An I/O error ends this connection only. A peer that resets or goes
    /// away is expected and not logged; anything else is, once.
    fn fail(&self, e: &io::Error) -> Next {
        let expected = matches!(
            e.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::TimedOut
                | ErrorKind::NotConnected
                // A peer's TLS mistake: a bad record, plain HTTP to the TLS port.
                | ErrorKind::InvalidData
        );
        if !expected {
            eprintln!(
                "netrunner: I/O error on the connection from {}: {e}",
                self.peer
            );
        }
        Next::Close
    }

    /// Answer every whole request in the read buffer, in order.
    fn answer(&mut self, bufs: &mut Buffers, shared: &mut Shared<'_>) {
        self.stalled = false;
        loop {
            if bufs.write.len() - bufs.written >= WRITE_HIGH_WATER || self.file.is_some() {
                // Requests may wait behind this output; `drive` comes back
                // for them once it is written.
                self.stalled = true;
                return;
            }
            match &mut self.state {
                State::Head { parser } => {
                    let data = bufs.read.unconsumed();
                    if data.is_empty() {
                        return;
                    }
                    match parser.parse(data, shared.limits, &mut bufs.head) {
                        Ok(None) => return,
                        Ok(Some(head_len)) => match bufs.head.framing() {
                            Framing::None => {
                                bufs.body.clear();
                                self.respond(bufs, head_len, shared);
                                bufs.read.consume(head_len);
                            }
                            framing => {
                                bufs.body.clear();
                                // RFC 9110 §10.1.1: ask for the body only when
                                // none of it has been sent yet.
                                if bufs.head.expects_continue() && data.len() == head_len {
                                    encode_continue(&mut bufs.write);
                                }
                                self.state = State::Body {
                                    decoder: BodyDecoder::new(
                                        framing,
                                        shared.limits.max_body_bytes,
                                    ),
                                    head_len,
                                };
                            }
                        },
                        Err(err) => return self.reject(err, bufs, shared),
                    }
                }
                State::Body { decoder, head_len } => {
                    let head_len = *head_len;
                    let data = &bufs.read.unconsumed()[head_len..];
                    if data.is_empty() {
                        return;
                    }
                    match decoder.decode(data, &mut bufs.body) {
                        Ok(step) => {
                            self.touched |= step.consumed > 0;
                            bufs.read.remove(head_len, step.consumed);
                            if !step.done {
                                return;
                            }
                            self.state = State::Head {
                                parser: HeadParser::new(),
                            };
                            self.respond(bufs, head_len, shared);
                            bufs.read.consume(head_len);
                        }
                        Err(err) => return self.reject(err, bufs, shared),
                    }
                }
                State::Closing { .. } | State::Lingering { .. } => return,
            }
        }
    }

    /// Run the handler for the request whose head is the first `head_len`
    /// bytes of the read buffer and whose body is in `bufs.body`.
    fn respond(&mut self, bufs: &mut Buffers, head_len: usize, shared: &mut Shared<'_>) {
        // A request is complete: the next wait, of whatever kind, starts now.
        self.touched = true;
        let head = &bufs.head;
        let req = Request::new(head, &bufs.read.unconsumed()[..head_len], &bufs.body)
            .with_peer(self.peer)
            .with_tls(self.tls);
        let keep_alive = head.keep_alive() && !self.draining;
        let cx = ResponseContext {
            version: head.version(),
            keep_alive,
            head_request: head.method() == Method::Head,
        };
        let mark = bufs.write.len();
        let (heads, date, write) = (&mut *shared.heads, shared.date, &mut bufs.write);
        // The response is encoded where the handler returns it, inside the
        // unwind boundary: only its file body, if any, comes out.
        let answer = crate::handler::call(shared.handler, &req, |res| {
            heads.encode_response(&res, cx, date, write);
            match res.body {
                Body::File(file) if sends_body(&res, cx) => Some(file),
                _ => None,
            }
        });
        match answer {
            Ok(file) => {
                if let Some(file) = file {
                    let small = file.len() <= FILE_PIECE as u64;
                    self.file = (!file.is_empty()).then(|| Box::new(file));
                    // A small file goes out with its head, in one write.
                    if small && self.file.is_some() {
                        if let Err(e) = self.next_piece(bufs) {
                            // Nothing of it has gone out yet: answer 500.
                            eprintln!("netrunner: reading a file for {} failed ({e})", self.peer);
                            self.file = None;
                            bufs.write.truncate(mark);
                            let cx = ResponseContext {
                                keep_alive: false,
                                ..cx
                            };
                            let res =
                                Response::error(netrunner_wire::Status::INTERNAL_SERVER_ERROR);
                            encode_response(&res, cx, shared.date, &mut bufs.write);
                            self.state = State::Closing { linger: true };
                            return;
                        }
                    }
                }
                if !keep_alive {
                    // Anything the client sent after a `Connection: close`
                    // request is not answered; linger only if it sent some.
                    let more = bufs.read.unconsumed().len() > head_len;
                    self.state = State::Closing { linger: more };
                }
            }
            Err(message) => {
                eprintln!(
                    "netrunner: the handler panicked serving {} {} for {}: {message}",
                    req.method_str(),
                    req.target(),
                    self.peer
                );
                let res = Response::from_error(HttpError::HandlerPanicked);
                let cx = ResponseContext {
                    keep_alive: false,
                    ..cx
                };
                // Nothing of the failed answer stays, however far it got.
                bufs.write.truncate(mark);
                encode_response(&res, cx, shared.date, &mut bufs.write);
                self.state = State::Closing { linger: true };
            }
        }
    }

    /// Answer a request that cannot be framed, and close after it.
    fn reject(&mut self, err: HttpError, bufs: &mut Buffers, shared: &mut Shared<'_>) {
        let cx = ResponseContext {
            version: Version::Http11,
            keep_alive: false,
            head_request: false,
        };
        encode_response(&Response::from_error(err), cx, shared.date, &mut bufs.write);
        bufs.read.clear();
        self.state = State::Closing { linger: true };
    }
}

/// How far progress may push a deadline of length `d` before the deadline
/// is moved: a sixteenth of it, at most 250 ms.
fn lazy_by(d: Duration) -> Duration {
    const MOST: Duration = Duration::from_millis(250);
    // No division for the usual timeouts of seconds.
    if d >= 16 * MOST {
        MOST
    } else {
        d / 16
    }
}

/// `now + d`, or a time far enough away to mean "never" when a library
/// user's timeout is too large for the clock.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Write what is owed; `Ok(true)` when all of it went out.
#[inline(always)]
fn flush(io: &mut impl Transport, bufs: &mut Buffers) -> io::Result<bool> {
    while bufs.written < bufs.write.len() {
        match io.write(&bufs.write[bufs.written..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bufs.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Read and drop what the client sends after the response to an error.
fn linger(io: &mut impl Transport, read: &mut ReadBuf, dropped: &mut usize) -> Next {
    loop {
        read.clear();
        match io.read(read.spare()) {
            Ok(0) => return Next::Close,
            Ok(n) => {
                *dropped += n;
                if *dropped > LINGER_MAX_BYTES {
                    return Next::Close;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Next::Wait,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Next::Close,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use netrunner_wire::{Body, Status};

    use super::*;

    /// A scripted socket: reads hand out queued pieces, then `WouldBlock`
    /// (or EOF once `eof` is set); writes take at most `write_room` bytes
    /// before `WouldBlock`.
    #[derive(Default)]
    struct Script {
        input: VecDeque<Vec<u8>>,
        eof: bool,
        output: Vec<u8>,
        writes: usize,
        write_room: Option<usize>,
        shut: bool,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(piece) = self.input.front_mut() else {
                return if self.eof {
                    Ok(0)
                } else {
                    Err(ErrorKind::WouldBlock.into())
                };
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            piece.drain(..n);
            if piece.is_empty() {
                self.input.pop_front();
            }
            Ok(n)
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = match &mut self.write_room {
                Some(0) => return Err(ErrorKind::WouldBlock.into()),
                Some(room) => {
                    let n = buf.len().min(*room);
                    *room -= n;
                    n
                }
                None => buf.len(),
            };
            self.writes += 1;
            self.output.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for Script {
        fn shutdown_write(&mut self) -> io::Result<()> {
            self.shut = true;
            Ok(())
        }
    }

    /// A file of `len` bytes (`i % 251` each) under the temp directory.
    fn temp_file(name: &str, len: usize) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("netrunner-conn-{}-{name}", std::process::id()));
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn app(req: &Request<'_>) -> Response {
        if let Some(name) = req.path().strip_prefix("/file/") {
            let path =
                std::env::temp_dir().join(format!("netrunner-conn-{}-{name}", std::process::id()));
            let file = std::fs::File::open(&path).unwrap();
            let len = file.metadata().unwrap().len();
            // Announce the length it had when the test made it.
            let len = req.query().and_then(|q| q.parse().ok()).unwrap_or(len);
            return Response::with_body(
                Status::OK,
                "application/octet-stream",
                Body::File(FileBody::new(file, 0, len)),
            );
        }
        match req.path() {
            "/panic" => panic!("the handler failed on purpose"),
            "/echo" => {
                Response::with_body(Status::OK, "text/plain", Body::Bytes(req.body().to_vec()))
            }
            _ => Response::text(Status::OK, "hi"),
        }
    }

    struct Harness {
        conn: Conn,
        io: Script,
        pool: BufPool<Box<Buffers>>,
        limits: Limits,
        timeouts: Timeouts,
        date: HttpDate,
        heads: HeadCache,
        now: Instant,
    }

    const SECOND: Duration = Duration::from_secs(1);

    impl Harness {
        fn new() -> Harness {
            let now = Instant::now();
            let timeouts = Timeouts {
                header: 10 * SECOND,
                body: 20 * SECOND,
                idle: 30 * SECOND,
                write: 40 * SECOND,
            };
            Harness {
                conn: Conn::new(SocketAddr::from(([127, 0, 0, 1], 9)), now, &timeouts),
                io: Script::default(),
                pool: BufPool::new(4),
                limits: Limits::default(),
                timeouts,
                date: HttpDate::new(0),
                heads: HeadCache::new(),
                now,
            }
        }

        /// Let the connection's deadline pass and act on it.
        fn expire(&mut self) -> Next {
            let (kind, at) = self.conn.timer().expect("a deadline");
            self.now = at;
            self.drive(|conn, io, shared| conn.on_deadline(kind, io, shared))
        }

        /// Hand the connection the loop's shared state, as the loop does.
        fn drive(
            &mut self,
            input: impl FnOnce(&mut Conn, &mut Script, &mut Shared<'_>) -> Next,
        ) -> Next {
            let clock = Clock::new(self.now, self.timeouts);
            let mut shared = Shared {
                handler: &app,
                limits: &self.limits,
                clock: &clock,
                date: &self.date,
                heads: &mut self.heads,
                pool: &mut self.pool,
            };
            input(&mut self.conn, &mut self.io, &mut shared)
        }

        fn later(&mut self, by: Duration) {
            self.now += by;
        }

        fn kind(&self) -> Kind {
            self.conn.timer().expect("a deadline").0
        }

        fn due_in(&self) -> Duration {
            self.conn.timer().expect("a deadline").1 - self.now
        }

        fn send(&mut self, bytes: &[u8]) -> Next {
            self.io.input.push_back(bytes.to_vec());
            self.event(Ready {
                readable: true,
                ..Ready::default()
            })
        }

        fn event(&mut self, ready: Ready) -> Next {
            self.drive(|conn, io, shared| conn.on_ready(io, ready, shared))
        }

        fn output(&mut self) -> String {
            String::from_utf8(std::mem::take(&mut self.io.output)).unwrap()
        }
    }

    const DATE: &str = "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n";

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\n{DATE}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn answers_a_get_and_goes_idle_without_buffers() {
        let mut h = Harness::new();
        assert_eq!(h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Next::Wait);
        assert_eq!(h.output(), ok("hi"));
        assert!(h.conn.is_idle());
        assert!(!h.conn.holds_buffers());
        assert_eq!(h.pool.cached(), 1, "the buffers went back to the pool");
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_in_one_write() {
        let mut h = Harness::new();
        let req = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(h.send(req), Next::Wait);
        let echo = format!(
            "HTTP/1.1 200 OK\r\n{DATE}Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"
        );
        assert_eq!(h.output(), format!("{}{echo}{}", ok("hi"), ok("hi")));
        assert_eq!(h.io.writes, 1);
    }

    #[test]
    fn a_request_one_byte_at_a_time() {
        let mut h = Harness::new();
        let req = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n";
        for (i, b) in req.iter().enumerate() {
            assert_eq!(h.send(&[*b]), Next::Wait);
            if i + 1 < req.len() {
                assert!(h.io.output.is_empty(), "no answer before the end, at {i}");
                assert!(h.conn.holds_buffers());
            }
        }
        assert!(h.output().ends_with("\r\n\r\nabc"));
        assert!(h.conn.is_idle());
    }

    #[test]
    fn expect_continue_is_answered_before_the_body() {
        let mut h = Harness::new();
        h.send(
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        );
        assert_eq!(h.output(), "HTTP/1.1 100 Continue\r\n\r\n");
        h.send(b"ok");
        assert!(h.output().starts_with("HTTP/1.1 200 OK\r\n"));

        // When the body came with the head, no interim response.
        h.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok");
        assert!(h.output().starts_with("HTTP/1.1 200 OK\r\n"));
    }

    #[test]
    fn head_gets_the_get_headers_and_no_body() {
        let mut h = Harness::new();
        h.send(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.output(), ok("hi").strip_suffix("hi").unwrap());
    }

    #[test]
    fn a_bad_request_is_answered_once_then_lingers() {
        let mut h = Harness::new();
        let next =
            h.send(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert_eq!(next, Next::Wait);
        let out = h.output();
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"));
        assert_eq!(out.matches("HTTP/1.1").count(), 1, "one response: {out}");
        assert!(h.io.shut, "the write side is shut");
        assert_eq!(h.kind(), Kind::Linger);
        assert_eq!(h.due_in(), LINGER);
        // More input is dropped, not answered, and does not extend it.
        h.later(SECOND);
        assert_eq!(h.send(b"more garbage"), Next::Wait);
        assert!(h.io.output.is_empty());
        assert_eq!(h.due_in(), LINGER - SECOND);
        // The client's FIN closes it, or else the deadline does.
        let mut other = Harness::new();
        other.send(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(other.kind(), Kind::Linger);
        assert_eq!(other.expire(), Next::Close);
        h.io.eof = true;
        assert_eq!(
            h.event(Ready {
                readable: true,
                ..Ready::default()
            }),
            Next::Close
        );
    }

    #[test]
    fn statuses_of_rejections() {
        for (req, status) in [
            (&b"GET / HTTP/2.0\r\n\r\n"[..], "505"),
            (b"GET / HTTP/1.1\r\n\r\n", "400"),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
                "501",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n",
                "413",
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "400",
            ),
        ] {
            let mut h = Harness::new();
            h.send(req);
            let out = h.output();
            assert!(out.starts_with(&format!("HTTP/1.1 {status} ")), "{out}");
            assert!(out.contains("Connection: close\r\n"), "{out}");
        }
        let mut h = Harness::new();
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', 9000));
        h.send(&long);
        assert!(h.output().starts_with("HTTP/1.1 414 "));
    }

    #[test]
    fn a_panicking_handler_costs_its_connection_only() {
        let mut h = Harness::new();
        let next =
            h.send(b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(next, Next::Wait, "lingering");
        let out = h.output();
        assert!(
            out.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{out}"
        );
        assert!(out.contains("Connection: close\r\n"));
        assert_eq!(out.matches("HTTP/1.1").count(), 1);
        // Another connection of the same loop is unaffected.
        let mut other = Harness::new();
        other.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(other.output(), ok("hi"));
    }

    #[test]
    fn partial_writes_wait_for_writable() {
        let mut h = Harness::new();
        assert!(!h.conn.needs_write_events(), "nothing has blocked yet");
        h.io.write_room = Some(10);
        assert_eq!(h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Next::Wait);
        assert_eq!(h.io.output.len(), 10);
        assert!(h.conn.holds_buffers(), "owes bytes, keeps its buffers");
        // The first blocked write asks the loop for writable events, once.
        assert!(h.conn.needs_write_events());
        assert!(!h.conn.needs_write_events());
        h.io.write_room = None;
        assert_eq!(
            h.event(Ready {
                writable: true,
                ..Ready::default()
            }),
            Next::Wait
        );
        assert_eq!(h.output().len(), ok("hi").len());
        assert!(h.conn.is_idle());
        // Blocking again later asks nothing more: the events are on.
        h.io.write_room = Some(0);
        assert_eq!(h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Next::Wait);
        assert!(!h.conn.needs_write_events());
    }

    #[test]
    fn connection_close_and_http10() {
        let mut h = Harness::new();
        assert_eq!(
            h.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            Next::Close
        );
        assert!(h.output().contains("Connection: close\r\n"));

        let mut h = Harness::new();
        assert_eq!(h.send(b"GET / HTTP/1.0\r\n\r\n"), Next::Close);
        assert!(h.output().contains("Connection: close\r\n"));

        let mut h = Harness::new();
        assert_eq!(
            h.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
            Next::Wait
        );
        assert!(h.output().contains("Connection: keep-alive\r\n"));
    }

    #[test]
    fn a_peer_that_half_closes_gets_its_answers() {
        let mut h = Harness::new();
        h.io.input.push_back(
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
        );
        h.io.eof = true;
        let fin = Ready {
            readable: true,
            writable: false,
            read_closed: true,
        };
        assert_eq!(h.event(fin), Next::Close);
        assert_eq!(h.output(), format!("{}{}", ok("hi"), ok("hi")));
    }

    #[test]
    fn shutdown_closes_idle_and_finishes_busy_with_close() {
        let mut h = Harness::new();
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        h.output();
        assert_eq!(h.conn.on_shutdown(), Next::Close, "idle closes at once");

        let mut h = Harness::new();
        h.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab");
        assert_eq!(h.conn.on_shutdown(), Next::Wait, "busy finishes");
        assert_eq!(h.send(b"cd"), Next::Close);
        let out = h.output();
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert!(out.ends_with("abcd"));
    }

    #[test]
    fn a_new_connection_that_sends_nothing_is_closed_quietly_at_the_header_timeout() {
        let mut h = Harness::new();
        assert_eq!(h.kind(), Kind::Header);
        assert_eq!(h.due_in(), 10 * SECOND);
        assert!(h.conn.is_idle(), "it counts as idle for a shutdown");
        assert_eq!(h.expire(), Next::Close);
        assert!(h.io.output.is_empty());
    }

    #[test]
    fn the_header_timeout_counts_from_the_first_byte_in_total() {
        let mut h = Harness::new();
        h.later(3 * SECOND);
        h.send(b"GET / HT");
        assert_eq!(h.kind(), Kind::Header);
        assert_eq!(h.due_in(), 10 * SECOND, "restarted by the first byte");
        for _ in 0..5 {
            h.later(SECOND);
            h.send(b"T");
        }
        assert_eq!(h.due_in(), 5 * SECOND, "more bytes do not restart it");
        assert_eq!(h.expire(), Next::Wait, "answered, then lingering");
        let out = h.output();
        assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"));
        assert_eq!(h.kind(), Kind::Linger);
    }

    #[test]
    fn a_stalled_body_gets_408_and_progress_restarts_its_clock() {
        let mut h = Harness::new();
        h.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
        assert_eq!(h.kind(), Kind::Body);
        h.later(15 * SECOND);
        h.send(b"cd");
        assert_eq!(h.due_in(), 20 * SECOND, "progress restarts the wait");
        assert_eq!(h.expire(), Next::Wait);
        let out = h.output();
        assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"));
    }

    #[test]
    fn an_idle_keep_alive_connection_is_closed_quietly() {
        let mut h = Harness::new();
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        h.output();
        assert_eq!(h.kind(), Kind::Idle);
        assert_eq!(h.due_in(), 30 * SECOND);
        h.later(10 * SECOND);
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.due_in(), 30 * SECOND, "a request restarts the idle wait");
        assert_eq!(h.expire(), Next::Close);
        assert_eq!(h.output(), ok("hi"), "nothing more was written");
    }

    #[test]
    fn progress_moves_a_deadline_only_once_it_is_worth_it() {
        let mut h = Harness::new();
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.due_in(), 30 * SECOND);
        // 30 s idle: a move of less than 250 ms is not made.
        h.later(Duration::from_millis(200));
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.due_in(), 30 * SECOND - Duration::from_millis(200));
        h.later(Duration::from_millis(100));
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.due_in(), 30 * SECOND, "300 ms of progress moves it");
        assert_eq!(h.output(), ok("hi").repeat(3));
        assert_eq!(
            lazy_by(Duration::from_millis(300)),
            Duration::from_micros(18_750)
        );
        assert_eq!(lazy_by(60 * SECOND), Duration::from_millis(250));
    }

    #[test]
    fn a_client_that_does_not_read_is_cut_at_the_write_timeout() {
        let mut h = Harness::new();
        h.io.write_room = Some(10);
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.kind(), Kind::Write);
        assert_eq!(h.due_in(), 40 * SECOND);
        // The client takes a little: the wait starts again.
        h.later(30 * SECOND);
        h.io.write_room = Some(5);
        h.event(Ready {
            writable: true,
            ..Ready::default()
        });
        assert_eq!(h.kind(), Kind::Write);
        assert_eq!(h.due_in(), 40 * SECOND);
        assert_eq!(h.expire(), Next::Close);
    }

    #[test]
    fn a_pipelined_partial_head_starts_its_own_header_wait() {
        let mut h = Harness::new();
        h.later(5 * SECOND);
        h.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HT");
        assert_eq!(h.kind(), Kind::Header);
        assert_eq!(h.due_in(), 10 * SECOND);
        assert!(h.output().starts_with("HTTP/1.1 200 OK"));
    }

    #[test]
    fn a_request_behind_a_large_response_is_answered_once_the_output_drains() {
        let mut h = Harness::new();
        let big = vec![b'x'; WRITE_HIGH_WATER + 1];
        let mut req = format!(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            big.len()
        )
        .into_bytes();
        req.extend_from_slice(&big);
        req.extend_from_slice(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
        // One read takes it all; the socket then has nothing more to say.
        h.io.input.push_back(req);
        h.event(Ready {
            readable: true,
            ..Ready::default()
        });
        let out = h.output();
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "both answered");
        assert!(out.ends_with(&ok("hi")));
        assert!(h.conn.is_idle());
    }

    #[test]
    fn a_file_body_is_streamed_in_pieces_before_the_next_response() {
        let len = 5 * FILE_PIECE + 123;
        let path = temp_file("stream", len);
        let mut h = Harness::new();
        h.io.write_room = Some(10_000);
        h.send(
            b"GET /file/stream HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        assert!(h.io.output.len() <= 10_000, "no more than the socket took");
        assert!(h.conn.holds_buffers());
        // The client reads slowly: each writable event moves a little more.
        for _ in 0..1_000 {
            if h.conn.is_idle() {
                break;
            }
            h.io.write_room = Some(7_000);
            h.event(Ready {
                writable: true,
                ..Ready::default()
            });
        }
        assert!(h.conn.is_idle(), "everything was sent");
        let out = std::mem::take(&mut h.io.output);
        let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&out[..head_end]);
        assert!(
            head.contains(&format!("Content-Length: {len}\r\n")),
            "{head}"
        );
        let body = &out[head_end..head_end + len];
        assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        assert_eq!(String::from_utf8_lossy(&out[head_end + len..]), ok("hi"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_file_that_ends_early_closes_the_connection() {
        let path = temp_file("short", 1000);
        let mut h = Harness::new();
        // The response announces 5000 bytes; the file has 1000.
        let next = h.send(b"GET /file/short?5000 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(next, Next::Close);
        let out = String::from_utf8_lossy(&h.io.output).into_owned();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(out.contains("Content-Length: 5000\r\n"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn head_of_a_file_sends_no_bytes_of_it() {
        let path = temp_file("head", 100_000);
        let mut h = Harness::new();
        h.send(b"HEAD /file/head HTTP/1.1\r\nHost: a\r\n\r\n");
        let out = h.output();
        assert!(out.ends_with("Content-Length: 100000\r\n\r\n"), "{out}");
        assert!(h.conn.is_idle());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_client_that_sends_while_a_file_waits_is_not_read() {
        let path = temp_file("unread", 4 * FILE_PIECE);
        let mut h = Harness::new();
        h.io.write_room = Some(1_000);
        h.send(b"GET /file/unread HTTP/1.1\r\nHost: a\r\n\r\n");
        // The client never reads, and keeps sending pipelined requests.
        let flood = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(40_000);
        for _ in 0..10 {
            h.send(&flood);
        }
        let unread: usize = h.io.input.iter().map(Vec::len).sum();
        assert!(
            unread >= 10 * flood.len() - 64 * 1024,
            "the connection stopped reading: {unread} bytes left in the socket"
        );
        std::fs::remove_file(path).unwrap();
    }
}
