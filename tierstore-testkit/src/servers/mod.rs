//! Fixtures for the real servers the tests use.
//!
//! Each fixture starts its server on free loopback ports in a temporary directory, once per
//! test binary, and stops it when the test process exits — or, when an environment variable
//! names an existing server (as `cargo xtask test` does), uses that one. Tests are isolated
//! from each other by key prefix. A fixture never skips: if the server cannot be started or
//! reached, the test fails with the reason.

pub mod process;
pub mod redis;
pub mod s3;
