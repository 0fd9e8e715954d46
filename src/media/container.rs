//! Reads the duration and picture size of an uploaded video from its container (MP4 or WebM).
//!
//! Uploads are hostile input: a crafted file can claim boxes of 2^60 bytes, nest boxes without
//! end, or stop in the middle of a header. So this module
//! - reads through `Read + Seek` and only loads the few small metadata records it needs (at most
//!   1 MiB each); the media data is skipped by seeking, never read;
//! - checks every declared size against the box or element that contains it, and against the
//!   file, before using it; nothing is allocated from a declared size;
//! - follows fixed paths (`moov/trak/mdia/hdlr`, `Segment/Tracks/TrackEntry/Video`) instead of
//!   recursing into whatever the file contains, so the nesting depth is bounded by the code, and
//!   counts every box or element it looks at (at most 10,000) so no file can keep it walking;
//! - uses checked arithmetic and bounds-checked slicing, so no input can make it panic.
//!
//! It decodes nothing and does not check that the media data itself is playable. It is also
//! strict where leniency would mean reading media data: a WebM file must put Info and Tracks
//! before its first Cluster and must state its Duration (raw browser recordings often do not;
//! remuxing fixes both).

#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

/// The largest metadata record loaded into memory. Real `ftyp`, `mvhd`, `tkhd`, `hdlr`, Info
/// and Tracks records are far smaller; anything bigger is refused rather than allocated.
const MAX_READ: u64 = 1 << 20;

/// How many boxes or elements one probe may look at before it gives up.
const MAX_VISITS: u32 = 10_000;

/// A video container we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    WebM,
}

/// What the container says about the video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoInfo {
    pub container: Container,
    pub duration_ms: u64,
    pub width: u32,
    pub height: u32,
}

/// Why a file could not be probed. The messages are meant for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerError {
    /// Not a container we accept (for example QuickTime, HEIF images, or Matroska that is not
    /// WebM).
    Unsupported(String),
    /// It claims to be MP4 or WebM but is damaged, truncated or inconsistent. A failure to read
    /// the file is reported here too, with its cause.
    Malformed(String),
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(why) => write!(f, "unsupported video format: {why}"),
            Self::Malformed(why) => write!(f, "damaged or invalid video file: {why}"),
        }
    }
}

impl std::error::Error for ContainerError {}

/// Reads the container of the file `r` and returns its duration and picture size.
///
/// Positions are counted from the start of the stream, whatever its current position. Only
/// headers and small metadata records are read (each at most 1 MiB); the media data is skipped
/// by seeking.
pub fn probe<R: Read + Seek>(r: &mut R) -> Result<VideoInfo, ContainerError> {
    let len = r.seek(SeekFrom::End(0)).map_err(read_failed)?;
    let mut src = Source {
        r,
        len,
        budget: Budget::new(),
    };
    let head = src.read_at(0, len.min(8), "the start of the file")?;
    if head.get(4..8) == Some(b"ftyp".as_slice()) {
        mp4::probe(&mut src)
    } else if head.starts_with(&webm::EBML.to_be_bytes()) {
        webm::probe(&mut src)
    } else {
        Err(unsupported("the file is neither MP4 nor WebM"))
    }
}

/// A metadata box in an MP4 file: its type is at `start + 4`, its payload from `body` to
/// `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataBox {
    pub start: u64,
    pub body: u64,
    pub end: u64,
}

/// The metadata boxes of an MP4 file (call after [`probe`] accepted it). Blanking them in
/// place — type `free`, payload zeroed — removes what they said without moving any byte the
/// media data's offsets point at.
pub fn mp4_metadata_boxes<R: Read + Seek>(r: &mut R) -> Result<Vec<MetadataBox>, ContainerError> {
    let len = r.seek(SeekFrom::End(0)).map_err(read_failed)?;
    let mut src = Source {
        r,
        len,
        budget: Budget::new(),
    };
    mp4::metadata_boxes(&mut src)
}

/// Cheap sniff from the first bytes of a file (at least 12 for MP4, up to 64 for WebM): the
/// container when the bytes look like one we accept.
///
/// It reads the MP4 brands or the WebM DocType found in `head` and nothing else, so a `Some`
/// still has to be confirmed by [`probe`].
pub fn sniff(head: &[u8]) -> Option<Container> {
    if mp4::sniff(head) {
        Some(Container::Mp4)
    } else if webm::sniff(head) {
        Some(Container::WebM)
    } else {
        None
    }
}

fn unsupported(why: impl Into<String>) -> ContainerError {
    ContainerError::Unsupported(why.into())
}

fn malformed(why: impl Into<String>) -> ContainerError {
    ContainerError::Malformed(why.into())
}

/// Callers only tell "not ours" from "broken"; a read failure on an upload we just stored is
/// treated as a broken file, with its cause kept in the message.
fn read_failed(e: io::Error) -> ContainerError {
    malformed(format!("the file could not be read: {e}"))
}

/// Bytes from a hostile file, made safe to show in a message: printable ASCII only, and short.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(32)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// `N` bytes of `data` starting at `at`, or `None` when `data` is too short.
fn bytes<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    data.get(at..end)?.try_into().ok()
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    bytes(data, at).map(u32::from_be_bytes)
}

fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    bytes(data, at).map(u64::from_be_bytes)
}

/// Both containers can state a zero picture size; it is of no use to us, so it is refused.
fn picture_size(width: u32, height: u32) -> Result<(u32, u32), ContainerError> {
    if width == 0 || height == 0 {
        return Err(malformed("the video track does not state its picture size"));
    }
    Ok((width, height))
}

/// Counts the boxes or elements a probe looks at, so a hostile file cannot keep it busy.
struct Budget {
    visits_left: u32,
}

impl Budget {
    fn new() -> Self {
        Self {
            visits_left: MAX_VISITS,
        }
    }

    fn spend(&mut self) -> Result<(), ContainerError> {
        self.visits_left = self
            .visits_left
            .checked_sub(1)
            .ok_or_else(|| malformed("the file has too many boxes or elements to be a video"))?;
        Ok(())
    }
}

/// The file being probed: the reader, its length and what is left of the budget.
struct Source<'a, R> {
    r: &'a mut R,
    len: u64,
    budget: Budget,
}

impl<R: Read + Seek> Source<'_, R> {
    /// Reads `len` bytes at `pos`. `what` names the record for the error message.
    fn read_at(&mut self, pos: u64, len: u64, what: &str) -> Result<Vec<u8>, ContainerError> {
        if len > MAX_READ {
            return Err(malformed(format!(
                "{what} is too large to be metadata ({len} bytes)"
            )));
        }
        if pos.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(malformed(format!("{what} runs past the end of the file")));
        }
        self.r.seek(SeekFrom::Start(pos)).map_err(read_failed)?;
        // `take` + `read_to_end` grows the buffer with the bytes that really arrive, so not even
        // the capped length is trusted for the allocation.
        let mut buf = Vec::new();
        (&mut *self.r)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(read_failed)?;
        if u64::try_from(buf.len()).ok() != Some(len) {
            return Err(malformed(format!("the file ends in the middle of {what}")));
        }
        Ok(buf)
    }
}

/// MP4 (ISO base media file format): a tree of boxes, each a 32-bit size (or a 64-bit one after
/// it), a four-character type and a payload.
mod mp4 {
    use super::*;

    /// Brands that promise a plain MP4 video.
    const ACCEPTED_BRANDS: [&[u8; 4]; 11] = [
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash",
        b"M4V ",
    ];

    /// HEIF and AVIF still images (and image sequences) use the same box format; they are not
    /// videos, whatever other brands they list.
    const IMAGE_BRANDS: [&[u8; 4]; 9] = [
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1", b"avif", b"avis",
    ];

