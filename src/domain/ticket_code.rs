//! Ticket codes: the signed text behind an e-ticket's QR code.
//!
//! A code proves, offline, that admit issued this ticket for this event: the
//! scanner only needs the event's public key. The same code runs on the server
//! and in the scanner island (wasm), so there is one reading of a code.
//!
//! # Format, version 1
//!
//! The text is [`CODE_PREFIX`] followed by the base45 (RFC 9285) encoding of
//! these bytes:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version, `1` |
//! | 16 | ticket id (the UUID's 16 bytes) |
//! | 16 | event id (the UUID's 16 bytes) |
//! | 4 | tier tag: SHA-256 of `"admit:tier:v1"` and the tier id, first 4 bytes |
//! | 4 | attendee digest: SHA-256 of `"admit:attendee:v1"`, the ticket id's bytes and the normalized name, first 4 bytes |
//! | 1 | seat label length `n`, 0 for no seat, at most [`MAX_SEAT_BYTES`] |
//! | n | seat label, UTF-8 |
//! | 64 | Ed25519 signature, by the event's key, over every byte before it |
//!
//! Why base45: its alphabet is exactly the QR alphanumeric set, which QR
//! stores in 5.5 bits a character, so a byte costs 8.25 bits, against 8.8 for
//! upper-case base32 and 10.7 for base64url (byte mode). A code without seat is
//! 165 characters and fits a version 7 QR code at medium error correction
//! (base64url would need version 8).
//!
//! Why a 4-byte tier tag instead of the tier id: the door needs to tell the
//! event's few tiers apart, not to carry the id; a hash of the id is stable,
//! has the same length whatever the id looks like, and saves 12 bytes. The
//! scanner maps tags back to tier names with [`TierTag::of`] over the event's
//! tiers. Two tiers of one event sharing a tag is a 1 in 2^32 chance a pair.
//!
//! The attendee digest lets door staff check a name without the code carrying
//! it: [`VerifiedTicket::attendee_matches`]. The name is normalized so that
//! what staff type from an ID card matches what the buyer typed: lower case,
//! Latin accents folded (Nguyễn → nguyen, ß → ss), and anything that is not a
//! letter or digit dropped (spaces, dashes, combining marks), so "Zoë Nguyễn",
//! "ZOE NGUYEN" and "zoe-nguyen" agree. The ticket id salts the digest, so
//! the same name gives unrelated digests on two tickets. The fold table is
//! frozen: changing it would change the digests of codes already issued.
//!
//! Codes are long (about 170 characters), so nobody types one. For the door's
//! typing, every code has a short [`TicketReference`] (10 characters of
//! Crockford base32, e.g. `K7F3Q-9XWM2`) printed next to the QR code.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::ids::{EventId, TierId};

/// The text every ticket code starts with.
pub const CODE_PREFIX: &str = "ADMIT:";
/// The payload version this module writes.
pub const VERSION: u8 = 1;
/// The longest seat label a code carries, in UTF-8 bytes.
pub const MAX_SEAT_BYTES: usize = 48;
/// The longest text [`TicketCode::parse`] looks at; anything longer is
/// refused before any decoding.
pub const MAX_CODE_CHARS: usize = CODE_PREFIX.len() + base45_len(MAX_PAYLOAD_BYTES);

const ID_BYTES: usize = 16;
const TAG_BYTES: usize = 4;
const DIGEST_BYTES: usize = 4;
const SIGNATURE_BYTES: usize = 64;
/// Version, two ids, tier tag, attendee digest, seat length.
const HEADER_BYTES: usize = 1 + 2 * ID_BYTES + TAG_BYTES + DIGEST_BYTES + 1;
const MAX_PAYLOAD_BYTES: usize = HEADER_BYTES + MAX_SEAT_BYTES + SIGNATURE_BYTES;
/// Scanners may hand over a trailing newline or spaces; a little slack for
/// them, and no more, before the input is called oversized.
const MAX_INPUT_BYTES: usize = MAX_CODE_CHARS + 8;

/// Why a ticket code was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Longer than any ticket code can be.
    #[error("this is too long to be an admit ticket code")]
    TooLong,
    /// Not an admit ticket code (wrong prefix, characters or structure).
    #[error("this is not an admit ticket code")]
    Malformed,
    /// An admit code of a version this build does not know.
    #[error("this ticket code has version {0}, which this scanner does not know; update it")]
    UnknownVersion(u8),
    /// The signature does not match the event's key: forged or altered.
    #[error("this ticket code is not genuine: its signature does not match the event")]
    BadSignature,
    /// A genuine-looking code for another event.
    #[error("this ticket is for another event")]
    WrongEvent,
}

