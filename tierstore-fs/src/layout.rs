//! `FilesystemStoreV2`'s layout, as far as listing needs it: where a namespace's keys live,
//! which directory entries are keys, and the creation position of each.
//!
//! - A namespace is the directory `<dir>/<primary>/<secondary>`, `[empty]` standing for an
//!   empty name.
//! - Every entry of it is a key, except directories and the store's own artifacts (names
//!   ending in `.tmp`, `.trash`). An entry that cannot be inspected (deleted while being
//!   listed) still counts, as in `FilesystemStoreV2`.
//! - A key's position is its modification time in whole milliseconds since the epoch (0 if
//!   unreadable); `FilesystemStoreV2` preserves it on update. Pages run newest first, and
//!   keys of the same millisecond by name, descending.
//!
//! These rules are `FilesystemStoreV2::list_paginated`'s, so a scan here orders a directory
//! exactly as lightning-persister does (the compatibility tests compare the two).

use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use tierstore_core::{Key, Namespace};

/// The directory name of an empty namespace.
const EMPTY_NAMESPACE_DIR: &str = "[empty]";

/// A key's creation position: modification time in ms, then the key.
pub(crate) type Position = (u64, String);

/// The directory holding `namespace`'s keys.
pub(crate) fn namespace_dir(root: &Path, namespace: &Namespace) -> PathBuf {
    let name = |part: &str| if part.is_empty() { EMPTY_NAMESPACE_DIR } else { part }.to_owned();
    root.join(name(namespace.primary())).join(name(namespace.secondary()))
}

/// The file holding `key`.
pub(crate) fn key_file(root: &Path, key: &Key) -> PathBuf {
    namespace_dir(root, key.namespace()).join(key.key())
}

/// lightning-persister's temporary and trash files: by extension, as it decides.
fn is_artifact(name: &str) -> bool {
    matches!(Path::new(name).extension().and_then(|e| e.to_str()), Some("tmp" | "trash"))
}

fn millis(metadata: &std::fs::Metadata) -> u64 {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Every key of `namespace` with its position, by one pass over its directory (empty if the
/// directory does not exist). An entry whose name is not a valid key is an error, as in
/// `FilesystemStoreV2`. Blocking.
pub(crate) fn scan(root: &Path, namespace: &Namespace) -> io::Result<Vec<Position>> {
    let dir = namespace_dir(root, namespace);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_str().ok_or_else(|| not_a_key(&entry.path()))?;
        if is_artifact(name) || entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if namespace.key(name).is_err() {
            return Err(not_a_key(&entry.path()));
        }
        // `DirEntry::metadata` does not follow symlinks, like lightning-persister's.
        let mtime = entry.metadata().map_or(0, |m| millis(&m));
        keys.push((mtime, name.to_owned()));
    }
    Ok(keys)
}

fn not_a_key(path: &Path) -> io::Error {
    io::Error::other(format!("{} is not a valid key name", path.display()))
}

/// `key`'s position on disk now, or `None` if it has no file. Blocking.
pub(crate) fn position(root: &Path, key: &Key) -> io::Result<Option<u64>> {
    match std::fs::symlink_metadata(key_file(root, key)) {
        Ok(metadata) if metadata.is_dir() => Ok(None),
        Ok(metadata) => Ok(Some(millis(&metadata))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A page token, in `FilesystemStoreV2`'s own format (`<16-digit ms>:<key>`), so tokens of
/// either store resume pages of the other.
pub(crate) fn format_token((mtime, key): &Position) -> String {
    format!("{mtime:016}:{key}")
}

/// Parses a token of [`format_token`]; the error says what is wrong.
pub(crate) fn parse_token(namespace: &Namespace, token: &str) -> Result<Position, String> {
    let (mtime, key) = token
        .split_once(':')
        .filter(|(mtime, _)| mtime.len() == 16)
        .ok_or("expected `<16-digit modification time>:<key>`")?;
    let mtime = mtime.parse().map_err(|_| "the modification time is not a number")?;
    namespace.key(key).map_err(|e| e.to_string())?;
    Ok((mtime, key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let ns = Namespace::new("payments", "").unwrap();
        let position = (1_700_000_000_123, "p1".to_owned());
        let token = format_token(&position);
        assert_eq!(token, "0001700000000123:p1");
        assert_eq!(parse_token(&ns, &token).unwrap(), position);
        let bad = ["", "1:p1", "000170000000012x:p1", "0001700000000123", "0001700000000123:"];
        for bad in bad.into_iter().chain(["0001700000000123:a/b"]) {
            assert!(parse_token(&ns, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn empty_namespaces_map_to_the_empty_directory() {
        let root = Path::new("/s");
        let key = Key::new("", "", "manager").unwrap();
        assert_eq!(key_file(root, &key), Path::new("/s/[empty]/[empty]/manager"));
        let key = Key::new("monitors", "", "c1").unwrap();
        assert_eq!(key_file(root, &key), Path::new("/s/monitors/[empty]/c1"));
    }
}
