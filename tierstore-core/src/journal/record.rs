//! The journal's on-disk format: a header, then frames of records.
//!
//! ```text
//! file   = header frame*
//! header = "TIERSTORE-JOURNAL\n" version:u32le                    (22 bytes)
//! frame  = magic:u16le=0x4a54 len:u32le crc:u32le payload[len]
//!          crc = CRC-32 (IEEE) of len's four bytes followed by the payload
//! payload = record+
//! record  = tag:u8 fields...       (see `Record::encode`)
//! ```
//!
//! One frame is one `write` of the writer thread (one group commit). A frame whose bytes are
//! incomplete or whose CRC fails at the end of the file is a torn write; anywhere else it is
//! corruption (see [`super::replay`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Operation, Tier};
use crate::key::Key;
use crate::sync_record::StoreId;
use crate::tier_store::Divergence;

pub(crate) const HEADER: &[u8] = b"TIERSTORE-JOURNAL\n";
pub(crate) const VERSION: u32 = 1;
pub(crate) const HEADER_LEN: usize = HEADER.len() + 4;
pub(crate) const FRAME_MAGIC: u16 = 0x4a54;
pub(crate) const FRAME_HEADER_LEN: usize = 10;
/// Longest reason kept in a divergence record.
const MAX_REASON: usize = 1024;

/// One change to the journal's state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// A durable mutation of `key` is about to reach the tiers. Fsynced before it does.
    Begin { id: u64, key: Key, op: Operation },
    /// Both tiers acknowledged mutation `id`.
    End { id: u64 },
    /// The tiers may differ on a key (closes mutation `id` if not 0).
    Diverged { id: u64, divergence: Divergence },
    /// The backup equals the primary again on `key`.
    Resolved { key: Key },
    /// The primary store this journal belongs to.
    Primary { store: StoreId },
    /// The backup `backup` holds every durable key of the primary (but the diverged ones) as
    /// long as its sync record shows `generation`.
    Synced { backup: StoreId, generation: u64 },
    /// No backup is known to be in sync: the next open with a backup resilvers it.
    Unsynced,
}

const BEGIN: u8 = 1;
const END: u8 = 2;
const DIVERGED: u8 = 3;
const RESOLVED: u8 = 4;
const PRIMARY: u8 = 5;
const SYNCED: u8 = 6;
const UNSYNCED: u8 = 7;

impl Record {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Begin { id, key, op } => {
                out.push(BEGIN);
                out.extend_from_slice(&id.to_le_bytes());
                out.push(op_code(*op));
                put_key(out, key);
            }
            Record::End { id } => {
                out.push(END);
                out.extend_from_slice(&id.to_le_bytes());
            }
            Record::Diverged { id, divergence: d } => {
                out.push(DIVERGED);
                out.extend_from_slice(&id.to_le_bytes());
                out.push(tier_code(d.tier));
                out.push(op_code(d.operation));
                let millis = d.at.duration_since(UNIX_EPOCH).map_or(0, |t| t.as_millis() as u64);
                out.extend_from_slice(&millis.to_le_bytes());
                put_key(out, &d.key);
                let mut end = d.reason.len().min(MAX_REASON);
                while !d.reason.is_char_boundary(end) {
                    end -= 1;
                }
                put_str(out, &d.reason[..end]);
            }
            Record::Resolved { key } => {
                out.push(RESOLVED);
                put_key(out, key);
            }
            Record::Primary { store } => {
                out.push(PRIMARY);
                out.extend_from_slice(store.as_bytes());
            }
            Record::Synced { backup, generation } => {
                out.push(SYNCED);
                out.extend_from_slice(backup.as_bytes());
                out.extend_from_slice(&generation.to_le_bytes());
            }
            Record::Unsynced => out.push(UNSYNCED),
        }
    }

    /// Decodes every record of a frame's payload; `Err` names what is wrong.
    pub(crate) fn decode_all(payload: &[u8]) -> Result<Vec<Record>, String> {
        let mut reader = Reader { bytes: payload, at: 0 };
        let mut records = Vec::new();
        while !reader.done() {
            records.push(reader.record()?);
        }
        Ok(records)
    }
}

