//! Outgoing mail: messages rendered from templates ([`templates`]) and sent over SMTP with
//! lettre. The only module that names lettre. Sending is normally done by the `mail.send` job
//! (the durable outbox), so a message survives a restart and is retried with backoff.

pub mod templates;

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::domain::settings::{MailSettings, SmtpSecurity};

/// A rendered message, as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Sent as `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058): mail clients
    /// offer a one-click unsubscribe that posts to it.
    #[serde(default)]
    pub unsubscribe: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail is not configured (no SMTP host in the admin panel's mail settings)")]
    NotConfigured,
    #[error("invalid address \"{address}\": {reason}")]
    BadAddress { address: String, reason: String },
    #[error("SMTP server refused the message: {0}")]
    Refused(String),
    #[error("SMTP delivery failed: {0}")]
    Failed(String),
}

impl MailError {
    /// Whether trying again later cannot help.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, MailError::Failed(_))
    }
}

const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::BadAddress {
            address: address.to_string(),
            reason: e.to_string(),
        })
}

/// Sends one message now.
pub async fn send(settings: &MailSettings, mail: &OutgoingMail) -> Result<(), MailError> {
    if !settings.is_configured() {
        return Err(MailError::NotConfigured);
    }
    let mut builder = Message::builder()
        .from(mailbox(&settings.from)?)
        .to(mailbox(&mail.to)?)
        .subject(mail.subject.clone());
    if let Some(url) = &mail.unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError::Refused(format!("cannot build the message: {e}")))?;

    let host = settings.smtp_host.trim();
    let builder = match settings.smtp_security {
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| MailError::Failed(e.to_string()))?;
    let mut builder = builder.port(settings.smtp_port).timeout(Some(SMTP_TIMEOUT));
    if !settings.smtp_username.is_empty() {
        builder = builder.credentials(Credentials::new(
            settings.smtp_username.clone(),
            settings.smtp_password.expose().clone(),
        ));
    }
    let transport = builder.build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(MailError::Refused(e.to_string())),
        Err(e) => Err(MailError::Failed(e.to_string())),
    }
}
