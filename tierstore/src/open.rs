//! [`open`]: a backend from a URL, chosen at run time.

use std::collections::BTreeMap;
use std::sync::Arc;

use tierstore_core::{Backend, Error, MemoryBackend};

/// Opens the backend a URL names, as an `Arc<dyn Backend>`.
///
/// | URL | backend | feature |
/// |---|---|---|
/// | `memory:` or `memory:NAME` | [`MemoryBackend`] (not durable) | — |
/// | `sqlite:PATH[?table=T&synchronous=full\|normal\|off]` | SQLite | `sqlite` |
/// | `file:DIR` | filesystem, lightning-persister compatible | `fs` |
/// | `redis://[user:pass@]host[:port][/db][?prefix=P]`, `rediss://...` | Redis | `redis` |
/// | `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&allow_http=true&client=aws-sdk]` | object storage | `s3` (`aws-sdk` for `client=aws-sdk`) |
/// | `postgres://USER@HOST[:PORT]/DB[?table=T&sslmode=M&sslrootcert=PATH&passfile=PATH&pool_size=N]`, `postgresql://...` | PostgreSQL, ldk-node's table `ldk_data` by default | `postgres` |
/// | `encrypted:INNER-URL`, e.g. `encrypted:s3://bucket/node?endpoint=...` | the inner store behind [`Encrypted`](tierstore_encrypt::Encrypted), keyed by [`OpenOptions::key_file`] or [`OpenOptions::key_env`] | `encryption` |
///
/// Paths may be relative (`sqlite:node/primary.db`) or absolute (`sqlite:///var/lib/node.db`).
/// S3 credentials come from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// ...), never from the URL; PostgreSQL passwords from `PGPASSWORD` or a password file
/// (`passfile=`, `PGPASSFILE`, `~/.pgpass`), never from the URL. A scheme whose feature is not compiled in, an unknown scheme and
/// an unknown parameter are [`Error::Config`] errors naming what to change.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let backend = tierstore::open("memory:cache").await?;
/// assert_eq!(backend.to_string(), "memory:cache");
/// let err = tierstore::open("ftp://example.com").await.unwrap_err();
/// assert!(err.to_string().contains("unknown scheme"));
/// # Ok::<(), tierstore::Error>(()) }).unwrap();
/// ```
pub async fn open(url: &str) -> Result<Arc<dyn Backend>, Error> {
    open_with(url, &OpenOptions::default()).await
}

/// How [`open_with`] opens a store: whether it may create it, whether it will only be read,
/// and the key file for encrypted stores.
///
/// The default is what [`open`] does: create a missing local store, read and write.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let url = format!("sqlite:{}/typo.db", dir.path().display());
/// let err = tierstore::open_with(&url, &tierstore::OpenOptions::existing()).await.unwrap_err();
/// assert!(err.to_string().contains("typo.db"));
/// assert!(!dir.path().join("typo.db").exists());
/// # }) ;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Create a missing local store (`sqlite:` file, `file:` directory). `false`: a missing one
    /// is an [`Error::Config`] naming the path, and nothing is created.
    pub create: bool,
    /// The store will only be read: nothing is created or migrated. A `sqlite:` database is
    /// opened read-only (no writer thread; writes fail); a `file:` directory must exist and
    /// is not created. Remote stores are opened as usual: the caller simply does not write.
    pub read_only: bool,
    /// The root-key file for `encrypted:` stores (ignored by other stores).
    pub key_file: Option<std::path::PathBuf>,
    /// The environment variable holding the root key (64 hex digits) when no key file is given.
    pub key_env: Option<String>,
    /// Previous root-key files, still accepted for reading (key rotation).
    pub previous_key_files: Vec<std::path::PathBuf>,
    /// How a new encrypted store keeps its names: `"clear"` or `"obfuscated"` (the default).
    pub names: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: true,
            read_only: false,
            key_file: None,
            key_env: None,
            previous_key_files: Vec::new(),
            names: None,
        }
    }
}

impl OpenOptions {
    /// Opens only a store that exists (a source: `ls`, `get`, `verify`, `copy --from`).
    pub fn existing() -> Self {
        OpenOptions { create: false, ..OpenOptions::default() }
    }

