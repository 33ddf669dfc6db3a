//! Per-event ticket signing keys, sealed under the instance master key.
//!
//! Each event signs its ticket codes with its own Ed25519 key. The private
//! half is stored only sealed: XChaCha20-Poly1305 under a 256-bit key derived
//! from `ADMIT_MASTER_KEY` with HKDF-SHA256, a random 24-byte nonce per seal,
//! and the event id as associated data, so a sealed key copied onto another
//! event's row does not open.
//!
//! Sealed text: `ek1.<master key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
//! `ek1` names this format (the next one gets `ek2`); the master key id (8 hex
//! digits derived from the master key, not secret) says which master key
//! sealed it, so after the master key is rotated a key sealed under the old one
//! is reported as such ([`SealError::OtherMasterKey`]) and can be unsealed with
//! the old [`MasterKey`] and sealed again with the new one.

use std::fmt;

use base64::Engine as _;
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::{
    config::Secret,
    domain::{
        EventId,
        ticket_code::{EventPublicKey, EventSigningKey},
    },
};

const FORMAT: &str = "ek1";
const NONCE_BYTES: usize = 24;
/// The secret key (32 bytes) and the Poly1305 tag (16 bytes).
const SEALED_BYTES: usize = 32 + 16;

/// Why a sealed event key did not open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not a sealed key of a format this build knows.
    #[error("the sealed event key is malformed or of an unknown format")]
    Malformed,
    /// Sealed under another master key (e.g. before a rotation).
    #[error("the event key was sealed under another master key ({0})")]
    OtherMasterKey(String),
    /// The ciphertext, the nonce or the event does not match: tampered with,
    /// or copied from another event.
    #[error("the sealed event key does not open: altered, or sealed for another event")]
    Tampered,
}

/// The key that seals event keys, derived from the master key secret.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl MasterKey {
    /// Derives the sealing key from `ADMIT_MASTER_KEY` (any text; in
    /// development, 64 random bytes in base64).
    pub fn derive(secret: &Secret) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"admit:master-key"), secret.expose().as_bytes());
        let mut key = [0; 32];
        let mut id = [0; 4];
        // 32 and 4 bytes are far below HKDF-SHA256's limit of 8160.
        hkdf.expand(b"admit:event-key-sealing:v1", &mut key)
            .expect("32 bytes is a valid HKDF length");
        hkdf.expand(b"admit:master-key-id:v1", &mut id)
            .expect("4 bytes is a valid HKDF length");
        Self {
            key,
            id: hex::encode(id),
        }
    }

    /// The non-secret id written into every key this master key seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id {})", self.id)
    }
}

/// A freshly generated event key: the public half to publish, the private
/// half sealed for storage.
#[derive(Clone, Debug)]
pub struct NewEventKey {
    /// Verifies the event's ticket codes; give it to scanners.
    pub public_key: EventPublicKey,
    /// The private key sealed under the master key, to store with the event.
    pub sealed: String,
}

/// Generates a new signing key for `event` from the operating system's random
/// source and seals it.
pub fn generate_event_key(master: &MasterKey, event: &EventId) -> NewEventKey {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let key = EventSigningKey::from_bytes(&secret);
    secret.fill(0);
    NewEventKey {
        public_key: key.public_key(),
        sealed: seal_event_key(master, event, &key),
    }
}

/// Seals an event's signing key (with a fresh random nonce).
pub fn seal_event_key(master: &MasterKey, event: &EventId, key: &EventSigningKey) -> String {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::fill(&mut nonce);
    let mut secret = key.to_bytes();
    let ciphertext = master
        .cipher()
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &secret,
                aad: &associated_data(event),
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any 32-byte message");
    secret.fill(0);
    let mut blob = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ciphertext);
    format!(
        "{FORMAT}.{}.{}",
        master.id,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(blob)
    )
}

/// Opens a sealed key of `event`.
pub fn unseal_event_key(
    master: &MasterKey,
    event: &EventId,
    sealed: &str,
) -> Result<EventSigningKey, SealError> {
    let mut parts = sealed.trim().splitn(3, '.');
    let (Some(FORMAT), Some(id), Some(blob)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SealError::Malformed);
    };
    if id != master.id {
        return Err(SealError::OtherMasterKey(id.chars().take(16).collect()));
    }
    let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(blob)
        .map_err(|_| SealError::Malformed)?;
    if blob.len() != NONCE_BYTES + SEALED_BYTES {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Malformed)?;
    let mut secret = master
        .cipher()
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: &associated_data(event),
            },
        )
        .map_err(|_| SealError::Tampered)?;
    let bytes: [u8; 32] = secret
        .as_slice()
        .try_into()
        .map_err(|_| SealError::Malformed)?;
    secret.fill(0);
    Ok(EventSigningKey::from_bytes(&bytes))
}