    /// Where a box sits in the file: its type, where its payload starts and where it ends.
    #[derive(Debug, Clone, Copy)]
    struct BoxHeader {
        start: u64,
        kind: [u8; 4],
        body: u64,
        end: u64,
    }

    /// Boxes that carry descriptive metadata rather than media: user data (where phones put
    /// `©xyz` locations), `meta` (iTunes-style and XMP), and `uuid` (vendor XMP).
    const METADATA: [&[u8; 4]; 3] = [b"udta", b"meta", b"uuid"];

    /// Where the metadata boxes are: at the top level, in `moov`, and in each `trak`.
    pub(super) fn metadata_boxes<R: Read + Seek>(
        src: &mut Source<R>,
    ) -> Result<Vec<MetadataBox>, ContainerError> {
        let top = children(src, 0, src.len)?;
        let mut found: Vec<BoxHeader> = Vec::new();
        let mut keep = |boxes: &[BoxHeader]| {
            found.extend(
                boxes
                    .iter()
                    .filter(|b| METADATA.contains(&&b.kind))
                    .copied(),
            );
        };
        keep(&top);
        if let Some(moov) = find(&top, b"moov") {
            let movie = children(src, moov.body, moov.end)?;
            keep(&movie);
            for trak in movie.iter().filter(|b| &b.kind == b"trak") {
                let track = children(src, trak.body, trak.end)?;
                keep(&track);
            }
        }
        Ok(found
            .into_iter()
            .map(|b| MetadataBox {
                start: b.start,
                body: b.body,
                end: b.end,
            })
            .collect())
    }

    pub(super) fn probe<R: Read + Seek>(src: &mut Source<R>) -> Result<VideoInfo, ContainerError> {
        // The brand decides whether we want the file at all, so it is checked before anything
        // else is walked.
        let ftyp = read_header(src, 0, src.len)?;
        if &ftyp.kind != b"ftyp" {
            return Err(malformed("an MP4 file must start with an ftyp box"));
        }
        check_ftyp(&read_body(src, ftyp, "the ftyp box")?)?;

        // Every top-level header is read, so a file cut short anywhere inside a box is noticed;
        // `mdat` (the media data) is skipped by seeking, wherever it is.
        let top = children(src, ftyp.end, src.len)?;
        let moov = find(&top, b"moov")
            .ok_or_else(|| malformed("the MP4 file has no moov box (movie header)"))?;
        let movie = children(src, moov.body, moov.end)?;

        let mvhd = find(&movie, b"mvhd")
            .ok_or_else(|| malformed("the MP4 file has no mvhd box (movie header)"))?;
        let duration_ms = parse_mvhd(&read_body(src, mvhd, "the mvhd box")?)?;
        let (width, height) = video_size(src, &movie)?;
        Ok(VideoInfo {
            container: Container::Mp4,
            duration_ms,
            width,
            height,
        })
    }

    pub(super) fn sniff(head: &[u8]) -> bool {
        if head.get(4..8) != Some(b"ftyp".as_slice()) {
            return false;
        }
        let Some(size) = be_u32(head, 0) else {
            return false;
        };
        // The same size rules as `read_header`, cut to what `head` holds.
        let (header_len, declared) = match size {
            0 => (8, u64::MAX),
            1 => (16, be_u64(head, 8).unwrap_or(u64::MAX)),
            n => (8, u64::from(n)),
        };
        let end = usize::try_from(declared)
            .unwrap_or(usize::MAX)
            .min(head.len());
        let body = head.get(header_len..end).unwrap_or_default();
        match brands(body) {
            Some((major, compatible)) => check_brands(major, compatible).is_ok(),
            None => false,
        }
    }

    /// Reads the header of the box at `pos`, which must end by `parent_end` (the end of the
    /// enclosing box, or of the file).
    fn read_header<R: Read + Seek>(
        src: &mut Source<R>,
        pos: u64,
        parent_end: u64,
    ) -> Result<BoxHeader, ContainerError> {
        src.budget.spend()?;
        let room = parent_end.saturating_sub(pos);
        if room < 8 {
            return Err(malformed("a box header is cut short"));
        }
        let head = src.read_at(pos, room.min(16), "a box header")?;
        let cut_short = || malformed("a box header is cut short");
        let size = be_u32(&head, 0).ok_or_else(cut_short)?;
        let kind = bytes::<4>(&head, 4).ok_or_else(cut_short)?;
        let (size, header_len) = match size {
            // Size 0: the box runs to the end of whatever holds it.
            0 => (room, 8),
            // Size 1: the real size is the 64-bit "largesize" after the type.
            1 => (be_u64(&head, 8).ok_or_else(cut_short)?, 16),
            n => (u64::from(n), 8),
        };
        if size < header_len {
            return Err(malformed(format!(
                "box '{}' is smaller than its own header",
                printable(&kind)
            )));
        }
        if size > room {
            return Err(malformed(format!(
                "box '{}' is larger than the box or file that holds it",
                printable(&kind)
            )));
        }
        // Neither sum can overflow: both are at most `parent_end`.
        Ok(BoxHeader {
            start: pos,
            kind,
            body: pos + header_len,
            end: pos + size,
        })
    }

    /// The headers of the boxes packed between `start` and `end`.
    fn children<R: Read + Seek>(
        src: &mut Source<R>,
        start: u64,
        end: u64,
    ) -> Result<Vec<BoxHeader>, ContainerError> {
        let mut found = Vec::new();
        let mut pos = start;
        // Each box is at least 8 bytes long, so this always moves on; the budget bounds it too.
        while pos < end {
            let header = read_header(src, pos, end)?;
            pos = header.end;
            found.push(header);
        }
        Ok(found)
    }

    fn find(boxes: &[BoxHeader], kind: &[u8; 4]) -> Option<BoxHeader> {
        boxes.iter().find(|b| &b.kind == kind).copied()
    }

    fn read_body<R: Read + Seek>(
        src: &mut Source<R>,
        header: BoxHeader,
        what: &str,
    ) -> Result<Vec<u8>, ContainerError> {
        let len = header.end.saturating_sub(header.body);
        src.read_at(header.body, len, what)
    }

    /// The major brand and the compatible brands of an `ftyp` payload (the minor version sits
    /// between them).
    fn brands(body: &[u8]) -> Option<([u8; 4], impl Iterator<Item = [u8; 4]> + '_)> {
        let major = bytes::<4>(body, 0)?;
        let compatible = body
            .get(8..)
            .unwrap_or_default()
            .chunks_exact(4)
            .filter_map(|brand| brand.try_into().ok());
        Some((major, compatible))
    }

    fn check_ftyp(body: &[u8]) -> Result<(), ContainerError> {
        let too_short = || malformed("the ftyp box is too short");
        if body.len() < 8 {
            return Err(too_short());
        }
        let (major, compatible) = brands(body).ok_or_else(too_short)?;
        check_brands(major, compatible)
    }

    /// The major brand says what the file mainly is; compatible brands may add MP4 to it.
    fn check_brands(
        major: [u8; 4],
        mut compatible: impl Iterator<Item = [u8; 4]>,
    ) -> Result<(), ContainerError> {
        if &major == b"qt  " {
            return Err(unsupported(
                "QuickTime (.mov) files are not accepted; please upload MP4 or WebM",
            ));
        }
        if IMAGE_BRANDS.contains(&&major) {
            return Err(unsupported(format!(
                "'{}' is a still-image format (HEIF or AVIF), not a video",
                printable(&major)
            )));
        }
        if ACCEPTED_BRANDS.contains(&&major) || compatible.any(|b| ACCEPTED_BRANDS.contains(&&b)) {
            Ok(())
        } else {
            Err(unsupported(format!(
                "the file type '{}' is not a kind of MP4 we accept",
                printable(&major)
            )))
        }
    }

