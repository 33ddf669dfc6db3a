//! The door scanner. A code is read by the camera (the browser's
//! BarcodeDetector where it has one, otherwise `rqrr` compiled to wasm) or
//! typed, verified in the browser with the event's public key (the same
//! `domain::ticket_code` the server runs), and then checked in online. The
//! answer fills the screen.
//!
//! Offline, the scanner admits a ticket whose signature verifies and that it
//! has not seen used or revoked, keeps the scan (with its nonce and time) in
//! `localStorage`, and uploads it when the connection is back. The server
//! never refuses such an upload; two offline admissions of one ticket become
//! a flagged check-in on the door dashboard.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        EventId,
        money::Lang,
        ticket_code::{CodeError, EventPublicKey, TicketCode},
    },
    server_fns::views::{ScanInput, ScanView, ScannerSetup},
};

/// Translated labels.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ScannerLabels {
    /// "Type the code or its reference".
    pub manual: String,
    /// "Check".
    pub check: String,
    /// "Forged: this code is not a real ticket".
    pub forged: String,
    /// "Wrong event: this ticket is for another event".
    pub wrong_event: String,
    /// "Revoked: this ticket no longer admits anyone".
    pub revoked: String,
    /// "Already used here".
    pub already_used: String,
    /// "Could not reach the server; try again".
    pub unreachable: String,
    /// "Scan with the camera".
    pub camera_start: String,
    /// "Stop the camera".
    pub camera_stop: String,
    /// "The camera is not available: type the code instead."
    pub camera_unavailable: String,
    /// "Next ticket".
    pub next: String,
    /// "Valid (offline): let them in. The scan is uploaded when the connection is back."
    pub offline_valid: String,
    /// "Offline: only the QR code can be checked now."
    pub offline_reference: String,
    /// "Offline".
    pub offline: String,
    /// "scans waiting to upload".
    pub queued: String,
}

/// What the scanner decides before (or without) the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalVerdict {
    /// Verified: this ticket id, for the server to check in.
    Verified(String),
    /// A typed reference: only the server can look it up.
    Reference,
    /// Refused here: the result name (`forged`, `wrong_event`, `revoked`,
    /// `already_used`).
    Refused(&'static str),
}

/// Decides a code locally with the event's key, revocation list and the
/// admissions the scanner knows of.
pub fn verdict(setup: &ScannerSetup, admitted: &[String], text: &str) -> LocalVerdict {
    let text = text.trim();
    if crate::domain::ticket_code::TicketReference::parse(text).is_some() && text.len() <= 16 {
        return LocalVerdict::Reference;
    }
    let Ok(code) = TicketCode::parse(text) else {
        return LocalVerdict::Refused("forged");
    };
    let Some(key) = setup
        .public_key
        .as_deref()
        .and_then(|k| EventPublicKey::parse(k).ok())
    else {
        return LocalVerdict::Refused("forged");
    };
    let event = EventId::from_string(setup.event_id.clone());
    match code.verify_for_event(&event, &key) {
        Ok(t) => {
            let id = t.ticket_id();
            if setup.revoked.contains(&id) {
                LocalVerdict::Refused("revoked")
            } else if admitted.contains(&id) {
                LocalVerdict::Refused("already_used")
            } else {
                LocalVerdict::Verified(id)
            }
        }
        Err(CodeError::WrongEvent) => LocalVerdict::Refused("wrong_event"),
        Err(_) => LocalVerdict::Refused("forged"),
    }
}

/// Reads a QR code from a greyscale frame (one byte per pixel, row by row),
/// as the scanner does where the browser has no BarcodeDetector.
pub fn decode_qr(width: usize, height: usize, luma: &[u8]) -> Option<String> {
    if width == 0 || height == 0 || luma.len() < width * height {
        return None;
    }
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

/// The scans made offline and not yet uploaded, oldest first. Kept in the
/// browser's storage so a closed tab or a dead battery loses nothing.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OfflineQueue {
    /// The scans, each with its own nonce and scan time.
    pub scans: Vec<ScanInput>,
    /// Tickets admitted offline (so a second offline scan says "already used").
    pub admitted: Vec<String>,
}

impl OfflineQueue {
    /// The storage key of an event's queue.
    pub fn key(event_id: &str) -> String {
        format!("admit.scanner.{event_id}")
    }

