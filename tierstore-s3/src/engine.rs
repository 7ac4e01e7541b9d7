//! The key-value data model over an [`ObjectClient`], written once for every client.
//!
//! # Objects
//!
//! Each key has a *value object* and, once its creation has completed, one *index entry*
//! named after its creation stamp (see [`crate::layout`]). The value object records the
//! stamp in its user metadata, so an update or a removal finds the key's index entry with one
//! `HEAD`, and an update keeps the key's position.
//!
//! - **create**: `PUT value If-None-Match: *` (with a new stamp), then `PUT index entry`.
//! - **update** (the create found an object): `HEAD value` for its stamp and ETag, then
//!   `PUT value If-Match: <etag>` (same stamp) together with `PUT index entry
//!   If-None-Match: *`, which re-creates the entry if an interrupted write lost it.
//! - **remove**: `HEAD value` for its stamp, `DELETE index entry`, then `DELETE value`.
//! - **values above the multipart threshold**: `HEAD value`, then a multipart upload (which
//!   object stores cannot make conditional), then the index entry as above.
//! - **list** and **list_page** both read the index only; **list_all_keys** lists the value
//!   objects.
//!
//! # Crashes between the two writes
//!
//! Every mutation writes the value before the index entry and deletes the index entry before
//! the value, so the only state a crash (or a failed request) can leave behind is a value
//! object *without* an index entry: an interrupted creation or an interrupted removal. Such a
//! key is readable, but absent from `list` and `list_page` alike (they agree, as both derive
//! from the index), and it is still reported by `list_all_keys`, so a migration copies every
//! readable value. The next write of the key repairs it: the write is an update (the value
//! object exists), so it re-creates the index entry at the stamp the value object carries:
//! the key's original creation time. The next remove deletes it. No state has an index entry
//! without a value, so a listed key can always be read.
//!
//! # Concurrency
//!
//! TierStore runs at most one mutation per key at a time, in call order. The conditional
//! puts additionally keep two writers of one key (e.g. two processes) from silently losing a
//! creation: a write whose precondition fails starts over, a few times.

use std::collections::HashSet;
use std::fmt;

use bytes::Bytes;
use tierstore_core::{Error, Key, Namespace, Operation, Page};

use crate::client::{ClientError, Condition, ObjectClient};
use crate::layout::{IndexEntry, Layout, Stamp, StampClock, parse_token};

/// Values larger than this are uploaded in parts (S3 accepts at most 5 GiB in one request,
/// and parts may be retried one by one).
pub(crate) const DEFAULT_MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;

/// How often a write starts over when another writer changed the key in between.
const MAX_WRITE_ATTEMPTS: usize = 4;

/// How many index entries one listing request asks for when skipping foreign objects.
const MIN_LIST_BATCH: usize = 16;

/// The data model of one backend: a client, a prefix, and a name for errors.
pub(crate) struct Engine<C> {
    client: C,
    layout: Layout,
    name: String,
    clock: StampClock,
    multipart_threshold: usize,
}

impl<C: ObjectClient> Engine<C> {
    pub(crate) fn new(client: C, prefix: &str, name: String) -> Self {
        Engine {
            client,
            layout: Layout::new(prefix),
            name,
            clock: StampClock::new(),
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
        }
    }

    pub(crate) fn client(&self) -> &C {
        &self.client
    }

    pub(crate) fn client_mut(&mut self) -> &mut C {
        &mut self.client
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn set_name(&mut self, name: String) {
        self.name = name;
    }

    /// Values above `threshold` bytes are uploaded in parts of `threshold` bytes (S3 requires
    /// at least 5 MiB per part).
    pub(crate) fn set_multipart_threshold(&mut self, threshold: usize) {
        self.multipart_threshold = threshold.max(5 * 1024 * 1024);
    }

    fn error(&self, op: Operation, target: impl fmt::Display, err: ClientError) -> Error {
        match err {
            ClientError::NotFound => Error::not_found(&self.name, op, target),
            ClientError::AlreadyExists => {
                Error::transient(&self.name, op, target, "the object was created concurrently")
            }
            ClientError::Precondition => {
                Error::transient(&self.name, op, target, "the object was changed concurrently")
            }
            ClientError::Transient(source) => Error::transient(&self.name, op, target, source),
            ClientError::Permanent(source) => Error::backend(&self.name, op, target, source),
        }
    }

    pub(crate) async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let value = self
            .client
            .get(&self.layout.data(key))
            .await
            .map_err(|e| self.error(Operation::Read, key, e))?;
        Ok(value.to_vec())
    }

