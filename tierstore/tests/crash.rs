//! kill -9 loops: a child process writes, updates and removes through a journaled TierStore
//! (SQLite primary) and is killed at random moments; after each kill the parent reopens with
//! `open()` and checks that no acknowledged operation was lost on either tier, no value is
//! torn and `verify()` is consistent (see `tierstore_testkit::crash`). 50 kills per
//! configuration; set `TIERSTORE_KILLS` for more.

mod support;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tierstore::{Backend, TierStore};
use tierstore_testkit::crash::{KillLoop, Params};

/// The loop `test` over a SQLite primary and the backup `backup` opens.
fn kill_loop<B, Fut>(test: &str, setup: impl FnOnce(&Path) -> Params, backup: B)
where
    B: Fn(PathBuf, Params) -> Fut,
    Fut: Future<Output = Arc<dyn Backend>>,
{
    let counts = KillLoop::new(test).run(setup, |dir, params| {
        let backup = backup(dir.clone(), params);
        async move {
            TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
                .backup(backup.await)
                .journal(dir.join("primary.db.journal"))
                .open()
                .await
        }
    });
    assert!(counts.acknowledged > 0 && counts.kills > 0, "{counts:?}");
}

#[test]
fn kill_9_sqlite_primary_sqlite_backup() {
    kill_loop(
        "kill_9_sqlite_primary_sqlite_backup",
        |_| Params::new(),
        |dir, _| async move { support::sqlite(&dir.join("backup.db")).await },
    );
}

#[test]
fn kill_9_sqlite_primary_fs_backup() {
    kill_loop(
        "kill_9_sqlite_primary_fs_backup",
        |_| Params::new(),
        |dir, _| async move { support::fs(&dir.join("backup")).await },
    );
}

#[test]
fn kill_9_sqlite_primary_redis_backup() {
    kill_loop(
        "kill_9_sqlite_primary_redis_backup",
        |_| support::redis_params("kill_9"),
        |_, params| async move { support::redis(&params).await },
    );
}

#[test]
fn kill_9_sqlite_primary_s3_backup() {
    kill_loop(
        "kill_9_sqlite_primary_s3_backup",
        |_| support::s3_params("kill_9"),
        |_, params| async move { support::s3(&params) },
    );
}
