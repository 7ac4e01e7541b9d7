//! The metadata object: one small encrypted value per store, at
//! `_tierstore/""/encryption` ([`RESERVED_NAMESPACE`]) in the wrapped backend, always under
//! that clear name, hidden from `list`, pages and `list_all_keys` of the layer.
//!
//! It holds the format version, the [`NameMode`], the store id bound into every value's AAD,
//! and the random secret the name keys derive from. It is sealed like a value (so it opens
//! only with a key of the keyring, and [`rotate`](crate::Encrypted::rotate) re-seals it) with
//! an all-zero store id, since the store id is what it carries.
//!
//! # Crash story
//!
//! It is written once, when the layer first opens an empty backend, before any value. A
//! backend that holds keys but no metadata is refused (its metadata was deleted, or it was
//! never encrypted): creating new metadata would make every existing value unreadable.

use tierstore_core::Key;
use tierstore_core::key::RESERVED_NAMESPACE;
use zeroize::Zeroizing;

use crate::envelope::EnvelopeError;
use crate::names::NameMode;

/// The key of the metadata object in the wrapped backend.
pub(crate) fn key() -> Key {
    Key::new(RESERVED_NAMESPACE, "", "encryption").expect("a valid key")
}

/// The store id used in the metadata object's own AAD.
pub(crate) const NO_STORE: [u8; 16] = [0; 16];

const VERSION: u8 = 1;
const LEN: usize = 1 + 1 + 16 + 32;

pub(crate) struct Metadata {
    pub(crate) mode: NameMode,
    pub(crate) store_id: [u8; 16],
    pub(crate) name_secret: Zeroizing<[u8; 32]>,
}

impl Metadata {
    pub(crate) fn generate(mode: NameMode) -> Result<Self, getrandom::Error> {
        let mut store_id = [0u8; 16];
        getrandom::fill(&mut store_id)?;
        let mut name_secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(name_secret.as_mut())?;
        Ok(Metadata { mode, store_id, name_secret })
    }

    pub(crate) fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(LEN));
        out.push(VERSION);
        out.push(self.mode.to_byte());
        out.extend_from_slice(&self.store_id);
        out.extend_from_slice(self.name_secret.as_ref());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() != LEN || bytes[0] != VERSION {
            return Err(EnvelopeError::BadPayload("metadata of an unknown version or length"));
        }
        let mode = NameMode::from_byte(bytes[1])
            .ok_or(EnvelopeError::BadPayload("metadata names an unknown name mode"))?;
        let store_id = bytes[2..18].try_into().expect("16 bytes");
        let mut name_secret = Zeroizing::new([0u8; 32]);
        name_secret.copy_from_slice(&bytes[18..50]);
        Ok(Metadata { mode, store_id, name_secret })
    }
}
