//! lightning 0.2's `KVStore`, `KVStoreSync` and `MigratableKVStore` for TierStore and
//! LdkStore, derived from the same [`StoreOps`](crate::ldk::StoreOps) as the 0.3 traits.
//!
//! lightning 0.2's async methods return boxed `'static` futures (`AsyncResult`); the store's
//! operations already validate and take their ordering ticket before returning the future, so
//! boxing them keeps the call-order guarantee. Both lines use rust-bitcoin's `io::Error`, so
//! the error mapping is [`crate::ldk::io`] for both.

use crate::{Backend, LdkStore, TierStore};

/// Implements lightning 0.2's persistence traits for a type implementing `StoreOps`.
macro_rules! impl_ldk_0_2_traits {
    ([$($gen:tt)*] $ty:ty) => {
        impl<$($gen)*> ::lightning_0_2::util::persist::KVStore for $ty {
            fn read(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
            ) -> ::lightning_0_2::util::async_poll::AsyncResult<'static, Vec<u8>, ::lightning_0_2::io::Error> {
                Box::pin($crate::ldk::io($crate::ldk::StoreOps::read_op(
                    self, primary_namespace, secondary_namespace, key,
                )))
            }

            fn write(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
                buf: Vec<u8>,
            ) -> ::lightning_0_2::util::async_poll::AsyncResult<'static, (), ::lightning_0_2::io::Error> {
                Box::pin($crate::ldk::io($crate::ldk::StoreOps::write_op(
                    self, primary_namespace, secondary_namespace, key, buf,
                )))
            }

            fn remove(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
            ) -> ::lightning_0_2::util::async_poll::AsyncResult<'static, (), ::lightning_0_2::io::Error> {
                Box::pin($crate::ldk::io($crate::ldk::StoreOps::remove_op(
                    self, primary_namespace, secondary_namespace, key, lazy,
                )))
            }

            fn list(
                &self, primary_namespace: &str, secondary_namespace: &str,
            ) -> ::lightning_0_2::util::async_poll::AsyncResult<'static, Vec<String>, ::lightning_0_2::io::Error> {
                Box::pin($crate::ldk::io($crate::ldk::StoreOps::list_op(
                    self, primary_namespace, secondary_namespace,
                )))
            }
        }

        impl<$($gen)*> ::lightning_0_2::util::persist::KVStoreSync for $ty {
            fn read(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
            ) -> Result<Vec<u8>, ::lightning_0_2::io::Error> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::read_op(
                    self, primary_namespace, secondary_namespace, key,
                )))
            }

            fn write(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
                buf: Vec<u8>,
            ) -> Result<(), ::lightning_0_2::io::Error> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::write_op(
                    self, primary_namespace, secondary_namespace, key, buf,
                )))
            }

            fn remove(
                &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
            ) -> Result<(), ::lightning_0_2::io::Error> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::remove_op(
                    self, primary_namespace, secondary_namespace, key, lazy,
                )))
            }

            fn list(
                &self, primary_namespace: &str, secondary_namespace: &str,
            ) -> Result<Vec<String>, ::lightning_0_2::io::Error> {
                $crate::sync::block_on($crate::ldk::io($crate::ldk::StoreOps::list_op(
                    self, primary_namespace, secondary_namespace,
                )))
            }
        }

        impl<$($gen)*> ::lightning_0_2::util::persist::MigratableKVStore for $ty {
            fn list_all_keys(&self) -> Result<Vec<(String, String, String)>, ::lightning_0_2::io::Error> {
                $crate::sync::block_on($crate::ldk::io(
                    $crate::ldk::StoreOps::list_all_keys_op(self),
                ))
            }
        }
    };
}

impl_ldk_0_2_traits!([] TierStore);
impl_ldk_0_2_traits!([B: Backend] LdkStore<B>);
