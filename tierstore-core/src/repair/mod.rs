//! Comparing and copying between stores: verify, resilver, copy (restore, migration).
//!
//! These work on any two backends, so the same functions back
//! [`TierStore::verify`](crate::TierStore::verify), the resilver of
//! [`TierStoreBuilder::open`](crate::TierStoreBuilder::open) and the CLI's `verify`, `copy`,
//! `resilver` and `restore` commands.
//!
//! They **stream**: a store is walked namespace by namespace
//! ([`Backend::list_namespaces`]) and page by page ([`Backend::list_page`]), with at most
//! [`Scan::concurrency`] values in flight, so memory does not grow with the number of keys
//! (beyond 32 bytes of fingerprint per key of the namespace being compared: 32 MB for a
//! namespace of a million keys).
//! Progress goes to an optional callback ([`Scan::progress`]) and to `tracing`.
//!
//! TierStore's reserved namespace ([`RESERVED_NAMESPACE`](crate::key::RESERVED_NAMESPACE))
//! is never compared or copied: its keys describe one store, not its data.

mod walk;

use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt, stream};

use crate::backend::Backend;
use crate::error::Error;
use crate::key::{Key, Namespace};
use crate::sync_record::SyncRecord;
use bytes::Bytes;
pub(crate) use walk::{Candidate, Outcome};

/// How many values are read or copied concurrently by default.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Keys per page when listing, by default.
pub const DEFAULT_PAGE: usize = 1000;
/// A copy writes a batch once it holds this many value bytes (or its page ends).
const COPY_BATCH_BYTES: usize = 8 << 20;
/// Keys a [`VerifyReport`] lists per kind of difference, by default.
pub const DEFAULT_MAX_LISTED: usize = 10_000;

/// Settings of a walk over two stores: which keys, how many at once, and who to tell.
///
/// ```
/// use tierstore_core::repair::Scan;
///
/// let durable_only = |key: &tierstore_core::Key| key.primary() != "cache";
/// let progress = |p: &tierstore_core::repair::Progress| eprintln!("{} keys", p.scanned);
/// let scan = Scan::new().include(&durable_only).progress(&progress).concurrency(32);
/// # let _ = scan;
/// ```
#[derive(Clone, Copy)]
pub struct Scan<'a> {
    include: &'a (dyn Fn(&Key) -> bool + Sync),
    progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    concurrency: usize,
    page_size: usize,
    max_listed: usize,
}

impl Default for Scan<'_> {
    fn default() -> Self {
        Scan::new()
    }
}

impl<'a> Scan<'a> {
    /// Every key, [`DEFAULT_CONCURRENCY`] at a time, pages of [`DEFAULT_PAGE`], no callback.
    pub fn new() -> Self {
        Scan {
            include: &|_| true,
            progress: None,
            concurrency: DEFAULT_CONCURRENCY,
            page_size: DEFAULT_PAGE,
            max_listed: DEFAULT_MAX_LISTED,
        }
    }

    /// Only keys for which `include` is true.
    pub fn include(mut self, include: &'a (dyn Fn(&Key) -> bool + Sync)) -> Self {
        self.include = include;
        self
    }

    /// Called after every page and at the end of every namespace.
    pub fn progress(mut self, progress: &'a (dyn Fn(&Progress) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Values read or written at once (at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Keys per listed page (at least 1).
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Keys a [`VerifyReport`] lists per kind of difference (it counts them all).
    pub fn max_listed(mut self, max_listed: usize) -> Self {
        self.max_listed = max_listed;
        self
    }
}

/// Where a walk is, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The namespace being walked (or just finished).
    pub namespace: Namespace,
    /// Namespaces finished.
    pub namespaces_done: usize,
    /// Namespaces in all.
    pub namespaces: usize,
    /// Source keys looked at so far.
    pub scanned: u64,
    /// Keys copied so far.
    pub copied: u64,
    /// Keys removed from the target so far.
    pub removed: u64,
    /// Value bytes copied so far.
    pub bytes: u64,
    /// Whether this is the last report.
    pub finished: bool,
}

