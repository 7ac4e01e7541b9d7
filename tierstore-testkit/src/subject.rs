//! [`Subject`]: a backend under test, with whatever must live as long as it.

use std::fmt;

use tierstore_core::Backend;

/// A backend under test and the things it needs kept alive (a temporary directory, a server
/// handle). Factories given to [`conformance_tests!`](crate::conformance_tests) and
/// [`scenario_tests!`](crate::scenario_tests) return one; a bare backend converts into it.
pub struct Subject<B> {
    backend: B,
    _guard: Option<Box<dyn Send + Sync>>,
}

impl<B: Backend> Subject<B> {
    /// A backend that needs nothing kept alive.
    pub fn new(backend: B) -> Self {
        Subject { backend, _guard: None }
    }

    /// Keeps `guard` (e.g. a `tempfile::TempDir`) alive as long as the subject.
    pub fn with_guard(mut self, guard: impl Send + Sync + 'static) -> Self {
        self._guard = Some(Box::new(guard));
        self
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Splits into the backend and its guard (drop the guard last).
    pub fn into_parts(self) -> (B, Option<Box<dyn Send + Sync>>) {
        (self.backend, self._guard)
    }
}

impl<B: Backend> From<B> for Subject<B> {
    fn from(backend: B) -> Self {
        Subject::new(backend)
    }
}

impl<B: Backend> fmt::Debug for Subject<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({})", self.backend)
    }
}
