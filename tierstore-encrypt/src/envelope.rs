//! The envelope: how one value is stored. Frozen by known-answer tests (`tests/vectors.rs`):
//! a change that would stop old backups from opening fails them.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "TSEv"
//!      4     1  format version (1)
//!      5     1  algorithm id (1 = XChaCha20-Poly1305)
//!      6     1  flags (bit 0: the real names are inside, see below; other bits must be 0)
//!      7     4  key id (big endian), see [`KeyId`]
//!     11    24  nonce, random per write
//!     35     n  ciphertext of the payload
//!   35+n    16  Poly1305 tag
//!
//! payload = write stamp (u64, big endian)
//!           [names: u8 len + primary, u8 len + secondary, u8 len + key]   if flag bit 0
//!           value
//!
//! AAD = "tierstore-encrypt/v1" || header (bytes 0..35) || store id (16 bytes)
//!       || u8 len + primary || u8 len + secondary || u8 len + key     (the names as stored)
//! ```
//!
//! - **Allow-listed, never negotiated.** A reader accepts exactly one version and one
//!   algorithm; anything else is refused before any key is tried. The header is also in the
//!   AAD, so a header edited to name another key id or flag fails authentication.
//! - **Bound to its place.** The AAD holds the store id and the names the value is stored
//!   under (the plaintext names with clear names; their deterministic, injective encoding
//!   with obfuscated names), so a value copied to another key, namespace or store fails.
//! - **The write stamp** is encrypted: strictly increasing across the writes of one process
//!   and across restarts while the clock does not go back (see [`crate::Encrypted`]), so of two
//!   genuine values of one key the newer has the larger stamp.
//! - **Names inside.** A name too long for the deterministic encoding is stored as a keyed
//!   hash (see [`crate::NameMode`]); its envelope then carries the real names, which the
//!   reader checks against the hash.

use std::fmt;

use tierstore_core::Key;

use crate::keys::{KeyId, Keyring, RootKey, ValueKey};

/// The first four bytes of every envelope.
pub const MAGIC: [u8; 4] = *b"TSEv";
/// The only format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// The only algorithm this crate writes and reads: XChaCha20-Poly1305.
pub const ALG_XCHACHA20_POLY1305: u8 = 1;
/// Flag bit: the payload carries the real names (a name stored as a keyed hash).
pub const FLAG_NAMES_INSIDE: u8 = 1;
/// Length of the header: magic, version, algorithm, flags, key id, nonce.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 1 + 4 + NONCE_LEN;
/// Length of the random nonce.
pub const NONCE_LEN: usize = 24;
/// Length of the authentication tag.
pub const TAG_LEN: usize = 16;
/// Bytes an envelope adds to a value (with names outside): header, write stamp, tag.
pub const OVERHEAD: usize = HEADER_LEN + 8 + TAG_LEN;

const AAD_DOMAIN: &[u8] = b"tierstore-encrypt/v1";

/// Why an envelope did not open. Never shows key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Shorter than the smallest envelope.
    #[error(
        "stored value is {len} bytes, shorter than the {min}-byte minimum of an envelope (truncated, or not encrypted)"
    )]
    TooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The magic bytes are wrong.
    #[error("stored value is not an encrypted envelope (bad magic bytes)")]
    BadMagic,
    /// A format version this crate does not read.
    #[error("envelope format version {0} is not supported (only {VERSION})")]
    UnsupportedVersion(u8),
    /// An algorithm id not on the allow-list.
    #[error(
        "envelope algorithm id {0} is not allowed (only {ALG_XCHACHA20_POLY1305} = XChaCha20-Poly1305)"
    )]
    UnsupportedAlgorithm(u8),
    /// Unknown flag bits.
    #[error("envelope flags {0:#04x} hold unknown bits")]
    UnknownFlags(u8),
    /// The key id is not in the keyring.
    #[error("sealed with key {0}, which is not in the keyring (retired, or another store's key)")]
    UnknownKey(KeyId),
    /// The tag did not verify.
    #[error(
        "authentication failed: the value was altered or truncated, moved from another key, \
         namespace or store, or the key {0} in use is not the one that sealed it"
    )]
    Authentication(KeyId),
    /// The payload decrypted but its inner structure is wrong (names inside that do not match).
    #[error("envelope payload is malformed: {0}")]
    BadPayload(&'static str),
}

/// An opened envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The write stamp sealed with the value.
    pub stamp: u64,
    /// The real names, for a value stored under a keyed-hash name.
    pub names: Option<Key>,
    /// The value.
    pub value: Vec<u8>,
    /// The key that sealed it.
    pub key_id: KeyId,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("stamp", &self.stamp)
            .field("key_id", &self.key_id)
            .field("value_len", &self.value.len())
            .finish_non_exhaustive()
    }
}

/// Seals `value` with root key `root` and a given `nonce`: the deterministic form, for
/// known-answer tests and tools. The layer itself draws a random nonce per write.
pub fn seal_with_nonce(
    root: &RootKey,
    nonce: [u8; NONCE_LEN],
    store_id: &[u8; 16],
    stored: &Key,
    stamp: u64,
    value: &[u8],
) -> Vec<u8> {
    seal(&root.value_key(), nonce, store_id, stored, stamp, None, value)
}

/// Opens an envelope stored at `stored` in store `store_id` with any key of `keys`.
pub fn open_with(
    keys: &Keyring,
    store_id: &[u8; 16],
    stored: &Key,
    raw: Vec<u8>,
) -> Result<Opened, EnvelopeError> {
    open(keys, store_id, stored, raw)
}

