//! [`Socket`]: what a connection runs over, plain TCP or TLS over TCP.

use std::io::{self, Read, Write};

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::conn::{Flushed, Transport};
use crate::tls::TlsStream;

/// A connection's socket: one enum, so each loop keeps one kind of entry
/// and `Conn` is written once for both.
#[derive(Debug)]
pub(crate) enum Socket {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

impl Socket {
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Socket::Tls(_))
    }

    fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Socket::Plain(tcp) => tcp,
            Socket::Tls(tls) => &mut tls.tcp,
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Plain(tcp) => tcp.read(buf),
            Socket::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Plain(tcp) => tcp.write(buf),
            Socket::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Plain(tcp) => tcp.flush(),
            Socket::Tls(tls) => tls.flush(),
        }
    }
}

impl Transport for Socket {
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Socket::Plain(tcp) => tcp.shutdown_write(),
            Socket::Tls(tls) => tls.shutdown_write(),
        }
    }

    fn pending(&self) -> bool {
        match self {
            Socket::Plain(_) => false,
            Socket::Tls(tls) => tls.pending(),
        }
    }

    fn flush_pending(&mut self) -> io::Result<Flushed> {
        match self {
            Socket::Plain(_) => Ok(Flushed {
                done: true,
                wrote: false,
            }),
            Socket::Tls(tls) => tls.flush_pending(),
        }
    }

    fn close_notify(&mut self) {
        if let Socket::Tls(tls) = self {
            tls.close_notify();
        }
    }

    fn short_read_drains(&self) -> bool {
        match self {
            Socket::Plain(tcp) => tcp.short_read_drains(),
            Socket::Tls(tls) => tls.short_read_drains(),
        }
    }
}

impl Source for Socket {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.tcp().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.tcp().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.tcp().deregister(registry)
    }
}
