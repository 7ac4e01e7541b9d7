//! Names as stored: clear, or obfuscated into valid LDK names.
//!
//! With [`NameMode::Obfuscated`] each part of a key (primary namespace, secondary namespace,
//! key) is stored as
//!
//! - `s` + base64url-no-pad(AES-SIV(part)) when the part is at most
//!   [`MAX_SIV_NAME`] (73) bytes: deterministic (one key, one object), invertible (listing
//!   needs no extra reads) and authenticated (a name not made with this store's name key is
//!   refused). 1 + 119 characters at most, within LDK's 120.
//! - `h` + base64url-no-pad(HMAC-SHA256(part)) for longer parts: 44 characters, deterministic;
//!   the real names travel inside the value's envelope, so listing such a key reads its value.
//!   Names over 73 bytes are rare in LDK (monitor names are 66 to 70).
//!
//! base64url without padding uses exactly LDK's alphabet `[A-Za-z0-9_-]`. The empty
//! namespace stays empty, so LDK's rule (an empty primary forces an empty secondary) still
//! holds for the stored names; what leaks is only whether a namespace is the root one.
//!
//! Each part is encrypted with the parts before it as associated data (`"p"`; `"s"`,
//! primary; `"k"`, primary, secondary), so equal keys in different namespaces are stored
//! under unrelated names. The forms start with different letters and each is injective (SIV
//! is a permutation per associated data; HMAC collisions are out of reach), so distinct keys
//! never share a stored name.

use std::fmt;
use std::str::FromStr;

use aes_siv::aead::KeyInit;
use aes_siv::siv::Aes256Siv;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tierstore_core::{Error, Key, Namespace};
use zeroize::Zeroizing;

/// The longest part stored in the invertible AES-SIV form.
pub const MAX_SIV_NAME: usize = 73;

/// How a store keeps its names. Chosen when the store is created and recorded in its
/// encrypted metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NameMode {
    /// Names stored as they are: the backend's operator sees namespaces and keys (channel ids,
    /// payment hashes), never values.
    Clear,
    /// Names stored encrypted (deterministic, valid LDK names): the operator sees how many
    /// keys each (hidden) namespace holds and their sizes, not what they are.
    #[default]
    Obfuscated,
}

impl NameMode {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            NameMode::Clear => 0,
            NameMode::Obfuscated => 1,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(NameMode::Clear),
            1 => Some(NameMode::Obfuscated),
            _ => None,
        }
    }
}

impl fmt::Display for NameMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameMode::Clear => "clear",
            NameMode::Obfuscated => "obfuscated",
        })
    }
}

impl FromStr for NameMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "clear" => Ok(NameMode::Clear),
            "obfuscated" => Ok(NameMode::Obfuscated),
            other => Err(Error::config(format!(
                "names = {other:?}: expected \"clear\" or \"obfuscated\""
            ))),
        }
    }
}

/// One decoded part.
enum Part {
    Clear(String),
    /// A keyed hash: the real name is in the value's envelope.
    Hashed,
}

/// The codec of one store.
pub(crate) enum Names {
    Clear,
    Obfuscated { siv: Zeroizing<[u8; 64]>, hash: Zeroizing<[u8; 32]> },
}

impl Names {
    /// The codec for `mode`, with keys derived from the store's random name secret.
    pub(crate) fn new(mode: NameMode, secret: &[u8; 32]) -> Self {
        match mode {
            NameMode::Clear => Names::Clear,
            NameMode::Obfuscated => {
                let hk = Hkdf::<Sha256>::new(Some(b"tierstore-encrypt/v1"), secret);
                let mut siv = Zeroizing::new([0u8; 64]);
                let mut hash = Zeroizing::new([0u8; 32]);
                hk.expand(b"names/aes-siv", siv.as_mut()).expect("valid HKDF length");
                hk.expand(b"names/hmac-sha256", hash.as_mut()).expect("valid HKDF length");
                Names::Obfuscated { siv, hash }
            }
        }
    }

    pub(crate) fn mode(&self) -> NameMode {
        match self {
            Names::Clear => NameMode::Clear,
            Names::Obfuscated { .. } => NameMode::Obfuscated,
        }
    }

