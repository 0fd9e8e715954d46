//! Documents attached to records: checking a whole file is what its first bytes promised
//! (a DOCX or ODT archive, UTF-8 text), and reading its text for search under limits, so a
//! hostile file (a zip bomb, XML nested without end, a PDF of huge pages) costs a bounded
//! amount of memory and time and is refused or cut with the reason. No HTTP, no database.
//!
//! The server reads text in a process of its own (`hearth read-text KIND FILE`, see
//! [`read_text_command`]) under kernel limits on memory and CPU time, so a file that made a
//! parser spin or grow is killed with its reader and never stalls or crashes the server.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use quick_xml::events::Event;

use crate::domain::record_attachment::FileKind;

/// How far reading a document's text may go.
#[derive(Debug, Clone, Copy)]
pub struct TextLimits {
    /// Characters kept from one file.
    pub max_chars: usize,
    /// Bytes one part of an archive (or one PDF stream) may inflate to.
    pub max_inflated: u64,
    /// Files in an archive.
    pub max_entries: usize,
    /// XML elements open at once.
    pub max_depth: usize,
    /// PDF pages read.
    pub max_pages: usize,
    /// Decompressed content of one PDF page.
    pub max_page_bytes: usize,
    /// Time spent reading a PDF's pages (checked between pages).
    pub max_pdf_time: std::time::Duration,
}

impl TextLimits {
    /// 200,000 characters; parts up to 50 MiB inflated; 10,000 archive entries; XML 256
    /// deep; 2,000 PDF pages of at most 8 MiB content each, read in at most a minute.
    pub const DEFAULT: TextLimits = TextLimits {
        max_chars: 200_000,
        max_inflated: 50 * 1024 * 1024,
        max_entries: 10_000,
        max_depth: 256,
        max_pages: 2_000,
        max_page_bytes: 8 * 1024 * 1024,
        max_pdf_time: std::time::Duration::from_secs(60),
    };
}

/// What reading a file's text came to (what a reader process prints, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Extracted {
    Whole(String),
    /// The first part, and why the rest was left.
    Cut(String, String),
    /// Nothing, and why.
    Refused(String),
}

/// The address space a reader process may take (the kernel refuses it more).
pub const READER_MEMORY_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The CPU time a reader process may use before the kernel stops it.
pub const READER_CPU_SECONDS: u64 = 90;

/// `hearth read-text KIND FILE`: puts this process under the reader's limits, reads the
/// file's text within [`TextLimits::DEFAULT`] and answers what came of it as one JSON line.
pub fn read_text_command(kind: &str, path: &Path) -> Result<String, String> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let kind = FileKind::parse(kind).ok_or_else(|| format!("{kind} is not a kind of file"))?;
    for (resource, limit) in [
        (Resource::As, READER_MEMORY_BYTES),
        (Resource::Cpu, READER_CPU_SECONDS),
    ] {
        let limit = Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        };
        setrlimit(resource, limit).map_err(|e| format!("cannot limit the reader: {e}"))?;
    }
    serde_json::to_string(&extract(kind, path, TextLimits::DEFAULT)).map_err(|e| e.to_string())
}

/// The ODF type of a text document, stored first in its archive.
const ODT_MIMETYPE: &str = "application/vnd.oasis.opendocument.text";

