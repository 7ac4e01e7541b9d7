//! `cargo xtask test`: every test of the workspace, with every server required.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};

use crate::cmd::{cargo, show};
use crate::{services, tools};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let tools = tools::ensure()?;
    let servers = services::start(&tools)?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
    cmd.args(args.iter().skip_while(|a| *a == "--"));
    for (key, value) in servers.env() {
        cmd.env(key, value);
    }
    let mut results = Results::default();
    let status = stream(&mut cmd, &mut results)?;
    // The ldk-node 0.7.1 integration crate, outside the workspace, on the same servers.
    let ldk_node = stream(&mut crate::ldk_node::test_command(servers.env()), &mut results)?;
    // The Python bindings' tests (pytest), on the same servers.
    let python = stream(&mut crate::bindings::pytest_command(servers.env())?, &mut results)?;
    drop(servers);
    results.print();
    if !status.success() || !ldk_node.success() || !python.success() {
        return Err(format!("tests failed ({status}); {} failed", results.failed.len()));
    }
    if results.passed == 0 {
        return Err("no test ran".to_owned());
    }
    if !results.ignored.is_empty() {
        return Err(format!(
            "{} tests were ignored; no test may be skipped",
            results.ignored.len()
        ));
    }
    let missing = results.missing_cells();
    if !missing.is_empty() {
        return Err(format!("matrix cells without a passing test: {}", missing.join(", ")));
    }
    Ok(())
}

/// Runs `cmd`, echoing its output and recording libtest's outcomes in `results`.
fn stream(cmd: &mut Command, results: &mut Results) -> Result<ExitStatus, String> {
    eprintln!("$ {}", show(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", show(cmd)))?;
    let stdout = child.stdout.take().ok_or("cargo test has no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading cargo test output: {e}"))?;
        println!("{line}");
        results.record(&line);
    }
    child.wait().map_err(|e| format!("waiting for `{}`: {e}", show(cmd)))
}

/// Every backend the project ships, each of which must pass alone and in every role.
const BACKENDS: [&str; 7] = ["memory", "sqlite", "fs", "redis", "s3", "s3aws", "postgres"];
const ROLES: [&str; 4] = ["alone", "primary", "backup", "ephemeral"];
/// Layered configurations that must pass too: the encryption layer alone (conformance) and
/// as the backup, on the in-memory backend, SQLite and S3 (SeaweedFS).
const EXTRA_CELLS: [(&str, &str); 5] = [
    ("encrypted_memory", "alone"),
    ("encrypted_sqlite", "alone"),
    ("encrypted_memory", "backup"),
    ("encrypted_sqlite", "backup"),
    ("encrypted_s3", "backup"),
];

/// Outcomes parsed from libtest's output, and the backend × role matrix.
#[derive(Default)]
struct Results {
    passed: usize,
    failed: Vec<String>,
    ignored: Vec<String>,
    /// (backend, role) -> (passed, failed)
    matrix: BTreeMap<(String, String), (usize, usize)>,
}

impl Results {
    fn record(&mut self, line: &str) {
        let pytest = crate::bindings::libtest_line(line);
        let line = pytest.as_deref().unwrap_or(line);
        let Some(rest) = line.strip_prefix("test ") else { return };
        let Some((name, outcome)) = rest.rsplit_once(" ... ") else { return };
        let ok = match outcome.trim() {
            "ok" => true,
            "FAILED" => false,
            o if o.starts_with("ignored") => {
                self.ignored.push(name.to_owned());
                return;
            }
            _ => return,
        };
        if ok {
            self.passed += 1;
        } else {
            self.failed.push(name.to_owned());
        }
        for cell in matrix_cells(name) {
            let entry = self.matrix.entry(cell).or_default();
            if ok { entry.0 += 1 } else { entry.1 += 1 }
        }
    }

    /// The required (backend, role) cells that no passing test covered.
    fn missing_cells(&self) -> Vec<String> {
        BACKENDS
            .iter()
            .flat_map(|backend| ROLES.iter().map(move |role| (*backend, *role)))
            .chain(EXTRA_CELLS)
            .filter(|(backend, role)| {
                let cell = (backend.to_string(), role.to_string());
                self.matrix.get(&cell).is_none_or(|(passed, _)| *passed == 0)
            })
            .map(|(backend, role)| format!("{backend} as {role}"))
            .collect()
    }

