//! TLS against a private server that accepts TLS connections only, with a certificate for
//! `localhost` from a test CA: each `sslmode` encrypts and checks as libpq's does, and every
//! refusal is permanent.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tierstore_core::{Backend, Key};
use tierstore_postgres::{PostgresBackend, SslMode};
use tierstore_testkit::servers::postgres::{PostgresServer, unique_table};
use tierstore_testkit::servers::process::free_port;

/// A CA certificate (PEM) and an issuer for it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}

/// Writes `contents` into the data directory, owned by the server's user, private.
fn server_file(data: &Path, name: &str, contents: &str) {
    let path = data.join(name);
    std::fs::write(&path, contents).unwrap();
    let owner = std::fs::metadata(data).unwrap();
    std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A server with `ssl=on`, a certificate for `localhost` signed by a fresh CA, and
/// `hostssl`-only authentication; returns it with the CA's PEM file.
async fn tls_server(dir: &Path) -> (PostgresServer, std::path::PathBuf) {
    let (dir, port) = (dir.to_path_buf(), free_port().unwrap());
    let start = move |dir: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || PostgresServer::start_in(&dir, port).unwrap())
    };
    // Initialise the cluster, then configure TLS while it is stopped.
    let server = start(dir.clone()).await.unwrap();
    let data = server.data_dir().to_path_buf();
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();

    let (ca_pem, issuer) = ca("tierstore test CA");
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    server_file(&data, "server.crt", &cert.pem());
    server_file(&data, "server.key", &key.serialize_pem());
    server_file(&data, "postgresql.auto.conf", "ssl = on\n");
    server_file(
        &data,
        "pg_hba.conf",
        "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    );
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    (start(dir).await.unwrap(), ca_file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmodes_encrypt_and_check_as_libpq_does() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca_file) = tls_server(dir.path()).await;
    let port = server.port();
    let table = unique_table("tls");
    let ca_path = ca_file.display();
    let url =
        |host: &str, params: &str| format!("postgres://postgres@{host}:{port}/postgres?{params}");
    let key = Key::new("monitors", "", "chan").unwrap();

    // Connections that must work, each writing through TLS (plain text is rejected).
    for conn in [
        url("127.0.0.1", "sslmode=require"),
        url("127.0.0.1", "sslmode=prefer"),
        url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca_path}")),
        url("localhost", &format!("sslmode=verify-full&sslrootcert={ca_path}")),
    ] {
        let backend =
            PostgresBackend::connect(&conn, &table).await.unwrap_or_else(|e| panic!("{conn}: {e}"));
        backend.write(&key, conn.clone().into_bytes().into()).await.unwrap();
        assert_eq!(backend.read(&key).await.unwrap(), conn.as_bytes());
    }
    let pem = std::fs::read(&ca_file).unwrap();
    let backend = PostgresBackend::builder(&url("localhost", ""))
        .table(&table)
        .ssl_mode(SslMode::VerifyFull)
        .root_certificates_pem(pem)
        .connect()
        .await
        .expect("the builder's CA");
    backend.read(&key).await.unwrap();

    // Connections that must be refused, permanently.
    let (other_ca, _) = ca("another CA");
    let other = dir.path().join("other.pem");
    std::fs::write(&other, other_ca).unwrap();
    let other = other.display();
    for (conn, why) in [
        (url("127.0.0.1", "sslmode=disable"), "the server rejects plain text"),
        (
            url("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca_path}")),
            "127.0.0.1 is not in the certificate",
        ),
        (url("localhost", &format!("sslmode=verify-full&sslrootcert={other}")), "another CA"),
        (url("localhost", &format!("sslmode=verify-ca&sslrootcert={other}")), "another CA"),
        (
            url("localhost", &format!("sslmode=require&sslrootcert={other}")),
            "require checks given roots",
        ),
    ] {
        let err = PostgresBackend::connect(&conn, &table).await.expect_err(why);
        assert!(!err.is_transient(), "{why}: a refusal is permanent: {err}");
    }
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
}
