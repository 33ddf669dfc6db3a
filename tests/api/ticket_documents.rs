//! Ticket documents, checked the way a person and a door scanner meet them:
//! the PDF is rendered to pixels (poppler), its QR code is scanned (zbar) and
//! the scanned text verifies with the event's key; the attendee's name is
//! read back both as text and by OCR (tesseract); the SVG QR code scans; the
//! .ics file passes a strict RFC 5545 reader. No database is involved.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use admit::{
    domain::{
        EventId, TierId, Timestamp,
        money::Lang,
        ticket_code::{self, EventSigningKey, TicketCode, TicketPayload},
    },
    integrations::render::{
        CalendarEntry, TicketDocument, ticket_ics, ticket_pdf, ticket_qr_svg, tickets_pdf,
    },
};

const EVENT: &str = "0192f3a4-0000-7abc-8def-0123456789ab";
const TIER: &str = "0192f3a4-1111-7abc-8def-0123456789ab";
/// 2027-03-14 11:30 UTC: 19:30 in Bali (WITA, UTC+8), a Sunday.
const STARTS_AT: Timestamp = Timestamp::from_millis(1_805_023_800_000);

fn event_key() -> EventSigningKey {
    EventSigningKey::from_bytes(&[42; 32])
}

fn ticket(n: u8, name: &str, seat: Option<&str>, lang: Lang) -> TicketDocument {
    let ticket_id = format!("0192f3a4-5b6c-7d8e-9f00-1122334455{n:02x}");
    let payload = TicketPayload::new(
        &ticket_id,
        &EventId::from_string(EVENT),
        &TierId::from_string(TIER),
        seat,
        name,
    )
    .unwrap();
    let code = TicketCode::parse(&ticket_code::sign(&payload, &event_key())).unwrap();
    TicketDocument {
        event_title: "Gamelan Under the Stars: Ubud Night".into(),
        starts_at: STARTS_AT,
        time_zone: "Asia/Makassar".into(),
        venue: "Puri Saren Agung, Jl. Raya Ubud No.8, Ubud, Bali".into(),
        attendee_name: name.into(),
        tier_name: "Festival Pass".into(),
        seat: seat.map(str::to_owned),
        order_number: "ORD-2027-000731".into(),
        code,
        terms: "Tickets are non-transferable. Doors open 30 minutes before the show.\n\
                No refunds except when the event is cancelled."
            .into(),
        lang,
    }
}

/// Runs a tool, fails the test with its stderr when it fails.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not start ({e}); run `make setup`"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Renders page `page` (from 1) of a PDF to a PNG at `dpi`.
fn render_page(pdf: &Path, page: usize, dpi: u32) -> PathBuf {
    let root = pdf.with_file_name(format!(
        "{}-p{page}",
        pdf.file_stem().unwrap().to_str().unwrap()
    ));
    let p = page.to_string();
    run(
        "pdftoppm",
        &[
            "-r",
            &dpi.to_string(),
            "-f",
            &p,
            "-l",
            &p,
            "-png",
            "-singlefile",
            pdf.to_str().unwrap(),
            root.to_str().unwrap(),
        ],
    );
    root.with_extension("png")
}

fn scan_qr(png: &Path) -> String {
    run("zbarimg", &["--raw", "-q", png.to_str().unwrap()])
        .trim_end()
        .to_owned()
}

fn pdf_text(pdf: &Path) -> String {
    run("pdftotext", &["-enc", "UTF-8", pdf.to_str().unwrap(), "-"])
}

fn page_count(pdf: &Path) -> usize {
    run("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo reports the page count")
}

