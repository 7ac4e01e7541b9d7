//! Connection strings in libpq's two forms (`key=value ...` and `postgres://...`): the
//! parameters this crate handles itself (`sslmode`, `sslrootcert`, `passfile`) are taken out,
//! the rest is tokio-postgres's [`Config`].
//!
//! tokio-postgres knows only `sslmode=disable|prefer|require` and no `sslrootcert` or
//! `passfile`; libpq's full `sslmode` semantics live in [`crate::tls`], the password lookup in
//! [`crate::password`]. Nothing here ever puts a password into a message.

use std::path::PathBuf;
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use tokio_postgres::Config;
use tokio_postgres::config::Host;

use crate::tls::{RootCerts, SslMode};

/// The parameters of a connection string this crate handles itself.
const OURS: [&str; 3] = ["sslmode", "sslrootcert", "passfile"];

/// A parsed connection string.
pub(crate) struct ConnInfo {
    /// Everything tokio-postgres handles (host, port, user, dbname, password, ...).
    pub(crate) config: Config,
    /// `sslmode`, libpq's default (`prefer`) when absent.
    pub(crate) ssl_mode: Option<SslMode>,
    /// `sslrootcert`: a PEM file, or `system`.
    pub(crate) root_certs: Option<RootCerts>,
    /// `passfile`: the password file to look the password up in.
    pub(crate) passfile: Option<PathBuf>,
}

impl ConnInfo {
    /// Parses `conn_str`. Errors name the offending parameter, never a value.
    pub(crate) fn parse(conn_str: &str) -> Result<ConnInfo, String> {
        let (rest, ours) =
            if is_url(conn_str) { split_url(conn_str)? } else { split_pairs(conn_str)? };
        let config = Config::from_str(&rest).map_err(|e| with_causes(&e))?;
        let mut info = ConnInfo { config, ssl_mode: None, root_certs: None, passfile: None };
        for (key, value) in ours {
            match key.as_str() {
                "sslmode" => info.ssl_mode = Some(value.parse()?),
                "sslrootcert" if value == "system" => info.root_certs = Some(RootCerts::System),
                "sslrootcert" => info.root_certs = Some(RootCerts::File(PathBuf::from(value))),
                "passfile" => info.passfile = Some(PathBuf::from(value)),
                _ => unreachable!("only OURS are split off"),
            }
        }
        Ok(info)
    }
}

/// `err: cause: cause...` (tokio-postgres shows the cause, e.g. which option, only there).
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// Splits our parameters off the query of a URL; the rest of the URL is kept byte for byte,
/// so tokio-postgres decodes it exactly as it would have.
fn split_url(url: &str) -> Result<(String, Vec<(String, String)>), String> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), Vec::new())) };
    let decode = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| "a URL parameter is not UTF-8 once decoded".to_owned())
    };
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for segment in query.split('&').filter(|s| !s.is_empty()) {
        let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
        let key = decode(key)?;
        if OURS.contains(&key.as_str()) {
            ours.push((key, decode(value)?));
        } else {
            kept.push(segment);
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, ours))
}

/// Splits our parameters off a `key=value` string (libpq's grammar, as tokio-postgres reads
/// it: values may be single-quoted; `\` escapes the next character) and writes the others
/// back, each value quoted.
fn split_pairs(s: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut rest = String::new();
    let mut ours = Vec::new();
    for (key, value) in pairs(s)? {
        if OURS.contains(&key.as_str()) {
            ours.push((key, value));
        } else {
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            rest.push_str(&format!("{key}='{quoted}' "));
        }
    }
    Ok((rest, ours))
}

