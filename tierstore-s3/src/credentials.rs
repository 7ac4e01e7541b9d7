//! Credentials that never show: not in `Debug`, `Display`, errors or logs.

use std::fmt;

/// An access key pair. `Debug` shows the key id's first characters only and never the
/// secret.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: Secret,
}

/// A secret string: its `Debug` is `Secret(***)`, and it has no `Display`.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(secret: String) -> Self {
        Secret(secret)
    }

    /// The secret itself, for handing to a client library only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An access key id is not a secret, but it identifies an account: show a hint only.
        let hint: String = self.access_key_id.chars().take(4).collect();
        f.debug_struct("Credentials")
            .field("access_key_id", &format_args!("{hint}…"))
            .field("secret_access_key", &self.secret_access_key)
            .finish()
    }
}
