//! Group admission: when thousands of buyers want the same tier at once, one
//! durable commit per hold on the same quota row is the limit. Here, holds on
//! one event are queued per app instance; a single admitter per event takes
//! what has queued (waiting at most `admission_max_wait_ms` for the first
//! batch member's company, up to `admission_max_batch` holds), and the store
//! decides the whole batch in arrival order in one transaction
//! ([`crate::store::OrderStore::take_holds`]). Each buyer is answered only
//! after that commit, so "held" always means durable.
//!
//! - **First come, first served**: the queue keeps arrival order, batches of
//!   one event run one after another, and a batch is decided in order.
//! - **Bounded waits**: the queue holds at most `admission_queue_limit` holds;
//!   past it a buyer is told to try again at once. A buyer whose request ended
//!   before its batch began (timed out, went away) is not admitted.
//! - **Several instances**: each has its own queues; their batches serialize
//!   on the quota rows' locks, and the database's guards stay the same.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use crate::{
    config::Settings,
    store::{HoldReceipt, Store, StoreError, StoreResult, TakeHold},
};

/// How an instance admits holds.
#[derive(Clone, Copy, Debug)]
pub struct AdmissionSettings {
    /// Batches on (`group_admission`); off, each hold is its own transaction.
    pub enabled: bool,
    /// How long a batch's first hold waits for others.
    pub max_wait: Duration,
    /// Most holds per batch.
    pub max_batch: usize,
    /// Most holds queued per event.
    pub queue_limit: usize,
}

impl AdmissionSettings {
    /// From the configuration.
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            enabled: s.group_admission,
            max_wait: Duration::from_millis(u64::from(s.admission_max_wait_ms)),
            max_batch: usize::try_from(s.admission_max_batch).unwrap_or(256).max(1),
            queue_limit: usize::try_from(s.admission_queue_limit)
                .unwrap_or(4096)
                .max(1),
        }
    }
}

/// A queued hold and where its answer goes.
struct Waiting {
    hold: TakeHold,
    reply: oneshot::Sender<StoreResult<HoldReceipt>>,
}

/// An admitter that has had nothing to do for this long stops; the next
/// hold on its event starts a new one.
const IDLE: Duration = Duration::from_secs(30);

/// Admits holds, one queue and admitter task per event with traffic.
pub struct Admission {
    store: Arc<dyn Store>,
    settings: AdmissionSettings,
    queues: Mutex<HashMap<String, mpsc::Sender<Waiting>>>,
}

impl Admission {
    /// Admission over `store`.
    pub fn new(store: Arc<dyn Store>, settings: AdmissionSettings) -> Arc<Self> {
        Arc::new(Self {
            store,
            settings,
            queues: Mutex::default(),
        })
    }

    /// The settings it runs with.
    pub fn settings(&self) -> AdmissionSettings {
        self.settings
    }

    /// Takes a hold: in a batch with the holds that arrive with it, or alone
    /// when group admission is off. The answer is the store's, given after
    /// the commit. A full queue answers [`StoreError::Busy`].
    pub async fn take_hold(self: &Arc<Self>, hold: TakeHold) -> StoreResult<HoldReceipt> {
        if !self.settings.enabled {
            return self.store.take_hold(hold).await;
        }
        let event = hold.event_id.as_str().to_owned();
        let (reply, answer) = oneshot::channel();
        let mut waiting = Waiting { hold, reply };
        // A queue whose admitter just retired is closed: start a new one.
        for _ in 0..3 {
            match self.queue(&event).try_send(waiting) {
                Ok(()) => {
                    return answer.await.unwrap_or_else(|_| {
                        Err(StoreError::Internal(anyhow::anyhow!(
                            "the admitter stopped before answering"
                        )))
                    });
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    metrics::counter!("admit_admission_queue_full_total").increment(1);
                    return Err(StoreError::Busy(
                        "So many people are buying right now that we could not take your request. Please try again in a moment."
                            .into(),
                    ));
                }
                Err(mpsc::error::TrySendError::Closed(w)) => waiting = w,
            }
        }
        Err(StoreError::Internal(anyhow::anyhow!(
            "no admitter would take the hold"
        )))
    }

    /// The queue of an event, starting its admitter if there is none.
    fn queue(self: &Arc<Self>, event: &str) -> mpsc::Sender<Waiting> {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = queues.get(event).filter(|q| !q.is_closed()) {
            return q.clone();
        }
        let (tx, rx) = mpsc::channel(self.settings.queue_limit);
        queues.insert(event.to_owned(), tx.clone());
        tokio::spawn(self.clone().admit(event.to_owned(), rx));
        tx
    }

    /// The admitter of one event: batch after batch, in arrival order.
    async fn admit(self: Arc<Self>, event: String, mut rx: mpsc::Receiver<Waiting>) {
        loop {
            let first = match tokio::time::timeout(IDLE, rx.recv()).await {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(_) => {
                    // Idle: retire. Holds that slipped in before the close
                    // are still admitted; later ones start a new admitter.
                    rx.close();
                    {
                        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
                        if queues.get(&event).is_some_and(mpsc::Sender::is_closed) {
                            queues.remove(&event);
                        }
                    }
                    let mut rest = Vec::new();
                    while let Some(w) = rx.recv().await {
                        rest.push(w);
                    }
                    while !rest.is_empty() {
                        let n = rest.len().min(self.settings.max_batch);
                        self.run(rest.drain(..n).collect()).await;
                    }
                    return;
                }
            };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + self.settings.max_wait;
            while batch.len() < self.settings.max_batch {
                if let Ok(w) = rx.try_recv() {
                    batch.push(w);
                    continue;
                }
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(w)) => batch.push(w),
                    _ => break,
                }
            }
            self.run(batch).await;
        }
    }

    /// Decides one batch and answers each buyer.
    async fn run(&self, batch: Vec<Waiting>) {
        // A buyer whose request already ended is not admitted: nobody would
        // be told of the hold.
        let (holds, replies): (Vec<TakeHold>, Vec<_>) = batch
            .into_iter()
            .filter(|w| !w.reply.is_closed())
            .map(|w| (w.hold, w.reply))
            .unzip();
        if holds.is_empty() {
            return;
        }
        metrics::histogram!("admit_admission_batch_size").record(holds.len() as f64);
        let answers = self.store.take_holds(holds).await;
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A buyer who left after the commit keeps the hold until it
            // expires or they hold again, as with any unanswered request.
            let _ = reply.send(answer);
        }
    }
}