/// Checks a whole file of `kind` is one: a DOCX or ODT archive that holds its document, text
/// that is UTF-8 throughout. Other kinds were settled by their first bytes.
pub fn check_whole(kind: FileKind, path: &Path, limits: TextLimits) -> Result<(), String> {
    match kind {
        FileKind::Docx | FileKind::Odt => {
            let mut archive = open_archive(path, limits)
                .map_err(|why| format!("The file is not {}: {why}.", kind.label()))?;
            let needed = if kind == FileKind::Docx {
                "word/document.xml"
            } else {
                "content.xml"
            };
            if archive.by_name(needed).is_err() {
                return Err(format!(
                    "The file is a zip archive but not {}: it has no {needed}.",
                    kind.label()
                ));
            }
            if kind == FileKind::Odt {
                let mut mimetype = String::new();
                let read = archive
                    .by_name("mimetype")
                    .map_err(|e| e.to_string())
                    .and_then(|f| {
                        f.take(128)
                            .read_to_string(&mut mimetype)
                            .map_err(|e| e.to_string())
                    });
                if read.is_err() || mimetype.trim() != ODT_MIMETYPE {
                    return Err(
                        "The file is an OpenDocument archive but not a text document (.odt)."
                            .into(),
                    );
                }
            }
            Ok(())
        }
        FileKind::Text | FileKind::Csv => {
            let text = is_utf8_text(path)
                .map_err(|e| format!("The file could not be read back ({e})."))?;
            if !text {
                return Err(format!(
                    "The file is named as {} but is not UTF-8 text throughout: save it as UTF-8, or attach it as what it is.",
                    kind.label()
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether the file at `path` is UTF-8 without NUL bytes, read a buffer at a time (a
/// character split between two reads is carried over), so checking costs the same memory
/// whatever the file's size.
fn is_utf8_text(path: &Path) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut carried = 0;
    loop {
        let n = file.read(&mut buf[carried..])?;
        if n == 0 {
            // A character cut off by the end of the file is not text.
            return Ok(carried == 0);
        }
        let filled = carried + n;
        if buf[carried..filled].contains(&0) {
            return Ok(false);
        }
        carried = match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => 0,
            // Only the start of a character at the end: keep it for the next read.
            Err(e) if e.error_len().is_none() => filled - e.valid_up_to(),
            Err(_) => return Ok(false),
        };
        buf.copy_within(filled - carried..filled, 0);
    }
}

/// Reads the text of a file of `kind` at `path` within `limits`.
pub fn extract(kind: FileKind, path: &Path, limits: TextLimits) -> Extracted {
    let outcome = match kind {
        FileKind::Pdf => pdf_text(path, limits),
        FileKind::Docx => archive_text(path, "word/document.xml", limits),
        FileKind::Odt => archive_text(path, "content.xml", limits),
        FileKind::Text | FileKind::Csv => plain_text(path, limits),
        _ => Err("this kind of file has no text to read".into()),
    };
    match outcome {
        Ok(text) => text,
        Err(why) => Extracted::Refused(why),
    }
}

/// Text gathered up to the character limit.
struct Gathered {
    text: String,
    chars: usize,
    max: usize,
    full: bool,
}

impl Gathered {
    fn new(max: usize) -> Self {
        Self {
            text: String::new(),
            chars: 0,
            max,
            full: false,
        }
    }

    /// Adds `s`, as much of it as fits; false once full.
    fn push(&mut self, s: &str) -> bool {
        for c in s.chars() {
            if self.chars >= self.max {
                self.full = true;
                return false;
            }
            self.text.push(c);
            self.chars += 1;
        }
        true
    }

    fn done(self, cut: Option<String>) -> Extracted {
        let text = self.text.trim().to_string();
        match cut {
            Some(why) => Extracted::Cut(text, why),
            None if self.full => Extracted::Cut(
                text,
                format!("the text is longer than the {} characters read.", self.max),
            ),
            None => Extracted::Whole(text),
        }
    }
}

fn plain_text(path: &Path, limits: TextLimits) -> Result<Extracted, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| {
            // At most four bytes a character.
            f.take(limits.max_chars as u64 * 4 + 4)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| format!("the file could not be read ({e})"))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut gathered = Gathered::new(limits.max_chars);
    gathered.push(text.trim_start_matches('\u{feff}'));
    Ok(gathered.done(None))
}

fn open_archive(path: &Path, limits: TextLimits) -> Result<zip::ZipArchive<File>, String> {
    let file = File::open(path).map_err(|e| format!("it could not be read ({e})"))?;
    let archive = zip::ZipArchive::new(file)
        .map_err(|e| format!("it is not a readable zip archive ({e})"))?;
    if archive.len() > limits.max_entries {
        return Err(format!(
            "it holds {} files, more than the {} read",
            archive.len(),
            limits.max_entries
        ));
    }
    Ok(archive)
}

/// The text of the XML `part` of the archive at `path`. The part is inflated through a cap,
/// whatever size its header claims, so a zip bomb stops at the limit.
fn archive_text(path: &Path, part: &str, limits: TextLimits) -> Result<Extracted, String> {
    let mut archive = open_archive(path, limits)?;
    let file = archive
        .by_name(part)
        .map_err(|e| format!("the document has no readable {part} ({e})"))?;
    let inflated_mib = limits.max_inflated / (1024 * 1024);
    if file.size() > limits.max_inflated {
        return Err(format!(
            "{part} would inflate to {} MiB, over the {inflated_mib} MiB read (a zip bomb?)",
            file.size() / (1024 * 1024),
        ));
    }
    let capped = Capped {
        inner: file,
        left: limits.max_inflated,
    };
    xml_text(BufReader::new(capped), limits).map_err(|why| {
        if why.contains(CAP_REACHED) {
            format!("{part} inflates past the {inflated_mib} MiB read (a zip bomb?)")
        } else {
            why
        }
    })
}

const CAP_REACHED: &str = "inflated past its cap";

/// A reader that fails once more than `left` bytes came through.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(CAP_REACHED));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The text of a word-processing XML part: the characters of text nodes, a line break after
/// each paragraph or heading and for line breaks, a tab for tabs. Entities other than XML's
/// own and character references are not expanded (so no entity bomb).
fn xml_text(source: impl std::io::BufRead, limits: TextLimits) -> Result<Extracted, String> {
    let mut reader = quick_xml::Reader::from_reader(source);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut gathered = Gathered::new(limits.max_chars);
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("the document's XML is damaged ({e})"))?;
        let more = match &event {
            Event::Start(_) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(format!(
                        "the document's XML nests deeper than {} levels",
                        limits.max_depth
                    ));
                }
                true
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                match e.local_name().as_ref() {
                    b"p" | b"h" => gathered.push("\n"),
                    _ => true,
                }
            }
            Event::Empty(e) => match e.local_name().as_ref() {
                b"br" | b"line-break" => gathered.push("\n"),
                b"tab" => gathered.push("\t"),
                b"s" => gathered.push(" "),
                _ => true,
            },
            Event::Text(t) => match t.decode() {
                Ok(s) => gathered.push(&s),
                Err(e) => return Err(format!("the document's text is not readable ({e})")),
            },
            Event::CData(t) => gathered.push(&String::from_utf8_lossy(t)),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    _ => r
                        .decode()
                        .ok()
                        .and_then(|name| quick_xml::escape::resolve_xml_entity(&name))
                        .map(str::to_string),
                };
                resolved.is_none_or(|s| gathered.push(&s))
            }
            Event::Eof => break,
            _ => true,
        };
        if !more {
            break;
        }
        buf.clear();
    }
    Ok(gathered.done(None))
}