#[test]
fn a_ticket_pdf_has_a_qr_code_that_scans_and_verifies_with_the_event_key() {
    let dir = tempfile::tempdir().unwrap();
    let doc = ticket(1, "Zoë Nguyễn", Some("Balcony A12"), Lang::En);
    let pdf = write(dir.path(), "ticket.pdf", &ticket_pdf(&doc));

    let scanned = scan_qr(&render_page(&pdf, 1, 150));

    assert_eq!(scanned, doc.code.to_string());
    let event = EventId::from_string(EVENT);
    let verified = TicketCode::parse(&scanned)
        .unwrap()
        .verify_for_event(&event, &event_key().public_key())
        .expect("the scanned code verifies");
    assert_eq!(verified.ticket_id(), "0192f3a4-5b6c-7d8e-9f00-112233445501");
    assert_eq!(verified.seat(), Some("Balcony A12"));
    assert!(verified.is_tier(&TierId::from_string(TIER)));
    assert!(verified.attendee_matches("ZOE NGUYEN"));
    // Another event's key refuses the very same scan.
    let other = EventSigningKey::from_bytes(&[7; 32]).public_key();
    assert!(TicketCode::parse(&scanned).unwrap().verify(&other).is_err());
}

/// The bounding box, in points from the top left of page 1, of the words of
/// `phrase` as poppler finds them in the PDF (`pdftotext -bbox`).
fn word_box(pdf: &Path, phrase: &str) -> (f64, f64, f64, f64) {
    let html = run(
        "pdftotext",
        &["-bbox", "-f", "1", "-l", "1", pdf.to_str().unwrap(), "-"],
    );
    let attr = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[start..].split('"').next().unwrap().parse().unwrap()
    };
    let words: Vec<(String, [f64; 4])> = html
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("<word ")?;
            let (tag, text) = rest.split_once('>')?;
            let text = text.strip_suffix("</word>")?;
            let b = ["xMin", "yMin", "xMax", "yMax"].map(|n| attr(tag, n));
            Some((text.to_owned(), b))
        })
        .collect();
    let wanted: Vec<&str> = phrase.split(' ').collect();
    let at = words
        .windows(wanted.len())
        .position(|w| w.iter().map(|(t, _)| t.as_str()).eq(wanted.iter().copied()))
        .unwrap_or_else(|| panic!("{phrase:?} is not on page 1"));
    let boxes = &words[at..at + wanted.len()];
    let min = |i: usize| boxes.iter().map(|(_, b)| b[i]).fold(f64::MAX, f64::min);
    let max = |i: usize| boxes.iter().map(|(_, b)| b[i]).fold(f64::MIN, f64::max);
    (min(0), min(1), max(2), max(3))
}

#[test]
fn the_attendee_name_is_printed_in_its_own_script_and_reads_back_by_ocr() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(
        dir.path(),
        "ticket.pdf",
        &ticket_pdf(&ticket(2, "Zoë Nguyễn", None, Lang::En)),
    );

    // The text layer has the exact name.
    let text = pdf_text(&pdf);
    assert!(text.contains("Zoë Nguyễn"), "pdftotext gave: {text}");

    // The pixels show it too: render just the name's line at 300 dpi and
    // read it with tesseract's Vietnamese model.
    let (x0, y0, x1, y1) = word_box(&pdf, "Zoë Nguyễn");
    let (pad, px) = (6.0, 300.0 / 72.0);
    let crop = |v: f64| ((v * px) as i64).to_string();
    let root = dir.path().join("name");
    run(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-f",
            "1",
            "-l",
            "1",
            "-x",
            &crop(x0 - pad),
            "-y",
            &crop(y0 - pad),
            "-W",
            &crop(x1 - x0 + 2.0 * pad),
            "-H",
            &crop(y1 - y0 + 2.0 * pad),
            "-png",
            "-singlefile",
            pdf.to_str().unwrap(),
            root.to_str().unwrap(),
        ],
    );
    let ocr = run(
        "tesseract",
        &[
            root.with_extension("png").to_str().unwrap(),
            "-",
            "-l",
            "vie",
            "--psm",
            "7",
        ],
    );
    let ocr = ocr.trim();
    // "Nguyễn", with its two stacked marks, reads back exactly.
    assert!(ocr.ends_with("Nguyễn"), "tesseract read {ocr:?}");
    // Vietnamese has no "ë", so the model cannot name it; it must still see
    // an "e" carrying a mark, where a missing glyph would read otherwise.
    let first: Vec<char> = ocr.split(' ').next().unwrap().chars().collect();
    assert_eq!(first[..2], ['Z', 'o'], "tesseract read {ocr:?}");
    assert!(
        first.len() == 3 && "ëẽéèêēėęẹẻếềểễệ".contains(first[2]),
        "the third letter of Zoë is an e with a mark, not {ocr:?}"
    );
}

