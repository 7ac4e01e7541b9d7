//! LDK's six persistence traits, implemented once for every store type of this crate.
//!
//! A store implements [`StoreOps`] (validated, ordered operations returning `'static`
//! futures); [`impl_ldk_traits!`] derives `KVStore`, `KVStoreSync`, `PaginatedKVStore`,
//! `PaginatedKVStoreSync`, `MigratableKVStore` and `MigratableKVStoreSync` from it, mapping
//! [`Error`] to [`std::io::Error`] and running the sync traits through [`crate::sync`].

use std::future::Future;

use lightning::util::persist::{PageToken, PaginatedListResponse};

use crate::error::Error;

/// The operations behind LDK's traits. Every method validates its input and, for mutations,
/// takes its ordering ticket *before* returning the future.
pub(crate) trait StoreOps {
    fn read_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send + 'static;

    fn write_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static;

    fn remove_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static;

    fn list_op(
        &self,
        primary: &str,
        secondary: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send + 'static;

    fn list_paginated_op(
        &self,
        primary: &str,
        secondary: &str,
        token: Option<PageToken>,
    ) -> impl Future<Output = Result<PaginatedListResponse, Error>> + Send + 'static;

    fn list_all_keys_op(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, String, String)>, Error>> + Send + 'static;
}

/// Maps a store future's error to the `io::Error` LDK expects.
pub(crate) async fn io<T>(
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, lightning::io::Error> {
    future.await.map_err(lightning::io::Error::from)
}

/// Implements LDK's six persistence traits for a type implementing [`StoreOps`].
///
/// `impl_ldk_traits!(Type)` or `impl_ldk_traits!([B: Bound] Type<B>)`.
macro_rules! impl_ldk_traits {
    ([$($gen:tt)*] $ty:ty) => {
        impl<$($gen)*> ::lightning::util::persist::KVStore for $ty {
            fn read(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
            ) -> impl ::std::future::Future<Output = ::lightning::io::Result<Vec<u8>>> + Send + 'static {
                $crate::ldk::io($crate::ldk::StoreOps::read_op(
                    self, primary_namespace, secondary_namespace, key,
                ))
            }

            fn write(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
                buf: Vec<u8>,
            ) -> impl ::std::future::Future<Output = ::lightning::io::Result<()>> + Send + 'static {
                $crate::ldk::io($crate::ldk::StoreOps::write_op(
                    self, primary_namespace, secondary_namespace, key, buf,
                ))
            }

            fn remove(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
            ) -> impl ::std::future::Future<Output = ::lightning::io::Result<()>> + Send + 'static {
                $crate::ldk::io($crate::ldk::StoreOps::remove_op(
                    self, primary_namespace, secondary_namespace, key, lazy,
                ))
            }

            fn list(
                &self, primary_namespace: &str, secondary_namespace: &str,
            ) -> impl ::std::future::Future<Output = ::lightning::io::Result<Vec<String>>> + Send + 'static
            {
                $crate::ldk::io($crate::ldk::StoreOps::list_op(
                    self, primary_namespace, secondary_namespace,
                ))
            }
        }

        impl<$($gen)*> ::lightning::util::persist::PaginatedKVStore for $ty {
            fn list_paginated(
                &self, primary_namespace: &str, secondary_namespace: &str,
                page_token: Option<::lightning::util::persist::PageToken>,
            ) -> impl ::std::future::Future<
                Output = ::lightning::io::Result<::lightning::util::persist::PaginatedListResponse>,
            > + Send + 'static {
                $crate::ldk::io($crate::ldk::StoreOps::list_paginated_op(
                    self, primary_namespace, secondary_namespace, page_token,
                ))
            }
        }

        impl<$($gen)*> ::lightning::util::persist::MigratableKVStore for $ty {
            fn list_all_keys(
                &self,
            ) -> impl ::std::future::Future<Output = ::lightning::io::Result<Vec<(String, String, String)>>>
                   + Send + 'static {
                $crate::ldk::io($crate::ldk::StoreOps::list_all_keys_op(self))
            }
        }

        impl<$($gen)*> ::lightning::util::persist::KVStoreSync for $ty {
            fn read(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
            ) -> ::lightning::io::Result<Vec<u8>> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::read_op(
                    self, primary_namespace, secondary_namespace, key,
                )))
            }

            fn write(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
                buf: Vec<u8>,
            ) -> ::lightning::io::Result<()> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::write_op(
                    self, primary_namespace, secondary_namespace, key, buf,
                )))
            }

            fn remove(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
            ) -> ::lightning::io::Result<()> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::remove_op(
                    self, primary_namespace, secondary_namespace, key, lazy,
                )))
            }

            fn list(
                &self, primary_namespace: &str, secondary_namespace: &str,
            ) -> ::lightning::io::Result<Vec<String>> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::list_op(
                    self, primary_namespace, secondary_namespace,
                )))
            }
        }

        impl<$($gen)*> ::lightning::util::persist::PaginatedKVStoreSync for $ty {
            fn list_paginated(
                &self, primary_namespace: &str, secondary_namespace: &str,
                page_token: Option<::lightning::util::persist::PageToken>,
            ) -> ::lightning::io::Result<::lightning::util::persist::PaginatedListResponse> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::list_paginated_op(
                    self, primary_namespace, secondary_namespace, page_token,
                )))
            }
        }

        impl<$($gen)*> ::lightning::util::persist::MigratableKVStoreSync for $ty {
            fn list_all_keys(&self) -> ::lightning::io::Result<Vec<(String, String, String)>> {
                $crate::sync::block_on($crate::ldk::io(
                    $crate::ldk::StoreOps::list_all_keys_op(self),
                ))
            }
        }
    };
    ($ty:ty) => { $crate::ldk::impl_ldk_traits!([] $ty); };
}

pub(crate) use impl_ldk_traits;
