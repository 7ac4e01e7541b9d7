//! The whole Backend contract, with the testkit's one macro: a fresh database per test, its
//! directory kept alive for the test by the `Subject` guard.

mod conformance_redb {
    use tierstore_example_redb::RedbBackend;
    use tierstore_testkit::Subject;

    async fn factory() -> Subject<RedbBackend> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let backend = RedbBackend::open(dir.path().join("test.redb")).await.expect("opens");
        Subject::new(backend).with_guard(dir)
    }

    tierstore_testkit::conformance_tests!(factory);
}
