//! Encrypted, authenticated storage for any TierStore backend: [`Encrypted`] wraps a backend
//! and is itself one.
//!
//! - **Values** are sealed in XChaCha20-Poly1305 [envelopes](envelope) with a random nonce
//!   per write; the AAD binds the header (format version, algorithm id, key id), the names
//!   and a random store id, so a value altered, truncated, downgraded, or moved to another
//!   key, namespace or store fails to open with an `InvalidData` error naming the backend and
//!   the key — never garbage.
//! - **Keys:** a 32-byte [`RootKey`] (file with mode 0600, environment variable, or bytes the
//!   application derives, e.g. from an LDK seed); HKDF-SHA256 sub-keys; zeroed on drop; never
//!   printed. A [`Keyring`] holds the current key and previous ones; [`Encrypted::rotate`]
//!   re-seals everything under the current key, resumably.
//! - **Names:** [clear or obfuscated](NameMode), recorded in an encrypted metadata object that
//!   `list`, pages and `list_all_keys` never show.
//! - **Staleness:** every envelope carries a write stamp ([`Encrypted::read_stamped`]).
//!
//! It lives in its own crate so that stores without encryption do not build its crypto
//! dependencies; the `tierstore` facade enables it with its `encryption` feature.
//!
//! # What it does not protect against
//!
//! The operator of the wrapped backend can still delete objects, replay an older genuine
//! value of the same key, or roll the whole store back to an earlier snapshot: each of those
//! opens fine. TierStore's `verify` (primary against backup) shows such a backup as differing
//! from the primary, and the write stamp lets an application compare two genuine values of
//! one key. The operator also sees the number of objects, their sizes (to the byte: no
//! padding), when they are written, and with clear names the names themselves.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tierstore_core::{Backend, Bytes, Key, MemoryBackend};
//! use tierstore_encrypt::{Encrypted, Keyring, NameMode, RootKey};
//!
//! let keys = Keyring::new(RootKey::from_bytes([7; 32]));
//! let backup = Encrypted::builder(MemoryBackend::new(), keys)
//!     .names(NameMode::Obfuscated)
//!     .open()
//!     .await?;
//! let key = Key::new("monitors", "", "chan1").unwrap();
//! backup.write(&key, Bytes::from_static(b"secret")).await?;
//! assert_eq!(backup.read(&key).await?, b"secret");
//! assert_eq!(backup.list(key.namespace()).await?, ["chan1"]);
//! # Ok::<(), tierstore_core::Error>(())
//! # }).unwrap();
//! ```

#![deny(missing_docs)]

mod cipher;
pub mod envelope;
mod keys;
mod layer;
mod metadata;
mod names;

pub use keys::{KeyId, Keyring, RootKey};
pub use layer::{Encrypted, EncryptedBuilder, RotateProgress, SharedEncrypted};
pub use names::{MAX_SIV_NAME, NameMode, deobfuscate, obfuscate};
