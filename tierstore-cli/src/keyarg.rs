//! Keys and namespaces on the command line: `primary/secondary/key`, `primary/secondary`.
//!
//! Empty parts are written empty or as `""`: `monitors//chan1`, `//manager`,
//! `""/""/manager`.

use tierstore::{Key, Namespace};

fn parts(text: &str) -> Vec<&str> {
    text.split('/').map(|p| if p == "\"\"" { "" } else { p }).collect()
}

/// Parses `primary/secondary/key`.
pub(crate) fn key(text: &str) -> Result<Key, String> {
    match parts(text).as_slice() {
        [p, s, k] => Key::new(p, s, k).map_err(|e| format!("key `{text}`: {e}")),
        _ => Err(format!(
            "key `{text}`: expected PRIMARY/SECONDARY/KEY, e.g. monitors//chan1 or //manager"
        )),
    }
}

/// Parses `primary/secondary` (or `primary` alone).
pub(crate) fn namespace(text: &str) -> Result<Namespace, String> {
    let (p, s) = match parts(text).as_slice() {
        [p] => (*p, ""),
        [p, s] => (*p, *s),
        _ => return Err(format!("namespace `{text}`: expected PRIMARY/SECONDARY")),
    };
    Namespace::new(p, s).map_err(|e| format!("namespace `{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_with_empty_parts() {
        assert_eq!(key("monitors//chan1").unwrap(), Key::new("monitors", "", "chan1").unwrap());
        assert_eq!(key("//manager").unwrap(), Key::new("", "", "manager").unwrap());
        assert_eq!(key("\"\"/\"\"/manager").unwrap(), Key::new("", "", "manager").unwrap());
        assert!(key("manager").unwrap_err().contains("expected PRIMARY/SECONDARY/KEY"));
        assert!(key("a/b/c.d").unwrap_err().contains("contains '.'"));
        assert_eq!(namespace("monitors").unwrap(), Namespace::new("monitors", "").unwrap());
        assert_eq!(namespace("/").unwrap(), Namespace::root());
    }
}
