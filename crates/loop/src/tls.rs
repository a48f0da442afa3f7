//! TLS as a byte transform under the connection state machine: a rustls
//! server connection between the socket and [`Conn`](crate::conn), so that
//! HTTPS has the same parser, deadlines, cap and shutdown as plain HTTP.
//!
//! [`TlsConfig::from_pem_files`] loads a certificate chain and a private
//! key (RSA, ECDSA or Ed25519, PEM) and checks that they belong together;
//! [`TlsStream`] is the transport: reads decrypt, writes encrypt, and
//! whatever rustls still holds to send is flushed when the socket takes it.

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

use crate::conn::{Flushed, Transport};

/// A certificate and key that could not be used, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key does not belong to the certificate, or rustls refused them.
    #[error("{cert} and {key} do not go together: {reason}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A server's TLS settings, ready to accept with.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl TlsConfig {
    /// Load the certificate chain in `cert` and the private key in `key`
    /// (PEM), offering ALPN `http/1.1`.
    ///
    /// # Errors
    ///
    /// [`TlsError::File`] for a missing, unreadable or empty file, or one
    /// that is not PEM of the right kind; [`TlsError::Mismatch`] when the key
    /// is not the certificate's.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let file_error = |path: &Path, reason: String| TlsError::File {
            path: path.to_path_buf(),
            reason,
        };
        std::fs::metadata(cert).map_err(|e| file_error(cert, e.to_string()))?;
        std::fs::metadata(key).map_err(|e| file_error(key, e.to_string()))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| file_error(cert, e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(file_error(cert, "no CERTIFICATE in the file".into()));
        }
        let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            file_error(
                key,
                format!("no usable private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
            )
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| file_error(cert, e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| TlsError::Mismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                reason: e.to_string(),
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            config: Arc::new(config),
        })
    }

    pub(crate) fn accept(&self, tcp: TcpStream) -> io::Result<TlsStream> {
        let tls = ServerConnection::new(Arc::clone(&self.config)).map_err(io::Error::other)?;
        Ok(TlsStream {
            tcp,
            tls,
            tcp_eof: false,
            write_shut: false,
        })
    }
}

/// A TCP socket with a rustls server connection over it.
#[derive(Debug)]
pub(crate) struct TlsStream {
    pub(crate) tcp: TcpStream,
    tls: ServerConnection,
    tcp_eof: bool,
    /// Our FIN has been sent (`shutdown_write`): nothing more can go out,
    /// and whatever rustls still holds (a close_notify the full socket did
    /// not take) is given up rather than written into an EPIPE.
    write_shut: bool,
}

/// A peer's TLS mistake (a bad record, plain HTTP to the TLS port) ends its
/// connection; it is the peer's fault, not the server's.
fn protocol_error(e: rustls::Error) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// Send what rustls holds for the peer, as far as the socket takes it.
    /// `Ok(true)` when nothing is left.
    fn flush_tls(&mut self) -> io::Result<bool> {
        self.flush_counting().map(|f| f.done)
    }

    fn flush_counting(&mut self) -> io::Result<Flushed> {
        let mut wrote = false;
        while self.tls.wants_write() && !self.write_shut {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(n) => wrote |= n > 0,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return Ok(Flushed { done: false, wrote })
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Flushed { done: true, wrote })
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                // Ok(0) is the peer's close_notify: the end of the stream.
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // A TCP FIN without close_notify (common among clients) ends
                // the stream like a plain FIN: requests already whole are
                // answered, and HTTP framing refuses any cut-off one.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.tcp_eof {
                return Ok(0);
            }
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => self.tcp_eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // The handshake may owe the peer a flight: send it now,
                    // or the peer never sends what we wait for.
                    self.flush_tls()?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            if let Err(e) = self.tls.process_new_packets() {
                // rustls queued an alert for the peer; try to send it.
                let _ = self.flush_tls();
                return Err(protocol_error(e));
            }
            self.flush_tls()?;
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Keep at most one batch of records waiting inside rustls: when the
        // socket has not taken the last one, the caller waits for writable.
        if !self.flush_tls()? {
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = self.tls.writer().write(buf)?;
        self.flush_tls()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls().map(|_| ())
    }
}

