//! Files embedded in the binary: our own CSS and JS (`web/static/`) and vendored assets
//! (`assets/`), served under `/static/`.
//!
//! Every file has a strong ETag (its SHA-256). Pages link to fingerprinted names,
//! `/static/<hash>/<path>`, which are cached for a year as immutable; the plain name
//! `/static/<path>` also works and is revalidated on each use.

use poem::http::{StatusCode, header};
use poem::{Request, Response, handler, web::Path};
use rust_embed::RustEmbed;

use super::routing::Routes;

/// The embedded files, and the icons and manifest browsers look for at the root.
pub fn routes() -> Routes {
    Routes::new()
        .get("/static/*path", serve)
        .get("/favicon.ico", favicon)
        .get("/apple-touch-icon.png", apple_touch_icon)
        .get("/manifest.webmanifest", manifest)
        .get("/sw.js", service_worker)
}

#[derive(RustEmbed)]
#[folder = "web/static/"]
struct Web;

#[derive(RustEmbed)]
#[folder = "assets/"]
#[exclude = "*.md"]
struct Vendored;

fn lookup(path: &str) -> Option<rust_embed::EmbeddedFile> {
    Web::get(path).or_else(|| Vendored::get(path))
}

/// URLs of the assets every page uses, fingerprinted.
#[derive(Debug, Clone)]
pub struct AssetUrls {
    pub css: String,
    pub js: String,
    pub htmx: String,
    pub icon_svg: String,
    pub icon_192: String,
    pub icon_512: String,
    pub icon_maskable: String,
    pub apple_touch_icon: String,
}

/// The vendored htmx file (its name carries its version).
const HTMX: &str = "vendor/htmx-2.0.11.min.js";

impl AssetUrls {
    pub fn build() -> Self {
        Self {
            css: fingerprinted("hearth.css"),
            js: fingerprinted("hearth.js"),
            htmx: fingerprinted(HTMX),
            icon_svg: fingerprinted("icons/hearth.svg"),
            icon_192: fingerprinted("icons/icon-192.png"),
            icon_512: fingerprinted("icons/icon-512.png"),
            icon_maskable: fingerprinted("icons/maskable-512.png"),
            apple_touch_icon: fingerprinted("icons/apple-touch-icon.png"),
        }
    }
}

/// `/static/<first 16 hex digits of the hash>/<path>`, or the plain path if it is not embedded.
pub fn fingerprinted(path: &str) -> String {
    match lookup(path) {
        Some(file) => format!(
            "/static/{}/{path}",
            &crate::domain::hex::encode(&file.metadata.sha256_hash())[..16]
        ),
        None => format!("/static/{path}"),
    }
}

#[handler]
pub fn serve(req: &Request, Path(path): Path<String>) -> Response {
    // A fingerprinted name: the first segment is 16 hex digits.
    let (fingerprint, rest) = match path.split_once('/') {
        Some((first, rest))
            if first.len() == 16 && first.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            (Some(first), rest)
        }
        _ => (None, path.as_str()),
    };
    let Some(file) = lookup(rest) else {
        return StatusCode::NOT_FOUND.into();
    };
    let hash = crate::domain::hex::encode(&file.metadata.sha256_hash());
    if let Some(fp) = fingerprint
        && !hash.starts_with(fp)
    {
        // An old fingerprint: send the current file, but do not let it be cached as immutable.
        return serve_file(req, &file, &hash, "no-cache");
    }
    let cache = if fingerprint.is_some() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    serve_file(req, &file, &hash, cache)
}

/// A file browsers ask for at a fixed address (not fingerprinted): cached for a day.
fn at_root(req: &Request, path: &str) -> Response {
    match lookup(path) {
        Some(file) => {
            let hash = crate::domain::hex::encode(&file.metadata.sha256_hash());
            serve_file(req, &file, &hash, "public, max-age=86400")
        }
        None => StatusCode::NOT_FOUND.into(),
    }
}

/// The service worker that shows push notifications. At the root, so it may serve the
/// whole site; revalidated on each use, so a new version takes over at once.
#[handler]
pub fn service_worker(req: &Request) -> Response {
    match lookup("sw.js") {
        Some(file) => {
            let hash = crate::domain::hex::encode(&file.metadata.sha256_hash());
            serve_file(req, &file, &hash, "no-cache")
        }
        None => StatusCode::NOT_FOUND.into(),
    }
}

#[handler]
pub fn favicon(req: &Request) -> Response {
    at_root(req, "icons/favicon.ico")
}

#[handler]
pub fn apple_touch_icon(req: &Request) -> Response {
    at_root(req, "icons/apple-touch-icon.png")
}

/// The web app manifest, so members can add the site to a phone's home screen.
#[handler]
pub fn manifest(req: &Request) -> Result<Response, super::error::AppError> {
    let state = super::ui::state_of(req)?;
    let name = state.settings.current().site_name.clone();
    let short: String = name.chars().take(12).collect();
    let assets = &state.assets;
    let icon = |src: &str, size: &str, purpose: &str| serde_json::json!({"src": src, "sizes": size, "type": "image/png", "purpose": purpose});
    let body = serde_json::json!({
        "name": name,
        "short_name": short,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#faf8f5",
        "theme_color": "#b4492b",
        "icons": [
            icon(&assets.icon_192, "192x192", "any"),
            icon(&assets.icon_512, "512x512", "any"),
            icon(&assets.icon_maskable, "512x512", "maskable"),
        ],
    });
    Ok(Response::builder()
        .content_type("application/manifest+json")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body.to_string()))
}

fn serve_file(req: &Request, file: &rust_embed::EmbeddedFile, hash: &str, cache: &str) -> Response {
    let etag = format!("\"{hash}\"");
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let builder = Response::builder()
        .header(header::ETAG, etag.as_str())
        .header(header::CACHE_CONTROL, cache);
    if matches {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    builder
        .content_type(file.metadata.mimetype())
        .body(file.data.to_vec())
}
