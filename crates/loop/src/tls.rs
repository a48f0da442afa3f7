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
        })
    }
}

/// A TCP socket with a rustls server connection over it.
#[derive(Debug)]
pub(crate) struct TlsStream {
    pub(crate) tcp: TcpStream,
    tls: ServerConnection,
    tcp_eof: bool,
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
        while self.tls.wants_write() {
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
        self.tls.send_close_notify();
        self.flush_tls()?;
        self.tcp.shutdown(Shutdown::Write)
    }

    fn pending(&self) -> bool {
        self.tls.wants_write()
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