/// The differences between a source store and a target store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Keys compared (present in both).
    pub compared: usize,
    /// Keys in the source but not in the target (at most [`Scan::max_listed`]).
    pub missing: Vec<Key>,
    /// Keys in the target but not in the source (at most [`Scan::max_listed`]).
    pub extra: Vec<Key>,
    /// Keys in both, with different values (at most [`Scan::max_listed`]).
    pub different: Vec<Key>,
    /// How many keys are missing (all of them, listed or not).
    pub missing_total: u64,
    /// How many keys are extra.
    pub extra_total: u64,
    /// How many keys differ.
    pub different_total: u64,
}

impl VerifyReport {
    /// Whether the target holds exactly the source's keys and values.
    pub fn is_consistent(&self) -> bool {
        self.missing_total == 0 && self.extra_total == 0 && self.different_total == 0
    }
}

/// What [`TierStore::repair`](crate::TierStore::repair) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepairReport {
    /// Keys whose backup now equals the primary.
    pub repaired: Vec<Key>,
    /// Keys that could not be repaired, with the error.
    pub failed: Vec<(Key, String)>,
}

/// What [`copy_all`] or [`restore`] copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyReport {
    /// Keys copied.
    pub keys: usize,
    /// Value bytes copied.
    pub bytes: u64,
}

/// What [`resilver`] did: the target now equals the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResilverReport {
    /// Source keys looked at.
    pub scanned: u64,
    /// Keys whose target copy was already equal.
    pub unchanged: u64,
    /// Keys copied (missing or different in the target).
    pub copied: u64,
    /// Keys removed from the target (absent from the source).
    pub removed: u64,
    /// Value bytes copied.
    pub bytes: u64,
}

/// Compares every key `include` accepts between `source` and `target`, values included.
pub async fn verify<S, T>(
    source: &S,
    target: &T,
    include: impl Fn(&Key) -> bool + Sync,
) -> Result<VerifyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    verify_with(source, target, Scan::new().include(&include)).await
}

/// [`verify`] with every setting of [`Scan`].
pub async fn verify_with<S, T>(
    source: &S,
    target: &T,
    scan: Scan<'_>,
) -> Result<VerifyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let walked = walk::walk(source, target, &scan, |key, candidate| async move {
        Ok(match candidate {
            Candidate::SourceOnly => Outcome::Missing,
            Candidate::TargetOnly => Outcome::Extra,
            Candidate::InBoth => compare(source, target, &key).await?,
        })
    })
    .await?;
    let mut report = VerifyReport {
        compared: walked.compared as usize,
        missing_total: walked.missing.total,
        extra_total: walked.extra.total,
        different_total: walked.different.total,
        missing: walked.missing.keys,
        extra: walked.extra.keys,
        different: walked.different.keys,
    };
    report.missing.sort();
    report.extra.sort();
    report.different.sort();
    tracing::info!(
        target: "tierstore", %source, %target, compared = report.compared,
        missing = report.missing_total, extra = report.extra_total,
        different = report.different_total, "verify finished"
    );
    Ok(report)
}

async fn compare<S, T>(source: &S, target: &T, key: &Key) -> Result<Outcome, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let (a, b) = futures::future::join(source.read(key), target.read(key)).await;
    match (a, b) {
        (Ok(a), Ok(b)) => Ok(if a == b { Outcome::Equal } else { Outcome::Different }),
        // Removed from either side while we were looking: report it as different.
        (Err(e), _) | (_, Err(e)) if e.is_not_found() => Ok(Outcome::Different),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Makes `target` equal `source` for every key `scan` includes, copying only what differs:
/// missing keys are copied, different values overwritten, keys absent from the source
/// removed. Idempotent, and resumable by running it again (what was copied compares equal).
pub async fn resilver<S, T>(source: &S, target: &T, scan: Scan<'_>) -> Result<ResilverReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    resilver_with(source, target, scan, |key, candidate| async move {
        fix(source, target, &key, candidate).await
    })
    .await
}

