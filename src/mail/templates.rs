//! Mail templates. Every message Hearth sends is a notice: a greeting, a few paragraphs and
//! at most one action link, rendered as plain text and as HTML (askama, `web/templates/mail/`).

use askama::Template;

use super::OutgoingMail;

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeText<'a> {
    site_name: &'a str,
    name: &'a str,
    paragraphs: &'a [String],
    action: &'a Option<(String, String)>,
    unsubscribe: &'a Option<String>,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a> {
    site_name: &'a str,
    name: &'a str,
    paragraphs: &'a [String],
    action: &'a Option<(String, String)>,
    unsubscribe: &'a Option<String>,
}

/// A message to one person.
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: String,
    pub name: String,
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// (button label, absolute URL)
    pub action: Option<(String, String)>,
    /// The one-click link that stops this kind of mail (notifications; not account mail).
    pub unsubscribe: Option<String>,
}

impl Notice {
    pub fn render(&self, site_name: &str) -> Result<OutgoingMail, askama::Error> {
        let text = NoticeText {
            site_name,
            name: &self.name,
            paragraphs: &self.paragraphs,
            action: &self.action,
            unsubscribe: &self.unsubscribe,
        }
        .render()?;
        let html = NoticeHtml {
            site_name,
            name: &self.name,
            paragraphs: &self.paragraphs,
            action: &self.action,
            unsubscribe: &self.unsubscribe,
        }
        .render()?;
        Ok(OutgoingMail {
            to: self.to.clone(),
            subject: format!("{site_name}: {}", self.subject),
            text,
            html,
            unsubscribe: self.unsubscribe.clone(),
        })
    }
}

/// The admin panel's "send a test email".
pub fn test_mail(to: &str, site_name: &str) -> Result<OutgoingMail, askama::Error> {
    Notice {
        to: to.to_string(),
        name: "there".into(),
        subject: "test email".into(),
        paragraphs: vec![format!(
            "This is a test email from {site_name}. If you can read it, outgoing mail works."
        )],
        action: None,
        unsubscribe: None,
    }
    .render(site_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_render_both_versions_with_the_link_and_escape_html() {
        let notice = Notice {
            to: "a@example.org".into(),
            name: "<ann>".into(),
            subject: "verify".into(),
            paragraphs: vec!["Confirm your address.".into()],
            action: Some(("Verify".into(), "https://hub.example.org/verify/abc".into())),
            unsubscribe: None,
        };
        let mail = notice.render("Club").unwrap();
        assert_eq!(mail.subject, "Club: verify");
        assert!(
            mail.text.contains("Hello <ann>,")
                && mail.text.contains("https://hub.example.org/verify/abc")
        );
        assert!(
            mail.html.contains("&#60;ann&#62;")
                && mail
                    .html
                    .contains(r#"href="https://hub.example.org/verify/abc""#)
        );
    }
}