    /// Adds an offline admission.
    pub fn push(&mut self, ticket_id: String, scan: ScanInput) {
        if !self.admitted.contains(&ticket_id) {
            self.admitted.push(ticket_id);
        }
        self.scans.push(scan);
    }

    /// Removes an uploaded scan (by its nonce).
    pub fn uploaded(&mut self, nonce: &str) {
        self.scans.retain(|s| s.nonce.as_deref() != Some(nonce));
    }
}

/// How often the camera frame is looked at, in milliseconds.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const FRAME_MS: u64 = 200;
/// How often queued scans are retried, in milliseconds.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const SYNC_MS: u64 = 5_000;
/// The revocation list is refreshed every this many retries (30 s).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const REFRESH_TICKS: u32 = 6;

/// A random nonce for one scan.
fn nonce() -> String {
    #[cfg(feature = "hydrate")]
    {
        let a = (js_sys::Math::random() * 1e15) as u64;
        let b = (js_sys::Math::random() * 1e15) as u64;
        format!("s{a:x}{b:x}")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::from("server-rendered")
    }
}

/// The browser's clock (UTC ms): when an offline scan happened.
fn now_ms() -> Option<i64> {
    #[cfg(feature = "hydrate")]
    {
        Some(js_sys::Date::now() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// The scanner of one event at one gate. Lazy: its code (camera, QR
/// decoder, signature check) is split into its own wasm chunk, fetched only
/// when a page has a scanner, so event pages never download it.
#[island(lazy)]
pub fn Scanner(
    setup: ScannerSetup,
    gate: String,
    labels: ScannerLabels,
    lang: Lang,
) -> impl IntoView {
    let event_id = setup.event_id.clone();
    let code = RwSignal::new(String::new());
    // (result, line, offline)
    let answer = RwSignal::new(None::<(String, String, bool)>);
    let admitted = RwSignal::new(setup.admitted.clone());
    let queue = RwSignal::new(OfflineQueue::default());
    let online = RwSignal::new(true);
    let hydrated = RwSignal::new(false);
    let camera_on = RwSignal::new(false);
    let camera_error = RwSignal::new(false);
    // The code the camera read last: the same code is not checked again until
    // "Next ticket" (or a different code) — a ticket held up for a while is
    // one scan, not one per frame.
    let last_read = StoredValue::new(None::<String>);
    let busy = RwSignal::new(false);
    let video = NodeRef::<leptos::html::Video>::new();
    let setup = RwSignal::new(setup);
    let labels = StoredValue::new(labels);
    let gate = StoredValue::new(gate);
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let event_key = StoredValue::new(OfflineQueue::key(&event_id));
    let event_id = StoredValue::new(event_id);

    let save_queue = move || {
        #[cfg(feature = "hydrate")]
        queue.with_untracked(|q| browser::save(&event_key.get_value(), q));
    };
    let refused = move |name: &str| {
        let l = labels.get_value();
        let line = match name {
            "revoked" => l.revoked,
            "already_used" => l.already_used,
            "wrong_event" => l.wrong_event,
            _ => l.forged,
        };
        answer.set(Some((name.to_owned(), line, false)));
    };
    // Admits a verified ticket without the server and queues the scan.
    let admit_offline = move |id: String, scan: ScanInput| {
        let scan = ScanInput {
            offline: true,
            scanned_at_ms: now_ms(),
            ..scan
        };
        queue.update(|q| q.push(id.clone(), scan));
        admitted.update(|a| {
            if !a.contains(&id) {
                a.push(id)
            }
        });
        save_queue();
        answer.set(Some((
            "valid".into(),
            labels.get_value().offline_valid,
            true,
        )));
    };
    let check = move |text: String| {
        let local = setup.with_untracked(|s| {
            admitted.with_untracked(|a| {
                queue.with_untracked(|q| {
                    let mut known = a.clone();
                    known.extend(q.admitted.iter().cloned());
                    verdict(s, &known, &text)
                })
            })
        });
        let scan = ScanInput {
            code: text.trim().to_owned(),
            event_id: event_id.get_value(),
            gate: gate.get_value(),
            device: Some("web scanner".into()),
            nonce: Some(nonce()),
            scanned_at_ms: None,
            offline: false,
        };
        let offline = !online.get_untracked();
        // Until its offline scans are uploaded, this scanner knows of
        // admissions the server has not heard of.
        let pending = queue.with_untracked(|q| !q.scans.is_empty());
        match local {
            // A bad signature or another event's ticket needs no server.
            LocalVerdict::Refused(name @ ("forged" | "wrong_event")) => refused(name),
            // Offline, what the scanner knows decides; online, the server
            // says when, where and by whom a ticket was used.
            LocalVerdict::Refused(name) if offline => refused(name),
            LocalVerdict::Refused("already_used") if pending => refused("already_used"),
            LocalVerdict::Reference if offline => answer.set(Some((
                "offline".into(),
                labels.get_value().offline_reference,
                true,
            ))),
            LocalVerdict::Verified(id) if offline => admit_offline(id, scan),
            fallback => {
                busy.set(true);
                leptos::task::spawn_local(async move {
                    let sent = scan.clone();
                    match crate::server_fns::tickets::scan_ticket(scan, lang).await {
                        Ok(ScanView {
                            result,
                            headline,
                            ticket_id,
                            attendee,
                            tier,
                            seat,
                            ..
                        }) => {
                            if result == "valid"
                                && let Some(id) = ticket_id
                            {
                                admitted.update(|a| a.push(id));
                            }
                            let detail = [attendee, tier, seat]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" · ");
                            let line = if detail.is_empty() {
                                headline
                            } else {
                                format!("{headline} — {detail}")
                            };
                            answer.set(Some((result, line, false)));
                        }
                        // The connection dropped: decide as offline.
                        Err(ServerFnError::Request(_)) => {
                            online.set(false);
                            match fallback {
                                LocalVerdict::Verified(id) => admit_offline(id, sent),
                                LocalVerdict::Refused(name) => refused(name),
                                LocalVerdict::Reference => answer.set(Some((
                                    "offline".into(),
                                    labels.get_value().unreachable,
                                    true,
                                ))),
                            }
                        }
                        Err(e) => answer.set(Some(("error".into(), e.to_string(), false))),
                    }
                    busy.set(false);
                });
            }
        }
    };

    // Uploads the queued scans, oldest first; stops at the first failure and
    // tries again later (every scan keeps its nonce, so a repeat is harmless).
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let upload = move || {
        if busy.get_untracked() || queue.with_untracked(|q| q.scans.is_empty()) {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            while let Some(scan) = queue.with_untracked(|q| q.scans.first().cloned()) {
                let nonce = scan.nonce.clone().unwrap_or_default();
                match crate::server_fns::tickets::scan_ticket(scan, lang).await {
                    Ok(_) => {
                        online.set(true);
                        queue.update(|q| q.uploaded(&nonce));
                        save_queue();
                    }
                    Err(ServerFnError::Request(_)) => {
                        online.set(false);
                        break;
                    }
                    // Refused by the server (e.g. signed out): kept, never
                    // dropped; the error shows until it is fixed.
                    Err(e) => {
                        answer.set(Some(("error".into(), e.to_string(), false)));
                        break;
                    }
                }
            }
            busy.set(false);
        });
    };

    Effect::new(move |_| {
        hydrated.set(true);
        #[cfg(feature = "hydrate")]
        {
            if let Some(saved) = browser::load::<OfflineQueue>(&event_key.get_value()) {
                queue.set(saved);
            }
            online.set(browser::online());
            let went_online = window_event_listener_untyped("online", move |_| {
                online.set(true);
                upload();
            });
            let went_offline = window_event_listener_untyped("offline", move |_| online.set(false));
            on_cleanup(move || {
                went_online.remove();
                went_offline.remove();
            });
            // Retry uploads every few seconds, and refresh the revocation
            // list and admissions every REFRESH_TICKS of them, while online.
            let ticks = StoredValue::new(0u32);
            let _ = set_interval_with_handle(
                move || {
                    online.set(browser::online());
                    if !online.get_untracked() {
                        return;
                    }
                    upload();
                    ticks.update_value(|t| *t += 1);
                    if !ticks.get_value().is_multiple_of(REFRESH_TICKS) {
                        return;
                    }
                    let id = event_id.get_value();
                    leptos::task::spawn_local(async move {
                        if let Ok(fresh) = crate::server_fns::tickets::scanner_data(id).await {
                            admitted.update(|a| {
                                for t in &fresh.admitted {
                                    if !a.contains(t) {
                                        a.push(t.clone());
                                    }
                                }
                            });
                            setup.set(fresh);
                        }
                    });
                },
                std::time::Duration::from_millis(SYNC_MS),
            );
            upload();
        }
    });

    // The camera: frames are decoded while it runs and nothing else is busy.
    #[cfg(feature = "hydrate")]
    let camera = StoredValue::new_local(None::<browser::Camera>);
    let start_camera = move || {
        #[cfg(feature = "hydrate")]
        {
            let Some(el) = video.get_untracked() else {
                return;
            };
            // Shown first: some browsers do not play a hidden video.
            camera_on.set(true);
            leptos::task::spawn_local(async move {
                match browser::Camera::start(el).await {
                    Ok(cam) => {
                        camera.set_value(Some(cam));
                        camera_error.set(false);
                    }
                    Err(e) => {
                        leptos::logging::warn!("camera: {e}");
                        camera_on.set(false);
                        camera_error.set(true);
                    }
                }
            });
        }
    };
    let stop_camera = move || {
        #[cfg(feature = "hydrate")]
        camera.update_value(|c| {
            if let Some(c) = c.take() {
                c.stop();
            }
        });
        camera_on.set(false);
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let reading = RwSignal::new(false);
        let _ = set_interval_with_handle(
            move || {
                if !camera_on.get_untracked() || busy.get_untracked() || reading.get_untracked() {
                    return;
                }
                let Some(cam) = camera.with_value(|c| c.clone()) else {
                    return;
                };
                reading.set(true);
                leptos::task::spawn_local(async move {
                    if let Some(text) = cam.read().await
                        && last_read.with_value(|l| l.as_deref() != Some(text.as_str()))
                    {
                        last_read.set_value(Some(text.clone()));
                        code.set(String::new());
                        check(text);
                    }
                    reading.set(false);
                });
            },
            std::time::Duration::from_millis(FRAME_MS),
        );
    });
    let next = move || {
        last_read.set_value(None);
        answer.set(None);
    };

    view! {
        <div data-testid="scanner" data-hydrated=move || hydrated.get().then_some("true") class="space-y-4">
            {move || answer.get().map(|(result, line, offline)| {
                let tone = match result.as_str() {
                    "valid" => "bg-emerald-600",
                    "already_used" | "flagged" | "offline" => "bg-amber-500",
                    _ => "bg-red-700",
                };
                view! {
                    <button type="button" role="status" aria-live="assertive" data-testid="scan-result" data-result=result.clone()
                        data-offline=offline.then_some("true") on:click=move |_| next()
                        class=format!("block w-full rounded-xl p-6 text-center text-2xl font-bold text-white {tone}")>
                        {line}
                        <span class="mt-2 block text-base font-medium underline" data-testid="scan-next">{labels.with_value(|l| l.next.clone())}</span>
                    </button>
                }
            })}
            <div class="flex items-center justify-between text-sm">
                <span data-testid="scan-online" data-online=move || online.get().to_string()
                    class=move || if online.get() { "hidden" } else { "rounded bg-amber-100 px-2 py-1 font-semibold text-amber-900" }>
                    {labels.with_value(|l| l.offline.clone())}
                </span>
                <span data-testid="scan-queue" data-count=move || queue.with(|q| q.scans.len()).to_string()
                    class=move || if queue.with(|q| q.scans.is_empty()) { "hidden" } else { "rounded bg-slate-100 px-2 py-1" }>
                    {move || format!("{} {}", queue.with(|q| q.scans.len()), labels.with_value(|l| l.queued.clone()))}
                </span>
            </div>
            <video node_ref=video data-testid="camera" muted=true playsinline=true autoplay=true
                class=move || if camera_on.get() { "aspect-square w-full rounded-xl bg-black object-cover" } else { "hidden" }></video>
            <Show when=move || camera_error.get()>
                <p role="alert" data-testid="camera-error" class="rounded bg-amber-50 p-3 text-amber-900">{labels.with_value(|l| l.camera_unavailable.clone())}</p>
            </Show>
            <button type="button" data-testid="camera-toggle" data-on=move || camera_on.get().to_string()
                on:click=move |_| if camera_on.get_untracked() { stop_camera() } else { start_camera() }
                class="w-full rounded-xl bg-slate-900 py-4 text-xl font-semibold text-white">
                {move || labels.with_value(|l| if camera_on.get() { l.camera_stop.clone() } else { l.camera_start.clone() })}
            </button>
            <form class="flex gap-2" on:submit=move |ev| {
                ev.prevent_default();
                let text = code.get_untracked();
                if !text.trim().is_empty() { check(text) }
            }>
                <label class="sr-only" for="scan-code">{labels.with_value(|l| l.manual.clone())}</label>
                <input id="scan-code" data-testid="scan-code" class="min-w-0 flex-1 rounded border border-slate-300 px-3 py-3 text-lg"
                    autocomplete="off" autocapitalize="characters" placeholder=labels.with_value(|l| l.manual.clone())
                    prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev)) />
                <button type="submit" data-testid="scan-check" class="rounded bg-indigo-700 px-5 py-3 text-lg font-semibold text-white">
                    {labels.with_value(|l| l.check.clone())}
                </button>
            </form>
        </div>
    }
}

