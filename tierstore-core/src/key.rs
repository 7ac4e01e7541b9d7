//! Validated namespaces and keys: LDK's rules, checked once, before any backend is touched.
//!
//! Every backend receives only [`Key`]s and [`Namespace`]s, which can only be built through
//! [`Key::new`] and [`Namespace::new`]. Backends may therefore use characters outside
//! [`KVSTORE_NAMESPACE_KEY_ALPHABET`] (`.`, `/`, `:`, `[`) for their own bookkeeping without
//! ever colliding with a user key.

use std::fmt;

use lightning::util::persist::{KVSTORE_NAMESPACE_KEY_ALPHABET, KVSTORE_NAMESPACE_KEY_MAX_LEN};

use crate::error::{Error, Operation};

/// The primary namespace TierStore keeps for its own bookkeeping: the sync record of each
/// durable tier, and metadata that layers (e.g. an encryption layer) hide inside the backend
/// they wrap.
///
/// It is a valid LDK namespace, so backends store it like any other; a
/// [`TierStore`](crate::TierStore) hides it from LDK (it never appears in `list`, pages or
/// `list_all_keys`) and refuses LDK's reads and mutations in it with
/// [`Error::InvalidInput`]. The repair tools (verify, copy, resilver) skip it: its keys
/// describe one store, not the data it holds.
pub const RESERVED_NAMESPACE: &str = "_tierstore";

/// A validated `(primary_namespace, secondary_namespace)` pair.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace {
    primary: String,
    secondary: String,
}

/// A validated `(primary_namespace, secondary_namespace, key)` triple.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    namespace: Namespace,
    key: String,
}

/// Why a namespace or key was refused. Names the offending part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    reason: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for KeyError {}

impl KeyError {
    /// Turns this into the [`Error::InvalidInput`] of the operation that was refused.
    pub fn for_op(self, op: Operation) -> Error {
        Error::invalid_input(op, self.reason)
    }
}

/// Checks one part against LDK's alphabet and length.
fn check_part(part: &'static str, value: &str) -> Result<(), KeyError> {
    if value.len() > KVSTORE_NAMESPACE_KEY_MAX_LEN {
        return Err(KeyError {
            reason: format!(
                "{part} {} is {} bytes long; the maximum is {KVSTORE_NAMESPACE_KEY_MAX_LEN}",
                shown(value),
                value.len()
            ),
        });
    }
    if let Some(bad) = value.chars().find(|c| !KVSTORE_NAMESPACE_KEY_ALPHABET.contains(*c)) {
        return Err(KeyError {
            reason: format!(
                "{part} {} contains {bad:?}, which is not in [A-Za-z0-9_-]",
                shown(value)
            ),
        });
    }
    Ok(())
}

/// A printable, bounded rendering of user input for error messages.
fn shown(value: &str) -> String {
    const MAX: usize = 48;
    let mut s: String = value.chars().take(MAX).collect();
    if value.chars().count() > MAX {
        s.push('…');
    }
    format!("{s:?}")
}

impl Namespace {
    /// Validates a namespace pair: both parts from [`KVSTORE_NAMESPACE_KEY_ALPHABET`], at most
    /// [`KVSTORE_NAMESPACE_KEY_MAX_LEN`] long, and an empty primary namespace forces an empty
    /// secondary one.
    pub fn new(primary: &str, secondary: &str) -> Result<Self, KeyError> {
        check_part("primary namespace", primary)?;
        check_part("secondary namespace", secondary)?;
        if primary.is_empty() && !secondary.is_empty() {
            return Err(KeyError {
                reason: format!(
                    "secondary namespace {} is set while the primary namespace is empty",
                    shown(secondary)
                ),
            });
        }
        Ok(Namespace { primary: primary.to_owned(), secondary: secondary.to_owned() })
    }

    /// The `("", "")` namespace, where LDK keeps the channel manager, network graph and scorer.
    pub fn root() -> Self {
        Namespace { primary: String::new(), secondary: String::new() }
    }