#[test]
fn a_multi_ticket_pdf_has_one_page_per_ticket_each_with_its_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        ticket(3, "Zoë Nguyễn", Some("Balcony A12"), Lang::En),
        ticket(4, "Dwi Ayu Lestari", Some("Balcony A13"), Lang::En),
        ticket(5, "Made Wirawan", None, Lang::Id),
    ];
    let pdf = write(dir.path(), "order.pdf", &tickets_pdf(&docs));

    assert_eq!(page_count(&pdf), 3);
    for (i, doc) in docs.iter().enumerate() {
        assert_eq!(
            scan_qr(&render_page(&pdf, i + 1, 150)),
            doc.code.to_string(),
            "page {}",
            i + 1
        );
    }
    let text = pdf_text(&pdf);
    for name in ["Zoë Nguyễn", "Dwi Ayu Lestari", "Made Wirawan"] {
        assert!(text.contains(name), "{name} missing from: {text}");
    }
}

#[test]
fn the_ticket_shows_the_local_time_with_its_zone_and_every_detail() {
    let dir = tempfile::tempdir().unwrap();
    let en = ticket(6, "Dwi Ayu Lestari", Some("Balcony A12"), Lang::En);
    let reference = en.code.reference();
    let pdf = write(dir.path(), "en.pdf", &ticket_pdf(&en));
    let text = pdf_text(&pdf);
    for expected in [
        "Gamelan Under the Stars: Ubud Night",
        "Sun, 14 Mar 2027 19:30 WITA (UTC+8)",
        "Puri Saren Agung, Jl. Raya Ubud No.8, Ubud, Bali",
        "Festival Pass",
        "Balcony A12",
        "ORD-2027-000731",
        reference.as_str(),
        "Tickets are non-transferable.",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from: {text}");
    }

    let id = write(
        dir.path(),
        "id.pdf",
        &ticket_pdf(&ticket(6, "Dwi Ayu Lestari", None, Lang::Id)),
    );
    let text = pdf_text(&id);
    assert!(
        text.contains("Min, 14 Mar 2027 19.30 WITA (UTC+8)"),
        "{text}"
    );
    assert!(text.contains("Peserta"), "{text}");
    assert!(
        !text.contains("Kursi"),
        "no seat line without a seat: {text}"
    );
}

