//! Ticket documents: the PDF ticket (one page per ticket, with the QR code
//! drawn as vector modules), the QR code as SVG for the "my tickets" page, and
//! an iCalendar file for the attendee's calendar.
//!
//! The PDF embeds DejaVu Sans (`assets/fonts/`), which covers Latin with
//! Vietnamese and Indonesian names, Greek and Cyrillic; printpdf's built-in
//! fonts only know WinAnsi. printpdf without its layout engine embeds whole
//! fonts (about 700 KB each), so each document embeds a subset of the glyphs it
//! uses instead, cut with allsorts (the font library printpdf itself uses).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::OnceLock,
};

use jiff::{Timestamp as JiffTs, tz::TimeZone};
use printpdf::{
    Color, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Polygon, PolygonRing, Pt, Rgb, TextItem, WindingOrder,
};
use qrcode::{EcLevel, QrCode};

use crate::{
    domain::{Timestamp, money::Lang, ticket_code::TicketCode},
    services::format,
};

const REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Everything printed on one ticket.
#[derive(Clone, Debug)]
pub struct TicketDocument {
    /// The event's title.
    pub event_title: String,
    /// When the event starts (UTC).
    pub starts_at: Timestamp,
    /// The event's IANA time zone; the ticket shows the time there.
    pub time_zone: String,
    /// Venue name and address, as one line or several.
    pub venue: String,
    /// The name on the ticket.
    pub attendee_name: String,
    /// The tier's name (e.g. "VIP").
    pub tier_name: String,
    /// The seat, for seated tickets (e.g. "Balcony A12").
    pub seat: Option<String>,
    /// The order number as the buyer sees it.
    pub order_number: String,
    /// The signed ticket code, drawn as the QR code.
    pub code: TicketCode,
    /// The event's terms, plain text (paragraphs separated by newlines).
    pub terms: String,
    /// The language of the labels and the date.
    pub lang: Lang,
}

/// One event in an iCalendar file.
#[derive(Clone, Debug)]
pub struct CalendarEntry {
    /// Stable id: the same ticket or order always gives the same UID, so a
    /// calendar updates its entry instead of adding another
    /// (e.g. `ticket-<id>@admit.example`).
    pub uid: String,
    /// The title (the event's title).
    pub summary: String,
    /// Start (UTC).
    pub starts_at: Timestamp,
    /// End (UTC).
    pub ends_at: Timestamp,
    /// Venue and address.
    pub location: String,
    /// Free text: tickets, order number, link.
    pub description: String,
    /// A link to the order or ticket page.
    pub url: Option<String>,
    /// When this file was made (`DTSTAMP`), from the injected clock.
    pub stamp: Timestamp,
}

/// The PDF of one ticket.
pub fn ticket_pdf(ticket: &TicketDocument) -> Vec<u8> {
    tickets_pdf(std::slice::from_ref(ticket))
}

/// The PDF of several tickets (e.g. an order): one page per ticket, plus a
/// continuation page where an event's terms do not fit on its ticket.
pub fn tickets_pdf(tickets: &[TicketDocument]) -> Vec<u8> {
    let pages: Vec<Vec<Draw>> = tickets.iter().flat_map(layout_ticket).collect();
    let title = match tickets {
        [one] => one.event_title.clone(),
        _ => "Tickets".to_owned(),
    };
    let mut doc = PdfDocument::new(&title);
    let regular = embed_font(&mut doc, FontFace::Regular, &pages);
    let bold = embed_font(&mut doc, FontFace::Bold, &pages);
    let pdf_pages = pages
        .iter()
        .map(|draws| {
            let ops = draws
                .iter()
                .flat_map(|d| d.ops(regular.as_ref(), bold.as_ref()))
                .collect();
            PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops)
        })
        .collect();
    let mut warnings = Vec::new();
    doc.with_pages(pdf_pages)
        .save(&PdfSaveOptions::default(), &mut warnings)
}

/// The QR code of a ticket as an SVG image (black on white, with its quiet
/// zone), for web pages.
pub fn ticket_qr_svg(code: &TicketCode) -> String {
    qr(code)
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .quiet_zone(true)
        .build()
}

