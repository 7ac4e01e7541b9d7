//! The foreign-backend adapter against fake foreign objects written in Rust: a correct one
//! (which passes the whole conformance suite through the adapter) and misbehaving ones
//! (malformed keys and tokens, errors, panics), which must give errors naming the backend
//! and never panic.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tierstore::{Backend, Key, MemoryBackend, Namespace, Tier};
use tierstore_ffi::{
    ForeignAdapter, ForeignBackend, KeyPage, MAX_TOKEN_LEN, StoreKey, TierStoreBuilder,
    TierStoreError,
};

/// A correct foreign backend: a [`MemoryBackend`] driven synchronously, as foreign code
/// would be (the adapter calls it on blocking threads, where `Handle::block_on` is allowed).
struct FakeForeign {
    inner: MemoryBackend,
    calls: AtomicUsize,
}

impl FakeForeign {
    fn new() -> Self {
        FakeForeign { inner: MemoryBackend::named("fake-foreign"), calls: AtomicUsize::new(0) }
    }

    fn block<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, tierstore::Error>>,
    ) -> Result<T, TierStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::runtime::Handle::current().block_on(f).map_err(TierStoreError::from)
    }
}

fn key(p: &str, s: &str, k: &str) -> Result<Key, TierStoreError> {
    Key::new(p, s, k).map_err(|e| TierStoreError::InvalidInput { message: e.to_string() })
}

fn namespace(p: &str, s: &str) -> Result<Namespace, TierStoreError> {
    Namespace::new(p, s).map_err(|e| TierStoreError::InvalidInput { message: e.to_string() })
}

impl ForeignBackend for FakeForeign {
    fn name(&self) -> String {
        "fake-foreign".into()
    }
    fn read(&self, p: String, s: String, k: String) -> Result<Vec<u8>, TierStoreError> {
        let key = key(&p, &s, &k)?;
        self.block(self.inner.read(&key))
    }
    fn write(&self, p: String, s: String, k: String, v: Vec<u8>) -> Result<(), TierStoreError> {
        let key = key(&p, &s, &k)?;
        self.block(self.inner.write(&key, v.into()))
    }
    fn remove(&self, p: String, s: String, k: String, lazy: bool) -> Result<(), TierStoreError> {
        let key = key(&p, &s, &k)?;
        self.block(self.inner.remove(&key, lazy))
    }
    fn list(&self, p: String, s: String) -> Result<Vec<String>, TierStoreError> {
        let ns = namespace(&p, &s)?;
        self.block(self.inner.list(&ns))
    }
    fn list_page(
        &self,
        p: String,
        s: String,
        token: Option<String>,
        limit: u32,
    ) -> Result<KeyPage, TierStoreError> {
        let ns = namespace(&p, &s)?;
        let page = self.block(self.inner.list_page(&ns, token.as_deref(), limit as usize))?;
        Ok(KeyPage { keys: page.keys, next_token: page.next })
    }
    fn list_all_keys(&self) -> Result<Vec<StoreKey>, TierStoreError> {
        let keys = self.block(self.inner.list_all_keys())?;
        Ok(keys.into_iter().map(StoreKey::from).collect())
    }
}

async fn adapted_fake() -> ForeignAdapter {
    ForeignAdapter::new(Arc::new(FakeForeign::new()))
}

mod conformance_foreign {
    tierstore_testkit::conformance_tests!(super::adapted_fake);
}

/// What a misbehaving fake returns from every call.
#[derive(Clone)]
enum Misbehaviour {
    Keys(Vec<String>),
    Token(String),
    AllKeys(Vec<StoreKey>),
    Fail(TierStoreError),
    Unexpected(String),
    Panic,
}

struct Misbehaving(Misbehaviour);

impl Misbehaving {
    fn go<T>(&self, ok: impl FnOnce() -> T) -> Result<T, TierStoreError> {
        match &self.0 {
            Misbehaviour::Fail(e) => Err(e.clone()),
            Misbehaviour::Unexpected(reason) => {
                Err(uniffi::UnexpectedUniFFICallbackError::new(reason).into())
            }
            Misbehaviour::Panic => panic!("the fake foreign backend panics"),
            _ => Ok(ok()),
        }
    }
}

