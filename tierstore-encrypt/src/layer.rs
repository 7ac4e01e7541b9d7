//! [`Encrypted`]: the layer itself.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use tierstore_core::{Backend, Capabilities, Error, Key, Namespace, Operation, Page};
use tokio::sync::Mutex;

use crate::envelope::{self, EnvelopeError, Opened};
use crate::keys::Keyring;
use crate::metadata::{self, Metadata};
use crate::names::{NameMode, Names};

/// Values at least this large are sealed and opened on a blocking thread, so that a 64 MiB
/// network graph never holds an async worker for tens of milliseconds.
const BLOCKING_THRESHOLD: usize = 256 * 1024;
/// Lock stripes that order `rotate`'s read-reseal-write against the layer's own mutations.
const STRIPES: usize = 256;
/// Keys `rotate` fetches per page.
const ROTATE_PAGE: usize = 500;

/// Encrypts and authenticates every value of the backend it wraps, and optionally its names.
/// Shown as `Encrypted(inner)`.
///
/// Built with [`Encrypted::builder`], which reads (or, on an empty backend, creates) the
/// store's encrypted metadata. Meant for a backup on someone else's machines; works in any
/// role. See the crate documentation for the format and the threat model.
pub struct Encrypted<B> {
    inner: B,
    keys: Keyring,
    store_id: [u8; 16],
    names: Names,
    last_stamp: AtomicU64,
    locks: Box<[Mutex<()>]>,
    hasher: RandomState,
}

/// Configures and opens an [`Encrypted`] layer.
#[derive(Debug)]
pub struct EncryptedBuilder<B> {
    inner: B,
    keys: Keyring,
    names: Option<NameMode>,
}

impl<B: Backend> EncryptedBuilder<B> {
    /// How a *new* store keeps its names (default [`NameMode::Obfuscated`]). An existing store
    /// keeps the mode it records; asking for another one is a configuration error.
    pub fn names(mut self, mode: NameMode) -> Self {
        self.names = Some(mode);
        self
    }

    /// Reads the store's metadata, or creates it if the backend is empty.
    ///
    /// Fails with [`Error::Config`] when the backend holds keys but no metadata, or records a
    /// name mode other than the one asked for; with an `InvalidData` [`Error::Backend`] when
    /// the metadata does not open with any key of the keyring.
    pub async fn open(self) -> Result<Encrypted<B>, Error> {
        let EncryptedBuilder { inner, keys, names } = self;
        let meta_key = metadata::key();
        let name = format!("Encrypted({inner})");
        let meta = match inner.read(&meta_key).await {
            Ok(raw) => {
                let opened = envelope::open(&keys, &metadata::NO_STORE, &meta_key, raw)
                    .and_then(|o| Metadata::from_bytes(&o.value))
                    .map_err(|e| invalid_data(&name, Operation::Open, &meta_key, e))?;
                if let Some(asked) = names.filter(|m| *m != opened.mode) {
                    return Err(Error::config(format!(
                        "{name}: the store keeps {} names; {asked} names were asked for",
                        opened.mode
                    )));
                }
                opened
            }
            Err(e) if e.is_not_found() => {
                if !tierstore_core::repair::is_empty(&inner).await? {
                    return Err(Error::config(format!(
                        "{name}: the backend holds keys but no encryption metadata at {meta_key}: \
                         it is not an encrypted store, or its metadata was deleted"
                    )));
                }
                let meta = Metadata::generate(names.unwrap_or_default())
                    .map_err(|e| Error::config(format!("no OS randomness: {e}")))?;
                let sealed = envelope::seal(
                    keys.current(),
                    envelope::random_nonce(),
                    &metadata::NO_STORE,
                    &meta_key,
                    0,
                    None,
                    &meta.to_bytes(),
                );
                inner.write(&meta_key, Bytes::from(sealed)).await?;
                tracing::info!(backend = %name, names = %meta.mode, "created encryption metadata");
                meta
            }
            Err(e) => return Err(e),
        };
        Ok(Encrypted {
            names: Names::new(meta.mode, &meta.name_secret),
            store_id: meta.store_id,
            inner,
            keys,
            last_stamp: AtomicU64::new(0),
            locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
        })
    }
}

/// Progress of [`Encrypted::rotate`], passed to its callback after every key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotateProgress {
    /// Stored objects looked at.
    pub scanned: u64,
    /// Objects re-sealed under the current key.
    pub rewritten: u64,
}

fn invalid_data(backend: &str, op: Operation, key: &dyn fmt::Display, e: EnvelopeError) -> Error {
    Error::backend(backend, op, key, io::Error::new(io::ErrorKind::InvalidData, e))
}

