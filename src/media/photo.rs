//! Photos: checking an upload decodes as what it claims within the limits, and making the
//! served variants (EXIF orientation applied, every piece of metadata left behind because the
//! variants are encoded from pixels), plus a blurhash placeholder. CPU-bound: callers run it
//! on blocking threads.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek};
use std::path::Path;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use crate::domain::media::{DecodeLimits, Format, Variant};

/// Lossy WebP quality for the variants (libwebp's 0-100 scale).
const WEBP_QUALITY: f32 = 80.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// Not what it claims to be, or broken: the upload is refused as an unsupported file.
    #[error("{0}")]
    Undecodable(String),
    /// Decodes, but is over a limit (pixels, side, frames, memory).
    #[error("{0}")]
    TooBig(String),
    #[error("reading the upload failed: {0}")]
    Io(String),
}

/// What checking a photo found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Display size, after EXIF orientation.
    pub width: u32,
    pub height: u32,
    pub frames: u32,
}

/// The variants of a photo, encoded, with what the record needs to know.
#[derive(Debug, Clone)]
pub struct Processed {
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    pub blurhash: String,
    /// WebP bytes per variant.
    pub variants: Vec<(Variant, Vec<u8>)>,
}

fn image_format(format: Format) -> Result<ImageFormat, PhotoError> {
    match format {
        Format::Jpeg => Ok(ImageFormat::Jpeg),
        Format::Png => Ok(ImageFormat::Png),
        Format::Gif => Ok(ImageFormat::Gif),
        Format::Webp => Ok(ImageFormat::WebP),
        Format::Mp4 | Format::Webm => Err(PhotoError::Undecodable("not an image".into())),
    }
}

fn describe(e: &ImageError, format: Format) -> PhotoError {
    match e {
        ImageError::Limits(_) => PhotoError::TooBig(format!(
            "The image is too large to process safely (at most {} pixels on a side and {} megapixels).",
            DecodeLimits::DEFAULT.max_side,
            DecodeLimits::DEFAULT.max_pixels / 1_000_000
        )),
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Undecodable(format!(
                "The {} file is cut off; upload the whole file.",
                format.as_str().to_uppercase()
            ))
        }
        ImageError::IoError(io) => PhotoError::Io(io.to_string()),
        other => PhotoError::Undecodable(format!(
            "The file starts like a {} image but does not decode as one ({other}).",
            format.as_str().to_uppercase()
        )),
    }
}

/// Decodes the (first frame of the) photo under `limits`, with EXIF orientation applied.
/// The size is checked from the header before any pixel memory is allocated.
fn decode(
    source: impl BufRead + Seek,
    format: Format,
    limits: DecodeLimits,
) -> Result<DynamicImage, PhotoError> {
    let mut reader = ImageReader::with_format(source, image_format(format)?);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| describe(&e, format))?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(PhotoError::TooBig(format!(
            "The image is {w} × {h} pixels; at most {} megapixels are accepted.",
            limits.max_pixels / 1_000_000
        )));
    }
    if w == 0 || h == 0 {
        return Err(PhotoError::Undecodable("The image has no pixels.".into()));
    }
    let orientation = decoder.orientation().map_err(|e| describe(&e, format))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| describe(&e, format))?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Counts a GIF's frames without decoding their pixels; refuses more than the limit.
fn gif_frames(source: impl Read, limits: DecodeLimits) -> Result<u32, PhotoError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let broken = |e: gif::DecodingError| {
        PhotoError::Undecodable(format!(
            "The file starts like a GIF image but does not decode as one ({e})."
        ))
    };
    let mut decoder = options.read_info(source).map_err(broken)?;
    let mut frames = 0u32;
    while decoder.next_frame_info().map_err(broken)?.is_some() {
        frames += 1;
        if frames > limits.max_frames {
            return Err(PhotoError::TooBig(format!(
                "The animation has more than {} frames.",
                limits.max_frames
            )));
        }
    }
    Ok(frames)
}

/// Whether a JPEG ends its last scan with an end-of-image marker. The decoder is lenient
/// (like browsers, it paints a cut-off photo grey), so a truncated upload is caught here.
/// `FF D9` cannot occur inside entropy-coded data (a data `FF` is followed by `00` or a
/// restart marker), and an embedded thumbnail's scan comes before the main one.
fn jpeg_is_complete(mut reader: impl Read) -> Result<bool, PhotoError> {
    let (mut previous, mut ended) = (0u8, false);
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| PhotoError::Io(e.to_string()))?;
        if n == 0 {
            return Ok(ended);
        }
        for &byte in &buf[..n] {
            if previous == 0xFF {
                match byte {
                    0xDA => ended = false,
                    0xD9 => ended = true,
                    _ => {}
                }
            }
            previous = byte;
        }
    }
}

