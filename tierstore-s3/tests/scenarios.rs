//! The TierStore scenario suite with the S3 backend as primary and as backup, with both
//! clients.

mod common;

async fn memory() -> tierstore_core::MemoryBackend {
    tierstore_core::MemoryBackend::new()
}

async fn s3() -> tierstore_s3::S3Backend {
    common::s3_backend("scenario_s3").await
}

#[cfg(feature = "aws-sdk")]
async fn s3aws() -> tierstore_s3::AwsS3Backend {
    common::s3aws_backend("scenario_s3aws").await
}

#[allow(non_snake_case)]
mod primary_s3__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: s3, backup: memory, ephemeral: memory);
}

#[allow(non_snake_case)]
mod primary_memory__backup_s3__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: s3, ephemeral: memory);
}

#[cfg(feature = "aws-sdk")]
#[allow(non_snake_case)]
mod primary_s3aws__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: s3aws, backup: memory, ephemeral: memory);
}

#[cfg(feature = "aws-sdk")]
#[allow(non_snake_case)]
mod primary_memory__backup_s3aws__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: s3aws, ephemeral: memory);
}
