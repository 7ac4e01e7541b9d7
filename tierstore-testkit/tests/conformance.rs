//! The conformance suite on every backend tierstore-core ships: the in-memory backend bare,
//! as `Arc<dyn Backend>` and `Box<dyn Backend>`, through each layer, and the LDK adapter over
//! lightning-persister's `FilesystemStoreV2`, the reference store the suite is validated
//! against.

use std::sync::Arc;
use std::time::Duration;

use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::layers::{BackendExt, RetryConfig};
use tierstore_core::{Backend, Capabilities, LdkBackend, MemoryBackend};
use tierstore_testkit::Subject;

mod conformance_memory {
    async fn factory() -> tierstore_core::MemoryBackend {
        tierstore_core::MemoryBackend::new()
    }
    tierstore_testkit::conformance_tests!(factory);
}

mod memory_as_arc_dyn {
    use super::*;
    async fn factory() -> Arc<dyn Backend> {
        Arc::new(MemoryBackend::new())
    }
    tierstore_testkit::conformance_tests!(factory);
}

mod memory_as_box_dyn {
    use super::*;
    async fn factory() -> Box<dyn Backend> {
        Box::new(MemoryBackend::new())
    }
    tierstore_testkit::conformance_tests!(factory);
}

mod layered_memory {
    use super::*;
    async fn factory() -> impl Backend {
        MemoryBackend::named("mem")
            .metered()
            .traced(None)
            .with_timeout(Duration::from_secs(30))
            .with_retry(RetryConfig::default())
    }
    tierstore_testkit::conformance_tests!(factory);

    #[test]
    fn layers_show_how_they_are_built() {
        let backend = tokio::runtime::Runtime::new().unwrap().block_on(factory());
        assert_eq!(backend.to_string(), "Retry(Timeout(mem))");
    }
}

mod conformance_ldkfs {
    use super::*;

    /// lightning-persister orders pages by file modification time in milliseconds; the
    /// kernel's coarse clock stamps files at jiffy granularity (up to 10 ms).
    pub(crate) const MTIME_RESOLUTION: Duration = Duration::from_millis(15);

    pub(crate) async fn factory() -> Subject<LdkBackend<FilesystemStoreV2>> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = FilesystemStoreV2::new(dir.path().join("store")).expect("fresh directory");
        let backend = LdkBackend::new(store)
            .named("ldk:FilesystemStoreV2")
            .with_list_all_keys()
            .with_capabilities(
                Capabilities::default().with_creation_order_resolution(MTIME_RESOLUTION),
            );
        Subject::new(backend).with_guard(dir)
    }
    tierstore_testkit::conformance_tests!(factory);
}