/// The key id in an envelope's header, after the allow-list checks.
pub fn key_id(raw: &[u8]) -> Result<KeyId, EnvelopeError> {
    if raw.len() < HEADER_LEN + 8 + TAG_LEN {
        return Err(EnvelopeError::TooShort { len: raw.len(), min: HEADER_LEN + 8 + TAG_LEN });
    }
    if raw[0..4] != MAGIC {
        return Err(EnvelopeError::BadMagic);
    }
    if raw[4] != VERSION {
        return Err(EnvelopeError::UnsupportedVersion(raw[4]));
    }
    if raw[5] != ALG_XCHACHA20_POLY1305 {
        return Err(EnvelopeError::UnsupportedAlgorithm(raw[5]));
    }
    if raw[6] & !FLAG_NAMES_INSIDE != 0 {
        return Err(EnvelopeError::UnknownFlags(raw[6]));
    }
    Ok(KeyId(u32::from_be_bytes(raw[7..11].try_into().expect("4 bytes"))))
}

/// A fresh random nonce.
pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    // Without OS randomness no nonce is safe: a panic is better than a reused nonce, and
    // getrandom only fails on platforms this crate does not support.
    getrandom::fill(&mut nonce).expect("OS randomness for a nonce");
    nonce
}

fn aad(header: &[u8], store_id: &[u8; 16], stored: &Key) -> Vec<u8> {
    let ns = stored.namespace();
    let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + HEADER_LEN + 16 + 3 + 3 * 120);
    aad.extend_from_slice(AAD_DOMAIN);
    aad.extend_from_slice(header);
    aad.extend_from_slice(store_id);
    put_name(&mut aad, ns.primary());
    put_name(&mut aad, ns.secondary());
    put_name(&mut aad, stored.key());
    aad
}

/// A length-prefixed name: LDK names are at most 120 bytes, so one length byte suffices.
fn put_name(out: &mut Vec<u8>, name: &str) {
    out.push(u8::try_from(name.len()).expect("validated names are at most 120 bytes"));
    out.extend_from_slice(name.as_bytes());
}

pub(crate) fn seal(
    key: &ValueKey,
    nonce: [u8; NONCE_LEN],
    store_id: &[u8; 16],
    stored: &Key,
    stamp: u64,
    names_inside: Option<&Key>,
    value: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(OVERHEAD + 3 * 121 + value.len());
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(ALG_XCHACHA20_POLY1305);
    out.push(if names_inside.is_some() { FLAG_NAMES_INSIDE } else { 0 });
    out.extend_from_slice(&key.id.to_bytes());
    out.extend_from_slice(&nonce);
    let aad = aad(&out, store_id, stored);
    out.extend_from_slice(&stamp.to_be_bytes());
    if let Some(names) = names_inside {
        put_name(&mut out, names.namespace().primary());
        put_name(&mut out, names.namespace().secondary());
        put_name(&mut out, names.key());
    }
    out.extend_from_slice(value);
    let tag = key.cipher.seal_in_place(&nonce, &aad, &mut out[HEADER_LEN..]);
    out.extend_from_slice(&tag);
    out
}

pub(crate) fn open(
    keys: &Keyring,
    store_id: &[u8; 16],
    stored: &Key,
    mut raw: Vec<u8>,
) -> Result<Opened, EnvelopeError> {
    let key_id = key_id(&raw)?;
    let key = keys.find(key_id).ok_or(EnvelopeError::UnknownKey(key_id))?;
    let nonce: [u8; NONCE_LEN] = raw[11..HEADER_LEN].try_into().expect("24 bytes");
    let aad = aad(&raw[..HEADER_LEN], store_id, stored);
    let tag_at = raw.len() - TAG_LEN;
    let tag: [u8; TAG_LEN] = raw[tag_at..].try_into().expect("16 bytes");
    let names_inside = raw[6] & FLAG_NAMES_INSIDE != 0;
    key.cipher
        .open_in_place(&nonce, &aad, &mut raw[HEADER_LEN..tag_at], &tag)
        .map_err(|_| EnvelopeError::Authentication(key_id))?;
    raw.truncate(tag_at);
    let stamp = u64::from_be_bytes(raw[HEADER_LEN..HEADER_LEN + 8].try_into().expect("8 bytes"));
    let mut at = HEADER_LEN + 8;
    let names = if names_inside {
        let primary = take_name(&raw, &mut at)?;
        let secondary = take_name(&raw, &mut at)?;
        let key = take_name(&raw, &mut at)?;
        Some(
            Key::new(&primary, &secondary, &key)
                .map_err(|_| EnvelopeError::BadPayload("the names inside are not a valid key"))?,
        )
    } else {
        None
    };
    raw.drain(..at);
    Ok(Opened { stamp, names, value: raw, key_id })
}

fn take_name(raw: &[u8], at: &mut usize) -> Result<String, EnvelopeError> {
    let len = usize::from(*raw.get(*at).ok_or(EnvelopeError::BadPayload("names cut short"))?);
    let bytes =
        raw.get(*at + 1..*at + 1 + len).ok_or(EnvelopeError::BadPayload("names cut short"))?;
    *at += 1 + len;
    String::from_utf8(bytes.to_vec()).map_err(|_| EnvelopeError::BadPayload("names not UTF-8"))
}
