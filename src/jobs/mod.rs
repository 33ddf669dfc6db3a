//! The outbox worker and its schedules.
//!
//! Jobs are rows in `jobs`, written in the same transaction as the state
//! change that causes them. A worker claims one due job at a time (`FOR
//! UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), runs it,
//! and records the outcome: done, retry later with jittered exponential
//! backoff, or dead after `max_attempts`. A worker that dies mid-job loses
//! only its lease; another worker takes the job again after it.

use std::time::Duration;

use anyhow::Context;

use crate::{
    domain::Timestamp,
    state::AppState,
    store::{ClaimedJob, JobRetry, NewJob},
};

/// Job kinds.
pub mod kinds {
    /// Periodic cleanup: releases expired holds, sweeps lapsed payments
    /// (expiring their sessions at the gateway first), purges old finished
    /// jobs and expired sessions.
    pub const CLEANUP: &str = "cleanup";
    /// Periodic reconciliation: applies completed payment sessions whose
    /// webhook never arrived.
    pub const RECONCILE_PAYMENTS: &str = "reconcile_payments";
}

/// Finished jobs are kept this long for inspection.
const KEEP_FINISHED_MS: i64 = 7 * 86_400_000;

/// Delay before retry `attempt` (1-based): 2^attempt seconds, capped at one
/// hour, times a jitter in [0.5, 1.5) so failed jobs do not retry in lockstep.
pub fn backoff(attempt: i64, jitter: f64) -> Duration {
    let base = 2f64.powi(attempt.clamp(1, 12) as i32).min(3600.0);
    Duration::from_millis((base * 1000.0 * (0.5 + jitter.clamp(0.0, 1.0))) as u64)
}

/// Runs one job's handler.
async fn run(state: &AppState, job: &ClaimedJob) -> anyhow::Result<()> {
    match job.kind.as_str() {
        kinds::CLEANUP => {
            let now = state.now();
            let released = state.store.release_expired_holds(now).await?;
            let payments = crate::services::payments::sweep_lapsed(state).await?;
            let purged = state
                .store
                .purge_finished_jobs(now.plus_millis(-KEEP_FINISHED_MS))
                .await?;
            let sessions = state.store.purge_expired_sessions(now).await?;
            tracing::info!(released, ?payments, purged, sessions, "cleanup done");
            Ok(())
        }
        kinds::RECONCILE_PAYMENTS => {
            let applied =
                crate::services::payments::reconcile(state, reconcile_lookback_secs(state)).await?;
            tracing::info!(applied, "payment reconciliation done");
            Ok(())
        }
        crate::services::mail::SEND_EMAIL => {
            let email: crate::services::mail::EmailJob =
                serde_json::from_str(&job.payload).context("while reading an email job")?;
            let mail = crate::services::mail::prepare(state, &email).await?;
            state.mailer.send(mail).await
        }
        crate::services::payments::REFUND_PAYMENT => {
            crate::services::payments::run_refund(state, &job.payload).await
        }
        crate::services::tickets::ISSUE_TICKETS => {
            crate::services::tickets::run_issue(state, &job.payload).await
        }
        other => anyhow::bail!("unknown job kind {other:?}"),
    }
}

/// What happens when a job gives up for good, beyond dead-lettering it.
async fn gave_up(state: &AppState, job: &ClaimedJob, error: &str) -> anyhow::Result<()> {
    if job.kind == crate::services::tickets::ISSUE_TICKETS {
        crate::services::tickets::issuance_gave_up(state, &job.payload, error).await?;
    }
    Ok(())
}

/// How far back reconciliation looks: three periods (so a missed run or two
/// loses nothing) plus a session's whole life.
fn reconcile_lookback_secs(state: &AppState) -> i64 {
    3 * i64::from(state.config.settings.reconcile_interval_secs)
        + crate::services::payments::PAYMENT_MINUTES * 60
}

/// Claims and runs one due job. Returns whether there was one.
#[tracing::instrument(skip(state))]
pub async fn run_one(state: &AppState) -> anyhow::Result<bool> {
    let lease = Duration::from_secs(u64::from(state.config.settings.job_lease_secs));
    let Some(job) = state.store.claim_job(state.now(), lease).await? else {
        return Ok(false);
    };
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
    let _enter = span.enter();
    let outcome = run(state, &job).await;
    let now = state.now();
    match outcome {
        Ok(()) => {
            state.store.complete_job(&job.id, now).await?;
            metrics::counter!("admit_jobs_total", "kind" => job.kind.clone(), "outcome" => "done")
                .increment(1);
        }
        Err(e) => {
            let retry = if job.attempts >= job.max_attempts {
                tracing::error!(error = ?e, "job failed for the last time; dead-lettered");
                if let Err(e2) = gave_up(state, &job, &format!("{e:#}")).await {
                    tracing::error!(error = ?e2, "could not record a dead-lettered job's follow-up");
                }
                JobRetry::Dead
            } else {
                let delay = backoff(job.attempts, rand::random::<f64>());
                tracing::warn!(error = ?e, retry_in_ms = delay.as_millis() as u64, "job failed; will retry");
                JobRetry::At(now.plus_millis(delay.as_millis() as i64))
            };
            state
                .store
                .fail_job(&job.id, &format!("{e:#}"), retry, now)
                .await?;
            metrics::counter!("admit_jobs_total", "kind" => job.kind.clone(), "outcome" => "failed").increment(1);
        }
    }
    Ok(true)
}

/// Runs every job that is due now, until none is left. Used by tests to
/// drain the outbox deterministically.
pub async fn drain(state: &AppState) -> anyhow::Result<u32> {
    let mut n = 0;
    while run_one(state).await? {
        n += 1;
    }
    Ok(n)
}

/// Enqueues the periodic jobs due in the current slot of each schedule. The
/// dedupe key is the slot number, so with many instances exactly one job per
/// slot is created.
pub async fn schedule_periodic(state: &AppState) -> anyhow::Result<()> {
    let settings = &state.config.settings;
    let schedules = [
        (kinds::CLEANUP, settings.cleanup_interval_secs, 3),
        (
            kinds::RECONCILE_PAYMENTS,
            settings.reconcile_interval_secs,
            3,
        ),
    ];
    let now = state.now();
    for (kind, every_secs, max_attempts) in schedules {
        let every_ms = i64::from(every_secs.max(1)) * 1000;
        let slot = now.as_millis() / every_ms;
        state
            .store
            .enqueue_job(
                NewJob {
                    kind: kind.into(),
                    payload: serde_json::json!({}),
                    run_at: Timestamp::from_millis(slot * every_ms),
                    dedupe_key: Some(format!("{kind}:{slot}")),
                    max_attempts,
                },
                now,
            )
            .await?;
    }
    Ok(())
}

/// The worker loop: schedules periodic jobs and runs due ones until
/// `shutdown` fires. The job in hand is always finished before returning.
pub async fn worker(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_millis(u64::from(state.config.settings.worker_poll_ms.max(10)));
    tracing::info!("outbox worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = schedule_periodic(&state).await {
            tracing::warn!(error = ?e, "could not schedule periodic jobs");
        }
        let ran = match run_one(&state).await {
            Ok(ran) => ran,
            Err(e) => {
                tracing::warn!(error = ?e, "outbox worker could not run a job");
                false
            }
        };
        if !ran {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    tracing::info!("outbox worker stopped");
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1, 0.5).as_millis(), 2_000);
        assert_eq!(backoff(3, 0.5).as_millis(), 8_000);
        assert_eq!(backoff(50, 0.5).as_millis(), 3_600_000);
        assert!(backoff(2, 0.0) < backoff(2, 0.99));
    }
}