/// An iCalendar file (RFC 5545) with one event: times in UTC, text escaped,
/// lines folded at 75 octets and ended with CRLF.
pub fn ticket_ics(entry: &CalendarEntry) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//admit//tickets//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", ics_text(&entry.uid)),
        format!("DTSTAMP:{}", ics_utc(entry.stamp)),
        format!("DTSTART:{}", ics_utc(entry.starts_at)),
        format!("DTEND:{}", ics_utc(entry.ends_at.max(entry.starts_at))),
        format!("SUMMARY:{}", ics_text(&entry.summary)),
        format!("LOCATION:{}", ics_text(&entry.location)),
        format!("DESCRIPTION:{}", ics_text(&entry.description)),
    ];
    if let Some(url) = &entry.url {
        // URL is of type URI: not TEXT-escaped, but never with a line break.
        lines.push(format!("URL:{}", url.replace(['\r', '\n'], "")));
    }
    lines.push("END:VEVENT".to_owned());
    lines.push("END:VCALENDAR".to_owned());
    let mut out = String::new();
    for line in &lines {
        fold_line(line, &mut out);
    }
    out
}

/// `YYYYMMDDTHHMMSSZ`; instants beyond year 9999 saturate.
fn ics_utc(at: Timestamp) -> String {
    let ts = JiffTs::from_millisecond(at.as_millis()).unwrap_or(if at.as_millis() < 0 {
        JiffTs::MIN
    } else {
        JiffTs::MAX
    });
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped.
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes `line` folded into physical lines of at most 75 octets (without
/// the CRLF), never inside a UTF-8 character.
fn fold_line(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
}

// --- PDF layout ------------------------------------------------------------

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const QR_SIZE: f32 = 62.0;
/// Modules of white around the QR code, as the QR specification asks.
const QUIET_MODULES: usize = 4;
const PT_TO_MM: f32 = 25.4 / 72.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FontFace {
    Regular,
    Bold,
}

#[derive(Clone, Copy)]
enum Ink {
    Black,
    Grey,
}

/// What a page draws, in millimetres from the bottom left.
enum Draw {
    Text {
        face: FontFace,
        size: f32,
        x: f32,
        y: f32,
        ink: Ink,
        text: String,
    },
    /// Filled rectangles: `(x, y, width, height)`.
    Rects(Vec<(f32, f32, f32, f32)>),
}

struct Labels {
    attendee: &'static str,
    tier: &'static str,
    seat: &'static str,
    order: &'static str,
    reference: &'static str,
    terms: &'static str,
    terms_continued: &'static str,
    admits: &'static str,
}

fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::En => Labels {
            attendee: "Attendee",
            tier: "Tier",
            seat: "Seat",
            order: "Order",
            reference: "Ticket reference",
            terms: "Terms and conditions",
            terms_continued: "Terms and conditions (continued)",
            admits: "Show this QR code at the entrance. It admits one person, once.",
        },
        Lang::Id => Labels {
            attendee: "Peserta",
            tier: "Tier",
            seat: "Kursi",
            order: "Pesanan",
            reference: "Referensi tiket",
            terms: "Syarat dan ketentuan",
            terms_continued: "Syarat dan ketentuan (lanjutan)",
            admits: "Tunjukkan kode QR ini di pintu masuk. Berlaku untuk satu orang, satu kali.",
        },
    }
}

/// The date line: the event's local time with its zone's name, and the UTC
/// offset where the name is an abbreviation ("WITA (UTC+8)").
fn when_line(ticket: &TicketDocument) -> String {
    let when = format::when(ticket.starts_at, &ticket.time_zone, ticket.lang);
    let tz = TimeZone::get(&ticket.time_zone).unwrap_or(TimeZone::UTC);
    let Ok(ts) = JiffTs::from_millisecond(ticket.starts_at.as_millis()) else {
        return when;
    };
    if when.ends_with(|c: char| c.is_ascii_digit()) {
        // Already numeric ("GMT+8").
        return when;
    }
    let secs = tz.to_offset(ts).seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let (h, m) = (secs.unsigned_abs() / 3600, secs.unsigned_abs() % 3600 / 60);
    if m == 0 {
        format!("{when} (UTC{sign}{h})")
    } else {
        format!("{when} (UTC{sign}{h}:{m:02})")
    }
}

