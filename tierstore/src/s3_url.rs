//! `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&allow_http=true&client=aws-sdk]` URLs.
//!
//! Credentials are never part of the URL: they come from the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...), so a URL can be logged and put in a
//! config file safely.

use std::sync::Arc;

use tierstore_core::{Backend, Error};
use tierstore_s3::S3Backend;

use crate::open::redact;

/// What an `s3://` URL says.
#[derive(Debug, PartialEq, Eq)]
struct S3Url {
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
    region: Option<String>,
    allow_http: bool,
    aws_sdk: bool,
}

fn parse(url: &str) -> Result<S3Url, Error> {
    let parsed =
        url::Url::parse(url).map_err(|e| Error::config(format!("{}: {e}", redact(url))))?;
    if parsed.username() != "" || parsed.password().is_some() {
        return Err(Error::config(format!(
            "{}: credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY",
            redact(url)
        )));
    }
    let bucket = parsed.host_str().unwrap_or_default().to_owned();
    if bucket.is_empty() {
        return Err(Error::config(format!("{url}: the URL names no bucket (s3://BUCKET/PREFIX)")));
    }
    let prefix = parsed.path().trim_matches('/').to_owned();
    let mut s3 =
        S3Url { bucket, prefix, endpoint: None, region: None, allow_http: false, aws_sdk: false };
    for (name, value) in parsed.query_pairs() {
        match name.as_ref() {
            "endpoint" => s3.endpoint = Some(value.into_owned()),
            "region" => s3.region = Some(value.into_owned()),
            "allow_http" => s3.allow_http = parse_bool(url, &name, &value)?,
            "client" => {
                s3.aws_sdk = match value.as_ref() {
                    "object_store" => false,
                    "aws-sdk" => true,
                    other => {
                        return Err(Error::config(format!(
                            "{url}: client={other} (expected object_store or aws-sdk)"
                        )));
                    }
                }
            }
            other => return Err(Error::config(format!("{url}: unknown parameter `{other}`"))),
        }
    }
    Ok(s3)
}

fn parse_bool(url: &str, name: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(Error::config(format!("{url}: {name}={other} (expected true or false)"))),
    }
}

/// Opens the backend an `s3://` URL names.
pub(crate) async fn open(url: &str) -> Result<Arc<dyn Backend>, Error> {
    let s3 = parse(url)?;
    let mut builder =
        S3Backend::builder().bucket(&s3.bucket).prefix(&s3.prefix).allow_http(s3.allow_http);
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.endpoint(endpoint);
    }
    if let Some(region) = &s3.region {
        builder = builder.region(region);
    }
    if s3.aws_sdk {
        return open_aws_sdk(url, builder).await;
    }
    Ok(Arc::new(builder.build()?))
}

#[cfg(feature = "aws-sdk")]
async fn open_aws_sdk(
    _url: &str,
    builder: tierstore_s3::S3BackendBuilder,
) -> Result<Arc<dyn Backend>, Error> {
    Ok(Arc::new(builder.build_aws_sdk().await?))
}

#[cfg(not(feature = "aws-sdk"))]
async fn open_aws_sdk(
    url: &str,
    _builder: tierstore_s3::S3BackendBuilder,
) -> Result<Arc<dyn Backend>, Error> {
    Err(crate::open::missing_feature(url, "aws-sdk"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_is_understood() {
        let s3 = parse(
            "s3://node-data/alice/monitors?endpoint=http://127.0.0.1:8333&region=eu-1\
             &allow_http=true&client=aws-sdk",
        )
        .unwrap();
        assert_eq!(
            s3,
            S3Url {
                bucket: "node-data".into(),
                prefix: "alice/monitors".into(),
                endpoint: Some("http://127.0.0.1:8333".into()),
                region: Some("eu-1".into()),
                allow_http: true,
                aws_sdk: true,
            }
        );
        let bare = parse("s3://b").unwrap();
        assert_eq!((bare.prefix.as_str(), bare.allow_http, bare.aws_sdk), ("", false, false));
    }

    #[test]
    fn bad_urls_name_what_is_wrong() {
        let err = |url: &str| parse(url).unwrap_err().to_string();
        assert!(err("s3:///prefix").contains("no bucket"));
        assert!(err("s3://b/p?colour=red").contains("unknown parameter `colour`"));
        assert!(err("s3://b?allow_http=maybe").contains("allow_http=maybe"));
        assert!(err("s3://b?client=curl").contains("client=curl"));
        let creds = err("s3://key:secret@b/p");
        assert!(creds.contains("credentials do not belong"), "{creds}");
        assert!(!creds.contains("secret@"), "the secret leaked: {creds}");
    }
}
