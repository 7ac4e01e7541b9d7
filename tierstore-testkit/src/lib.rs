//! Test tools for TierStore backends: the one conformance suite, the TierStore scenario
//! suite, fault-injection wrappers, and fixtures for the real servers the tests use.
//!
//! A backend author runs the whole [`Backend`](tierstore_core::Backend) contract against
//! their backend with one macro:
//!
//! ```
//! # use tierstore_core::MemoryBackend as MyBackend;
//! async fn my_backend() -> MyBackend {
//!     MyBackend::new()
//! }
//!
//! mod conformance_mine {
//!     tierstore_testkit::conformance_tests!(super::my_backend);
//! }
//! # fn main() {}
//! ```
//!
//! and proves it in each TierStore role with
//! [`scenario_tests!`](crate::scenario_tests).

#![deny(missing_docs)]

pub mod bench;
pub mod conformance;
pub mod crash;
pub mod faults;
pub mod ldk_helpers;
pub mod scenarios;
pub mod servers;
mod subject;

pub use subject::Subject;