impl<B: Backend> Encrypted<B> {
    /// Starts configuring a layer over `inner` with the keys of `keys`.
    pub fn builder(inner: B, keys: Keyring) -> EncryptedBuilder<B> {
        EncryptedBuilder { inner, keys, names: None }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// How this store keeps its names.
    pub fn name_mode(&self) -> NameMode {
        self.names.mode()
    }

    /// The keyring in use.
    pub fn keyring(&self) -> &Keyring {
        &self.keys
    }

    /// Where `key` is stored in the wrapped backend.
    pub fn stored_key(&self, key: &Key) -> Key {
        self.names.encode_key(key).0
    }

    /// Reads `key` with the write stamp sealed beside it: strictly increasing over the
    /// writes of this layer (microseconds since the Unix epoch, or one more than the last
    /// stamp when the clock stands still or goes back), so an older value of the same key
    /// replayed by the backend's operator shows a smaller stamp than the one last written.
    pub async fn read_stamped(&self, key: &Key) -> Result<(Vec<u8>, u64), Error> {
        let opened = self.read_opened(key, Operation::Read).await?;
        Ok((opened.value, opened.stamp))
    }

    fn name(&self) -> String {
        self.to_string()
    }

    fn refuse_metadata(&self, key: &Key, op: Operation) -> Result<(), Error> {
        if self.names.mode() == NameMode::Clear && *key == metadata::key() {
            return Err(Error::invalid_input(
                op,
                format!("{key} is reserved for the encryption layer's metadata"),
            ));
        }
        Ok(())
    }

    fn is_metadata(stored: &Key) -> bool {
        *stored == metadata::key()
    }

    fn lock_for(&self, stored: &Key) -> &Mutex<()> {
        &self.locks[(self.hasher.hash_one(stored) % STRIPES as u64) as usize]
    }

    fn next_stamp(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let prev = self
            .last_stamp
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| Some(now.max(last + 1)))
            .expect("the closure always returns Some");
        now.max(prev + 1)
    }

    /// Reads and opens the object stored for `key`, checking the names inside if any.
    async fn read_opened(&self, key: &Key, op: Operation) -> Result<Opened, Error> {
        self.refuse_metadata(key, op)?;
        let (stored, _) = self.names.encode_key(key);
        let raw = self.inner.read(&stored).await.map_err(|e| {
            if e.is_not_found() { Error::not_found(self.name(), op, key) } else { e }
        })?;
        let opened = self
            .open_raw(&stored, raw)
            .await
            .map_err(|e| invalid_data(&self.name(), op, key, e))?;
        if opened.names.as_ref().is_some_and(|names| names != key) {
            return Err(invalid_data(
                &self.name(),
                op,
                key,
                EnvelopeError::BadPayload("the names inside do not match the key"),
            ));
        }
        Ok(opened)
    }

    async fn open_raw(&self, stored: &Key, raw: Vec<u8>) -> Result<Opened, EnvelopeError> {
        if raw.len() < BLOCKING_THRESHOLD {
            return envelope::open(&self.keys, &self.store_id, stored, raw);
        }
        let (keys, store_id, stored) = (self.keys.clone(), self.store_id, stored.clone());
        tokio::task::spawn_blocking(move || envelope::open(&keys, &store_id, &stored, raw))
            .await
            .expect("opening an envelope does not panic")
    }

    async fn seal(
        &self,
        stored: &Key,
        names_inside: Option<&Key>,
        stamp: u64,
        value: Bytes,
    ) -> Vec<u8> {
        let nonce = envelope::random_nonce();
        if value.len() < BLOCKING_THRESHOLD {
            return envelope::seal(
                self.keys.current(),
                nonce,
                &self.store_id,
                stored,
                stamp,
                names_inside,
                &value,
            );
        }
        let (keys, store_id, stored, names) =
            (self.keys.clone(), self.store_id, stored.clone(), names_inside.cloned());
        tokio::task::spawn_blocking(move || {
            envelope::seal(keys.current(), nonce, &store_id, &stored, stamp, names.as_ref(), &value)
        })
        .await
        .expect("sealing an envelope does not panic")
    }

