//! The whole Backend contract on the Redis backend, each test under its own key prefix on
//! the test binary's shared server.

mod common;

mod conformance_redis {
    async fn factory() -> tierstore_redis::RedisBackend {
        super::common::backend("conformance_redis").await
    }
    tierstore_testkit::conformance_tests!(factory);
}
