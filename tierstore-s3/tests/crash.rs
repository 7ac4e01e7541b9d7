//! What a failure between the two writes of a mutation (value object, index entry) leaves
//! behind, injected with an object store that fails one chosen request: `list` and
//! `list_page` must agree, a listed key must be readable, and the next write repairs.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use tierstore_core::{Backend, Key, Namespace};
use tierstore_s3::ObjectStoreBackend;
use tierstore_testkit::conformance::all_pages;

/// An in-memory store that fails the next put (or delete) of an object whose name contains
/// a chosen fragment, once, with a reset connection.
#[derive(Debug, Default)]
struct FailingStore {
    inner: InMemory,
    fail_put: Mutex<Option<&'static str>>,
    fail_delete: Arc<Mutex<Option<&'static str>>>,
}

fn injected(path: &Path) -> object_store::Error {
    object_store::Error::Generic {
        store: "FailingStore",
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            format!("injected failure at {path}"),
        )),
    }
}

fn take_if(slot: &Mutex<Option<&'static str>>, path: &Path) -> bool {
    let mut slot = slot.lock().unwrap();
    if slot.is_some_and(|fragment| path.as_ref().contains(fragment)) {
        *slot = None;
        return true;
    }
    false
}

impl fmt::Display for FailingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FailingStore")
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if take_if(&self.fail_put, location) {
            return Err(injected(location));
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if take_if(&self.fail_put, location) {
            return Err(injected(location));
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let fail = Arc::clone(&self.fail_delete);
        // Decide per path; forward the others to the inner store.
        let inner = self.inner.clone();
        locations
            .then(move |location| {
                let fail = Arc::clone(&fail);
                let inner = inner.clone();
                async move {
                    let location = location?;
                    if take_if(&fail, &location) {
                        return Err(injected(&location));
                    }
                    let one = futures::stream::iter([Ok(location)]).boxed();
                    inner.delete_stream(one).next().await.unwrap_or_else(|| {
                        Err(object_store::Error::Generic {
                            store: "FailingStore",
                            source: "the inner store returned nothing".into(),
                        })
                    })
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: object_store::RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

fn setup() -> (Arc<FailingStore>, ObjectStoreBackend, Namespace) {
    let store = Arc::new(FailingStore::default());
    let backend = ObjectStoreBackend::new(Arc::clone(&store) as Arc<dyn ObjectStore>, "node");
    (store, backend, Namespace::new("monitors", "").unwrap())
}

fn key(ns: &Namespace, name: &str) -> Key {
    ns.key(name).unwrap()
}

/// `list` (sorted) and the keys of all pages (in page order), after checking they agree.
async fn listed(backend: &ObjectStoreBackend, ns: &Namespace) -> Vec<String> {
    let mut list = backend.list(ns).await.unwrap();
    list.sort();
    let pages: Vec<String> =
        all_pages(backend, ns, 2).await.into_iter().flat_map(|page| page.keys).collect();
    let mut sorted_pages = pages.clone();
    sorted_pages.sort();
    assert_eq!(list, sorted_pages, "list and list_page disagree");
    pages
}

async fn is_missing(backend: &ObjectStoreBackend, key: &Key) -> bool {
    matches!(backend.read(key).await, Err(e) if e.is_not_found())
}

#[tokio::test]
async fn failed_value_write_leaves_nothing() {
    let (store, backend, ns) = setup();
    backend.write(&key(&ns, "a"), "a".into()).await.unwrap();
    *store.fail_put.lock().unwrap() = Some("/data/");
    let err = backend.write(&key(&ns, "k"), "k".into()).await.unwrap_err();
    assert!(err.is_transient(), "a reset connection is transient: {err}");
    assert!(err.to_string().contains("monitors/\"\"/k"), "the error names the key: {err}");
    assert!(is_missing(&backend, &key(&ns, "k")).await);
    assert_eq!(listed(&backend, &ns).await, ["a"]);
    // A retry succeeds and creates the key.
    backend.write(&key(&ns, "k"), "k".into()).await.unwrap();
    assert_eq!(listed(&backend, &ns).await, ["k", "a"]);
}

#[tokio::test]
async fn failed_index_write_leaves_an_unlisted_value_that_the_next_write_repairs() {
    let (store, backend, ns) = setup();
    backend.write(&key(&ns, "a"), "a".into()).await.unwrap();
    *store.fail_put.lock().unwrap() = Some("/idx/");
    assert!(backend.write(&key(&ns, "k"), "k1".into()).await.is_err());
    backend.write(&key(&ns, "b"), "b".into()).await.unwrap();

    // The value landed, its index entry did not: unlisted by both list and list_page,
    // readable, and reported by list_all_keys.
    assert_eq!(backend.read(&key(&ns, "k")).await.unwrap(), b"k1");
    assert_eq!(listed(&backend, &ns).await, ["b", "a"]);
    let all = backend.list_all_keys().await.unwrap();
    assert!(all.contains(&key(&ns, "k")), "{all:?}");

    // The next write is an update: it re-creates the entry at the interrupted creation's
    // stamp, between `a` (created before) and `b` (created after).
    backend.write(&key(&ns, "k"), "k2".into()).await.unwrap();
    assert_eq!(backend.read(&key(&ns, "k")).await.unwrap(), b"k2");
    assert_eq!(listed(&backend, &ns).await, ["b", "k", "a"]);
}

#[tokio::test]
async fn failed_removal_between_index_and_value_never_lists_an_unreadable_key() {
    let (store, backend, ns) = setup();
    for name in ["a", "k", "b"] {
        backend.write(&key(&ns, name), name.into()).await.unwrap();
    }
    // The index entry is deleted first; the value's deletion fails.
    *store.fail_delete.lock().unwrap() = Some("/data/");
    assert!(backend.remove(&key(&ns, "k"), false).await.is_err());
    assert_eq!(listed(&backend, &ns).await, ["b", "a"]);
    assert_eq!(backend.read(&key(&ns, "k")).await.unwrap(), b"k");

    // Removing again finishes the job.
    backend.remove(&key(&ns, "k"), false).await.unwrap();
    assert!(is_missing(&backend, &key(&ns, "k")).await);
    assert_eq!(listed(&backend, &ns).await, ["b", "a"]);
    assert!(!backend.list_all_keys().await.unwrap().contains(&key(&ns, "k")));
}

#[tokio::test]
async fn failed_index_removal_keeps_the_key_whole() {
    let (store, backend, ns) = setup();
    for name in ["a", "k"] {
        backend.write(&key(&ns, name), name.into()).await.unwrap();
    }
    *store.fail_delete.lock().unwrap() = Some("/idx/");
    assert!(backend.remove(&key(&ns, "k"), false).await.is_err());
    // Nothing was removed: still listed by both, and readable.
    assert_eq!(listed(&backend, &ns).await, ["k", "a"]);
    assert_eq!(backend.read(&key(&ns, "k")).await.unwrap(), b"k");
}

#[tokio::test]
async fn a_write_after_an_interrupted_removal_keeps_the_original_position() {
    let (store, backend, ns) = setup();
    for name in ["a", "k", "b"] {
        backend.write(&key(&ns, name), name.into()).await.unwrap();
    }
    *store.fail_delete.lock().unwrap() = Some("/data/");
    assert!(backend.remove(&key(&ns, "k"), false).await.is_err());
    // The removal never completed, so this write is an update of `k`.
    backend.write(&key(&ns, "k"), "k2".into()).await.unwrap();
    assert_eq!(listed(&backend, &ns).await, ["b", "k", "a"]);
    assert_eq!(backend.read(&key(&ns, "k")).await.unwrap(), b"k2");
}

#[tokio::test]
async fn large_values_take_the_same_path() {
    let (store, backend, ns) = setup();
    let big = bytes::Bytes::from(vec![7u8; 9 * 1024 * 1024]);
    *store.fail_put.lock().unwrap() = Some("/idx/");
    assert!(backend.write(&key(&ns, "graph"), big.clone()).await.is_err());
    assert!(listed(&backend, &ns).await.is_empty());
    backend.write(&key(&ns, "graph"), big.clone()).await.unwrap();
    assert_eq!(listed(&backend, &ns).await, ["graph"]);
    assert_eq!(backend.read(&key(&ns, "graph")).await.unwrap(), big);
}
