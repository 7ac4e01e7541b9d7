//! `cargo xtask bindings python|kotlin|swift|all`: foreign bindings of `tierstore-ffi`.
//!
//! Builds the in-workspace `uniffi-bindgen` (the pinned `uniffi` crate with its `cli`
//! feature) and the `tierstore-ffi` shared library, then generates bindings from the library
//! itself ("library mode": no UDL, nothing fetched) into `target/bindings/<language>/`:
//!
//! - `python/tierstore/`: an importable package: uniffi's `tierstore_ffi.py`, the shared
//!   library beside it (the module loads it from its own folder), an `__init__.py`
//!   re-exporting the module, and `py.typed` (uniffi writes type annotations inline and no
//!   `.pyi` stubs). `PYTHONPATH=target/bindings/python python3 -c 'import tierstore'`.
//! - `kotlin/` and `swift/`: sources only; compiling them needs a JDK/Kotlin or Swift
//!   toolchain, which the project does not install.
//!
//! `cargo xtask test` builds the Python package and runs `bindings/python/tests` with pytest.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{cargo, root, run, target_dir};

const LANGUAGES: [&str; 3] = ["python", "kotlin", "swift"];

pub(crate) fn run_task(args: &[String]) -> Result<(), String> {
    let languages: Vec<&str> = match args.first().map(String::as_str) {
        None | Some("all") => LANGUAGES.to_vec(),
        Some(lang) if LANGUAGES.contains(&lang) => vec![lang],
        Some(other) => {
            return Err(format!("unknown language `{other}`: python, kotlin, swift or all"));
        }
    };
    for dir in generate(&languages)? {
        eprintln!("xtask bindings: {}", dir.display());
    }
    Ok(())
}

/// Builds the library and generates bindings for each of `languages`; returns their folders.
pub(crate) fn generate(languages: &[&str]) -> Result<Vec<PathBuf>, String> {
    let (bindgen, library) = build()?;
    let out = target_dir().join("bindings");
    languages
        .iter()
        .map(|&language| {
            let dir = match language {
                "python" => out.join("python/tierstore"),
                other => out.join(other),
            };
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
            }
            std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
            run(Command::new(&bindgen)
                .args(["generate", "--library"])
                .arg(&library)
                .args(["--language", language, "--out-dir"])
                .arg(&dir)
                .current_dir(root()))?;
            if language == "python" {
                python_package(&dir, &library)?;
            }
            Ok(dir)
        })
        .collect()
}

/// Builds `uniffi-bindgen` and then the shared library; returns both paths.
fn build() -> Result<(PathBuf, PathBuf), String> {
    // The generator first: its `cli` feature also rebuilds the library (features unify
    // within one build), and the library the bindings ship must be the one built without it.
    run(cargo().args([
        "build",
        "-p",
        "tierstore-ffi",
        "--features",
        "cli",
        "--bin",
        "uniffi-bindgen",
    ]))?;
    run(cargo().args(["build", "-p", "tierstore-ffi", "--lib"]))?;
    let debug = target_dir().join("debug");
    let library = debug.join(format!(
        "{}tierstore_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let bindgen = debug.join(format!("uniffi-bindgen{}", std::env::consts::EXE_SUFFIX));
    for path in [&library, &bindgen] {
        if !path.is_file() {
            return Err(format!("{} was not built", path.display()));
        }
    }
    Ok((bindgen, library))
}

/// Completes `dir` (holding uniffi's `tierstore_ffi.py`) into the package `tierstore`.
fn python_package(dir: &Path, library: &Path) -> Result<(), String> {
    let name = library.file_name().ok_or("the library has no file name")?;
    std::fs::copy(library, dir.join(name)).map_err(|e| io_error(library, e))?;
    let init = "\"\"\"TierStore: tiered persistence for LDK nodes (uniffi bindings of tierstore-ffi).\"\"\"\n\
                \n\
                from .tierstore_ffi import *  # noqa: F401,F403\n\
                from .tierstore_ffi import __all__  # noqa: F401\n";
    for (file, text) in [("__init__.py", init), ("py.typed", "")] {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    }
    Ok(())
}

/// pytest over `bindings/python/tests`, against the package under `target/bindings/python`
/// and the servers in `env`; `-v` so that [`libtest_line`] can count each test.
pub(crate) fn pytest_command(env: &[(String, String)]) -> Result<Command, String> {
    generate(&["python"])?;
    let python = crate::tools::ensure_pytest_python()?;
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", "-v", "-p", "no:cacheprovider", "bindings/python/tests"])
        .current_dir(root())
        .env("PYTHONPATH", target_dir().join("bindings/python"))
        .env("TIERSTORE_TARGET_DIR", target_dir());
    for (key, value) in env {
        cmd.env(key, value);
    }
    Ok(cmd)
}

/// A pytest `-v` result line (`path::test PASSED [ 10%]`) as libtest writes it
/// (`test path::test ... ok`), so that `cargo xtask test` counts both alike.
pub(crate) fn libtest_line(line: &str) -> Option<String> {
    if !line.split_whitespace().next()?.contains(".py::") {
        return None;
    }
    // Parametrized ids may hold spaces: the outcome is the first word that is one.
    let words: Vec<&str> = line.split_whitespace().collect();
    let (at, outcome) = words.iter().enumerate().skip(1).find_map(|(i, word)| {
        let outcome = match *word {
            "PASSED" | "XFAIL" => "ok",
            "FAILED" | "ERROR" | "XPASS" => "FAILED",
            "SKIPPED" => "ignored",
            _ => return None,
        };
        Some((i, outcome))
    })?;
    Some(format!("test {} ... {outcome}", words[..at].join(" ")))
}

fn io_error(path: &Path, err: std::io::Error) -> String {
    format!("{}: {err}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_lines_read_as_libtest_lines() {
        assert_eq!(
            libtest_line(
                "bindings/python/tests/test_store.py::test_round_trip[primary] PASSED  [ 5%]"
            )
            .as_deref(),
            Some("test bindings/python/tests/test_store.py::test_round_trip[primary] ... ok")
        );
        assert_eq!(
            libtest_line("tests/test_x.py::test_y FAILED").as_deref(),
            Some("test tests/test_x.py::test_y ... FAILED")
        );
        assert_eq!(
            libtest_line("tests/test_x.py::test_y SKIPPED (no server)").as_deref(),
            Some("test tests/test_x.py::test_y ... ignored")
        );
        assert_eq!(libtest_line("FAILED tests/test_x.py::test_y - AssertionError"), None);
        assert_eq!(libtest_line("test a::b ... ok"), None);
        assert_eq!(
            libtest_line("t.py::test_k[('m', 'bad key')] PASSED [ 50%]").as_deref(),
            Some("test t.py::test_k[('m', 'bad key')] ... ok")
        );
    }
}
