//! [`Config`]: a whole TierStore described in TOML.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tierstore_core::layers::{BackendExt, RetryConfig};
use tierstore_core::{Backend, BackupPolicy, DEFAULT_MAX_BACKLOG, Error, Routing, TierStore};

/// A TierStore configuration: the URL of each role (see [`open`](crate::open)), the routing
/// rule, and the retry and timeout layers applied to every role.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let config = tierstore::Config::from_toml(r#"
///     primary = "memory:primary"
///     backup = "memory:backup"
///     ephemeral = "memory:cache"
///     page_size = 100
///
///     [routing]
///     ldk_defaults = true
///     keys = [["", "", "my_probe_cache"]]
///     namespaces = [["probing", ""]]
///
///     [retry]
///     max_attempts = 4
///     initial_delay_ms = 20
///
///     [timeout]
///     operation_ms = 10000
///     mutation_ms = 60000
/// "#)?;
/// let store = config.build().await?;
/// assert_eq!(store.primary().to_string(), "Retry(Timeout(memory:primary))");
/// # Ok::<(), tierstore::Error>(()) }).unwrap();
/// ```
///
/// With a local primary the journal defaults to a file beside it:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let config = tierstore::Config::from_toml(&format!(r#"
///     primary = "sqlite:{dir}/primary.db"
///     backup = "sqlite:{dir}/backup.db"
///     backup_policy = "deferred"
///     max_backlog = 1000
/// "#, dir = dir.path().display()))?;
/// let store = config.build().await?;
/// assert_eq!(store.journal_path(), Some(dir.path().join("primary.db.journal").as_path()));
/// assert_eq!(store.backup_policy(), tierstore::BackupPolicy::deferred(1000));
/// # Ok::<(), tierstore::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// URL of the primary store.
    pub primary: String,
    /// URL of the backup store.
    pub backup: Option<String>,
    /// URL of the ephemeral store.
    pub ephemeral: Option<String>,
    /// Keys per page of `list_paginated`.
    pub page_size: Option<usize>,
    /// Which keys are ephemeral.
    #[serde(default)]
    pub routing: RoutingConfig,
    /// Retrying transient failures, for every role.
    pub retry: Option<RetrySection>,
    /// Deadlines, for every role.
    pub timeout: Option<TimeoutSection>,
    /// The journal: a path, `false` for none, or unset for the default: beside a local
    /// primary ([`default_journal_path`]), none for a remote one.
    pub journal: Option<JournalSetting>,
    /// `"required"` (default): a durable write fails if the backup fails; `"deferred"`: it
    /// succeeds once the primary and the journal have it, and the backup catches up.
    pub backup_policy: Option<String>,
    /// Deferred policy: writes fail once the backup is this many keys behind (default
    /// [`DEFAULT_MAX_BACKLOG`]).
    pub max_backlog: Option<usize>,
    /// The key (and name mode) of every role whose URL starts with `encrypted:`.
    pub encryption: Option<EncryptionSection>,
}

/// The `[encryption]` section: where the root key of `encrypted:` roles comes from.
///
/// ```toml
/// backup = "encrypted:s3://bucket/node?endpoint=https://s3.example.com"
///
/// [encryption]
/// key_file = "/etc/tierstore/backup.key"   # mode 0600; or key_env = "TIERSTORE_KEY"
/// names = "obfuscated"                      # or "clear"; for a new store
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EncryptionSection {
    /// The root-key file (64 hex digits or 32 bytes, mode 0600).
    pub key_file: Option<String>,
    /// The environment variable holding the root key, when there is no key file.
    pub key_env: Option<String>,
    /// Previous key files, still read during a key rotation.
    #[serde(default)]
    pub previous_key_files: Vec<String>,
    /// `"clear"` or `"obfuscated"` (default) names for a new store.
    pub names: Option<String>,
}

/// `journal = "PATH"` or `journal = false`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum JournalSetting {
    /// The journal's file.
    Path(String),
    /// `false`: no journal (`true` means the default).
    Enabled(bool),
}

/// Where the journal goes by default: beside the primary when it is a local file or
/// directory (`sqlite:node/primary.db` → `node/primary.db.journal`, `file:node/data` →
/// `node/data.journal`), `None` for other primaries (choose a local path for those).
///
/// ```
/// use std::path::Path;
///
/// let path = tierstore::default_journal_path("sqlite:node/primary.db").unwrap();
/// assert_eq!(path.as_deref(), Some(Path::new("node/primary.db.journal")));
/// assert_eq!(tierstore::default_journal_path("memory:").unwrap(), None);
/// ```
pub fn default_journal_path(primary: &str) -> Result<Option<std::path::PathBuf>, Error> {
    Ok(crate::local_path(primary)?.map(|path| {
        let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".journal");
        path.with_file_name(name)
    }))
}

