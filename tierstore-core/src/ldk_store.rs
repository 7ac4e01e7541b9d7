//! [`LdkStore`]: any single backend as an LDK store.

use std::future::Future;
use std::sync::Arc;

use lightning::util::persist::{PageToken, PaginatedListResponse};

use crate::backend::Backend;
use crate::error::Error;
use crate::ldk::StoreOps;
use crate::routing::Routing;
use crate::tier_store::TierStore;

/// One backend on its own, implementing LDK's six persistence traits.
///
/// It is a [`TierStore`] with only a primary and no ephemeral routing, so it shares the same
/// validation, per-key call ordering, pagination and error mapping; [`LdkStore::backend`] keeps
/// typed access to the backend.
///
/// ```
/// use lightning::util::persist::KVStoreSync;
/// use tierstore_core::{LdkStore, MemoryBackend};
///
/// let store = LdkStore::new(MemoryBackend::new());
/// KVStoreSync::write(&store, "payments", "", "p1", vec![7])?;
/// assert_eq!(store.backend().len(), 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct LdkStore<B> {
    backend: Arc<B>,
    store: TierStore,
}

impl<B: Backend> LdkStore<B> {
    /// Wraps `backend`.
    pub fn new(backend: B) -> Self {
        Self::from_arc(Arc::new(backend))
    }

    /// Wraps a shared `backend`.
    pub fn from_arc(backend: Arc<B>) -> Self {
        let store = TierStore::builder(Arc::clone(&backend))
            .routing(Routing::none())
            .build()
            .expect("a single-tier store with the default page size is a valid configuration");
        LdkStore { backend, store }
    }

    /// The wrapped backend.
    pub fn backend(&self) -> &Arc<B> {
        &self.backend
    }

    /// Number of keys with mutations in flight (zero when idle).
    pub fn in_flight_keys(&self) -> usize {
        self.store.in_flight_keys()
    }
}

impl<B> Clone for LdkStore<B> {
    fn clone(&self) -> Self {
        LdkStore { backend: Arc::clone(&self.backend), store: self.store.clone() }
    }
}

impl<B: Backend> StoreOps for LdkStore<B> {
    fn read_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send + 'static {
        self.store.read_op(primary, secondary, key)
    }

    fn write_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.store.write_op(primary, secondary, key, value)
    }

    fn remove_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.store.remove_op(primary, secondary, key, lazy)
    }

    fn list_op(
        &self,
        primary: &str,
        secondary: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send + 'static {
        self.store.list_op(primary, secondary)
    }

    fn list_paginated_op(
        &self,
        primary: &str,
        secondary: &str,
        token: Option<PageToken>,
    ) -> impl Future<Output = Result<PaginatedListResponse, Error>> + Send + 'static {
        self.store.list_paginated_op(primary, secondary, token)
    }

    fn list_all_keys_op(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, String, String)>, Error>> + Send + 'static {
        self.store.list_all_keys_op()
    }
}

crate::ldk::impl_ldk_traits!([B: Backend] LdkStore<B>);
