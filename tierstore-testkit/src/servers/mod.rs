//! Fixtures for the real servers the tests use.
//!
//! Each fixture starts its server on free loopback ports in a temporary directory, once per
//! test binary, and stops it when the test process exits — or, when an environment variable
//! names an existing server (as `cargo xtask test` does), uses that one. Tests are isolated
//! from each other by key prefix. A fixture never skips: if the server cannot be started or
//! reached, the test fails with the reason.

pub mod postgres;
pub mod process;
pub mod redis;
pub mod s3;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A key prefix no other test (of this or another run) uses: `<test>-<pid>-<n>-<time>`,
/// with `test` reduced to `[A-Za-z0-9_-]`. Re-exported by each fixture module.
pub fn unique_prefix(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let test: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{test}-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An environment variable that is set and not empty.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_unique_and_safe() {
        let a = unique_prefix("a b/c");
        let b = unique_prefix("a b/c");
        assert_ne!(a, b);
        assert!(a.starts_with("a_b_c-"), "{a}");
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        let a = unique_prefix("a b/c:{d}");
        let b = unique_prefix("a b/c:{d}");
        assert_ne!(a, b);
        assert!(a.starts_with("a_b_c__d_-"), "{a}");
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
    }
}
