//! uniffi bindings for TierStore: Python (tested), Kotlin and Swift (generated).
//!
//! Foreign code builds a [`TierStore`] with a [`TierStoreBuilder`], giving each role (primary,
//! backup, ephemeral) as a URL (`sqlite:`, `file:`, `redis://`, `s3://`, `postgres://`) or as
//! an object of its own implementing [`ForeignBackend`]. Every call blocks until done and runs
//! on a runtime the bindings own, so it may come from any thread. Errors arrive as one
//! [`TierStoreError`] whose message names the tier, the backend and the key.
//!
//! Bindings are generated from the built library by the in-workspace `uniffi-bindgen`
//! (feature `cli`); `cargo xtask bindings python|kotlin|swift|all` does it and lays out an
//! importable Python package under `target/bindings/python/tierstore/`.
//!
//! Rust users depend on `tierstore` directly; this crate's Rust API exists for its tests and
//! for Rust code that wants to adapt a [`ForeignBackend`] ([`ForeignAdapter`]).

#![deny(missing_docs)]

mod builder;
mod error;
mod foreign;
mod runtime;
mod store;

pub use builder::TierStoreBuilder;
pub use error::TierStoreError;
pub use foreign::{ForeignAdapter, ForeignBackend, KeyPage, MAX_TOKEN_LEN, StoreKey};
pub use store::{RepairReport, TierStore, VerifyReport};

uniffi::setup_scaffolding!();