/// Why a ticket could not be put into a code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The ticket id is not a lower-case hyphenated UUID.
    #[error("the ticket id {0:?} is not a UUID")]
    TicketId(String),
    /// The event id is not a lower-case hyphenated UUID.
    #[error("the event id {0:?} is not a UUID")]
    EventId(String),
    /// The seat label is empty, has control characters or is too long.
    #[error("the seat label must be 1 to {MAX_SEAT_BYTES} bytes without control characters")]
    Seat,
}

/// A public key in text form could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this is not an event public key (43 characters of base64url)")]
pub struct KeyError;

/// An event's private signing key. Exists on the server only; at rest it is
/// sealed under the instance master key.
#[derive(Clone)]
pub struct EventSigningKey(SigningKey);

impl EventSigningKey {
    /// The key whose secret is these 32 bytes (from a secure random source
    /// when the key is new, or from unsealing).
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(secret))
    }
    /// The 32 secret bytes, to seal them.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// The public half, which scanners get.
    pub fn public_key(&self) -> EventPublicKey {
        EventPublicKey(self.0.verifying_key())
    }
}

impl fmt::Debug for EventSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventSigningKey(public {})", self.public_key())
    }
}

/// An event's public key: verifies its ticket codes. Its text form
/// (`Display`, [`EventPublicKey::parse`]) is unpadded base64url, 43
/// characters, to publish to scanners.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EventPublicKey(VerifyingKey);

impl EventPublicKey {
    /// The key from its 32 bytes; refused when they are not a valid point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError)
    }
    /// The 32 bytes of the key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// Reads the text form.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() != 43 {
            return Err(KeyError);
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| KeyError)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError)?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Display for EventPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for EventPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventPublicKey({self})")
    }
}

/// The short, stable tag of a tier inside a code (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TierTag([u8; TAG_BYTES]);

impl TierTag {
    /// The tag of a tier.
    pub fn of(tier: &TierId) -> Self {
        let hash = Sha256::new()
            .chain_update(b"admit:tier:v1")
            .chain_update(tier.as_str().as_bytes())
            .finalize();
        let mut tag = [0; TAG_BYTES];
        tag.copy_from_slice(&hash[..TAG_BYTES]);
        Self(tag)
    }
}

impl fmt::Display for TierTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// What a ticket code says about its ticket, before it is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketPayload {
    ticket: [u8; ID_BYTES],
    event: [u8; ID_BYTES],
    tier: TierTag,
    attendee: [u8; DIGEST_BYTES],
    seat: Option<String>,
}

impl TicketPayload {
    /// The payload of one ticket. `ticket` and `event` are UUID text as admit
    /// stores it; `seat` is a short label such as "Balcony A12" (trimmed;
    /// empty means none); `attendee_name` is the name on the ticket.
    pub fn new(
        ticket: &str,
        event: &EventId,
        tier: &TierId,
        seat: Option<&str>,
        attendee_name: &str,
    ) -> Result<Self, PayloadError> {
        let ticket_bytes =
            uuid_bytes(ticket).ok_or_else(|| PayloadError::TicketId(ticket.to_owned()))?;
        let event_bytes = uuid_bytes(event.as_str())
            .ok_or_else(|| PayloadError::EventId(event.as_str().to_owned()))?;
        let seat = match seat.map(str::trim) {
            None | Some("") => None,
            Some(s) if valid_seat(s) => Some(s.to_owned()),
            Some(_) => return Err(PayloadError::Seat),
        };
        Ok(Self {
            ticket: ticket_bytes,
            event: event_bytes,
            tier: TierTag::of(tier),
            attendee: attendee_digest(&ticket_bytes, attendee_name),
            seat,
        })
    }

    /// The bytes the signature covers.
    fn to_bytes(&self) -> Vec<u8> {
        let seat = self.seat.as_deref().unwrap_or("").as_bytes();
        let mut out = Vec::with_capacity(HEADER_BYTES + seat.len() + SIGNATURE_BYTES);
        out.push(VERSION);
        out.extend_from_slice(&self.ticket);
        out.extend_from_slice(&self.event);
        out.extend_from_slice(&self.tier.0);
        out.extend_from_slice(&self.attendee);
        // A seat label is at most MAX_SEAT_BYTES (checked in `new`), so it fits a byte.
        out.push(seat.len() as u8);
        out.extend_from_slice(seat);
        out
    }

