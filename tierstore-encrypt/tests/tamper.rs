//! What the backend's operator cannot do undetected: read values or names, alter a byte,
//! truncate, move a value to another key, namespace or store, use another root key, or
//! downgrade the header. Every such attempt is an `InvalidData` error naming the layer and
//! the key, never a wrong value.

use std::io;
use std::sync::Arc;

use tierstore_core::{Backend, Bytes, Error, Key, MemoryBackend, Namespace};
use tierstore_encrypt::{Encrypted, Keyring, NameMode, RootKey, envelope};
use tierstore_testkit::conformance::paged_keys;

const ROOT: [u8; 32] = [5; 32];

async fn layer(inner: Arc<MemoryBackend>, names: NameMode) -> Encrypted<Arc<MemoryBackend>> {
    Encrypted::builder(inner, Keyring::new(RootKey::from_bytes(ROOT)))
        .names(names)
        .open()
        .await
        .expect("opens")
}

fn key(p: &str, s: &str, k: &str) -> Key {
    Key::new(p, s, k).expect("valid")
}

/// The error is `InvalidData`, names the layer and the key, and leaks no plaintext.
fn assert_invalid_data(result: Result<Vec<u8>, Error>, key: &Key, what: &str) {
    let err = match result {
        Ok(v) => panic!("{what}: read succeeded with {} bytes", v.len()),
        Err(e) => e,
    };
    assert_eq!(err.io_kind(), io::ErrorKind::InvalidData, "{what}: {err}");
    let msg = err.to_string();
    assert!(msg.contains("Encrypted(memory"), "{what}: backend missing from {msg}");
    assert!(msg.contains(&key.to_string()), "{what}: key missing from {msg}");
    assert!(!msg.contains("top secret"), "{what}: plaintext in {msg}");
}

async fn raw(layer: &Encrypted<Arc<MemoryBackend>>, key: &Key) -> Vec<u8> {
    layer.inner().read(&layer.stored_key(key)).await.expect("raw read")
}

async fn put_raw(layer: &Encrypted<Arc<MemoryBackend>>, key: &Key, bytes: Vec<u8>) {
    layer.inner().write(&layer.stored_key(key), Bytes::from(bytes)).await.expect("raw write");
}

#[tokio::test]
async fn every_flipped_bit_and_every_truncation_fails() {
    for names in [NameMode::Clear, NameMode::Obfuscated] {
        let store = layer(Arc::new(MemoryBackend::new()), names).await;
        let k = key("monitors", "", "chan1");
        store.write(&k, Bytes::from_static(b"top secret monitor")).await.unwrap();
        let good = raw(&store, &k).await;
        for i in 0..good.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[i] ^= bit;
                put_raw(&store, &k, bad).await;
                assert_invalid_data(
                    store.read(&k).await,
                    &k,
                    &format!("{names}: byte {i} ^ {bit:#x}"),
                );
            }
        }
        for len in 0..good.len() {
            put_raw(&store, &k, good[..len].to_vec()).await;
            assert_invalid_data(store.read(&k).await, &k, &format!("{names}: truncated to {len}"));
        }
        let mut longer = good.clone();
        longer.push(0);
        put_raw(&store, &k, longer).await;
        assert_invalid_data(store.read(&k).await, &k, &format!("{names}: one byte appended"));
        put_raw(&store, &k, good).await;
        assert_eq!(store.read(&k).await.unwrap(), b"top secret monitor", "{names}: restored");
    }
}

#[tokio::test]
async fn values_moved_between_keys_namespaces_and_stores_fail() {
    let inner = Arc::new(MemoryBackend::new());
    let store = layer(inner, NameMode::Clear).await;
    let other_store = layer(Arc::new(MemoryBackend::new()), NameMode::Clear).await;
    let a = key("monitors", "", "chan1");
    let b = key("monitors", "", "chan2");
    let c = key("monitors", "archive", "chan1");
    let d = key("payments", "", "chan1");
    for k in [&a, &b, &c, &d] {
        store.write(k, Bytes::from_static(b"top secret")).await.unwrap();
    }
    let value_of_a = raw(&store, &a).await;
    for target in [&b, &c, &d] {
        put_raw(&store, target, value_of_a.clone()).await;
        assert_invalid_data(store.read(target).await, target, &format!("a copied to {target}"));
    }
    // Another store under the same root key: its store id differs.
    put_raw(&other_store, &a, value_of_a.clone()).await;
    assert_invalid_data(other_store.read(&a).await, &a, "a copied to another store");
    // The metadata object cannot stand in for a value, nor a value for the metadata.
    let meta =
        store.inner().read(&Key::new("_tierstore", "", "encryption").unwrap()).await.unwrap();
    put_raw(&store, &a, meta).await;
    assert_invalid_data(store.read(&a).await, &a, "metadata copied over a value");
}

