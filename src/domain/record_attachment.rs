//! Files attached to records: which kinds are taken (read from the bytes, which must agree
//! with the name), and what became of their text.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::{AttachmentId, RecordId, UserId};

/// The most files one record carries.
pub const ATTACHMENTS_PER_RECORD: usize = 50;

/// The kinds of file a record takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileKind {
    Pdf,
    /// An old binary Word file (stored and served; its text is not read).
    Doc,
    Docx,
    /// An OpenDocument text.
    Odt,
    Text,
    Csv,
    Jpeg,
    Png,
    Gif,
    Webp,
}

/// What a file's bytes say it is, before its name is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Kind(FileKind),
    /// A zip archive: a DOCX or an ODT, told apart when the whole archive is read.
    Zip,
    /// UTF-8 text: plain text or CSV, as the name says.
    Text,
    Other,
}

impl FileKind {
    /// What people call it, for messages and the page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "a PDF",
            Self::Doc => "a Word document (.doc)",
            Self::Docx => "a Word document (.docx)",
            Self::Odt => "an OpenDocument text",
            Self::Text => "a text file",
            Self::Csv => "a CSV file",
            Self::Jpeg => "a JPEG image",
            Self::Png => "a PNG image",
            Self::Gif => "a GIF image",
            Self::Webp => "a WebP image",
        }
    }

    /// The type it is served as (always as a download).
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Doc => "application/msword",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Odt => "application/vnd.oasis.opendocument.text",
            Self::Text => "text/plain; charset=utf-8",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }

    /// The short name the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Doc => "doc",
            Self::Docx => "docx",
            Self::Odt => "odt",
            Self::Text => "txt",
            Self::Csv => "csv",
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    pub const ALL: [FileKind; 10] = [
        Self::Pdf,
        Self::Doc,
        Self::Docx,
        Self::Odt,
        Self::Text,
        Self::Csv,
        Self::Jpeg,
        Self::Png,
        Self::Gif,
        Self::Webp,
    ];

    /// The kind [`FileKind::as_str`] names.
    pub fn parse(name: &str) -> Option<FileKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind a file name's extension claims.
    pub fn by_name(name: &str) -> Option<FileKind> {
        let (_, ext) = name.rsplit_once('.')?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "pdf" => Self::Pdf,
            "doc" => Self::Doc,
            "docx" => Self::Docx,
            "odt" => Self::Odt,
            "txt" | "text" => Self::Text,
            "csv" => Self::Csv,
            "jpg" | "jpeg" => Self::Jpeg,
            "png" => Self::Png,
            "gif" => Self::Gif,
            "webp" => Self::Webp,
            _ => return None,
        })
    }

    /// Whether a background job reads its text for search.
    pub fn has_text(self) -> bool {
        matches!(
            self,
            Self::Pdf | Self::Docx | Self::Odt | Self::Text | Self::Csv
        )
    }

    /// What the whole file must be checked for once it has arrived: a zip that is this kind
    /// of document, or text that is UTF-8 throughout.
    pub fn needs_whole_check(self) -> bool {
        matches!(self, Self::Docx | Self::Odt | Self::Text | Self::Csv)
    }
}

/// The bytes a file's kind is read from.
pub const SNIFF_BYTES: usize = 512;

/// What `head` (the first [`SNIFF_BYTES`] of a file, or all of a shorter one) is.
fn sniff(head: &[u8]) -> Sniffed {
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if head.starts_with(b"%PDF-") {
        Sniffed::Kind(FileKind::Pdf)
    } else if head.starts_with(OLE) {
        Sniffed::Kind(FileKind::Doc)
    } else if head.starts_with(b"PK\x03\x04") {
        Sniffed::Zip
    } else if let Some(image) = super::media::sniff_image(head) {
        use super::media::Format;
        match image {
            Format::Jpeg => Sniffed::Kind(FileKind::Jpeg),
            Format::Png => Sniffed::Kind(FileKind::Png),
            Format::Gif => Sniffed::Kind(FileKind::Gif),
            Format::Webp => Sniffed::Kind(FileKind::Webp),
            // Videos are not sniffed from an image head.
            Format::Mp4 | Format::Webm => Sniffed::Other,
        }
    } else if looks_like_text(head) {
        Sniffed::Text
    } else {
        Sniffed::Other
    }
}

/// UTF-8 without NUL bytes (a character cut at the end of the head is allowed).
fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The kinds a record takes, for messages.
pub const ACCEPTED: &str = "PDF, Word (.doc, .docx), OpenDocument text (.odt), plain text (.txt), CSV, and JPEG, PNG, GIF or WebP images";

