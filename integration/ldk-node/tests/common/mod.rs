//! Fixtures of the ldk-node integration tests.

pub mod esplora;
