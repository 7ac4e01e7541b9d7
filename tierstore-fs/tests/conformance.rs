//! The whole Backend contract on the filesystem backend: a fresh directory per test.

mod conformance_fs {
    use tierstore_fs::FsBackend;
    use tierstore_testkit::Subject;

    async fn factory() -> Subject<FsBackend> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let backend = FsBackend::open(dir.path().join("store")).await.expect("opens");
        Subject::new(backend).with_guard(dir)
    }

    tierstore_testkit::conformance_tests!(factory);
}
