//! Reading a journal file back: every complete, checksummed frame in order; a torn tail is
//! cut off, anything else that does not check out is corruption.
//!
//! A frame is written by one `write` and made durable by the `fdatasync` that follows, before
//! any caller waiting on it is answered. So a crash can only leave the *last* frame
//! incomplete or torn (its bytes partly on disk), and that frame held nothing a caller was
//! told is durable. Replay stops there and the file is cut back to the last good frame.
//!
//! A frame that fails its checksum while a valid frame follows it cannot come from a crash:
//! the file was damaged (a flipped byte, a bad sector, another program). Replay then refuses
//! the journal with [`Error::Journal`](crate::Error::Journal): TierStore cannot know which keys
//! may differ between primary and backup, and the way out is a full resilver. A flipped byte
//! in the last frame looks exactly like a torn write and is dropped as one.

use super::record::{FRAME_HEADER_LEN, FRAME_MAGIC, HEADER, HEADER_LEN, Record, VERSION, checksum};
use super::state::State;

/// What a journal file held.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    pub(crate) state: State,
    /// Bytes of the file up to the end of the last good frame (where appending resumes).
    pub(crate) good_len: u64,
    /// Bytes after it, dropped as a torn write.
    pub(crate) torn: u64,
    /// Whether the file had no header yet (new, or created and never written).
    pub(crate) fresh: bool,
}

/// Replays `bytes`, the whole file. `Err` describes the corruption.
pub(crate) fn replay(bytes: &[u8]) -> Result<Replayed, String> {
    if bytes.len() < HEADER_LEN {
        // A crash between creating the file and writing its header leaves a prefix of it.
        let expected = super::record::header();
        if expected.starts_with(bytes) {
            return Ok(Replayed { fresh: true, torn: bytes.len() as u64, ..Replayed::default() });
        }
        return Err("the file is not a TierStore journal (no header)".to_owned());
    }
    if &bytes[..HEADER.len()] != HEADER {
        return Err("the file is not a TierStore journal (wrong header)".to_owned());
    }
    let version = u32::from_le_bytes(bytes[HEADER.len()..HEADER_LEN].try_into().expect("4"));
    if version != VERSION {
        return Err(format!("journal format version {version}; this TierStore reads {VERSION}"));
    }
    let mut state = State::default();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        match frame_at(bytes, at) {
            Some(Ok((records, end))) => {
                records.iter().for_each(|r| state.apply(r));
                at = end;
            }
            Some(Err(reason)) => return Err(format!("frame at byte {at}: {reason}")),
            None if bytes[at..].iter().all(|&b| b == 0) => {
                // Zeros written in advance for the records to come: free space.
                return Ok(Replayed { state, good_len: at as u64, torn: 0, fresh: false });
            }
            None => {
                // A bad frame: torn if nothing valid follows it.
                if let Some(next) = (at + 1..bytes.len()).find(|&i| valid_frame_at(bytes, i)) {
                    return Err(format!(
                        "the frame at byte {at} is damaged, yet a valid frame follows at byte \
                         {next}: this is not a torn write"
                    ));
                }
                return Ok(Replayed {
                    state,
                    good_len: at as u64,
                    torn: (bytes.len() - at) as u64,
                    fresh: false,
                });
            }
        }
    }
    Ok(Replayed { state, good_len: at as u64, torn: 0, fresh: false })
}

/// The frame starting at `at`: `None` if its bytes are incomplete or fail the checksum,
/// `Some(Err)` if it checks out but its records do not decode (corruption the checksum cannot
/// explain: a bug or a foreign writer), `Some(Ok)` with its records and end offset.
fn frame_at(bytes: &[u8], at: usize) -> Option<Result<(Vec<Record>, usize), String>> {
    let payload = checked_payload(bytes, at)?;
    let end = at + FRAME_HEADER_LEN + payload.len();
    Some(Record::decode_all(payload).map(|records| (records, end)))
}

fn valid_frame_at(bytes: &[u8], at: usize) -> bool {
    checked_payload(bytes, at).is_some_and(|p| Record::decode_all(p).is_ok())
}

