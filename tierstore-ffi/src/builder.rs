//! [`TierStoreBuilder`]: each role by URL or as a foreign backend, routing, journal.

use std::sync::{Arc, Mutex};

use tierstore::{Backend, Error, Routing, Tier, TierStore as CoreStore};

use crate::error::TierStoreError;
use crate::foreign::{ForeignAdapter, ForeignBackend};
use crate::runtime::run;
use crate::store::TierStore;

/// Builds a [`TierStore`]. Each setter returns the builder, so calls chain:
///
/// ```python
/// store = (TierStoreBuilder()
///          .primary_url("sqlite:/var/lib/node/primary.db")
///          .backup_backend(MyPythonStore())
///          .build())
/// ```
///
/// URLs are those of `tierstore::open`: `sqlite:`, `file:`, `redis://`, `s3://`,
/// `postgres://`, `memory:`. Routing starts from LDK's default (network graph and scorer, and
/// ldk-node's scores cache, are ephemeral) and can be extended.
#[derive(uniffi::Object)]
pub struct TierStoreBuilder {
    state: Mutex<State>,
}

#[derive(Clone)]
enum Role {
    Url(String),
    Foreign(Arc<ForeignAdapter>),
}

impl Role {
    async fn open(self, tier: Tier) -> Result<Arc<dyn Backend>, Error> {
        match self {
            Role::Url(url) => tierstore::open(&url).await.map_err(|e| e.in_tier(tier)),
            Role::Foreign(adapter) => Ok(adapter),
        }
    }
}

#[derive(Clone)]
struct State {
    primary: Option<Role>,
    backup: Option<Role>,
    ephemeral: Option<Role>,
    routing: Routing,
    journal: Option<String>,
}

impl TierStoreBuilder {
    fn set(self: Arc<Self>, f: impl FnOnce(&mut State)) -> Arc<Self> {
        f(&mut self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        self
    }

    fn set_routing(
        self: Arc<Self>,
        f: impl FnOnce(Routing) -> Result<Routing, tierstore::KeyError>,
    ) -> Result<Arc<Self>, TierStoreError> {
        {
            let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let routing = std::mem::take(&mut state.routing);
            match f(routing.clone()) {
                Ok(routing) => state.routing = routing,
                Err(err) => {
                    state.routing = routing;
                    return Err(TierStoreError::invalid_input(format!("ephemeral routing: {err}")));
                }
            }
        }
        Ok(self)
    }
}

fn foreign(backend: Arc<dyn ForeignBackend>) -> Role {
    Role::Foreign(Arc::new(ForeignAdapter::new(backend)))
}

#[uniffi::export]
impl TierStoreBuilder {
    /// A builder with no roles yet, LDK's default routing and no journal.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(TierStoreBuilder {
            state: Mutex::new(State {
                primary: None,
                backup: None,
                ephemeral: None,
                routing: Routing::ldk_default(),
                journal: None,
            }),
        })
    }

    /// The primary store, by URL.
    pub fn primary_url(self: Arc<Self>, url: String) -> Arc<Self> {
        self.set(|s| s.primary = Some(Role::Url(url)))
    }

    /// The primary store, implemented in the foreign language.
    pub fn primary_backend(self: Arc<Self>, backend: Arc<dyn ForeignBackend>) -> Arc<Self> {
        let role = foreign(backend);
        self.set(|s| s.primary = Some(role))
    }

    /// The backup store, by URL.
    pub fn backup_url(self: Arc<Self>, url: String) -> Arc<Self> {
        self.set(|s| s.backup = Some(Role::Url(url)))
    }

    /// The backup store, implemented in the foreign language.
    pub fn backup_backend(self: Arc<Self>, backend: Arc<dyn ForeignBackend>) -> Arc<Self> {
        let role = foreign(backend);
        self.set(|s| s.backup = Some(role))
    }

    /// The ephemeral store, by URL.
    pub fn ephemeral_url(self: Arc<Self>, url: String) -> Arc<Self> {
        self.set(|s| s.ephemeral = Some(Role::Url(url)))
    }

    /// The ephemeral store, implemented in the foreign language.
    pub fn ephemeral_backend(self: Arc<Self>, backend: Arc<dyn ForeignBackend>) -> Arc<Self> {
        let role = foreign(backend);
        self.set(|s| s.ephemeral = Some(role))
    }

    /// Routes one more key to the ephemeral store.
    pub fn ephemeral_key(
        self: Arc<Self>,
        primary_namespace: String,
        secondary_namespace: String,
        key: String,
    ) -> Result<Arc<Self>, TierStoreError> {
        self.set_routing(|r| r.with_key(&primary_namespace, &secondary_namespace, &key))
    }

    /// Routes every key of a namespace pair to the ephemeral store.
    pub fn ephemeral_namespace(
        self: Arc<Self>,
        primary_namespace: String,
        secondary_namespace: String,
    ) -> Result<Arc<Self>, TierStoreError> {
        self.set_routing(|r| r.with_namespace(&primary_namespace, &secondary_namespace))
    }

    /// Journals durable writes in this local file, so that a write that reached only one
    /// durable tier is repaired after a crash; the store then recovers when it is built.
    pub fn journal(self: Arc<Self>, path: String) -> Arc<Self> {
        self.set(|s| s.journal = Some(path))
    }

    /// Opens every role and builds the store (recovering from the journal if there is one).
    pub fn build(&self) -> Result<Arc<TierStore>, TierStoreError> {
        let state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let primary = state
            .primary
            .ok_or_else(|| TierStoreError::invalid_input("no primary store: set one first"))?;
        let store = run(async move {
            let mut builder =
                CoreStore::builder(primary.open(Tier::Primary).await?).routing(state.routing);
            if let Some(backup) = state.backup {
                builder = builder.backup(backup.open(Tier::Backup).await?);
            }
            if let Some(ephemeral) = state.ephemeral {
                builder = builder.ephemeral(ephemeral.open(Tier::Ephemeral).await?);
            }
            match state.journal {
                Some(path) => builder.journal(path).open().await,
                None => builder.build(),
            }
        })?;
        Ok(Arc::new(TierStore::new(store)))
    }
}
