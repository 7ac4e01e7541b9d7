//! kill -9 loops: a child process writes, updates and removes through a journaled TierStore
//! (SQLite primary) and is killed at random moments; after each kill the parent reopens with
//! `open()` and checks that no acknowledged operation was lost on either tier, no value is
//! torn and `verify()` is consistent (see `tierstore_testkit::crash`). 50 kills per
//! configuration; set `TIERSTORE_KILLS` for more.

mod support;

use tierstore::TierStore;
use tierstore_testkit::crash::KillLoop;

#[test]
fn kill_9_sqlite_primary_sqlite_backup() {
    let counts = KillLoop::new("kill_9_sqlite_primary_sqlite_backup").run(
        |_| Default::default(),
        |dir, _| async move {
            TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
                .backup(support::sqlite(&dir.join("backup.db")).await)
                .journal(dir.join("primary.db.journal"))
                .open()
                .await
        },
    );
    assert!(counts.acknowledged > 0, "{counts:?}");
}

#[test]
fn kill_9_sqlite_primary_fs_backup() {
    let counts = KillLoop::new("kill_9_sqlite_primary_fs_backup").run(
        |_| Default::default(),
        |dir, _| async move {
            TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
                .backup(support::fs(&dir.join("backup")).await)
                .journal(dir.join("primary.db.journal"))
                .open()
                .await
        },
    );
    assert!(counts.acknowledged > 0, "{counts:?}");
}

#[test]
fn kill_9_sqlite_primary_redis_backup() {
    let counts = KillLoop::new("kill_9_sqlite_primary_redis_backup").run(
        |_| support::redis_params("kill_9"),
        |dir, params| async move {
            TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
                .backup(support::redis(&params).await)
                .journal(dir.join("primary.db.journal"))
                .open()
                .await
        },
    );
    assert!(counts.acknowledged > 0, "{counts:?}");
}

#[test]
fn kill_9_sqlite_primary_s3_backup() {
    let counts = KillLoop::new("kill_9_sqlite_primary_s3_backup").run(
        |_| support::s3_params("kill_9"),
        |dir, params| async move {
            TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
                .backup(support::s3(&params))
                .journal(dir.join("primary.db.journal"))
                .open()
                .await
        },
    );
    assert!(counts.acknowledged > 0, "{counts:?}");
}
