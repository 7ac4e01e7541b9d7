//! Backends on the test binary's shared PostgreSQL, each in a table of its own.

#![allow(dead_code, unreachable_pub)]

use tierstore_postgres::PostgresBackend;
use tierstore_testkit::servers::postgres;

/// The shared server's URL (starting it on first use, off the async worker).
pub async fn url() -> String {
    tokio::task::spawn_blocking(postgres::shared_url).await.expect("shared PostgreSQL")
}

/// A backend on the shared server, in a table no other test uses.
pub async fn backend(test: &str) -> PostgresBackend {
    backend_in(&postgres::unique_table(test)).await
}

/// A backend on the shared server in `table`.
pub async fn backend_in(table: &str) -> PostgresBackend {
    let url = url().await;
    PostgresBackend::connect(&url, table)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL {url}: {e}"))
}

/// A plain tokio-postgres client on the shared server, for playing other programs (ldk-node's
/// SQL, an operator's psql).
pub async fn raw_client() -> tokio_postgres::Client {
    raw_client_at(&url().await).await
}

/// A plain tokio-postgres client on the server at `url`.
pub async fn raw_client_at(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("raw connection to {url}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
