//! The few object-storage requests the index logic needs, as a small internal trait with one
//! implementation per client library (object_store, and aws-sdk-s3 behind the `aws-sdk`
//! feature). The index and pagination logic ([`crate::engine`]) is written once against it.

use async_trait::async_trait;
use bytes::Bytes;
use tierstore_core::BoxError;

use crate::layout::Stamp;

/// A precondition on a single-request put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    /// Write whatever is there.
    Overwrite,
    /// Only if no object exists (`If-None-Match: *`); else [`ClientError::AlreadyExists`].
    Create,
    /// Only if the object still has this ETag (`If-Match`); else
    /// [`ClientError::Precondition`].
    Update(String),
}

/// What a `HEAD` of an object tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Head {
    /// The object's ETag, if the store reports one.
    pub(crate) etag: Option<String>,
    /// The creation stamp in the object's user metadata, if present and well-formed.
    pub(crate) stamp: Option<Stamp>,
}

/// A failed request, classified for the index logic and for the retry layer.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// The object does not exist.
    NotFound,
    /// A [`Condition::Create`] put found an object.
    AlreadyExists,
    /// A [`Condition::Update`] put found another version (or none).
    Precondition,
    /// May pass: connection, timeout, throttling, 5xx.
    Transient(BoxError),
    /// Will not pass by retrying.
    Permanent(BoxError),
}

/// An object-storage client: object names are full keys within the bucket (`a/b/c`).
#[async_trait]
pub(crate) trait ObjectClient: Send + Sync + 'static {
    /// Stores `body` at `path` in one request, under `condition`, recording `stamp` in the
    /// object's user metadata.
    async fn put(
        &self,
        path: &str,
        body: Bytes,
        condition: Condition,
        stamp: Option<&Stamp>,
    ) -> Result<(), ClientError>;

    /// Stores `body` at `path` as a multipart upload of `part_size` parts (unconditionally);
    /// the object appears whole when the upload completes, or not at all.
    async fn put_multipart(
        &self,
        path: &str,
        body: Bytes,
        stamp: Option<&Stamp>,
        part_size: usize,
    ) -> Result<(), ClientError>;

    /// The object's content.
    async fn get(&self, path: &str) -> Result<Bytes, ClientError>;

    /// The object's ETag and stamp, without its content.
    async fn head(&self, path: &str) -> Result<Head, ClientError>;

    /// Deletes the object; succeeds if it does not exist.
    async fn delete(&self, path: &str) -> Result<(), ClientError>;

    /// Up to `limit` object names under `dir` (which ends in `/`) that sort after `after`, in
    /// ascending lexicographic order. Costs O(limit) where the store allows it.
    async fn list_after(
        &self,
        dir: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, ClientError>;

    /// Every object name under `dir`, in any order.
    async fn list_all(&self, dir: &str) -> Result<Vec<String>, ClientError>;
}

/// Whether an error's text says the server was throttling or failing (HTTP 5xx, 408, 429 or
/// S3's throttling codes). Used where a client library does not expose the status.
pub(crate) fn text_says_transient(text: &str) -> bool {
    const MARKERS: [&str; 12] = [
        "status code: 5",
        "status code: 408",
        "status code: 429",
        "SlowDown",
        "Throttl",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "503 Service Unavailable",
        "500 Internal Server Error",
        "502 Bad Gateway",
        "504 Gateway Timeout",
    ];
    MARKERS.iter().any(|marker| text.contains(marker))
}

/// Whether an error's text says the bucket is missing: never a mere missing key.
pub(crate) fn text_says_no_bucket(text: &str) -> bool {
    text.contains("NoSuchBucket")
}