    /// Validates and builds a key in this namespace.
    pub fn key(&self, key: &str) -> Result<Key, KeyError> {
        check_key(key)?;
        Ok(Key { namespace: self.clone(), key: key.to_owned() })
    }

    /// The primary namespace.
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// The secondary namespace.
    pub fn secondary(&self) -> &str {
        &self.secondary
    }

    /// Whether this is in [`RESERVED_NAMESPACE`], TierStore's own bookkeeping.
    pub fn is_reserved(&self) -> bool {
        self.primary == RESERVED_NAMESPACE
    }
}

fn check_key(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError { reason: "key is empty".to_owned() });
    }
    check_part("key", key)
}

impl Key {
    /// Validates a full key: the namespace rules of [`Namespace::new`], plus a non-empty key
    /// from the same alphabet and within the same length.
    pub fn new(primary: &str, secondary: &str, key: &str) -> Result<Self, KeyError> {
        let namespace = Namespace::new(primary, secondary)?;
        check_key(key)?;
        Ok(Key { namespace, key: key.to_owned() })
    }

    /// The namespace this key lives in.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The primary namespace.
    pub fn primary(&self) -> &str {
        &self.namespace.primary
    }

    /// The secondary namespace.
    pub fn secondary(&self) -> &str {
        &self.namespace.secondary
    }

    /// The key within its namespace.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether this key is in [`RESERVED_NAMESPACE`], TierStore's own bookkeeping.
    pub fn is_reserved(&self) -> bool {
        self.namespace.is_reserved()
    }

    /// The `(primary, secondary, key)` tuple LDK's `list_all_keys` returns.
    pub fn into_tuple(self) -> (String, String, String) {
        (self.namespace.primary, self.namespace.secondary, self.key)
    }
}

/// Renders as `primary/secondary`; empty parts are shown as `""` so the text is unambiguous.
impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Part(&self.primary), Part(&self.secondary))
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({self})")
    }
}

/// Renders as `primary/secondary/key`; empty namespaces are shown as `""`.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.key)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

struct Part<'a>(&'a str);

impl fmt::Display for Part<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("\"\"") } else { f.write_str(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ldk_keys() {
        let k = Key::new("monitors", "", "abc_DEF-012").unwrap();
        assert_eq!((k.primary(), k.secondary(), k.key()), ("monitors", "", "abc_DEF-012"));
        assert_eq!(k.to_string(), "monitors/\"\"/abc_DEF-012");
        assert_eq!(Key::new("", "", "manager").unwrap().to_string(), "\"\"/\"\"/manager");
        let max = "a".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN);
        assert!(Key::new(&max, &max, &max).is_ok());
    }

    #[test]
    fn rejections_name_the_offending_part() {
        let cases = [
            (("", "", ""), "key is empty"),
            (("", "sec", "k"), "secondary namespace \"sec\" is set while the primary"),
            (("a/b", "", "k"), "primary namespace \"a/b\" contains '/'"),
            (("a", "b.c", "k"), "secondary namespace \"b.c\" contains '.'"),
            (("a", "b", "k:1"), "key \"k:1\" contains ':'"),
            (("a", "b", "ü"), "key \"ü\" contains 'ü'"),
        ];
        for ((p, s, k), expected) in cases {
            let err = Key::new(p, s, k).unwrap_err().to_string();
            assert!(err.contains(expected), "{p:?}/{s:?}/{k:?}: {err}");
        }
        let long = "x".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN + 1);
        let err = Key::new("a", "", &long).unwrap_err().to_string();
        assert!(err.starts_with("key \"xxxx") && err.contains("121 bytes long"), "{err}");
        let err = Namespace::new(&long, "").unwrap_err().for_op(Operation::List);
        assert!(err.to_string().starts_with("invalid input to list: primary namespace"), "{err}");
    }
}
