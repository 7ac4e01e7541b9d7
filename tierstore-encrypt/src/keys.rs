//! Root keys, the sub-keys derived from them, and the keyring that holds several for rotation.
//!
//! A [`RootKey`] is 32 secret bytes: from a file (refused unless only its owner can read it),
//! an environment variable (64 hex digits), or bytes the application derives itself (an LDK
//! node can derive them from its seed). Nothing here ever prints key material: `Debug` and
//! `Display` show the [`KeyId`] only, and every secret buffer is zeroed when dropped.
//!
//! Each root key yields, through HKDF-SHA256 with a fixed salt and one `info` string per use:
//! - its [`KeyId`] (4 bytes), written in every envelope so a reader picks the right key and a
//!   retired or unknown key fails cleanly instead of producing garbage;
//! - the XChaCha20-Poly1305 key for values and the metadata object.
//!
//! The key for names is *not* derived from a root key: it is random, kept in the store's
//! encrypted metadata object, so that rotating the root key never renames an object (which
//! would lose its creation position).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use hkdf::Hkdf;
use sha2::Sha256;
use tierstore_core::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::cipher::XChaCha20Poly1305;

/// HKDF salt: fixes the domain of every derivation to this layer and format.
const SALT: &[u8] = b"tierstore-encrypt/v1";
const INFO_KEY_ID: &[u8] = b"key-id";
const INFO_VALUES: &[u8] = b"values/xchacha20poly1305";

/// The 32-byte secret every other key of a store derives from.
#[derive(Clone)]
pub struct RootKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl RootKey {
    /// A root key from bytes the application holds (e.g. derived from an LDK node's seed).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = bytes;
        let key = RootKey { bytes: Zeroizing::new(bytes) };
        bytes.zeroize();
        key
    }

    /// A new random root key.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())
            .map_err(|e| Error::config(format!("no OS randomness for a new key: {e}")))?;
        Ok(RootKey { bytes })
    }

    /// Parses 64 hex digits (surrounding whitespace ignored). The error never echoes the input.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let text = text.trim().as_bytes();
        if text.len() != 64 {
            return Err(Error::config(format!(
                "a root key is 64 hex digits (32 bytes); got {} characters",
                text.len()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, pair) in text.chunks_exact(2).enumerate() {
            let (Some(hi), Some(lo)) = (hex_digit(pair[0]), hex_digit(pair[1])) else {
                return Err(Error::config("a root key is 64 hex digits; found another character"));
            };
            bytes[i] = hi << 4 | lo;
        }
        Ok(RootKey { bytes })
    }

    /// The key as 64 lowercase hex digits, e.g. to write a new key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = Zeroizing::new(String::with_capacity(64));
        for b in self.bytes.iter() {
            s.push(DIGITS[usize::from(b >> 4)] as char);
            s.push(DIGITS[usize::from(b & 15)] as char);
        }
        s
    }

    /// Writes this key to a new key file that [`from_file`](Self::from_file) reads: 64 hex
    /// digits, mode `0600` from its creation on Unix, synced with its directory entry. An
    /// existing file is refused (so a key in use is never overwritten), naming the path.
    pub fn create_file(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        use std::io::Write as _;

        let path = path.as_ref();
        let shown = path.display();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                Error::config(format!("{shown} already exists; a key file is never overwritten"))
            }
            _ => Error::config(format!("cannot create key file {shown}: {e}")),
        })?;
        let mut text = self.to_hex();
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::config(format!("cannot write key file {shown}: {e}")))?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::config(format!("cannot sync {}: {e}", dir.display())))
    }

    /// Reads a key file: 64 hex digits, or exactly 32 raw bytes. On Unix the file must not be
    /// readable or writable by group or others (mode `0600` or stricter), like an SSH key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let shown = path.display();
        let meta =
            std::fs::metadata(path).map_err(|e| Error::config(format!("key file {shown}: {e}")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::config(format!(
                    "key file {shown} has mode {mode:04o}; it must be readable by its owner \
                     only (chmod 600 {shown})"
                )));
            }
        }
        if !meta.is_file() {
            return Err(Error::config(format!("key file {shown} is not a regular file")));
        }
        let content = Zeroizing::new(
            std::fs::read(path).map_err(|e| Error::config(format!("key file {shown}: {e}")))?,
        );
        if let Ok(raw) = <[u8; 32]>::try_from(content.as_slice()) {
            return Ok(RootKey::from_bytes(raw));
        }
        let text = std::str::from_utf8(&content).map_err(|_| {
            Error::config(format!("key file {shown}: neither 32 raw bytes nor hex"))
        })?;
        RootKey::from_hex(text).map_err(|e| Error::config(format!("key file {shown}: {e}")))
    }

    /// Reads the key from environment variable `var` (64 hex digits).
    pub fn from_env(var: &str) -> Result<Self, Error> {
        let value = Zeroizing::new(std::env::var(var).map_err(|e| {
            Error::config(format!("environment variable {var} (encryption key): {e}"))
        })?);
        RootKey::from_hex(&value)
            .map_err(|e| Error::config(format!("environment variable {var}: {e}")))
    }

    /// This key's id, as written in the envelopes it seals.
    pub fn id(&self) -> KeyId {
        let mut id = [0u8; 4];
        self.hkdf().expand(INFO_KEY_ID, &mut id).expect("4 bytes is a valid HKDF length");
        KeyId(u32::from_be_bytes(id))
    }

    fn hkdf(&self) -> Hkdf<Sha256> {
        Hkdf::<Sha256>::new(Some(SALT), self.bytes.as_ref())
    }

    /// The value cipher of this key.
    pub(crate) fn value_key(&self) -> ValueKey {
        let mut okm = Zeroizing::new([0u8; 32]);
        self.hkdf().expand(INFO_VALUES, okm.as_mut()).expect("32 bytes is a valid HKDF length");
        ValueKey { id: self.id(), cipher: XChaCha20Poly1305::new(okm) }
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootKey(id {})", self.id())
    }
}

