//! [`TierStoreBuilder`]: assembling a TierStore from backends, a routing rule and, for
//! recovery across crashes, a journal.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Inner, TierStore};
use crate::backend::{Backend, IntoBackend};
use crate::backlog::BackupPolicy;
use crate::error::Error;
use crate::layers::RetryConfig;
use crate::repair::Progress;
use crate::routing::{Routing, RoutingRule};

/// The default number of keys per page of `list_paginated` (the same as lightning-persister's
/// filesystem store).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// A progress callback for the backfill or resilver [`TierStoreBuilder::open`] may run.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Builds a [`TierStore`]. Start with [`TierStore::builder`].
///
/// Each role takes any [`Backend`] by value, an `Arc` of one, or an `Arc<dyn Backend>`.
///
/// - [`open`](Self::open) (async) is the recommended way: with a [`journal`](Self::journal)
///   it recovers from crashes, keeps divergences across restarts, backfills a new backup and
///   resilvers a stale one before returning, and runs the background repairer.
/// - [`build`](Self::build) (sync) makes a store without a journal. It gives up all of that:
///   a crash between the primary's and the backup's half of a write leaves them different
///   with nothing to say so, divergences live in memory only, and a backup added later is
///   never backfilled. Fine for tests and for stores without a backup.
#[must_use = "call .open().await or .build() to get the TierStore"]
pub struct TierStoreBuilder {
    pub(crate) primary: Arc<dyn Backend>,
    pub(crate) backup: Option<Arc<dyn Backend>>,
    pub(crate) ephemeral: Option<Arc<dyn Backend>>,
    pub(crate) routing: Arc<dyn RoutingRule>,
    pub(crate) page_size: usize,
    pub(crate) journal: Option<PathBuf>,
    pub(crate) policy: BackupPolicy,
    pub(crate) repairer: Option<RetryConfig>,
    pub(crate) progress: Option<ProgressFn>,
}

impl TierStoreBuilder {
    pub(super) fn new(primary: Arc<dyn Backend>) -> Self {
        TierStoreBuilder {
            primary,
            backup: None,
            ephemeral: None,
            routing: Arc::new(Routing::ldk_default()),
            page_size: DEFAULT_PAGE_SIZE,
            journal: None,
            policy: BackupPolicy::Required,
            repairer: Some(RetryConfig::default().max_delay(std::time::Duration::from_secs(30))),
            progress: None,
        }
    }

    /// A second durable copy, written together with the primary: a durable mutation succeeds
    /// only once both stores have it (see [`backup_policy`](Self::backup_policy)).
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

    /// Keeps a journal at `path`, a local file (on the primary's disk, typically beside it):
    /// every durable mutation's key is recorded there before it reaches the tiers, so that
    /// [`open`](Self::open) can make the backup equal the primary after a crash. Needs
    /// [`open`](Self::open). See the crate's recovery guarantees.
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }

    /// What a durable write does when the backup fails (default [`BackupPolicy::Required`]).
    /// [`BackupPolicy::Deferred`] needs a [`journal`](Self::journal).
    pub fn backup_policy(mut self, policy: BackupPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The background repairer's backoff (default: the retry layer's policy, capped at 30 s),
    /// or `None` to turn it off ([`TierStore::repair`] still works). Only [`open`](Self::open)
    /// starts a repairer.
    pub fn background_repair(mut self, backoff: Option<RetryConfig>) -> Self {
        self.repairer = backoff;
        self
    }

    /// Called as [`open`](Self::open) backfills or resilvers the backup (also reported
    /// through `tracing`).
    pub fn on_progress(mut self, progress: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Checks the configuration and builds a store without a journal (see the type's docs
    /// for what that gives up).
    ///
    /// Fails with [`Error::Config`] if the page size is zero, if the backup is the primary
    /// itself (the same object), or if a journal or [`BackupPolicy::Deferred`] was asked for
    /// (they need [`open`](Self::open)).
    pub fn build(self) -> Result<TierStore, Error> {
        if self.journal.is_some() {
            return Err(Error::config(
                "a journal needs recovery when the store opens: use .open().await instead of .build()",
            ));
        }
        self.check()?;
        Ok(TierStore::from_inner(Arc::new(Inner::new(self, None, Default::default()))))
    }

    /// Opens the store: replays the journal, checks the tiers' identities, backfills a new
    /// backup or resilvers a stale one, makes every key the journal holds as pending or
    /// diverged equal on the backup to the primary (each under its key's ordering lock),
    /// and starts the background repairer. See [`crate::recovery`] for the whole story.
    ///
    /// Under [`BackupPolicy::Required`], fails with an error naming the backup if the backup
    /// cannot be reached; under [`BackupPolicy::Deferred`] it succeeds and the backup is
    /// brought up to date in the background once it returns.
    pub async fn open(self) -> Result<TierStore, Error> {
        self.check()?;
        crate::recovery::open(self).await
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.page_size == 0 {
            return Err(Error::config("the page size must be at least 1"));
        }
        if let Some(backup) = &self.backup
            && same_object(&self.primary, backup)
        {
            return Err(Error::config(format!(
                "the backup ({backup}) is the primary store itself; it must be a second, \
                 independent store"
            )));
        }
        if matches!(self.policy, BackupPolicy::Deferred { .. }) && self.journal.is_none() {
            return Err(Error::config(
                "BackupPolicy::Deferred needs a journal: a deferred write is acknowledged once \
                 the primary and the journal have it",
            ));
        }
        if !self.primary.capabilities().durable {
            tracing::warn!(
                target: "tierstore", primary = %self.primary,
                "the primary store is not durable: channel state is lost with the process"
            );
        }
        Ok(())
    }
}

/// Whether two backends are certainly one store: the same object, through any layers or
/// adapters ([`Backend::store_address`]). Names prove nothing (two stores of one type may
/// share a name, one store may be reached under two), so they are never compared; with a
/// journal, [`TierStoreBuilder::open`] compares the stores' ids.
fn same_object(a: &Arc<dyn Backend>, b: &Arc<dyn Backend>) -> bool {
    a.store_address() == b.store_address()
}
