//! Backends on the test binary's shared Redis, each under its own prefix.

#![allow(dead_code, unreachable_pub)]

use tierstore_redis::RedisBackend;
use tierstore_testkit::servers::redis;

/// A backend on the shared server, under a prefix no other test uses.
pub async fn backend(test: &str) -> RedisBackend {
    backend_with_prefix(&redis::unique_prefix(test)).await
}

/// A backend on the shared server under `prefix`.
pub async fn backend_with_prefix(prefix: &str) -> RedisBackend {
    let url = tokio::task::spawn_blocking(redis::shared_url).await.expect("shared Redis");
    RedisBackend::connect(&url, prefix)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test Redis {url}: {e}"))
}
