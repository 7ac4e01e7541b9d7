//! The [`Backend`](tierstore_core::Backend) implementation shared by every public backend
//! type: each one forwards to its [`Engine`](crate::engine::Engine).

/// Implements `Backend` for a type with a `fn engine(&self) -> &Engine<_>`.
macro_rules! engine_backend {
    ($ty:ty) => {
        #[::async_trait::async_trait]
        impl ::tierstore_core::Backend for $ty {
            fn capabilities(&self) -> ::tierstore_core::Capabilities {
                // Creation order comes from a per-process monotonic clock.
                ::tierstore_core::Capabilities::default()
            }

            async fn read(
                &self,
                key: &::tierstore_core::Key,
            ) -> Result<Vec<u8>, ::tierstore_core::Error> {
                self.engine().read(key).await
            }

            async fn write(
                &self,
                key: &::tierstore_core::Key,
                value: ::bytes::Bytes,
            ) -> Result<(), ::tierstore_core::Error> {
                self.engine().write(key, value).await
            }

            async fn remove(
                &self,
                key: &::tierstore_core::Key,
                _lazy: bool,
            ) -> Result<(), ::tierstore_core::Error> {
                // Removes always take effect at once; a later write cannot race a pending one.
                self.engine().remove(key).await
            }

            async fn list(
                &self,
                namespace: &::tierstore_core::Namespace,
            ) -> Result<Vec<String>, ::tierstore_core::Error> {
                self.engine().list(namespace).await
            }

            async fn list_page(
                &self,
                namespace: &::tierstore_core::Namespace,
                token: Option<&str>,
                limit: usize,
            ) -> Result<::tierstore_core::Page, ::tierstore_core::Error> {
                self.engine().list_page(namespace, token, limit).await
            }

            async fn list_all_keys(
                &self,
            ) -> Result<Vec<::tierstore_core::Key>, ::tierstore_core::Error> {
                self.engine().list_all_keys().await
            }
        }
    };
}
