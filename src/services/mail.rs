//! Emails as outbox jobs: services queue a `send_email` job in the same
//! transaction as the change that causes it; the worker renders the
//! template in the recipient's language and hands it to the `Mailer`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    domain::{Timestamp, money::Lang},
    integrations::mail::{OutgoingMail, escape_html},
    store::NewJob,
};

/// The job kind.
pub const SEND_EMAIL: &str = "send_email";

/// The templates admit sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// The 6-digit verification code (`name`, `code`).
    VerifyEmail,
    /// Organizer application approved (`name`, `org`, `reason`, `url`).
    ApplicationApproved,
    /// Organizer application rejected (`name`, `org`, `reason`).
    ApplicationRejected,
    /// Invitation to join as door staff (`org`, `inviter`, `url`).
    StaffInvitation,
    /// An order is paid (`event`, `when`, `tickets`, `total`, `url`).
    OrderConfirmed,
    /// A 6-digit sign-in code (`name`, `code`).
    SignInCode,
    /// A password-reset link (`name`, `url`).
    PasswordReset,
    /// The buyer's tickets, attached (`event`, `when`, `tickets`, `url`).
    TicketsIssued,
    /// One attendee's ticket, attached (`name`, `event`, `when`, `buyer`).
    TicketForAttendee,
    /// Tickets could not be issued yet (`event`, `url`).
    TicketsDelayed,
    /// A ticket was replaced by a new one, attached (`name`, `event`, `when`).
    TicketReissued,
    /// An order was refunded by the organizer (`event`, `total`).
    OrderRefunded,
}

/// A file to attach, read from the file store when the message is sent (or
/// given inline, for small text such as a calendar entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// The file name the recipient sees.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Where the bytes are (file store key)…
    #[serde(default)]
    pub file_key: Option<String>,
    /// …or the text itself.
    #[serde(default)]
    pub inline: Option<String>,
}

/// The job payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmailJob {
    /// Recipient.
    pub to: String,
    /// Language of the message.
    pub lang: Lang,
    /// Which message.
    pub template: Template,
    /// Template variables.
    pub vars: Value,
    /// Files to attach.
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

/// A `send_email` job for the outbox.
pub fn job(to: &str, lang: Lang, template: Template, vars: Value, now: Timestamp) -> NewJob {
    NewJob {
        kind: SEND_EMAIL.into(),
        payload: json!(EmailJob {
            to: to.to_owned(),
            lang,
            template,
            vars,
            attachments: Vec::new(),
        }),
        run_at: now,
        dedupe_key: None,
        max_attempts: 8,
    }
}

fn var<'a>(vars: &'a Value, key: &str) -> &'a str {
    vars.get(key).and_then(Value::as_str).unwrap_or("")
}

