//! [`Config`]: a whole TierStore described in TOML.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tierstore_core::layers::{BackendExt, RetryConfig};
use tierstore_core::{Backend, Error, Routing, TierStore};

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

    /// Opens the backend of one role with this configuration's layers:
    /// `Retry(Timeout(backend))`.
    pub async fn open_role(&self, url: &str) -> Result<Arc<dyn Backend>, Error> {
        let mut backend = crate::open(url).await?;
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

    /// Opens every role and builds the TierStore.
    pub async fn build(&self) -> Result<TierStore, Error> {
        let routing = self.routing()?;
        let mut builder = TierStore::builder(self.open_role(&self.primary).await?).routing(routing);
        if let Some(url) = &self.backup {
            builder = builder.backup(self.open_role(url).await?);
        }
        if let Some(url) = &self.ephemeral {
            builder = builder.ephemeral(self.open_role(url).await?);
        }
        if let Some(page_size) = self.page_size {
            builder = builder.page_size(page_size);
        }
        builder.build()
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
