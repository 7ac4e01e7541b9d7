//! Backends for the recovery tests, built from parameters a parent test process can hand to
//! a child (see `tierstore_testkit::crash`): server URLs and credentials are explicit, never
//! taken from the environment, so a child reaches the very servers its parent started.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;

use tierstore::Backend;
use tierstore::redis::RedisBackend;
use tierstore::s3::S3Backend;
use tierstore_testkit::crash::Params;
use tierstore_testkit::servers::{redis, s3};

pub async fn sqlite(path: &Path) -> Arc<dyn Backend> {
    let url = format!("sqlite:{}", path.display());
    tierstore::open(&url).await.expect("sqlite opens")
}

pub async fn fs(path: &Path) -> Arc<dyn Backend> {
    let url = format!("file:{}", path.display());
    tierstore::open(&url).await.expect("file store opens")
}

/// The shared Redis server and a fresh prefix.
pub fn redis_params(test: &str) -> Params {
    [("redis".to_owned(), redis::shared_url()), ("prefix".to_owned(), redis::unique_prefix(test))]
        .into()
}

pub async fn redis(params: &Params) -> Arc<dyn Backend> {
    Arc::new(RedisBackend::connect(&params["redis"], &params["prefix"]).await.expect("redis"))
}

/// The shared S3 server, its credentials and a fresh prefix.
pub fn s3_params(test: &str) -> Params {
    let env = s3::shared();
    [
        ("endpoint".to_owned(), env.endpoint),
        ("region".to_owned(), env.region),
        ("key_id".to_owned(), env.access_key_id),
        ("secret".to_owned(), env.secret_access_key),
        ("bucket".to_owned(), env.bucket),
        ("prefix".to_owned(), s3::unique_prefix(test)),
    ]
    .into()
}

pub fn s3(params: &Params) -> Arc<dyn Backend> {
    let backend = S3Backend::builder()
        .bucket(&params["bucket"])
        .prefix(&params["prefix"])
        .endpoint(&params["endpoint"])
        .region(&params["region"])
        .credentials(&params["key_id"], &params["secret"])
        .allow_http(true)
        .build()
        .expect("s3 backend");
    Arc::new(backend)
}