fn num(vars: &Value, key: &str) -> i64 {
    vars.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// Renders a job and loads its attachments from the file store. A missing
/// file fails the job, so it is retried (the file may not be written yet).
pub async fn prepare(
    state: &crate::state::AppState,
    job: &EmailJob,
) -> anyhow::Result<OutgoingMail> {
    let mut mail = render(job);
    for a in &job.attachments {
        let bytes = match (&a.file_key, &a.inline) {
            (Some(key), _) => state
                .files
                .get(key)
                .await?
                .ok_or_else(|| anyhow::anyhow!("attachment {key} is not in the file store"))?,
            (None, Some(text)) => text.clone().into_bytes(),
            (None, None) => anyhow::bail!("attachment {} has no content", a.filename),
        };
        mail.attachments
            .push(crate::integrations::mail::MailAttachment {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                bytes,
            });
    }
    Ok(mail)
}

/// Renders a job into a message: subject, text and HTML in its language.
pub fn render(job: &EmailJob) -> OutgoingMail {
    let v = &job.vars;
    let (subject, lines): (String, Vec<String>) = match (job.template, job.lang) {
        (Template::VerifyEmail, Lang::En) => (
            format!("Your admit code: {}", var(v, "code")),
            vec![
                format!("Hi {},", var(v, "name")),
                format!("Your verification code is {}.", var(v, "code")),
                "It works once, for 10 minutes. If you did not sign up for admit, ignore this email.".into(),
            ],
        ),
        (Template::VerifyEmail, Lang::Id) => (
            format!("Kode admit Anda: {}", var(v, "code")),
            vec![
                format!("Halo {},", var(v, "name")),
                format!("Kode verifikasi Anda adalah {}.", var(v, "code")),
                "Kode ini hanya berlaku sekali, selama 10 menit. Jika Anda tidak mendaftar di admit, abaikan email ini."
                    .into(),
            ],
        ),
        (Template::ApplicationApproved, Lang::En) => (
            format!("{} is approved as an organizer", var(v, "org")),
            vec![
                format!("Hi {},", var(v, "name")),
                format!("Good news: {} can now create and sell events on admit.", var(v, "org")),
                format!("Note from the admin: {}", var(v, "reason")),
                format!("Open your dashboard: {}", var(v, "url")),
            ],
        ),
        (Template::ApplicationApproved, Lang::Id) => (
            format!("{} disetujui sebagai penyelenggara", var(v, "org")),
            vec![
                format!("Halo {},", var(v, "name")),
                format!("Kabar baik: {} sekarang dapat membuat dan menjual acara di admit.", var(v, "org")),
                format!("Catatan dari admin: {}", var(v, "reason")),
                format!("Buka dasbor Anda: {}", var(v, "url")),
            ],
        ),
        (Template::ApplicationRejected, Lang::En) => (
            format!("Your organizer application for {}", var(v, "org")),
            vec![
                format!("Hi {},", var(v, "name")),
                format!("We could not approve {} as an organizer.", var(v, "org")),
                format!("Reason: {}", var(v, "reason")),
                "You can apply again with the missing details.".into(),
            ],
        ),
        (Template::ApplicationRejected, Lang::Id) => (
            format!("Pengajuan penyelenggara untuk {}", var(v, "org")),
            vec![
                format!("Halo {},", var(v, "name")),
                format!("Kami belum dapat menyetujui {} sebagai penyelenggara.", var(v, "org")),
                format!("Alasan: {}", var(v, "reason")),
                "Anda dapat mengajukan lagi dengan melengkapi data.".into(),
            ],
        ),
        (Template::StaffInvitation, Lang::En) => (
            format!("Join {} as door staff on admit", var(v, "org")),
            vec![
                format!("{} invited you to scan tickets for {}.", var(v, "inviter"), var(v, "org")),
                format!("Accept by signing in or creating an account with this email: {}", var(v, "url")),
                "The invitation is valid for 7 days.".into(),
            ],
        ),
        (Template::StaffInvitation, Lang::Id) => (
            format!("Bergabung dengan {} sebagai petugas pintu di admit", var(v, "org")),
            vec![
                format!("{} mengundang Anda untuk memindai tiket {}.", var(v, "inviter"), var(v, "org")),
                format!("Terima dengan masuk atau membuat akun dengan email ini: {}", var(v, "url")),
                "Undangan berlaku selama 7 hari.".into(),
            ],
        ),
        (Template::OrderConfirmed, Lang::En) => (
            format!("Your tickets for {}", var(v, "event")),
            vec![
                format!("Your order for {} is confirmed.", var(v, "event")),
                format!("When: {}", var(v, "when")),
                format!("Tickets: {} · Total paid: {}", num(v, "tickets"), var(v, "total")),
                format!("Your order: {}", var(v, "url")),
            ],
        ),
        (Template::OrderConfirmed, Lang::Id) => (
            format!("Tiket Anda untuk {}", var(v, "event")),
            vec![
                format!("Pesanan Anda untuk {} telah dikonfirmasi.", var(v, "event")),
                format!("Waktu: {}", var(v, "when")),
                format!("Tiket: {} · Total dibayar: {}", num(v, "tickets"), var(v, "total")),
                format!("Pesanan Anda: {}", var(v, "url")),
            ],
        ),
        (Template::TicketsIssued, Lang::En) => (
            format!("Your e-tickets for {}", var(v, "event")),
            vec![
                format!("Your {} e-ticket(s) for {} are attached, with a calendar entry.", num(v, "tickets"), var(v, "event")),
                format!("When: {}", var(v, "when")),
                "Show the QR code at the door, on your phone or printed.".into(),
                format!("Your tickets: {}", var(v, "url")),
            ],
        ),
        (Template::TicketsIssued, Lang::Id) => (
            format!("E-tiket Anda untuk {}", var(v, "event")),
            vec![
                format!("{} e-tiket Anda untuk {} terlampir, beserta entri kalender.", num(v, "tickets"), var(v, "event")),
                format!("Waktu: {}", var(v, "when")),
                "Tunjukkan kode QR di pintu masuk, di ponsel atau dicetak.".into(),
                format!("Tiket Anda: {}", var(v, "url")),
            ],
        ),
        (Template::TicketForAttendee, Lang::En) => (
            format!("Your ticket for {}", var(v, "event")),
            vec![
                format!("Hi {},", var(v, "name")),
                format!("{} bought you a ticket for {}. It is attached, with a calendar entry.", var(v, "buyer"), var(v, "event")),
                format!("When: {}", var(v, "when")),
                "Show the QR code at the door, on your phone or printed.".into(),
            ],
        ),
        (Template::TicketForAttendee, Lang::Id) => (
            format!("Tiket Anda untuk {}", var(v, "event")),
            vec![
                format!("Halo {},", var(v, "name")),
                format!("{} membelikan Anda tiket untuk {}. Tiket terlampir, beserta entri kalender.", var(v, "buyer"), var(v, "event")),
                format!("Waktu: {}", var(v, "when")),
                "Tunjukkan kode QR di pintu masuk, di ponsel atau dicetak.".into(),
            ],
        ),
        (Template::TicketsDelayed, Lang::En) => (
            format!("Your tickets for {} will follow", var(v, "event")),
            vec![
                format!("Your order for {} is paid and safe.", var(v, "event")),
                "We could not prepare your e-tickets yet. Our team has been told and will send them to you shortly; there is nothing you need to do.".into(),
                format!("Your order: {}", var(v, "url")),
            ],
        ),
        (Template::TicketsDelayed, Lang::Id) => (
            format!("Tiket Anda untuk {} akan menyusul", var(v, "event")),
            vec![
                format!("Pesanan Anda untuk {} sudah dibayar dan aman.", var(v, "event")),
                "E-tiket Anda belum dapat kami siapkan. Tim kami sudah diberi tahu dan akan segera mengirimkannya; Anda tidak perlu melakukan apa pun.".into(),
                format!("Pesanan Anda: {}", var(v, "url")),
            ],
        ),
        (Template::TicketReissued, Lang::En) => (
            format!("Your new ticket for {}", var(v, "event")),
            vec![
                format!("Hi {},", var(v, "name")),
                format!("Your ticket for {} was replaced by the organizer. The new one is attached; the old one no longer works.", var(v, "event")),
                format!("When: {}", var(v, "when")),
            ],
        ),
        (Template::TicketReissued, Lang::Id) => (
            format!("Tiket baru Anda untuk {}", var(v, "event")),
            vec![
                format!("Halo {},", var(v, "name")),
                format!("Tiket Anda untuk {} diganti oleh penyelenggara. Tiket baru terlampir; tiket lama tidak berlaku lagi.", var(v, "event")),
                format!("Waktu: {}", var(v, "when")),
            ],
        ),
        (Template::OrderRefunded, Lang::En) => (
            format!("Your order for {} was refunded", var(v, "event")),
            vec![
                format!("The organizer refunded your order for {}: {} goes back to your payment method.", var(v, "event"), var(v, "total")),
                "Its tickets no longer admit anyone.".into(),
            ],
        ),
        (Template::OrderRefunded, Lang::Id) => (
            format!("Pesanan Anda untuk {} dikembalikan dananya", var(v, "event")),
            vec![
                format!("Penyelenggara mengembalikan dana pesanan Anda untuk {}: {} dikembalikan ke metode pembayaran Anda.", var(v, "event"), var(v, "total")),
                "Tiketnya tidak berlaku lagi.".into(),
            ],
        ),
        (Template::SignInCode, Lang::En) => (
            format!("Your admit sign-in code: {}", var(v, "code")),
            vec![
                format!("Hi {},", var(v, "name")),
                format!("Your sign-in code is {}.", var(v, "code")),
                "It works once, for 10 minutes. If you did not try to sign in to admit, ignore this email: nobody can sign in without the code.".into(),
            ],
        ),
        (Template::SignInCode, Lang::Id) => (
            format!("Kode masuk admit Anda: {}", var(v, "code")),
            vec![
                format!("Halo {},", var(v, "name")),
                format!("Kode masuk Anda adalah {}.", var(v, "code")),
                "Kode ini hanya berlaku sekali, selama 10 menit. Jika Anda tidak mencoba masuk ke admit, abaikan email ini: tidak ada yang bisa masuk tanpa kode ini.".into(),
            ],
        ),
        (Template::PasswordReset, Lang::En) => (
            "Reset your admit password".to_owned(),
            vec![
                format!("Hi {},", var(v, "name")),
                format!("Choose a new password here: {}", var(v, "url")),
                "The link works once, for 30 minutes. Resetting signs you out everywhere else. If you did not ask for this, ignore this email: your password stays as it is.".into(),
            ],
        ),
        (Template::PasswordReset, Lang::Id) => (
            "Atur ulang kata sandi admit Anda".to_owned(),
            vec![
                format!("Halo {},", var(v, "name")),
                format!("Pilih kata sandi baru di sini: {}", var(v, "url")),
                "Tautan ini hanya berlaku sekali, selama 30 menit. Mengatur ulang akan mengeluarkan Anda dari semua perangkat lain. Jika Anda tidak memintanya, abaikan email ini: kata sandi Anda tidak berubah.".into(),
            ],
        ),
    };
    let text = format!("{}\n\n-- admit\n", lines.join("\n\n"));
    let html = format!(
        "<!DOCTYPE html><html lang=\"{}\"><body style=\"font-family:sans-serif\">{}<p>— admit</p></body></html>",
        job.lang.tag(),
        lines
            .iter()
            .map(|l| format!("<p>{}</p>", escape_html(l)))
            .collect::<String>()
    );
    OutgoingMail {
        to: job.to.clone(),
        subject,
        text,
        html,
        attachments: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_variables_in_html_and_speak_both_languages() {
        let job = EmailJob {
            to: "a@example.com".into(),
            lang: Lang::Id,
            template: Template::VerifyEmail,
            vars: json!({"name": "<b>Dwi</b>", "code": "123456"}),
            attachments: Vec::new(),
        };
        let m = render(&job);
        assert_eq!(m.subject, "Kode admit Anda: 123456");
        assert!(m.html.contains("&lt;b&gt;Dwi&lt;/b&gt;"));
        assert!(m.text.contains("<b>Dwi</b>"), "plain text is not HTML");
    }
}
