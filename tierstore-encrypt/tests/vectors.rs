//! Frozen known-answer vectors for the envelope format. If one of these fails, a change
//! broke reading backups written by earlier versions: add a new format version instead.

use tierstore_core::Key;
use tierstore_encrypt::{Keyring, RootKey, envelope, obfuscate};

const ROOT: [u8; 32] = [0x11; 32];
const NONCE: [u8; 24] = [0x22; 24];
const STORE_ID: [u8; 16] = [0x33; 16];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

struct Vector {
    key: (&'static str, &'static str, &'static str),
    stamp: u64,
    value: &'static [u8],
    sealed: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector { key: ("monitors", "", "chan1"), stamp: 1, value: b"hello, monitor", sealed: V1 },
    Vector { key: ("", "", "manager"), stamp: 1_700_000_000_000_000, value: b"", sealed: V2 },
];

const V1: &str = "54534576010100aecff2c822222222222222222222222222222222222222222222222216231deb101d73dfe622a194a14562943d0a3ca25820ac071990f39d98d844eefc90f04b9c1a";
const V2: &str = "54534576010100aecff2c8222222222222222222222222222222222222222222222222162517cf080333de9a5e6cc36589f3f2d92561edeb0e7709";
const KEY_ID: &str = "aecff2c8";
const OBFUSCATED: &str = "sG2NqI6lQYz0AU9ojy9zFsVJ5rV9ZP9Bd//sYpliWEvcYuvQbWRNz2qfUSQxVRwm";

#[test]
fn key_id_is_frozen() {
    assert_eq!(RootKey::from_bytes(ROOT).id().to_string(), KEY_ID);
}

#[test]
fn sealing_with_a_fixed_nonce_gives_the_frozen_bytes() {
    let root = RootKey::from_bytes(ROOT);
    for v in VECTORS {
        let key = Key::new(v.key.0, v.key.1, v.key.2).unwrap();
        let sealed = envelope::seal_with_nonce(&root, NONCE, &STORE_ID, &key, v.stamp, v.value);
        assert_eq!(hex(&sealed), v.sealed, "{key}");
    }
}

#[test]
fn frozen_envelopes_open() {
    let keys = Keyring::new(RootKey::from_bytes(ROOT));
    for v in VECTORS {
        let key = Key::new(v.key.0, v.key.1, v.key.2).unwrap();
        let opened = envelope::open_with(&keys, &STORE_ID, &key, unhex(v.sealed)).unwrap();
        assert_eq!((opened.value.as_slice(), opened.stamp), (v.value, v.stamp), "{key}");
        assert_eq!(opened.key_id, keys.current_id());
    }
}

#[test]
fn obfuscated_names_are_frozen() {
    let key = Key::new("monitors", "", "chan1").unwrap();
    let stored = obfuscate(&[0x44; 32], &key);
    let shown = format!("{}/{}/{}", stored.primary(), stored.secondary(), stored.key());
    assert_eq!(shown, OBFUSCATED);
}
