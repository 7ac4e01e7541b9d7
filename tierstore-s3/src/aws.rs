//! [`AwsS3Backend`]: the same backend and data model over `aws-sdk-s3` (feature `aws-sdk`).

use std::fmt;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials as AwsCredentials, Region};
use tierstore_core::Error;

use crate::aws_client::AwsClient;
use crate::engine::Engine;
use crate::object_store_backend::normalize_prefix;
use crate::s3::{DEFAULT_REGION, S3BackendBuilder};

/// A [`Backend`](tierstore_core::Backend) over an S3 bucket with the AWS SDK's client: the
/// same objects, index and guarantees as [`S3Backend`](crate::S3Backend) (the two can read
/// each other's data), for deployments that already configure `aws-sdk-s3` (credential
/// chains, SSO, retries, interceptors).
///
/// `Display` is `s3aws://bucket/prefix`; it never shows credentials.
///
/// ```no_run
/// # async fn example() -> Result<(), tierstore_core::Error> {
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let backend = tierstore_s3::AwsS3Backend::from_sdk_config(&config, "ldk-node", "node1");
/// assert_eq!(backend.to_string(), "s3aws://ldk-node/node1");
/// # Ok(()) }
/// ```
pub struct AwsS3Backend {
    engine: Engine<AwsClient>,
}

impl AwsS3Backend {
    /// A backend keeping its objects under `prefix` in `bucket`, with a configured client.
    pub fn from_client(
        client: Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> AwsS3Backend {
        let bucket = bucket.into();
        let prefix = normalize_prefix(&prefix.into());
        let name = if prefix.is_empty() {
            format!("s3aws://{bucket}")
        } else {
            format!("s3aws://{bucket}/{prefix}")
        };
        AwsS3Backend { engine: Engine::new(AwsClient::new(client, bucket), &prefix, name) }
    }

    /// A backend keeping its objects under `prefix` in `bucket`, with a client built from a
    /// shared SDK configuration (e.g. `aws_config::load_defaults(..).await`).
    pub fn from_sdk_config(
        config: &SdkConfig,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> AwsS3Backend {
        Self::from_client(Client::new(config), bucket, prefix)
    }

    /// Uploads values above `bytes` (at least 5 MiB; default 8 MiB) in parts of that size.
    pub fn with_multipart_threshold(mut self, bytes: usize) -> AwsS3Backend {
        self.engine.set_multipart_threshold(bytes);
        self
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        self.engine.client().client()
    }

    pub(crate) fn engine(&self) -> &Engine<AwsClient> {
        &self.engine
    }
}

impl fmt::Display for AwsS3Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.engine.name())
    }
}

impl fmt::Debug for AwsS3Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsS3Backend").field("name", &self.engine.name()).finish()
    }
}

engine_backend!(AwsS3Backend);

impl S3BackendBuilder {
    /// Builds an [`AwsS3Backend`] from these settings; unset ones come from the AWS SDK's
    /// default chain (environment, profile files, instance metadata). Does not contact S3,
    /// but may query the credential chain.
    pub async fn build_aws_sdk(self) -> Result<AwsS3Backend, Error> {
        let bucket = self.required_bucket()?.to_owned();
        self.check_scheme()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(credentials) = &self.credentials {
            loader = loader.credentials_provider(AwsCredentials::new(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.expose().to_owned(),
                None,
                None,
                "tierstore",
            ));
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            config = config.region(Region::new(DEFAULT_REGION));
        }
        if let Some(endpoint) = &self.endpoint {
            // S3-compatible servers expect path-style addressing.
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        let mut backend = AwsS3Backend::from_client(
            Client::from_conf(config.build()),
            bucket,
            self.prefix.clone(),
        );
        if let Some(threshold) = self.multipart_threshold {
            backend = backend.with_multipart_threshold(threshold);
        }
        Ok(backend)
    }
}