    fn encode_part(&self, label: &str, context: &[&str], plain: &str) -> String {
        let Names::Obfuscated { siv, hash } = self else { return plain.to_owned() };
        if plain.is_empty() && label != "k" {
            return String::new();
        }
        if plain.len() <= MAX_SIV_NAME {
            let mut cipher = Aes256Siv::new(&(**siv).into());
            let headers = std::iter::once(label).chain(context.iter().copied());
            let sealed = cipher.encrypt(headers, plain.as_bytes()).expect("at most 3 headers");
            format!("s{}", URL_SAFE_NO_PAD.encode(sealed))
        } else {
            let mut mac = Hmac::<Sha256>::new_from_slice(hash.as_ref()).expect("any key");
            for part in std::iter::once(label).chain(context.iter().copied()) {
                mac.update(&[part.len() as u8]);
                mac.update(part.as_bytes());
            }
            mac.update(plain.as_bytes());
            format!("h{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
        }
    }

    fn decode_part(&self, label: &str, context: &[&str], stored: &str) -> Result<Part, String> {
        let Names::Obfuscated { siv, .. } = self else { return Ok(Part::Clear(stored.to_owned())) };
        if stored.is_empty() && label != "k" {
            return Ok(Part::Clear(String::new()));
        }
        match stored.split_at_checked(1) {
            Some(("s", body)) => {
                let sealed =
                    URL_SAFE_NO_PAD.decode(body).map_err(|_| "not base64url".to_owned())?;
                let mut cipher = Aes256Siv::new(&(**siv).into());
                let headers = std::iter::once(label).chain(context.iter().copied());
                let plain = cipher
                    .decrypt(headers, &sealed)
                    .map_err(|_| "does not decrypt with this store's name key".to_owned())?;
                String::from_utf8(plain).map(Part::Clear).map_err(|_| "not UTF-8".to_owned())
            }
            Some(("h", _)) => Ok(Part::Hashed),
            _ => Err("is not an obfuscated name of this layer".to_owned()),
        }
    }

    /// The namespace as stored.
    pub(crate) fn encode_namespace(&self, ns: &Namespace) -> Namespace {
        let primary = self.encode_part("p", &[], ns.primary());
        let secondary = self.encode_part("s", &[ns.primary()], ns.secondary());
        Namespace::new(&primary, &secondary).expect("encoded names are valid LDK names")
    }

    /// The key as stored, and whether any part is a keyed hash (its envelope then carries the
    /// real names).
    pub(crate) fn encode_key(&self, key: &Key) -> (Key, bool) {
        let stored_ns = self.encode_namespace(key.namespace());
        let name = self.encode_part("k", &[key.primary(), key.secondary()], key.key());
        let hashed = [stored_ns.primary(), stored_ns.secondary(), name.as_str()]
            .iter()
            .any(|p| p.starts_with('h'))
            && matches!(self, Names::Obfuscated { .. });
        (stored_ns.key(&name).expect("encoded names are valid LDK names"), hashed)
    }

    /// The real namespace of a stored one, or `None` if a part is hashed.
    pub(crate) fn decode_namespace(&self, stored: &Namespace) -> Result<Option<Namespace>, String> {
        let Part::Clear(primary) = self.decode_part("p", &[], stored.primary())? else {
            return Ok(None);
        };
        let Part::Clear(secondary) = self.decode_part("s", &[&primary], stored.secondary())? else {
            return Ok(None);
        };
        Namespace::new(&primary, &secondary).map(Some).map_err(|e| e.to_string())
    }

    /// The real key name of `stored_key` in the real namespace `ns`, or `None` if hashed.
    pub(crate) fn decode_key_name(
        &self,
        ns: &Namespace,
        stored_key: &str,
    ) -> Result<Option<String>, String> {
        match self.decode_part("k", &[ns.primary(), ns.secondary()], stored_key)? {
            Part::Clear(name) => Ok(Some(name)),
            Part::Hashed => Ok(None),
        }
    }
}

/// Public access to the codec for property tests and tools: the stored form of `key` under
/// a name secret.
pub fn obfuscate(secret: &[u8; 32], key: &Key) -> Key {
    Names::new(NameMode::Obfuscated, secret).encode_key(key).0
}

/// The inverse of [`obfuscate`] for names in the invertible form: `Ok(None)` for a keyed-hash
/// name (whose real name is only in its envelope).
pub fn deobfuscate(secret: &[u8; 32], stored: &Key) -> Result<Option<Key>, String> {
    let names = Names::new(NameMode::Obfuscated, secret);
    let Some(ns) = names.decode_namespace(stored.namespace())? else { return Ok(None) };
    let Some(name) = names.decode_key_name(&ns, stored.key())? else { return Ok(None) };
    ns.key(&name).map(Some).map_err(|e| e.to_string())
}
