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
    assert_eq!(differs.status.code(), Some(3), "a difference is exit code 3");
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
    for command in ["demo", "ls", "get", "put", "rm", "copy", "verify", "resilver", "restore"] {
        let output = tierstore(dir.path(), &[command, "--help"]);
        assert_ok(&output);
        assert!(stdout(&output).contains("Usage: tierstore"), "{command}: {}", stdout(&output));
    }
}

/// Every file and directory under `dir`, for "nothing was created" checks.
fn tree(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            all.push(path);
        }
    }
    all.sort();
    all
}

fn put(dir: &Path, url: &str, pairs: &[(&str, &str)]) {
    for (key, value) in pairs {
        assert_ok(&tierstore(dir, &["put", url, key, "--value", value]));
    }
}

#[test]
fn a_mistyped_source_fails_naming_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "sqlite:real.db", &[("monitors//a", "1")]);
    // SQLite's shared-memory and WAL files beside an existing database are SQLite's, made by
    // any reader of a WAL database: not a store created.
    let files = |dir: &Path| -> Vec<_> {
        let sqlite_own = |p: &std::path::PathBuf| {
            let p = p.to_string_lossy();
            p.ends_with("-shm") || p.ends_with("-wal")
        };
        tree(dir).into_iter().filter(|p| !sqlite_own(p)).collect()
    };
    let before = files(dir.path());
    for args in [
        vec!["ls", "sqlite:typo/real.db"],
        vec!["get", "sqlite:typo.db", "monitors//a"],
        vec!["ls", "file:typo-dir"],
        vec!["verify", "--primary", "sqlite:typo.db", "--backup", "sqlite:real.db"],
        vec!["verify", "--primary", "sqlite:real.db", "--backup", "file:typo-dir"],
        vec!["copy", "--from", "sqlite:typo.db", "--to", "sqlite:out.db"],
        vec!["restore", "--from", "file:typo-dir", "--to", "sqlite:out.db"],
        vec!["resilver", "--primary", "sqlite:typo.db", "--backup", "sqlite:out.db"],
    ] {
        let output = tierstore(dir.path(), &args);
        assert_one_line_error(&output, "typo");
        assert_eq!(output.status.code(), Some(1), "{args:?}");
    }
    assert_eq!(files(dir.path()), before, "a failed command created files");

    // Read-only commands on a store that exists create nothing either (no journal, no
    // directory, no migration).
    assert_ok(&tierstore(dir.path(), &["ls", "sqlite:real.db"]));
    assert_ok(&tierstore(dir.path(), &["get", "sqlite:real.db", "monitors//a"]));
    let same = ["verify", "--primary", "sqlite:real.db", "--backup", "sqlite:real.db"];
    assert_ok(&tierstore(dir.path(), &same));
    assert_eq!(files(dir.path()), before);
}

#[test]
fn usage_errors_are_exit_code_2_and_documented() {
    let dir = tempfile::tempdir().unwrap();
    let output = tierstore(dir.path(), &["verify", "--primary", "memory:"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let help = tierstore(dir.path(), &["--help"]);
    assert_ok(&help);
    for line in ["0  success", "1  error", "2  usage error", "3  differences found"] {
        assert!(stdout(&help).contains(line), "{line} missing from --help:\n{}", stdout(&help));
    }
    assert!(stdout(&help).contains("--key-file"), "{}", stdout(&help));
}

#[test]
fn restore_refuses_a_non_empty_target_and_an_empty_source_without_force() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "sqlite:backup.db", &[("monitors//a", "1"), ("//manager", "2")]);
    put(dir.path(), "sqlite:primary.db", &[("monitors//old", "x")]);

    let refused = tierstore(
        dir.path(),
        &["restore", "--from", "sqlite:backup.db", "--to", "sqlite:primary.db"],
    );
    assert_one_line_error(&refused, "not empty");
    let got = tierstore(dir.path(), &["get", "sqlite:primary.db", "monitors//a"]);
    assert!(!got.status.success(), "a refused restore wrote nothing");

    let forced = tierstore(
        dir.path(),
        &["restore", "--from", "sqlite:backup.db", "--to", "sqlite:primary.db", "--force"],
    );
    assert_ok(&forced);
    assert!(stdout(&forced).starts_with("restored 2 keys"), "{}", stdout(&forced));

    // Into a new primary: no --force needed, and the result equals the backup.
    let fresh =
        tierstore(dir.path(), &["restore", "--from", "sqlite:backup.db", "--to", "file:new"]);
    assert_ok(&fresh);
    let check = ["verify", "--primary", "file:new", "--backup", "sqlite:backup.db"];
    assert_ok(&tierstore(dir.path(), &check));

    // An empty backup (e.g. the wrong prefix) is refused, then accepted with --force.
    put(dir.path(), "sqlite:empty.db", &[("monitors//x", "1")]);
    assert_ok(&tierstore(dir.path(), &["rm", "sqlite:empty.db", "monitors//x"]));
    let empty = tierstore(dir.path(), &["restore", "--from", "sqlite:empty.db", "--to", "file:e"]);
    assert_one_line_error(&empty, "empty");
    let args = ["restore", "--from", "sqlite:empty.db", "--to", "file:e", "--force"];
    assert_ok(&tierstore(dir.path(), &args));
    let copy = tierstore(dir.path(), &["copy", "--from", "sqlite:empty.db", "--to", "file:c"]);
    assert_one_line_error(&copy, "empty");
}