    /// The movie duration in milliseconds, from the `mvhd` payload.
    fn parse_mvhd(body: &[u8]) -> Result<u64, ContainerError> {
        let too_short = || malformed("the mvhd box (movie header) is too short");
        // After version and flags come the creation and modification times, then the
        // timescale (units per second) and the duration; version 1 widens all but the timescale.
        let (timescale, duration) = match body.first() {
            Some(0) => {
                let duration = be_u32(body, 16).ok_or_else(too_short)?;
                let known = (duration != u32::MAX).then_some(u64::from(duration));
                (be_u32(body, 12).ok_or_else(too_short)?, known)
            }
            Some(1) => {
                let duration = be_u64(body, 24).ok_or_else(too_short)?;
                (
                    be_u32(body, 20).ok_or_else(too_short)?,
                    (duration != u64::MAX).then_some(duration),
                )
            }
            Some(v) => return Err(malformed(format!("the mvhd box has unknown version {v}"))),
            None => return Err(too_short()),
        };
        // All ones means "unknown".
        let duration =
            duration.ok_or_else(|| malformed("the MP4 file does not state its duration"))?;
        if timescale == 0 {
            return Err(malformed("the mvhd box has a timescale of zero"));
        }
        // u128 cannot overflow here: a u64 times 1000.
        let ms = u128::from(duration) * 1000 / u128::from(timescale);
        u64::try_from(ms).map_err(|_| malformed("the MP4 duration is impossibly long"))
    }

    /// The picture size of the first video track among the boxes of `moov`.
    fn video_size<R: Read + Seek>(
        src: &mut Source<R>,
        movie: &[BoxHeader],
    ) -> Result<(u32, u32), ContainerError> {
        for trak in movie.iter().filter(|b| &b.kind == b"trak") {
            let track = children(src, trak.body, trak.end)?;
            if !is_video_track(src, &track)? {
                continue;
            }
            let tkhd = find(&track, b"tkhd")
                .ok_or_else(|| malformed("the video track has no tkhd box (track header)"))?;
            return parse_tkhd(&read_body(src, tkhd, "the tkhd box")?);
        }
        Err(malformed("the MP4 file has no video track"))
    }

    /// Whether the track's `mdia/hdlr` box names the video handler. A track without them is
    /// not one we can use, so it counts as "not video" rather than as an error.
    fn is_video_track<R: Read + Seek>(
        src: &mut Source<R>,
        track: &[BoxHeader],
    ) -> Result<bool, ContainerError> {
        let Some(mdia) = find(track, b"mdia") else {
            return Ok(false);
        };
        let media = children(src, mdia.body, mdia.end)?;
        let Some(hdlr) = find(&media, b"hdlr") else {
            return Ok(false);
        };
        let body = read_body(src, hdlr, "the hdlr box")?;
        // Version and flags, a reserved word, then the handler type.
        let handler =
            bytes::<4>(&body, 8).ok_or_else(|| malformed("the hdlr box (handler) is too short"))?;
        Ok(&handler == b"vide")
    }

    /// The picture size from a `tkhd` payload: two 16.16 fixed-point numbers at the end.
    fn parse_tkhd(body: &[u8]) -> Result<(u32, u32), ContainerError> {
        let too_short = || malformed("the tkhd box (track header) is too short");
        // Version 1 widens the creation time, modification time and duration to 64 bits,
        // which moves the size 12 bytes further.
        let at = match body.first() {
            Some(0) => 76,
            Some(1) => 88,
            Some(v) => return Err(malformed(format!("the tkhd box has unknown version {v}"))),
            None => return Err(too_short()),
        };
        let width = be_u32(body, at).ok_or_else(too_short)? >> 16;
        let height = be_u32(body, at + 4).ok_or_else(too_short)? >> 16;
        picture_size(width, height)
    }
}

/// WebM, a profile of Matroska: a tree of EBML elements, each a variable-length ID, a
/// variable-length size and a payload.
mod webm {
    use super::*;

    pub(super) const EBML: u32 = 0x1A45_DFA3;
    const DOC_TYPE: u32 = 0x4282;
    const SEGMENT: u32 = 0x1853_8067;
    const INFO: u32 = 0x1549_A966;
    const TIMECODE_SCALE: u32 = 0x2A_D7B1;
    const DURATION: u32 = 0x4489;
    const TRACKS: u32 = 0x1654_AE6B;
    const TRACK_ENTRY: u32 = 0xAE;
    const TRACK_TYPE: u32 = 0x83;
    const VIDEO: u32 = 0xE0;
    const PIXEL_WIDTH: u32 = 0xB0;
    const PIXEL_HEIGHT: u32 = 0xBA;
    const CLUSTER: u32 = 0x1F43_B675;

    /// TrackType of a video track.
    const TRACK_TYPE_VIDEO: u64 = 1;
    /// Nanoseconds per Duration unit when the file does not say.
    const DEFAULT_TIMECODE_SCALE: u64 = 1_000_000;
    /// The longest element header: a 4-byte ID and an 8-byte size.
    const MAX_HEADER_LEN: u64 = 12;

    /// An element header: the ID (marker bits kept, as the spec writes IDs), the payload size
    /// (`None` when the file says "unknown") and how many bytes the header took.
    struct Header {
        id: u32,
        size: Option<u64>,
        len: usize,
    }

    /// Where an element sits in the file; `end` is `None` for an unknown size.
    struct Element {
        id: u32,
        body: u64,
        end: Option<u64>,
    }

    pub(super) fn probe<R: Read + Seek>(src: &mut Source<R>) -> Result<VideoInfo, ContainerError> {
        let header = read_element(src, 0, src.len)?;
        if header.id != EBML {
            return Err(malformed("a WebM file must start with an EBML header"));
        }
        let header_end = known_end(&header)?;
        let body = read_body(src, &header, "the EBML header")?;
        check_doc_type(&body, &mut src.budget)?;
        let segment = find_segment(src, header_end)?;
        read_segment(src, &segment)
    }