/// The kind the name of a file claims, or why records do not take a file so named (asked
/// before a byte of it is read).
pub fn claimed_by_name(name: &str) -> Result<FileKind, String> {
    FileKind::by_name(name)
        .ok_or_else(|| format!("Records take {ACCEPTED}; \"{name}\" is named as none of them."))
}

/// What kind a file named `name` whose first bytes are `head` is; why it is refused when its
/// name is not of a kind we take, or its bytes are not what its name says.
pub fn identify(name: &str, head: &[u8]) -> Result<FileKind, String> {
    let claimed = claimed_by_name(name)?;
    let found = sniff(head);
    let agrees = match found {
        Sniffed::Kind(kind) => kind == claimed,
        Sniffed::Zip => matches!(claimed, FileKind::Docx | FileKind::Odt),
        Sniffed::Text => matches!(claimed, FileKind::Text | FileKind::Csv),
        Sniffed::Other => false,
    };
    if agrees {
        return Ok(claimed);
    }
    let what = match found {
        Sniffed::Kind(kind) => kind.label(),
        Sniffed::Zip => "a zip archive",
        Sniffed::Text => "text",
        Sniffed::Other if head.is_empty() => "empty",
        Sniffed::Other => "none of the kinds records take",
    };
    Err(format!(
        "\"{name}\" is named as {} but its bytes are {what}: choose the right file, or give it the name of what it is.",
        claimed.label()
    ))
}

/// What became of an attachment's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextState {
    /// Waiting for the background job.
    Pending,
    /// Not read from this kind of file (images, old Word files).
    NotRead,
    /// Read whole: this many characters are found by search.
    Read { chars: u64 },
    /// Read in part (the first `chars` characters); why the rest was left.
    Cut { chars: u64, why: String },
    /// Not read; why.
    Refused { why: String },
}

impl TextState {
    /// A sentence for the record's page and the API.
    pub fn describe(&self) -> String {
        match self {
            Self::Pending => "Text is being read for search.".into(),
            Self::NotRead => "Text is not read from this kind of file.".into(),
            Self::Read { chars } => format!("{chars} characters of text found by search."),
            Self::Cut { chars, why } => {
                format!("Only the first {chars} characters are found by search: {why}")
            }
            Self::Refused { why } => format!("Text not read: {why}"),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::NotRead => "not_read",
            Self::Read { .. } => "read",
            Self::Cut { .. } => "cut",
            Self::Refused { .. } => "refused",
        }
    }
}

/// A file on a record. The bytes are a blob (by their SHA-256), kept while some attachment
/// refers to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub record: RecordId,
    /// Cleaned for display and the download's name; never used for a path.
    pub name: String,
    pub kind: FileKind,
    pub size: u64,
    pub sha256: [u8; 32],
    pub by: UserId,
    pub at: Timestamp,
    pub text: TextState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_bytes_and_must_agree_with_the_name() {
        assert_eq!(identify("a.pdf", b"%PDF-1.7\n"), Ok(FileKind::Pdf));
        assert_eq!(identify("A.PDF", b"%PDF-1.4"), Ok(FileKind::Pdf));
        assert_eq!(identify("x.docx", b"PK\x03\x04rest"), Ok(FileKind::Docx));
        assert_eq!(identify("x.odt", b"PK\x03\x04rest"), Ok(FileKind::Odt));
        assert_eq!(
            identify("notes.txt", "héllo\n".as_bytes()),
            Ok(FileKind::Text)
        );
        assert_eq!(identify("t.csv", b"a,b\n1,2\n"), Ok(FileKind::Csv));
        assert_eq!(
            identify(
                "old.doc",
                &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]
            ),
            Ok(FileKind::Doc)
        );
        assert_eq!(identify("p.jpg", b"\xFF\xD8\xFF\xE0"), Ok(FileKind::Jpeg));
        // A character cut by the end of the head is still text.
        assert_eq!(identify("t.txt", &"é".as_bytes()[..1]), Ok(FileKind::Text));

        let png_as_pdf = identify("report.pdf", b"\x89PNG\r\n\x1a\nrest").unwrap_err();
        assert!(png_as_pdf.contains("a PNG image"), "{png_as_pdf}");
        let exe = identify("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00").unwrap_err();
        assert!(exe.contains("none of the kinds"), "{exe}");
        assert!(
            identify("x.exe", b"MZ")
                .unwrap_err()
                .contains("named as none")
        );
        assert!(identify("noext", b"hello").is_err());
        assert!(
            identify("pdf.txt", b"%PDF-1.7")
                .unwrap_err()
                .contains("a PDF")
        );
        assert!(identify("a.txt", b"").unwrap_err().contains("empty"));
        assert!(identify("bin.txt", b"ab\0cd").is_err());
    }
}