    /// Reads the signed part of a version 1 code (`bytes` without signature).
    fn from_bytes(bytes: &[u8]) -> Result<Self, CodeError> {
        if bytes.len() < HEADER_BYTES {
            return Err(CodeError::Malformed);
        }
        let (header, seat) = bytes.split_at(HEADER_BYTES);
        let seat_len = usize::from(header[HEADER_BYTES - 1]);
        if seat_len != seat.len() || seat_len > MAX_SEAT_BYTES {
            return Err(CodeError::Malformed);
        }
        let seat = match seat_len {
            0 => None,
            _ => {
                let s = std::str::from_utf8(seat).map_err(|_| CodeError::Malformed)?;
                // Only what `new` would accept: one code text, one reading.
                if !valid_seat(s) || s.trim() != s {
                    return Err(CodeError::Malformed);
                }
                Some(s.to_owned())
            }
        };
        let mut ticket = [0; ID_BYTES];
        let mut event = [0; ID_BYTES];
        let mut tier = [0; TAG_BYTES];
        let mut attendee = [0; DIGEST_BYTES];
        let mut at = 1;
        for field in [
            &mut ticket[..],
            &mut event[..],
            &mut tier[..],
            &mut attendee[..],
        ] {
            field.copy_from_slice(&header[at..at + field.len()]);
            at += field.len();
        }
        Ok(Self {
            ticket,
            event,
            tier: TierTag(tier),
            attendee,
            seat,
        })
    }
}

/// Signs a ticket's payload with its event's key: the code to put in the QR.
pub fn sign(payload: &TicketPayload, key: &EventSigningKey) -> String {
    let mut bytes = payload.to_bytes();
    let signature = key.0.sign(&bytes);
    bytes.extend_from_slice(&signature.to_bytes());
    let mut text = String::with_capacity(CODE_PREFIX.len() + base45_len(bytes.len()));
    text.push_str(CODE_PREFIX);
    base45_encode(&bytes, &mut text);
    text
}

/// A ticket code that is well formed, but not yet checked against a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketCode {
    payload: TicketPayload,
    signed: Vec<u8>,
    signature: [u8; SIGNATURE_BYTES],
}

impl TicketCode {
    /// Reads a code as scanned or pasted (surrounding whitespace is ignored).
    /// Never panics; input longer than any code is refused before decoding.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        if text.len() > MAX_INPUT_BYTES {
            return Err(CodeError::TooLong);
        }
        let text = text.trim();
        if text.len() > MAX_CODE_CHARS {
            return Err(CodeError::TooLong);
        }
        let body = text.strip_prefix(CODE_PREFIX).ok_or(CodeError::Malformed)?;
        let mut bytes = base45_decode(body).ok_or(CodeError::Malformed)?;
        match bytes.first() {
            None => return Err(CodeError::Malformed),
            Some(&VERSION) => {}
            Some(&other) => return Err(CodeError::UnknownVersion(other)),
        }
        if bytes.len() < HEADER_BYTES + SIGNATURE_BYTES {
            return Err(CodeError::Malformed);
        }
        let signature: [u8; SIGNATURE_BYTES] = bytes[bytes.len() - SIGNATURE_BYTES..]
            .try_into()
            .map_err(|_| CodeError::Malformed)?;
        bytes.truncate(bytes.len() - SIGNATURE_BYTES);
        let payload = TicketPayload::from_bytes(&bytes)?;
        Ok(Self {
            payload,
            signed: bytes,
            signature,
        })
    }

    /// The event the code claims to be for, to choose the key to verify it
    /// with (not yet proven: see [`TicketCode::verify`]).
    pub fn event_id(&self) -> EventId {
        EventId::from_string(uuid_text(&self.payload.event))
    }

    /// Checks the signature with the event's public key.
    pub fn verify(&self, key: &EventPublicKey) -> Result<VerifiedTicket, CodeError> {
        let signature = Signature::from_bytes(&self.signature);
        // Strict: refuses malleable signatures and weak keys, so one ticket has
        // exactly one valid code.
        key.0
            .verify_strict(&self.signed, &signature)
            .map_err(|_| CodeError::BadSignature)?;
        Ok(VerifiedTicket {
            payload: self.payload.clone(),
            reference: self.reference(),
        })
    }

    /// What a scanner for `event` does: refuses a code for another event
    /// ([`CodeError::WrongEvent`], the clearer answer at a door), then checks
    /// the signature with that event's key.
    pub fn verify_for_event(
        &self,
        event: &EventId,
        key: &EventPublicKey,
    ) -> Result<VerifiedTicket, CodeError> {
        if uuid_bytes(event.as_str()) != Some(self.payload.event) {
            return Err(CodeError::WrongEvent);
        }
        self.verify(key)
    }

    /// The short reference printed beside the QR code, for typing by hand.
    pub fn reference(&self) -> TicketReference {
        let hash = Sha256::new()
            .chain_update(b"admit:reference:v1")
            .chain_update(&self.signed)
            .chain_update(self.signature)
            .finalize();
        let bits = u64::from_be_bytes(hash[..8].try_into().expect("8 bytes"));
        TicketReference::from_bits(bits >> (64 - 5 * REFERENCE_CHARS))
    }
}