    pub(super) fn sniff(head: &[u8]) -> bool {
        let Ok(header) = parse_header(head) else {
            return false;
        };
        if header.id != EBML {
            return false;
        }
        let body = head.get(header.len..).unwrap_or_default();
        let body = match header.size.and_then(|size| usize::try_from(size).ok()) {
            Some(size) => body.get(..size).unwrap_or(body),
            None => body,
        };
        // `head` may end inside the header; only the complete elements before that count.
        for element in Elements(body) {
            match element {
                Ok((DOC_TYPE, value)) => return is_webm(value),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        false
    }

    /// Parses the element header at the start of `data`.
    fn parse_header(data: &[u8]) -> Result<Header, ContainerError> {
        let cut_short = || malformed("an element header is cut short");
        // The number of leading zero bits in the first byte says how many bytes follow.
        let first = *data.first().ok_or_else(cut_short)?;
        let id_len = first.leading_zeros() as usize + 1;
        if id_len > 4 {
            return Err(malformed("an element ID is invalid"));
        }
        let id = u32::try_from(be_uint(data.get(..id_len).ok_or_else(cut_short)?))
            .map_err(|_| malformed("an element ID is invalid"))?;

        let size_first = *data.get(id_len).ok_or_else(cut_short)?;
        let size_len = size_first.leading_zeros() as usize + 1;
        if size_len > 8 {
            return Err(malformed("an element size is invalid"));
        }
        let header_len = id_len + size_len;
        let raw = be_uint(data.get(id_len..header_len).ok_or_else(cut_short)?);
        // Drop the length marker; what is left, if all ones, means "unknown size".
        let value_mask = (1u64 << (7 * size_len)) - 1;
        let value = raw & value_mask;
        Ok(Header {
            id,
            size: (value != value_mask).then_some(value),
            len: header_len,
        })
    }

    /// A big-endian unsigned integer of at most 8 bytes (callers check the length).
    fn be_uint(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// Walks the elements packed one after another in an in-memory payload, yielding each ID
    /// with its payload. It stops after the first error.
    struct Elements<'a>(&'a [u8]);

    impl<'a> Iterator for Elements<'a> {
        type Item = Result<(u32, &'a [u8]), ContainerError>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.0.is_empty() {
                return None;
            }
            match split_element(self.0) {
                Ok((id, body, rest)) => {
                    self.0 = rest;
                    Some(Ok((id, body)))
                }
                Err(e) => {
                    self.0 = &[];
                    Some(Err(e))
                }
            }
        }
    }

    /// Splits the first element off `data`: its ID, its payload and what follows it.
    fn split_element(data: &[u8]) -> Result<(u32, &[u8], &[u8]), ContainerError> {
        let header = parse_header(data)?;
        let size = header.size.ok_or_else(|| {
            malformed(format!(
                "element {:#X} has an unknown size where a size is required",
                header.id
            ))
        })?;
        let rest = data.get(header.len..).unwrap_or_default();
        usize::try_from(size)
            .ok()
            .and_then(|size| rest.split_at_checked(size))
            .map(|(body, rest)| (header.id, body, rest))
            .ok_or_else(|| {
                malformed(format!(
                    "element {:#X} is larger than the element that holds it",
                    header.id
                ))
            })
    }

    /// Reads the header of the element at `pos`, which must end by `parent_end`.
    fn read_element<R: Read + Seek>(
        src: &mut Source<R>,
        pos: u64,
        parent_end: u64,
    ) -> Result<Element, ContainerError> {
        src.budget.spend()?;
        let room = parent_end.saturating_sub(pos);
        let head = src.read_at(pos, room.min(MAX_HEADER_LEN), "an element header")?;
        let header = parse_header(&head)?;
        let body = pos
            .checked_add(header.len as u64)
            .ok_or_else(|| malformed("an element header is cut short"))?;
        let end = match header.size {
            None => None,
            Some(size) => Some(
                body.checked_add(size)
                    .filter(|&end| end <= parent_end)
                    .ok_or_else(|| {
                        malformed(format!(
                            "element {:#X} is larger than the element or file that holds it",
                            header.id
                        ))
                    })?,
            ),
        };
        Ok(Element {
            id: header.id,
            body,
            end,
        })
    }

    /// Where an element ends; only Segment and Cluster may leave their size unknown, and we
    /// never walk past an unknown-size Cluster.
    fn known_end(element: &Element) -> Result<u64, ContainerError> {
        element.end.ok_or_else(|| {
            malformed(format!(
                "element {:#X} has an unknown size where a size is required",
                element.id
            ))
        })
    }

    fn read_body<R: Read + Seek>(
        src: &mut Source<R>,
        element: &Element,
        what: &str,
    ) -> Result<Vec<u8>, ContainerError> {
        let end = known_end(element)?;
        src.read_at(element.body, end.saturating_sub(element.body), what)
    }

    fn is_webm(mut doc_type: &[u8]) -> bool {
        // EBML strings may be padded with zero bytes.
        while let [text @ .., 0] = doc_type {
            doc_type = text;
        }
        doc_type == b"webm"
    }

    /// Accepts the EBML header only when its DocType says WebM (a missing DocType means the
    /// default, "matroska").
    fn check_doc_type(header: &[u8], budget: &mut Budget) -> Result<(), ContainerError> {
        let mut doc_type: &[u8] = b"matroska";
        for element in Elements(header) {
            let (id, value) = element?;
            budget.spend()?;
            if id == DOC_TYPE {
                doc_type = value;
            }
        }
        if is_webm(doc_type) {
            Ok(())
        } else {
            Err(unsupported(format!(
                "Matroska files of type '{}' are not accepted; only WebM is",
                printable(doc_type)
            )))
        }
    }

    /// The first Segment among the top-level elements from `pos` on.
    fn find_segment<R: Read + Seek>(
        src: &mut Source<R>,
        mut pos: u64,
    ) -> Result<Element, ContainerError> {
        while pos < src.len {
            let element = read_element(src, pos, src.len)?;
            if element.id == SEGMENT {
                return Ok(element);
            }
            pos = known_end(&element)?;
        }
        Err(malformed("the WebM file has no Segment"))
    }

    /// Walks the Segment's children up to Info and Tracks, seeking past everything else.
    fn read_segment<R: Read + Seek>(
        src: &mut Source<R>,
        segment: &Element,
    ) -> Result<VideoInfo, ContainerError> {
        // An unknown-size Segment (common from live recorders) runs to the end of the file.
        let end = segment.end.unwrap_or(src.len);
        let mut duration_ms = None;
        let mut size = None;
        let mut pos = segment.body;
        while pos < end {
            let element = read_element(src, pos, end)?;
            match element.id {
                // Clusters hold the media and often have unknown sizes, so the only way past
                // them would be reading the media data. Muxers write Info and Tracks first.
                CLUSTER => {
                    return Err(malformed(
                        "the WebM file puts its metadata after the media data \
                         (a Cluster comes before Info and Tracks)",
                    ));
                }
                INFO if duration_ms.is_none() => {
                    let body = read_body(src, &element, "the Info element")?;
                    duration_ms = Some(parse_info(&body, &mut src.budget)?);
                }
                TRACKS if size.is_none() => {
                    let body = read_body(src, &element, "the Tracks element")?;
                    size = Some(parse_tracks(&body, &mut src.budget)?);
                }
                _ => {}
            }
            if let (Some(duration_ms), Some((width, height))) = (duration_ms, size) {
                return Ok(VideoInfo {
                    container: Container::WebM,
                    duration_ms,
                    width,
                    height,
                });
            }
            pos = known_end(&element)?;
        }
        Err(malformed(if duration_ms.is_none() {
            "the WebM file has no Info element"
        } else {
            "the WebM file has no Tracks element"
        }))
    }

    /// The duration in milliseconds, from the Info payload.
    fn parse_info(info: &[u8], budget: &mut Budget) -> Result<u64, ContainerError> {
        let mut scale = DEFAULT_TIMECODE_SCALE;
        let mut duration = None;
        for element in Elements(info) {
            let (id, value) = element?;
            budget.spend()?;
            match id {
                TIMECODE_SCALE => scale = uint(value)?,
                DURATION => duration = Some(float(value)?),
                _ => {}
            }
        }
        let duration =
            duration.ok_or_else(|| malformed("the WebM file does not state its duration"))?;
        if scale == 0 {
            return Err(malformed("the WebM TimecodeScale is zero"));
        }
        // Duration counts TimecodeScale units, and TimecodeScale is in nanoseconds.
        let ms = duration * scale as f64 / 1e6;
        if !ms.is_finite() || ms < 0.0 || ms >= u64::MAX as f64 {
            return Err(malformed("the WebM duration is not a usable number"));
        }
        // In range and finite, so the conversion is exact up to the dropped fraction.
        Ok(ms as u64)
    }

    /// The picture size of the first video track in the Tracks payload.
    fn parse_tracks(tracks: &[u8], budget: &mut Budget) -> Result<(u32, u32), ContainerError> {
        for element in Elements(tracks) {
            let (id, entry) = element?;
            budget.spend()?;
            if id == TRACK_ENTRY
                && let Some(size) = video_track_size(entry, budget)?
            {
                return Ok(size);
            }
        }
        Err(malformed("the WebM file has no video track"))
    }

    /// The picture size of a TrackEntry, or `None` when it is not a video track.
    fn video_track_size(
        entry: &[u8],
        budget: &mut Budget,
    ) -> Result<Option<(u32, u32)>, ContainerError> {
        let mut track_type = None;
        let mut video = None;
        for element in Elements(entry) {
            let (id, value) = element?;
            budget.spend()?;
            match id {
                TRACK_TYPE => track_type = Some(uint(value)?),
                VIDEO => video = Some(value),
                _ => {}
            }
        }
        if track_type != Some(TRACK_TYPE_VIDEO) {
            return Ok(None);
        }
        let video = video.ok_or_else(|| malformed("the WebM video track has no Video settings"))?;

        let (mut width, mut height) = (0, 0);
        for element in Elements(video) {
            let (id, value) = element?;
            budget.spend()?;
            match id {
                PIXEL_WIDTH => width = uint(value)?,
                PIXEL_HEIGHT => height = uint(value)?,
                _ => {}
            }
        }
        let too_big = |_| malformed("the WebM picture size is impossibly large");
        let width = u32::try_from(width).map_err(too_big)?;
        let height = u32::try_from(height).map_err(too_big)?;
        picture_size(width, height).map(Some)
    }

    /// An EBML unsigned integer: 0 to 8 big-endian bytes.
    fn uint(value: &[u8]) -> Result<u64, ContainerError> {
        if value.len() > 8 {
            return Err(malformed("an integer element is longer than 8 bytes"));
        }
        Ok(be_uint(value))
    }

    /// An EBML float: 4 or 8 big-endian bytes, or none at all for 0.
    fn float(value: &[u8]) -> Result<f64, ContainerError> {
        if value.is_empty() {
            return Ok(0.0);
        }
        if let Ok(b) = <[u8; 4]>::try_from(value) {
            return Ok(f64::from(f32::from_be_bytes(b)));
        }
        if let Ok(b) = <[u8; 8]>::try_from(value) {
            return Ok(f64::from_be_bytes(b));
        }
        Err(malformed("a float element is neither 4 nor 8 bytes long"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn probe_bytes(data: &[u8]) -> Result<VideoInfo, ContainerError> {
        probe(&mut Cursor::new(data))
    }

    fn assert_malformed(result: Result<VideoInfo, ContainerError>, needle: &str) {
        match result {
            Err(ContainerError::Malformed(why)) => {
                assert!(why.contains(needle), "{why:?} does not mention {needle:?}")
            }
            other => panic!("expected Malformed({needle:?}), got {other:?}"),
        }
    }

    fn assert_unsupported(result: Result<VideoInfo, ContainerError>) {
        assert!(
            matches!(result, Err(ContainerError::Unsupported(_))),
            "expected Unsupported, got {result:?}"
        );
    }

    /// xorshift64: deterministic, good enough to shake the parsers.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn bytes(&mut self, max_len: usize) -> Vec<u8> {
            let len = self.below(max_len + 1);
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    /// A pretend file of `len` bytes, zero except for `chunks`, so tests can describe files of
    /// 2^60 bytes without storing them. It counts the bytes handed out.
    struct Sparse {
        len: u64,
        pos: u64,
        chunks: Vec<(u64, Vec<u8>)>,
        bytes_read: u64,
    }

    impl Sparse {
        fn new(len: u64, chunks: Vec<(u64, Vec<u8>)>) -> Self {
            Self {
                len,
                pos: 0,
                chunks,
                bytes_read: 0,
            }
        }

        fn byte_at(&self, at: u64) -> u8 {
            for (start, bytes) in &self.chunks {
                if at >= *start && at - start < bytes.len() as u64 {
                    return bytes[(at - start) as usize];
                }
            }
            0
        }
    }

    impl Read for Sparse {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (buf.len() as u64)
                .min(self.len.saturating_sub(self.pos))
                .min(4096) as usize;
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = self.byte_at(self.pos + i as u64);
            }
            self.pos += n as u64;
            self.bytes_read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            self.pos = match to {
                SeekFrom::Start(p) => p,
                SeekFrom::End(d) => self.len.checked_add_signed(d).unwrap(),
                SeekFrom::Current(d) => self.pos.checked_add_signed(d).unwrap(),
            };
            Ok(self.pos)
        }
    }

    // ---- MP4 builders ----

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(8 + body.len())
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    /// The same box, written with size 1 and a 64-bit largesize.
    fn mp4_large_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = 1u32.to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(&(16 + body.len() as u64).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn full_box(kind: &[u8; 4], version: u8, fields: &[u8]) -> Vec<u8> {
        let mut body = vec![version, 0, 0, 0];
        body.extend_from_slice(fields);
        mp4_box(kind, &body)
    }

    fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut body = major.to_vec();
        body.extend_from_slice(&0x200u32.to_be_bytes());
        for brand in compatible {
            body.extend_from_slice(*brand);
        }
        mp4_box(b"ftyp", &body)
    }

    fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
        let mut f = vec![0; 8]; // creation and modification times
        f.extend_from_slice(&timescale.to_be_bytes());
        f.extend_from_slice(&duration.to_be_bytes());
        f.extend_from_slice(&[0; 80]); // rate, volume, matrix, next track id...
        full_box(b"mvhd", 0, &f)
    }

    fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
        let mut f = vec![0; 16];
        f.extend_from_slice(&timescale.to_be_bytes());
        f.extend_from_slice(&duration.to_be_bytes());
        f.extend_from_slice(&[0; 80]);
        full_box(b"mvhd", 1, &f)
    }