fn open(path: &Path) -> Result<BufReader<File>, PhotoError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| PhotoError::Io(e.to_string()))
}

/// Checks that the upload decodes, whole, as the format its bytes claim, within the limits.
pub fn check(path: &Path, format: Format, limits: DecodeLimits) -> Result<Checked, PhotoError> {
    check_with(|| open(path), format, limits)
}

/// [`check`] on bytes in memory (the fuzz target's entry).
pub fn check_bytes(
    bytes: &[u8],
    format: Format,
    limits: DecodeLimits,
) -> Result<Checked, PhotoError> {
    check_with(|| Ok(Cursor::new(bytes)), format, limits)
}

/// Each pass reads the upload from the start through a fresh reader from `source`.
fn check_with<R: BufRead + Seek>(
    source: impl Fn() -> Result<R, PhotoError>,
    format: Format,
    limits: DecodeLimits,
) -> Result<Checked, PhotoError> {
    let frames = if format == Format::Gif {
        gif_frames(source()?, limits)?
    } else {
        1
    };
    if format == Format::Jpeg && !jpeg_is_complete(source()?)? {
        return Err(PhotoError::Undecodable(
            "The JPEG file is cut off (it has no end-of-image marker); upload the whole file."
                .into(),
        ));
    }
    let image = decode(source()?, format, limits)?;
    Ok(Checked {
        width: image.width(),
        height: image.height(),
        frames,
    })
}

/// Makes the thumbnail (square, 256), card (640) and full (1600) variants as lossy WebP, and
/// a blurhash. Smaller photos are not enlarged.
pub fn process(path: &Path, format: Format, limits: DecodeLimits) -> Result<Processed, PhotoError> {
    let animated = format == Format::Gif && gif_frames(open(path)?, limits)? > 1;
    let image = decode(open(path)?, format, limits)?;
    let (width, height) = (image.width(), image.height());
    let source = Pixels::from(image);
    let mut resizer = Resizer::new();
    let full = source.fit(&mut resizer, Variant::Full.max_side())?;
    let card = full.fit(&mut resizer, Variant::Card.max_side())?;
    let thumb = full.square(&mut resizer, Variant::Thumb.max_side())?;
    let blurhash = card.blurhash(&mut resizer)?;
    let variants = vec![
        (Variant::Thumb, thumb.webp()),
        (Variant::Card, card.webp()),
        (Variant::Full, full.webp()),
    ];
    Ok(Processed {
        width,
        height,
        animated,
        blurhash,
        variants,
    })
}

/// 8-bit RGB or RGBA pixels (alpha only when the photo has it: WebP is smaller without).
struct Pixels {
    image: Image<'static>,
}

fn resize_failed(e: impl std::fmt::Display) -> PhotoError {
    PhotoError::Undecodable(format!("The image could not be resized ({e})."))
}

impl From<DynamicImage> for Pixels {
    fn from(image: DynamicImage) -> Self {
        let (w, h) = (image.width(), image.height());
        let (bytes, pixel_type) = if image.color().has_alpha() {
            (image.into_rgba8().into_raw(), PixelType::U8x4)
        } else {
            (image.into_rgb8().into_raw(), PixelType::U8x3)
        };
        // The buffer size matches w × h × channels by construction.
        let image = Image::from_vec_u8(w, h, bytes, pixel_type)
            .unwrap_or_else(|_| Image::new(1, 1, pixel_type));
        Self { image }
    }
}

impl Pixels {
    fn width(&self) -> u32 {
        self.image.width()
    }
    fn height(&self) -> u32 {
        self.image.height()
    }

    fn resized(
        &self,
        resizer: &mut Resizer,
        w: u32,
        h: u32,
        options: ResizeOptions,
    ) -> Result<Pixels, PhotoError> {
        let mut out = Image::new(w.max(1), h.max(1), self.image.pixel_type());
        let options = options.resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
        resizer
            .resize(&self.image, &mut out, &options)
            .map_err(resize_failed)?;
        Ok(Pixels { image: out })
    }

    /// Scaled to fit `side` on the longest side; a copy at the same size when already small.
    fn fit(&self, resizer: &mut Resizer, side: u32) -> Result<Pixels, PhotoError> {
        let (w, h) = (self.width(), self.height());
        let longest = w.max(h);
        if longest <= side {
            return Ok(Pixels {
                image: self.image.copy(),
            });
        }
        let scale = f64::from(side) / f64::from(longest);
        let nw = (f64::from(w) * scale).round() as u32;
        let nh = (f64::from(h) * scale).round() as u32;
        self.resized(resizer, nw, nh, ResizeOptions::new())
    }

