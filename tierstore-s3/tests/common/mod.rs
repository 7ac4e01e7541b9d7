//! Factories shared by the test binaries: backends on the fixture's S3 server, each under a
//! fresh prefix.

#![allow(dead_code, unreachable_pub)]

use tierstore_s3::{S3Backend, S3BackendBuilder};
use tierstore_testkit::servers::s3::{self, S3Env};

/// The fixture's server (started on first use, off the async worker threads).
pub async fn env() -> S3Env {
    tokio::task::spawn_blocking(s3::shared).await.unwrap_or_else(|e| panic!("S3 fixture: {e}"))
}

/// A builder for the fixture's server and bucket (change the bucket with `.bucket(...)`).
pub fn server_builder(env: &S3Env) -> S3BackendBuilder {
    S3Backend::builder()
        .bucket(&env.bucket)
        .endpoint(&env.endpoint)
        .region(&env.region)
        .credentials(&env.access_key_id, &env.secret_access_key)
        .allow_http(true)
}

/// A builder for the fixture's server and bucket, under a fresh prefix.
async fn builder(test: &str) -> S3BackendBuilder {
    server_builder(&env().await).prefix(s3::unique_prefix(test))
}

/// An [`S3Backend`] (object_store client) under a fresh prefix.
pub async fn s3_backend(test: &str) -> S3Backend {
    builder(test).await.build().unwrap_or_else(|e| panic!("building the S3 backend: {e}"))
}

/// An `AwsS3Backend` (aws-sdk client) under a fresh prefix.
#[cfg(feature = "aws-sdk")]
pub async fn s3aws_backend(test: &str) -> tierstore_s3::AwsS3Backend {
    builder(test)
        .await
        .build_aws_sdk()
        .await
        .unwrap_or_else(|e| panic!("building the aws-sdk S3 backend: {e}"))
}
