//! The servers the tests need, started once for a whole `cargo xtask test` or `bench` run.
//!
//! Each server runs on free loopback ports in its own temporary directory, under the
//! testkit's supervisor: it stops when this process exits, however it exits. The tests find
//! the servers through environment variables (the same ones a developer sets to point the
//! tests at servers of their own), so every test binary shares them instead of starting its
//! own; fixtures that need a private server (e.g. to kill it) still start one, from the
//! binaries named in `TIERSTORE_REDIS_SERVER`, `TIERSTORE_WEED_BIN` and
//! `TIERSTORE_POSTGRES_BIN_DIR`.

use tierstore_testkit::servers::postgres::PostgresServer;
use tierstore_testkit::servers::redis::RedisServer;
use tierstore_testkit::servers::s3::S3Server;

use crate::tools::Tools;

/// The bucket the tests share; each test works under its own prefix.
const TEST_BUCKET: &str = "tierstore-tests";

/// Running servers and the environment that points the tests at them.
pub(crate) struct Services {
    env: Vec<(String, String)>,
    // Dropping a server closes its supervisor's pipe, which stops it.
    _redis: RedisServer,
    _s3: S3Server,
    _postgres: PostgresServer,
}

impl Services {
    /// The variables to set on the test (or bench) process.
    pub(crate) fn env(&self) -> &[(String, String)] {
        &self.env
    }
}

/// Starts redis-server, SeaweedFS and PostgreSQL; an error says which one could not start and
/// why.
pub(crate) fn start(tools: &Tools) -> Result<Services, String> {
    let redis_server = tools.redis_server.display().to_string();
    let weed = tools.weed.display().to_string();
    let mut env = vec![
        ("TIERSTORE_REDIS_SERVER".to_owned(), redis_server.clone()),
        ("TIERSTORE_WEED_BIN".to_owned(), weed.clone()),
    ];

    eprintln!("xtask: starting redis-server ({redis_server})");
    let redis = RedisServer::start().map_err(|e| format!("redis-server did not start: {e}"))?;
    env.push(("TIERSTORE_REDIS_URL".to_owned(), redis.url()));

    eprintln!("xtask: starting SeaweedFS ({weed}); this takes about 10 s");
    let s3 = S3Server::start().map_err(|e| format!("SeaweedFS did not start: {e}"))?;
    s3.create_bucket(TEST_BUCKET)
        .map_err(|e| format!("SeaweedFS: cannot create bucket `{TEST_BUCKET}`: {e}"))?;
    env.extend([
        ("TIERSTORE_S3_ENDPOINT".to_owned(), s3.endpoint().to_owned()),
        ("TIERSTORE_S3_BUCKET".to_owned(), TEST_BUCKET.to_owned()),
        ("TIERSTORE_S3_REGION".to_owned(), s3.region().to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), s3.access_key_id().to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), s3.secret_access_key().to_owned()),
    ]);

    let postgres_bin = tools.postgres_bin.display().to_string();
    env.push(("TIERSTORE_POSTGRES_BIN_DIR".to_owned(), postgres_bin.clone()));
    eprintln!("xtask: starting PostgreSQL ({postgres_bin})");
    let postgres = PostgresServer::start().map_err(|e| format!("PostgreSQL did not start: {e}"))?;
    env.push(("TIERSTORE_POSTGRES_URL".to_owned(), postgres.url()));

    Ok(Services { env, _redis: redis, _s3: s3, _postgres: postgres })
}

/// `cargo xtask services`: starts the servers, prints their environment as shell `export`
/// lines, and keeps them up until this process is interrupted.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`services` takes no arguments (got `{arg}`)"));
    }
    let tools = crate::tools::ensure()?;
    let services = start(&tools)?;
    for (key, value) in services.env() {
        println!("export {key}={}", shell_quote(value));
    }
    eprintln!("xtask: servers are up; paste the lines above into a shell, Ctrl-C stops them");
    loop {
        std::thread::park();
    }
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn shell_quote_survives_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
