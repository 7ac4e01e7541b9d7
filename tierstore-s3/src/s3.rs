//! [`S3Backend`] and its builder: the common case of an S3 bucket, with object_store's S3
//! client (and, with the `aws-sdk` feature, [`AwsS3Backend`](crate::AwsS3Backend)).

use std::fmt;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use tierstore_core::Error;

use crate::credentials::{Credentials, Secret};
use crate::object_store_backend::{ObjectStoreBackend, normalize_prefix};

/// A [`Backend`](tierstore_core::Backend) over an S3 bucket (AWS, or any S3-compatible server
/// that supports conditional puts: MinIO, SeaweedFS, Ceph RGW, R2, ...), with object_store's
/// S3 client. Build it with [`S3Backend::builder`].
///
/// `Display` is `s3://bucket/prefix`; neither it nor `Debug` nor any error shows credentials.
pub struct S3Backend {
    inner: ObjectStoreBackend,
}

impl S3Backend {
    /// Starts configuring an S3 backend.
    pub fn builder() -> S3BackendBuilder {
        S3BackendBuilder::default()
    }

    /// The backend over the generic object_store client this is built on.
    pub fn as_object_store_backend(&self) -> &ObjectStoreBackend {
        &self.inner
    }

    pub(crate) fn engine(
        &self,
    ) -> &crate::engine::Engine<crate::object_store_client::ObjectStoreClient> {
        self.inner.engine()
    }
}

impl fmt::Display for S3Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Backend").field("name", &self.to_string()).finish()
    }
}

engine_backend!(S3Backend);

/// Configures an [`S3Backend`] (or, with the `aws-sdk` feature, an
/// [`AwsS3Backend`](crate::AwsS3Backend)).
///
/// Unset settings come from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`, ...). Plain
/// HTTP endpoints are refused unless [`allow_http`](Self::allow_http) is set.
///
/// ```no_run
/// # async fn example() -> Result<(), tierstore_core::Error> {
/// use tierstore_s3::S3Backend;
///
/// let backend = S3Backend::builder()
///     .bucket("ldk-node")
///     .prefix("node1")
///     .endpoint("http://127.0.0.1:8333")
///     .allow_http(true)
///     .region("us-east-1")
///     .credentials("access-key-id", "secret-access-key")
///     .build()?;
/// assert_eq!(backend.to_string(), "s3://ldk-node/node1");
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct S3BackendBuilder {
    pub(crate) bucket: Option<String>,
    pub(crate) prefix: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) allow_http: bool,
    pub(crate) multipart_threshold: Option<usize>,
}

impl S3BackendBuilder {
    /// The bucket (required).
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// The key prefix within the bucket (default: none, the whole bucket).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The endpoint of an S3-compatible server, e.g. `http://127.0.0.1:8333` (default: AWS).
    /// Requests use path-style addressing (`<endpoint>/<bucket>/<key>`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The region (default: from the environment, else `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Static credentials (default: from the environment).
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: Secret::new(secret_access_key.into()),
        });
        self
    }

    /// Whether a plain-HTTP endpoint is accepted (default `false`: HTTPS only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Uploads values above `bytes` (at least 5 MiB; default 8 MiB) in parts of that size.
    pub fn multipart_threshold(mut self, bytes: usize) -> Self {
        self.multipart_threshold = Some(bytes);
        self
    }

    /// The bucket, or a configuration error.
    pub(crate) fn required_bucket(&self) -> Result<&str, Error> {
        match self.bucket.as_deref() {
            Some(bucket) if !bucket.is_empty() => Ok(bucket),
            _ => Err(Error::config("S3 backend: no bucket given")),
        }
    }

    /// Refuses a plain-HTTP endpoint unless allowed.
    pub(crate) fn check_scheme(&self) -> Result<(), Error> {
        match &self.endpoint {
            Some(endpoint) if endpoint.starts_with("http://") && !self.allow_http => {
                Err(Error::config(format!(
                    "S3 backend: endpoint {endpoint} is plain HTTP; call allow_http(true) to accept it"
                )))
            }
            _ => Ok(()),
        }
    }

    /// `<scheme>://bucket/prefix`, the backend's name.
    pub(crate) fn name(&self, scheme: &str) -> String {
        let bucket = self.bucket.as_deref().unwrap_or_default();
        let prefix = normalize_prefix(&self.prefix);
        if prefix.is_empty() {
            format!("{scheme}://{bucket}")
        } else {
            format!("{scheme}://{bucket}/{prefix}")
        }
    }

    /// Builds the backend with object_store's S3 client. Does not contact the server.
    pub fn build(self) -> Result<S3Backend, Error> {
        let bucket = self.required_bucket()?;
        self.check_scheme()?;
        let mut builder = match &self.credentials {
            // Static credentials: nothing from the environment may mix in (a session token).
            Some(credentials) => AmazonS3Builder::new()
                .with_access_key_id(&credentials.access_key_id)
                .with_secret_access_key(credentials.secret_access_key.expose())
                .with_region(env_region().unwrap_or_else(|| DEFAULT_REGION.to_owned())),
            None => AmazonS3Builder::from_env(),
        }
        .with_bucket_name(bucket)
        .with_allow_http(self.allow_http);
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        // object_store's errors do not echo configuration values, but keep only the text.
        let store = builder
            .build()
            .map_err(|e| Error::config(format!("S3 backend {}: {e}", self.name("s3"))))?;
        let store = Arc::new(store);
        let mut inner = ObjectStoreBackend::new(store.clone(), self.prefix.clone())
            .with_paginated_list(store)
            .named(self.name("s3"));
        if let Some(threshold) = self.multipart_threshold {
            inner = inner.with_multipart_threshold(threshold);
        }
        Ok(S3Backend { inner })
    }
}

/// The region when neither the builder nor the environment names one.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
pub(crate) fn env_region() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|region| !region.is_empty()))
}

impl fmt::Debug for S3BackendBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BackendBuilder")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}
