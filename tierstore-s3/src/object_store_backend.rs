//! [`ObjectStoreBackend`]: the backend over any [`object_store::ObjectStore`].

use std::fmt;
use std::sync::Arc;

use object_store::ObjectStore;

use crate::engine::Engine;
use crate::object_store_client::ObjectStoreClient;

/// A [`Backend`](tierstore_core::Backend) over an [`ObjectStore`]: S3 (and S3-compatible
/// servers), GCS, Azure or memory.
///
/// Keys live under `prefix` (see the [crate documentation](crate) for the layout, the
/// pagination index and what a crash between two writes leaves behind). Values above 8 MiB
/// are uploaded in parts.
///
/// The store must support conditional puts (`PutMode::Create` and `PutMode::Update`), user
/// metadata (object attributes) and list in lexicographic order: S3 and S3-compatible
/// servers with `If-None-Match`/`If-Match`, GCS, Azure and the in-memory store do. The local
/// file system store does not keep attributes; use `tierstore-fs` for local disks. Pages cost
/// O(page).
///
/// `Display` is `<store>/<prefix>` (e.g. `InMemory/node1`) unless [`named`](Self::named).
///
/// ```
/// use std::sync::Arc;
/// use tierstore_s3::ObjectStoreBackend;
///
/// let store = Arc::new(object_store::memory::InMemory::new());
/// let backend = ObjectStoreBackend::new(store, "node1");
/// assert_eq!(backend.to_string(), "InMemory/node1");
/// ```
pub struct ObjectStoreBackend {
    engine: Engine<ObjectStoreClient>,
}

impl ObjectStoreBackend {
    /// A backend keeping its objects under `prefix` (`""` for the whole store) in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: impl Into<String>) -> ObjectStoreBackend {
        let prefix = normalize_prefix(&prefix.into());
        let name = if prefix.is_empty() { store.to_string() } else { format!("{store}/{prefix}") };
        let client = ObjectStoreClient::new(store);
        ObjectStoreBackend { engine: Engine::new(client, &prefix, name) }
    }

    /// Names the backend in errors, logs and metrics (must not contain credentials).
    pub fn named(mut self, name: impl Into<String>) -> ObjectStoreBackend {
        self.engine.set_name(name.into());
        self
    }

    /// Uploads values above `bytes` (at least 5 MiB; default 8 MiB) in parts of that size.
    pub fn with_multipart_threshold(mut self, bytes: usize) -> ObjectStoreBackend {
        self.engine.set_multipart_threshold(bytes);
        self
    }

    /// Fetches pages through `store`'s paginated listing (`max-keys`), so that a page costs
    /// O(page) even in a namespace of millions of keys; `store` must be the same store as the
    /// one given to [`new`](Self::new) (e.g. the same `AmazonS3` or `GoogleCloudStorage`).
    /// Without it, a page costs a listing request of the server's default size (1,000 keys
    /// on S3), which is bounded but larger than a small page.
    pub fn with_paginated_list(
        mut self,
        store: Arc<dyn object_store::list::PaginatedListStore>,
    ) -> ObjectStoreBackend {
        self.engine.client_mut().set_paginated(store);
        self
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        self.engine.client().store()
    }

    pub(crate) fn engine(&self) -> &Engine<ObjectStoreClient> {
        &self.engine
    }
}

/// The prefix as object_store spells it: segments without empty parts, characters outside
/// the safe set percent-encoded.
pub(crate) fn normalize_prefix(prefix: &str) -> String {
    object_store::path::Path::from(prefix).to_string()
}

impl fmt::Display for ObjectStoreBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.engine.name())
    }
}

impl fmt::Debug for ObjectStoreBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreBackend").field("name", &self.engine.name()).finish()
    }
}

engine_backend!(ObjectStoreBackend);
