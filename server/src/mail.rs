//! Outgoing mail: verification codes, download receipts, and the lifecycle notices to a
//! Zendesk tenant's admin (a deletion scheduled, a deletion done with its certificate
//! attached), as text and HTML.
//!
//! With `SEALDROP_SMTP_URL` set, mail goes out over SMTP with `lettre`:
//! - `smtp://HOST[:PORT]` - plain SMTP (port 25 by default; for a relay on a trusted network
//!   or a local capture server);
//! - `smtp://HOST[:PORT]?tls=starttls` - STARTTLS, required (port 587 by default);
//!   `?tls=opportunistic` upgrades when the server offers it;
//! - `smtps://HOST[:PORT]` - TLS from the first byte (port 465 by default).
//!
//! `USER:PASS@` in the URL (percent-encoded) logs in. Without SMTP (the embedded default) each
//! mail is written to the outbox folder (`<data-dir>/outbox`) as an `.eml` file and its path
//! logged, so one machine can run the whole flow.
//!
//! Mail never contains a secret except the one code the mail exists to deliver: no link
//! secret, server secret or token, and no link (the link's secret lives only in the fragment
//! the sender shared). Nothing here logs a code or a body. Codes and receipts are delivered in
//! the background: a caller's answer never waits for (or depends on) an SMTP server. The
//! lifecycle notices are delivered while the caller waits, which learns whether they went
//! out (the lifecycle check retries a notice that did not, and `sealdrop admin lifecycle
//! check` must not exit before its mail is out).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::clock::rfc3339;
use crate::config::MailConfig;
use crate::db::DeletionReason;
use crate::deletion::Certificate;
use crate::html::escape;
use crate::verification::{EmailAddress, VerificationCode, CODE_TTL};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends (or files) the server's mail. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
}

#[derive(Debug)]
enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The SMTP URL could not be used; every mail fails with this reason (logged).
    Broken(String),
}

/// One mail, ready to send.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    text: String,
    html: String,
    /// A file attached: its name and its text (JSON).
    attachment: Option<(String, String)>,
}

/// What the mail about a scheduled deletion says.
#[derive(Debug, Clone, Copy)]
pub struct DeletionScheduledNotice<'a> {
    /// The account, `acme.zendesk.com`.
    pub zendesk_host: &'a str,
    /// Why.
    pub reason: DeletionReason,
    /// When (Unix seconds).
    pub delete_at: i64,
}

