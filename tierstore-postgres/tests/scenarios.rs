//! The PostgreSQL backend in each TierStore role, the others in memory.

// `__` separates the roles in module names, which `cargo xtask test`'s matrix reads.
#![allow(non_snake_case)]

mod common;

use tierstore_core::MemoryBackend;
use tierstore_postgres::PostgresBackend;

async fn postgres() -> PostgresBackend {
    common::backend("scenario").await
}

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

mod primary_postgres__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: postgres, backup: memory, ephemeral: memory);
}

mod primary_memory__backup_postgres__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: postgres, ephemeral: memory);
}

mod primary_memory__backup_memory__ephemeral_postgres {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: memory, ephemeral: postgres);
}
