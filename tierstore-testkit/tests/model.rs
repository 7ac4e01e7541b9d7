//! Model-based property test: random sequences of operations against a TierStore (memory
//! tiers with random delays, so completions are reordered) and a `BTreeMap` model agree.
//!
//! Each step issues a batch of mutations concurrently through LDK's async `KVStore`, in call
//! order; the model applies them in the same order (LDK's ordering rule: the later call
//! wins, whatever finishes first). After each step every key is read, every namespace
//! listed and paged through, and `list_all_keys` compared with the model.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::join_all;
use lightning::util::persist::{KVStore, MigratableKVStore, PageToken, PaginatedKVStore};
use proptest::prelude::*;
use tierstore_core::{Key, MemoryBackend, Operation, TierStore};
use tierstore_testkit::faults::Delayed;

/// Namespaces and keys drawn from; `("", "")` mixes durable keys with the ephemeral network
/// graph and scorer of LDK's default routing.
const NAMESPACES: [(&str, &str); 3] = [("", ""), ("monitors", ""), ("payments", "sent")];
const KEYS: [&str; 5] = ["network_graph", "scorer", "a", "b", "c"];

#[derive(Debug, Clone)]
enum Mutation {
    Write { ns: usize, key: usize, value: u8 },
    Remove { ns: usize, key: usize, lazy: bool },
}

#[derive(Debug, Clone)]
struct Step {
    mutations: Vec<Mutation>,
    /// Delay in milliseconds of each tier's write and remove for each key, by (ns, key).
    delays: Vec<(usize, usize, u8, u8)>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (0..NAMESPACES.len(), 0..KEYS.len(), any::<u8>())
            .prop_map(|(ns, key, value)| Mutation::Write { ns, key, value }),
        1 => (0..NAMESPACES.len(), 0..KEYS.len(), any::<bool>())
            .prop_map(|(ns, key, lazy)| Mutation::Remove { ns, key, lazy }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop::collection::vec(mutation(), 1..6),
        prop::collection::vec((0..NAMESPACES.len(), 0..KEYS.len(), 0u8..4, 0u8..4), 0..4),
    )
        .prop_map(|(mutations, delays)| Step { mutations, delays })
}

type Model = BTreeMap<(usize, usize), u8>;

struct Subject {
    store: TierStore,
    tiers: Vec<Arc<Delayed<MemoryBackend>>>,
}

fn subject() -> Subject {
    let tiers: Vec<_> = ["primary", "backup", "ephemeral"]
        .into_iter()
        .map(|name| Arc::new(Delayed::new(MemoryBackend::named(name))))
        .collect();
    let store = TierStore::builder(Arc::clone(&tiers[0]))
        .backup(Arc::clone(&tiers[1]))
        .ephemeral(Arc::clone(&tiers[2]))
        .page_size(2)
        .build()
        .expect("valid configuration");
    Subject { store, tiers }
}

fn key_of(ns: usize, key: usize) -> Key {
    let (primary, secondary) = NAMESPACES[ns];
    Key::new(primary, secondary, KEYS[key]).expect("valid key")
}

async fn run_step(subject: &Subject, model: &mut Model, step: &Step) {
    for (ns, key, primary_ms, other_ms) in &step.delays {
        let key = key_of(*ns, *key);
        for (i, tier) in subject.tiers.iter().enumerate() {
            let ms = if i == 0 { *primary_ms } else { *other_ms };
            for op in [Operation::Write, Operation::Remove] {
                tier.delay_key(op, &key, Duration::from_millis(u64::from(ms)));
            }
        }
    }
    // The futures are created in call order and then run together.
    let calls: Vec<_> = step
        .mutations
        .iter()
        .map(|m| match *m {
            Mutation::Write { ns, key, value } => {
                let (p, s) = NAMESPACES[ns];
                KVStore::write(&subject.store, p, s, KEYS[key], vec![value; 3]).boxed()
            }
            Mutation::Remove { ns, key, lazy } => {
                let (p, s) = NAMESPACES[ns];
                KVStore::remove(&subject.store, p, s, KEYS[key], lazy).boxed()
            }
        })
        .collect();
    for result in join_all(calls).await {
        result.expect("memory tiers do not fail");
    }
    for m in &step.mutations {
        match *m {
            Mutation::Write { ns, key, value } => {
                model.insert((ns, key), value);
            }
            Mutation::Remove { ns, key, .. } => {
                model.remove(&(ns, key));
            }
        }
    }
}

async fn check(subject: &Subject, model: &Model) {
    let store = &subject.store;
    for (ns, (p, s)) in NAMESPACES.iter().enumerate() {
        let expected: BTreeSet<String> =
            model.keys().filter(|(n, _)| *n == ns).map(|(_, k)| KEYS[*k].to_owned()).collect();
        for (k, name) in KEYS.iter().enumerate() {
            let read = KVStore::read(store, p, s, name).await;
            match model.get(&(ns, k)) {
                Some(value) => assert_eq!(read.expect("present key reads"), vec![*value; 3]),
                None => assert_eq!(
                    read.expect_err("absent key").kind(),
                    lightning::io::ErrorKind::NotFound,
                    "{p}/{s}/{name}"
                ),
            }
        }
        let listed: Vec<String> = KVStore::list(store, p, s).await.expect("lists");
        assert_eq!(listed.len(), expected.len(), "list has no duplicates: {listed:?}");
        assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), expected, "list of {p}/{s}");

        let mut paged = Vec::new();
        let mut token: Option<PageToken> = None;
        loop {
            let page =
                PaginatedKVStore::list_paginated(store, p, s, token.take()).await.expect("pages");
            paged.extend(page.keys);
            match page.next_page_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(paged.len(), expected.len(), "pages have no duplicates: {paged:?}");
        assert_eq!(paged.into_iter().collect::<BTreeSet<_>>(), expected, "pages of {p}/{s}");
    }
    let all: BTreeSet<_> =
        MigratableKVStore::list_all_keys(store).await.expect("lists all").into_iter().collect();
    let expected: BTreeSet<_> = model
        .keys()
        .map(|&(ns, k)| {
            (NAMESPACES[ns].0.to_owned(), NAMESPACES[ns].1.to_owned(), KEYS[k].to_owned())
        })
        .collect();
    assert_eq!(all, expected, "list_all_keys");
    assert!(store.divergences().is_empty(), "{:?}", store.divergences());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn tierstore_agrees_with_a_btreemap(steps in prop::collection::vec(step(), 1..8)) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let subject = subject();
            let mut model = Model::new();
            for step in &steps {
                run_step(&subject, &mut model, step).await;
                check(&subject, &model).await;
            }
        });
    }
}