    fn tkhd(version: u8, width: u32, height: u32) -> Vec<u8> {
        // Times, track id, reserved and duration, then layer, volume and matrix.
        let mut f = vec![0; if version == 0 { 20 } else { 32 }];
        f.extend_from_slice(&[0; 52]);
        f.extend_from_slice(&(width << 16).to_be_bytes());
        f.extend_from_slice(&(height << 16).to_be_bytes());
        full_box(b"tkhd", version, &f)
    }

    fn hdlr(handler: &[u8; 4]) -> Vec<u8> {
        let mut f = vec![0; 4];
        f.extend_from_slice(handler);
        f.extend_from_slice(&[0; 12]);
        f.extend_from_slice(b"Handler\0");
        full_box(b"hdlr", 0, &f)
    }

    fn trak(tkhd_box: Vec<u8>, handler: &[u8; 4]) -> Vec<u8> {
        let mdia = mp4_box(
            b"mdia",
            &concat(&[full_box(b"mdhd", 0, &[0; 20]), hdlr(handler)]),
        );
        mp4_box(b"trak", &concat(&[tkhd_box, mdia]))
    }

    fn moov(mvhd: Vec<u8>, video_tkhd: Vec<u8>) -> Vec<u8> {
        mp4_box(
            b"moov",
            &concat(&[
                mvhd,
                trak(tkhd(0, 0, 0), b"soun"),
                trak(video_tkhd, b"vide"),
            ]),
        )
    }

    /// ftyp, a small mdat, then moov: every strict prefix of it is broken.
    fn valid_mp4() -> Vec<u8> {
        concat(&[
            ftyp(b"isom", &[b"isom", b"avc1"]),
            mp4_box(b"free", &[]),
            mp4_box(b"mdat", &[0xAB; 64]),
            moov(mvhd_v0(1000, 12_345), tkhd(0, 1280, 720)),
        ])
    }