/// The `key=value` pairs of a libpq connection string.
fn pairs(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut chars = s.chars().peekable();
    let mut pairs = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            return match chars.peek() {
                None => Ok(pairs),
                Some(_) => Err("a connection parameter has no name before `=`".to_owned()),
            };
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("connection parameter `{key}` has no `=`"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\'') if quoted => break,
                Some(c) if !quoted && c.is_whitespace() => break,
                Some('\\') => value.extend(chars.next()),
                Some(c) => value.push(c),
                None if quoted => return Err(format!("the value of `{key}` has no closing quote")),
                None => break,
            }
        }
        if value.is_empty() && !quoted {
            return Err(format!("connection parameter `{key}` has no value"));
        }
        pairs.push((key, value));
    }
}

/// `postgres://user@host[:port][,host...]/dbname`: where the data is, without credentials.
pub(crate) fn display_name(config: &Config) -> String {
    let user = config.get_user().map(|user| format!("{user}@")).unwrap_or_default();
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                Host::Tcp(host) if host.contains(':') => format!("[{host}]"),
                Host::Tcp(host) => host.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let dbname = config.get_dbname().or(config.get_user()).unwrap_or_default();
    format!("postgres://{user}{}/{dbname}", hosts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_own_parameters_and_give_up_ours() {
        let info = ConnInfo::parse(
            "postgres://alice@db.example:6000/node?sslmode=verify-full&connect_timeout=3\
             &sslrootcert=%2Fetc%2Fca.pem&application_name=a%20b",
        )
        .unwrap();
        assert_eq!(info.ssl_mode, Some(SslMode::VerifyFull));
        assert!(matches!(info.root_certs, Some(RootCerts::File(ref p)) if p == "/etc/ca.pem"));
        assert_eq!(info.config.get_user(), Some("alice"));
        assert_eq!(info.config.get_dbname(), Some("node"));
        assert_eq!(info.config.get_ports(), [6000]);
        assert_eq!(info.config.get_application_name(), Some("a b"));
        assert_eq!(info.config.get_connect_timeout(), Some(&std::time::Duration::from_secs(3)));
        assert_eq!(display_name(&info.config), "postgres://alice@db.example:6000/node");
    }

    #[test]
    fn key_value_strings_keep_quotes_and_escapes() {
        let info = ConnInfo::parse(
            "host=127.0.0.1 port = 5433 user=bob password='it''s \\' secret' dbname=n \
             sslmode=require passfile='/home/bob/my pass' sslrootcert=system",
        );
        // `''` is not an escape in libpq's grammar: the quoted value ends there.
        assert!(info.is_err(), "a stray character after a quoted value is refused");
        let info = ConnInfo::parse(
            "host=127.0.0.1 port = 5433 user=bob password='it\\'s a secret' dbname=n \
             sslmode=require passfile='/home/bob/my pass' sslrootcert=system",
        )
        .unwrap();
        assert_eq!(info.config.get_password(), Some(&b"it's a secret"[..]));
        assert_eq!(info.ssl_mode, Some(SslMode::Require));
        assert_eq!(info.passfile.as_deref(), Some(std::path::Path::new("/home/bob/my pass")));
        assert!(matches!(info.root_certs, Some(RootCerts::System)));
        assert_eq!(display_name(&info.config), "postgres://bob@127.0.0.1:5433/n");
    }

    #[test]
    fn bad_parameters_are_named_without_values() {
        for (conn, named) in [
            ("host=h sslmode=sometimes", "sslmode"),
            ("postgres://u@h/db?sslmode=maybe", "sslmode"),
            ("host=h colour=blue", "colour"),
            ("host=h password='unterminated", "password"),
        ] {
            let err = ConnInfo::parse(conn).err().unwrap_or_else(|| panic!("{conn} parsed"));
            assert!(err.contains(named), "{conn}: {err}");
            assert!(!err.contains("blue") && !err.contains("unterminated"), "{conn}: {err}");
        }
    }

    #[test]
    fn defaults_show_in_the_name() {
        let info = ConnInfo::parse("postgresql://h1,h2:7000/").unwrap();
        assert_eq!(info.ssl_mode, None);
        assert_eq!(display_name(&info.config), "postgres://h1:5432,h2:7000/");
    }
}
