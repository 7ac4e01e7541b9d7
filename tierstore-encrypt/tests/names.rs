//! Obfuscated names over every valid LDK name up to 120 characters: valid, deterministic,
//! invertible (or hashed when too long), and distinct names never collide.

use std::collections::HashMap;

use proptest::prelude::*;
use tierstore_core::Key;
use tierstore_encrypt::{MAX_SIV_NAME, deobfuscate, obfuscate};

const SECRET: [u8; 32] = [0x5a; 32];

fn part(min: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_-]{{{min},120}}")).unwrap()
}

fn any_key() -> impl Strategy<Value = Key> {
    (part(0), part(0), part(1)).prop_map(|(p, s, k)| {
        let s = if p.is_empty() { String::new() } else { s };
        Key::new(&p, &s, &k).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn obfuscated_names_are_valid_deterministic_and_round_trip(key in any_key()) {
        let stored = obfuscate(&SECRET, &key);
        // Valid LDK names (alphabet, length, empty-primary rule): Key::new re-checks them.
        prop_assert!(Key::new(stored.primary(), stored.secondary(), stored.key()).is_ok());
        prop_assert_eq!(&stored, &obfuscate(&SECRET, &key));
        let all_short = [key.primary(), key.secondary(), key.key()].iter().all(|p| p.len() <= MAX_SIV_NAME);
        match deobfuscate(&SECRET, &stored).unwrap() {
            Some(back) => prop_assert_eq!(back, key),
            None => prop_assert!(!all_short, "a short name must be invertible"),
        }
        if all_short {
            prop_assert!(deobfuscate(&SECRET, &stored).unwrap().is_some());
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn distinct_names_never_collide(keys in proptest::collection::vec(any_key(), 1..64)) {
        let mut seen: HashMap<Key, Key> = HashMap::new();
        for key in keys {
            let stored = obfuscate(&SECRET, &key);
            if let Some(previous) = seen.insert(stored.clone(), key.clone()) {
                prop_assert_eq!(previous, key, "two names stored as {}", stored);
            }
        }
    }

    #[test]
    fn near_names_never_collide(key in any_key(), flip in 0usize..120) {
        let name = key.key();
        let i = flip % name.len();
        let c = if name.as_bytes()[i] == b'a' { "b" } else { "a" };
        let other = format!("{}{c}{}", &name[..i], &name[i + 1..]);
        let other = key.namespace().key(&other).unwrap();
        prop_assert_ne!(obfuscate(&SECRET, &key), obfuscate(&SECRET, &other));
    }
}