/// The text of a PDF, page by page: objects and page contents inflate through a cap, pages
/// past the page limit are not read, and a page that cannot be read is skipped and named.
/// Scripts and forms are never run: only text-showing operators are read.
fn pdf_text(path: &Path, limits: TextLimits) -> Result<Extracted, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("the file could not be read ({e})"))?;
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(limits.max_inflated as usize),
        ..Default::default()
    };
    let doc = lopdf::Document::load_mem_with_options(&bytes, options)
        .map_err(|e| format!("the PDF could not be read ({e})"))?;
    drop(bytes);
    if doc.is_encrypted() {
        return Err("the PDF is encrypted".into());
    }
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let mut gathered = Gathered::new(limits.max_chars);
    let mut skipped = Vec::new();
    let started = std::time::Instant::now();
    let mut out_of_time = None;
    for (i, page) in pages.iter().take(limits.max_pages).enumerate() {
        if started.elapsed() > limits.max_pdf_time {
            out_of_time = Some(i);
            break;
        }
        match doc.extract_text_with_limit(&[*page], limits.max_page_bytes) {
            Ok(text) => {
                if !gathered.push(&text) {
                    break;
                }
            }
            Err(_) => skipped.push(page.to_string()),
        }
    }
    let mut why = Vec::new();
    if pages.len() > limits.max_pages {
        why.push(format!(
            "the PDF has {} pages and the first {} were read",
            pages.len(),
            limits.max_pages
        ));
    }
    if let Some(read) = out_of_time {
        why.push(format!(
            "reading took longer than {} seconds, so {read} of {} pages were read",
            limits.max_pdf_time.as_secs(),
            pages.len()
        ));
    }
    if !skipped.is_empty() {
        let shown: Vec<String> = skipped.iter().take(10).cloned().collect();
        why.push(format!(
            "page{} {} could not be read (over {} MiB of content, or damaged)",
            if skipped.len() == 1 { "" } else { "s" },
            shown.join(", ") + if skipped.len() > 10 { ", …" } else { "" },
            limits.max_page_bytes / (1024 * 1024)
        ));
    }
    let cut = (!why.is_empty()).then(|| why.join("; ") + ".");
    Ok(gathered.done(cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn docx(document_xml: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut zip = zip::ZipWriter::new(file.reopen().unwrap());
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("[Content_Types].xml", deflated).unwrap();
        zip.write_all(b"<Types/>").unwrap();
        zip.start_file("word/document.xml", deflated).unwrap();
        zip.write_all(document_xml).unwrap();
        zip.finish().unwrap();
        file
    }

    const SMALL: TextLimits = TextLimits {
        max_chars: 1_000,
        max_inflated: 64 * 1024,
        max_entries: 100,
        max_depth: 16,
        max_pages: 3,
        max_page_bytes: 64 * 1024,
        max_pdf_time: std::time::Duration::from_secs(10),
    };

    #[test]
    fn a_docx_gives_its_paragraphs() {
        let file = docx(
            br#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>Dear &amp; Sir</w:t></w:r></w:p><w:p><w:r><w:t>Second</w:t><w:tab/><w:t>line &#233;</w:t></w:r></w:p></w:body></w:document>"#,
        );
        check_whole(FileKind::Docx, file.path(), SMALL).unwrap();
        assert_eq!(
            extract(FileKind::Docx, file.path(), SMALL),
            Extracted::Whole("Dear & Sir\nSecond\tline é".into())
        );
        assert!(check_whole(FileKind::Odt, file.path(), SMALL).is_err());
    }

    #[test]
    fn bombs_deep_xml_and_long_texts_are_refused_or_cut() {
        let mut bomb = b"<w:document><w:body><w:p><w:t>".to_vec();
        bomb.extend(std::iter::repeat_n(b'a', 200 * 1024));
        bomb.extend(b"</w:t></w:p></w:body></w:document>");
        let file = docx(&bomb);
        assert!(std::fs::metadata(file.path()).unwrap().len() < 4 * 1024);
        match extract(FileKind::Docx, file.path(), SMALL) {
            Extracted::Refused(why) => assert!(why.contains("zip bomb"), "{why}"),
            other => panic!("{other:?}"),
        }

        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        match extract(FileKind::Docx, docx(deep.as_bytes()).path(), SMALL) {
            Extracted::Refused(why) => assert!(why.contains("deeper than 16"), "{why}"),
            other => panic!("{other:?}"),
        }

        let long = format!("<w:p><w:t>{}</w:t></w:p>", "word ".repeat(400));
        match extract(FileKind::Docx, docx(long.as_bytes()).path(), SMALL) {
            Extracted::Cut(text, why) => {
                assert!(text.chars().count() <= 1_000);
                assert!(why.contains("1000 characters"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Page trees that loop (a node its own kid; a page whose parent chain loops) end.
    #[test]
    fn a_pdf_whose_page_tree_loops_is_read_without_end_or_crash() {
        use lopdf::{Document, Object, dictionary};
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let page_id = doc.new_object_id();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![pages_id.into(), page_id.into()], "Count" => 2,
                "Parent" => pages_id,
            }),
        );
        doc.objects.insert(
            page_id,
            Object::Dictionary(dictionary! { "Type" => "Page", "Parent" => pages_id }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let file = tempfile::NamedTempFile::new().unwrap();
        doc.save(file.path()).unwrap();
        let outcome = extract(FileKind::Pdf, file.path(), SMALL);
        assert!(
            !matches!(outcome, Extracted::Whole(ref t) if t.len() > 1000),
            "{outcome:?}"
        );
    }

    /// A DOCX whose headers say its document is small while it inflates far past the cap.
    #[test]
    fn a_zip_that_lies_about_its_sizes_stops_at_the_cap() {
        let mut big = b"<w:document><w:body><w:p><w:t>".to_vec();
        big.extend(std::iter::repeat_n(b'a', 1024 * 1024));
        big.extend(b"</w:t></w:p></w:body></w:document>");
        let honest = docx(&big);
        let mut bytes = std::fs::read(honest.path()).unwrap();
        let name = b"word/document.xml";
        let claimed = 100u32.to_le_bytes();
        let mut patched = 0;
        // The uncompressed size: at 22 in a local header, at 24 in a central directory one.
        for (signature, at, name_at) in [(b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)] {
            let mut i = 0;
            while let Some(found) = bytes[i..].windows(4).position(|w| w == signature) {
                let start = i + found;
                if bytes[start + name_at..].starts_with(name) {
                    bytes[start + at..start + at + 4].copy_from_slice(&claimed);
                    patched += 1;
                }
                i = start + 4;
            }
        }
        assert_eq!(patched, 2);
        let mut liar = tempfile::NamedTempFile::new().unwrap();
        liar.write_all(&bytes).unwrap();
        match extract(FileKind::Docx, liar.path(), SMALL) {
            Extracted::Refused(_) => {}
            Extracted::Whole(text) | Extracted::Cut(text, _) => {
                assert!(text.len() <= 64 * 1024, "{} bytes read", text.len())
            }
        }
    }

    #[test]
    fn text_must_be_utf8_throughout() {
        // A character split between two reads of the check is still text.
        let mut split = tempfile::NamedTempFile::new().unwrap();
        let mut text = "a".repeat(64 * 1024 - 1).into_bytes();
        text.extend("é and more\n".as_bytes());
        split.write_all(&text).unwrap();
        check_whole(FileKind::Text, split.path(), SMALL).unwrap();
        let mut cut = tempfile::NamedTempFile::new().unwrap();
        cut.write_all(&"é".as_bytes()[..1]).unwrap();
        assert!(check_whole(FileKind::Text, cut.path(), SMALL).is_err());
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"fine start\n\xff\xfe broken").unwrap();
        assert!(check_whole(FileKind::Text, file.path(), SMALL).is_err());
        let mut good = tempfile::NamedTempFile::new().unwrap();
        good.write_all("\u{feff}a,b\nç,d\n".as_bytes()).unwrap();
        check_whole(FileKind::Csv, good.path(), SMALL).unwrap();
        assert_eq!(
            extract(FileKind::Csv, good.path(), SMALL),
            Extracted::Whole("a,b\nç,d".into())
        );
    }

    /// A PDF of `pages` pages, page n showing "page n", made with lopdf's writer; the last
    /// page's content is padded with `padding` spaces and compressed.
    fn pdf_padded(pages: u32, padding: usize) -> tempfile::NamedTempFile {
        use lopdf::content::{Content, Operation};
        use lopdf::{Document, Object, Stream, dictionary};
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
        let kids: Vec<Object> = (1..=pages)
            .map(|n| {
                let content = Content {
                    operations: vec![
                        Operation::new("BT", vec![]),
                        Operation::new("Tf", vec!["F1".into(), 12.into()]),
                        Operation::new("Td", vec![72.into(), 720.into()]),
                        Operation::new("Tj", vec![Object::string_literal(format!("page {n}"))]),
                        Operation::new("ET", vec![]),
                    ],
                };
                let mut bytes = content.encode().unwrap();
                let mut stream = Stream::new(dictionary! {}, Vec::new());
                if n == pages {
                    bytes.extend(std::iter::repeat_n(b' ', padding));
                    stream.set_plain_content(bytes);
                    stream.compress().unwrap();
                } else {
                    stream.set_plain_content(bytes);
                }
                let stream = doc.add_object(stream);
                doc.add_object(dictionary! {
                    "Type" => "Page", "Parent" => pages_id, "Contents" => stream,
                    "Resources" => resources, "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
                })
                .into()
            })
            .collect();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => pages }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let file = tempfile::NamedTempFile::new().unwrap();
        doc.save(file.path()).unwrap();
        file
    }

    fn pdf(pages: u32) -> tempfile::NamedTempFile {
        pdf_padded(pages, 0)
    }

    #[test]
    fn a_pdf_gives_its_pages_up_to_the_page_limit() {
        match extract(FileKind::Pdf, pdf(2).path(), SMALL) {
            Extracted::Whole(text) => {
                assert!(text.contains("page 1") && text.contains("page 2"), "{text}")
            }
            other => panic!("{other:?}"),
        }
        match extract(FileKind::Pdf, pdf(5).path(), SMALL) {
            Extracted::Cut(text, why) => {
                assert!(
                    text.contains("page 3") && !text.contains("page 4"),
                    "{text}"
                );
                assert!(
                    why.contains("has 5 pages and the first 3 were read"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A page whose content inflates past the limit is skipped, and named.
        let bomb = pdf_padded(2, 4 * 1024 * 1024);
        assert!(std::fs::metadata(bomb.path()).unwrap().len() < 64 * 1024);
        match extract(FileKind::Pdf, bomb.path(), SMALL) {
            Extracted::Cut(text, why) => {
                assert!(
                    text.contains("page 1") && !text.contains("page 2"),
                    "{text}"
                );
                assert!(why.contains("page 2 could not be read"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let mut junk = tempfile::NamedTempFile::new().unwrap();
        junk.write_all(b"%PDF-1.7\n1 0 obj << /Length 99999 >> stream\nxx")
            .unwrap();
        assert!(matches!(
            extract(FileKind::Pdf, junk.path(), SMALL),
            Extracted::Refused(_)
        ));
        // Objects nested past any parser's stack.
        let mut nested = tempfile::NamedTempFile::new().unwrap();
        let deep = "[".repeat(200_000) + &"]".repeat(200_000);
        write!(
            nested,
            "%PDF-1.7\n1 0 obj\n<< /Kids {deep} >>\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF"
        )
        .unwrap();
        match extract(FileKind::Pdf, nested.path(), SMALL) {
            Extracted::Refused(_) => {}
            Extracted::Whole(text) | Extracted::Cut(text, _) => assert_eq!(text, ""),
        }
        let mut zip = tempfile::NamedTempFile::new().unwrap();
        zip.write_all(b"PK\x03\x04 not really").unwrap();
        assert!(check_whole(FileKind::Docx, zip.path(), SMALL).is_err());
        assert!(matches!(
            extract(FileKind::Odt, zip.path(), SMALL),
            Extracted::Refused(_)
        ));
    }
}
