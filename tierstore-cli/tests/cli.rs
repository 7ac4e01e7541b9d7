//! The `tierstore` binary end to end: the demo on the embedded defaults, inspecting a store,
//! copy and verify, and errors as one readable line.

use std::path::Path;
use std::process::{Command, Output};

fn tierstore(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierstore"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(output.status.success(), "stdout:\n{}\nstderr:\n{}", stdout(output), stderr(output));
}

/// A failure is one line on stderr, without a panic or a debug dump.
fn assert_one_line_error(output: &Output, needle: &str) {
    assert!(!output.status.success(), "should fail: {}", stdout(output));
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
    assert!(!err.contains("panicked") && !err.contains("{ "), "{err}");
}

#[test]
fn demo_runs_on_the_embedded_defaults_and_restores_from_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["demo", "--channels", "4", "--rounds", "3", "--graph-mib", "1"];
    let output = tierstore(dir.path(), &args);
    assert_ok(&output);
    let out = stdout(&output);
    for needle in ["primary", "backup", "ephemeral", "restored", "all checks passed"] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    assert!(dir.path().join("tierstore-demo/primary.db").is_file());
    // A second run starts over on the defaults.
    assert_ok(&tierstore(dir.path(), &args));
}

#[test]
fn put_get_ls_rm_on_a_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = "sqlite:store.db";
    assert_ok(&tierstore(dir.path(), &["put", url, "monitors//chan1", "--value", "hello"]));
    assert_ok(&tierstore(dir.path(), &["put", url, "monitors//chan2", "--value", "world"]));
    let got = tierstore(dir.path(), &["get", url, "monitors//chan1"]);
    assert_ok(&got);
    assert_eq!(got.stdout, b"hello");
    let listed = tierstore(dir.path(), &["ls", url, "monitors/"]);
    assert_ok(&listed);
    let mut keys: Vec<_> = stdout(&listed).lines().map(str::to_owned).collect();
    keys.sort();
    assert_eq!(keys, ["chan1", "chan2"]);
    assert_ok(&tierstore(dir.path(), &["rm", url, "monitors//chan1"]));
    let missing = tierstore(dir.path(), &["get", url, "monitors//chan1"]);
    assert_one_line_error(&missing, "not found");
}

#[test]
fn copy_then_verify_finds_no_difference_and_reports_one() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value) in [("monitors//a", "1"), ("//manager", "2"), ("payments/sent/p", "3")] {
        assert_ok(&tierstore(dir.path(), &["put", "sqlite:from.db", key, "--value", value]));
    }
    assert_ok(&tierstore(dir.path(), &["copy", "--from", "sqlite:from.db", "--to", "file:to"]));
    let verified =
        tierstore(dir.path(), &["verify", "--primary", "sqlite:from.db", "--backup", "file:to"]);
    assert_ok(&verified);
    assert_ok(&tierstore(dir.path(), &["put", "file:to", "monitors//a", "--value", "changed"]));
    let differs =
        tierstore(dir.path(), &["verify", "--primary", "sqlite:from.db", "--backup", "file:to"]);
    assert!(!differs.status.success(), "a difference fails verify");
    assert!(
        (stdout(&differs) + &stderr(&differs)).contains("monitors/\"\"/a"),
        "names the key: {}{}",
        stdout(&differs),
        stderr(&differs)
    );
}

#[test]
fn bad_input_is_one_readable_line() {
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_error(&tierstore(dir.path(), &["ls", "ftp://x"]), "unknown scheme");
    assert_one_line_error(&tierstore(dir.path(), &["get", "memory:", "bad key!/x/y"]), "bad key!");
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["demo", "ls", "get", "put", "rm", "copy", "verify"] {
        let output = tierstore(dir.path(), &[command, "--help"]);
        assert_ok(&output);
        assert!(stdout(&output).contains("Usage: tierstore"), "{command}: {}", stdout(&output));
    }
}

/// `postgres://` URLs take the password from `PGPASSWORD`, never from the URL.
#[cfg(feature = "postgres")]
#[test]
fn postgres_urls_take_the_password_from_pgpassword() {
    use tierstore_testkit::servers::postgres::{PostgresServer, unique_table};
    const SECRET: &str = "cli-secret-0123456789";
    let server = PostgresServer::start_with_password(SECRET).expect("PostgreSQL starts");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}?table={}", server.url(), unique_table("cli"));
    let run = |args: &[&str], password: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tierstore"));
        cmd.current_dir(dir.path()).args(args).env_remove("PGPASSWORD");
        cmd.env("PGPASSFILE", dir.path().join("none"));
        if let Some(password) = password {
            cmd.env("PGPASSWORD", password);
        }
        cmd.output().expect("the binary runs")
    };
    assert_ok(&run(&["put", &url, "monitors//chan1", "--value", "hello"], Some(SECRET)));
    let got = run(&["get", &url, "monitors//chan1"], Some(SECRET));
    assert_ok(&got);
    assert_eq!(got.stdout, b"hello");

    let refused = run(&["get", &url, "monitors//chan1"], None);
    assert_one_line_error(&refused, "password");
    let with_password = url.replacen("postgres@", &format!("postgres:{SECRET}@"), 1);
    let refused = run(&["get", &with_password, "monitors//chan1"], None);
    assert_one_line_error(&refused, "PGPASSWORD");
    assert!(!stderr(&refused).contains(SECRET), "{}", stderr(&refused));
    server.stop();
}