    #[test]
    fn mp4_metadata_boxes_are_found_at_every_level_they_live_at() {
        let video_trak = mp4_box(
            b"trak",
            &concat(&[tkhd(0, 320, 240), mp4_box(b"udta", b"track name")]),
        );
        let file = concat(&[
            ftyp(b"isom", &[b"isom"]),
            mp4_box(b"meta", b"top-level xmp"),
            mp4_box(b"mdat", &[0xAB; 16]),
            mp4_box(
                b"moov",
                &concat(&[
                    mvhd_v0(1000, 1000),
                    video_trak,
                    mp4_box(b"udta", b"\xa9xyz+48.85+002.35/"),
                    mp4_box(b"uuid", b"vendor xmp"),
                ]),
            ),
        ]);
        let found = mp4_metadata_boxes(&mut Cursor::new(&file)).unwrap();
        let kinds: Vec<&[u8]> = found
            .iter()
            .map(|b| &file[b.start as usize + 4..b.start as usize + 8])
            .collect();
        assert_eq!(
            kinds,
            [b"meta", b"udta", b"uuid", b"udta"].map(|k| k.as_slice())
        );
        for b in &found {
            assert_eq!(b.body, b.start + 8);
            assert!(b.end <= file.len() as u64);
        }
    }

    fn mp4_info(duration_ms: u64, width: u32, height: u32) -> VideoInfo {
        VideoInfo {
            container: Container::Mp4,
            duration_ms,
            width,
            height,
        }
    }

    // ---- WebM builders ----

    fn ebml_id(id: u32) -> Vec<u8> {
        let bytes = id.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        bytes[skip..].to_vec()
    }

    /// Sizes are written in 1 byte when small and in the 8-byte form otherwise, so both paths
    /// of the parser are used.
    fn ebml_size(size: usize) -> Vec<u8> {
        if size < 0x7F {
            vec![0x80 | size as u8]
        } else {
            let mut out = (size as u64).to_be_bytes();
            out[0] = 0x01;
            out.to_vec()
        }
    }

    fn el(id: u32, body: &[u8]) -> Vec<u8> {
        concat(&[ebml_id(id), ebml_size(body.len()), body.to_vec()])
    }

    fn el_unknown_size(id: u32, body: &[u8]) -> Vec<u8> {
        concat(&[
            ebml_id(id),
            vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            body.to_vec(),
        ])
    }

    fn uint_el(id: u32, value: u64) -> Vec<u8> {
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
        el(id, &bytes[skip..])
    }

    fn ebml_header(doc_type: &[u8]) -> Vec<u8> {
        el(
            0x1A45_DFA3,
            &concat(&[
                uint_el(0x4286, 1), // EBMLVersion
                uint_el(0x42F7, 1), // EBMLReadVersion
                uint_el(0x42F2, 4), // EBMLMaxIDLength
                uint_el(0x42F3, 8), // EBMLMaxSizeLength
                el(0x4282, doc_type),
                uint_el(0x4287, 4), // DocTypeVersion
                uint_el(0x4285, 2), // DocTypeReadVersion
            ]),
        )
    }

    fn info(scale: Option<u64>, duration: Option<&[u8]>) -> Vec<u8> {
        let mut body = Vec::new();
        if let Some(scale) = scale {
            body.extend(uint_el(0x2A_D7B1, scale));
        }
        body.extend(el(0x4D80, b"hearth-test")); // MuxingApp
        if let Some(duration) = duration {
            body.extend(el(0x4489, duration));
        }
        el(0x1549_A966, &body)
    }

    fn track_entry(track_type: u64, size: Option<(u64, u64)>) -> Vec<u8> {
        let mut body = concat(&[uint_el(0xD7, 1), uint_el(0x83, track_type)]);
        if let Some((width, height)) = size {
            body.extend(el(
                0xE0,
                &concat(&[uint_el(0xB0, width), uint_el(0xBA, height)]),
            ));
        }
        el(0xAE, &body)
    }

    fn tracks(entries: &[Vec<u8>]) -> Vec<u8> {
        el(0x1654_AE6B, &concat(entries))
    }

    fn cluster() -> Vec<u8> {
        el(
            0x1F43_B675,
            &concat(&[uint_el(0xE7, 0), el(0xA3, &[0x81, 0, 0, 0x80, 1, 2, 3])]),
        )
    }

    fn seek_head() -> Vec<u8> {
        el(
            0x114D_9B74,
            &el(
                0x4DBB,
                &concat(&[el(0x53AB, &[0x15, 0x49, 0xA9, 0x66]), uint_el(0x53AC, 64)]),
            ),
        )
    }

    fn webm_segment_body(duration: &[u8]) -> Vec<u8> {
        concat(&[
            seek_head(),
            el(0xEC, &[0; 10]), // Void
            info(Some(1_000_000), Some(duration)),
            tracks(&[track_entry(2, None), track_entry(1, Some((640, 360)))]),
            cluster(),
        ])
    }

    /// EBML header and a known-size Segment: every strict prefix of it is broken.
    fn valid_webm() -> Vec<u8> {
        concat(&[
            ebml_header(b"webm"),
            el(0x1853_8067, &webm_segment_body(&12_345.0f64.to_be_bytes())),
        ])
    }

    fn webm_info(duration_ms: u64, width: u32, height: u32) -> VideoInfo {
        VideoInfo {
            container: Container::WebM,
            duration_ms,
            width,
            height,
        }
    }

    // ---- MP4 ----

    #[test]
    fn mp4_with_version_0_headers() {
        assert_eq!(probe_bytes(&valid_mp4()), Ok(mp4_info(12_345, 1280, 720)));
    }

    #[test]
    fn mp4_with_version_1_headers_and_a_64_bit_duration() {
        // Ten days at 90 kHz does not fit in 32 bits.
        let duration = 90_000u64 * 86_400 * 10;
        let file = concat(&[
            ftyp(b"mp42", &[]),
            moov(mvhd_v1(90_000, duration), tkhd(1, 3840, 2160)),
        ]);
        assert_eq!(probe_bytes(&file), Ok(mp4_info(864_000_000, 3840, 2160)));
    }

    #[test]
    fn mp4_duration_rounds_down_to_whole_milliseconds() {
        let file = concat(&[
            ftyp(b"iso5", &[]),
            moov(mvhd_v0(48_000, 48_047), tkhd(0, 2, 2)),
        ]);
        assert_eq!(probe_bytes(&file).unwrap().duration_ms, 1000);
    }

    #[test]
    fn mp4_brand_found_among_compatible_brands() {
        let file = concat(&[
            ftyp(b"XAVC", &[b"XAVC", b"mp42"]),
            moov(mvhd_v0(1000, 5), tkhd(0, 16, 9)),
        ]);
        assert_eq!(probe_bytes(&file), Ok(mp4_info(5, 16, 9)));
    }

    #[test]
    fn mp4_moov_after_a_large_mdat_is_found_by_seeking() {
        let file = concat(&[
            ftyp(b"isom", &[]),
            mp4_box(b"mdat", &vec![7; 300_000]),
            moov(mvhd_v0(600, 6000), tkhd(0, 320, 240)),
        ]);
        assert_eq!(probe_bytes(&file), Ok(mp4_info(10_000, 320, 240)));
    }

    #[test]
    fn mp4_moov_after_a_huge_declared_mdat_is_found_without_reading_it() {
        // An mdat of 2^40 bytes (a terabyte) with the movie header after it.
        let head = ftyp(b"isom", &[]);
        let mdat_at = head.len() as u64;
        let mdat_len = 1u64 << 40;
        let mut mdat_header = 1u32.to_be_bytes().to_vec();
        mdat_header.extend_from_slice(b"mdat");
        mdat_header.extend_from_slice(&mdat_len.to_be_bytes());
        let tail = moov(mvhd_v0(1000, 1), tkhd(0, 4, 3));
        let moov_at = mdat_at + mdat_len;
        let mut file = Sparse::new(
            moov_at + tail.len() as u64,
            vec![(0, head), (mdat_at, mdat_header), (moov_at, tail)],
        );
        assert_eq!(probe(&mut file), Ok(mp4_info(1, 4, 3)));
        assert!(file.bytes_read < 4096, "read {} bytes", file.bytes_read);
    }

