//! The whole Backend contract on SQLite: a fresh database per test.

mod conformance_sqlite {
    use tierstore_sqlite::SqliteBackend;
    use tierstore_testkit::Subject;

    async fn factory() -> Subject<SqliteBackend> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let backend = SqliteBackend::open(dir.path().join("test.sqlite")).await.expect("opens");
        Subject::new(backend).with_guard(dir)
    }

    tierstore_testkit::conformance_tests!(factory);
}