#[test]
fn long_terms_continue_on_another_page_instead_of_being_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = ticket(7, "Dwi Ayu Lestari", None, Lang::En);
    doc.terms = (1..=120)
        .map(|i| {
            format!(
                "Clause {i}: the organizer may refuse entry to anyone who breaks the house rules."
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let pdf = write(dir.path(), "long.pdf", &ticket_pdf(&doc));

    assert!(page_count(&pdf) >= 2);
    let text = pdf_text(&pdf);
    assert!(text.contains("Clause 1:"), "{text}");
    assert!(text.contains("Clause 120:"), "the last clause is printed");
    assert!(text.contains("(continued)"), "{text}");
    // The QR code stays on the first page.
    assert_eq!(scan_qr(&render_page(&pdf, 1, 150)), doc.code.to_string());
}

#[test]
fn ticket_pdfs_embed_only_the_glyphs_they_use() {
    let one = ticket_pdf(&ticket(8, "Zoë Nguyễn", Some("Balcony A12"), Lang::En));
    // The two DejaVu faces are 1.4 MB whole; subsets keep a ticket small
    // enough to attach to every confirmation email.
    assert!(one.len() < 100_000, "a ticket PDF is {} bytes", one.len());
    let dir = tempfile::tempdir().unwrap();
    let pdf = write(dir.path(), "one.pdf", &one);
    let fonts = run("pdffonts", &[pdf.to_str().unwrap()]);
    let embedded: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(embedded.len(), 2, "{fonts}");
    for line in embedded {
        assert!(line.contains("CID TrueType"), "{line}");
        assert!(line.contains(" yes "), "every font is embedded: {line}");
    }
}

#[test]
fn the_qr_svg_for_the_tickets_page_scans_back_to_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let doc = ticket(9, "Zoë Nguyễn", None, Lang::En);
    let svg = ticket_qr_svg(&doc.code);
    assert!(
        svg.starts_with("<?xml") && svg.contains("<svg"),
        "{svg:.80}"
    );
    let svg_path = write(dir.path(), "qr.svg", svg.as_bytes());
    let png = dir.path().join("qr.png");
    run(
        "rsvg-convert",
        &[
            "--width",
            "400",
            "-o",
            png.to_str().unwrap(),
            svg_path.to_str().unwrap(),
        ],
    );
    assert_eq!(scan_qr(&png), doc.code.to_string());
}

#[test]
fn base45_ticket_codes_need_a_smaller_qr_code_than_base64url() {
    use base64::Engine as _;
    use qrcode::{EcLevel, QrCode, Version};

    let version = |text: &str| {
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .unwrap()
            .version()
    };
    let seatless = ticket(10, "Dwi Ayu Lestari", None, Lang::En)
        .code
        .to_string();
    let short_seat = ticket(10, "Dwi Ayu Lestari", Some("B7"), Lang::En)
        .code
        .to_string();
    assert_eq!(seatless.len(), 165);
    assert_eq!(version(&seatless), Version::Normal(7));
    assert_eq!(version(&short_seat), Version::Normal(7));
    // The same 106 bytes in base64url need version 8.
    let bytes: Vec<u8> = (0..106u32).map(|i| (i * 37 + 11) as u8).collect();
    let base64url = format!(
        "{}{}",
        ticket_code::CODE_PREFIX,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes)
    );
    assert_eq!(version(&base64url), Version::Normal(8));
    // The longest seat label still gives a readable code.
    let longest = ticket(
        10,
        "Dwi Ayu Lestari",
        Some(&"S".repeat(ticket_code::MAX_SEAT_BYTES)),
        Lang::En,
    );
    assert_eq!(longest.code.to_string().len(), ticket_code::MAX_CODE_CHARS);
    assert!(matches!(version(&longest.code.to_string()), Version::Normal(v) if v <= 10));
}

// --- iCalendar --------------------------------------------------------------

/// Properties of a component: name and raw value, in order.
type Props = Vec<(String, String)>;

/// A strict reader for what admit writes: CRLF only, physical lines of at
/// most 75 octets, folding by CRLF + one space, `NAME[;params]:value`
/// content lines, balanced BEGIN/END. Returns the VCALENDAR's properties
/// (name → raw value) and the VEVENT's.
fn read_ics(text: &str) -> (Props, Props) {
    assert!(text.ends_with("\r\n"), "ends with CRLF");
    assert!(
        !text.replace("\r\n", "").contains(['\r', '\n']),
        "no bare CR or LF"
    );
    let mut logical: Vec<String> = Vec::new();
    for physical in text.split_terminator("\r\n") {
        assert!(
            physical.len() <= 75,
            "a line of {} octets: {physical:?}",
            physical.len()
        );
        if let Some(rest) = physical.strip_prefix(' ') {
            logical
                .last_mut()
                .expect("a fold continues a line")
                .push_str(rest);
        } else {
            logical.push(physical.to_owned());
        }
    }
    let mut stack: Vec<String> = Vec::new();
    let (mut calendar, mut event) = (Vec::new(), Vec::new());
    let mut events = 0;
    for line in logical {
        let (name, value) = line.split_once(':').expect("NAME:value");
        let name = name.split(';').next().unwrap().to_owned();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '-'),
            "property name {name:?}"
        );
        match name.as_str() {
            "BEGIN" => {
                if value == "VEVENT" {
                    events += 1;
                    assert_eq!(stack, ["VCALENDAR"], "VEVENT inside VCALENDAR");
                }
                stack.push(value.to_owned());
            }
            "END" => assert_eq!(stack.pop().as_deref(), Some(value), "balanced END"),
            _ => match stack.last().map(String::as_str) {
                Some("VEVENT") => event.push((name, value.to_owned())),
                Some("VCALENDAR") => calendar.push((name, value.to_owned())),
                other => panic!("property outside a component: {other:?}"),
            },
        }
    }
    assert!(stack.is_empty(), "every component ends");
    assert_eq!(events, 1);
    (calendar, event)
}