/// The browser's side: storage, connectivity and the camera.
#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream,
        MediaStreamConstraints, MediaStreamTrack,
    };

    /// Whether the browser believes it is online.
    pub fn online() -> bool {
        web_sys::window().is_none_or(|w| w.navigator().on_line())
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    /// Reads a JSON value from `localStorage`.
    pub fn load<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
        let raw = storage()?.get_item(key).ok()??;
        serde_json::from_str(&raw).ok()
    }

    /// Writes a JSON value to `localStorage`.
    pub fn save<T: serde::Serialize>(key: &str, value: &T) {
        if let (Some(s), Ok(raw)) = (storage(), serde_json::to_string(value))
            && s.set_item(key, &raw).is_err()
        {
            leptos::logging::warn!("scanner: could not keep the offline queue");
        }
    }

    fn js_err(e: JsValue) -> String {
        e.as_string()
            .or_else(|| {
                js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| "unknown error".into())
    }

    /// A running camera and what reads its frames.
    #[derive(Clone)]
    pub struct Camera {
        video: HtmlVideoElement,
        stream: MediaStream,
        canvas: HtmlCanvasElement,
        /// The browser's BarcodeDetector, where it has one.
        detector: Option<JsValue>,
    }

    impl Camera {
        /// Asks for the back camera and shows it in `video`.
        pub async fn start(video: HtmlVideoElement) -> Result<Camera, String> {
            let window = web_sys::window().ok_or("no window")?;
            let devices = window.navigator().media_devices().map_err(js_err)?;
            let constraints = MediaStreamConstraints::new();
            let wanted = js_sys::Object::new();
            js_sys::Reflect::set(&wanted, &"facingMode".into(), &"environment".into())
                .map_err(js_err)?;
            constraints.set_video(&wanted);
            constraints.set_audio(&JsValue::FALSE);
            let promise = devices
                .get_user_media_with_constraints(&constraints)
                .map_err(js_err)?;
            let stream: MediaStream = JsFuture::from(promise)
                .await
                .map_err(js_err)?
                .dyn_into()
                .map_err(js_err)?;
            video.set_muted(true);
            video.set_src_object(Some(&stream));
            if let Ok(p) = video.play() {
                JsFuture::from(p).await.map_err(js_err)?;
            }
            let canvas: HtmlCanvasElement = window
                .document()
                .ok_or("no document")?
                .create_element("canvas")
                .map_err(js_err)?
                .dyn_into()
                .map_err(|_| "no canvas".to_string())?;
            Ok(Camera {
                video,
                stream,
                canvas,
                detector: detector(&window),
            })
        }

        /// Stops every track (the camera light goes off).
        pub fn stop(&self) {
            for track in self.stream.get_tracks().iter() {
                if let Ok(t) = track.dyn_into::<MediaStreamTrack>() {
                    t.stop();
                }
            }
            self.video.set_src_object(None);
        }

        /// The QR code in the current frame, if any.
        pub async fn read(&self) -> Option<String> {
            if self.video.ready_state() < 2 {
                return None;
            }
            match &self.detector {
                Some(d) => self.read_native(d).await,
                None => self.read_wasm(),
            }
        }

        async fn read_native(&self, detector: &JsValue) -> Option<String> {
            let detect: js_sys::Function = js_sys::Reflect::get(detector, &"detect".into())
                .ok()?
                .dyn_into()
                .ok()?;
            let promise: js_sys::Promise =
                detect.call1(detector, &self.video).ok()?.dyn_into().ok()?;
            let found: js_sys::Array = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
            js_sys::Reflect::get(&found.get(0), &"rawValue".into())
                .ok()?
                .as_string()
        }

        fn read_wasm(&self) -> Option<String> {
            let (w, h) = (self.video.video_width(), self.video.video_height());
            if w == 0 || h == 0 {
                return None;
            }
            // Large frames are scaled down: a QR code filling part of a
            // 640-pixel frame still has several pixels per module.
            let scale = (640.0 / f64::from(w.max(h))).min(1.0);
            let (cw, ch) = ((f64::from(w) * scale) as u32, (f64::from(h) * scale) as u32);
            self.canvas.set_width(cw);
            self.canvas.set_height(ch);
            let ctx: CanvasRenderingContext2d =
                self.canvas.get_context("2d").ok()??.dyn_into().ok()?;
            ctx.draw_image_with_html_video_element_and_dw_and_dh(
                &self.video,
                0.0,
                0.0,
                f64::from(cw),
                f64::from(ch),
            )
            .ok()?;
            let rgba = ctx
                .get_image_data(0.0, 0.0, f64::from(cw), f64::from(ch))
                .ok()?
                .data();
            let luma: Vec<u8> = rgba
                .chunks_exact(4)
                .map(|p| {
                    ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000)
                        as u8
                })
                .collect();
            super::decode_qr(cw as usize, ch as usize, &luma)
        }
    }

    /// `new BarcodeDetector({ formats: ["qr_code"] })`, where it exists.
    fn detector(window: &web_sys::Window) -> Option<JsValue> {
        let ctor = js_sys::Reflect::get(window, &"BarcodeDetector".into()).ok()?;
        let ctor: js_sys::Function = ctor.dyn_into().ok()?;
        let options = js_sys::Object::new();
        let formats = js_sys::Array::of1(&"qr_code".into());
        js_sys::Reflect::set(&options, &"formats".into(), &formats).ok()?;
        js_sys::Reflect::construct(&ctor, &js_sys::Array::of1(&options)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offline_queue_forgets_only_the_uploaded_scan() {
        let scan = |n: &str| ScanInput {
            code: "c".into(),
            event_id: "e".into(),
            gate: "A".into(),
            device: None,
            nonce: Some(n.into()),
            scanned_at_ms: Some(1),
            offline: true,
        };
        let mut q = OfflineQueue::default();
        q.push("t1".into(), scan("n1"));
        q.push("t2".into(), scan("n2"));
        q.uploaded("n1");
        assert_eq!(q.scans.len(), 1);
        assert_eq!(q.scans[0].nonce.as_deref(), Some("n2"));
        // What was admitted offline stays known after the upload.
        assert_eq!(q.admitted, vec!["t1".to_string(), "t2".to_string()]);
        let round: OfflineQueue =
            serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
        assert_eq!(round, q);
    }

    #[test]
    fn decode_qr_reads_a_rendered_code_and_rejects_noise() {
        let text = "ADMIT1.TEST-PAYLOAD-0123456789";
        let qr = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let modules = qr.width();
        let (scale, quiet) = (6, 4);
        let size = (modules + 2 * quiet) * scale;
        let mut luma = vec![255u8; size * size];
        for y in 0..modules {
            for x in 0..modules {
                if qr[(x, y)] == qrcode::Color::Dark {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            luma[((y + quiet) * scale + dy) * size + (x + quiet) * scale + dx] = 0;
                        }
                    }
                }
            }
        }
        assert_eq!(decode_qr(size, size, &luma).as_deref(), Some(text));
        let noise: Vec<u8> = (0..size * size).map(|i| ((i * 7919) % 251) as u8).collect();
        assert_eq!(decode_qr(size, size, &noise), None);
        assert_eq!(decode_qr(size, size, &luma[..10]), None);
    }
}