impl fmt::Display for TicketCode {
    /// The code's canonical text (what [`sign`] wrote).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = self.signed.clone();
        bytes.extend_from_slice(&self.signature);
        let mut text = String::with_capacity(CODE_PREFIX.len() + base45_len(bytes.len()));
        text.push_str(CODE_PREFIX);
        base45_encode(&bytes, &mut text);
        f.write_str(&text)
    }
}

/// A ticket whose code carries a valid signature of its event's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTicket {
    payload: TicketPayload,
    reference: TicketReference,
}

impl VerifiedTicket {
    /// The ticket id, as UUID text.
    pub fn ticket_id(&self) -> String {
        uuid_text(&self.payload.ticket)
    }
    /// The event.
    pub fn event_id(&self) -> EventId {
        EventId::from_string(uuid_text(&self.payload.event))
    }
    /// The tier's tag.
    pub fn tier(&self) -> TierTag {
        self.payload.tier
    }
    /// Whether the ticket is of `tier`.
    pub fn is_tier(&self, tier: &TierId) -> bool {
        self.payload.tier == TierTag::of(tier)
    }
    /// The seat label, for seated tickets.
    pub fn seat(&self) -> Option<&str> {
        self.payload.seat.as_deref()
    }
    /// Whether `name` (as typed at the door) is the attendee's name, up to
    /// case, Latin accents, spaces and punctuation.
    pub fn attendee_matches(&self, name: &str) -> bool {
        attendee_digest(&self.payload.ticket, name) == self.payload.attendee
    }
    /// The short reference of the code.
    pub fn reference(&self) -> &TicketReference {
        &self.reference
    }
}

/// How many Crockford base32 characters a reference has (50 bits).
const REFERENCE_CHARS: u32 = 10;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The short reference of a ticket code: 10 characters of Crockford base32,
/// shown as `XXXXX-XXXXX`, typed by door staff when a QR code cannot be
/// scanned. It is derived from the whole signed code, so it cannot be guessed
/// from other tickets; 50 bits keep references of one event apart (a
/// collision among 100,000 tickets is about a 1 in 200,000 chance).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TicketReference(String);

impl TicketReference {
    fn from_bits(bits: u64) -> Self {
        let mut s = String::with_capacity(REFERENCE_CHARS as usize + 1);
        for i in (0..REFERENCE_CHARS).rev() {
            s.push(char::from(CROCKFORD[((bits >> (5 * i)) & 31) as usize]));
            if i == REFERENCE_CHARS / 2 {
                s.push('-');
            }
        }
        Self(s)
    }

    /// Reads a reference as typed: case, spaces and dashes do not matter,
    /// and the look-alikes O, I and L are read as 0, 1 and 1.
    pub fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 40 {
            return None;
        }
        let mut bits = 0u64;
        let mut count = 0;
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            let value = CROCKFORD.iter().position(|&d| char::from(d) == c)?;
            count += 1;
            if count > REFERENCE_CHARS {
                return None;
            }
            bits = (bits << 5) | value as u64;
        }
        (count == REFERENCE_CHARS).then(|| Self::from_bits(bits))
    }

    /// The canonical text, e.g. `K7F3Q-9XWM2`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn valid_seat(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_SEAT_BYTES && !s.chars().any(char::is_control)
}

fn attendee_digest(ticket: &[u8; ID_BYTES], name: &str) -> [u8; DIGEST_BYTES] {
    let hash = Sha256::new()
        .chain_update(b"admit:attendee:v1")
        .chain_update(ticket)
        .chain_update(normalize_name(name).as_bytes())
        .finalize();
    let mut digest = [0; DIGEST_BYTES];
    digest.copy_from_slice(&hash[..DIGEST_BYTES]);
    digest
}

/// Base letters of U+00C0..=U+024F and U+1E00..=U+1EFF, from each
/// character's Unicode canonical decomposition (Python's `unicodedata`,
/// Unicode 14). `.` keeps the character, `#` is one of [`fold_special`].
/// Frozen: issued codes' attendee digests depend on it.
const FOLD_LATIN: &str = "aaaaaa#ceeeeiiii#nooooo.#uuuuy##aaaaaa#ceeeeiiii#nooooo.#uuuuy#yaaaaaaccccccccdd##eeeeeeeeeegggggggghh##iiiiiiiii###jjkk#llllll####nnnnnn###oooooo##rrrrrrsssssssstttt##uuuuuuuuuuuuwwyyyzzzzzz#................................oo.............uu............................aaiioouuuuuuuuuu.aaaa....ggkkoooo..j...gg..nnaa....aaaaeeeeiiiioooorrrruuuusstt..hh......aaeeooooooooyy............................";
const FOLD_LATIN_ADDITIONAL: &str = "aabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzzzzhtwy....#.aaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyy......";