fn prop<'a>(props: &'a [(String, String)], name: &str) -> &'a str {
    let found: Vec<&str> = props
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(found.len(), 1, "exactly one {name}");
    found[0]
}

/// RFC 5545 TEXT unescaping; refuses a lone backslash or an unescaped `,`/`;`.
fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some(';') => out.push(';'),
                Some(',') => out.push(','),
                Some('n' | 'N') => out.push('\n'),
                other => panic!("bad escape \\{other:?} in {value:?}"),
            },
            ',' | ';' => panic!("unescaped {c:?} in {value:?}"),
            c => out.push(c),
        }
    }
    out
}

#[test]
fn the_ics_file_is_strict_icalendar_with_utc_times_and_escaped_text() {
    let description = "2 tickets: Zoë Nguyễn (Festival Pass; seat Balcony A12), \
                       Dwi Ayu Lestari (Festival Pass)\nOrder ORD-2027-000731, \
                       reference K7F3Q-9XWM2. Bring the PDF or the app; doors open at 19:00, \
                       and there is no re-entry."
        .to_owned();
    let entry = CalendarEntry {
        uid: "order-0192f3a4-5b6c-7d8e-9f00-112233445566@admit.test".into(),
        summary: "Gamelan Under the Stars, Ubud; night one".into(),
        starts_at: STARTS_AT,
        ends_at: Timestamp::from_millis(1_805_036_400_000),
        location: "Puri Saren Agung, Jl. Raya Ubud No.8, Ubud, Bali".into(),
        description: description.clone(),
        url: Some("http://127.0.0.1:3000/orders/0192f3a4".into()),
        stamp: Timestamp::from_millis(1_798_859_045_000),
    };

    let ics = ticket_ics(&entry);
    let (calendar, event) = read_ics(&ics);

    assert_eq!(prop(&calendar, "VERSION"), "2.0");
    assert!(!prop(&calendar, "PRODID").is_empty());
    assert_eq!(prop(&event, "DTSTART"), "20270314T113000Z");
    assert_eq!(prop(&event, "DTEND"), "20270314T150000Z");
    assert_eq!(prop(&event, "DTSTAMP"), "20270102T030405Z");
    assert_eq!(
        prop(&event, "UID"),
        "order-0192f3a4-5b6c-7d8e-9f00-112233445566@admit.test"
    );
    assert_eq!(unescape(prop(&event, "SUMMARY")), entry.summary);
    assert_eq!(unescape(prop(&event, "LOCATION")), entry.location);
    assert_eq!(unescape(prop(&event, "DESCRIPTION")), description);
    assert_eq!(prop(&event, "URL"), "http://127.0.0.1:3000/orders/0192f3a4");
    assert!(
        ics.lines().any(|l| l.starts_with(' ')),
        "the long description is folded"
    );
    assert_eq!(
        ticket_ics(&entry),
        ics,
        "the same ticket gives the same file"
    );
}
