//! The `Mailer`: lettre over SMTP in production, `.eml` files under
//! `data/mail/` in development. Messages always have a text and an HTML part.

use std::path::PathBuf;

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, header::ContentType},
};

use crate::store::BoxFuture;

/// One message, ready to send.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (already escaped).
    pub html: String,
    /// Files attached (tickets' PDFs, calendar entries).
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a message.
#[derive(Clone, Debug)]
pub struct MailAttachment {
    /// The file name the recipient sees.
    pub filename: String,
    /// Its MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Sends mail.
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message.
    fn send(&self, mail: OutgoingMail) -> BoxFuture<'_, anyhow::Result<()>>;
}

fn build(from: &Mailbox, mail: &OutgoingMail) -> anyhow::Result<Message> {
    let to: Mailbox = mail
        .to
        .parse()
        .with_context(|| "while parsing a recipient address")?;
    let body = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
    let body = if mail.attachments.is_empty() {
        body
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &mail.attachments {
            let kind = ContentType::parse(&a.content_type)
                .with_context(|| format!("while reading the type of attachment {}", a.filename))?;
            mixed =
                mixed.singlepart(Attachment::new(a.filename.clone()).body(a.bytes.clone(), kind));
        }
        mixed
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(body)
        .context("while building an email")
}

/// Development transport: each message becomes `<id>.eml` in a directory.
pub struct FileMailer {
    from: Mailbox,
    dir: PathBuf,
    transport: AsyncFileTransport<Tokio1Executor>,
}

impl FileMailer {
    /// Writes messages into `dir` (created if missing).
    pub fn new(from: &str, dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("while creating {}", dir.display()))?;
        Ok(Self {
            from: from
                .parse()
                .context("mail_from (ADMIT_MAIL_FROM) is not a valid address")?,
            transport: AsyncFileTransport::new(&dir),
            dir,
        })
    }
}

impl Mailer for FileMailer {
    fn send(&self, mail: OutgoingMail) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let message = build(&self.from, &mail)?;
            let id = self
                .transport
                .send(message)
                .await
                .context("while writing an email file")?;
            tracing::info!(
                path = %self.dir.join(format!("{id}.eml")).display(),
                to = %crate::telemetry::mask_email(&mail.to),
                "email written to a file (development mail)"
            );
            Ok(())
        })
    }
}

/// Production transport: SMTP from a URL such as
/// `smtps://user:pass@smtp.example.com` or `smtp://127.0.0.1:2525`.
pub struct SmtpMailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// Builds the transport from `ADMIT_SMTP_URL`.
    pub fn new(from: &str, url: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("ADMIT_SMTP_URL is not a valid SMTP URL")?
            .build();
        Ok(Self {
            from: from
                .parse()
                .context("mail_from (ADMIT_MAIL_FROM) is not a valid address")?,
            transport,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: OutgoingMail) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let message = build(&self.from, &mail)?;
            self.transport
                .send(message)
                .await
                .context("while sending an email over SMTP")?;
            tracing::info!(to = %crate::telemetry::mask_email(&mail.to), "email sent over SMTP");
            Ok(())
        })
    }
}

/// Escapes text for HTML bodies.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