    #[test]
    fn mp4_largesize_boxes() {
        let file = concat(&[
            mp4_large_box(b"ftyp", &concat(&[b"isom".to_vec(), vec![0; 4]])),
            mp4_large_box(b"mdat", &[1, 2, 3]),
            mp4_large_box(
                b"moov",
                &concat(&[mvhd_v0(1000, 2500), trak(tkhd(0, 1920, 1080), b"vide")]),
            ),
        ]);
        assert_eq!(probe_bytes(&file), Ok(mp4_info(2500, 1920, 1080)));
    }

    #[test]
    fn mp4_size_zero_runs_to_the_end_of_the_file() {
        let mut file = concat(&[ftyp(b"isom", &[]), moov(mvhd_v0(1000, 42), tkhd(0, 8, 8))]);
        file.extend_from_slice(&0u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        file.extend_from_slice(&[9; 100]);
        assert_eq!(probe_bytes(&file), Ok(mp4_info(42, 8, 8)));
    }

    #[test]
    fn quicktime_is_refused() {
        let file = concat(&[
            ftyp(b"qt  ", &[b"qt  "]),
            moov(mvhd_v0(1000, 1000), tkhd(0, 640, 480)),
        ]);
        assert_unsupported(probe_bytes(&file));
    }

    #[test]
    fn heif_and_avif_images_are_refused() {
        for (major, compatible) in [
            (b"heic", [b"mif1", b"heic"]),
            (b"avif", [b"avif", b"mif1"]),
            (b"mif1", [b"heic", b"isom"]),
        ] {
            let file = concat(&[
                ftyp(major, &compatible),
                moov(mvhd_v0(1000, 1000), tkhd(0, 640, 480)),
            ]);
            assert_unsupported(probe_bytes(&file));
        }
    }

    #[test]
    fn unknown_brands_and_other_files_are_refused() {
        let file = concat(&[
            ftyp(b"crx ", &[b"crx "]),
            moov(mvhd_v0(1, 1), tkhd(0, 1, 1)),
        ]);
        assert_unsupported(probe_bytes(&file));
        assert_unsupported(probe_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert_unsupported(probe_bytes(b""));
        // A QuickTime movie old enough to have no ftyp at all.
        assert_unsupported(probe_bytes(&moov(mvhd_v0(1, 1), tkhd(0, 1, 1))));
    }

    #[test]
    fn mp4_without_a_video_track() {
        let file = concat(&[
            ftyp(b"M4A ", &[b"M4A ", b"mp42", b"isom"]),
            mp4_box(
                b"moov",
                &concat(&[mvhd_v0(44_100, 441_000), trak(tkhd(0, 0, 0), b"soun")]),
            ),
        ]);
        assert_malformed(probe_bytes(&file), "no video track");
    }

    #[test]
    fn mp4_missing_pieces() {
        let no_moov = concat(&[ftyp(b"isom", &[]), mp4_box(b"mdat", &[0; 8])]);
        assert_malformed(probe_bytes(&no_moov), "no moov");

        let no_mvhd = concat(&[
            ftyp(b"isom", &[]),
            mp4_box(b"moov", &trak(tkhd(0, 2, 2), b"vide")),
        ]);
        assert_malformed(probe_bytes(&no_mvhd), "no mvhd");

        let zero_timescale = concat(&[ftyp(b"isom", &[]), moov(mvhd_v0(0, 10), tkhd(0, 2, 2))]);
        assert_malformed(probe_bytes(&zero_timescale), "timescale of zero");

        let unknown_duration = concat(&[
            ftyp(b"isom", &[]),
            moov(mvhd_v0(1000, u32::MAX), tkhd(0, 2, 2)),
        ]);
        assert_malformed(
            probe_bytes(&unknown_duration),
            "does not state its duration",
        );

        let no_size = concat(&[ftyp(b"isom", &[]), moov(mvhd_v0(1000, 10), tkhd(0, 0, 0))]);
        assert_malformed(probe_bytes(&no_size), "picture size");

        let short_ftyp = concat(&[
            mp4_box(b"ftyp", b"isom"),
            moov(mvhd_v0(1, 1), tkhd(0, 1, 1)),
        ]);
        assert_malformed(probe_bytes(&short_ftyp), "ftyp box is too short");
    }

    #[test]
    fn mp4_child_larger_than_its_parent_is_refused() {
        let trak = trak(tkhd(0, 2, 2), b"vide");
        let mut mvhd = mvhd_v0(1000, 10);
        mvhd[3] += 1; // one byte more than moov holds
        let file = concat(&[ftyp(b"isom", &[]), mp4_box(b"moov", &concat(&[trak, mvhd]))]);
        assert_malformed(probe_bytes(&file), "larger than the box or file");

        let mut box_too_small = valid_mp4();
        let moov_at = box_too_small.len() - moov(mvhd_v0(1000, 12_345), tkhd(0, 1280, 720)).len();
        box_too_small[moov_at..moov_at + 4].copy_from_slice(&4u32.to_be_bytes());
        assert_malformed(probe_bytes(&box_too_small), "smaller than its own header");
    }

    #[test]
    fn a_64_bit_size_of_2_pow_60_does_not_allocate() {
        // A "file" of 2^61 bytes whose moov and mvhd both claim about 2^60 bytes: the sizes fit,
        // so only the read cap stands between us and a 2^60-byte buffer.
        let huge = 1u64 << 60;
        let mut head = ftyp(b"isom", &[]);
        for (kind, size) in [(b"moov", huge), (b"mvhd", huge - 16)] {
            head.extend_from_slice(&1u32.to_be_bytes());
            head.extend_from_slice(kind);
            head.extend_from_slice(&size.to_be_bytes());
        }
        let mut file = Sparse::new(1 << 61, vec![(0, head)]);
        assert_malformed(probe(&mut file), "too large");
        assert!(file.bytes_read < 4096, "read {} bytes", file.bytes_read);
    }

    #[test]
    fn too_many_boxes_are_refused() {
        let mut body = Vec::new();
        for _ in 0..20_000 {
            body.extend(mp4_box(b"free", &[]));
        }
        let file = concat(&[ftyp(b"isom", &[]), body, moov(mvhd_v0(1, 1), tkhd(0, 1, 1))]);
        assert_malformed(probe_bytes(&file), "too many");
    }

    // ---- WebM ----

    #[test]
    fn webm_with_an_8_byte_duration() {
        assert_eq!(probe_bytes(&valid_webm()), Ok(webm_info(12_345, 640, 360)));
    }

    #[test]
    fn webm_with_a_4_byte_duration_and_a_timecode_scale() {
        // 2500.5 units of 10 ms each.
        let segment = concat(&[
            info(Some(10_000_000), Some(&2500.5f32.to_be_bytes())),
            tracks(&[track_entry(1, Some((1920, 1080)))]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &segment)]);
        assert_eq!(probe_bytes(&file), Ok(webm_info(25_005, 1920, 1080)));
    }

    #[test]
    fn webm_default_timecode_scale_is_one_millisecond() {
        let segment = concat(&[
            info(None, Some(&1500.0f64.to_be_bytes())),
            tracks(&[track_entry(1, Some((2, 2)))]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &segment)]);
        assert_eq!(probe_bytes(&file), Ok(webm_info(1500, 2, 2)));
    }

    #[test]
    fn webm_with_an_unknown_size_segment_and_cluster() {
        let segment = concat(&[
            info(Some(1_000_000), Some(&3000.0f64.to_be_bytes())),
            tracks(&[track_entry(1, Some((1280, 720)))]),
            el_unknown_size(0x1F43_B675, &[0xE7, 0x81, 0x00]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el_unknown_size(0x1853_8067, &segment)]);
        assert_eq!(probe_bytes(&file), Ok(webm_info(3000, 1280, 720)));

        // The one-byte spelling of "unknown".
        let mut short = concat(&[ebml_header(b"webm"), vec![0x18, 0x53, 0x80, 0x67, 0xFF]]);
        short.extend_from_slice(&segment);
        assert_eq!(probe_bytes(&short), Ok(webm_info(3000, 1280, 720)));
    }

    #[test]
    fn webm_doc_type_may_be_padded() {
        let file = concat(&[
            ebml_header(b"webm\0\0"),
            el(0x1853_8067, &webm_segment_body(&1.0f64.to_be_bytes())),
        ]);
        assert_eq!(probe_bytes(&file), Ok(webm_info(1, 640, 360)));
    }

    #[test]
    fn webm_without_a_duration() {
        let segment = concat(&[
            info(Some(1_000_000), None),
            tracks(&[track_entry(1, Some((2, 2)))]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &segment)]);
        assert_malformed(
            probe_bytes(&file),
            "the WebM file does not state its duration",
        );
    }

    #[test]
    fn webm_unusable_durations_and_sizes() {
        for duration in [f64::NAN, f64::INFINITY, -1.0, 1e300] {
            let segment = concat(&[
                info(None, Some(&duration.to_be_bytes())),
                tracks(&[track_entry(1, Some((2, 2)))]),
            ]);
            let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &segment)]);
            assert_malformed(probe_bytes(&file), "not a usable number");
        }
        let odd_float = concat(&[
            info(None, Some(&[0; 3])),
            tracks(&[track_entry(1, Some((2, 2)))]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &odd_float)]);
        assert_malformed(probe_bytes(&file), "neither 4 nor 8");

        let huge = concat(&[
            info(None, Some(&1.0f64.to_be_bytes())),
            tracks(&[track_entry(1, Some((1 << 40, 2)))]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &huge)]);
        assert_malformed(probe_bytes(&file), "impossibly large");
    }