/// [`resilver`] with the per-key work given by the caller (TierStore runs it under the key's
/// ordering lock).
pub(crate) async fn resilver_with<S, T, A, Fut>(
    source: &S,
    target: &T,
    scan: Scan<'_>,
    action: A,
) -> Result<ResilverReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
    A: Fn(Key, Candidate) -> Fut,
    Fut: std::future::Future<Output = Result<Outcome, Error>>,
{
    let walked = walk::walk(source, target, &scan, action).await?;
    let report = ResilverReport {
        scanned: walked.scanned,
        unchanged: walked.compared,
        copied: walked.copied,
        removed: walked.removed,
        bytes: walked.bytes,
    };
    tracing::info!(
        target: "tierstore", %source, %target, scanned = report.scanned,
        copied = report.copied, removed = report.removed, bytes = report.bytes,
        "resilver finished"
    );
    Ok(report)
}

/// Makes `target`'s copy of one key equal `source`'s, reading only what it must.
pub(crate) async fn fix<S, T>(
    source: &S,
    target: &T,
    key: &Key,
    candidate: Candidate,
) -> Result<Outcome, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let value = match source.read(key).await {
        Ok(value) => value,
        Err(e) if e.is_not_found() => {
            if candidate == Candidate::SourceOnly {
                return Ok(Outcome::Gone);
            }
            target.remove(key, false).await?;
            return Ok(Outcome::Removed);
        }
        Err(e) => return Err(e),
    };
    if candidate != Candidate::SourceOnly {
        match target.read(key).await {
            Ok(current) if current == value => return Ok(Outcome::Equal),
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    let len = value.len() as u64;
    target.write(key, value.into()).await?;
    Ok(Outcome::Copied(len))
}

/// Makes `target`'s copy of `key` equal `source`'s: writes the value, or removes the key if
/// the source does not have it.
pub async fn copy_key<S, T>(source: &S, target: &T, key: &Key) -> Result<(), Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    match source.read(key).await {
        Ok(value) => target.write(key, value.into()).await,
        Err(e) if e.is_not_found() => target.remove(key, false).await,
        Err(e) => Err(e),
    }
}

/// Copies every key `include` accepts from `source` to `target` (restore, migration).
///
/// Within a namespace, keys are written oldest first, through
/// [`Backend::write_batch`] a page (at most 8 MiB of values) at a time, so the target's
/// creation order (and thus its pagination) matches the source's and a target that commits
/// a batch at once (SQLite) pays one commit per batch; values are read
/// [`Scan::concurrency`] at a time, and namespaces are copied concurrently. Memory holds one
/// page token per [`DEFAULT_PAGE`] keys, one page of keys and one batch of values per
/// namespace in flight, never every key.
/// `on_copied` is called after each key with its value's size.
pub async fn copy_all<S, T>(
    source: &S,
    target: &T,
    include: impl Fn(&Key) -> bool + Sync,
    on_copied: impl Fn(&Key, usize) + Sync,
) -> Result<CopyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    copy_all_with(source, target, Scan::new().include(&include), &on_copied).await
}

/// [`copy_all`] with every setting of [`Scan`] ([`Scan::concurrency`] is how many namespaces
/// are copied at once).
pub async fn copy_all_with<S, T>(
    source: &S,
    target: &T,
    scan: Scan<'_>,
    on_copied: &(dyn Fn(&Key, usize) + Sync),
) -> Result<CopyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let namespaces = walk::namespaces::<S, T>(source, None).await?;
    let total = Mutex::new(CopyReport::default());
    let count = namespaces.len();
    stream::iter(namespaces.into_iter().enumerate())
        .map(|(index, namespace)| {
            let (scan, total) = (&scan, &total);
            async move {
                let report = copy_namespace(source, target, &namespace, scan, on_copied).await?;
                let mut sum = total.lock().unwrap_or_else(|p| p.into_inner());
                sum.keys += report.keys;
                sum.bytes += report.bytes;
                if let Some(progress) = scan.progress {
                    progress(&Progress {
                        namespace,
                        namespaces_done: index + 1,
                        namespaces: count,
                        scanned: sum.keys as u64,
                        copied: sum.keys as u64,
                        removed: 0,
                        bytes: sum.bytes,
                        finished: false,
                    });
                }
                Ok::<_, Error>(())
            }
        })
        .buffer_unordered(scan.concurrency.min(4))
        .try_collect::<Vec<()>>()
        .await?;
    let report = total.into_inner().unwrap_or_else(|p| p.into_inner());
    tracing::info!(
        target: "tierstore", %source, %target, keys = report.keys, bytes = report.bytes,
        "copy finished"
    );
    Ok(report)
}

