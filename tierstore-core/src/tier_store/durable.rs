//! The durable write path: journal, then primary and backup together, then the outcome
//! recorded (see [`crate::journal`] and [`crate::backlog`] for the contracts).

use std::sync::atomic::Ordering;

use futures::future;

use super::{Inner, Mutation, TierBackend};
use crate::error::{Error, Operation, Tier};
use crate::key::Key;
use crate::ordering::Applied;

impl Inner {
    /// Runs a durable mutation under its key's lock (the caller holds it).
    pub(super) async fn mutate_durable(
        &self,
        key: &Key,
        mutation: Mutation,
    ) -> Applied<Result<(), Error>> {
        let Some(backup) = &self.backup else {
            let result = mutation.send(&self.primary, key).await;
            return Applied { took_effect: result.is_ok(), result };
        };
        let op = mutation.operation();
        // The key is durably recorded before either tier sees the mutation.
        let id = match &self.journal {
            Some(journal) => match journal.begin(key, op).await {
                Ok(id) => id,
                Err(e) => return Applied { took_effect: false, result: Err(e) },
            },
            None => 0,
        };
        let deferred = self.policy.max_backlog().is_some();
        if deferred && (self.backup_down.load(Ordering::Acquire) || self.divergences.contains(key))
        {
            return self.primary_only(id, key, op, mutation, backup).await;
        }
        // If the caller drops this future between the two halves, the tiers may differ.
        let cancelled = CancelGuard { inner: self, id, key, op, armed: true };
        let (primary, backup_result) =
            future::join(mutation.clone().send(&self.primary, key), mutation.send(backup, key))
                .await;
        cancelled.disarm();
        match (primary, backup_result) {
            (Ok(()), Ok(())) => {
                if let Some(journal) = &self.journal {
                    journal.end(id);
                }
                self.divergences.resolved(key);
                Applied { took_effect: true, result: Ok(()) }
            }
            (Ok(()), Err(err)) => {
                let room = self.backlog_has_room(key);
                self.diverged(id, key, Tier::Backup, op, err.to_string());
                match self.policy.max_backlog() {
                    Some(_) if room => {
                        if err.is_transient() {
                            self.backup_down.store(true, Ordering::Release);
                        }
                        Applied { took_effect: true, result: Ok(()) }
                    }
                    Some(max) => Applied {
                        took_effect: true,
                        result: Err(backlog_full(backup, key, op, max, &err)),
                    },
                    None => Applied { took_effect: true, result: Err(err) },
                }
            }
            (Err(err), Ok(())) => {
                self.diverged(id, key, Tier::Primary, op, err.to_string());
                Applied { took_effect: true, result: Err(err) }
            }
            (Err(primary_err), Err(backup_err)) => {
                // Neither tier took the mutation as far as we know; either may have applied
                // it before failing, so the key is checked like any other divergence.
                let reason = format!("both tiers failed: {primary_err}; {backup_err}");
                self.diverged(id, key, Tier::Primary, op, reason);
                Applied { took_effect: false, result: Err(primary_err) }
            }
        }
    }

    /// Deferred policy with the backup down (or the key already behind): the primary alone,
    /// and the key joins the backlog.
    async fn primary_only(
        &self,
        id: u64,
        key: &Key,
        op: Operation,
        mutation: Mutation,
        backup: &TierBackend,
    ) -> Applied<Result<(), Error>> {
        if !self.backlog_has_room(key) {
            if let Some(journal) = &self.journal {
                journal.end(id);
            }
            let max = self.policy.max_backlog().unwrap_or_default();
            let cause = Error::backend(&backup.raw, op, key, "the backup is unavailable");
            return Applied {
                took_effect: false,
                result: Err(backlog_full(backup, key, op, max, &cause)),
            };
        }
        match mutation.send(&self.primary, key).await {
            Ok(()) => {
                let reason = "deferred: the backup is unavailable or the key is behind".to_owned();
                self.diverged(id, key, Tier::Backup, op, reason);
                Applied { took_effect: true, result: Ok(()) }
            }
            Err(err) => {
                self.diverged(id, key, Tier::Primary, op, err.to_string());
                Applied { took_effect: false, result: Err(err) }
            }
        }
    }

    fn backlog_has_room(&self, key: &Key) -> bool {
        match self.policy.max_backlog() {
            None => true,
            Some(max) => self.divergences.contains(key) || self.divergences.len() < max,
        }
    }

    fn diverged(&self, id: u64, key: &Key, tier: Tier, op: Operation, reason: String) {
        self.divergences.record(id, key, tier, op, reason);
        self.wake.notify_one();
    }
}

/// The error of a write refused because the backup is too far behind.
fn backlog_full(
    backup: &TierBackend,
    key: &Key,
    op: Operation,
    max: usize,
    cause: &Error,
) -> Error {
    Error::backend(
        &backup.raw,
        op,
        key,
        format!(
            "the backup is {max} keys behind, the most BackupPolicy::Deferred allows; writes \
             fail until the repairer catches up. Last failure: {cause}"
        ),
    )
    .in_tier(Tier::Backup)
}

/// Records a divergence if a durable mutation is dropped between its two halves.
struct CancelGuard<'a> {
    inner: &'a Inner,
    id: u64,
    key: &'a Key,
    op: Operation,
    armed: bool,
}

impl CancelGuard<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.inner.diverged(
                self.id,
                self.key,
                Tier::Backup,
                self.op,
                "the caller dropped the operation before both tiers finished".to_owned(),
            );
        }
    }
}