fn checked_payload(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let header = bytes.get(at..at.checked_add(FRAME_HEADER_LEN)?)?;
    let magic = u16::from_le_bytes(header[0..2].try_into().expect("2"));
    let len = u32::from_le_bytes(header[2..6].try_into().expect("4"));
    let crc = u32::from_le_bytes(header[6..10].try_into().expect("4"));
    if magic != FRAME_MAGIC || len == 0 {
        return None;
    }
    let start = at + FRAME_HEADER_LEN;
    let payload = bytes.get(start..start.checked_add(len as usize)?)?;
    (checksum(len, payload) == crc).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::super::record::{frame, header};
    use super::*;
    use crate::key::Key;

    fn file(frames: &[Vec<Record>]) -> (Vec<u8>, Vec<usize>) {
        let mut out = header();
        let mut ends = Vec::new();
        for records in frames {
            let mut payload = Vec::new();
            records.iter().for_each(|r| r.encode(&mut payload));
            frame(&payload, &mut out);
            ends.push(out.len());
        }
        (out, ends)
    }

    fn begin(id: u64) -> Record {
        let key = Key::new("ns", "", &format!("k{id}")).unwrap();
        Record::Begin { id, key, op: crate::Operation::Write }
    }

    #[test]
    fn every_truncation_is_a_torn_tail() {
        let (bytes, ends) = file(&[vec![begin(1)], vec![begin(2), begin(3)], vec![begin(4)]]);
        for cut in 0..bytes.len() {
            let replayed = replay(&bytes[..cut]).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            let complete = ends.iter().filter(|end| **end <= cut).count();
            let expected_open = [0, 1, 3, 4][complete];
            assert_eq!(replayed.state.open.len(), expected_open, "cut at {cut}");
            assert_eq!(replayed.good_len as usize + replayed.torn as usize, cut);
        }
    }

    #[test]
    fn zeros_after_the_last_frame_are_free_space_and_a_torn_frame_before_them_is_torn() {
        let (mut bytes, ends) = file(&[vec![begin(1)], vec![begin(2), begin(3)]]);
        let records = bytes.len();
        bytes.resize(records + 4096, 0);
        let replayed = replay(&bytes).unwrap();
        assert_eq!((replayed.state.open.len(), replayed.torn), (3, 0));
        assert_eq!(replayed.good_len as usize, records);
        // A frame half written into the zeros: torn (the zeros after it are not counted apart).
        let (with_third, third_ends) =
            file(&[vec![begin(1)], vec![begin(2), begin(3)], vec![begin(4)]]);
        let half = ends[1] + (third_ends[2] - ends[1]) / 2;
        bytes[..half].copy_from_slice(&with_third[..half]);
        let replayed = replay(&bytes).unwrap();
        assert_eq!(replayed.state.open.len(), 3);
        assert_eq!(replayed.good_len as usize, ends[1]);
        assert_eq!(replayed.torn as usize, bytes.len() - ends[1]);
    }

    #[test]
    fn a_flipped_byte_before_the_last_frame_is_corruption() {
        let (bytes, ends) = file(&[vec![begin(1)], vec![begin(2)], vec![begin(3)]]);
        for i in HEADER_LEN..ends[1] {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x40;
            let err = replay(&damaged).unwrap_err();
            assert!(err.contains("not a torn write"), "byte {i}: {err}");
        }
        // In the last frame it is indistinguishable from a torn write.
        let mut damaged = bytes.clone();
        damaged[ends[1] + 12] ^= 0x40;
        let replayed = replay(&damaged).unwrap();
        assert_eq!(replayed.state.open.len(), 2);
        assert_eq!(replayed.good_len as usize, ends[1]);
    }

    #[test]
    fn foreign_files_are_refused() {
        assert!(replay(b"hello world, this is not it").unwrap_err().contains("wrong header"));
        assert!(replay(b"short").unwrap_err().contains("no header"));
        assert!(replay(b"").unwrap().fresh);
        let mut wrong_version = header();
        wrong_version[HEADER.len()] = 9;
        assert!(replay(&wrong_version).unwrap_err().contains("version 9"));
    }
}