/// Appends one frame holding `payload`.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("frames stay far below 4 GiB");
    out.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(len, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

pub(crate) fn checksum(len: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

pub(crate) fn header() -> Vec<u8> {
    let mut out = HEADER.to_vec();
    out.extend_from_slice(&VERSION.to_le_bytes());
    out
}

fn put_key(out: &mut Vec<u8>, key: &Key) {
    put_str(out, key.primary());
    put_str(out, key.secondary());
    put_str(out, key.key());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).expect("journal strings are bounded");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn op_code(op: Operation) -> u8 {
    match op {
        Operation::Remove => 2,
        _ => 1,
    }
}

fn tier_code(tier: Tier) -> u8 {
    match tier {
        Tier::Primary => 0,
        Tier::Backup => 1,
        Tier::Ephemeral => 2,
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end =
            end.ok_or_else(|| format!("a record is cut short at payload byte {}", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn str(&mut self) -> Result<String, String> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")) as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "a string is not UTF-8".into())
    }

    fn key(&mut self) -> Result<Key, String> {
        let (p, s, k) = (self.str()?, self.str()?, self.str()?);
        Key::new(&p, &s, &k).map_err(|e| format!("a record holds an invalid key: {e}"))
    }

    fn store(&mut self) -> Result<StoreId, String> {
        Ok(StoreId::from_bytes(self.take(16)?.try_into().expect("16 bytes")))
    }

    fn op(&mut self) -> Result<Operation, String> {
        match self.u8()? {
            1 => Ok(Operation::Write),
            2 => Ok(Operation::Remove),
            other => Err(format!("unknown operation code {other}")),
        }
    }

    fn record(&mut self) -> Result<Record, String> {
        Ok(match self.u8()? {
            BEGIN => {
                let id = self.u64()?;
                let op = self.op()?;
                Record::Begin { id, key: self.key()?, op }
            }
            END => Record::End { id: self.u64()? },
            DIVERGED => {
                let id = self.u64()?;
                let tier = match self.u8()? {
                    0 => Tier::Primary,
                    1 => Tier::Backup,
                    2 => Tier::Ephemeral,
                    other => return Err(format!("unknown tier code {other}")),
                };
                let operation = self.op()?;
                let at = UNIX_EPOCH + Duration::from_millis(self.u64()?);
                let key = self.key()?;
                let reason = self.str()?;
                Record::Diverged { id, divergence: Divergence { key, tier, operation, reason, at } }
            }
            RESOLVED => Record::Resolved { key: self.key()? },
            PRIMARY => Record::Primary { store: self.store()? },
            SYNCED => Record::Synced { backup: self.store()?, generation: self.u64()? },
            UNSYNCED => Record::Unsynced,
            other => return Err(format!("unknown record tag {other}")),
        })
    }
}

/// Milliseconds are what the journal keeps of a divergence's time.
pub(crate) fn truncate_to_millis(at: SystemTime) -> SystemTime {
    let millis = at.duration_since(UNIX_EPOCH).map_or(0, |t| t.as_millis() as u64);
    UNIX_EPOCH + Duration::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let key = Key::new("monitors", "sub", "k1").unwrap();
        let records = vec![
            Record::Begin { id: 7, key: key.clone(), op: Operation::Remove },
            Record::End { id: 7 },
            Record::Diverged {
                id: 9,
                divergence: Divergence {
                    key: key.clone(),
                    tier: Tier::Backup,
                    operation: Operation::Write,
                    reason: "é".repeat(600),
                    at: truncate_to_millis(SystemTime::now()),
                },
            },
            Record::Resolved { key: Key::new("", "", "manager").unwrap() },
            Record::Primary { store: StoreId::random() },
            Record::Synced { backup: StoreId::random(), generation: 42 },
            Record::Unsynced,
        ];
        let mut payload = Vec::new();
        for r in &records {
            r.encode(&mut payload);
        }
        let decoded = Record::decode_all(&payload).unwrap();
        assert_eq!(decoded.len(), records.len());
        // The reason is cut at a character boundary within the limit.
        let Record::Diverged { divergence, .. } = &decoded[2] else { panic!() };
        assert!(divergence.reason.len() <= MAX_REASON && divergence.reason.starts_with('é'));
        assert_eq!(decoded[0], records[0]);
        assert_eq!(decoded[6], records[6]);
        // Cut inside the Synced record (the last record, Unsynced, is one byte).
        let cut = Record::decode_all(&payload[..payload.len() - 3]).unwrap_err();
        assert!(cut.contains("cut short"), "{cut}");
        assert!(Record::decode_all(&[99]).unwrap_err().contains("unknown record tag 99"));
    }
}