impl Transport for TlsStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        // The close_notify goes out if the socket takes it; the FIN goes
        // out either way, so a lingering connection's reads never try to
        // write after it.
        self.tls.send_close_notify();
        self.flush_tls()?;
        self.tcp.shutdown(Shutdown::Write)?;
        self.write_shut = true;
        Ok(())
    }

    fn pending(&self) -> bool {
        self.tls.wants_write() && !self.write_shut
    }

    fn flush_pending(&mut self) -> io::Result<Flushed> {
        self.flush_counting()
    }

    fn close_notify(&mut self) {
        self.tls.send_close_notify();
        let _ = self.flush_tls();
    }

    /// TLS reads the socket a record at a time: a short read of plaintext
    /// may leave bytes in the socket, and no new event will announce them.
    fn short_read_drains(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream as StdStream};

    use rustls::pki_types::ServerName;
    use rustls::{ClientConfig, ClientConnection, RootCertStore};

    use super::*;

    /// A server `TlsStream` and a rustls client over loopback, handshake
    /// done; the client's socket does not block.
    fn pair() -> (TlsStream, ClientConnection, StdStream) {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = std::env::temp_dir().join(format!("netrunner-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, key.cert.pem()).unwrap();
        std::fs::write(&key_file, key.signing_key.serialize_pem()).unwrap();
        let config = TlsConfig::from_pem_files(&cert, &key_file).unwrap();
        let _ = std::fs::remove_dir_all(&dir);

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sock = StdStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        accepted.set_nonblocking(true).unwrap();
        sock.set_nonblocking(true).unwrap();
        let mut server = config.accept(TcpStream::from_std(accepted)).unwrap();

        let mut roots = RootCertStore::empty();
        roots.add(key.cert.der().clone()).unwrap();
        let client_config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        let mut client = ClientConnection::new(
            Arc::new(client_config),
            ServerName::try_from("localhost").unwrap(),
        )
        .unwrap();
        let mut buf = [0u8; 1024];
        for _ in 0..1000 {
            if !client.is_handshaking() && !server.tls.is_handshaking() {
                return (server, client, sock);
            }
            while client.wants_write() {
                client.write_tls(&mut sock).unwrap();
            }
            // Reads the client's flight and sends the server's.
            let _ = server.read(&mut buf);
            match client.read_tls(&mut sock) {
                Ok(_) => {
                    client.process_new_packets().unwrap();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => panic!("client read: {e}"),
            }
        }
        panic!("the handshake did not finish");
    }

    /// Lingering after an error response: our write side is shut while
    /// rustls still holds records the full socket did not take. What it
    /// holds is given up; the reads that drain the client's late bytes
    /// must not fail trying to write it (they once did, with EPIPE, and
    /// the connection closed on unread bytes, which resets it).
    #[test]
    fn after_shutdown_write_reads_do_not_try_to_write() {
        let (mut server, mut client, mut sock) = pair();
        let chunk = vec![b'x'; 16 * 1024];
        let mut filled = false;
        for _ in 0..20_000 {
            match server.write(&chunk) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    filled = true;
                    break;
                }
                Err(e) => panic!("server write: {e}"),
            }
        }
        assert!(filled, "the socket never filled");
        assert!(server.pending(), "records wait inside rustls");

        server.shutdown_write().unwrap();
        assert!(!server.pending(), "nothing can go out after the FIN");
        assert!(server.flush_pending().unwrap().done);

        // The client, not reading yet, sends a little more.
        client.writer().write_all(b"late bytes").unwrap();
        while client.wants_write() {
            client.write_tls(&mut sock).unwrap();
        }
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        for _ in 0..1000 {
            match server.read(&mut buf) {
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.len() >= 10 {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => panic!("a read after shutdown_write failed: {e}"),
            }
        }
        assert_eq!(got, b"late bytes");
    }
}
