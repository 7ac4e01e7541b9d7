//! Running async store operations from LDK's synchronous traits.
//!
//! The sync traits are called from plain threads, from inside a multi-threaded tokio runtime
//! and from inside a current-thread runtime. None of them may panic or deadlock:
//!
//! - inside a **multi-threaded** runtime, the calling worker is handed over to blocking duty
//!   with [`tokio::task::block_in_place`] and drives the future itself, so the runtime keeps
//!   serving its other tasks (including connections a backend spawned there);
//! - everywhere else (a plain thread, or a **current-thread** runtime, whose only thread must
//!   not be blocked in place), the future runs on a small runtime owned by this crate and the
//!   caller waits for its result.
//!
//! A backend whose I/O is driven by tasks on a *current-thread* runtime (for example a
//! connection spawned on it) cannot make progress while that runtime's thread waits here; use
//! the async traits there.

use std::future::Future;
use std::io;
use std::sync::OnceLock;

use lightning::io::Error as LdkIoError;

use tokio::runtime::{Builder, Handle, Runtime, RuntimeFlavor};

/// The runtime that runs sync calls made outside a multi-threaded runtime.
fn background() -> io::Result<&'static Runtime> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tierstore-sync")
        .enable_all()
        .build()?;
    // Another thread may have won the race; its runtime is used and ours is dropped here,
    // outside of any runtime context.
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Runs `future` to completion from synchronous code, wherever that code runs.
pub(crate) fn block_on<F, T>(future: F) -> Result<T, LdkIoError>
where
    F: Future<Output = Result<T, LdkIoError>> + Send + 'static,
    T: Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(future))
        }
        _ => {
            let task = background()?.spawn(future);
            futures::executor::block_on(task).unwrap_or_else(|join_err| {
                if join_err.is_panic() {
                    std::panic::resume_unwind(join_err.into_panic())
                }
                Err(io::Error::other("tierstore: background task was cancelled").into())
            })
        }
    }
}
