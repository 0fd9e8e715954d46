//! Files served as downloads (the files on records), the same on the pages and the API:
//! always `attachment` with the file's name, under a policy that runs nothing.

use super::error::AppError;

/// The policy a downloaded file is served under: nothing in it may run or load anything,
/// should a browser ever show it.
pub const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox";

/// `attachment` with the file's name: an ASCII stand-in for old clients and the exact name
/// percent-encoded (RFC 6266, RFC 8187).
pub fn content_disposition(name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

/// Opens a file for sending (a blob named by a hash, never by input). A file removed between
/// reading its record and opening it is gone: 404.
pub async fn open_file(path: &std::path::Path) -> Result<poem::Body, AppError> {
    match tokio::fs::File::open(path).await {
        Ok(file) => Ok(poem::Body::from_async_read(file)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::not_found()),
        Err(e) => {
            tracing::error!("an attachment's file cannot be opened: {e}");
            Err(AppError::internal())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_names_its_file_safely() {
        assert_eq!(
            content_disposition("Brief an Müller.pdf"),
            "attachment; filename=\"Brief an M_ller.pdf\"; filename*=UTF-8''Brief%20an%20M%C3%BCller.pdf"
        );
        // Quotes, backslashes and line breaks cannot end the value or start a header.
        let odd = content_disposition("a\"b\\c\r\nSet-Cookie: x.txt");
        assert!(!odd.contains('\r') && !odd.contains('\n'), "{odd}");
        assert!(
            odd.starts_with("attachment; filename=\"a_b_c__Set-Cookie: x.txt\";"),
            "{odd}"
        );
    }
}
