//! Credentials never appear in `Display`, `Debug` or errors, and the builder refuses what it
//! must.

mod common;

use tierstore_core::{Backend, Key};
use tierstore_s3::S3Backend;

const SECRET: &str = "do-not-show-this-secret-0123456789";

fn builder(endpoint: &str, bucket: &str) -> tierstore_s3::S3BackendBuilder {
    S3Backend::builder()
        .bucket(bucket)
        .prefix("secrets")
        .endpoint(endpoint)
        .region("us-east-1")
        .credentials("AKIDTIERSTORETEST", SECRET)
        .allow_http(true)
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
}

#[test]
fn display_and_debug_hide_credentials() {
    let builder = builder("http://127.0.0.1:1", "bucket");
    assert_hidden("builder Debug", &format!("{builder:?}"));
    let backend = builder.build().unwrap();
    assert_eq!(backend.to_string(), "s3://bucket/secrets");
    assert_hidden("backend Debug", &format!("{backend:?}"));
    assert_hidden("backend alternate Debug", &format!("{backend:#?}"));
}

#[test]
fn plain_http_needs_consent_and_a_bucket_is_required() {
    let err = builder("http://127.0.0.1:1", "b").allow_http(false).build().unwrap_err();
    assert!(err.to_string().contains("allow_http"), "{err}");
    let err = S3Backend::builder().build().unwrap_err();
    assert!(err.to_string().contains("no bucket"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_permanent_and_hide_credentials() {
    let env = common::env().await;
    let backend = builder(&env.endpoint, &env.bucket).build().unwrap();
    let key = Key::new("monitors", "", "k").unwrap();
    let err = backend.write(&key, "v".into()).await.unwrap_err();
    assert!(!err.is_transient(), "wrong credentials are permanent: {err}");
    let text = format!("{err} {err:?}");
    assert_hidden("error", &text);
    assert!(text.contains("s3://") && text.contains("monitors/\"\"/k"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_an_error_not_an_empty_store() {
    let env = common::env().await;
    let backend = common::server_builder(&env).bucket("no-such-bucket-tierstore").build().unwrap();
    let key = Key::new("monitors", "", "k").unwrap();
    match backend.read(&key).await {
        Err(e) if !e.is_not_found() => {}
        other => panic!("reading from a missing bucket: {other:?}"),
    }
}

#[cfg(feature = "aws-sdk")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_backend_hides_credentials() {
    let env = common::env().await;
    let backend = builder(&env.endpoint, &env.bucket).build_aws_sdk().await.unwrap();
    assert!(backend.to_string().starts_with("s3aws://"), "{backend}");
    assert_hidden("aws backend Debug", &format!("{backend:?}"));
    let key = Key::new("monitors", "", "k").unwrap();
    let err = backend.write(&key, "v".into()).await.unwrap_err();
    assert!(!err.is_transient(), "wrong credentials are permanent: {err}");
    assert_hidden("aws error", &format!("{err} {err:?}"));
    let missing = common::server_builder(&env)
        .bucket("no-such-bucket-tierstore")
        .build_aws_sdk()
        .await
        .unwrap();
    match missing.read(&key).await {
        Err(e) if !e.is_not_found() => {}
        other => panic!("reading from a missing bucket: {other:?}"),
    }
}