    /// A centred square crop, `side` pixels (or the short side, when smaller).
    fn square(&self, resizer: &mut Resizer, side: u32) -> Result<Pixels, PhotoError> {
        let side = side.min(self.width()).min(self.height());
        self.resized(
            resizer,
            side,
            side,
            ResizeOptions::new().fit_into_destination(Some((0.5, 0.5))),
        )
    }

    fn webp(&self) -> Vec<u8> {
        let (w, h, bytes) = (self.width(), self.height(), self.image.buffer());
        let encoder = if self.image.pixel_type() == PixelType::U8x4 {
            webp::Encoder::from_rgba(bytes, w, h)
        } else {
            webp::Encoder::from_rgb(bytes, w, h)
        };
        encoder.encode(WEBP_QUALITY).to_vec()
    }

    /// A blurhash (4 × 3 components) computed from a small copy.
    fn blurhash(&self, resizer: &mut Resizer) -> Result<String, PhotoError> {
        let small = self.fit(resizer, 32)?;
        let rgba: Vec<u8> = if small.image.pixel_type() == PixelType::U8x4 {
            small.image.buffer().to_vec()
        } else {
            small
                .image
                .buffer()
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect()
        };
        blurhash::encode(4, 3, small.width(), small.height(), &rgba)
            .map_err(|e| PhotoError::Undecodable(format!("blurhash: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/media")
            .join(name)
    }

    const LIMITS: DecodeLimits = DecodeLimits::DEFAULT;

    #[test]
    fn bombs_and_long_animations_are_refused_before_pixels_are_allocated() {
        for (name, format) in [("bomb.png", Format::Png), ("bomb.gif", Format::Gif)] {
            // Refused from the header by the decoder's limits (a 100,000² image would need
            // 30 GB): the error is the limit's, not an allocation failure.
            let err = check(&fixture(name), format, LIMITS).unwrap_err();
            assert!(matches!(err, PhotoError::TooBig(_)), "{name}: {err:?}");
        }
        let err = check(&fixture("many-frames.gif"), Format::Gif, LIMITS).unwrap_err();
        assert!(err.to_string().contains("more than 1000 frames"), "{err}");
    }

    #[test]
    fn broken_and_disguised_files_do_not_decode() {
        for (name, format) in [
            ("truncated.jpg", Format::Jpeg),
            ("truncated.png", Format::Png),
            ("polyglot.gif", Format::Gif),
            ("polyglot.jpg", Format::Jpeg),
        ] {
            let err = check(&fixture(name), format, LIMITS).unwrap_err();
            assert!(matches!(err, PhotoError::Undecodable(_)), "{name}: {err:?}");
        }
    }

    #[test]
    fn orientation_is_applied_and_no_metadata_survives() {
        let path = fixture("gps-rotated.jpg");
        let checked = check(&path, Format::Jpeg, LIMITS).unwrap();
        assert_eq!((checked.width, checked.height), (48, 64), "rotated upright");
        let processed = process(&path, Format::Jpeg, LIMITS).unwrap();
        assert_eq!(processed.blurhash.len(), 4 + 2 * 4 * 3, "4×3 components");
        for (variant, bytes) in &processed.variants {
            for marker in [
                "SECRET-EXIF-MARKER",
                "HearthTestCam",
                "SECRET-XMP-MARKER",
                "SECRET-COMMENT-MARKER",
                "SECRET-ICC-MARKER",
                "GPS",
                "Exif",
            ] {
                assert!(
                    !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                    "{marker} in the {variant:?} variant"
                );
            }
            let decoded = image::load_from_memory(bytes).unwrap();
            if *variant != Variant::Thumb {
                assert_eq!((decoded.width(), decoded.height()), (48, 64));
                // The red square was top-left before the 90° turn: now it is top-right.
                let p = decoded.to_rgb8().get_pixel(40, 4).0;
                assert!(p[0] > 180 && p[1] < 90 && p[2] < 90, "{variant:?}: {p:?}");
            }
        }
        let thumb = &processed.variants[0].1;
        let thumb = image::load_from_memory(thumb).unwrap();
        assert_eq!(
            (thumb.width(), thumb.height()),
            (48, 48),
            "square, not enlarged"
        );
    }

    #[test]
    fn animated_gifs_are_recognised() {
        let p = process(&fixture("animated.gif"), Format::Gif, LIMITS).unwrap();
        assert!(p.animated);
        let p = process(&fixture("still.gif"), Format::Gif, LIMITS).unwrap();
        assert!(!p.animated);
    }
}
