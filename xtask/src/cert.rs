//! `cargo xtask cert [DIR]`: a self-signed certificate and key for local
//! HTTPS, so the README can show TLS in two commands without openssl.

use std::fs;
use std::path::Path;

use crate::{root, Result};

/// Write `DIR/cert.pem` and `DIR/key.pem` (relative to the workspace root)
/// for `localhost`, `127.0.0.1` and `::1`.
pub(crate) fn write(dir: &str) -> Result {
    let dir = root().join(dir);
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cert: cannot make a certificate: {e}"))?;
    fs::create_dir_all(&dir).map_err(|e| format!("cert: {}: {e}", dir.display()))?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    save(&cert, &certified.cert.pem())?;
    save(&key, &certified.signing_key.serialize_pem())?;
    println!("wrote {} and {}", cert.display(), key.display());
    println!(
        "run: cargo run --release -p netrunner-server -- --tls-cert {} --tls-key {}",
        cert.display(),
        key.display()
    );
    Ok(())
}

fn save(path: &Path, text: &str) -> Result {
    fs::write(path, text).map_err(|e| format!("cert: {}: {e}", path.display()))
}
