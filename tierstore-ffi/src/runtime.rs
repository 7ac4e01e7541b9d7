//! The runtime the bindings own, and the one way a foreign call waits for it.
//!
//! Foreign code calls the store from any thread: a Python thread, a Kotlin coroutine's
//! worker, the main thread, or a foreign backend's callback that itself runs on one of this
//! runtime's blocking threads. [`run`] therefore never calls `Runtime::block_on` (which panics
//! inside a runtime and can deadlock a worker): it *spawns* the operation onto the bindings'
//! own multi-threaded runtime and waits for its result on a channel. The waiting thread does
//! no work the operation needs, so it cannot hold the operation up; when it is itself a worker
//! of a multi-threaded runtime it tells that runtime first (`block_in_place`), so the
//! runtime's other tasks move to other workers.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

use crate::error::TierStoreError;

/// Built on first use; lives as long as the process (the library is never unloaded).
static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The bindings' runtime.
pub(crate) fn runtime() -> Result<&'static Runtime, TierStoreError> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("tierstore-ffi")
                .build()
                .map_err(|e| format!("cannot start the TierStore runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| TierStoreError::backend(e.clone()))
}

/// Runs `future` on the bindings' runtime and waits for its result, from any thread.
pub(crate) fn run<T, E>(
    future: impl Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, TierStoreError>
where
    T: Send + 'static,
    E: Into<TierStoreError> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        // The receiver may be gone only if the waiting thread was torn down: nothing to do.
        let _ = tx.send(future.await);
    });
    let wait = move || rx.recv();
    let result = match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    };
    match result {
        Ok(result) => result.map_err(Into::into),
        // The task dropped its sender without sending: it panicked.
        Err(_) => {
            Err(TierStoreError::backend("TierStore operation panicked (a bug: please report it)"))
        }
    }
}
