//! Media: photos and short videos that members upload, the variants made from them, and the
//! rules about what is accepted and who sees what.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::account::AccountStatus;
use super::ids::{MediaId, UserId};

/// What the bytes of an upload turned out to be. Only these are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp4,
    Webm,
}

impl Format {
    pub fn is_video(self) -> bool {
        matches!(self, Self::Mp4 | Self::Webm)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Mp4 => "video/mp4",
            Self::Webm => "video/webm",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Mp4 => "mp4",
            Self::Webm => "webm",
        }
    }
}

/// Recognises the image formats we accept from an upload's first bytes; videos are
/// recognised by the container reader. Declared types and file names play no part.
pub fn sniff_image(head: &[u8]) -> Option<Format> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else {
        None
    }
}

/// The sizes served. Photos get all three image variants; a video gets its own file as
/// `Video` and, with a poster, the image variants made from the poster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Variant {
    /// Square crop, 256 px.
    Thumb,
    /// 640 px on the longest side.
    Card,
    /// 1600 px on the longest side.
    Full,
    /// The video as uploaded.
    Video,
}

impl Variant {
    pub const IMAGES: [Variant; 3] = [Self::Thumb, Self::Card, Self::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Thumb => "thumb",
            Self::Card => "card",
            Self::Full => "full",
            Self::Video => "video",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Thumb, Self::Card, Self::Full, Self::Video]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// The longest side of an image variant (the side of the square for `Thumb`).
    pub fn max_side(self) -> u32 {
        match self {
            Self::Thumb => 256,
            Self::Card => 640,
            Self::Full | Self::Video => 1600,
        }
    }
}

/// A stored file, named by the SHA-256 of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    pub sha256: [u8; 32],
    pub size: u64,
    pub content_type: String,
}

impl BlobRef {
    pub fn hex(&self) -> String {
        super::hex::encode(&self.sha256)
    }
}

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaState {
    /// Waiting for (or in) the processing job.
    Processing,
    /// Processed; staff must approve it before others see it.
    PendingApproval,
    /// Visible to members.
    Ready,
    /// Processing failed; the reason is for the member.
    Failed(String),
    /// Staff rejected it; the reason is for the member.
    Rejected(String),
}

impl MediaState {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::PendingApproval => "pending approval",
            Self::Ready => "ready",
            Self::Failed(_) => "failed",
            Self::Rejected(_) => "rejected",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Failed(r) | Self::Rejected(r) => Some(r),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub id: MediaId,
    pub owner: UserId,
    pub format: Format,
    /// The file name the member's device gave, cleaned; shown, never used as a path.
    pub original_name: String,
    /// Bytes uploaded (with the poster), counted against the member's quota.
    pub upload_size: u64,
    pub created_at: Timestamp,
    pub state: MediaState,
    /// Display size (after EXIF orientation), or the video's frame size.
    pub width: u32,
    pub height: u32,
    pub duration_ms: Option<u64>,
    pub animated: bool,
    pub blurhash: Option<String>,
    /// The upload itself: a photo's until it is processed (then dropped: it holds the
    /// metadata), a video's for good.
    pub original: Option<BlobRef>,
    /// A video's poster image as uploaded, until processed.
    pub poster: Option<BlobRef>,
    pub variants: Vec<(Variant, BlobRef)>,
}

impl Media {
    /// Every blob this record holds a reference to.
    pub fn blobs(&self) -> Vec<&BlobRef> {
        self.original
            .iter()
            .chain(self.poster.iter())
            .chain(self.variants.iter().map(|(_, b)| b))
            .collect()
    }

    /// Why `member` cannot show this upload to others (on a profile, in a story), phrased to
    /// follow "This upload …"; `Ok` when they can.
    pub fn usable_by(&self, member: UserId) -> Result<(), &'static str> {
        match &self.state {
            _ if self.owner != member => Err("is not one of your uploads"),
            MediaState::Failed(_) => Err("could not be processed"),
            MediaState::Rejected(_) => Err("was rejected by the moderators"),
            _ => Ok(()),
        }
    }

    pub fn variant(&self, v: Variant) -> Option<&BlobRef> {
        self.variants.iter().find(|(k, _)| *k == v).map(|(_, b)| b)
    }
}

/// Whether `viewer` may see `media`, whose owner has status `owner_status`: their own in any
/// state; staff everything; other members what is ready and belongs to an active account.
pub fn may_view(
    viewer: UserId,
    moderates: bool,
    media: &Media,
    owner_status: &AccountStatus,
) -> bool {
    viewer == media.owner || moderates || shown_to_others(media, owner_status)
}

/// Whether members other than the owner (and staff) may see `media`: it is ready (processed
/// and approved) and its owner's account is active.
pub fn shown_to_others(media: &Media, owner_status: &AccountStatus) -> bool {
    media.state == MediaState::Ready && matches!(owner_status, AccountStatus::Active)
}

/// Limits on decoding an image, so a hostile file cannot take the memory or the CPU.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    pub max_pixels: u64,
    pub max_side: u32,
    pub max_alloc_bytes: u64,
    pub max_frames: u32,
}

impl DecodeLimits {
    /// 50 megapixels, 12,000 px on a side, 512 MiB of decoder memory, 1,000 frames.
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_pixels: 50_000_000,
        max_side: 12_000,
        max_alloc_bytes: 512 * 1024 * 1024,
        max_frames: 1_000,
    };
}

/// Keeps a file name for display: the last path segment, printable characters only, at most
/// 120 characters (a long name loses the end of its stem, not its extension). Never used to
/// build a path.
pub fn clean_file_name(raw: &str) -> String {
    const MAX: usize = 120;
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | '"' | '\'' | '`'))
        .collect();
    if cleaned.chars().count() > MAX {
        let (stem, ext) = match cleaned.rsplit_once('.') {
            Some((stem, ext)) if ext.chars().count() <= 10 => (stem, format!(".{ext}")),
            _ => (cleaned.as_str(), String::new()),
        };
        let stem: String = stem.chars().take(MAX - ext.chars().count()).collect();
        cleaned = stem + &ext;
    }
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        "upload".into()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_markup() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\a\\IMG 1.jpg"), "IMG 1.jpg");
        assert_eq!(clean_file_name("<script>x.png"), "scriptx.png");
        assert_eq!(clean_file_name("\u{0}\n"), "upload");
        assert_eq!(clean_file_name(".htaccess"), "htaccess");
        assert_eq!(clean_file_name(&"a".repeat(500)).len(), 120);
        let long = clean_file_name(&format!("{}.pdf", "b".repeat(300)));
        assert_eq!(long.len(), 120);
        assert!(long.ends_with("bbb.pdf"), "{long}");
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(sniff_image(b"\xFF\xD8\xFF\xE0rest"), Some(Format::Jpeg));
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some(Format::Png));
        assert_eq!(sniff_image(b"GIF89a"), Some(Format::Gif));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(sniff_image(b"<svg xmlns="), None);
        assert_eq!(sniff_image(b""), None);
    }
}