#[test]
fn resilver_copies_only_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<(String, String)> =
        (0..20).map(|i| (format!("monitors//chan{i}"), format!("v{i}"))).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    put(dir.path(), "sqlite:primary.db", &pairs);

    let args = ["resilver", "--primary", "sqlite:primary.db", "--backup", "sqlite:backup.db"];
    let first = tierstore(dir.path(), &args);
    assert_ok(&first);
    assert!(stdout(&first).contains("20 copied"), "a new backup is backfilled: {}", stdout(&first));
    assert!(dir.path().join("primary.db.journal").exists(), "the default journal is beside it");

    // The primary moves on without its backup: 2 changed, 1 new, 1 removed.
    put(dir.path(), "sqlite:primary.db", &[("monitors//chan0", "new"), ("monitors//chan1", "new")]);
    put(dir.path(), "sqlite:primary.db", &[("monitors//chan20", "v20")]);
    assert_ok(&tierstore(dir.path(), &["rm", "sqlite:primary.db", "monitors//chan2"]));
    let second = tierstore(dir.path(), &args);
    assert_ok(&second);
    let out = stdout(&second);
    assert_eq!(out.lines().count(), 1, "one summary line: {out}");
    assert!(out.contains("3 copied") && out.contains("1 removed"), "{out}");
    assert!(out.contains("17 unchanged"), "{out}");

    let verify = ["verify", "--primary", "sqlite:primary.db", "--backup", "sqlite:backup.db"];
    assert_ok(&tierstore(dir.path(), &verify));
    // Nothing left to do.
    let third = tierstore(dir.path(), &args);
    assert!(stdout(&third).contains("0 copied, 0 removed"), "{}", stdout(&third));

    // Without a journal (an explicit path elsewhere works the same).
    let args = [
        "resilver",
        "--primary",
        "sqlite:primary.db",
        "--backup",
        "file:other",
        "--journal",
        "other.journal",
    ];
    let other = tierstore(dir.path(), &args);
    assert!(stdout(&other).contains("20 copied"), "{}", stdout(&other));
}

#[test]
fn non_terminal_output_is_one_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "sqlite:a.db", &[("monitors//a", "1"), ("//manager", "2")]);
    for args in [
        vec!["copy", "--from", "sqlite:a.db", "--to", "sqlite:b.db"],
        vec!["verify", "--primary", "sqlite:a.db", "--backup", "sqlite:b.db"],
        vec!["copy", "--from", "sqlite:a.db", "--to", "sqlite:c.db", "--no-verify"],
        vec!["restore", "--from", "sqlite:a.db", "--to", "sqlite:d.db"],
    ] {
        let output = tierstore(dir.path(), &args);
        assert_ok(&output);
        let out = stdout(&output);
        assert_eq!(out.lines().count(), 1, "{args:?}: {out}");
        assert!(
            stderr(&output).is_empty(),
            "{args:?}: no progress off a terminal: {}",
            stderr(&output)
        );
    }
}

/// The binary has every backend: a remote URL whose server is down fails with the server's
/// error, in one line, never with "needs the … cargo feature".
#[test]
fn remote_backends_are_built_in() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "redis://127.0.0.1:1/0?prefix=p",
        "s3://b/p?endpoint=http://127.0.0.1:1&allow_http=true&region=r",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_tierstore"))
            .current_dir(dir.path())
            .args(["ls", url])
            .env("AWS_ACCESS_KEY_ID", "id")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .output()
            .unwrap();
        assert_one_line_error(&output, "127.0.0.1:1");
        assert!(!stderr(&output).contains("cargo feature"), "{}", stderr(&output));
    }
}

#[test]
fn ls_hides_the_sync_record() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "sqlite:primary.db", &[("monitors//a", "1")]);
    let args = ["resilver", "--primary", "sqlite:primary.db", "--backup", "sqlite:backup.db"];
    assert_ok(&tierstore(dir.path(), &args));
    for url in ["sqlite:primary.db", "sqlite:backup.db"] {
        let listed = tierstore(dir.path(), &["ls", url]);
        assert_ok(&listed);
        assert_eq!(stdout(&listed), "monitors/\"\"/a\n", "{url}");
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
