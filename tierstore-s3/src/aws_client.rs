//! [`ObjectClient`] over `aws-sdk-s3`.

use std::fmt;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;

use crate::client::{
    ClientError, Condition, Head, ObjectClient, text_says_no_bucket, text_says_transient,
};
use crate::layout::{STAMP_METADATA, Stamp};

/// An aws-sdk-s3 client bound to one bucket.
#[derive(Debug, Clone)]
pub(crate) struct AwsClient {
    client: Client,
    bucket: String,
}

impl AwsClient {
    pub(crate) fn new(client: Client, bucket: String) -> Self {
        AwsClient { client, bucket }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

/// An SDK error with its whole context as its message (the SDK's own `Display` is terse).
#[derive(Debug)]
struct AwsError {
    message: String,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AwsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// Which precondition a failed request carried, to read 409/412 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Plain,
    IfNoneMatch,
    IfMatch,
}

fn classify<E>(err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>, sent: Sent) -> ClientError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|response| response.status().as_u16());
    let code = err.as_service_error().and_then(|e| e.code()).map(str::to_owned);
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        _ => false,
    };
    let message = DisplayErrorContext(&err).to_string();
    let boxed = || Box::new(AwsError { message: message.clone(), source: Box::new(err) });
    if code.as_deref() == Some("NoSuchBucket") || text_says_no_bucket(&message) {
        return ClientError::Permanent(boxed());
    }
    match (status, sent) {
        (Some(404), Sent::IfMatch) => ClientError::Precondition,
        (Some(404), _) => ClientError::NotFound,
        (Some(412 | 409), Sent::IfNoneMatch) => ClientError::AlreadyExists,
        (Some(412), Sent::IfMatch) => ClientError::Precondition,
        (Some(304), _) => ClientError::Precondition,
        (Some(status), _) if status >= 500 || status == 408 || status == 429 => {
            ClientError::Transient(boxed())
        }
        _ if transient || text_says_transient(&message) => ClientError::Transient(boxed()),
        _ => ClientError::Permanent(boxed()),
    }
}

fn stamp_metadata(stamp: Option<&Stamp>) -> Option<std::collections::HashMap<String, String>> {
    stamp.map(|stamp| [(STAMP_METADATA.to_owned(), stamp.as_str().to_owned())].into())
}

#[async_trait]
impl ObjectClient for AwsClient {
    async fn put(
        &self,
        path: &str,
        body: Bytes,
        condition: Condition,
        stamp: Option<&Stamp>,
    ) -> Result<(), ClientError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(path)
            .body(ByteStream::from(body))
            .set_metadata(stamp_metadata(stamp));
        let (request, sent) = match condition {
            Condition::Overwrite => (request, Sent::Plain),
            Condition::Create => (request.if_none_match("*"), Sent::IfNoneMatch),
            Condition::Update(etag) => (request.if_match(etag), Sent::IfMatch),
        };
        request.send().await.map(drop).map_err(|e| classify(e, sent))
    }

    async fn put_multipart(
        &self,
        path: &str,
        body: Bytes,
        stamp: Option<&Stamp>,
        part_size: usize,
    ) -> Result<(), ClientError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(path)
            .set_metadata(stamp_metadata(stamp))
            .send()
            .await
            .map_err(|e| classify(e, Sent::Plain))?;
        let Some(upload_id) = created.upload_id() else {
            return Err(ClientError::Permanent(
                "the server returned no multipart upload id".into(),
            ));
        };
        let parts = (0..body.len()).step_by(part_size.max(1)).enumerate().map(|(i, start)| {
            let end = (start + part_size).min(body.len());
            let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(path)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(body.slice(start..end)))
                .send();
            async move {
                let uploaded = part.await.map_err(|e| classify(e, Sent::Plain))?;
                Ok::<_, ClientError>(
                    CompletedPart::builder()
                        .set_e_tag(uploaded.e_tag().map(str::to_owned))
                        .part_number(number)
                        .build(),
                )
            }
        });
        let result = match futures::future::try_join_all(parts).await {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(path)
                .upload_id(upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder().set_parts(Some(parts)).build(),
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| classify(e, Sent::Plain)),
            Err(e) => Err(e),
        };
        if result.is_err() {
            let abort = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(path)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(e) = abort {
                tracing::warn!(object = path, error = %DisplayErrorContext(&e), "aborting a failed multipart upload failed");
            }
        }
        result
    }

    async fn get(&self, path: &str) -> Result<Bytes, ClientError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(path)
            .send()
            .await
            .map_err(|e| classify(e, Sent::Plain))?;
        // A body cut off mid-way is a transport failure: transient.
        let body = output.body.collect().await.map_err(|e| ClientError::Transient(Box::new(e)))?;
        Ok(body.into_bytes())
    }

    async fn head(&self, path: &str) -> Result<Head, ClientError> {
        let output = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(path)
            .send()
            .await
            .map_err(|e| classify(e, Sent::Plain))?;
        let stamp = output
            .metadata()
            .and_then(|metadata| metadata.get(STAMP_METADATA))
            .and_then(|stamp| Stamp::parse(stamp));
        Ok(Head { etag: output.e_tag().map(str::to_owned), stamp })
    }

    async fn delete(&self, path: &str) -> Result<(), ClientError> {
        match self.client.delete_object().bucket(&self.bucket).key(path).send().await {
            Ok(_) => Ok(()),
            Err(e) => match classify(e, Sent::Plain) {
                ClientError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn list_after(
        &self,
        dir: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, ClientError> {
        let mut names = Vec::with_capacity(limit.min(1000));
        let mut continuation: Option<String> = None;
        while names.len() < limit {
            let want = i32::try_from((limit - names.len()).min(1000)).unwrap_or(1000);
            let output = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(dir)
                .set_start_after(after.map(str::to_owned))
                .set_continuation_token(continuation.take())
                .max_keys(want)
                .send()
                .await
                .map_err(|e| classify(e, Sent::Plain))?;
            names.extend(
                output.contents().iter().filter_map(|object| object.key().map(str::to_owned)),
            );
            match output.next_continuation_token() {
                Some(token) if output.is_truncated() == Some(true) => {
                    continuation = Some(token.to_owned())
                }
                _ => break,
            }
        }
        names.truncate(limit);
        Ok(names)
    }

    async fn list_all(&self, dir: &str) -> Result<Vec<String>, ClientError> {
        let mut names = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let output = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(dir)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|e| classify(e, Sent::Plain))?;
            names.extend(
                output.contents().iter().filter_map(|object| object.key().map(str::to_owned)),
            );
            match output.next_continuation_token() {
                Some(token) if output.is_truncated() == Some(true) => {
                    continuation = Some(token.to_owned())
                }
                _ => return Ok(names),
            }
        }
    }
}