impl Mailer {
    /// A mailer for `config`; `from` is the sender shown on mails (`Name <address>`).
    /// An unusable SMTP URL is logged here and makes every delivery fail; prefer
    /// [`Mailer::try_new`], which reports it.
    pub fn new(config: MailConfig, from: String) -> Self {
        Self::try_new(config, from.clone()).unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "the SMTP settings are not usable; mail will not be sent");
            Self { transport: Arc::new(Transport::Broken(format!("{e:#}"))), from: sender_mailbox(&from) }
        })
    }

    /// A mailer for `config`, or why the SMTP URL cannot be used.
    pub fn try_new(config: MailConfig, from: String) -> anyhow::Result<Self> {
        let transport = match config {
            MailConfig::Outbox(dir) => Transport::Outbox(dir),
            MailConfig::Smtp(url) => Transport::Smtp(smtp_transport(&url)?),
        };
        Ok(Self {
            transport: Arc::new(transport),
            from: sender_mailbox(&from),
        })
    }

    /// Mails a verification code to a recipient, in the background. `sender` is the name the
    /// recipient knows the package by (the tenant's name).
    pub fn send_verification_code(&self, to: &EmailAddress, code: &VerificationCode, sender: &str) {
        let minutes = CODE_TTL.as_secs() / 60;
        let code = code.expose();
        let text = format!(
            "Your sealdrop verification code is:\r\n\r\n    {code}\r\n\r\n\
             Enter it on the page where you opened the secure link from {sender}. It is valid for \
             {minutes} minutes and works once.\r\n\r\n\
             If you did not ask for this code, you can ignore this email: nobody can open the \
             files without it.\r\n"
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <p>Your sealdrop verification code is:</p>\
             <p style=\"font-size:28px;font-weight:bold;letter-spacing:4px\">{code}</p>\
             <p>Enter it on the page where you opened the secure link from {sender}. It is valid for \
             {minutes} minutes and works once.</p>\
             <p style=\"color:#666\">If you did not ask for this code, you can ignore this email: \
             nobody can open the files without it.</p></body></html>",
            sender = escape(sender),
        );
        self.spawn(Mail {
            to: to.as_str().to_owned(),
            // Not in the subject: relays log subjects.
            subject: "Your sealdrop verification code".into(),
            text,
            html,
            attachment: None,
        });
    }

    /// Tells a sender that one of their packages was downloaded, in the background. Failures
    /// are logged, never returned: a receipt must not break a download.
    pub async fn download_receipt(
        &self,
        to: &str,
        package_id: &str,
        downloads_used: u32,
        max_downloads: Option<u32>,
    ) {
        let limit = max_downloads.map_or_else(|| "no limit".to_owned(), |m| format!("of {m}"));
        let text = format!(
            "Your sealdrop package {package_id} was downloaded (download {downloads_used} {limit}).\r\n\r\n\
             The files were decrypted on the recipient's device; sealdrop never saw their contents.\r\n"
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <p>Your sealdrop package <code>{id}</code> was downloaded (download {downloads_used} {limit}).</p>\
             <p style=\"color:#666\">The files were decrypted on the recipient's device; sealdrop never \
             saw their contents.</p></body></html>",
            id = escape(package_id),
            limit = escape(&limit),
        );
        self.spawn(Mail {
            to: to.to_owned(),
            subject: "Your sealdrop package was downloaded".into(),
            text,
            html,
            attachment: None,
        });
    }

    /// Tells a tenant's admin that all of the account's data will be deleted on a date, why,
    /// and how to keep it. Waits for the delivery and says whether it worked.
    pub async fn deletion_scheduled(
        &self,
        to: &str,
        notice: &DeletionScheduledNotice<'_>,
    ) -> anyhow::Result<()> {
        let host = notice.zendesk_host;
        let when = human_time(notice.delete_at);
        let (why, keep) = match notice.reason {
            DeletionReason::Uninstalled => (
                format!("The sealdrop app was uninstalled from {host}."),
                "To keep the account, install the sealdrop app again before then and open it \
                 in a ticket: the deletion is cancelled.",
            ),
            DeletionReason::NoGrant => (
                format!(
                    "sealdrop can no longer reach {host} through the access a Zendesk admin \
                     authorized (it was revoked, or never finished), and nobody has used \
                     sealdrop there since."
                ),
                "To keep the account, open the sealdrop app in a ticket as a Zendesk admin and \
                 authorize its access again before then: the deletion is cancelled.",
            ),
        };
        let what = format!(
            "sealdrop will delete everything it holds for {host} on {when}: every package with \
             its encrypted files, the settings and the audit log. A signed certificate of \
             deletion will be mailed to this address when it is done."
        );
        let footer = format!(
            "You get this mail because you authorized sealdrop's access to Zendesk for {host}."
        );
        let text = format!("{why}\r\n\r\n{what}\r\n\r\n{keep}\r\n\r\n{footer}\r\n");
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <p>{why}</p><p>{what}</p><p>{keep}</p><p style=\"color:#666\">{footer}</p>\
             </body></html>",
            why = escape(&why),
            what = escape(&what),
            keep = escape(keep),
            footer = escape(&footer),
        );
        self.deliver(Mail {
            to: to.to_owned(),
            subject: format!(
                "sealdrop will delete the data of {host} on {}",
                day(notice.delete_at)
            ),
            text,
            html,
            attachment: None,
        })
        .await
    }

    /// Tells a tenant's admin that the account's data was deleted, with the signed certificate
    /// (`certificate_text`, the file) attached. Waits for the delivery and says whether it
    /// worked.
    pub async fn deletion_done(
        &self,
        to: &str,
        zendesk_host: &str,
        certificate: &Certificate,
        certificate_text: &str,
        key_url: &str,
    ) -> anyhow::Result<()> {
        let d = &certificate.deleted;
        let what = format!(
            "As announced, sealdrop deleted everything it held for {zendesk_host} at {}: {} \
             package(s) with {} stored part(s) ({} bytes of ciphertext), {} audit event(s), the \
             settings and the Zendesk access.",
            certificate.finished_at, d.packages, d.parts, d.bytes, d.audit_events
        );
        let proof = format!(
            "The signed certificate of deletion is attached (sealdrop-deletion-certificate.json); \
             its signature verifies with this server's public key, published at {key_url}."
        );
        let again = "If you install the sealdrop app again, it starts a new, empty account.";
        let text = format!("{what}\r\n\r\n{proof}\r\n\r\n{again}\r\n");
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\">\
             <p>{what}</p><p>{proof}</p><p>{again}</p></body></html>",
            what = escape(&what),
            proof = escape(&proof),
            again = escape(again),
        );
        self.deliver(Mail {
            to: to.to_owned(),
            subject: format!("sealdrop deleted the data of {zendesk_host}"),
            text,
            html,
            attachment: Some((
                "sealdrop-deletion-certificate.json".into(),
                format!("{certificate_text}\n"),
            )),
        })
        .await
    }

    fn spawn(&self, mail: Mail) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.deliver(mail).await {
                tracing::warn!(error = %format!("{e:#}"), "could not deliver a mail");
            }
        });
    }

    async fn deliver(&self, mail: Mail) -> anyhow::Result<()> {
        let to: Mailbox = mail
            .to
            .parse()
            .context("the recipient address is not valid for mail")?;
        let body = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.text),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(mail.html),
            );
        let body = match mail.attachment {
            None => body,
            Some((name, content)) => {
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new(name).body(
                        content,
                        ContentType::parse("application/json").context("a fixed content type")?,
                    ))
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .multipart(body)
            .context("building the message")?;
        match &*self.transport {
            Transport::Outbox(dir) => {
                let path = write_outbox(dir, &message.formatted())
                    .await
                    .context("writing to the outbox")?;
                tracing::info!(path = %path.display(), "mail written to the outbox");
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("sending over SMTP")?;
                tracing::info!("mail handed to the SMTP server");
            }
            Transport::Broken(reason) => bail!("SMTP is misconfigured: {reason}"),
        }
        Ok(())
    }
}

