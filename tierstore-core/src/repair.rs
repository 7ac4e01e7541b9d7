//! Comparing and copying between stores: verify, repair (resilver), restore and migrate.
//!
//! These work on any two backends, so the same functions back
//! [`TierStore::verify`](crate::TierStore::verify), [`TierStore::repair`](crate::TierStore::repair)
//! and the CLI's `verify` and `copy` commands.

use std::collections::{BTreeMap, HashSet};

use futures::{StreamExt, TryStreamExt, stream};

use crate::backend::Backend;
use crate::error::Error;
use crate::key::{Key, Namespace};

/// How many values are read or copied concurrently.
const CONCURRENCY: usize = 16;

/// The differences between a source store and a target store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Keys compared (present in both).
    pub compared: usize,
    /// Keys in the source but not in the target.
    pub missing: Vec<Key>,
    /// Keys in the target but not in the source.
    pub extra: Vec<Key>,
    /// Keys in both, with different values.
    pub different: Vec<Key>,
}

impl VerifyReport {
    /// Whether the target holds exactly the source's keys and values.
    pub fn is_consistent(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.different.is_empty()
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

/// What [`copy_all`] copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyReport {
    /// Keys copied.
    pub keys: usize,
    /// Value bytes copied.
    pub bytes: u64,
}

/// Compares every key `include` accepts between `source` and `target`, values included.
pub async fn verify<S, T>(
    source: &S,
    target: &T,
    include: impl Fn(&Key) -> bool,
) -> Result<VerifyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let (source_keys, target_keys) =
        futures::future::try_join(source.list_all_keys(), target.list_all_keys()).await?;
    let source_keys: HashSet<Key> = source_keys.into_iter().filter(|k| include(k)).collect();
    let target_keys: HashSet<Key> = target_keys.into_iter().filter(|k| include(k)).collect();

    let mut report = VerifyReport {
        missing: sorted(source_keys.difference(&target_keys)),
        extra: sorted(target_keys.difference(&source_keys)),
        ..VerifyReport::default()
    };
    let common = sorted(source_keys.intersection(&target_keys));
    report.compared = common.len();
    let mut different: Vec<Key> = stream::iter(common)
        .map(|key| async move {
            let (a, b) = futures::future::join(source.read(&key), target.read(&key)).await;
            match (a, b) {
                (Ok(a), Ok(b)) => Ok((a != b).then_some(key)),
                // Removed from either side while we were looking: report it as different.
                (Err(e), _) | (_, Err(e)) if e.is_not_found() => Ok(Some(key)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_filter_map(|k| async move { Ok(k) })
        .try_collect()
        .await?;
    different.sort();
    report.different = different;
    Ok(report)
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
/// Within a namespace, keys are written oldest first, so the target's creation order (and
/// thus its pagination) matches the source's. Namespaces are copied concurrently.
/// `on_copied` is called after each key with its value's size.
pub async fn copy_all<S, T>(
    source: &S,
    target: &T,
    include: impl Fn(&Key) -> bool,
    on_copied: impl Fn(&Key, usize) + Sync,
) -> Result<CopyReport, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let mut namespaces: BTreeMap<Namespace, HashSet<String>> = BTreeMap::new();
    for key in source.list_all_keys().await?.into_iter().filter(|k| include(k)) {
        namespaces.entry(key.namespace().clone()).or_default().insert(key.key().to_owned());
    }
    let on_copied = &on_copied;
    let reports: Vec<CopyReport> = stream::iter(namespaces)
        .map(|(namespace, keys)| async move {
            let mut report = CopyReport::default();
            for key in creation_order(source, &namespace, keys).await? {
                let value = match source.read(&key).await {
                    Ok(value) => value,
                    // Removed since we listed it: nothing to copy.
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => return Err(e),
                };
                let len = value.len();
                target.write(&key, value.into()).await?;
                report.keys += 1;
                report.bytes += len as u64;
                on_copied(&key, len);
            }
            Ok::<_, Error>(report)
        })
        .buffer_unordered(4)
        .try_collect()
        .await?;
    Ok(reports.into_iter().fold(CopyReport::default(), |acc, r| CopyReport {
        keys: acc.keys + r.keys,
        bytes: acc.bytes + r.bytes,
    }))
}

/// The given keys of `namespace`, oldest-created first, by walking the source's pages.
async fn creation_order<S: Backend + ?Sized>(
    source: &S,
    namespace: &Namespace,
    mut keys: HashSet<String>,
) -> Result<Vec<Key>, Error> {
    let mut newest_first = Vec::with_capacity(keys.len());
    let mut token = None;
    loop {
        let page = source.list_page(namespace, token.as_deref(), 1000).await?;
        newest_first.extend(page.keys.into_iter().filter(|k| keys.remove(k)));
        match page.next {
            Some(next) if !keys.is_empty() => token = Some(next),
            _ => break,
        }
    }
    // Keys created while we paged, if any, come last (they are the newest).
    let mut remaining: Vec<String> = keys.into_iter().collect();
    remaining.sort();
    let ordered = newest_first.into_iter().rev().chain(remaining);
    ordered
        .map(|k| {
            namespace
                .key(&k)
                .map_err(|e| Error::backend(source, crate::Operation::ListPage, namespace, e))
        })
        .collect()
}

fn sorted<'a>(keys: impl Iterator<Item = &'a Key>) -> Vec<Key> {
    let mut keys: Vec<Key> = keys.cloned().collect();
    keys.sort();
    keys
}