    pub(crate) async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        if value.len() > self.multipart_threshold {
            return self.write_large(key, value).await;
        }
        let data = self.layout.data(key);
        let fail = |e| self.error(Operation::Write, key, e);
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let stamp = self.clock.next();
            match self.client.put(&data, value.clone(), Condition::Create, Some(&stamp)).await {
                Ok(()) => {
                    tracing::trace!(backend = %self.name, %key, "created");
                    return self.put_index(key, &stamp, Condition::Overwrite).await;
                }
                Err(ClientError::AlreadyExists) => {}
                Err(e) => return Err(fail(e)),
            }
            // An update: keep the value object's stamp, and so the key's position.
            let head = match self.client.head(&data).await {
                Ok(head) => head,
                // Removed in between by someone else: start over.
                Err(ClientError::NotFound) => continue,
                Err(e) => return Err(fail(e)),
            };
            // An object without our metadata (written by another tool) becomes a creation.
            let stamp = head.stamp.unwrap_or(stamp);
            let condition = head.etag.map_or(Condition::Overwrite, Condition::Update);
            let (put, index) = futures::join!(
                self.client.put(&data, value.clone(), condition, Some(&stamp)),
                self.put_index(key, &stamp, Condition::Create),
            );
            match put {
                Ok(()) => {}
                Err(ClientError::Precondition | ClientError::NotFound) => continue,
                Err(e) => return Err(fail(e)),
            }
            index?;
            tracing::trace!(backend = %self.name, %key, "updated");
            return Ok(());
        }
        Err(fail(ClientError::Precondition))
    }

    /// A value above the multipart threshold: multipart uploads cannot be conditional, so the
    /// `HEAD` comes first.
    async fn write_large(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let data = self.layout.data(key);
        let fail = |e| self.error(Operation::Write, key, e);
        let (stamp, created) = match self.client.head(&data).await {
            Ok(head) => match head.stamp {
                Some(stamp) => (stamp, false),
                None => (self.clock.next(), true),
            },
            Err(ClientError::NotFound) => (self.clock.next(), true),
            Err(e) => return Err(fail(e)),
        };
        let part_size = self.multipart_threshold;
        if created {
            self.client.put_multipart(&data, value, Some(&stamp), part_size).await.map_err(fail)?;
            self.put_index(key, &stamp, Condition::Overwrite).await
        } else {
            let (put, index) = futures::join!(
                self.client.put_multipart(&data, value, Some(&stamp), part_size),
                self.put_index(key, &stamp, Condition::Create),
            );
            put.map_err(fail)?;
            index
        }
    }

    /// Writes `key`'s index entry; with [`Condition::Create`], an existing entry is success.
    async fn put_index(&self, key: &Key, stamp: &Stamp, condition: Condition) -> Result<(), Error> {
        match self.client.put(&self.layout.index(key, stamp), Bytes::new(), condition, None).await {
            Ok(()) | Err(ClientError::AlreadyExists) => Ok(()),
            Err(e) => Err(self.error(Operation::Write, key, e)),
        }
    }

    pub(crate) async fn remove(&self, key: &Key) -> Result<(), Error> {
        let data = self.layout.data(key);
        let fail = |e| self.error(Operation::Remove, key, e);
        let head = match self.client.head(&data).await {
            Ok(head) => head,
            Err(ClientError::NotFound) => return Ok(()),
            Err(e) => return Err(fail(e)),
        };
        // The index entry goes first: a crash in between leaves an unlisted value (see the
        // module documentation), never a listed key that cannot be read.
        if let Some(stamp) = head.stamp {
            self.client.delete(&self.layout.index(key, &stamp)).await.map_err(fail)?;
        }
        self.client.delete(&data).await.map_err(fail)
    }

    pub(crate) async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let dir = self.layout.index_dir(namespace);
        let names = self
            .client
            .list_all(&dir)
            .await
            .map_err(|e| self.error(Operation::List, namespace, e))?;
        let mut seen = HashSet::with_capacity(names.len());
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            match self.entry(namespace, &dir, &name) {
                Some(entry) => {
                    if seen.insert(entry.key.clone()) {
                        keys.push(entry.key);
                    }
                }
                None => self.warn_foreign(&name),
            }
        }
        Ok(keys)
    }

    pub(crate) async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let dir = self.layout.index_dir(namespace);
        let mut after = match token {
            Some(token) => {
                Some(format!("{dir}{}", parse_token(&self.name, namespace, token)?.name))
            }
            None => None,
        };
        // One entry beyond the page tells whether an older key remains.
        let wanted = limit.saturating_add(1);
        let mut entries: Vec<IndexEntry> = Vec::with_capacity(wanted.min(1024));
        loop {
            let batch = (wanted - entries.len()).max(MIN_LIST_BATCH.min(wanted));
            let names = self
                .client
                .list_after(&dir, after.as_deref(), batch)
                .await
                .map_err(|e| self.error(Operation::ListPage, namespace, e))?;
            let exhausted = names.len() < batch;
            for name in &names {
                match self.entry(namespace, &dir, name) {
                    Some(entry) if entries.len() < wanted => entries.push(entry),
                    Some(_) => {}
                    None => self.warn_foreign(name),
                }
            }
            after = names.last().cloned();
            if exhausted || entries.len() >= wanted {
                break;
            }
        }
        let more = entries.len() > limit;
        entries.truncate(limit);
        let next = if more { entries.last().map(|entry| entry.name.clone()) } else { None };
        Ok(Page::new(entries.into_iter().map(|entry| entry.key).collect(), next))
    }

    pub(crate) async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let root = self.layout.data_root();
        let names = self
            .client
            .list_all(&root)
            .await
            .map_err(|e| self.error(Operation::ListAllKeys, &root, e))?;
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            match self.layout.parse_data(&name) {
                Some(key) => keys.push(key),
                None => self.warn_foreign(&name),
            }
        }
        Ok(keys)
    }

    fn entry(&self, namespace: &Namespace, dir: &str, name: &str) -> Option<IndexEntry> {
        IndexEntry::parse(namespace, name.strip_prefix(dir)?)
    }

    fn warn_foreign(&self, name: &str) {
        tracing::warn!(backend = %self.name, object = name, "ignoring an object TierStore did not write");
    }
}
