//! Banner uploads: decoded with limits, resized, stripped of metadata, and
//! all or nothing.

use std::io::Cursor;

use serde_json::json;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, raw_texts, spawn_app},
};

both_backends!(
    a_banner_is_resized_into_three_widths_and_shown_on_the_event_page,
    exif_metadata_is_stripped,
    refused_uploads_leave_no_file_and_no_row,
);

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 255) as u8, (y % 255) as u8, 120])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A tiny PNG whose header claims 60,000 × 60,000 pixels: a decompression bomb.
fn png_bomb() -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IEND", &[]);
    out
}

async fn owned_event(app: &TestApp) -> (String, String) {
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "owner@jakarta-live.test").await;
    let id = crate::helpers::raw_text(
        &app.db,
        "SELECT id FROM events WHERE slug = 'java-jazz-night'",
    )
    .await;
    (id, "java-jazz-night".into())
}

async fn put(app: &TestApp, id: &str, bytes: Vec<u8>, ctype: &str) -> reqwest::Response {
    app.client
        .put(format!("{}/api/v1/events/{id}/banner", app.url))
        .header("content-type", ctype)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn banner_files(app: &TestApp, id: &str) -> Vec<std::path::PathBuf> {
    let dir = app.db.data_dir().join("files").join("banners").join(id);
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

async fn a_banner_is_resized_into_three_widths_and_shown_on_the_event_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, slug) = owned_event(&app).await;
    assert_eq!(
        put(&app, &id, png(1200, 600), "image/png").await.status(),
        204
    );

    let files = banner_files(&app, &id);
    assert_eq!(files.len(), 3, "three widths: {files:?}");
    let (_, html) = app.get_text(&format!("/events/{slug}")).await;
    let src = html
        .split("data-testid=\"event-banner\" src=\"")
        .nth(1)
        .expect("a banner on the page")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = app.get(&src).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (800, 400),
        "the 800-wide version keeps the aspect ratio"
    );

    // A replacement removes the old files.
    assert_eq!(
        put(&app, &id, png(600, 300), "image/png").await.status(),
        204
    );
    assert_eq!(banner_files(&app, &id).len(), 3);
    app.finish().await;
}

async fn exif_metadata_is_stripped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = owned_event(&app).await;
    let mut jpeg = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(400, 200, image::Rgb([10, 200, 30]))
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let jpeg = jpeg.into_inner();
    // Insert an APP1 Exif segment right after SOI.
    let payload = b"Exif\0\0SecretGPS-51.5,-0.12";
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
    with_exif.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(payload);
    with_exif.extend_from_slice(&jpeg[2..]);
    assert_eq!(put(&app, &id, with_exif, "image/jpeg").await.status(), 204);
    for f in banner_files(&app, &id) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "{f:?} kept EXIF");
        assert!(
            !bytes.windows(9).any(|w| w == b"SecretGPS"),
            "{f:?} kept the metadata"
        );
    }
    app.finish().await;
}

async fn refused_uploads_leave_no_file_and_no_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = owned_event(&app).await;
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            png_bomb(),
            "image/png",
            "The banner is too large: at most 8000 × 8000 pixels.",
        ),
        (
            b"GIF89a not really".to_vec(),
            "image/gif",
            "The banner must be a JPG, PNG or WebP image.",
        ),
        (
            b"hello".to_vec(),
            "text/plain",
            "The banner must be a JPG, PNG or WebP image.",
        ),
        (
            vec![0u8; 5 * 1024 * 1024 + 1],
            "image/png",
            "The banner must be at most 5 MB.",
        ),
        (
            png(50, 50),
            "image/png",
            "The banner must be at least 200 × 100 pixels.",
        ),
    ];
    for (bytes, ctype, message) in cases {
        let r = put(&app, &id, bytes, ctype).await;
        assert_eq!(r.status(), 422, "{message}");
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"],
            message
        );
    }
    // Someone else's event: as if it did not exist.
    let other = app.new_client();
    app.sign_in_as(&other, "owner@bali-arts.test").await;
    let r = other
        .put(format!("{}/api/v1/events/{id}/banner", app.url))
        .header("content-type", "image/png")
        .body(png(400, 200))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    assert!(
        banner_files(&app, &id).is_empty(),
        "no file was left behind"
    );
    let keys = raw_texts(
        &app.db,
        &format!("SELECT COALESCE(banner_key, '') FROM events WHERE id = '{id}'"),
    )
    .await;
    assert_eq!(keys, vec![String::new()], "no row points at a banner");
    let _ = json!({});
    app.finish().await;
}
