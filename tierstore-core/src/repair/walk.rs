//! Walking two stores side by side, namespace by namespace and page by page, in bounded
//! memory.
//!
//! For each namespace pair (of either store, TierStore's reserved namespace excepted):
//!
//! 1. the target's keys are listed a page at a time and kept as 128-bit fingerprints
//!    (16 bytes a key, not the key);
//! 2. the source's keys are listed a page at a time; each goes to the caller's action as
//!    [`Candidate::InBoth`] or [`Candidate::SourceOnly`], `concurrency` at a time, and its
//!    fingerprint is kept;
//! 3. the target is listed again; each key whose fingerprint the source did not show goes to
//!    the action as [`Candidate::TargetOnly`].
//!
//! Memory is one page of keys, `concurrency` values in flight, and 32 bytes per key of the
//! largest namespace. Two different keys of one namespace share a fingerprint with
//! probability about n²/2¹²⁹: the action re-reads what it acts on, so such a collision could
//! only hide a key from the report, never corrupt data.

use std::future::Future;
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt, stream};

use super::{Progress, Scan};
use crate::backend::Backend;
use crate::error::Error;
use crate::key::{Key, Namespace};

/// Where a key was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Candidate {
    /// In the source, not in the target.
    SourceOnly,
    /// In both.
    InBoth,
    /// In the target, not in the source.
    TargetOnly,
}

/// What an action found or did about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The target held the source's value.
    Equal,
    /// Reported: the target lacks the key.
    Missing,
    /// Reported: the target holds a key the source does not.
    Extra,
    /// Reported: the values differ.
    Different,
    /// Fixed: the value was copied (this many bytes).
    Copied(u64),
    /// Fixed: removed from the target.
    Removed,
    /// The key vanished meanwhile: nothing to do.
    Gone,
}

/// What a walk saw.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    pub(crate) scanned: u64,
    pub(crate) compared: u64,
    pub(crate) copied: u64,
    pub(crate) removed: u64,
    pub(crate) bytes: u64,
    pub(crate) missing: Listed,
    pub(crate) extra: Listed,
    pub(crate) different: Listed,
}

/// Keys of one kind: how many, and the first few.
#[derive(Debug, Default)]
pub(crate) struct Listed {
    pub(crate) total: u64,
    pub(crate) keys: Vec<Key>,
}

impl Listed {
    fn add(&mut self, key: Key, max: usize) {
        self.total += 1;
        if self.keys.len() < max {
            self.keys.push(key);
        }
    }
}

pub(crate) fn fingerprint(key: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(key.as_bytes())
}

/// Every namespace of either store, sorted, TierStore's own excepted.
pub(crate) async fn namespaces<S, T>(
    source: &S,
    target: Option<&T>,
) -> Result<Vec<Namespace>, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
{
    let mut all = source.list_namespaces().await?;
    if let Some(target) = target {
        all.extend(target.list_namespaces().await?);
    }
    all.retain(|n| !n.is_reserved());
    all.sort_unstable();
    all.dedup();
    Ok(all)
}

/// Calls `on_page` with each page of `namespace`'s keys `scan` includes.
pub(crate) async fn pages<B, F, Fut>(
    backend: &B,
    namespace: &Namespace,
    scan: &Scan<'_>,
    mut on_page: F,
) -> Result<(), Error>
where
    B: Backend + ?Sized,
    F: FnMut(Vec<Key>) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let mut token: Option<String> = None;
    loop {
        let page = backend.list_page(namespace, token.as_deref(), scan.page_size).await?;
        let keys: Vec<Key> = page
            .keys
            .iter()
            .filter_map(|k| namespace.key(k).ok())
            .filter(|k| (scan.include)(k))
            .collect();
        on_page(keys).await?;
        match page.next {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(()),
        }
    }
}