fn layout_ticket(ticket: &TicketDocument) -> Vec<Vec<Draw>> {
    let l = labels(ticket.lang);
    let mut page = Vec::new();
    let mut y = PAGE_H - MARGIN;

    // Event.
    for line in wrap(FontFace::Bold, 20.0, &ticket.event_title, CONTENT_W) {
        y -= 8.0;
        page.push(text(FontFace::Bold, 20.0, MARGIN, y, Ink::Black, line));
    }
    y -= 7.0;
    page.push(text(
        FontFace::Regular,
        12.0,
        MARGIN,
        y,
        Ink::Black,
        when_line(ticket),
    ));
    for line in wrap(FontFace::Regular, 11.0, &ticket.venue, CONTENT_W) {
        y -= 5.5;
        page.push(text(FontFace::Regular, 11.0, MARGIN, y, Ink::Grey, line));
    }
    y -= 5.0;
    page.push(Draw::Rects(vec![(MARGIN, y, CONTENT_W, 0.3)]));

    // Ticket details on the left, the QR code on the right.
    let top = y - 4.0;
    let details_w = CONTENT_W - QR_SIZE - 6.0;
    let mut dy = top;
    let mut field = |label: &str, value: &str, size: f32, face: FontFace, dy: &mut f32| {
        *dy -= 5.0;
        page.push(text(
            FontFace::Regular,
            9.0,
            MARGIN,
            *dy,
            Ink::Grey,
            label.to_owned(),
        ));
        for line in wrap(face, size, value, details_w) {
            *dy -= size * PT_TO_MM * 1.25;
            page.push(text(face, size, MARGIN, *dy, Ink::Black, line));
        }
        *dy -= 3.0;
    };
    field(
        l.attendee,
        &ticket.attendee_name,
        18.0,
        FontFace::Bold,
        &mut dy,
    );
    field(l.tier, &ticket.tier_name, 13.0, FontFace::Regular, &mut dy);
    if let Some(seat) = &ticket.seat {
        field(l.seat, seat, 13.0, FontFace::Bold, &mut dy);
    }
    field(
        l.order,
        &ticket.order_number,
        11.0,
        FontFace::Regular,
        &mut dy,
    );

    let qr_x = PAGE_W - MARGIN - QR_SIZE;
    page.push(qr_modules(&ticket.code, qr_x, top - QR_SIZE, QR_SIZE));
    let reference = ticket.code.reference();
    let mut qy = top - QR_SIZE - 4.0;
    page.push(centered(
        FontFace::Regular,
        8.0,
        qr_x,
        QR_SIZE,
        qy,
        Ink::Grey,
        l.reference,
    ));
    qy -= 5.5;
    page.push(centered(
        FontFace::Bold,
        13.0,
        qr_x,
        QR_SIZE,
        qy,
        Ink::Black,
        reference.as_str(),
    ));

    y = dy.min(qy) - 6.0;
    for line in wrap(FontFace::Regular, 10.0, l.admits, CONTENT_W) {
        page.push(text(FontFace::Regular, 10.0, MARGIN, y, Ink::Black, line));
        y -= 5.0;
    }
    y -= 3.0;

    // Terms, continued on further pages when they do not fit.
    let mut pages = Vec::new();
    let terms = wrap(FontFace::Regular, 8.5, ticket.terms.trim(), CONTENT_W);
    if terms.is_empty() {
        pages.push(page);
        return pages;
    }
    let line_h = 8.5 * PT_TO_MM * 1.3;
    page.push(text(
        FontFace::Bold,
        10.0,
        MARGIN,
        y,
        Ink::Black,
        l.terms.to_owned(),
    ));
    y -= 5.5;
    for line in terms {
        if y < MARGIN {
            pages.push(std::mem::take(&mut page));
            y = PAGE_H - MARGIN;
            let heading = format!("{} · {}", ticket.event_title, l.terms_continued);
            for line in wrap(FontFace::Bold, 10.0, &heading, CONTENT_W) {
                y -= 5.0;
                page.push(text(FontFace::Bold, 10.0, MARGIN, y, Ink::Black, line));
            }
            y -= 7.0;
        }
        page.push(text(FontFace::Regular, 8.5, MARGIN, y, Ink::Grey, line));
        y -= line_h;
    }
    pages.push(page);
    pages
}

