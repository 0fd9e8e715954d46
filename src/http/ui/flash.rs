//! One-shot messages shown on the next page ("Owner account created."), carried in a cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::Request;
use poem::web::cookie::{Cookie, SameSite};

const COOKIE: &str = "hearth_flash";

pub fn set(req: &Request, message: &str) {
    let mut cookie = Cookie::new_with_str(COOKIE, URL_SAFE_NO_PAD.encode(message));
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    req.cookie().add(cookie);
}

/// Reads and clears the message, if any.
pub fn take(req: &Request) -> Option<String> {
    let jar = req.cookie();
    let value = jar.get(COOKIE)?.value_str().to_string();
    let mut gone = Cookie::new_with_str(COOKIE, "");
    gone.set_path("/");
    gone.set_max_age(std::time::Duration::ZERO);
    jar.add(gone);
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|m| !m.is_empty() && m.len() < 500)
}
