//! The Redis backend in each TierStore role, the others in memory.

// `__` separates the roles in module names, which `cargo xtask test`'s matrix reads.
#![allow(non_snake_case)]

mod common;

use tierstore_core::MemoryBackend;
use tierstore_redis::RedisBackend;

async fn redis() -> RedisBackend {
    common::backend("scenario").await
}

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

mod primary_redis__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: redis, backup: memory, ephemeral: memory);
}

mod primary_memory__backup_redis__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: redis, ephemeral: memory);
}

mod primary_memory__backup_memory__ephemeral_redis {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: memory, ephemeral: redis);
}
