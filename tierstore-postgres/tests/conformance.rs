//! The whole Backend contract on the PostgreSQL backend, each test in its own table on the
//! test binary's shared server.

mod common;

mod conformance_postgres {
    async fn factory() -> tierstore_postgres::PostgresBackend {
        super::common::backend("conformance").await
    }
    tierstore_testkit::conformance_tests!(factory);
}
