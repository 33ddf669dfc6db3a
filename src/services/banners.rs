//! Event banners: validated by decoding (with dimension and allocation
//! limits, so a decompression bomb is refused before it allocates), resized
//! to a few widths and re-encoded as JPEG, which drops EXIF and any other
//! metadata. Files are written before the row points at them; a refused or
//! failed upload leaves neither file nor row behind.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits, imageops::FilterType};

use crate::{
    domain::EventId,
    error::ServiceError,
    services::{authz::Identity, events::managed_event},
    state::AppState,
};

/// Largest upload accepted.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Widths stored, largest first.
pub const WIDTHS: [u32; 3] = [1600, 800, 400];
/// Largest dimension a source image may declare.
const MAX_SIDE: u32 = 8000;
/// Most memory decoding may allocate.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// The storage key of one stored width under a banner's key prefix.
pub fn file_key(prefix: &str, width: u32) -> String {
    format!("{prefix}-{width}.jpg")
}

/// Decodes an uploaded JPG, PNG or WebP image (the `noun` names it in
/// messages) with dimension and allocation limits, so a decompression bomb
/// is refused before it allocates. Shared by banners and profile photos.
pub(crate) fn decode_upload(
    bytes: &[u8],
    max_bytes: usize,
    noun: &str,
) -> Result<image::DynamicImage, ServiceError> {
    if bytes.len() > max_bytes {
        return Err(ServiceError::Invalid(format!(
            "The {noun} must be at most {} MB.",
            max_bytes / (1024 * 1024)
        )));
    }
    let refuse = || ServiceError::Invalid(format!("The {noun} must be a JPG, PNG or WebP image."));
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| refuse())?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(refuse());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ServiceError::Invalid(format!(
            "The {noun} is too large: at most {MAX_SIDE} × {MAX_SIDE} pixels."
        )),
        _ => ServiceError::Invalid(format!(
            "The {noun} could not be read as an image; it may be damaged."
        )),
    })
}

/// Resizes to at most `width` wide (never up) and encodes as JPEG, which
/// keeps no EXIF or other metadata.
pub(crate) fn jpeg_at_width(rgb: &image::RgbImage, width: u32) -> Result<Vec<u8>, ServiceError> {
    let w = width.min(rgb.width());
    let h = ((u64::from(rgb.height()) * u64::from(w)) / u64::from(rgb.width())).max(1) as u32;
    let resized = image::imageops::resize(rgb, w, h, FilterType::Triangle);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 82)
        .encode_image(&resized)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("encoding an image failed: {e}")))?;
    Ok(jpeg)
}

/// Decodes, checks and re-encodes an upload into one JPEG per width.
pub fn process(bytes: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, ServiceError> {
    let image = decode_upload(bytes, MAX_BYTES, "banner")?;
    if image.width() < 200 || image.height() < 100 {
        return Err(ServiceError::Invalid(
            "The banner must be at least 200 × 100 pixels.".into(),
        ));
    }
    let rgb = image.to_rgb8();
    WIDTHS
        .into_iter()
        .map(|width| Ok((width, jpeg_at_width(&rgb, width)?)))
        .collect()
}

/// Replaces an event's banner (owners, admins).
#[tracing::instrument(skip(state, who, bytes), fields(bytes = bytes.len()))]
pub async fn upload(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    bytes: Vec<u8>,
) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    // Decoding is CPU work: off the async threads.
    let sized = tokio::task::spawn_blocking(move || process(&bytes))
        .await
        .map_err(|e| ServiceError::Internal(e.into()))??;
    let prefix = format!("banners/{id}/{}", crate::store::new_id());
    let mut written = Vec::new();
    let stored = async {
        for (width, jpeg) in sized {
            let key = file_key(&prefix, width);
            state
                .files
                .put(&key, jpeg)
                .await
                .map_err(ServiceError::Internal)?;
            written.push(key);
        }
        state
            .store
            .set_banner(id, Some(&prefix))
            .await
            .map_err(ServiceError::from)
    }
    .await;
    match stored {
        Ok(old) => {
            if let Some(old) = old {
                for width in WIDTHS {
                    if let Err(e) = state.files.delete(&file_key(&old, width)).await {
                        tracing::warn!(error = ?e, "could not delete a replaced banner file");
                    }
                }
            }
            state.listings.clear();
            Ok(())
        }
        Err(e) => {
            // No row points at these files: remove them.
            for key in written {
                let _ = state.files.delete(&key).await;
            }
            Err(e)
        }
    }
}