impl ForeignBackend for Misbehaving {
    fn name(&self) -> String {
        "bad\nforeign".into() // a control character, dropped from the name
    }
    fn read(&self, _: String, _: String, _: String) -> Result<Vec<u8>, TierStoreError> {
        self.go(Vec::new)
    }
    fn write(&self, _: String, _: String, _: String, _: Vec<u8>) -> Result<(), TierStoreError> {
        self.go(|| ())
    }
    fn remove(&self, _: String, _: String, _: String, _: bool) -> Result<(), TierStoreError> {
        self.go(|| ())
    }
    fn list(&self, _: String, _: String) -> Result<Vec<String>, TierStoreError> {
        self.go(|| match &self.0 {
            Misbehaviour::Keys(keys) => keys.clone(),
            _ => vec![],
        })
    }
    fn list_page(
        &self,
        _: String,
        _: String,
        _: Option<String>,
        _: u32,
    ) -> Result<KeyPage, TierStoreError> {
        self.go(|| match &self.0 {
            Misbehaviour::Keys(keys) => KeyPage { keys: keys.clone(), next_token: None },
            Misbehaviour::Token(token) => {
                KeyPage { keys: vec!["k".into()], next_token: Some(token.clone()) }
            }
            _ => KeyPage { keys: vec![], next_token: None },
        })
    }
    fn list_all_keys(&self) -> Result<Vec<StoreKey>, TierStoreError> {
        self.go(|| match &self.0 {
            Misbehaviour::AllKeys(keys) => keys.clone(),
            _ => vec![],
        })
    }
}

fn adapter(m: Misbehaviour) -> ForeignAdapter {
    ForeignAdapter::new(Arc::new(Misbehaving(m)))
}

fn ns() -> Namespace {
    Namespace::new("monitors", "").unwrap()
}

