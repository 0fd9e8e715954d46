//! Mail templates: each message has a plain-text and an HTML version (askama, in
//! `web/templates/mail/`), rendered into an [`OutgoingMail`].

use askama::Template;

use super::OutgoingMail;

#[derive(Template)]
#[template(path = "mail/test.txt")]
struct TestText<'a> {
    site_name: &'a str,
}

#[derive(Template)]
#[template(path = "mail/test.html")]
struct TestHtml<'a> {
    site_name: &'a str,
}

fn render(
    to: &str,
    subject: String,
    text: impl Template,
    html: impl Template,
) -> Result<OutgoingMail, askama::Error> {
    Ok(OutgoingMail {
        to: to.to_string(),
        subject,
        text: text.render()?,
        html: html.render()?,
    })
}

/// The admin panel's "send a test email".
pub fn test_mail(to: &str, site_name: &str) -> Result<OutgoingMail, askama::Error> {
    render(
        to,
        format!("{site_name}: test email"),
        TestText { site_name },
        TestHtml { site_name },
    )
}