#[tokio::test]
async fn obfuscated_names_cannot_be_swapped_either() {
    let store = layer(Arc::new(MemoryBackend::new()), NameMode::Obfuscated).await;
    let a = key("monitors", "", "chan1");
    let b = key("monitors", "", "chan2");
    store.write(&a, Bytes::from_static(b"top secret a")).await.unwrap();
    store.write(&b, Bytes::from_static(b"top secret b")).await.unwrap();
    let (ra, rb) = (raw(&store, &a).await, raw(&store, &b).await);
    put_raw(&store, &a, rb).await;
    put_raw(&store, &b, ra).await;
    assert_invalid_data(store.read(&a).await, &a, "swapped a");
    assert_invalid_data(store.read(&b).await, &b, "swapped b");
}

#[tokio::test]
async fn wrong_root_key_fails_to_open_the_store() {
    let inner = Arc::new(MemoryBackend::new());
    let store = layer(inner.clone(), NameMode::Clear).await;
    store.write(&key("monitors", "", "chan1"), Bytes::from_static(b"x")).await.unwrap();
    let err = Encrypted::builder(inner, Keyring::new(RootKey::from_bytes([6; 32])))
        .open()
        .await
        .expect_err("another key must not open the store");
    assert_eq!(err.io_kind(), io::ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("not in the keyring"), "{err}");
}

#[tokio::test]
async fn wrong_root_key_with_a_colliding_id_fails_authentication() {
    // An envelope whose key id is ours but that another key sealed: authentication fails.
    let k = key("monitors", "", "chan1");
    let sealed =
        envelope::seal_with_nonce(&RootKey::from_bytes([6; 32]), [1; 24], &[0; 16], &k, 1, b"v");
    let mut forged = sealed.clone();
    forged[7..11].copy_from_slice(&RootKey::from_bytes(ROOT).id().to_bytes());
    let err = envelope::open_with(&Keyring::new(RootKey::from_bytes(ROOT)), &[0; 16], &k, forged)
        .expect_err("must not open");
    assert!(matches!(err, envelope::EnvelopeError::Authentication(_)), "{err}");
}

#[tokio::test]
async fn changed_version_algorithm_flags_or_key_id_fail() {
    let store = layer(Arc::new(MemoryBackend::new()), NameMode::Clear).await;
    let k = key("monitors", "", "chan1");
    store.write(&k, Bytes::from_static(b"top secret")).await.unwrap();
    let good = raw(&store, &k).await;
    for (at, value, expect) in [
        (4usize, 2u8, "format version 2"),
        (4, 0, "format version 0"),
        (5, 2, "algorithm id 2"),
        (5, 0, "algorithm id 0"),
        (6, 0x02, "unknown bits"),
        (6, 0x01, "authentication failed"),
        (7, good[7] ^ 0xff, "not in the keyring"),
        (0, b'X', "bad magic"),
    ] {
        let mut bad = good.clone();
        bad[at] = value;
        put_raw(&store, &k, bad).await;
        let result = store.read(&k).await;
        assert_invalid_data(result, &k, &format!("byte {at} = {value}"));
        let msg = store.read(&k).await.unwrap_err().to_string();
        assert!(msg.contains(expect), "byte {at} = {value}: expected {expect:?} in {msg}");
    }
}

#[tokio::test]
async fn raw_store_shows_no_plaintext_values_or_names() {
    let inner = Arc::new(MemoryBackend::new());
    let store = layer(inner.clone(), NameMode::Obfuscated).await;
    let long = "longchannelname".repeat(8); // 120 characters: the keyed-hash form
    let keys = [
        key("monitors", "", "deadbeefchannel"),
        key("monitors", "updates", "deadbeefchannel_1"),
        key("payments", "", "cafebabepayment"),
        key("", "", "manager"),
        key("monitors", "", &long),
    ];
    for k in &keys {
        store.write(k, Bytes::from(format!("PLAINTEXT-VALUE-{k}"))).await.unwrap();
    }
    let needles = [
        "monitors",
        "updates",
        "deadbeef",
        "payments",
        "cafebabe",
        "manager",
        "longchannel",
        "PLAINTEXT",
    ];
    for stored in inner.list_all_keys().await.unwrap() {
        let name = stored.to_string();
        let value = inner.read(&stored).await.unwrap();
        for needle in needles {
            assert!(!name.contains(needle), "name {name} shows {needle}");
            assert!(
                !value.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "value of {name} shows {needle}"
            );
        }
    }
    // And through the layer every name comes back, the metadata stays hidden.
    let mut listed = store.list_all_keys().await.unwrap();
    listed.sort();
    let mut expected = keys.to_vec();
    expected.sort();
    assert_eq!(listed, expected);
    let mut namespaces = store.list_namespaces().await.unwrap();
    namespaces.sort();
    let mut expected_ns: Vec<Namespace> = keys.iter().map(|k| k.namespace().clone()).collect();
    expected_ns.sort();
    expected_ns.dedup();
    assert_eq!(namespaces, expected_ns);
}

