//! What the conformance suite does not cover: passwords (from the string, the builder or a
//! password file) never show, refused credentials and TLS requirements are permanent, bad
//! connection strings are configuration errors, an unreachable server is transient.

mod common;

use std::os::unix::fs::PermissionsExt;

use tierstore_core::{Backend, Error, Key};
use tierstore_postgres::{PostgresBackend, SslMode};
use tierstore_testkit::servers::postgres::{PostgresServer, unique_table};
use tierstore_testkit::servers::process::free_port;

const SECRET: &str = "do-not-show-this-secret-0123456789";

fn key() -> Key {
    Key::new("monitors", "", "chan").expect("valid key")
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the password: {text}");
}

/// A private server where `alice` must log in with [`SECRET`] (SCRAM).
async fn server_with_password(dir: &std::path::Path) -> PostgresServer {
    let dir = dir.to_path_buf();
    let port = free_port().unwrap();
    let server = tokio::task::spawn_blocking(move || PostgresServer::start_in(&dir, port).unwrap())
        .await
        .unwrap();
    let client = common::raw_client_at(&server.url()).await;
    client
        .batch_execute(&format!(
            "CREATE ROLE alice LOGIN PASSWORD '{SECRET}'; GRANT ALL ON SCHEMA public TO alice"
        ))
        .await
        .unwrap();
    std::fs::write(
        server.data_dir().join("pg_hba.conf"),
        "host all alice 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    client.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_work_from_every_source_and_never_show() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_password(dir.path()).await;
    let base = format!("postgres://alice@127.0.0.1:{}/postgres", server.port());
    let table = unique_table("passwords");

    // In the string, as libpq allows.
    let url = format!("postgres://alice:{SECRET}@127.0.0.1:{}/postgres", server.port());
    let backend = PostgresBackend::connect(&url, &table).await.expect("password in the URL");
    backend.write(&key(), b"v".to_vec().into()).await.unwrap();
    for (what, text) in [("Display", backend.to_string()), ("Debug", format!("{backend:?}"))] {
        assert_hidden(what, &text);
    }
    assert_eq!(backend.to_string(), format!("{base}/{table}"));
    let builder = PostgresBackend::builder(&url).password(SECRET);
    assert_hidden("the builder's Debug", &format!("{builder:?}"));

    // From the builder.
    let backend = PostgresBackend::builder(&base).table(&table).password(SECRET).connect().await;
    assert_eq!(backend.unwrap().read(&key()).await.unwrap(), b"v");

    // From a password file named by `passfile`, which must be private.
    let passfile = dir.path().join("pgpass");
    std::fs::write(&passfile, format!("127.0.0.1:{}:*:alice:{SECRET}\n", server.port())).unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let with_file = format!("{base}?passfile={}", passfile.display());
    let backend = PostgresBackend::connect(&with_file, &table).await.expect("password file");
    assert_eq!(backend.read(&key()).await.unwrap(), b"v");

    // A wrong password is permanent, and shown nowhere.
    let wrong = format!("postgres://alice:{SECRET}x@127.0.0.1:{}/postgres", server.port());
    let err = PostgresBackend::connect(&wrong, &table).await.unwrap_err();
    assert!(!err.is_transient(), "refused credentials are permanent: {err}");
    assert!(err.to_string().contains("password authentication failed"), "{err}");
    assert_hidden("the error", &format!("{err} {err:?}"));

    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_transient_and_hides_credentials() {
    let url = format!("postgres://bob:{SECRET}@127.0.0.1:1/db");
    let backend = PostgresBackend::connect(&url, "ldk_data").await.expect("connect defers");
    assert_eq!(backend.to_string(), "postgres://bob@127.0.0.1:1/db/ldk_data");
    let err = backend.read(&key()).await.unwrap_err();
    assert!(err.is_transient(), "a refused connection may pass: {err}");
    assert!(err.to_string().contains("postgres://bob@127.0.0.1:1/db/ldk_data"), "{err}");
    assert!(err.to_string().contains("monitors"), "the error names the key: {err}");
    assert_hidden("the error", &format!("{err} {err:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_connection_strings_are_configuration_errors_without_secrets() {
    for conn in [
        format!("host=h password={SECRET} colour=blue"),
        format!("postgres://u:{SECRET}@h/db?sslmode=sometimes"),
        format!("host=h password='{SECRET}"),
        format!("postgres://u:{SECRET}@h:notaport/db"),
    ] {
        let err = PostgresBackend::connect(&conn, "ldk_data").await.unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err}");
        assert_hidden("the error", &format!("{err} {err:?}"));
    }
    let err =
        PostgresBackend::builder("host=h sslmode=verify-full sslrootcert=/nonexistent/ca.pem")
            .connect()
            .await
            .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_refuses_a_server_without_tls() {
    // The fixture's server does not offer TLS.
    let url = common::url().await;
    let table = unique_table("require");
    for conn in [format!("{url}?sslmode=require"), format!("{url}?sslmode=verify-full")] {
        let err = PostgresBackend::connect(&conn, &table).await.unwrap_err();
        assert!(!err.is_transient(), "a missing TLS is permanent: {err}");
        assert!(err.to_string().contains("TLS"), "{err}");
    }
    let err = PostgresBackend::builder(&url).ssl_mode(SslMode::Require).connect().await;
    assert!(err.is_err(), "the builder's sslmode wins over the string's");
    // `prefer` (the default) and `disable` connect in plain text.
    for conn in [format!("{url}?sslmode=prefer"), format!("{url}?sslmode=disable"), url.clone()] {
        let backend = PostgresBackend::connect(&conn, &table).await.unwrap();
        backend.write(&key(), b"plain".to_vec().into()).await.unwrap();
    }
}
