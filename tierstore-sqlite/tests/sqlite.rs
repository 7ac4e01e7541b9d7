//! SQLite-specific behaviour: compatibility with ldk-node's `SqliteStore` in both directions,
//! schema versions, file permissions, options, and group commit under concurrency.
//!
//! ldk-node's side is played by its SQL, run through rusqlite: the v2 and v3 table
//! definitions and the statements its `SqliteStore` uses to write, read and list.

use std::path::Path;

use futures::future::join_all;
use rusqlite::{Connection, params};
use tierstore_core::{Backend, Error, Key, Namespace};
use tierstore_sqlite::{JournalMode, SqliteBackend, SqliteOptions, Synchronous};
use tierstore_testkit::conformance::paged_keys;

mod ldk_node;

use ldk_node::{FILE as LDK_NODE_FILE, TABLE as LDK_NODE_TABLE};

fn ldk_node_v3(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("opens");
    ldk_node::create_v3(&conn);
    conn
}

fn ldk_node_options() -> SqliteOptions {
    SqliteOptions::new().table_name(LDK_NODE_TABLE)
}

#[tokio::test]
async fn opens_a_database_written_by_ldk_node() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LDK_NODE_FILE);
    {
        let conn = ldk_node_v3(&path);
        for i in 0..5 {
            ldk_node::write(&conn, "monitors", "", &format!("chan{i}"), format!("m{i}").as_bytes());
        }
        ldk_node::write(&conn, "", "", "manager", b"manager");
        // An update keeps its position.
        ldk_node::write(&conn, "monitors", "", "chan1", b"m1-updated");
    }
    let store = ldk_node_options().open(&path).await.expect("opens ldk-node's database");
    let ns = Namespace::new("monitors", "").unwrap();
    assert_eq!(store.read(&ns.key("chan1").unwrap()).await.unwrap(), b"m1-updated");
    assert_eq!(store.read(&Key::new("", "", "manager").unwrap()).await.unwrap(), b"manager");
    assert_eq!(paged_keys(&store, &ns, 2).await, ["chan4", "chan3", "chan2", "chan1", "chan0"]);
    // And it keeps working: a new key goes to the front.
    store.write(&ns.key("chan5").unwrap(), b"m5".to_vec().into()).await.unwrap();
    assert_eq!(paged_keys(&store, &ns, 10).await[0], "chan5");
    assert_eq!(store.list_all_keys().await.unwrap().len(), 7);
}

#[tokio::test]
async fn ldk_node_reads_a_database_written_by_tierstore() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LDK_NODE_FILE);
    {
        let store = ldk_node_options().open(&path).await.unwrap();
        let ns = Namespace::new("payments", "").unwrap();
        for i in 0..4 {
            store.write(&ns.key(&format!("p{i}")).unwrap(), vec![i; 3].into()).await.unwrap();
        }
        store.write(&ns.key("p0").unwrap(), b"updated".to_vec().into()).await.unwrap();
        store.remove(&ns.key("p2").unwrap(), false).await.unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    assert_eq!(version, 3);
    let index: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [format!("idx_{LDK_NODE_TABLE}_paginated")],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(index, 1, "ldk-node's pagination index exists");
    assert_eq!(ldk_node::page(&conn, "payments", ""), ["p3", "p1", "p0"]);
    let value: Vec<u8> = conn
        .query_row(
            &format!(
                "SELECT value FROM {LDK_NODE_TABLE}
                 WHERE primary_namespace = 'payments' AND secondary_namespace = '' AND key = 'p0'"
            ),
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(value, b"updated");
    // ldk-node writes next to TierStore's rows, in creation order.
    ldk_node::write(&conn, "payments", "", "p9", b"x");
    assert_eq!(ldk_node::page(&conn, "payments", "")[0], "p9");
}

#[tokio::test]
async fn migrates_a_version_2_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LDK_NODE_FILE);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE {LDK_NODE_TABLE} (
                primary_namespace TEXT NOT NULL,
                secondary_namespace TEXT DEFAULT \"\" NOT NULL,
                key TEXT NOT NULL CHECK (key <> ''),
                value BLOB,
                PRIMARY KEY (primary_namespace, secondary_namespace, key));
             PRAGMA user_version = 2;"
        ))
        .unwrap();
        for key in ["a", "b", "c"] {
            conn.execute(
                &format!(
                    "INSERT OR REPLACE INTO {LDK_NODE_TABLE}
                     (primary_namespace, secondary_namespace, key, value) VALUES ('ns', '', ?1, ?2)"
                ),
                params![key, key.as_bytes()],
            )
            .unwrap();
        }
    }
    let store = ldk_node_options().open(&path).await.expect("migrates");
    let ns = Namespace::new("ns", "").unwrap();
    assert_eq!(paged_keys(&store, &ns, 2).await, ["c", "b", "a"]);
    assert_eq!(store.read(&ns.key("b").unwrap()).await.unwrap(), b"b");
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    assert_eq!(version, 3);
}

#[tokio::test]
async fn refuses_a_newer_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.sqlite");
    SqliteBackend::open(&path).await.unwrap();
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 4).unwrap();
    let err = SqliteBackend::open(&path).await.expect_err("a newer version must not open");
    let message = err.to_string();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(message.contains("schema version 4") && message.contains("newer"), "{message}");
    assert!(message.contains("future.sqlite"), "names the database: {message}");
}