/// Letters without a decomposition that still have a customary Latin spelling.
fn fold_special(c: char) -> Option<&'static str> {
    Some(match c {
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ß' | 'ẞ' => "ss",
        'þ' | 'Þ' => "th",
        'ð' | 'Ð' | 'đ' | 'Đ' => "d",
        'ø' | 'Ø' => "o",
        'ł' | 'Ł' | 'ŀ' | 'Ŀ' => "l",
        'ħ' | 'Ħ' => "h",
        'ŧ' | 'Ŧ' => "t",
        'ı' => "i",
        'ĸ' => "k",
        'ŋ' | 'Ŋ' | 'ŉ' => "n",
        'ſ' => "s",
        'ĳ' | 'Ĳ' => "ij",
        _ => return None,
    })
}

/// The attendee name as the digest sees it (see the module docs).
fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let cp = c as usize;
        let table = match cp {
            0xC0..=0x24F => FOLD_LATIN.as_bytes().get(cp - 0xC0),
            0x1E00..=0x1EFF => FOLD_LATIN_ADDITIONAL.as_bytes().get(cp - 0x1E00),
            _ => None,
        };
        match table {
            Some(b'#') => out.push_str(fold_special(c).unwrap_or("")),
            Some(&b) if b.is_ascii_lowercase() => out.push(char::from(b)),
            _ if c.is_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The 16 bytes of a lower-case hyphenated UUID (as `uuid` writes them).
fn uuid_bytes(text: &str) -> Option<[u8; ID_BYTES]> {
    let b = text.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; ID_BYTES];
    let mut digits = b.iter().copied().filter(|&c| c != b'-');
    for byte in &mut out {
        *byte = (nibble(digits.next()?)? << 4) | nibble(digits.next()?)?;
    }
    Some(out)
}

