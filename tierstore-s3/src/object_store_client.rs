//! [`ObjectClient`] over any [`object_store::ObjectStore`].

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions,
    PutOptions, PutPayload, UpdateVersion,
};

use crate::client::text_says_transient;
use crate::client::{ClientError, Condition, Head, ObjectClient, text_says_no_bucket};
use crate::layout::{STAMP_METADATA, Stamp};

/// An object_store client. Its listings must come in lexicographic order (S3, GCS, Azure and
/// the in-memory store list that way).
#[derive(Clone)]
pub(crate) struct ObjectStoreClient {
    store: Arc<dyn ObjectStore>,
    /// Lists with `max-keys` where the store supports it: `ObjectStore::list` always asks for
    /// the server's largest page (1,000 keys on S3), so a page of 100 would cost ten times
    /// its size in a large namespace.
    paginated: Option<Arc<dyn PaginatedListStore>>,
}

impl std::fmt::Debug for ObjectStoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreClient")
            .field("store", &self.store.to_string())
            .field("paginated", &self.paginated.is_some())
            .finish()
    }
}

impl ObjectStoreClient {
    pub(crate) fn new(store: Arc<dyn ObjectStore>) -> Self {
        ObjectStoreClient { store, paginated: None }
    }

    pub(crate) fn set_paginated(&mut self, paginated: Arc<dyn PaginatedListStore>) {
        self.paginated = Some(paginated);
    }

    /// Up to `limit` names under `dir` after `after`, asking the server for no more.
    async fn list_paginated(
        &self,
        paginated: &dyn PaginatedListStore,
        dir: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, ClientError> {
        // Unlike `ObjectStore::list`, the prefix is taken literally: keep its trailing `/`.
        let prefix = format!("{}/", path(dir)?);
        let offset = after.map(|after| path(after).map(|p| p.to_string())).transpose()?;
        let mut names = Vec::with_capacity(limit.min(1000));
        let mut page_token = None;
        while names.len() < limit {
            let options = PaginatedListOptions {
                offset: offset.clone(),
                max_keys: Some(limit - names.len()),
                page_token: page_token.take(),
                ..PaginatedListOptions::default()
            };
            let page = paginated.list_paginated(Some(&prefix), options).await.map_err(classify)?;
            names.extend(page.result.objects.into_iter().map(|meta| meta.location.to_string()));
            match page.page_token {
                Some(token) => page_token = Some(token),
                None => break,
            }
        }
        // The server returns names in ascending order, as `list_after` promises.
        names.truncate(limit);
        Ok(names)
    }

    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }
}

fn path(name: &str) -> Result<Path, ClientError> {
    Path::parse(name).map_err(|e| ClientError::Permanent(Box::new(e)))
}

fn attributes(stamp: Option<&Stamp>) -> Attributes {
    let mut attributes = Attributes::new();
    if let Some(stamp) = stamp {
        attributes
            .insert(Attribute::Metadata(STAMP_METADATA.into()), stamp.as_str().to_owned().into());
    }
    attributes
}

/// Classifies an object_store error.
pub(crate) fn classify(err: object_store::Error) -> ClientError {
    use object_store::Error as E;
    match err {
        E::NotFound { .. } if text_says_no_bucket(&chain_text(&err)) => {
            ClientError::Permanent(Box::new(err))
        }
        E::NotFound { .. } => ClientError::NotFound,
        E::AlreadyExists { .. } => ClientError::AlreadyExists,
        E::Precondition { .. } | E::NotModified { .. } => ClientError::Precondition,
        other if is_transient(&other) => ClientError::Transient(Box::new(other)),
        other => ClientError::Permanent(Box::new(other)),
    }
}

