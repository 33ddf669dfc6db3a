//! HTTPS without a reverse proxy, for the door: phone browsers give the
//! camera only to secure pages, so a scanner on the venue's LAN needs HTTPS.
//! `ADMIT_TLS=self-signed` makes (once) a self-signed certificate under
//! `data/tls/` for the public URL's host, `localhost` and the bind address,
//! and serves it. Production terminates TLS at a reverse proxy instead.

use std::{net::SocketAddr, path::Path};

use anyhow::Context;

/// The certificate and key files under the data directory.
pub fn paths(data_dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// The names the certificate is for.
fn subject_names(public_url: &str, site_addr: SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let host = public_url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    // Strip the port (an IPv6 host is in brackets).
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
    .trim_start_matches('[')
    .trim_end_matches(']');
    if !host.is_empty() {
        names.push(host.to_owned());
    }
    if !site_addr.ip().is_unspecified() {
        names.push(site_addr.ip().to_string());
    }
    names.sort();
    names.dedup();
    names
}

/// The self-signed certificate and key (PEM), made on first use.
pub fn self_signed(
    data_dir: &Path,
    public_url: &str,
    site_addr: SocketAddr,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let (cert_path, key_path) = paths(data_dir);
    if let (Ok(cert), Ok(key)) = (std::fs::read(&cert_path), std::fs::read(&key_path)) {
        return Ok((cert, key));
    }
    let names = subject_names(public_url, site_addr);
    let made = rcgen::generate_simple_self_signed(names.clone())
        .context("while making a self-signed certificate")?;
    let dir = cert_path.parent().expect("a tls directory");
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    std::fs::write(&cert_path, made.cert.pem())
        .with_context(|| format!("while writing {}", cert_path.display()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    {
        use std::io::Write;
        let mut f = opts
            .open(&key_path)
            .with_context(|| format!("while writing {}", key_path.display()))?;
        f.write_all(made.key_pair.serialize_pem().as_bytes())?;
    }
    tracing::info!(cert = %cert_path.display(), names = ?names, "made a self-signed TLS certificate");
    Ok((
        made.cert.pem().into_bytes(),
        made.key_pair.serialize_pem().into_bytes(),
    ))
}

/// The rustls configuration for a certificate and key.
pub async fn config(
    cert: Vec<u8>,
    key: Vec<u8>,
) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    // One process-wide crypto provider (ring, as the rest of admit uses).
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem(cert, key)
        .await
        .context("while loading the TLS certificate")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_certificate_names_the_public_host_and_the_bind_address() {
        let names = super::subject_names(
            "https://192.168.1.20:3443/",
            "0.0.0.0:3443".parse().unwrap(),
        );
        assert_eq!(names, ["127.0.0.1", "192.168.1.20", "localhost"]);
        let names = super::subject_names("https://door.local", "10.0.0.5:443".parse().unwrap());
        assert_eq!(names, ["10.0.0.5", "127.0.0.1", "door.local", "localhost"]);
    }
}
