//! Compatibility with ldk-node's `PostgresStore`, both ways, through ldk-node's own SQL
//! (`ldk_node/mod.rs`): its tables open as they are and keep their order, ours are read by
//! its statements in the same order, and tables this crate must not touch are refused.

mod common;
mod ldk_node;

use tierstore_core::{Backend, Error, Key, Namespace};
use tierstore_postgres::PostgresBackend;
use tierstore_testkit::conformance::paged_keys;
use tierstore_testkit::servers::postgres::unique_table;

fn key(primary: &str, secondary: &str, key: &str) -> Key {
    Key::new(primary, secondary, key).expect("valid key")
}

async fn connect_err(table: &str) -> Error {
    let url = common::url().await;
    PostgresBackend::connect(&url, table).await.expect_err("the table is refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_a_table_written_by_ldk_node_and_keeps_its_order() {
    let client = common::raw_client().await;
    let table = unique_table("from_ldk_node");
    ldk_node::create_sequence_table(&client, &table).await;
    for i in 0..5 {
        ldk_node::write(&client, &table, ("monitors", ""), &format!("chan{i}"), &[i]).await;
    }
    ldk_node::write(&client, &table, ("", ""), "manager", b"manager").await;
    // An update keeps its place.
    ldk_node::write(&client, &table, ("monitors", ""), "chan1", b"updated").await;

    let store = common::backend_in(&table).await;
    assert_eq!(store.read(&key("monitors", "", "chan1")).await.unwrap(), b"updated");
    assert_eq!(store.read(&key("", "", "manager")).await.unwrap(), b"manager");
    let monitors = Namespace::new("monitors", "").unwrap();
    assert_eq!(
        paged_keys(&store, &monitors, 2).await,
        ["chan4", "chan3", "chan2", "chan1", "chan0"]
    );

    // Our new key goes in front, for us and for ldk-node.
    store.write(&key("monitors", "", "chan9"), vec![9].into()).await.unwrap();
    assert_eq!(paged_keys(&store, &monitors, 3).await[0], "chan9");
    let (page, _) = ldk_node::page(&client, &table, ("monitors", ""), None).await;
    assert_eq!(page, ["chan9", "chan4", "chan3", "chan2", "chan1", "chan0"]);
    assert_eq!(ldk_node::schema_version(&client, &table).await.as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_node_reads_a_table_written_by_tierstore() {
    let table = unique_table("from_tierstore");
    let store = common::backend_in(&table).await;
    for i in 0..4 {
        store.write(&key("payments", "", &format!("p{i}")), vec![i].into()).await.unwrap();
    }
    store.write(&key("payments", "", "p1"), b"updated".to_vec().into()).await.unwrap();
    store.remove(&key("payments", "", "p2"), false).await.unwrap();
    for i in 0..120 {
        store
            .write(&key("monitor_updates", "chan", &format!("u{i:03}")), vec![1].into())
            .await
            .unwrap();
    }

    let client = common::raw_client().await;
    assert_eq!(ldk_node::schema_version(&client, &table).await.as_deref(), Some("1"));
    let (page, next) = ldk_node::page(&client, &table, ("payments", ""), None).await;
    assert_eq!(page, ["p3", "p1", "p0"]);
    assert_eq!(next, None);
    assert_eq!(ldk_node::read(&client, &table, ("payments", ""), "p1").await.unwrap(), b"updated");
    assert_eq!(ldk_node::read(&client, &table, ("payments", ""), "p2").await, None);

    // ldk-node's 50-key pages walk our order, newest first, each key once.
    let walked = ldk_node::all_pages(&client, &table, ("monitor_updates", "chan")).await;
    let expected: Vec<String> = (0..120).rev().map(|i| format!("u{i:03}")).collect();
    assert_eq!(walked, expected);

    // ldk-node's writes draw from the same sequence: its new key goes in front, for both.
    ldk_node::write(&client, &table, ("payments", ""), "p9", b"x").await;
    assert_eq!(ldk_node::page(&client, &table, ("payments", ""), None).await.0[0], "p9");
    let payments = Namespace::new("payments", "").unwrap();
    assert_eq!(paged_keys(&store, &payments, 10).await, ["p9", "p3", "p1", "p0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_ldk_node_table_gets_a_sequence_and_keeps_its_order() {
    let table = unique_table("counter");
    let early = ldk_node::CounterStore::open(common::raw_client().await, &table).await;
    for i in 0..3 {
        early.write(("monitors", ""), &format!("old{i}"), &[i]).await;
    }
    drop(early);

    let store = common::backend_in(&table).await;
    let monitors = Namespace::new("monitors", "").unwrap();
    assert_eq!(paged_keys(&store, &monitors, 10).await, ["old2", "old1", "old0"]);
    store.write(&key("monitors", "", "ours1"), vec![1].into()).await.unwrap();
    assert_eq!(paged_keys(&store, &monitors, 10).await[0], "ours1");

    // The early ldk-node runs again, numbering from the table's maximum plus one ...
    let early = ldk_node::CounterStore::open(common::raw_client().await, &table).await;
    early.write(("monitors", ""), "old3", &[3]).await;
    drop(early);
    // ... and a TierStore opened afterwards moves the sequence past its numbers.
    drop(store);
    let store = common::backend_in(&table).await;
    store.write(&key("monitors", "", "ours2"), vec![2].into()).await.unwrap();
    assert_eq!(
        paged_keys(&store, &monitors, 2).await,
        ["ours2", "old3", "ours1", "old2", "old1", "old0"]
    );
    let client = common::raw_client().await;
    let distinct: i64 = client
        .query_one(&format!("SELECT COUNT(DISTINCT sort_order) FROM \"{table}\""), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(distinct, 6, "every row has its own sort_order");
    assert_eq!(ldk_node::all_pages(&client, &table, ("monitors", "")).await[0], "ours2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_version_is_refused_and_left_alone() {
    let client = common::raw_client().await;
    let table = unique_table("newer");
    ldk_node::create_sequence_table(&client, &table).await;
    client.batch_execute(&format!("COMMENT ON TABLE \"{table}\" IS '2'")).await.unwrap();
    let err = connect_err(&table).await;
    assert!(matches!(err, Error::Config { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("schema version 2") && text.contains("newer"), "{text}");
    assert!(text.contains(&table), "the error names the table: {text}");
    assert_eq!(ldk_node::schema_version(&client, &table).await.as_deref(), Some("2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_of_another_shape_or_comment_are_refused() {
    let client = common::raw_client().await;
    let foreign = unique_table("foreign");
    client
        .batch_execute(&format!("CREATE TABLE \"{foreign}\" (key TEXT PRIMARY KEY, value BYTEA)"))
        .await
        .unwrap();
    let text = connect_err(&foreign).await.to_string();
    assert!(
        text.contains("lacks column(s) primary_namespace, secondary_namespace, sort_order"),
        "{text}"
    );

    let commented = unique_table("commented");
    ldk_node::create_sequence_table(&client, &commented).await;
    client.batch_execute(&format!("COMMENT ON TABLE \"{commented}\" IS 'my notes'")).await.unwrap();
    let text = connect_err(&commented).await.to_string();
    assert!(text.contains("\"my notes\"") && text.contains("not a schema version"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_names_are_validated_and_quoted() {
    let url = common::url().await;
    for bad in ["x; DROP TABLE y", "a\"b", "a.b.c", ""] {
        let err = PostgresBackend::connect(&url, bad).await.expect_err(bad);
        assert!(matches!(err, Error::Config { .. }), "{bad:?}: {err}");
        assert!(err.to_string().contains("table name"), "{bad:?}: {err}");
    }
    // Case is kept, and a schema may be named, as ldk-node's quoted identifiers do.
    let client = common::raw_client().await;
    let schema = unique_table("schema");
    client.batch_execute(&format!("CREATE SCHEMA \"{schema}\"")).await.unwrap();
    for table in [format!("Mixed_{}", unique_table("case")), format!("{schema}.kv")] {
        let store = common::backend_in(&table).await;
        store.write(&key("ns", "", "k"), b"v".to_vec().into()).await.unwrap();
        assert!(store.to_string().ends_with(&format!("/{table}")), "{store}");
        let quoted = table.split('.').map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(".");
        let row = client
            .query_one(&format!("SELECT value FROM {quoted} WHERE key = 'k'"), &[])
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        assert_eq!(row.get::<_, Vec<u8>>(0), b"v");
    }
}