/// Identifies a root key inside envelopes: derived from the key, so it needs no bookkeeping
/// and reveals nothing about the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub(crate) u32);

impl KeyId {
    /// The id as the 4 bytes stored in an envelope header.
    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The cipher of one root key, with its id. The cipher zeroes its key when dropped.
pub(crate) struct ValueKey {
    pub(crate) id: KeyId,
    pub(crate) cipher: XChaCha20Poly1305,
}

/// The root keys a store may be read with: the current one, which seals every new write, and
/// previous ones, still accepted for reading until a [`rotate`](crate::Encrypted::rotate)
/// has re-sealed everything under the current key. Dropping a key from the keyring retires
/// it: what it sealed then fails to open with an error naming its id.
#[derive(Clone)]
pub struct Keyring {
    /// `keys[0]` is the current key.
    keys: Arc<Vec<ValueKey>>,
}

impl Keyring {
    /// A keyring with one key, used for reading and writing.
    pub fn new(current: RootKey) -> Self {
        Keyring { keys: Arc::new(vec![current.value_key()]) }
    }

    /// A keyring whose `current` key seals new writes and whose `previous` keys still open
    /// what they sealed. Two keys with one id (the same key twice) are refused.
    pub fn with_previous(
        current: RootKey,
        previous: impl IntoIterator<Item = RootKey>,
    ) -> Result<Self, Error> {
        let mut keys = vec![current.value_key()];
        for key in previous {
            let key = key.value_key();
            if keys.iter().any(|k| k.id == key.id) {
                return Err(Error::config(format!("key {} is given twice", key.id)));
            }
            keys.push(key);
        }
        Ok(Keyring { keys: Arc::new(keys) })
    }

    /// The id of the key that seals new writes.
    pub fn current_id(&self) -> KeyId {
        self.keys[0].id
    }

    /// The ids of every key this keyring opens, current first.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(|k| k.id).collect()
    }

    pub(crate) fn current(&self) -> &ValueKey {
        &self.keys[0]
    }

    pub(crate) fn find(&self, id: KeyId) -> Option<&ValueKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current_id())
            .field("ids", &self.ids())
            .finish()
    }
}