fn assert_names_backend(err: &tierstore::Error, what: &str) {
    let msg = err.to_string();
    assert_eq!(err.backend_name(), Some("badforeign"), "{msg}");
    assert!(msg.contains("badforeign"), "{msg}");
    assert!(msg.contains(what), "expected {what:?} in {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_keys_coming_back_are_errors() {
    for bad in ["bad key", "", "ключ", &"k".repeat(121), "a/b"] {
        let backend = adapter(Misbehaviour::Keys(vec!["good".into(), bad.into()]));
        let err = backend.list(&ns()).await.unwrap_err();
        assert_names_backend(&err, "invalid key");
        let err = backend.list_page(&ns(), None, 10).await.unwrap_err();
        assert_names_backend(&err, "invalid key");
    }
    let backend = adapter(Misbehaviour::AllKeys(vec![StoreKey {
        primary_namespace: "".into(),
        secondary_namespace: "sec".into(), // a secondary namespace without a primary one
        key: "k".into(),
    }]));
    let err = backend.list_all_keys().await.unwrap_err();
    assert_names_backend(&err, "invalid key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_keys_than_asked_is_an_error() {
    let keys = (0..5).map(|i| format!("k{i}")).collect();
    let err = adapter(Misbehaviour::Keys(keys)).list_page(&ns(), None, 3).await.unwrap_err();
    assert_names_backend(&err, "5 keys for a page of at most 3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tokens_coming_back_are_errors() {
    for bad in [String::new(), "a\0b".into(), "line\nbreak".into(), "t".repeat(MAX_TOKEN_LEN + 1)] {
        let err = adapter(Misbehaviour::Token(bad.clone())).list_page(&ns(), None, 10).await;
        assert_names_backend(&err.unwrap_err(), "malformed page token");
    }
    // Any printable text of a sane length is a token: it stays opaque.
    let ok = "opaque:token/ü+=".to_string();
    let page = adapter(Misbehaviour::Token(ok.clone())).list_page(&ns(), None, 10).await.unwrap();
    assert_eq!(page.next, Some(ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_errors_keep_their_kind_and_name_the_backend() {
    let k = Key::new("monitors", "", "chan1").unwrap();
    let nf = TierStoreError::NotFound { message: "nope".into() };
    let err = adapter(Misbehaviour::Fail(nf)).read(&k).await.unwrap_err();
    assert!(err.is_not_found());
    assert_names_backend(&err, "chan1");

    let transient = TierStoreError::Transient { message: "connection reset".into() };
    let err = adapter(Misbehaviour::Fail(transient)).write(&k, vec![1].into()).await.unwrap_err();
    assert!(err.is_transient());
    assert_names_backend(&err, "connection reset");

    let backend = TierStoreError::Backend { message: "disk full".into() };
    let err = adapter(Misbehaviour::Fail(backend)).remove(&k, false).await.unwrap_err();
    assert!(!err.is_transient() && !err.is_not_found());
    assert_names_backend(&err, "disk full");

    let invalid = TierStoreError::InvalidInput { message: "bad token".into() };
    let err = adapter(Misbehaviour::Fail(invalid)).list_page(&ns(), Some("x"), 5).await;
    let err = err.unwrap_err();
    assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("badforeign rejected"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_exceptions_become_backend_errors() {
    let k = Key::new("monitors", "", "chan1").unwrap();
    let err = adapter(Misbehaviour::Unexpected("KeyError('x')".into())).read(&k).await.unwrap_err();
    assert_names_backend(&err, "unexpected exception from foreign code: KeyError('x')");
    assert!(!err.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_backend_is_an_error_not_a_panic() {
    let k = Key::new("monitors", "", "chan1").unwrap();
    let backend = adapter(Misbehaviour::Panic);
    assert_names_backend(&backend.read(&k).await.unwrap_err(), "panicked");
    assert_names_backend(&backend.write(&k, vec![].into()).await.unwrap_err(), "panicked");
    assert_names_backend(&backend.list(&ns()).await.unwrap_err(), "panicked");
    assert_names_backend(&backend.list_all_keys().await.unwrap_err(), "panicked");
}

/// A foreign backend that counts its calls, to show invalid keys never reach it.
#[test]
fn invalid_keys_never_reach_the_foreign_backend() {
    let fake = Arc::new(FakeForeign::new());
    let store = TierStoreBuilder::new().primary_backend(fake.clone()).build().unwrap();
    let before = fake.calls.load(Ordering::SeqCst);
    for (p, s, k) in [("m", "", "bad key"), ("m", "", ""), ("", "s", "k"), ("m", "", "é")] {
        let err = store.write(p.into(), s.into(), k.into(), vec![1]).unwrap_err();
        assert!(matches!(err, TierStoreError::InvalidInput { .. }), "{err:?}");
        let err = store.read(p.into(), s.into(), k.into()).unwrap_err();
        assert!(matches!(err, TierStoreError::InvalidInput { .. }), "{err:?}");
    }
    assert_eq!(fake.calls.load(Ordering::SeqCst), before);
    store.write("m".into(), "".into(), "ok".into(), vec![1]).unwrap();
    assert!(fake.calls.load(Ordering::SeqCst) > before);
}

/// A store whose backup is a misbehaving foreign backend: errors name the tier.
#[test]
fn store_errors_name_the_tier_and_the_foreign_backend() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(Misbehaving(Misbehaviour::Unexpected("ValueError()".into())));
    let store = TierStoreBuilder::new()
        .primary_url(format!("sqlite:{}", dir.path().join("p.db").display()))
        .backup_backend(failing)
        .build()
        .unwrap();
    let err = store.write("monitors".into(), "".into(), "chan1".into(), vec![1]).unwrap_err();
    let msg = err.message().to_string();
    assert!(matches!(err, TierStoreError::Backend { .. }), "{err:?}");
    assert!(msg.starts_with(&format!("{} tier failed: badforeign: write", Tier::Backup)), "{msg}");
    assert!(msg.contains("ValueError()"), "{msg}");
}
