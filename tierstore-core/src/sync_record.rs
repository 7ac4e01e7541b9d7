//! The sync record: each durable tier's identity, and which primary a backup mirrors at which
//! generation.
//!
//! # Contract
//!
//! Every durable tier of a journaled TierStore holds one small value at
//! `_tierstore/""/sync` ([`RESERVED_NAMESPACE`]): its own
//! random [`StoreId`], the id of the primary it mirrors (its own id for a primary) and, for a
//! backup, a generation. The journal beside the primary remembers the primary's id and the
//! backup id and generation it last saw in sync.
//!
//! - A backup whose record shows the primary's own id *is* the primary (one store reached
//!   under two names): refused.
//! - A backup that mirrors another primary belongs to another node (or this primary lost its
//!   identity): refused, never overwritten.
//! - A backup without a record is new (backfilled) or was filled by other means (resilvered).
//! - A backup whose id or generation differs from the journal's missed writes (the node ran
//!   without it, it was restored from a snapshot, or the journal is new): resilvered.
//!
//! The generation changes at every `open()`, so a backup restored from a snapshot taken
//! before the last open is found stale. One taken during the last session shows the current
//! generation: `verify()` finds what it misses.
//!
//! # Crash story
//!
//! Records are written before the journal notes them: the backup's new generation first,
//! then the journal's `Synced`. A crash between the two leaves generations that differ, so
//! the next open resilvers (finding nothing to copy). A resilver writes the new generation
//! only after its last key, so an interrupted one starts again and skips what it copied.

use std::fmt;

use bytes::Bytes;

use crate::backend::Backend;
use crate::error::{Error, Operation};
use crate::key::{Key, RESERVED_NAMESPACE};

/// A durable store's random identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreId([u8; 16]);

impl StoreId {
    /// A new random id.
    pub fn random() -> StoreId {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // No OS randomness (never seen on supported platforms): time and address entropy.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let salt = &bytes as *const _ as usize as u128;
            bytes = (nanos ^ salt.rotate_left(64) ^ u128::from(std::process::id())).to_le_bytes();
        }
        StoreId(bytes)
    }

    pub(crate) fn from_bytes(bytes: [u8; 16]) -> StoreId {
        StoreId(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({self})")
    }
}

/// What a tier's sync record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyncRecord {
    /// This store's id.
    pub(crate) store: StoreId,
    /// The primary this store mirrors; `store` itself for a primary.
    pub(crate) primary: StoreId,
    /// For a backup: the generation of its last sync.
    pub(crate) generation: u64,
}

const MAGIC: &[u8; 4] = b"TSR1";

impl SyncRecord {
    pub(crate) fn key() -> Key {
        Key::new(RESERVED_NAMESPACE, "", "sync").expect("a valid key")
    }

    pub(crate) fn is_primary(&self) -> bool {
        self.store == self.primary
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(self.store.as_bytes());
        out.extend_from_slice(self.primary.as_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<SyncRecord> {
        if bytes.len() != 44 || &bytes[..4] != MAGIC {
            return None;
        }
        Some(SyncRecord {
            store: StoreId(bytes[4..20].try_into().ok()?),
            primary: StoreId(bytes[20..36].try_into().ok()?),
            generation: u64::from_le_bytes(bytes[36..44].try_into().ok()?),
        })
    }

    /// Reads `backend`'s record: `None` if it has none.
    pub(crate) async fn read<B: Backend + ?Sized>(
        backend: &B,
    ) -> Result<Option<SyncRecord>, Error> {
        let key = Self::key();
        match backend.read(&key).await {
            Ok(bytes) => Self::decode(&bytes).map(Some).ok_or_else(|| {
                Error::backend(
                    backend,
                    Operation::Read,
                    &key,
                    "this is not a TierStore sync record; the store holds foreign data in \
                     TierStore's reserved namespace",
                )
            }),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn write<B: Backend + ?Sized>(&self, backend: &B) -> Result<(), Error> {
        backend.write(&Self::key(), Bytes::from(self.encode())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_foreign_bytes_are_refused() {
        let record =
            SyncRecord { store: StoreId::random(), primary: StoreId::random(), generation: 9 };
        assert_eq!(SyncRecord::decode(&record.encode()), Some(record));
        assert!(!record.is_primary());
        assert_eq!(SyncRecord::decode(b"TSR1"), None);
        assert_ne!(StoreId::random(), StoreId::random());
        assert_eq!(StoreId::from_bytes([0xab; 16]).to_string(), "ab".repeat(16));
    }
}