#[cfg(unix)]
#[tokio::test]
async fn new_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/private.sqlite");
    let store = SqliteBackend::open(&path).await.unwrap();
    store.write(&Key::new("a", "", "b").unwrap(), b"x".to_vec().into()).await.unwrap();
    for file in ["private.sqlite", "private.sqlite-wal"] {
        let mode = std::fs::metadata(path.with_file_name(file)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
}

#[tokio::test]
async fn options_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("options.sqlite");
    let store = SqliteOptions::new()
        .table_name("custom")
        .journal_mode(JournalMode::Delete)
        .synchronous(Synchronous::Normal)
        .page_size(8192)
        .open(&path)
        .await
        .unwrap();
    assert!(store.to_string().contains("table=custom"), "{store}");
    store.write(&Key::new("a", "", "b").unwrap(), b"x".to_vec().into()).await.unwrap();
    let conn = Connection::open(&path).unwrap();
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |row| row.get(0)).unwrap();
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0)).unwrap();
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM custom", [], |row| row.get(0)).unwrap();
    assert_eq!((page_size, mode.as_str(), rows), (8192, "delete", 1));
}

#[tokio::test]
async fn bad_options_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteOptions::new()
        .table_name("x; DROP TABLE y")
        .open(dir.path().join("db"))
        .await
        .expect_err("bad table name");
    assert!(err.to_string().contains("table name"), "{err}");
    assert!(!dir.path().join("db").exists(), "nothing is created for bad options");
}

#[tokio::test]
async fn malformed_tokens_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteBackend::open(dir.path().join("t.sqlite")).await.unwrap();
    let ns = Namespace::new("ns", "").unwrap();
    for token in ["", "abc", "1", "x:key", "1:bad key", "1:"] {
        let err = store.list_page(&ns, Some(token), 10).await.expect_err(token);
        assert!(matches!(err, Error::InvalidInput { .. }), "{token:?}: {err:?}");
        assert!(err.to_string().contains("page token"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_are_all_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("group.sqlite");
    let store = SqliteBackend::open(&path).await.unwrap();
    let ns = Namespace::new("group", "").unwrap();
    let writes = (0..200u32).map(|i| {
        let store = store.clone();
        let key = ns.key(&format!("k{i}")).unwrap();
        tokio::spawn(async move { store.write(&key, i.to_be_bytes().to_vec().into()).await })
    });
    for result in join_all(writes).await {
        result.unwrap().unwrap();
    }
    drop(store);
    // Every acknowledged write is in the file, read by a fresh connection.
    let reopened = SqliteBackend::open(&path).await.unwrap();
    for i in 0..200u32 {
        let value = reopened.read(&ns.key(&format!("k{i}")).unwrap()).await.unwrap();
        assert_eq!(value, i.to_be_bytes());
    }
    let mut keys = reopened.list(&ns).await.unwrap();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 200);
}

#[tokio::test]
async fn one_failing_write_does_not_fail_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail.sqlite");
    let store = SqliteBackend::open(&path).await.unwrap();
    // A trigger refuses one key, as a constraint would: only that write may fail.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON ldk_data WHEN NEW.key = 'refused'
             BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END;",
        )
        .unwrap();
    let ns = Namespace::new("ns", "").unwrap();
    let results = join_all(["a", "refused", "b"].map(|k| {
        let store = store.clone();
        let key = ns.key(k).unwrap();
        async move { store.write(&key, b"v".to_vec().into()).await }
    }))
    .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    let err = results[1].as_ref().expect_err("the refused key fails");
    let message = err.to_string();
    assert!(
        message.contains("refused by trigger") && message.contains("ns/\"\"/refused"),
        "{message}"
    );
    assert!(message.contains("sqlite:"), "names the backend: {message}");
    let mut keys = store.list(&ns).await.unwrap();
    keys.sort();
    assert_eq!(keys, ["a", "b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_backend_releases_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("released.sqlite");
    let key = Key::new("ns", "", "k").unwrap();
    for round in 0..20u8 {
        let store = SqliteBackend::open(&path).await.unwrap();
        store.write(&key, vec![round].into()).await.unwrap();
        assert_eq!(store.list_all_keys().await.unwrap().len(), 1);
        drop(store);
        // A late close of the old connection would remove the new database's WAL.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

#[tokio::test]
async fn read_only_open_creates_nothing_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo").join("primary.db");
    let err = SqliteBackend::open_read_only(&missing).await.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    assert!(err.to_string().contains("typo/primary.db"), "names the path: {err}");
    assert!(!dir.path().join("typo").exists(), "a read-only open created a directory");

    let path = dir.path().join("primary.db");
    let key = Key::new("monitors", "", "chan").unwrap();
    {
        let writable = SqliteBackend::open(&path).await.unwrap();
        writable.write(&key, "v".into()).await.unwrap();
    }
    let before: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let reader = SqliteBackend::open_read_only(&path).await.unwrap();
    assert_eq!(reader.read(&key).await.unwrap(), b"v");
    assert_eq!(reader.list_all_keys().await.unwrap(), vec![key.clone()]);
    let err = reader.write(&key, "w".into()).await.unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert!(reader.remove(&key, false).await.is_err());
    assert_eq!(reader.read(&key).await.unwrap(), b"v");
    drop(reader);
    let mut after: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    after.retain(|p| {
        !p.to_string_lossy().ends_with("-shm") && !p.to_string_lossy().ends_with("-wal")
    });
    let mut before = before;
    before.retain(|p| {
        !p.to_string_lossy().ends_with("-shm") && !p.to_string_lossy().ends_with("-wal")
    });
    assert_eq!(before, after);

    // A file that is not a TierStore database is refused by name, and left alone.
    let other = dir.path().join("other.db");
    std::fs::write(&other, b"").unwrap();
    let err = SqliteBackend::open_read_only(&other).await.unwrap_err();
    assert!(err.to_string().contains("no table ldk_data"), "{err}");
    assert_eq!(std::fs::read(&other).unwrap(), b"");
}