/// The `[routing]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// Start from LDK's defaults (network graph, scorer, external scores cache). Default true.
    #[serde(default = "yes")]
    pub ldk_defaults: bool,
    /// More ephemeral keys, as `[primary, secondary, key]`.
    #[serde(default)]
    pub keys: Vec<[String; 3]>,
    /// Wholly ephemeral namespaces, as `[primary, secondary]`.
    #[serde(default)]
    pub namespaces: Vec<[String; 2]>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig { ldk_defaults: true, keys: Vec::new(), namespaces: Vec::new() }
    }
}

fn yes() -> bool {
    true
}

/// The `[retry]` section; unset fields keep [`RetryConfig::default`]'s values.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    /// Attempts in total, the first included.
    pub max_attempts: Option<usize>,
    /// Delay before the first retry, in milliseconds.
    pub initial_delay_ms: Option<u64>,
    /// Upper bound of one delay, in milliseconds.
    pub max_delay_ms: Option<u64>,
    /// Factor between delays.
    pub multiplier: Option<f32>,
    /// No retry starts after this many milliseconds since the first attempt.
    pub max_elapsed_ms: Option<u64>,
    /// Randomize delays.
    pub jitter: Option<bool>,
}

/// The `[timeout]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSection {
    /// Deadline of reads and lists, in milliseconds.
    pub operation_ms: u64,
    /// Deadline of writes and removes, in milliseconds (default: `operation_ms`).
    pub mutation_ms: Option<u64>,
}

impl Config {
    /// A configuration with only a primary.
    pub fn new(primary: impl Into<String>) -> Self {
        Config {
            primary: primary.into(),
            backup: None,
            ephemeral: None,
            page_size: None,
            routing: RoutingConfig::default(),
            retry: None,
            timeout: None,
            journal: None,
            backup_policy: None,
            max_backlog: None,
            encryption: None,
        }
    }

    /// The journal this configuration asks for: the path given, none if `journal = false`,
    /// else [`default_journal_path`] of the primary.
    pub fn journal_path(&self) -> Result<Option<std::path::PathBuf>, Error> {
        match &self.journal {
            Some(JournalSetting::Path(path)) => Ok(Some(path.into())),
            Some(JournalSetting::Enabled(false)) => Ok(None),
            Some(JournalSetting::Enabled(true)) | None => default_journal_path(&self.primary),
        }
    }

    /// The backup policy this configuration asks for.
    pub fn backup_policy(&self) -> Result<BackupPolicy, Error> {
        match self.backup_policy.as_deref() {
            None | Some("required") => Ok(BackupPolicy::Required),
            Some("deferred") => {
                Ok(BackupPolicy::deferred(self.max_backlog.unwrap_or(DEFAULT_MAX_BACKLOG)))
            }
            Some(other) => Err(Error::config(format!(
                "backup_policy = {other:?}: expected \"required\" or \"deferred\""
            ))),
        }
    }

