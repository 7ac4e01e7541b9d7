//! Opening stores: every command goes through here, so that every store gets the global
//! options (`--key-file`) and a store read from is never created by mistake.
//!
//! A *source* (`ls`, `get`, `verify`, `copy --from`, `restore --from`) must exist: a
//! mistyped `sqlite:` or `file:` path fails naming it and creates nothing, and a `sqlite:`
//! source is opened read-only (no writer thread, no migration). A *target* (`put`, `rm`,
//! `copy --to`, `restore --to`, `resilver --backup`) is created if missing.

use std::sync::Arc;

use tierstore::{Backend, Error, OpenOptions};

use crate::Global;

/// How this invocation opens stores.
#[derive(Debug, Clone)]
pub(crate) struct Stores {
    base: OpenOptions,
}

impl Stores {
    pub(crate) fn new(global: &Global) -> Stores {
        let mut base = OpenOptions::default();
        if let Some(path) = &global.key_file {
            base = base.key_file(path);
        }
        Stores { base }
    }

    /// The options of a store that is written, created if missing (for a config's roles).
    pub(crate) fn options(&self) -> &OpenOptions {
        &self.base
    }

    /// A store that is only read: it must exist, and nothing is created or migrated.
    pub(crate) async fn source(&self, url: &str) -> Result<Arc<dyn Backend>, Error> {
        tierstore::open_with(url, &self.base.clone().read_only()).await
    }

    /// A store that must exist and may be written (a primary whose identity a journaled
    /// open records).
    pub(crate) async fn existing(&self, url: &str) -> Result<Arc<dyn Backend>, Error> {
        let mut options = self.base.clone();
        options.create = false;
        tierstore::open_with(url, &options).await
    }

    /// A store that is written, created if missing.
    pub(crate) async fn target(&self, url: &str) -> Result<Arc<dyn Backend>, Error> {
        tierstore::open_with(url, &self.base).await
    }
}

/// Whether `store` holds no key (TierStore's own bookkeeping aside).
pub(crate) async fn is_empty(store: &dyn Backend) -> Result<bool, Error> {
    tierstore::repair::is_empty(store).await
}

/// Refuses an empty source unless `force`: an empty store where data was expected is most
/// often the wrong store (a mistyped prefix, bucket or table).
pub(crate) async fn refuse_empty_source(
    source: &dyn Backend,
    force: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    if !force && is_empty(source).await? {
        return Err(format!(
            "{source} is empty: nothing to copy (check the URL; pass --force to go on anyway)"
        )
        .into());
    }
    Ok(())
}