    /// The real key of a stored one whose names are (partly) keyed hashes: from its envelope.
    async fn real_key_from_envelope(
        &self,
        stored: &Key,
        op: Operation,
    ) -> Result<Option<Key>, Error> {
        let raw = match self.inner.read(stored).await {
            Ok(raw) => raw,
            Err(e) if e.is_not_found() => return Ok(None), // removed meanwhile
            Err(e) => return Err(e),
        };
        let opened = self
            .open_raw(stored, raw)
            .await
            .map_err(|e| invalid_data(&self.name(), op, stored, e))?;
        let names = opened.names.ok_or_else(|| {
            invalid_data(
                &self.name(),
                op,
                stored,
                EnvelopeError::BadPayload("a hashed name without names inside"),
            )
        })?;
        if self.names.encode_key(&names).0 != *stored {
            return Err(invalid_data(
                &self.name(),
                op,
                stored,
                EnvelopeError::BadPayload("the names inside do not match the stored name"),
            ));
        }
        Ok(Some(names))
    }

    fn bad_name(&self, op: Operation, stored: &dyn fmt::Display, why: String) -> Error {
        Error::backend(
            self.name(),
            op,
            stored,
            io::Error::new(io::ErrorKind::InvalidData, format!("stored name {why}")),
        )
    }

    /// The real names of the stored keys of the real namespace `ns` (stored as `stored_ns`).
    async fn decode_names(
        &self,
        ns: &Namespace,
        stored_ns: &Namespace,
        stored_names: Vec<String>,
        op: Operation,
    ) -> Result<Vec<String>, Error> {
        let mut out = Vec::with_capacity(stored_names.len());
        for stored_name in stored_names {
            let stored = stored_ns
                .key(&stored_name)
                .map_err(|e| self.bad_name(op, &stored_name, e.to_string()))?;
            if Self::is_metadata(&stored) {
                continue;
            }
            match self
                .names
                .decode_key_name(ns, &stored_name)
                .map_err(|e| self.bad_name(op, &stored, e))?
            {
                Some(name) => out.push(name),
                None => {
                    if let Some(real) = self.real_key_from_envelope(&stored, op).await? {
                        out.push(real.key().to_owned());
                    }
                }
            }
        }
        Ok(out)
    }

    /// The real key of any stored key (`None`: the metadata, or removed meanwhile).
    async fn decode_key(&self, stored: &Key, op: Operation) -> Result<Option<Key>, Error> {
        if Self::is_metadata(stored) {
            return Ok(None);
        }
        let ns = self
            .names
            .decode_namespace(stored.namespace())
            .map_err(|e| self.bad_name(op, stored, e))?;
        if let Some(ns) = ns
            && let Some(name) = self
                .names
                .decode_key_name(&ns, stored.key())
                .map_err(|e| self.bad_name(op, stored, e))?
        {
            return ns.key(&name).map(Some).map_err(|e| self.bad_name(op, stored, e.to_string()));
        }
        self.real_key_from_envelope(stored, op).await
    }

