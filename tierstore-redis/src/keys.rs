//! The Redis key names of one backend (one prefix), and its page tokens.
//!
//! Every name starts with the prefix in braces, `{P}:`, a Redis Cluster *hash tag*: all keys
//! of one prefix hash to the same slot, so the scripts that touch several of them at once stay
//! valid on a cluster. LDK namespaces and keys use only `[A-Za-z0-9_-]`, so `:` and `/`
//! separate parts unambiguously (an empty part is simply nothing between two separators).

use tierstore_core::{Error, Key, Namespace};

/// The longest prefix accepted, in bytes.
pub(crate) const MAX_PREFIX_LEN: usize = 128;

/// The names of one prefix's Redis keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeySpace {
    /// `{P}:`, the start of every name.
    head: String,
}

impl KeySpace {
    /// Validates `prefix` (non-empty, at most [`MAX_PREFIX_LEN`] bytes of `[A-Za-z0-9_.-]`):
    /// anything else could collide with the separators or the hash tag.
    pub(crate) fn new(prefix: &str) -> Result<KeySpace, Error> {
        if prefix.is_empty() {
            return Err(Error::config(
                "redis: the key prefix is empty; name the node or role, e.g. `node1-primary`",
            ));
        }
        if prefix.len() > MAX_PREFIX_LEN {
            return Err(Error::config(format!(
                "redis: the key prefix {:?}… is {} bytes long; the maximum is {MAX_PREFIX_LEN}",
                prefix.chars().take(32).collect::<String>(),
                prefix.len()
            )));
        }
        if let Some(bad) = prefix.chars().find(|c| !allowed_in_prefix(*c)) {
            return Err(Error::config(format!(
                "redis: the key prefix {prefix:?} contains {bad:?}, which is not in [A-Za-z0-9_.-]"
            )));
        }
        Ok(KeySpace { head: format!("{{{prefix}}}:") })
    }

    /// The creation counter: `{P}:seq`.
    pub(crate) fn sequence(&self) -> String {
        format!("{}seq", self.head)
    }

    /// The set of namespaces holding at least one key, as [`namespace_member`] strings:
    /// `{P}:namespaces`.
    pub(crate) fn namespaces(&self) -> String {
        format!("{}namespaces", self.head)
    }

    /// A namespace's creation-order index, a sorted set of keys scored by creation sequence:
    /// `{P}:idx:<primary>/<secondary>`.
    pub(crate) fn index(&self, namespace: &Namespace) -> String {
        format!("{}idx:{}", self.head, namespace_member(namespace))
    }

    /// A key's value: `{P}:val:<primary>/<secondary>/<key>`.
    pub(crate) fn value(&self, key: &Key) -> String {
        format!("{}val:{}/{}", self.head, namespace_member(key.namespace()), key.key())
    }
}

fn allowed_in_prefix(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// A namespace as a member of the namespaces set: `<primary>/<secondary>`.
pub(crate) fn namespace_member(namespace: &Namespace) -> String {
    format!("{}/{}", namespace.primary(), namespace.secondary())
}

/// The inverse of [`namespace_member`]; `None` if `member` is not one.
pub(crate) fn parse_namespace_member(member: &str) -> Option<Namespace> {
    let (primary, secondary) = member.split_once('/')?;
    Namespace::new(primary, secondary).ok()
}

/// Parses a page token: the creation sequence (the index score) of the last key of the
/// previous page, in decimal.
pub(crate) fn parse_token(token: &str) -> Option<u64> {
    if token.is_empty() || token.len() > 20 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tagged_and_unambiguous() {
        let space = KeySpace::new("node1.primary").unwrap();
        let key = Key::new("monitors", "", "chan").unwrap();
        assert_eq!(space.value(&key), "{node1.primary}:val:monitors//chan");
        assert_eq!(space.index(key.namespace()), "{node1.primary}:idx:monitors/");
        assert_eq!(space.sequence(), "{node1.primary}:seq");
        assert_eq!(space.namespaces(), "{node1.primary}:namespaces");
        let root = Key::new("", "", "manager").unwrap();
        assert_eq!(space.value(&root), "{node1.primary}:val://manager");
    }

    #[test]
    fn namespace_members_round_trip() {
        for (p, s) in [("", ""), ("a", ""), ("a", "b"), ("x-y_z", "0")] {
            let ns = Namespace::new(p, s).unwrap();
            assert_eq!(parse_namespace_member(&namespace_member(&ns)), Some(ns));
        }
        assert_eq!(parse_namespace_member("nope"), None);
        assert_eq!(parse_namespace_member("/b"), None, "secondary without primary");
    }

    #[test]
    fn bad_prefixes_are_refused_by_name() {
        for (prefix, expected) in [
            ("", "empty"),
            ("a{b", "contains '{'"),
            ("a:b", "contains ':'"),
            ("a b", "contains ' '"),
            ("a/b", "contains '/'"),
        ] {
            let err = KeySpace::new(prefix).unwrap_err().to_string();
            assert!(err.contains(expected), "{prefix:?}: {err}");
        }
        let long = "p".repeat(MAX_PREFIX_LEN + 1);
        assert!(KeySpace::new(&long).unwrap_err().to_string().contains("129 bytes"));
        assert!(KeySpace::new(&"p".repeat(MAX_PREFIX_LEN)).is_ok());
    }

    #[test]
    fn tokens_are_decimal_sequences_only() {
        assert_eq!(parse_token("42"), Some(42));
        assert_eq!(parse_token("0"), Some(0));
        for bad in ["", "-1", "+1", "1.5", "1e3", "inf", "(5", "99999999999999999999999"] {
            assert_eq!(parse_token(bad), None, "{bad:?}");
        }
    }
}
