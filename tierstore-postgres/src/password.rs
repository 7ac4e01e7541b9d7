//! The password, as libpq finds it when the connection string has none: `PGPASSWORD`, else
//! the password file (`passfile` parameter, else `PGPASSFILE`, else `~/.pgpass`).
//!
//! A password file has lines `hostname:port:database:username:password`; `*` matches
//! anything, `\` escapes `:` and `\`, `#` starts a comment; the first matching line wins. As
//! libpq does, a file readable by group or others is ignored (with a warning).

use std::path::{Path, PathBuf};

/// What a password-file line is matched against.
pub(crate) struct Target<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) database: &'a str,
    pub(crate) user: &'a str,
}

/// The password for `target` from the environment or a password file, if any. Blocking:
/// reads the file.
pub(crate) fn lookup(target: &Target<'_>, passfile: Option<&Path>) -> Option<String> {
    if let Some(password) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        return Some(password);
    }
    let path = passfile.map(Path::to_path_buf).or_else(default_passfile)?;
    let text = read_private(&path)?;
    find(&text, target)
}

fn default_passfile() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass"))
}

/// The file's text, unless it is missing or readable by others than its owner.
fn read_private(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "password file has group or world access; ignored (chmod 0600 it)"
            );
            return None;
        }
    }
    if !meta.is_file() {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The password of the first line of `text` that matches `target`.
fn find(text: &str, target: &Target<'_>) -> Option<String> {
    let port = target.port.to_string();
    let wanted = [target.host, port.as_str(), target.database, target.user];
    text.lines().filter(|line| !line.trim_start().starts_with('#')).find_map(|line| {
        let fields = split_fields(line);
        if fields.len() != 5 {
            return None;
        }
        let matches = fields.iter().zip(wanted).all(|(field, want)| field == "*" || field == want);
        matches.then(|| fields[4].clone())
    })
}

/// A line's `:`-separated fields, with `\:` and `\\` unescaped.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().expect("one field").extend(chars.next()),
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n\
        other:5432:*:*:nope\n\
        127.0.0.1:5433:node:alice:first\\:secret\n\
        *:*:*:alice:fallback\n";

    fn target(host: &str, port: u16) -> Target<'_> {
        Target { host, port, database: "node", user: "alice" }
    }

    #[test]
    fn first_matching_line_wins_with_wildcards_and_escapes() {
        assert_eq!(find(FILE, &target("127.0.0.1", 5433)).as_deref(), Some("first:secret"));
        assert_eq!(find(FILE, &target("127.0.0.1", 5432)).as_deref(), Some("fallback"));
        let bob = Target { host: "x", port: 1, database: "d", user: "bob" };
        assert_eq!(find(FILE, &bob), None);
    }

    #[cfg(unix)]
    #[test]
    fn files_others_can_read_are_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, FILE).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_private(&path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_private(&path).as_deref(), Some(FILE));
    }
}