fn uuid_text(bytes: &[u8; ID_BYTES]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// RFC 9285's alphabet: the QR code alphanumeric characters.
const BASE45: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

const fn base45_len(bytes: usize) -> usize {
    bytes / 2 * 3 + bytes % 2 * 2
}

fn base45_encode(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(2) {
        let (mut n, digits) = match *chunk {
            [a, b] => (usize::from(a) * 256 + usize::from(b), 3),
            [a] => (usize::from(a), 2),
            _ => unreachable!("chunks(2) yields one or two bytes"),
        };
        for _ in 0..digits {
            out.push(char::from(BASE45[n % 45]));
            n /= 45;
        }
    }
}

/// Decodes base45; `None` for a character outside the alphabet, a dangling
/// character, or a group that is not the canonical encoding of its bytes.
fn base45_decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| BASE45.iter().position(|&d| d == c);
    let mut out = Vec::with_capacity(text.len() / 3 * 2 + 1);
    for group in text.as_bytes().chunks(3) {
        let mut n = 0usize;
        for &c in group.iter().rev() {
            n = n * 45 + digit(c)?;
        }
        match group.len() {
            3 if n <= 0xFFFF => out.extend_from_slice(&[(n >> 8) as u8, n as u8]),
            2 if n <= 0xFF => out.push(n as u8),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> EventSigningKey {
        EventSigningKey::from_bytes(&[seed; 32])
    }

    fn uuid(bytes: [u8; 16]) -> String {
        uuid_text(&bytes)
    }

    const TICKET: &str = "0192f3a4-5b6c-7d8e-9f00-112233445566";
    const EVENT: &str = "0192f3a4-0000-7abc-8def-0123456789ab";

    fn payload(seat: Option<&str>, name: &str) -> TicketPayload {
        TicketPayload::new(
            TICKET,
            &EventId::from_string(EVENT),
            &TierId::from_string("0192f3a4-1111-7abc-8def-0123456789ab"),
            seat,
            name,
        )
        .expect("valid payload")
    }

    #[test]
    fn an_issued_code_reads_back_every_field() {
        let k = key(7);
        let code = sign(&payload(Some("Balcony A12"), "Zoë Nguyễn"), &k);
        assert!(code.starts_with(CODE_PREFIX));
        let parsed = TicketCode::parse(&code).unwrap();
        assert_eq!(parsed.event_id().as_str(), EVENT);
        let ticket = parsed.verify(&k.public_key()).unwrap();
        assert_eq!(ticket.ticket_id(), TICKET);
        assert_eq!(ticket.event_id().as_str(), EVENT);
        assert_eq!(ticket.seat(), Some("Balcony A12"));
        assert!(ticket.is_tier(&TierId::from_string("0192f3a4-1111-7abc-8def-0123456789ab")));
        assert!(!ticket.is_tier(&TierId::from_string("0192f3a4-2222-7abc-8def-0123456789ab")));
        assert_eq!(parsed.to_string(), code);
        assert_eq!(ticket.reference(), &parsed.reference());
    }

    #[test]
    fn a_code_without_seat_is_165_characters_and_one_with_a_full_seat_stays_bounded() {
        let k = key(1);
        assert_eq!(sign(&payload(None, "Dwi Ayu Lestari"), &k).len(), 165);
        let longest = sign(&payload(Some(&"S".repeat(MAX_SEAT_BYTES)), "x"), &k);
        assert_eq!(longest.len(), MAX_CODE_CHARS);
        assert!(TicketCode::parse(&longest).is_ok());
    }

    #[test]
    fn door_staff_can_check_a_name_typed_without_accents_or_case() {
        let k = key(2);
        let code = sign(&payload(None, "Zoë Nguyễn"), &k);
        let ticket = TicketCode::parse(&code)
            .unwrap()
            .verify(&k.public_key())
            .unwrap();
        for typed in ["Zoë Nguyễn", "ZOE NGUYEN", "zoe-nguyen", " Zoe  Nguyen "] {
            assert!(ticket.attendee_matches(typed), "{typed:?} should match");
        }
        // The decomposed spelling (e + U+0308, e + U+0302 + U+0303) matches too.
        assert!(ticket.attendee_matches("Zoe\u{308} Nguye\u{302}\u{303}n"));
        assert!(!ticket.attendee_matches("Dwi Ayu Lestari"));
        assert!(!ticket.attendee_matches("Zoe Nguyen Tran"));
    }

    #[test]
    fn name_normalization_folds_latin_and_keeps_other_scripts() {
        // One table entry per code point of each block.
        assert_eq!(FOLD_LATIN.len(), 0x24F - 0xC0 + 1);
        assert_eq!(FOLD_LATIN_ADDITIONAL.len(), 0x100);
        assert_eq!(normalize_name("Zoë Nguyễn"), "zoenguyen");
        assert_eq!(normalize_name("Dwi Ayu Lestari"), "dwiayulestari");
        assert_eq!(normalize_name("Straße Ærø"), "strasseaero");
        assert_eq!(normalize_name("Łukasz Żółć"), "lukaszzolc");
        assert_eq!(normalize_name("Phạm Thị Hương"), "phamthihuong");
        assert_eq!(normalize_name("Ştefan Ţurcanu"), "stefanturcanu");
        assert_eq!(normalize_name("田中 太郎"), "田中太郎");
        assert_eq!(normalize_name("İbrahim"), "ibrahim");
    }

    #[test]
    fn attendee_digests_are_frozen_for_issued_codes() {
        // If this fails, the name normalization or digest changed, and codes
        // already issued would no longer match their attendees. The values
        // were computed independently (Python's hashlib over the documented
        // layout: label, the ticket id's 16 bytes, "zoenguyen").
        let ticket = uuid_bytes(TICKET).unwrap();
        assert_eq!(
            attendee_digest(&ticket, "Zoë Nguyễn"),
            [0xc7, 0xb4, 0x8b, 0xc7]
        );
        assert_eq!(
            TierTag::of(&TierId::from_string("0192f3a4-1111-7abc-8def-0123456789ab")).to_string(),
            "3078b448"
        );
    }

    #[test]
    fn a_code_is_refused_at_a_door_of_another_event() {
        let k = key(3);
        let code = TicketCode::parse(&sign(&payload(None, "A"), &k)).unwrap();
        let other = EventId::from_string("0192f3a4-0000-7abc-8def-ffffffffffff");
        assert_eq!(
            code.verify_for_event(&other, &k.public_key()),
            Err(CodeError::WrongEvent)
        );
        assert!(
            code.verify_for_event(&EventId::from_string(EVENT), &k.public_key())
                .is_ok()
        );
        assert_eq!(
            code.verify(&key(4).public_key()),
            Err(CodeError::BadSignature)
        );
    }

    #[test]
    fn unknown_versions_and_foreign_texts_are_told_apart() {
        let k = key(5);
        let code = sign(&payload(None, "A"), &k);
        let mut bytes = base45_decode(&code[CODE_PREFIX.len()..]).unwrap();
        bytes[0] = 2;
        let mut v2 = CODE_PREFIX.to_owned();
        base45_encode(&bytes, &mut v2);
        assert_eq!(TicketCode::parse(&v2), Err(CodeError::UnknownVersion(2)));
        assert_eq!(
            TicketCode::parse("HC1:NCFOXN%TS3DH"),
            Err(CodeError::Malformed)
        );
        assert_eq!(
            TicketCode::parse("https://example.com/"),
            Err(CodeError::Malformed)
        );
        assert_eq!(TicketCode::parse(""), Err(CodeError::Malformed));
        assert_eq!(TicketCode::parse(CODE_PREFIX), Err(CodeError::Malformed));
        assert_eq!(
            TicketCode::parse(&format!("{code}{}", "0".repeat(MAX_CODE_CHARS))),
            Err(CodeError::TooLong)
        );
        // A scanner's trailing newline is fine.
        assert!(TicketCode::parse(&format!("{code}\n")).is_ok());
    }

    #[test]
    fn payloads_refuse_ids_that_are_not_uuids_and_bad_seats() {
        let event = EventId::from_string(EVENT);
        let tier = TierId::from_string("t");
        assert!(matches!(
            TicketPayload::new("ticket-1", &event, &tier, None, "A"),
            Err(PayloadError::TicketId(_))
        ));
        assert!(matches!(
            TicketPayload::new(&TICKET.to_uppercase(), &event, &tier, None, "A"),
            Err(PayloadError::TicketId(_))
        ));
        assert!(matches!(
            TicketPayload::new(TICKET, &EventId::from_string("e1"), &tier, None, "A"),
            Err(PayloadError::EventId(_))
        ));
        let too_long = "x".repeat(MAX_SEAT_BYTES + 1);
        for seat in [too_long.as_str(), "A\n12"] {
            assert_eq!(
                TicketPayload::new(TICKET, &event, &tier, Some(seat), "A"),
                Err(PayloadError::Seat)
            );
        }
        let blank = TicketPayload::new(TICKET, &event, &tier, Some("  "), "A").unwrap();
        assert_eq!(blank.seat, None);
    }

    #[test]
    fn public_keys_round_trip_through_their_text_form() {
        let public = key(9).public_key();
        let text = public.to_string();
        assert_eq!(text.len(), 43);
        assert_eq!(EventPublicKey::parse(&text), Ok(public));
        assert_eq!(EventPublicKey::parse(&text[1..]), Err(KeyError));
        assert_eq!(EventPublicKey::parse(&format!("{text}A")), Err(KeyError));
        assert_eq!(
            EventPublicKey::parse("!".repeat(43).as_str()),
            Err(KeyError)
        );
        assert!(!format!("{:?}", key(9)).contains(&format!("{:?}", [9u8; 32])));
    }

    #[test]
    fn references_read_back_from_sloppy_typing() {
        let code = TicketCode::parse(&sign(&payload(None, "A"), &key(6))).unwrap();
        let reference = code.reference();
        assert_eq!(reference.as_str().len(), 11);
        assert_eq!(&reference.as_str()[5..6], "-");
        let sloppy = reference
            .as_str()
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(TicketReference::parse(&sloppy), Some(reference.clone()));
        assert_eq!(TicketReference::parse("ABCDE-FGHJ"), None);
        assert_eq!(TicketReference::parse("ABCDE-FGHJKM"), None);
        assert_eq!(TicketReference::parse("ABCDE-FGHJU"), None);
    }

    #[test]
    fn base45_matches_the_rfc_examples() {
        let enc = |b: &[u8]| {
            let mut s = String::new();
            base45_encode(b, &mut s);
            s
        };
        assert_eq!(enc(b"AB"), "BB8");
        assert_eq!(enc(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(enc(b"base-45"), "UJCLQE7W581");
        assert_eq!(base45_decode("QED8WEX0").as_deref(), Some(&b"ietf!"[..]));
        assert_eq!(base45_decode("GGW"), None, "65536 is not two bytes");
        assert_eq!(base45_decode("A"), None);
        assert_eq!(base45_decode("aa"), None);
    }

    fn arb_seat() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(
            "[A-Za-z0-9 ÀÉÎõü-]{1,16}".prop_filter_map("trimmed, short", |s| {
                let s = s.trim().to_owned();
                (!s.is_empty() && s.len() <= MAX_SEAT_BYTES).then_some(s)
            }),
        )
    }

    prop_compose! {
        fn arb_ticket()(
            ticket in any::<[u8; 16]>(),
            event in any::<[u8; 16]>(),
            tier in "[a-z0-9-]{1,40}",
            seat in arb_seat(),
            name in "\\PC{0,40}",
            secret in any::<[u8; 32]>(),
        ) -> (TicketPayload, String, EventSigningKey) {
            let event_id = EventId::from_string(uuid(event));
            let payload = TicketPayload::new(&uuid(ticket), &event_id, &TierId::from_string(tier), seat.as_deref(), &name)
                .expect("generated payloads are valid");
            (payload, name, EventSigningKey::from_bytes(&secret))
        }
    }

    fn reencode(bytes: &[u8]) -> String {
        let mut s = CODE_PREFIX.to_owned();
        base45_encode(bytes, &mut s);
        s
    }

    proptest! {
        #[test]
        fn every_issued_code_verifies_and_round_trips((payload, name, key) in arb_ticket()) {
            let code = sign(&payload, &key);
            prop_assert!(code.len() <= MAX_CODE_CHARS);
            let parsed = TicketCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.to_string(), code.clone());
            let ticket = parsed.verify_for_event(&parsed.event_id(), &key.public_key()).unwrap();
            prop_assert_eq!(&ticket.payload, &payload);
            prop_assert!(ticket.attendee_matches(&name));
            prop_assert_eq!(sign(&payload, &key), code, "signing is deterministic");
        }

        #[test]
        fn a_flipped_bit_never_verifies((payload, _name, key) in arb_ticket(), bit in any::<prop::sample::Index>()) {
            let code = sign(&payload, &key);
            let mut bytes = base45_decode(&code[CODE_PREFIX.len()..]).unwrap();
            let bit = bit.index(bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            if let Ok(parsed) = TicketCode::parse(&reencode(&bytes)) {
                prop_assert_eq!(parsed.verify(&key.public_key()), Err(CodeError::BadSignature));
            }
        }

        #[test]
        fn a_changed_character_never_verifies((payload, _name, key) in arb_ticket(), at in any::<prop::sample::Index>(), with in 0usize..45) {
            let code = sign(&payload, &key);
            let at = CODE_PREFIX.len() + at.index(code.len() - CODE_PREFIX.len());
            let mut text = code.clone().into_bytes();
            prop_assume!(text[at] != BASE45[with]);
            text[at] = BASE45[with];
            let text = String::from_utf8(text).unwrap();
            if let Ok(parsed) = TicketCode::parse(&text) {
                prop_assert!(parsed.verify(&key.public_key()).is_err());
            }
        }

        #[test]
        fn a_truncated_code_never_verifies((payload, _name, key) in arb_ticket(), cut in any::<prop::sample::Index>()) {
            let code = sign(&payload, &key);
            let cut = cut.index(code.len());
            if let Ok(parsed) = TicketCode::parse(&code[..cut]) {
                prop_assert!(parsed.verify(&key.public_key()).is_err());
            }
        }

        #[test]
        fn another_events_key_never_verifies((payload, _name, key) in arb_ticket(), other in any::<[u8; 32]>()) {
            let other = EventSigningKey::from_bytes(&other);
            prop_assume!(other.public_key() != key.public_key());
            let parsed = TicketCode::parse(&sign(&payload, &key)).unwrap();
            prop_assert_eq!(parsed.verify(&other.public_key()), Err(CodeError::BadSignature));
        }

        #[test]
        fn any_text_parses_without_panic(text in "\\PC{0,400}") {
            let result = TicketCode::parse(&text);
            if text.len() > MAX_INPUT_BYTES {
                prop_assert_eq!(result, Err(CodeError::TooLong));
            }
        }

        #[test]
        fn any_prefixed_bytes_parse_without_panic_and_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..200), first in 0u8..3, secret in any::<[u8; 32]>()) {
            let mut bytes = bytes;
            if let Some(b) = bytes.first_mut() { *b = first; }
            let key = EventSigningKey::from_bytes(&secret);
            if let Ok(parsed) = TicketCode::parse(&reencode(&bytes)) {
                prop_assert!(parsed.verify(&key.public_key()).is_err());
            }
        }

        #[test]
        fn oversized_input_is_refused_before_decoding(extra in 1usize..10_000) {
            let text = format!("{CODE_PREFIX}{}", "0".repeat(MAX_CODE_CHARS + extra));
            prop_assert_eq!(TicketCode::parse(&text), Err(CodeError::TooLong));
        }

        #[test]
        fn typed_references_parse_back_to_themselves(bits in 0u64..(1 << 50)) {
            let reference = TicketReference::from_bits(bits);
            prop_assert_eq!(TicketReference::parse(reference.as_str()), Some(reference.clone()));
        }
    }
}