    #[test]
    fn webm_without_a_video_track() {
        let segment = concat(&[
            info(None, Some(&1.0f64.to_be_bytes())),
            tracks(&[track_entry(2, None)]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &segment)]);
        assert_malformed(probe_bytes(&file), "no video track");
    }

    #[test]
    fn webm_with_metadata_after_the_media_is_refused() {
        let segment = concat(&[
            info(None, Some(&1.0f64.to_be_bytes())),
            el_unknown_size(0x1F43_B675, &[0xE7, 0x81, 0x00]),
            tracks(&[track_entry(1, Some((2, 2)))]),
        ]);
        let file = concat(&[ebml_header(b"webm"), el_unknown_size(0x1853_8067, &segment)]);
        assert_malformed(probe_bytes(&file), "metadata after the media data");
    }

    #[test]
    fn matroska_is_refused() {
        let file = concat(&[
            ebml_header(b"matroska"),
            el(0x1853_8067, &webm_segment_body(&1.0f64.to_be_bytes())),
        ]);
        assert_unsupported(probe_bytes(&file));

        // No DocType at all means Matroska.
        let file = concat(&[
            el(0x1A45_DFA3, &uint_el(0x4286, 1)),
            el(0x1853_8067, &webm_segment_body(&1.0f64.to_be_bytes())),
        ]);
        assert_unsupported(probe_bytes(&file));
    }

    #[test]
    fn webm_element_larger_than_its_parent_is_refused() {
        let mut tracks_el = tracks(&[track_entry(1, Some((2, 2)))]);
        tracks_el[6] += 1; // the TrackEntry size byte: one more than Tracks holds
        let segment = concat(&[info(None, Some(&1.0f64.to_be_bytes())), tracks_el]);
        let file = concat(&[ebml_header(b"webm"), el(0x1853_8067, &segment)]);
        assert_malformed(probe_bytes(&file), "larger than the element");
    }

    #[test]
    fn webm_huge_declared_sizes_do_not_allocate() {
        // A Segment of 2^55 bytes in a "file" that big, whose Info claims 2^50 bytes.
        let mut head = ebml_header(b"webm");
        head.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01]);
        head.extend_from_slice(&(1u64 << 55).to_be_bytes()[1..]);
        head.extend_from_slice(&[0x15, 0x49, 0xA9, 0x66, 0x01]);
        head.extend_from_slice(&(1u64 << 50).to_be_bytes()[1..]);
        let mut file = Sparse::new(1 << 56, vec![(0, head)]);
        assert_malformed(probe(&mut file), "too large");
        assert!(file.bytes_read < 4096, "read {} bytes", file.bytes_read);
    }

    // ---- Hostile input ----

    #[test]
    fn every_truncation_of_a_valid_file_is_refused() {
        for file in [valid_mp4(), valid_webm()] {
            assert!(probe_bytes(&file).is_ok());
            for len in 0..file.len() {
                assert!(
                    probe_bytes(&file[..len]).is_err(),
                    "a prefix of {len} of {} bytes was accepted",
                    file.len()
                );
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let noise = rng.bytes(256);
            let _ = probe_bytes(&noise);
            let _ = sniff(&noise);
            // The same noise behind each magic number, to get past the first check.
            for magic in [
                &b"\0\0\0\x10ftypisom\0\0\0\0"[..],
                &[0x1A, 0x45, 0xDF, 0xA3][..],
            ] {
                let file = concat(&[magic.to_vec(), noise.clone()]);
                let _ = probe_bytes(&file);
                let _ = sniff(&file);
            }
        }
    }

    #[test]
    fn mutated_valid_files_never_panic() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for valid in [valid_mp4(), valid_webm()] {
            for _ in 0..2000 {
                let mut file = valid.clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(file.len());
                    file[at] = match rng.below(3) {
                        0 => rng.next() as u8,
                        1 => 0xFF,
                        _ => 0,
                    };
                }
                let _ = probe_bytes(&file);
                let _ = sniff(&file);
            }
        }
    }

    // ---- sniff ----

    #[test]
    fn sniff_recognises_what_probe_accepts() {
        assert_eq!(sniff(&valid_mp4()[..12]), Some(Container::Mp4));
        assert_eq!(sniff(&valid_webm()[..64]), Some(Container::WebM));
        // A compatible brand within the head is enough.
        assert_eq!(sniff(&ftyp(b"XAVC", &[b"mp42"])), Some(Container::Mp4));
        assert_eq!(
            sniff(&mp4_large_box(
                b"ftyp",
                &concat(&[b"mp41".to_vec(), vec![0; 4]])
            )),
            Some(Container::Mp4)
        );
    }

    #[test]
    fn sniff_rejects_what_probe_refuses() {
        assert_eq!(sniff(&ftyp(b"qt  ", &[b"qt  "])), None);
        assert_eq!(sniff(&ftyp(b"heic", &[b"mif1", b"heic"])), None);
        assert_eq!(sniff(&ftyp(b"avif", &[b"avif", b"mif1"])), None);
        assert_eq!(sniff(&ebml_header(b"matroska")), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
        // Too short to tell.
        assert_eq!(sniff(&valid_mp4()[..11]), None);
        assert_eq!(sniff(&valid_webm()[..8]), None);
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            malformed("the MP4 file has no video track").to_string(),
            "damaged or invalid video file: the MP4 file has no video track"
        );
        assert_eq!(
            unsupported("QuickTime").to_string(),
            "unsupported video format: QuickTime"
        );
        assert_eq!(printable(b"q\0t\xFF"), "q?t?");
    }
}
