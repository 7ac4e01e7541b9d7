//! Where things live in the bucket: object names for values and index entries, creation
//! stamps, and page tokens.
//!
//! Under the backend's prefix:
//!
//! ```text
//! <prefix>/data/ns.<primary>.<secondary>/<key>              the value (user metadata: stamp)
//! <prefix>/idx/ns.<primary>.<secondary>/<stamp>.<key>       an empty index entry
//! ```
//!
//! Namespaces and keys only use LDK's alphabet (`[A-Za-z0-9_-]`), so `.` separates parts
//! without ambiguity, and `ns.` keeps a segment non-empty (and never `.` or `..`) for the
//! empty namespace.
//!
//! A *stamp* is the key's creation time, inverted so that S3's ascending lexicographic
//! listing returns the newest entry first: 20 decimal digits of `u64::MAX - nanoseconds since
//! the Unix epoch`, then 8 hex digits that tell processes apart. A page token is the name of
//! the last index entry returned (`<stamp>.<key>`); listing resumes with `start-after` it,
//! whether or not the entry still exists.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tierstore_core::{Error, Key, Namespace, Operation};

/// The user-metadata name under which a value object records its creation stamp
/// (`x-amz-meta-tierstore-stamp` on S3).
pub(crate) const STAMP_METADATA: &str = "tierstore-stamp";

const STAMP_DIGITS: usize = 20;
const STAMP_LEN: usize = STAMP_DIGITS + 8;

/// Object names of one backend (one prefix).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// `<prefix>/` or empty.
    root: String,
}

impl Layout {
    /// `prefix` without leading or trailing `/` (may be empty).
    pub(crate) fn new(prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        let root = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        Layout { root }
    }

    fn namespace_segment(namespace: &Namespace) -> String {
        format!("ns.{}.{}", namespace.primary(), namespace.secondary())
    }

    /// Everything under which values live (for `list_all_keys`), ending in `/`.
    pub(crate) fn data_root(&self) -> String {
        format!("{}data/", self.root)
    }

    /// The object holding `key`'s value.
    pub(crate) fn data(&self, key: &Key) -> String {
        format!("{}data/{}/{}", self.root, Self::namespace_segment(key.namespace()), key.key())
    }

    /// The folder of `namespace`'s index entries, ending in `/`.
    pub(crate) fn index_dir(&self, namespace: &Namespace) -> String {
        format!("{}idx/{}/", self.root, Self::namespace_segment(namespace))
    }

    /// The index entry of `key` created at `stamp`.
    pub(crate) fn index(&self, key: &Key, stamp: &Stamp) -> String {
        format!("{}{}.{}", self.index_dir(key.namespace()), stamp.as_str(), key.key())
    }

    /// Parses an object name under [`data_root`](Self::data_root) back into its key.
    pub(crate) fn parse_data(&self, name: &str) -> Option<Key> {
        let rest = name.strip_prefix(&self.data_root())?;
        let (segment, key) = rest.split_once('/')?;
        let (primary, secondary) = segment.strip_prefix("ns.")?.split_once('.')?;
        Key::new(primary, secondary, key).ok()
    }
}

/// A creation stamp: sorts newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp(String);

impl Stamp {
    /// Parses a stamp read back from object metadata or an index entry.
    pub(crate) fn parse(text: &str) -> Option<Stamp> {
        let valid = text.len() == STAMP_LEN
            && text[..STAMP_DIGITS].bytes().all(|b| b.is_ascii_digit())
            && text[STAMP_DIGITS..].bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| Stamp(text.to_owned()))
    }

    /// The stamp's text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hands out creation stamps: strictly newer within this process, by wall clock across
/// processes (so creation order across restarts relies on the clock not stepping back).
#[derive(Debug)]
pub(crate) struct StampClock {
    last_nanos: AtomicU64,
    process: u32,
}

impl StampClock {
    pub(crate) fn new() -> Self {
        StampClock { last_nanos: AtomicU64::new(0), process: process_tag() }
    }

    /// A stamp newer than every stamp this clock handed out before.
    pub(crate) fn next(&self) -> Stamp {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1))
            .unwrap_or(0);
        let mut last = self.last_nanos.load(Ordering::Relaxed);
        let nanos = loop {
            let candidate = now.max(last.saturating_add(1));
            match self.last_nanos.compare_exchange_weak(
                last,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break candidate,
                Err(actual) => last = actual,
            }
        };
        Stamp(format!("{:020}{:08x}", u64::MAX - nanos, self.process))
    }
}

/// A random tag for this process, so that stamps of two processes never collide.
fn process_tag() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish() as u32
}

/// One entry of a namespace's index, parsed from its object name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// The entry's name within its namespace folder: `<stamp>.<key>` (also the page token).
    pub(crate) name: String,
    /// The key it lists.
    pub(crate) key: String,
}

impl IndexEntry {
    /// Parses `<stamp>.<key>` of a key in `namespace`.
    pub(crate) fn parse(namespace: &Namespace, name: &str) -> Option<IndexEntry> {
        let (stamp, key) = name.split_once('.')?;
        Stamp::parse(stamp)?;
        namespace.key(key).ok()?;
        Some(IndexEntry { name: name.to_owned(), key: key.to_owned() })
    }
}

/// Checks a page token of `namespace` (`InvalidInput` unless it names an index entry).
pub(crate) fn parse_token(
    backend: &str,
    namespace: &Namespace,
    token: &str,
) -> Result<IndexEntry, Error> {
    IndexEntry::parse(namespace, token).ok_or_else(|| {
        let shown: String = token.chars().take(64).collect();
        Error::invalid_input(
            Operation::ListPage,
            format!("{backend}: malformed page token {shown:?} for namespace {namespace}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let layout = Layout::new("/node1/");
        let key = Key::new("", "", "manager").unwrap();
        assert_eq!(layout.data(&key), "node1/data/ns../manager");
        assert_eq!(layout.parse_data("node1/data/ns../manager"), Some(key.clone()));
        let key = Key::new("monitor_updates", "chan-1", "42").unwrap();
        assert_eq!(layout.parse_data(&layout.data(&key)), Some(key.clone()));
        let stamp = StampClock::new().next();
        let index = layout.index(&key, &stamp);
        let name = index.strip_prefix(&layout.index_dir(key.namespace())).unwrap();
        let entry = IndexEntry::parse(key.namespace(), name).unwrap();
        assert_eq!(entry.key, "42");
        assert_eq!(Layout::new("").data_root(), "data/");
    }

    #[test]
    fn later_stamps_sort_first() {
        let clock = StampClock::new();
        let stamps: Vec<Stamp> = (0..1000).map(|_| clock.next()).collect();
        for pair in stamps.windows(2) {
            assert!(pair[0].as_str() > pair[1].as_str(), "{pair:?}");
            assert!(Stamp::parse(pair[0].as_str()).is_some());
        }
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let ns = Namespace::new("monitors", "").unwrap();
        for token in ["", "x", "1.k", "🦀", "00000000000000000000zzzzzzzz.k", &"9".repeat(29)] {
            assert!(parse_token("s3", &ns, token).is_err(), "{token:?}");
        }
        let good = format!("{}.k", StampClock::new().next().as_str());
        assert!(parse_token("s3", &ns, &good).is_ok());
        assert!(parse_token("s3", &ns, &format!("{good}.x")).is_err());
    }
}