async fn fingerprints<B: Backend + ?Sized>(
    backend: &B,
    namespace: &Namespace,
    scan: &Scan<'_>,
) -> Result<Vec<u128>, Error> {
    let mut all = Vec::new();
    pages(backend, namespace, scan, |keys: Vec<Key>| {
        all.extend(keys.iter().map(|k| fingerprint(k.key())));
        async { Ok(()) }
    })
    .await?;
    all.sort_unstable();
    Ok(all)
}

/// Walks `source` and `target` (see the module docs), calling `action` on every key.
pub(crate) async fn walk<S, T, A, Fut>(
    source: &S,
    target: &T,
    scan: &Scan<'_>,
    action: A,
) -> Result<Walked, Error>
where
    S: Backend + ?Sized,
    T: Backend + ?Sized,
    A: Fn(Key, Candidate) -> Fut,
    Fut: Future<Output = Result<Outcome, Error>>,
{
    let namespaces = namespaces(source, Some(target)).await?;
    let walked = Mutex::new(Walked::default());
    let record = |key: Key, outcome: Outcome| {
        let mut w = walked.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Outcome::Equal => w.compared += 1,
            Outcome::Missing => w.missing.add(key, scan.max_listed),
            Outcome::Extra => w.extra.add(key, scan.max_listed),
            Outcome::Different => {
                w.compared += 1;
                w.different.add(key, scan.max_listed);
            }
            Outcome::Copied(bytes) => {
                w.copied += 1;
                w.bytes += bytes;
            }
            Outcome::Removed => w.removed += 1,
            Outcome::Gone => {}
        }
    };
    let (action, record) = (&action, &record);
    let run = move |keys: Vec<(Key, Candidate)>| {
        stream::iter(keys)
            .map(move |(key, candidate)| {
                let fut = action(key.clone(), candidate);
                async move { fut.await.map(|outcome| (key, outcome)) }
            })
            .buffer_unordered(scan.concurrency)
            .try_for_each(move |(key, outcome)| {
                record(key, outcome);
                async { Ok(()) }
            })
    };
    let report = |namespace: &Namespace, done: usize, finished: bool| {
        if let Some(progress) = scan.progress {
            let w = walked.lock().unwrap_or_else(|p| p.into_inner());
            progress(&Progress {
                namespace: namespace.clone(),
                namespaces_done: done,
                namespaces: namespaces.len(),
                scanned: w.scanned,
                copied: w.copied,
                removed: w.removed,
                bytes: w.bytes,
                finished,
            });
        }
    };
    for (index, namespace) in namespaces.iter().enumerate() {
        let in_target = fingerprints(target, namespace, scan).await?;
        let mut in_source = Vec::new();
        pages(source, namespace, scan, |keys: Vec<Key>| {
            let batch: Vec<(Key, Candidate)> = keys
                .into_iter()
                .map(|key| {
                    let fp = fingerprint(key.key());
                    in_source.push(fp);
                    let candidate = match in_target.binary_search(&fp) {
                        Ok(_) => Candidate::InBoth,
                        Err(_) => Candidate::SourceOnly,
                    };
                    (key, candidate)
                })
                .collect();
            walked.lock().unwrap_or_else(|p| p.into_inner()).scanned += batch.len() as u64;
            let run = run(batch);
            let report = &report;
            async move {
                run.await?;
                report(namespace, index, false);
                Ok(())
            }
        })
        .await?;
        drop(in_target);
        in_source.sort_unstable();
        pages(target, namespace, scan, |keys: Vec<Key>| {
            let batch: Vec<(Key, Candidate)> = keys
                .into_iter()
                .filter(|k| in_source.binary_search(&fingerprint(k.key())).is_err())
                .map(|k| (k, Candidate::TargetOnly))
                .collect();
            run(batch)
        })
        .await?;
        report(namespace, index + 1, index + 1 == namespaces.len());
        tracing::debug!(
            target: "tierstore", %namespace, namespace_index = index + 1,
            namespaces = namespaces.len(), "namespace compared"
        );
    }
    Ok(walked.into_inner().unwrap_or_else(|p| p.into_inner()))
}
