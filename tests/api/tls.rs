//! HTTPS for the door on a LAN: `ADMIT_TLS=self-signed` makes a certificate
//! once into `data/tls/` and serves HTTPS with it.

use crate::helpers::{Backend, SpawnOptions, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_tls_serves_https_with_a_certificate_made_once() {
    let app = spawn_app_with(
        Backend::Sqlite,
        SpawnOptions {
            settings: Some(Box::new(|s| {
                s.tls = admit::config::TlsMode::SelfSigned;
                s.public_url = s.public_url.replace("http://", "https://");
            })),
            ..SpawnOptions::default()
        },
    )
    .await;
    let https = app.url.replace("http://", "https://");
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = client.get(format!("{https}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Plain HTTP is not served on that port.
    assert!(reqwest::get(format!("{}/healthz", app.url)).await.is_err());
    let (cert, key) = admit::http::tls::paths(&app.db.data_dir());
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the private key is readable by its owner only");
    }
    // A restart reuses the certificate (phones accepted it once).
    let again = admit::http::tls::self_signed(
        &app.db.data_dir(),
        &app.state.config.settings.public_url,
        app.state.config.settings.site_addr,
    )
    .unwrap();
    assert_eq!(again.0, pem.into_bytes());
    app.finish().await;
}