    fn print(&self) {
        if !self.matrix.is_empty() {
            println!("{}", matrix_table(&self.matrix));
        }
        println!(
            "xtask test: {} passed, {} failed, {} ignored",
            self.passed,
            self.failed.len(),
            self.ignored.len()
        );
        for name in &self.failed {
            println!("  FAILED {name}");
        }
        for name in &self.ignored {
            println!("  ignored {name} (no test may be skipped)");
        }
    }
}

/// The matrix cells a test counts for, from its module path: a module
/// `conformance_<backend>` counts for (backend, alone); a module
/// `primary_<p>__backup_<b>__ephemeral_<e>` counts for each role.
fn matrix_cells(test: &str) -> Vec<(String, String)> {
    let mut cells = Vec::new();
    // Module names only: the last segment is the test function, whose name may look alike
    // (`primary_failure_fails_the_write`).
    let segments: Vec<&str> = test.split("::").collect();
    for segment in &segments[..segments.len().saturating_sub(1)] {
        if let Some(backend) = segment.strip_prefix("conformance_") {
            cells.push((backend.to_owned(), "alone".to_owned()));
        }
        if segment.starts_with("primary_") && segment.contains("__backup_") {
            for part in segment.split("__") {
                if let Some((role, backend)) = part.split_once('_') {
                    cells.push((backend.to_owned(), role.to_owned()));
                }
            }
        }
    }
    cells
}

fn matrix_table(matrix: &BTreeMap<(String, String), (usize, usize)>) -> String {
    let backends: Vec<&String> = {
        let mut b: Vec<&String> = matrix.keys().map(|(backend, _)| backend).collect();
        b.dedup();
        b
    };
    let mut out = String::from("\nbackend x role (conformance alone; scenario suite per role)\n\n");
    out.push_str("| backend | alone | primary | backup | ephemeral |\n|---|---|---|---|---|\n");
    for backend in backends {
        out.push_str(&format!("| {backend} |"));
        for role in ROLES {
            let cell = match matrix.get(&(backend.clone(), role.to_owned())) {
                None => " —".to_owned(),
                Some((passed, 0)) => format!(" passed ({passed})"),
                Some((passed, failed)) => format!(" FAILED ({failed} of {})", passed + failed),
            };
            out.push_str(&format!("{cell} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_map_to_matrix_cells() {
        let cells = matrix_cells("primary_sqlite__backup_s3aws__ephemeral_fs::stale_copies");
        assert_eq!(
            cells,
            [("sqlite", "primary"), ("s3aws", "backup"), ("fs", "ephemeral")]
                .map(|(b, r)| (b.to_owned(), r.to_owned()))
        );
        assert_eq!(
            matrix_cells("conformance_redis::read_missing_is_not_found"),
            [("redis".to_owned(), "alone".to_owned())]
        );
        assert!(matrix_cells("tests::other").is_empty());
        assert!(
            matrix_cells("primary_memory__backup_fs__ephemeral_fs::primary_failure_fails_it")
                .iter()
                .all(|(backend, _)| backend != "failure_fails_it"),
            "test function names are not modules"
        );

        let mut results = Results::default();
        results.record("test conformance_memory::a ... ok");
        results.record("test conformance_memory::b ... FAILED");
        results.record("test x ... ignored");
        assert_eq!(results.passed, 1);
        assert_eq!(results.failed, ["conformance_memory::b"]);
        assert_eq!(results.ignored, ["x"]);
        let table = matrix_table(&results.matrix);
        assert!(table.contains("| memory | FAILED (1 of 2) | — | — | — |"), "{table}");
        let missing = results.missing_cells();
        assert!(missing.contains(&"memory as primary".to_owned()), "{missing:?}");
        assert!(!missing.contains(&"memory as alone".to_owned()), "one test passed: {missing:?}");
        assert_eq!(missing.len(), BACKENDS.len() * ROLES.len() - 1 + EXTRA_CELLS.len());
        assert!(missing.contains(&"encrypted_s3 as backup".to_owned()), "{missing:?}");
    }
}
