//! Routing rules: which keys are ephemeral (rebuildable caches) and which are durable.

use std::collections::HashSet;
use std::fmt;

use lightning::util::persist::{
    NETWORK_GRAPH_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
    NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE, SCORER_PERSISTENCE_KEY,
    SCORER_PERSISTENCE_PRIMARY_NAMESPACE, SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
};

use crate::key::{Key, KeyError, Namespace};

/// Decides which keys a [`TierStore`](crate::TierStore) sends to its ephemeral store.
///
/// Without an ephemeral store every key is durable, whatever the rule says.
///
/// # Contract
///
/// - The answer for a key never changes while a store is open.
/// - [`may_hold_ephemeral`](Self::may_hold_ephemeral) is `true` for every namespace that
///   contains a key for which [`is_ephemeral`](Self::is_ephemeral) is `true`. TierStore only
///   consults the ephemeral store when listing such namespaces, so a failing ephemeral store
///   cannot break other listings.
pub trait RoutingRule: fmt::Debug + Send + Sync + 'static {
    /// Whether `key` is a rebuildable cache that belongs in the ephemeral store.
    fn is_ephemeral(&self, key: &Key) -> bool;

    /// Whether `namespace` may contain ephemeral keys.
    fn may_hold_ephemeral(&self, namespace: &Namespace) -> bool;
}

/// The standard [`RoutingRule`]: a set of ephemeral keys and of wholly ephemeral namespaces.
///
/// [`Routing::ldk_default`] holds LDK's network graph and scorer and ldk-node's external
/// pathfinding scores cache; extend it, or start from [`Routing::none`].
///
/// ```
/// use tierstore_core::{Key, Routing, RoutingRule};
///
/// let routing = Routing::ldk_default().with_namespace("probe_cache", "").unwrap();
/// assert!(routing.is_ephemeral(&Key::new("", "", "network_graph").unwrap()));
/// assert!(routing.is_ephemeral(&Key::new("probe_cache", "", "x").unwrap()));
/// assert!(!routing.is_ephemeral(&Key::new("monitors", "", "x").unwrap()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    keys: HashSet<Key>,
    namespaces: HashSet<Namespace>,
}

/// ldk-node's cache of scores fetched from an external source.
pub const EXTERNAL_PATHFINDING_SCORES_CACHE_KEY: &str = "external_pathfinding_scores_cache";

impl Routing {
    /// No ephemeral keys: everything is durable.
    pub fn none() -> Self {
        Routing::default()
    }

    /// LDK's network graph and scorer, and ldk-node's external pathfinding scores cache, all
    /// in the `("", "")` namespace.
    pub fn ldk_default() -> Self {
        let key = |p, s, k| Key::new(p, s, k).expect("LDK's own constants are valid keys");
        let mut keys = HashSet::new();
        keys.insert(key(
            NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
            NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
            NETWORK_GRAPH_PERSISTENCE_KEY,
        ));
        keys.insert(key(
            SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
            SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
            SCORER_PERSISTENCE_KEY,
        ));
        keys.insert(key("", "", EXTERNAL_PATHFINDING_SCORES_CACHE_KEY));
        Routing { keys, namespaces: HashSet::new() }
    }

    /// Adds one ephemeral key.
    pub fn with_key(mut self, primary: &str, secondary: &str, key: &str) -> Result<Self, KeyError> {
        self.keys.insert(Key::new(primary, secondary, key)?);
        Ok(self)
    }

    /// Makes every key of a namespace ephemeral.
    pub fn with_namespace(mut self, primary: &str, secondary: &str) -> Result<Self, KeyError> {
        self.namespaces.insert(Namespace::new(primary, secondary)?);
        Ok(self)
    }

    /// The ephemeral keys.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// The wholly ephemeral namespaces.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.iter()
    }
}

impl RoutingRule for Routing {
    fn is_ephemeral(&self, key: &Key) -> bool {
        self.namespaces.contains(key.namespace()) || self.keys.contains(key)
    }

    fn may_hold_ephemeral(&self, namespace: &Namespace) -> bool {
        self.namespaces.contains(namespace) || self.keys.iter().any(|k| k.namespace() == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rule_routes_ldk_caches_only() {
        let rule = Routing::ldk_default();
        for k in ["network_graph", "scorer", EXTERNAL_PATHFINDING_SCORES_CACHE_KEY] {
            assert!(rule.is_ephemeral(&Key::new("", "", k).unwrap()), "{k}");
        }
        assert!(!rule.is_ephemeral(&Key::new("", "", "manager").unwrap()));
        assert!(!rule.is_ephemeral(&Key::new("network_graph", "", "scorer").unwrap()));
        assert!(rule.may_hold_ephemeral(&Namespace::root()));
        assert!(!rule.may_hold_ephemeral(&Namespace::new("monitors", "").unwrap()));
        assert!(!Routing::none().may_hold_ephemeral(&Namespace::root()));
    }
}
