//! [`Socket`]: what a connection runs over, plain TCP or TLS over TCP.

use std::io;

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::conn::Transport;
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

    /// A TLS connection about to be closed tells its peer (best effort).
    pub(crate) fn close_notify(&mut self) {
        if let Socket::Tls(tls) = self {
            tls.close_notify();
        }
    }

    fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Socket::Plain(tcp) => tcp,
            Socket::Tls(tls) => &mut tls.tcp,
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
