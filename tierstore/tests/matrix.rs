//! The TierStore scenario suite over the configurations an operator would choose, with every
//! backend opened by URL through [`tierstore::open`] (so the URL syntax is tested end to end).
//!
//! Module names follow `primary_<p>__backup_<b>__ephemeral_<e>`: `cargo xtask test` builds
//! its backend × role matrix from them. Together with each backend crate's own suites, every
//! backend fills every role at least once. Redis, S3 and PostgreSQL come from the testkit's
//! fixtures (the servers `cargo xtask test` starts, or ones named in the environment).

// `__` separates the roles in module names, which the matrix parser reads.
#![allow(non_snake_case)]

use std::sync::Arc;

use tierstore::Backend;
use tierstore_testkit::Subject;
use tierstore_testkit::servers::{postgres, redis, s3};

async fn sqlite() -> Subject<Arc<dyn Backend>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", dir.path().join("tier.db").display());
    Subject::new(tierstore::open(&url).await.expect("sqlite opens")).with_guard(dir)
}

async fn fs() -> Subject<Arc<dyn Backend>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("file:{}", dir.path().join("tier").display());
    Subject::new(tierstore::open(&url).await.expect("file store opens")).with_guard(dir)
}

async fn memory() -> Arc<dyn Backend> {
    tierstore::open("memory:").await.expect("memory opens")
}

async fn redis() -> Arc<dyn Backend> {
    let url = redis::shared_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}prefix={}", redis::unique_prefix("matrix"));
    tierstore::open(&url).await.expect("redis opens")
}

/// An `s3://` URL on the shared test server. URLs never carry credentials: `tierstore::open`
/// takes them from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, which `cargo xtask test`
/// sets for the server it starts.
fn s3_url(client: &str) -> String {
    let env = s3::shared();
    let from_environment = std::env::var("AWS_ACCESS_KEY_ID").ok();
    assert_eq!(
        from_environment.as_deref(),
        Some(env.access_key_id.as_str()),
        "the S3 test server's credentials must be in the environment: run `cargo xtask test`, \
         or set TIERSTORE_S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    );
    let mut url = url::Url::parse(&format!("s3://{}/", env.bucket)).expect("valid bucket");
    url.set_path(&s3::unique_prefix("matrix"));
    url.query_pairs_mut()
        .append_pair("endpoint", &env.endpoint)
        .append_pair("region", &env.region)
        .append_pair("allow_http", "true")
        .append_pair("client", client);
    url.to_string()
}

/// A `postgres://` URL on the shared test server, in a table of its own. The fixture's server
/// trusts loopback connections; a password would come from `PGPASSWORD`, never the URL.
async fn postgres() -> Arc<dyn Backend> {
    let url = tokio::task::spawn_blocking(postgres::shared_url).await.expect("shared PostgreSQL");
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}table={}", postgres::unique_table("matrix"));
    tierstore::open(&url).await.expect("postgres opens")
}

async fn s3() -> Arc<dyn Backend> {
    tierstore::open(&s3_url("object_store")).await.expect("s3 opens")
}

async fn s3aws() -> Arc<dyn Backend> {
    tierstore::open(&s3_url("aws-sdk")).await.expect("s3 (aws-sdk) opens")
}

/// The S3 backend behind the encryption layer, by URL (`encrypted:s3://...`), keyed by a file.
async fn encrypted_s3() -> Subject<Arc<dyn Backend>> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = dir.path().join("backup.key");
    std::fs::write(&key, "5e".repeat(32)).expect("key file");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    let url = format!("encrypted:{}", s3_url("object_store"));
    let options = tierstore::OpenOptions::default().key_file(&key);
    let backend = tierstore::open_with(&url, &options).await.expect("encrypted s3 opens");
    Subject::new(backend).with_guard(dir)
}

/// The embedded default: what `tierstore demo` runs.
mod primary_sqlite__backup_sqlite__ephemeral_fs {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: sqlite, backup: sqlite, ephemeral: fs);
}

/// The other arrangement of the two embedded backends.
mod primary_fs__backup_fs__ephemeral_sqlite {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: fs, backup: fs, ephemeral: sqlite);
}

/// SQLite primary with a filesystem backup, SQLite caches.
mod primary_sqlite__backup_fs__ephemeral_sqlite {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: sqlite, backup: fs, ephemeral: sqlite);
}

/// Filesystem primary with a SQLite backup, filesystem caches.
mod primary_fs__backup_sqlite__ephemeral_fs {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: fs, backup: sqlite, ephemeral: fs);
}

/// A node on local SQLite with an off-site copy in object storage and a shared cache.
mod primary_sqlite__backup_s3__ephemeral_redis {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: sqlite, backup: s3, ephemeral: redis);
}

/// Everything durable in object storage, through both clients.
mod primary_s3__backup_s3aws__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: s3, backup: s3aws, ephemeral: memory);
}

/// Redis as the authoritative store, SQLite backup, caches in object storage.
mod primary_redis__backup_sqlite__ephemeral_s3 {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: redis, backup: sqlite, ephemeral: s3);
}

/// The AWS SDK client as primary and cache store, the filesystem as backup.
mod primary_s3aws__backup_fs__ephemeral_s3aws {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: s3aws, backup: fs, ephemeral: s3aws);
}

/// Redis as backup, the in-memory backend as primary (tests and throwaway nodes).
mod primary_memory__backup_redis__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: redis, ephemeral: memory);
}

/// A server-side node: PostgreSQL as the authoritative store, a local SQLite backup, Redis
/// caches.
mod primary_postgres__backup_sqlite__ephemeral_redis {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: postgres, backup: sqlite, ephemeral: redis);
}

/// A local SQLite node whose off-host backup is the operator's PostgreSQL, caches in files.
mod primary_sqlite__backup_postgres__ephemeral_fs {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: sqlite, backup: postgres, ephemeral: fs);
}

// An encrypted backup on object storage: what an operator runs off-site.
mod primary_sqlite__backup_encrypted_s3__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: sqlite, backup: encrypted_s3, ephemeral: memory);
}