    /// Only reads the store; implies [`existing`](Self::existing).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self.create = false;
        self
    }

    /// The root-key file for `encrypted:` stores.
    pub fn key_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// The environment variable with the root key, when no key file is given.
    pub fn key_env(mut self, var: impl Into<String>) -> Self {
        self.key_env = Some(var.into());
        self
    }

    /// A previous root-key file, still accepted for reading (key rotation).
    pub fn previous_key_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.previous_key_files.push(path.into());
        self
    }

    /// How a new encrypted store keeps its names: `"clear"` or `"obfuscated"`.
    pub fn names(mut self, names: impl Into<String>) -> Self {
        self.names = Some(names.into());
        self
    }
}

/// [`open`] with [`OpenOptions`].
pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Arc<dyn Backend>, Error> {
    if !options.create
        && let Some(path) = local_path(url)?
        && !path.exists()
    {
        return Err(Error::config(format!("{}: {} does not exist", redact(url), path.display())));
    }
    let (scheme, rest) = url.split_once(':').ok_or_else(|| {
        Error::config(format!("{}: not a URL (expected SCHEME:...)", redact(url)))
    })?;
    match scheme {
        "memory" => {
            let (name, params) = split_params(rest)?;
            params.refuse_unknown(url)?;
            let name = if name.is_empty() { "memory".to_owned() } else { format!("memory:{name}") };
            Ok(Arc::new(MemoryBackend::named(name)))
        }
        "sqlite" => open_sqlite(url, rest, options).await,
        "file" => open_fs(url, rest).await,
        "redis" | "rediss" => open_redis(url).await,
        "s3" => open_s3(url).await,
        "postgres" | "postgresql" => open_postgres(url).await,
        "encrypted" => Box::pin(open_encrypted(url, rest, options)).await,
        other => Err(Error::config(format!(
            "{}: unknown scheme `{other}:` (known: memory:, sqlite:, file:, redis://, rediss://, s3://, postgres://, encrypted:)",
            redact(url)
        ))),
    }
}

/// Query parameters of a URL, consumed as they are read so leftovers can be refused.
#[derive(Debug, Default)]
struct Params(BTreeMap<String, String>);

impl Params {
    #[cfg_attr(not(any(feature = "sqlite", feature = "redis")), allow(dead_code))]
    fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    fn refuse_unknown(self, url: &str) -> Result<(), Error> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(name) => {
                Err(Error::config(format!("{}: unknown parameter `{name}`", redact(url))))
            }
        }
    }
}

/// Splits `//path?query` or `path?query` into the path and its parameters.
fn split_params(rest: &str) -> Result<(String, Params), Error> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.strip_prefix("//").unwrap_or(path);
    let params = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    Ok((path.to_owned(), Params(params)))
}

/// `url` with any password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The file of a `sqlite:` URL or the directory of a `file:` URL, decoded exactly as [`open`]
/// decodes it; `None` for other schemes. For tools that manage the files themselves (delete,
/// back up) and must agree with `open` on where they are.
///
/// ```
/// use std::path::Path;
///
/// let path = tierstore::local_path("sqlite:my%20node/primary.db?table=t").unwrap();
/// assert_eq!(path.as_deref(), Some(Path::new("my node/primary.db")));
/// assert_eq!(tierstore::local_path("memory:").unwrap(), None);
/// ```
pub fn local_path(url: &str) -> Result<Option<std::path::PathBuf>, Error> {
    match url.split_once(':') {
        Some(("encrypted", inner)) => local_path(inner),
        Some(("sqlite" | "file", rest)) => {
            let (path, _) = split_params(rest)?;
            decode_path(url, &path).map(Some)
        }
        _ => Ok(None),
    }
}

fn decode_path(url: &str, path: &str) -> Result<std::path::PathBuf, Error> {
    if path.is_empty() {
        return Err(Error::config(format!("{url}: the URL names no path")));
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|e| Error::config(format!("{url}: the path is not UTF-8 once decoded: {e}")))?;
    Ok(std::path::PathBuf::from(decoded.as_ref()))
}

/// The error for a URL (or URL parameter) whose backend is not compiled in.
#[cfg(not(all(
    feature = "sqlite",
    feature = "fs",
    feature = "redis",
    feature = "s3",
    feature = "aws-sdk",
    feature = "postgres",
    feature = "encryption"
)))]
pub(crate) fn missing_feature(url: &str, feature: &str) -> Error {
    Error::config(format!(
        "{}: this URL needs the `{feature}` cargo feature of tierstore, which is not enabled \
         (build with `--features {feature}`)",
        redact(url)
    ))
}