#[tokio::test]
async fn metadata_is_hidden_and_reserved_with_clear_names() {
    let store = layer(Arc::new(MemoryBackend::new()), NameMode::Clear).await;
    let meta = key("_tierstore", "", "encryption");
    assert!(store.list_all_keys().await.unwrap().is_empty());
    assert!(store.list_namespaces().await.unwrap().is_empty());
    assert!(store.list(meta.namespace()).await.unwrap().is_empty());
    assert!(store.list_page(meta.namespace(), None, 10).await.unwrap().keys.is_empty());
    for err in [
        store.write(&meta, Bytes::from_static(b"x")).await.unwrap_err(),
        store.read(&meta).await.unwrap_err(),
        store.remove(&meta, false).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    }
    // TierStore's own records beside it stay visible to TierStore.
    let sync = key("_tierstore", "", "sync");
    store.write(&sync, Bytes::from_static(b"record")).await.unwrap();
    assert_eq!(store.list(sync.namespace()).await.unwrap(), ["sync"]);
    assert_eq!(store.list_namespaces().await.unwrap(), [sync.namespace().clone()]);
}

#[tokio::test]
async fn a_store_with_data_but_no_metadata_is_refused_and_modes_are_kept() {
    let inner = Arc::new(MemoryBackend::new());
    inner.write(&key("monitors", "", "chan1"), Bytes::from_static(b"plain")).await.unwrap();
    let err = Encrypted::builder(inner, Keyring::new(RootKey::from_bytes(ROOT)))
        .open()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");

    let inner = Arc::new(MemoryBackend::new());
    layer(inner.clone(), NameMode::Clear).await;
    let err = Encrypted::builder(inner.clone(), Keyring::new(RootKey::from_bytes(ROOT)))
        .names(NameMode::Obfuscated)
        .open()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("keeps clear names"), "{err}");
    let reopened =
        Encrypted::builder(inner, Keyring::new(RootKey::from_bytes(ROOT))).open().await.unwrap();
    assert_eq!(reopened.name_mode(), NameMode::Clear);
}

#[tokio::test]
async fn pages_and_creation_order_match_the_plain_backend() {
    for names in [NameMode::Clear, NameMode::Obfuscated] {
        let plain = MemoryBackend::new();
        let store = layer(Arc::new(MemoryBackend::new()), names).await;
        let ns = Namespace::new("monitors", "").unwrap();
        let long = |i: usize| format!("{i:03}{}", "x".repeat(100));
        let mut ops: Vec<(bool, String)> = Vec::new();
        for i in 0..20 {
            ops.push((true, if i % 4 == 0 { long(i) } else { format!("k{i:03}") }));
        }
        ops.push((true, "k005".into())); // update keeps position
        ops.push((false, "k006".into())); // remove
        ops.push((true, "k006".into())); // re-create moves to the front
        ops.push((false, long(8)));
        for (write, name) in &ops {
            let k = ns.key(name).unwrap();
            for b in [&plain as &dyn Backend, &store] {
                if *write {
                    b.write(&k, Bytes::from(name.clone())).await.unwrap();
                } else {
                    b.remove(&k, false).await.unwrap();
                }
            }
        }
        for limit in [1, 3, 7, 100] {
            assert_eq!(
                paged_keys(&store, &ns, limit).await,
                paged_keys(&plain, &ns, limit).await,
                "{names}: pages of {limit}"
            );
        }
    }
}

#[tokio::test]
async fn write_stamps_increase() {
    let store = layer(Arc::new(MemoryBackend::new()), NameMode::Obfuscated).await;
    let k = key("monitors", "", "chan1");
    store.write(&k, Bytes::from_static(b"one")).await.unwrap();
    let old_raw = raw(&store, &k).await;
    let (_, first) = store.read_stamped(&k).await.unwrap();
    store.write(&k, Bytes::from_static(b"two")).await.unwrap();
    let (value, second) = store.read_stamped(&k).await.unwrap();
    assert_eq!(value, b"two");
    assert!(second > first, "{second} > {first}");
    // A replayed older value opens (documented), and its stamp shows it is older.
    put_raw(&store, &k, old_raw).await;
    let (value, replayed) = store.read_stamped(&k).await.unwrap();
    assert_eq!((value.as_slice(), replayed), (&b"one"[..], first));
}

#[test]
fn no_key_material_in_debug_output() {
    let root = RootKey::from_bytes([0xab; 32]);
    let shown = format!("{root:?} {:?}", Keyring::new(root.clone()));
    assert!(!shown.to_lowercase().contains("abab"), "{shown}");
    assert!(shown.contains(&root.id().to_string()), "{shown}");
}