    /// Parses TOML; unknown fields are errors.
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        toml::from_str(text).map_err(|e| Error::config(format!("invalid TierStore config: {e}")))
    }

    /// Reads and parses a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| Error::config(format!("{}: {e}", path.display())))
    }

    /// The routing rule this configuration describes.
    pub fn routing(&self) -> Result<Routing, Error> {
        let mut routing =
            if self.routing.ldk_defaults { Routing::ldk_default() } else { Routing::none() };
        for [p, s, k] in &self.routing.keys {
            routing = routing
                .with_key(p, s, k)
                .map_err(|e| Error::config(format!("routing key [{p:?}, {s:?}, {k:?}]: {e}")))?;
        }
        for [p, s] in &self.routing.namespaces {
            routing = routing
                .with_namespace(p, s)
                .map_err(|e| Error::config(format!("routing namespace [{p:?}, {s:?}]: {e}")))?;
        }
        Ok(routing)
    }

    /// The retry layer's settings, if configured.
    pub fn retry_config(&self) -> Option<RetryConfig> {
        let section = self.retry.as_ref()?;
        let mut config = RetryConfig::default();
        let ms = Duration::from_millis;
        if let Some(v) = section.max_attempts {
            config = config.max_attempts(v);
        }
        if let Some(v) = section.initial_delay_ms {
            config = config.initial_delay(ms(v));
        }
        if let Some(v) = section.max_delay_ms {
            config = config.max_delay(ms(v));
        }
        if let Some(v) = section.multiplier {
            config = config.multiplier(v);
        }
        if let Some(v) = section.max_elapsed_ms {
            config = config.max_elapsed(Some(ms(v)));
        }
        if let Some(v) = section.jitter {
            config = config.jitter(v);
        }
        Some(config)
    }

    /// The [`OpenOptions`](crate::OpenOptions) of every role: the `[encryption]` key source.
    pub fn open_options(&self) -> crate::OpenOptions {
        let mut options = crate::OpenOptions::default();
        if let Some(section) = &self.encryption {
            options.key_file = section.key_file.as_ref().map(Into::into);
            options.key_env = section.key_env.clone();
            options.previous_key_files =
                section.previous_key_files.iter().map(Into::into).collect();
            options.names = section.names.clone();
        }
        options
    }

    /// Opens the backend of one role with this configuration's layers:
    /// `Retry(Timeout(backend))`.
    pub async fn open_role(&self, url: &str) -> Result<Arc<dyn Backend>, Error> {
        self.open_role_with(url, &self.open_options()).await
    }

    /// [`open_role`](Self::open_role) with [`OpenOptions`](crate::OpenOptions) (a key file,
    /// a store that must exist). Where `options` names no key source, the `[encryption]`
    /// section's applies.
    pub async fn open_role_with(
        &self,
        url: &str,
        options: &crate::OpenOptions,
    ) -> Result<Arc<dyn Backend>, Error> {
        let mut options = options.clone();
        if options.key_file.is_none() && options.key_env.is_none() {
            let section = self.open_options();
            options.key_file = section.key_file;
            options.key_env = section.key_env;
            options.previous_key_files = section.previous_key_files;
        }
        if options.names.is_none() {
            options.names = self.open_options().names;
        }
        let mut backend = crate::open_with(url, &options).await?;
        if let Some(timeout) = &self.timeout {
            let mutation = timeout.mutation_ms.unwrap_or(timeout.operation_ms);
            backend = Arc::new(
                backend
                    .with_timeout(Duration::from_millis(timeout.operation_ms))
                    .with_mutation_timeout(Duration::from_millis(mutation)),
            );
        }
        if let Some(retry) = self.retry_config() {
            backend = Arc::new(backend.with_retry(retry));
        }
        Ok(backend)
    }

    /// Opens every role and the TierStore: with a journal (see [`journal_path`](Self::journal_path)),
    /// through [`TierStoreBuilder::open`](tierstore_core::TierStoreBuilder::open), which
    /// recovers from a crash and syncs the backup before returning.
    pub async fn build(&self) -> Result<TierStore, Error> {
        let routing = self.routing()?;
        let policy = self.backup_policy()?;
        let journal = self.journal_path()?;
        let mut builder = TierStore::builder(self.open_role(&self.primary).await?)
            .routing(routing)
            .backup_policy(policy);
        if let Some(url) = &self.backup {
            builder = builder.backup(self.open_role(url).await?);
        }
        if let Some(url) = &self.ephemeral {
            builder = builder.ephemeral(self.open_role(url).await?);
        }
        if let Some(page_size) = self.page_size {
            builder = builder.page_size(page_size);
        }
        match journal {
            Some(path) => builder.journal(path).open().await,
            None => builder.open().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierstore_core::{Key, RoutingRule};

    #[test]
    fn unknown_fields_and_bad_keys_are_refused() {
        let err = Config::from_toml("primary = \"memory:\"\nbakup = \"memory:\"").unwrap_err();
        assert!(err.to_string().contains("unknown field `bakup`"), "{err}");
        let config =
            Config::from_toml("primary = \"memory:\"\n[routing]\nkeys = [[\"\", \"x\", \"k\"]]")
                .unwrap();
        let err = config.routing().unwrap_err().to_string();
        assert!(err.contains("secondary namespace \"x\" is set while the primary"), "{err}");
    }

    #[test]
    fn journal_and_policy_settings() {
        let config = Config::from_toml("primary = \"file:node/data\"").unwrap();
        assert_eq!(config.journal_path().unwrap(), Some("node/data.journal".into()));
        let config = Config::from_toml("primary = \"sqlite:a.db\"\njournal = false").unwrap();
        assert_eq!(config.journal_path().unwrap(), None);
        let config = Config::from_toml("primary = \"memory:\"\njournal = \"/j\"").unwrap();
        assert_eq!(config.journal_path().unwrap(), Some("/j".into()));
        let config = Config::from_toml("primary = \"memory:\"\nbackup_policy = \"eventually\"");
        let err = config.unwrap().backup_policy().unwrap_err().to_string();
        assert!(err.contains("expected \"required\" or \"deferred\""), "{err}");
    }

    #[test]
    fn routing_extends_or_replaces_the_defaults() {
        let config = Config::from_toml(
            "primary = \"memory:\"\n[routing]\nldk_defaults = false\nnamespaces = [[\"c\", \"\"]]",
        )
        .unwrap();
        let routing = config.routing().unwrap();
        assert!(!routing.is_ephemeral(&Key::new("", "", "network_graph").unwrap()));
        assert!(routing.is_ephemeral(&Key::new("c", "", "x").unwrap()));
    }
}
