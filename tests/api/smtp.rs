//! Mail over a real SMTP server (Python's aiosmtpd) on 127.0.0.1.

use std::{net::TcpListener, process::Stdio, time::Duration};

use serde_json::json;

use crate::{
    both_backends,
    helpers::{Backend, SpawnOptions, decode_mail, spawn_app_with},
};

both_backends!(a_verification_email_arrives_through_a_real_smtp_server);

/// A running aiosmtpd that stores messages in a maildir.
struct SmtpSink {
    child: tokio::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let child = tokio::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 -m aiosmtpd (installed by make setup)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self { child, port, dir };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// Messages received so far.
    fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir").join("new");
        std::fs::read_dir(new)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn a_verification_email_arrives_through_a_real_smtp_server(backend: Backend) {
    let mut sink = SmtpSink::start().await;
    let app = spawn_app_with(
        backend,
        SpawnOptions {
            env: vec![("ADMIT_SMTP_URL", format!("smtp://127.0.0.1:{}", sink.port))],
            ..SpawnOptions::default()
        },
    )
    .await;

    let r = app
        .post_json("/api/v1/auth/register", json!({"name": "Dwi Ayu Lestari", "email": "dwi@example.com", "password": "Str0ng!pass"}))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(app.run_jobs().await, 1);

    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "one message reached the SMTP server");
    let raw = &messages[0];
    assert!(raw.contains("To: dwi@example.com"));
    assert!(raw.contains("From: admit <tickets@admit.localhost>"));
    assert!(
        raw.contains("multipart/alternative")
            && raw.contains("text/html")
            && raw.contains("text/plain")
    );
    let text = decode_mail(raw);
    assert!(text.contains("Hi Dwi Ayu Lestari,") && text.contains("Your verification code is"));
    assert!(
        crate::helpers::sent_mail(&app).is_empty(),
        "no file mail when SMTP is configured"
    );
    let _ = sink.child.kill().await;
    app.finish().await;
}