fn text(face: FontFace, size: f32, x: f32, y: f32, ink: Ink, text: String) -> Draw {
    Draw::Text {
        face,
        size,
        x,
        y,
        ink,
        text,
    }
}

fn centered(face: FontFace, size: f32, x: f32, w: f32, y: f32, ink: Ink, s: &str) -> Draw {
    let width = text_width(face, size, s);
    text(
        face,
        size,
        x + ((w - width) / 2.0).max(0.0),
        y,
        ink,
        s.to_owned(),
    )
}

fn qr(code: &TicketCode) -> QrCode {
    // Medium error correction: survives a scuffed print or a cracked screen
    // and keeps a typical code at version 7. A code is at most
    // MAX_CODE_CHARS (237) alphanumeric characters; version 40 holds 3,391.
    QrCode::with_error_correction_level(code.to_string().as_bytes(), EcLevel::M)
        .expect("a ticket code always fits a QR code")
}

/// The dark modules as rectangles (one per horizontal run), inside a square
/// of `size` mm at (`x`, `y`) that includes the quiet zone.
fn qr_modules(code: &TicketCode, x: f32, y: f32, size: f32) -> Draw {
    let qr = qr(code);
    let width = qr.width();
    let module = size / (width + 2 * QUIET_MODULES) as f32;
    let colors = qr.to_colors();
    let mut rects = Vec::new();
    for (row, cells) in colors.chunks(width).enumerate() {
        let top = y + size - (QUIET_MODULES + row) as f32 * module;
        let mut col = 0;
        while col < width {
            if cells[col] == qrcode::Color::Dark {
                let start = col;
                while col < width && cells[col] == qrcode::Color::Dark {
                    col += 1;
                }
                rects.push((
                    x + (QUIET_MODULES + start) as f32 * module,
                    top - module,
                    (col - start) as f32 * module,
                    module,
                ));
            } else {
                col += 1;
            }
        }
    }
    Draw::Rects(rects)
}

fn full_font(face: FontFace) -> &'static ParsedFont {
    static REGULAR: OnceLock<ParsedFont> = OnceLock::new();
    static BOLD: OnceLock<ParsedFont> = OnceLock::new();
    let (cell, bytes) = match face {
        FontFace::Regular => (&REGULAR, REGULAR_TTF),
        FontFace::Bold => (&BOLD, BOLD_TTF),
    };
    cell.get_or_init(|| {
        ParsedFont::from_bytes(bytes, 0, &mut Vec::new()).expect("the bundled DejaVu font parses")
    })
}

/// The width of `s` in mm at `size` pt.
fn text_width(face: FontFace, size: f32, s: &str) -> f32 {
    let font = full_font(face);
    let units: u32 = s
        .chars()
        .map(|c| {
            let gid = font
                .codepoint_to_glyph
                .get(&(c as u32))
                .copied()
                .unwrap_or(0);
            u32::from(font.glyph_widths.get(&gid).copied().unwrap_or(0))
        })
        .sum();
    units as f32 / f32::from(font.units_per_em.max(1)) * size * PT_TO_MM
}

/// Greedy word wrap into lines of at most `width` mm; paragraphs (newlines)
/// are kept, a word longer than a line is broken between characters.
fn wrap(face: FontFace, size: f32, s: &str, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_width(face, size, &candidate) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                line.push(c);
                if text_width(face, size, &line) > width && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::replace(&mut line, c.to_string()));
                }
            }
        }
        lines.push(line);
    }
    // Blank lines between paragraphs stay; blank lines at the end do not.
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Adds the glyphs `pages` use of `face` to the document, as a subset font.
/// `None` when no page uses the face.
fn embed_font(
    doc: &mut PdfDocument,
    face: FontFace,
    pages: &[Vec<Draw>],
) -> Option<printpdf::FontId> {
    let used: BTreeSet<char> = pages
        .iter()
        .flatten()
        .filter_map(|d| match d {
            Draw::Text { face: f, text, .. } if *f == face => Some(text.chars()),
            _ => None,
        })
        .flatten()
        .collect();
    if used.is_empty() {
        return None;
    }
    let full = full_font(face);
    let bytes = match face {
        FontFace::Regular => REGULAR_TTF,
        FontFace::Bold => BOLD_TTF,
    };
    let font = subset(bytes, full, &used).unwrap_or_else(|| full.clone());
    Some(doc.add_font(&font))
}