/// One namespace, oldest key first: list the pages once to learn their tokens, then take
/// them in reverse and each page's keys in reverse.
async fn copy_namespace<S, T>(
    source: &S,
    target: &T,
    namespace: &Namespace,
    scan: &Scan<'_>,
    on_copied: &(dyn Fn(&Key, usize) + Sync),
) -> Result<CopyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let mut tokens = vec![None];
    loop {
        let last = tokens.last().cloned().flatten();
        let page = source.list_page(namespace, last.as_deref(), scan.page_size).await?;
        match page.next {
            Some(next) if Some(&next) != last.as_ref() => tokens.push(Some(next)),
            _ => break,
        }
    }
    let mut report = CopyReport::default();
    for token in tokens.iter().rev() {
        let page = source.list_page(namespace, token.as_deref(), scan.page_size).await?;
        let keys: Vec<Key> = page
            .keys
            .iter()
            .rev()
            .filter_map(|name| namespace.key(name).ok())
            .filter(|key| (scan.include)(key))
            .collect();
        // Values are read several at a time (in order) and written a batch at a time: one
        // commit per batch where the target can (SQLite), the oldest key first.
        let mut reads = stream::iter(keys)
            .map(|key| async move {
                match source.read(&key).await {
                    Ok(value) => Ok(Some((key, value))),
                    // Removed since we listed it: nothing to copy.
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(scan.concurrency.max(1));
        let mut batch: Vec<(Key, Bytes)> = Vec::new();
        let mut batch_bytes = 0;
        loop {
            let next = reads.try_next().await?;
            let done = next.is_none();
            if let Some((key, value)) = next.flatten() {
                batch_bytes += value.len();
                batch.push((key, value.into()));
            }
            if !batch.is_empty() && (done || batch_bytes >= COPY_BATCH_BYTES) {
                let entries = std::mem::take(&mut batch);
                let sizes: Vec<(Key, usize)> =
                    entries.iter().map(|(k, v)| (k.clone(), v.len())).collect();
                target.write_batch(entries).await?;
                for (key, len) in sizes {
                    report.keys += 1;
                    report.bytes += len as u64;
                    on_copied(&key, len);
                }
                batch_bytes = 0;
            }
            if done {
                break;
            }
        }
    }
    Ok(report)
}

/// Counts the keys `scan` includes (for a progress bar's length), a page at a time.
pub async fn count_keys<B: Backend + ?Sized>(backend: &B, scan: Scan<'_>) -> Result<u64, Error> {
    let mut count = 0u64;
    for namespace in walk::namespaces::<B, B>(backend, None).await? {
        walk::pages(backend, &namespace, &scan, |keys: Vec<Key>| {
            count += keys.len() as u64;
            async { Ok(()) }
        })
        .await?;
    }
    Ok(count)
}

/// Whether `backend` holds any key outside TierStore's reserved namespace.
pub async fn is_empty<B: Backend + ?Sized>(backend: &B) -> Result<bool, Error> {
    for namespace in walk::namespaces::<B, B>(backend, None).await? {
        if !backend.list_page(&namespace, None, 1).await?.keys.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Restores a primary from its backup: copies every key (creation order kept, see
/// [`copy_all`]) and gives the primary the identity the backup mirrors, so that a journaled
/// TierStore accepts the pair again (see [`crate::sync_record`]).
///
/// Refuses a primary that holds keys unless `force` is set: a restore is meant for an empty
/// (new or wiped) primary, and a mistaken one would overwrite channel state.
pub async fn restore<S, T>(
    backup: &S,
    primary: &T,
    scan: Scan<'_>,
    force: bool,
    on_copied: &(dyn Fn(&Key, usize) + Sync),
) -> Result<CopyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    if !force && !is_empty(primary).await? {
        return Err(Error::config(format!(
            "{primary} is not empty: a restore overwrites it with {backup}; wipe it or force \
             the restore"
        )));
    }
    let report = copy_all_with(backup, primary, scan, on_copied).await?;
    if let Some(mirrored) = SyncRecord::read(backup).await? {
        let identity =
            SyncRecord { store: mirrored.primary, primary: mirrored.primary, generation: 0 };
        identity.write(primary).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