/// A read-only open ([`OpenOptions::read_only`]) of an existing database: no writer thread, no
/// migration, nothing created.
#[cfg(feature = "sqlite")]
async fn open_sqlite(
    url: &str,
    rest: &str,
    open_options: &OpenOptions,
) -> Result<Arc<dyn Backend>, Error> {
    use tierstore_sqlite::{SqliteOptions, Synchronous};
    let (path, mut params) = split_params(rest)?;
    let path = decode_path(url, &path)?;
    let mut options = SqliteOptions::new();
    if let Some(table) = params.take("table") {
        options = options.table_name(table);
    }
    if let Some(level) = params.take("synchronous") {
        let level = match level.as_str() {
            "full" => Synchronous::Full,
            "normal" => Synchronous::Normal,
            "off" => Synchronous::Off,
            other => {
                return Err(Error::config(format!(
                    "{url}: synchronous={other} (expected full, normal or off)"
                )));
            }
        };
        options = options.synchronous(level);
    }
    params.refuse_unknown(url)?;
    if open_options.read_only {
        return Ok(Arc::new(options.open_read_only(path).await?));
    }
    Ok(Arc::new(options.open(path).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(
    url: &str,
    _rest: &str,
    _open_options: &OpenOptions,
) -> Result<Arc<dyn Backend>, Error> {
    Err(missing_feature(url, "sqlite"))
}

#[cfg(feature = "fs")]
async fn open_fs(url: &str, rest: &str) -> Result<Arc<dyn Backend>, Error> {
    let (path, params) = split_params(rest)?;
    params.refuse_unknown(url)?;
    let dir = decode_path(url, &path)?;
    Ok(Arc::new(tierstore_fs::FsBackend::open(dir).await?))
}

#[cfg(not(feature = "fs"))]
async fn open_fs(url: &str, _rest: &str) -> Result<Arc<dyn Backend>, Error> {
    Err(missing_feature(url, "fs"))
}

#[cfg(feature = "redis")]
async fn open_redis(url: &str) -> Result<Arc<dyn Backend>, Error> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| Error::config(format!("{}: {e}", redact(url))))?;
    let mut params = Params(parsed.query_pairs().into_owned().collect());
    let prefix = params.take("prefix").unwrap_or_else(|| "tierstore".to_owned());
    // Parameters other than ours belong to the redis crate (e.g. `protocol=resp3`).
    let rest: Vec<(String, String)> = params.0.into_iter().collect();
    parsed.set_query(None);
    if !rest.is_empty() {
        parsed.query_pairs_mut().extend_pairs(rest);
    }
    Ok(Arc::new(tierstore_redis::RedisBackend::connect(parsed.as_str(), &prefix).await?))
}

#[cfg(not(feature = "redis"))]
async fn open_redis(url: &str) -> Result<Arc<dyn Backend>, Error> {
    Err(missing_feature(url, "redis"))
}

#[cfg(feature = "s3")]
async fn open_s3(url: &str) -> Result<Arc<dyn Backend>, Error> {
    crate::s3_url::open(url).await
}

#[cfg(not(feature = "s3"))]
async fn open_s3(url: &str) -> Result<Arc<dyn Backend>, Error> {
    Err(missing_feature(url, "s3"))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn Backend>, Error> {
    crate::postgres_url::open(url).await
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(url: &str) -> Result<Arc<dyn Backend>, Error> {
    Err(missing_feature(url, "postgres"))
}

/// The keyring an `encrypted:` URL asks for: a clear error when no key source is given.
#[cfg(feature = "encryption")]
fn keyring(url: &str, options: &OpenOptions) -> Result<tierstore_encrypt::Keyring, Error> {
    use tierstore_encrypt::{Keyring, RootKey};
    let current = match (&options.key_file, &options.key_env) {
        (Some(path), _) => RootKey::from_file(path)?,
        (None, Some(var)) => RootKey::from_env(var)?,
        (None, None) => {
            return Err(Error::config(format!(
                "{}: an encrypted store needs its root key: a key file (--key-file, \
                 OpenOptions::key_file, `key_file` in [encryption]) or an environment variable \
                 (OpenOptions::key_env, `key_env` in [encryption])",
                redact(url)
            )));
        }
    };
    let previous =
        options.previous_key_files.iter().map(RootKey::from_file).collect::<Result<Vec<_>, _>>()?;
    Keyring::with_previous(current, previous)
}

#[cfg(feature = "encryption")]
async fn open_encrypted(
    url: &str,
    inner: &str,
    options: &OpenOptions,
) -> Result<Arc<dyn Backend>, Error> {
    if inner.starts_with("encrypted:") {
        return Err(Error::config(format!("{}: encrypted twice", redact(url))));
    }
    let keys = keyring(url, options)?;
    let inner = open_with(inner, options).await?;
    let mut builder = tierstore_encrypt::Encrypted::builder(inner, keys);
    if let Some(names) = &options.names {
        builder = builder.names(names.parse()?);
    }
    Ok(Arc::new(builder.open().await?))
}

#[cfg(not(feature = "encryption"))]
async fn open_encrypted(
    url: &str,
    _inner: &str,
    _options: &OpenOptions,
) -> Result<Arc<dyn Backend>, Error> {
    Err(missing_feature(url, "encryption"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open_err(url: &str) -> String {
        match open(url).await {
            Ok(backend) => panic!("{url} opened as {backend}"),
            Err(e) => e.to_string(),
        }
    }

    #[tokio::test]
    async fn unknown_schemes_and_parameters_are_refused() {
        let err = open_err("ftp://x").await;
        assert!(err.contains("unknown scheme `ftp:`"), "{err}");
        let err = open_err("memory:x?colour=blue").await;
        assert!(err.contains("unknown parameter `colour`"), "{err}");
        let err = open_err("no-colon").await;
        assert!(err.contains("not a URL"), "{err}");
    }

    #[cfg(all(feature = "sqlite", feature = "fs"))]
    #[tokio::test]
    async fn read_only_opens_create_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let read_only = OpenOptions::default().read_only();
        for url in [
            format!("sqlite:{}/typo/a.db", dir.path().display()),
            format!("file:{}/typo", dir.path().display()),
        ] {
            let err = open_with(&url, &read_only).await.unwrap_err().to_string();
            assert!(err.contains("typo"), "{url}: {err}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "something was created");

        let url = format!("sqlite:{}/a.db", dir.path().display());
        let key = tierstore_core::Key::new("monitors", "", "k").unwrap();
        open(&url).await.unwrap().write(&key, "v".into()).await.unwrap();
        let reader = open_with(&url, &read_only).await.unwrap();
        assert_eq!(reader.read(&key).await.unwrap(), b"v");
        assert!(reader.write(&key, "w".into()).await.is_err(), "a read-only store took a write");
    }

    /// A node must start during an outage of its backup: remote URLs open while their server
    /// is down (nothing listens on port 1), and fail their operations transiently.
    #[cfg(all(feature = "redis", feature = "s3"))]
    #[tokio::test]
    async fn remote_urls_open_while_their_server_is_down() {
        let redis = open("redis://127.0.0.1:1/0?prefix=down").await.expect("redis opens");
        let key = tierstore_core::Key::new("monitors", "", "k").unwrap();
        let err = redis.read(&key).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
        let mut urls =
            vec!["s3://bucket/node?endpoint=http://127.0.0.1:1&allow_http=true&region=r"];
        if cfg!(feature = "aws-sdk") {
            urls.push(
                "s3://bucket/node?endpoint=http://127.0.0.1:1&allow_http=true&region=r&client=aws-sdk",
            );
        }
        for url in urls {
            let opened = tokio::time::timeout(std::time::Duration::from_secs(30), open(url)).await;
            let backend = opened.expect("does not wait for the server");
            assert!(backend.is_ok(), "{url}: {:?}", backend.err());
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("redis://user:secret@host:6379/0"), "redis://user:***@host:6379/0");
        assert_eq!(redact("sqlite:a.db"), "sqlite:a.db");
    }

    #[test]
    fn paths_keep_their_shape() {
        let (path, _) = split_params("///var/lib/x.db?table=t").unwrap();
        assert_eq!(decode_path("u", &path).unwrap(), std::path::PathBuf::from("/var/lib/x.db"));
        let (path, _) = split_params("node/primary.db").unwrap();
        assert_eq!(decode_path("u", &path).unwrap(), std::path::PathBuf::from("node/primary.db"));
        let (path, _) = split_params("my%20dir/a+b.db").unwrap();
        assert_eq!(decode_path("u", &path).unwrap(), std::path::PathBuf::from("my dir/a+b.db"));
    }
}