/// A font with only the glyphs of `chars` (and .notdef), or `None` when
/// subsetting fails or loses a character, so the caller embeds the full font.
fn subset(bytes: &[u8], full: &ParsedFont, chars: &BTreeSet<char>) -> Option<ParsedFont> {
    use allsorts::{
        binary::read::ReadScope,
        font_data::FontData,
        subset::{CmapTarget, SubsetProfile, subset},
    };
    let gids: BTreeMap<char, u16> = chars
        .iter()
        .filter_map(|&c| full.codepoint_to_glyph.get(&(c as u32)).map(|&g| (c, g)))
        .collect();
    let ids: Vec<u16> = std::iter::once(0)
        .chain(
            gids.values()
                .copied()
                .collect::<BTreeSet<u16>>()
                .into_iter()
                .filter(|&g| g != 0),
        )
        .collect();
    let scope = ReadScope::new(bytes);
    let font_data = scope.read::<FontData<'_>>().ok()?;
    let provider = font_data.table_provider(0).ok()?;
    let subset_bytes = subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode).ok()?;
    let font = ParsedFont::from_bytes(&subset_bytes, 0, &mut Vec::new())?;
    gids.keys()
        .all(|c| font.codepoint_to_glyph.contains_key(&(*c as u32)))
        .then_some(font)
}

impl Draw {
    fn ops(&self, regular: Option<&printpdf::FontId>, bold: Option<&printpdf::FontId>) -> Vec<Op> {
        match self {
            Draw::Text {
                face,
                size,
                x,
                y,
                ink,
                text,
            } => {
                let font = match face {
                    FontFace::Regular => regular,
                    FontFace::Bold => bold,
                };
                let Some(font) = font else { return Vec::new() };
                let grey = match ink {
                    Ink::Black => 0.0,
                    Ink::Grey => 0.35,
                };
                vec![
                    Op::SetFillColor { col: rgb(grey) },
                    Op::StartTextSection,
                    Op::SetFont {
                        font: PdfFontHandle::External(font.clone()),
                        size: Pt(*size),
                    },
                    Op::SetTextCursor {
                        pos: Point::new(Mm(*x), Mm(*y)),
                    },
                    Op::ShowText {
                        items: vec![TextItem::Text(text.clone())],
                    },
                    Op::EndTextSection,
                ]
            }
            Draw::Rects(rects) => vec![
                Op::SetFillColor { col: rgb(0.0) },
                Op::DrawPolygon {
                    polygon: Polygon {
                        rings: rects
                            .iter()
                            .map(|&(x, y, w, h)| PolygonRing {
                                points: [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
                                    .into_iter()
                                    .map(|(px, py)| LinePoint {
                                        p: Point::new(Mm(px), Mm(py)),
                                        bezier: false,
                                    })
                                    .collect(),
                            })
                            .collect(),
                        mode: PaintMode::Fill,
                        winding_order: WindingOrder::NonZero,
                    },
                },
            ],
        }
    }
}

fn rgb(grey: f32) -> Color {
    Color::Rgb(Rgb {
        r: grey,
        g: grey,
        b: grey,
        icc_profile: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_and_paragraphs_wrap_within_the_width() {
        let s = format!("short words here\n\n{}", "x".repeat(300));
        let lines = wrap(FontFace::Regular, 10.0, &s, 50.0);
        assert_eq!(lines[0], "short words here");
        assert_eq!(lines[1], "");
        assert!(lines.len() > 3);
        for line in &lines {
            assert!(text_width(FontFace::Regular, 10.0, line) <= 50.0, "{line}");
        }
        assert_eq!(lines[2..].concat(), "x".repeat(300));
    }

    #[test]
    fn ics_text_escapes_and_folds_without_splitting_characters() {
        assert_eq!(ics_text("a,b;c\\d\r\ne\nf"), "a\\,b\\;c\\\\d\\ne\\nf");
        let mut out = String::new();
        fold_line(&format!("DESCRIPTION:{}", "ễ".repeat(40)), &mut out);
        for physical in out.split_terminator("\r\n") {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("DESCRIPTION:{}\r\n", "ễ".repeat(40))
        );
    }
}