/// `2026-03-01 04:05 UTC`.
fn human_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| rfc3339(unix))
}

/// `2026-03-01`.
fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| rfc3339(unix))
}

/// The `From` mailbox; falls back to `no-reply@localhost` if `from` does not parse (a listen
/// address is not always a valid mail domain).
fn sender_mailbox(from: &str) -> Mailbox {
    from.parse().unwrap_or_else(|_| {
        "sealdrop <no-reply@localhost>"
            .parse()
            .expect("a fixed, valid mailbox")
    })
}

/// Builds the SMTP transport described by `url` (module docs).
fn smtp_transport(raw: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let url =
        url::Url::parse(raw).map_err(|_| anyhow::anyhow!("SEALDROP_SMTP_URL is not a URL"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .context("SEALDROP_SMTP_URL has no host")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tls_mode = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_lowercase());
    let tls = || TlsParameters::new(host.clone()).context("setting up TLS for the SMTP server");
    let (tls, default_port) = match (url.scheme(), tls_mode.as_deref()) {
        ("smtps", None | Some("wrapper" | "implicit")) => (Tls::Wrapper(tls()?), 465),
        ("smtp", None | Some("none")) => (Tls::None, 25),
        ("smtp", Some("starttls" | "required")) => (Tls::Required(tls()?), 587),
        ("smtp", Some("opportunistic")) => (Tls::Opportunistic(tls()?), 587),
        ("smtp" | "smtps", Some(other)) => {
            bail!("SEALDROP_SMTP_URL: unknown tls={other} (use starttls, opportunistic or none)")
        }
        (other, _) => {
            bail!("SEALDROP_SMTP_URL must start with smtp:// or smtps://, not {other}://")
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(url.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if !url.username().is_empty() {
        let user = percent_decode(url.username()).context("SEALDROP_SMTP_URL user name")?;
        let password =
            percent_decode(url.password().unwrap_or("")).context("SEALDROP_SMTP_URL password")?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

/// Decodes `%XX` escapes (URL user info).
fn percent_decode(text: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).context("a % escape is cut short")?;
            out.push(u8::from_str_radix(hex, 16).context("a % escape is not hexadecimal")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("not UTF-8")
}

/// Writes one message into `dir` atomically (temporary name, then rename).
async fn write_outbox(dir: &Path, message: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let now = chrono::Utc::now();
    let name = format!(
        "{}-{:08x}.eml",
        now.format("%Y%m%dT%H%M%S%.6f"),
        rand::random::<u32>()
    );
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, message).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_the_tls_mode() {
        assert!(smtp_transport("smtp://127.0.0.1:2525").is_ok());
        assert!(smtp_transport("smtp://user:p%40ss@mail.example.com?tls=starttls").is_ok());
        assert!(smtp_transport("smtps://mail.example.com").is_ok());
        assert!(smtp_transport("smtp://mail.example.com?tls=opportunistic").is_ok());
        let err = smtp_transport("http://mail.example.com").expect_err("wrong scheme");
        assert!(err.to_string().contains("smtp://"), "{err}");
        assert!(smtp_transport("smtp://mail.example.com?tls=maybe").is_err());
        let err = smtp_transport("not a url with secret").expect_err("not a URL");
        assert!(
            !err.to_string().contains("secret"),
            "the URL is not echoed: {err}"
        );
    }

    #[test]
    fn percent_escapes_decode() {
        assert_eq!(
            percent_decode("p%40ss%2Fword").expect("decodes"),
            "p@ss/word"
        );
        assert!(percent_decode("bad%4").is_err());
    }

    #[tokio::test]
    async fn outbox_mail_has_text_and_html_and_only_the_code() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mailer = Mailer::try_new(
            MailConfig::Outbox(dir.path().to_owned()),
            "sealdrop <no-reply@127.0.0.1>".into(),
        )
        .expect("mailer");
        let to = EmailAddress::parse("bob@example.com").expect("address");
        let code = VerificationCode::parse("01234567").expect("code");
        mailer
            .deliver(Mail {
                to: to.as_str().into(),
                subject: "s".into(),
                text: format!("code {}", code.expose()),
                html: format!("<b>{}</b>", code.expose()),
                attachment: None,
            })
            .await
            .expect("written");
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .expect("outbox")
            .flatten()
            .collect();
        assert_eq!(files.len(), 1);
        let mail = std::fs::read_to_string(files[0].path()).expect("mail");
        assert!(mail.contains("To: bob@example.com"), "{mail}");
        assert!(
            mail.contains("text/plain") && mail.contains("text/html"),
            "{mail}"
        );
        assert!(mail.contains("01234567"));
        assert!(files[0].file_name().to_string_lossy().ends_with(".eml"));
    }

    #[test]
    fn names_are_escaped_in_html() {
        assert_eq!(
            crate::html::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