    /// Re-seals every object not sealed with the keyring's current key (the metadata first),
    /// calling `progress` after each object. Values, stamps, names and creation positions are
    /// kept (an update keeps a key's position).
    ///
    /// Resumable: an interrupted rotation leaves each object sealed under the old key or the
    /// new one, never torn (every write is atomic); running it again with both keys in the
    /// keyring finishes the job, skipping what is done. Afterwards the previous keys can be
    /// dropped from the keyring (retired). Mutations through this layer during a rotation are
    /// safe (a per-key lock orders them against the re-seal); writers through another handle
    /// of the same backend must be stopped.
    pub async fn rotate(
        &self,
        mut progress: impl FnMut(&RotateProgress) + Send,
    ) -> Result<RotateProgress, Error> {
        let current = self.keys.current_id();
        let mut report = RotateProgress::default();
        let meta_key = metadata::key();
        let raw = self.inner.read(&meta_key).await?;
        let op = Operation::Write;
        if envelope::key_id(&raw).map_err(|e| invalid_data(&self.name(), op, &meta_key, e))?
            != current
        {
            let opened = envelope::open(&self.keys, &metadata::NO_STORE, &meta_key, raw)
                .map_err(|e| invalid_data(&self.name(), op, &meta_key, e))?;
            let sealed = envelope::seal(
                self.keys.current(),
                envelope::random_nonce(),
                &metadata::NO_STORE,
                &meta_key,
                opened.stamp,
                None,
                &opened.value,
            );
            self.inner.write(&meta_key, Bytes::from(sealed)).await?;
            report.rewritten += 1;
        }
        report.scanned += 1;
        progress(&report);
        for stored_ns in self.inner.list_namespaces().await? {
            let mut token: Option<String> = None;
            loop {
                let page = self.inner.list_page(&stored_ns, token.as_deref(), ROTATE_PAGE).await?;
                for name in &page.keys {
                    let stored =
                        stored_ns.key(name).map_err(|e| self.bad_name(op, name, e.to_string()))?;
                    if Self::is_metadata(&stored) {
                        continue;
                    }
                    if self.reseal(&stored).await? {
                        report.rewritten += 1;
                    }
                    report.scanned += 1;
                    progress(&report);
                }
                match page.next {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
        }
        tracing::info!(backend = %self, scanned = report.scanned, rewritten = report.rewritten, key = %current, "rotation finished");
        Ok(report)
    }

    /// Re-seals one stored object under the current key if another sealed it.
    async fn reseal(&self, stored: &Key) -> Result<bool, Error> {
        let op = Operation::Write;
        let _guard = self.lock_for(stored).lock().await;
        let raw = match self.inner.read(stored).await {
            Ok(raw) => raw,
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        if envelope::key_id(&raw).map_err(|e| invalid_data(&self.name(), op, stored, e))?
            == self.keys.current_id()
        {
            return Ok(false);
        }
        let opened = self
            .open_raw(stored, raw)
            .await
            .map_err(|e| invalid_data(&self.name(), op, stored, e))?;
        let sealed =
            self.seal(stored, opened.names.as_ref(), opened.stamp, Bytes::from(opened.value)).await;
        self.inner.write(stored, Bytes::from(sealed)).await?;
        Ok(true)
    }
}

impl<B: Backend> fmt::Display for Encrypted<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encrypted({})", self.inner)
    }
}

impl<B: Backend> fmt::Debug for Encrypted<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encrypted")
            .field("inner", &format_args!("{}", self.inner))
            .field("keys", &self.keys)
            .field("names", &self.names.mode())
            .finish_non_exhaustive()
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Encrypted<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        Ok(self.read_opened(key, Operation::Read).await?.value)
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.refuse_metadata(key, Operation::Write)?;
        let (stored, hashed) = self.names.encode_key(key);
        let stamp = self.next_stamp();
        let sealed = self.seal(&stored, hashed.then_some(key), stamp, value).await;
        let _guard = self.lock_for(&stored).lock().await;
        self.inner.write(&stored, Bytes::from(sealed)).await
    }

    /// One entry at a time through [`write`](Backend::write): each is sealed and written
    /// under its own name lock, which orders it against a concurrent `rotate`.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        tierstore_core::write_each(self, entries).await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.refuse_metadata(key, Operation::Remove)?;
        let (stored, _) = self.names.encode_key(key);
        let _guard = self.lock_for(&stored).lock().await;
        self.inner.remove(&stored, lazy).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let stored_ns = self.names.encode_namespace(namespace);
        let names = self.inner.list(&stored_ns).await?;
        self.decode_names(namespace, &stored_ns, names, Operation::List).await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let stored_ns = self.names.encode_namespace(namespace);
        let page = self.inner.list_page(&stored_ns, token, limit).await?;
        let keys = self.decode_names(namespace, &stored_ns, page.keys, Operation::ListPage).await?;
        Ok(Page::new(keys, page.next))
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let mut out = Vec::new();
        for stored in self.inner.list_all_keys().await? {
            if let Some(key) = self.decode_key(&stored, Operation::ListAllKeys).await? {
                out.push(key);
            }
        }
        Ok(out)
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        let op = Operation::ListAllKeys;
        let meta_ns = metadata::key().namespace().clone();
        let mut out = Vec::new();
        for stored_ns in self.inner.list_namespaces().await? {
            if stored_ns == meta_ns {
                // Holds the metadata; in clear mode maybe also TierStore's own records.
                let real = self.inner.list_page(&stored_ns, None, 2).await?;
                if self.names.mode() == NameMode::Clear
                    && real.keys.iter().any(|k| k != metadata::key().key())
                {
                    out.push(stored_ns);
                }
                continue;
            }
            match self
                .names
                .decode_namespace(&stored_ns)
                .map_err(|e| self.bad_name(op, &stored_ns, e))?
            {
                Some(ns) => out.push(ns),
                None => {
                    // A hashed namespace name: the real one is inside any of its values.
                    let page = self.inner.list_page(&stored_ns, None, 1).await?;
                    if let Some(name) = page.keys.first() {
                        let stored = stored_ns
                            .key(name)
                            .map_err(|e| self.bad_name(op, name, e.to_string()))?;
                        if let Some(key) = self.real_key_from_envelope(&stored, op).await? {
                            out.push(key.namespace().clone());
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }
}

/// `Arc<Encrypted<B>>` handles share one layer (e.g. to rotate while TierStore writes).
pub type SharedEncrypted<B> = Arc<Encrypted<B>>;
