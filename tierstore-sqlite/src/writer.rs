//! The writer thread: the one connection that writes, committing concurrent mutations in
//! groups.
//!
//! Mutations queue on a channel. The thread takes the first, then every mutation already
//! waiting (up to `max_batch`), applies them in one `BEGIN IMMEDIATE` transaction and
//! commits: one fsync for the whole group. Callers are answered after the commit, so an
//! acknowledged write is durable. While a group commits, the next one queues, so the batch
//! size adapts to the load with no timer and no added latency at low concurrency.
//!
//! One failing statement fails only its own caller: SQLite undoes a failed statement alone
//! and keeps the transaction, except after errors (I/O, disk full, ...) where it has to roll
//! the whole transaction back, which the connection shows by being back in autocommit mode;
//! then every mutation of the group fails. (Savepoints per mutation would give the same
//! guarantee at the cost of two statements parsed and a statement journal per write.)
//! `BEGIN IMMEDIATE`, `COMMIT` and the mutations are cached statements: a group parses no
//! SQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use rusqlite::{Connection, params};
use tierstore_core::Bytes;
use tierstore_core::Key;
use tokio::sync::oneshot;

use crate::schema::Statements;

/// A failed mutation: the SQLite error (shared when a whole group's commit failed).
pub(crate) type Failure = Arc<rusqlite::Error>;

/// One mutation and where to send its outcome.
pub(crate) struct Job {
    pub(crate) mutation: Mutation,
    pub(crate) reply: oneshot::Sender<Result<(), Failure>>,
}

/// What to change.
pub(crate) enum Mutation {
    Write {
        key: Key,
        value: Bytes,
    },
    Remove {
        key: Key,
    },
    /// Writes in order; on a failure, `failed_at` is set to the failing entry's index and the
    /// entries after it are not applied.
    Batch {
        entries: Vec<(Key, Bytes)>,
        failed_at: Arc<AtomicUsize>,
    },
}

impl Mutation {
    fn size(&self) -> usize {
        match self {
            Mutation::Write { value, .. } => value.len(),
            Mutation::Remove { .. } => 0,
            Mutation::Batch { entries, .. } => entries.iter().map(|(_, v)| v.len()).sum(),
        }
    }
}

/// A group stops growing past this many value bytes, so a burst of large values (network
/// graphs) does not hold many callers behind one huge transaction.
const MAX_BATCH_BYTES: usize = 64 << 20;

/// The writer thread and its queue.
pub(crate) struct Writer {
    sender: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(crate) fn spawn(
        conn: Connection,
        statements: Statements,
        max_batch: usize,
        name: String,
    ) -> std::io::Result<Writer> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("tierstore-sqlite-writer".to_owned())
            .spawn(move || run(conn, &statements, max_batch, &name, &receiver))?;
        Ok(Writer { sender: Some(sender), thread: Some(thread) })
    }

    /// Queues `job`; gives it back if the thread has stopped.
    pub(crate) fn send(&self, job: Job) -> Result<(), Job> {
        match &self.sender {
            Some(sender) => sender.send(job).map_err(|e| e.0),
            None => Err(job),
        }
    }
}

/// Closing waits for the thread to finish the group it is committing and close its
/// connection, so that the database files are released when the backend is gone (a new
/// backend on the same path, or deleting the files, must not race with a late close that
/// checkpoints and removes the `-wal` file). Nothing is queued by then: every caller holds a
/// reference to the backend until its write is answered.
impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            // A panic of the writer thread has already failed its callers.
            let _ = thread.join();
        }
    }
}

fn run(
    mut conn: Connection,
    statements: &Statements,
    max_batch: usize,
    name: &str,
    receiver: &mpsc::Receiver<Job>,
) {
    while let Ok(first) = receiver.recv() {
        let mut bytes = first.mutation.size();
        let mut batch = vec![first];
        while batch.len() < max_batch && bytes < MAX_BATCH_BYTES {
            let Ok(job) = receiver.try_recv() else { break };
            bytes += job.mutation.size();
            batch.push(job);
        }
        let _span =
            tracing::debug_span!("sqlite_commit", backend = name, writes = batch.len()).entered();
        let (mutations, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|job| (job.mutation, job.reply)).unzip();
        let outcomes = commit(&mut conn, statements, &mutations);
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A caller that stopped waiting (its future was dropped) needs no answer.
            let _ = reply.send(outcome);
        }
    }
}

/// Applies `mutations` in one transaction; returns one outcome per mutation.
fn commit(
    conn: &mut Connection,
    statements: &Statements,
    mutations: &[Mutation],
) -> Vec<Result<(), Failure>> {
    let all_failed = |e: rusqlite::Error| {
        let shared = Arc::new(e);
        mutations.iter().map(|_| Err(Arc::clone(&shared))).collect()
    };
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        return all_failed(e);
    }
    let mut outcomes = Vec::with_capacity(mutations.len());
    for mutation in mutations {
        match apply(conn, statements, mutation) {
            Ok(()) => outcomes.push(Ok(())),
            // SQLite undid this statement alone: the others stand.
            Err(e) if !conn.is_autocommit() => outcomes.push(Err(Arc::new(e))),
            // SQLite rolled the whole transaction back: nothing of the group was applied.
            Err(e) => return all_failed(e),
        }
    }
    match run_cached(conn, "COMMIT") {
        Ok(()) => outcomes,
        Err(e) => {
            if !conn.is_autocommit() {
                // Best effort: the next BEGIN would fail while the transaction is open.
                let _ = conn.execute_batch("ROLLBACK");
            }
            all_failed(e)
        }
    }
}

/// Runs a statement without parameters through the statement cache.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn apply(conn: &Connection, statements: &Statements, mutation: &Mutation) -> rusqlite::Result<()> {
    match mutation {
        Mutation::Write { key, value } => {
            let mut statement = conn.prepare_cached(&statements.write)?;
            statement.execute(params![key.primary(), key.secondary(), key.key(), &value[..]])?;
        }
        Mutation::Remove { key } => {
            let mut statement = conn.prepare_cached(&statements.remove)?;
            statement.execute(params![key.primary(), key.secondary(), key.key()])?;
        }
        Mutation::Batch { entries, failed_at } => {
            let mut statement = conn.prepare_cached(&statements.write)?;
            for (index, (key, value)) in entries.iter().enumerate() {
                let row = params![key.primary(), key.secondary(), key.key(), &value[..]];
                if let Err(e) = statement.execute(row) {
                    failed_at.store(index, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}
