//! [`TierStoreBuilder`]: assembling a TierStore from backends and a routing rule.

use std::sync::Arc;

use super::{Inner, TierBackend, TierStore};
use crate::backend::{Backend, IntoBackend};
use crate::error::{Error, Tier};
use crate::routing::{Routing, RoutingRule};

/// The default number of keys per page of `list_paginated` (the same as lightning-persister's
/// filesystem store).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// Builds a [`TierStore`]. Start with [`TierStore::builder`].
///
/// Each role takes any [`Backend`] by value, an `Arc` of one, or an `Arc<dyn Backend>`.
#[must_use = "call .build() to get the TierStore"]
pub struct TierStoreBuilder {
    primary: Arc<dyn Backend>,
    backup: Option<Arc<dyn Backend>>,
    ephemeral: Option<Arc<dyn Backend>>,
    routing: Arc<dyn RoutingRule>,
    page_size: usize,
}

impl TierStoreBuilder {
    pub(super) fn new(primary: Arc<dyn Backend>) -> Self {
        TierStoreBuilder {
            primary,
            backup: None,
            ephemeral: None,
            routing: Arc::new(Routing::ldk_default()),
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// A second durable copy, written together with the primary: a durable mutation succeeds
    /// only once both stores have it.
    pub fn backup(mut self, backup: impl IntoBackend) -> Self {
        self.backup = Some(backup.into_backend());
        self
    }

    /// The store for rebuildable caches. Keys the routing rule marks ephemeral go here instead
    /// of the primary (and are never written to the backup).
    pub fn ephemeral(mut self, ephemeral: impl IntoBackend) -> Self {
        self.ephemeral = Some(ephemeral.into_backend());
        self
    }

    /// Replaces the routing rule (default: [`Routing::ldk_default`]).
    pub fn routing(mut self, routing: impl RoutingRule) -> Self {
        self.routing = Arc::new(routing);
        self
    }

    /// Sets the number of keys per page of `list_paginated` (default [`DEFAULT_PAGE_SIZE`]).
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size;
        self
    }

    /// Checks the configuration and builds the store.
    ///
    /// Fails with [`Error::Config`] if the page size is zero or if the backup is the primary
    /// itself (which would only look like a second copy).
    pub fn build(self) -> Result<TierStore, Error> {
        if self.page_size == 0 {
            return Err(Error::config("the page size must be at least 1"));
        }
        if let Some(backup) = &self.backup
            && same_store(&self.primary, backup)
        {
            return Err(Error::config(format!(
                "the backup ({backup}) is the primary store itself; it must be a second, \
                 independent store"
            )));
        }
        if !self.primary.capabilities().durable {
            tracing::warn!(
                target: "tierstore", primary = %self.primary,
                "the primary store is not durable: channel state is lost with the process"
            );
        }
        Ok(TierStore {
            inner: Arc::new(Inner {
                primary: TierBackend::new(Tier::Primary, self.primary),
                backup: self.backup.map(|b| TierBackend::new(Tier::Backup, b)),
                ephemeral: self.ephemeral.map(|e| TierBackend::new(Tier::Ephemeral, e)),
                routing: self.routing,
                ordering: Default::default(),
                divergences: Default::default(),
                page_size: self.page_size,
            }),
        })
    }
}

fn same_store(a: &Arc<dyn Backend>, b: &Arc<dyn Backend>) -> bool {
    // The same allocation, or two handles on one persistent store: names of durable backends
    // identify the store (a path, a URL and prefix). In-memory stores are separate instances
    // even when they share a name.
    let durable = a.capabilities().durable && b.capabilities().durable;
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)) || (durable && a.to_string() == b.to_string())
}