fn associated_data(event: &EventId) -> Vec<u8> {
    [b"admit:event-key:v1:".as_slice(), event.as_str().as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TierId, ticket_code};

    fn master(s: &str) -> MasterKey {
        MasterKey::derive(&Secret::new(s))
    }

    const EVENT: &str = "0192f3a4-0000-7abc-8def-0123456789ab";

    #[test]
    fn a_generated_key_unseals_and_signs_codes_its_public_key_verifies() {
        let m = master("correct horse battery staple");
        let event = EventId::from_string(EVENT);
        let new = generate_event_key(&m, &event);
        assert!(new.sealed.starts_with(&format!("ek1.{}.", m.id())));
        let key = unseal_event_key(&m, &event, &new.sealed).unwrap();
        assert_eq!(key.public_key(), new.public_key);

        let payload = ticket_code::TicketPayload::new(
            "0192f3a4-5b6c-7d8e-9f00-112233445566",
            &event,
            &TierId::from_string("vip"),
            None,
            "Dwi Ayu Lestari",
        )
        .unwrap();
        let code = ticket_code::sign(&payload, &key);
        let parsed = ticket_code::TicketCode::parse(&code).unwrap();
        assert!(parsed.verify(&new.public_key).is_ok());
    }

    #[test]
    fn sealing_twice_uses_fresh_nonces() {
        let m = master("k");
        let event = EventId::from_string(EVENT);
        let key = EventSigningKey::from_bytes(&[3; 32]);
        let a = seal_event_key(&m, &event, &key);
        let b = seal_event_key(&m, &event, &key);
        assert_ne!(a, b);
        assert_eq!(
            unseal_event_key(&m, &event, &a).unwrap().to_bytes(),
            [3; 32]
        );
        assert_eq!(
            unseal_event_key(&m, &event, &b).unwrap().to_bytes(),
            [3; 32]
        );
    }

    #[test]
    fn a_tampered_blob_does_not_open() {
        let m = master("k");
        let event = EventId::from_string(EVENT);
        let sealed = generate_event_key(&m, &event).sealed;
        let (head, blob) = sealed.rsplit_once('.').unwrap();
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(blob)
            .unwrap();
        for i in [0, NONCE_BYTES, bytes.len() - 1] {
            bytes[i] ^= 0x01;
            let altered = format!(
                "{head}.{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes)
            );
            assert_eq!(
                unseal_event_key(&m, &event, &altered).map(|_| ()),
                Err(SealError::Tampered),
                "byte {i}"
            );
            bytes[i] ^= 0x01;
        }
        for malformed in [
            "",
            "ek1",
            "ek2.x.y",
            &format!("{head}.!!!"),
            &format!("{head}.{}", &blob[..blob.len() - 4]),
        ] {
            assert_eq!(
                unseal_event_key(&m, &event, malformed).map(|_| ()),
                Err(SealError::Malformed),
                "{malformed:?}"
            );
        }
    }

    #[test]
    fn a_key_sealed_for_another_event_does_not_open() {
        let m = master("k");
        let sealed = generate_event_key(&m, &EventId::from_string(EVENT)).sealed;
        let other = EventId::from_string("0192f3a4-0000-7abc-8def-ffffffffffff");
        assert_eq!(
            unseal_event_key(&m, &other, &sealed).map(|_| ()),
            Err(SealError::Tampered)
        );
    }

    #[test]
    fn another_master_key_is_named_and_the_old_one_still_opens_for_resealing() {
        let old = master("old secret");
        let new = master("new secret");
        assert_ne!(old.id(), new.id());
        let event = EventId::from_string(EVENT);
        let sealed = generate_event_key(&old, &event).sealed;
        assert_eq!(
            unseal_event_key(&new, &event, &sealed).map(|_| ()),
            Err(SealError::OtherMasterKey(old.id().to_owned()))
        );
        let key = unseal_event_key(&old, &event, &sealed).unwrap();
        let resealed = seal_event_key(&new, &event, &key);
        assert_eq!(
            unseal_event_key(&new, &event, &resealed)
                .unwrap()
                .to_bytes(),
            key.to_bytes()
        );
        // Even with a forged id, a different master key cannot open it.
        let forged = sealed.replacen(old.id(), new.id(), 1);
        assert_eq!(
            unseal_event_key(&new, &event, &forged).map(|_| ()),
            Err(SealError::Tampered)
        );
    }

    #[test]
    fn the_master_key_is_derived_with_hkdf_sha256() {
        // RFC 5869 test case 3 (no salt, no info) pins the HKDF in use; the
        // master key itself uses a salt and labels, so also pin its id.
        let hkdf = Hkdf::<Sha256>::new(None, &[0x0b; 22]);
        let mut okm = [0u8; 42];
        hkdf.expand(&[], &mut okm).unwrap();
        assert_eq!(
            hex::encode(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        );
        assert_eq!(master("k").id(), master("k").id());
        assert!(!format!("{:?}", master("k")).contains("key: "));
    }
}