/// The error and all its sources, as text.
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Connection, timeout and interruption errors of the HTTP client, transient I/O errors, and
/// throttling or server-side failures (object_store only exposes those as text).
fn is_transient(err: &(dyn std::error::Error + 'static)) -> bool {
    use object_store::client::HttpErrorKind;
    let mut current = Some(err);
    while let Some(e) = current {
        let http_transient =
            e.downcast_ref::<object_store::client::HttpError>().is_some_and(|http| {
                matches!(
                    http.kind(),
                    HttpErrorKind::Connect
                        | HttpErrorKind::Request
                        | HttpErrorKind::Timeout
                        | HttpErrorKind::Interrupted
                )
            });
        let io_transient = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| tierstore_core::is_transient_io_kind(io.kind()));
        if http_transient || io_transient {
            return true;
        }
        current = e.source();
    }
    text_says_transient(&chain_text(err))
}

#[async_trait]
impl ObjectClient for ObjectStoreClient {
    async fn put(
        &self,
        name: &str,
        body: Bytes,
        condition: Condition,
        stamp: Option<&Stamp>,
    ) -> Result<(), ClientError> {
        let mode = match condition {
            Condition::Overwrite => PutMode::Overwrite,
            Condition::Create => PutMode::Create,
            Condition::Update(etag) => {
                PutMode::Update(UpdateVersion { e_tag: Some(etag), version: None })
            }
        };
        let options = PutOptions { mode, attributes: attributes(stamp), ..PutOptions::default() };
        self.store
            .put_opts(&path(name)?, PutPayload::from_bytes(body), options)
            .await
            .map(drop)
            .map_err(classify)
    }

    async fn put_multipart(
        &self,
        name: &str,
        body: Bytes,
        stamp: Option<&Stamp>,
        part_size: usize,
    ) -> Result<(), ClientError> {
        let options =
            PutMultipartOptions { attributes: attributes(stamp), ..PutMultipartOptions::default() };
        let mut upload =
            self.store.put_multipart_opts(&path(name)?, options).await.map_err(classify)?;
        // Parts are uploaded concurrently; the object only appears on `complete`.
        let parts: Vec<_> = (0..body.len())
            .step_by(part_size.max(1))
            .map(|start| {
                let end = (start + part_size).min(body.len());
                upload.put_part(PutPayload::from_bytes(body.slice(start..end)))
            })
            .collect();
        let uploaded = futures::future::try_join_all(parts).await;
        let result = match uploaded {
            Ok(_) => upload.complete().await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            if let Err(abort) = upload.abort().await {
                tracing::warn!(object = name, error = %abort, "aborting a failed multipart upload failed");
            }
            return Err(classify(e));
        }
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Bytes, ClientError> {
        let result = self.store.get(&path(name)?).await.map_err(classify)?;
        result.bytes().await.map_err(classify)
    }

    async fn head(&self, name: &str) -> Result<Head, ClientError> {
        let options = GetOptions { head: true, ..GetOptions::default() };
        let result = self.store.get_opts(&path(name)?, options).await.map_err(classify)?;
        let stamp = result
            .attributes
            .get(&Attribute::Metadata(STAMP_METADATA.into()))
            .and_then(|value| Stamp::parse(value.as_ref()));
        Ok(Head { etag: result.meta.e_tag.clone(), stamp })
    }

    async fn delete(&self, name: &str) -> Result<(), ClientError> {
        match self.store.delete(&path(name)?).await.map_err(classify) {
            Ok(()) | Err(ClientError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list_after(
        &self,
        dir: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, ClientError> {
        if let Some(paginated) = &self.paginated {
            return self.list_paginated(paginated.as_ref(), dir, after, limit).await;
        }
        let prefix = path(dir)?;
        let stream = match after {
            Some(after) => self.store.list_with_offset(Some(&prefix), &path(after)?),
            None => self.store.list(Some(&prefix)),
        };
        // Taking `limit` entries drops the stream before it asks for further pages.
        stream
            .take(limit)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(classify)
    }

    async fn list_all(&self, dir: &str) -> Result<Vec<String>, ClientError> {
        self.store
            .list(Some(&path(dir)?))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(classify)
    }
}
