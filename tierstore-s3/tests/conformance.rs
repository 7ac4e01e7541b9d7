//! The backend conformance suite on the S3 backend: with object_store's client and (feature
//! `aws-sdk`) the AWS SDK's against the S3 test server, and over object_store's in-memory
//! store.

mod common;

mod conformance_s3 {
    async fn factory() -> tierstore_s3::S3Backend {
        super::common::s3_backend("conformance_s3").await
    }
    tierstore_testkit::conformance_tests!(factory);
}

#[cfg(feature = "aws-sdk")]
mod conformance_s3aws {
    async fn factory() -> tierstore_s3::AwsS3Backend {
        super::common::s3aws_backend("conformance_s3aws").await
    }
    tierstore_testkit::conformance_tests!(factory);
}

mod object_store_memory_conformance {
    use std::sync::Arc;

    async fn factory() -> tierstore_s3::ObjectStoreBackend {
        let store = Arc::new(object_store::memory::InMemory::new());
        tierstore_s3::ObjectStoreBackend::new(store, "node")
    }
    tierstore_testkit::conformance_tests!(factory);
}
