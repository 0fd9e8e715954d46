//! Media files: the content-addressed blob store on disk, checking and processing photos, and
//! reading video containers. No HTTP and no database here; `service::media` ties them together.

pub mod blobs;
pub mod container;
pub mod documents;
pub mod photo;

use crate::domain::media::{DecodeLimits, Format, sniff_image};

/// What the upload check makes of some bytes: the format they are, or why they are refused.
/// The same path an upload takes (sniff, then decode or read the container), on memory; the
/// fuzz target drives it with arbitrary input.
pub fn inspect_bytes(bytes: &[u8]) -> Result<Format, String> {
    if let Some(format) = sniff_image(bytes) {
        return photo::check_bytes(bytes, format, DecodeLimits::DEFAULT)
            .map(|_| format)
            .map_err(|e| e.to_string());
    }
    match container::probe(&mut std::io::Cursor::new(bytes)) {
        Ok(info) => Ok(match info.container {
            container::Container::Mp4 => Format::Mp4,
            container::Container::WebM => Format::Webm,
        }),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's seed corpus, run as a test: every fixture gets an answer, no panic.
    #[test]
    fn every_fixture_is_inspected_without_panicking() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media");
        let mut accepted = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "py" || e == "md") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            if inspect_bytes(&bytes).is_ok() {
                accepted += 1;
            }
        }
        // gps-rotated, plain png/webp, still and animated gif, png-named, huge-exif, short
        // mp4 and webm, plus the long videos (length is judged later, against the setting).
        assert_eq!(accepted, 11);
    }
}
