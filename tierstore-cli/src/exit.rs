//! Exit codes a script can use, and the one line a failure prints.

use std::fmt;
use std::process::ExitCode;

/// Success.
pub(crate) const OK: u8 = 0;
/// An error: a store that does not exist or cannot be reached, a refused restore, bad input.
pub(crate) const ERROR: u8 = 1;
/// A usage error: an unknown command or option, a missing argument (clap's own code).
pub(crate) const USAGE: u8 = 2;
/// `verify` (or the check after `copy`) found differences between the two stores.
pub(crate) const DIFFERENCES: u8 = 3;

/// The exit codes, for `--help`.
pub(crate) const HELP: &str = "Exit codes:
  0  success
  1  error (a store missing or unreachable, a refused restore, bad input)
  2  usage error (unknown command or option, missing argument)
  3  differences found (verify, or the check after copy)";

/// What a command returns: `Ok`, or an error printed as one line.
pub(crate) type CliResult = Result<(), Box<dyn std::error::Error>>;

/// The stores compared differ: exit code [`DIFFERENCES`] rather than [`ERROR`].
#[derive(Debug)]
pub(crate) struct Differences(pub(crate) String);

impl fmt::Display for Differences {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Differences {}

/// Prints a failure as one line on stderr and picks the exit code.
pub(crate) fn report(result: CliResult) -> ExitCode {
    match result {
        Ok(()) => OK.into(),
        Err(e) => {
            eprintln!("error: {e}");
            if e.is::<Differences>() { DIFFERENCES.into() } else { ERROR.into() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_lists_every_code() {
        for code in [OK, ERROR, USAGE, DIFFERENCES] {
            assert!(HELP.contains(&format!("  {code}  ")), "{code} missing from the help");
        }
    }
}
