//! The persisted state of one job (contract section 3). Everything a transition reads
//! is here; everything it derives (the status code, the wire view, the due time) is
//! computed by a function, never stored beside it.

use super::settings::Settings;
use super::time::{IsoDuration, Timestamp, ser_opt_ts, ser_ts};
use super::wire::{
    ExecutionCounters, ScheduleState, SynchronizationQuarantine, SynchronizationTaskExecution,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An entry of the source, as the target knows it: `(objectType, id)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryKey {
    pub object_type: String,
    pub id: String,
}

impl EntryKey {
    pub fn new(object_type: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            object_type: object_type.into(),
            id: id.into(),
        }
    }
}

/// An entry whose export failed and is retried on the escrow schedule (contract section 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escrow {
    pub key: EntryKey,
    pub attempts: u32,
    #[serde(serialize_with = "ser_ts")]
    pub first_failed: Timestamp,
    pub last_error: String,
    #[serde(serialize_with = "ser_ts")]
    pub next_retry: Timestamp,
    /// The failure was of a reference (manager, group member) rather than the entry.
    pub reference: bool,
}

/// Initial cycles read everything; incremental cycles read from the watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CycleKind {
    Initial,
    Incremental,
}

/// The in-flight cycle's checkpoint: where it is and what it has counted so far.
/// A runner resumes from exactly this after a pause, a crash or a quarantine attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cycle {
    pub activity_id: String,
    pub kind: CycleKind,
    #[serde(serialize_with = "ser_ts")]
    pub began: Timestamp,
    /// The source position the next page starts at (an entry index or a byte offset).
    pub cursor: u64,
    /// Where this cycle started reading (the watermark position for incremental cycles).
    pub start_cursor: u64,
    /// The source's estimate of the entries in this cycle, when it has one.
    pub total: Option<u64>,
    pub pages: u64,
    pub counters: ExecutionCounters,
    /// Escrowed failures of references, which count toward the base threshold only.
    pub reference_failures: u64,
    /// Deletes read in this cycle, applied only when it completes under the deletion threshold.
    pub staged_deletes: Vec<EntryKey>,
    /// The cycle reached its end with too many deletes; they wait for `ForceDeletes`.
    pub deletes_held: bool,
    /// An escrow threshold was crossed during this initial cycle: pause when it ends.
    pub pause_at_end: bool,
    /// When the last page (or the start) of this cycle was observed.
    #[serde(serialize_with = "ser_ts")]
    pub observed: Timestamp,
}

/// The right of one runner to work on the job, fenced by a token that only grows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub holder: String,
    pub token: u64,
    #[serde(serialize_with = "ser_ts")]
    pub expires: Timestamp,
    pub ttl: IsoDuration,
}

/// `schedule` as persisted: its state and when the next cycle is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub state: ScheduleState,
    /// When the next (non-quarantine) cycle is due; `None` before the first start.
    #[serde(serialize_with = "ser_opt_ts")]
    pub next_due: Option<Timestamp>,
}

/// The whole persisted state of a job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobState {
    pub id: String,
    pub service_principal_id: String,
    pub template_id: String,
    #[serde(serialize_with = "ser_ts")]
    pub created: Timestamp,
    /// The store keeps the settings in a column of their own and fills them in after
    /// parsing the rest, hence the default when they are absent from the JSON.
    #[serde(default = "Settings::defaults")]
    pub settings: Settings,
    pub schedule: Schedule,
    /// Present once an initial cycle completed since the last watermark reset.
    pub watermark: Option<String>,
    pub quarantine: Option<SynchronizationQuarantine>,
    pub cycle: Option<Cycle>,
    /// Sorted by key; at most one escrow per entry.
    pub escrows: Vec<Escrow>,
    pub escrows_pruned: bool,
    /// A restart asked the next cycle completion to apply held-back deletes.
    pub force_deletes: bool,
    pub count_successive_complete_failures: u64,
    pub last_execution: Option<SynchronizationTaskExecution>,
    pub last_successful_execution: Option<SynchronizationTaskExecution>,
    pub last_successful_execution_with_exports: Option<SynchronizationTaskExecution>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub steady_state_first_achieved: Option<Timestamp>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub steady_state_last_achieved: Option<Timestamp>,
    /// Entries present in the target, by object type.
    pub entry_counts: BTreeMap<String, i64>,
    pub lease: Option<Lease>,
    /// The highest fencing token ever granted for this job.
    pub last_fencing_token: u64,
    /// Bumped by every transition that changes the state.
    pub version: u64,
}

impl JobState {
    /// A new job: not yet started (schedule `Disabled`, nothing due), version 1.
    pub fn new(
        id: impl Into<String>,
        service_principal_id: impl Into<String>,
        template_id: impl Into<String>,
        settings: Settings,
        now: Timestamp,
    ) -> Self {
        Self {
            id: id.into(),
            service_principal_id: service_principal_id.into(),
            template_id: template_id.into(),
            created: now,
            settings,
            schedule: Schedule {
                state: ScheduleState::Disabled,
                next_due: None,
            },
            watermark: None,
            quarantine: None,
            cycle: None,
            escrows: Vec::new(),
            escrows_pruned: false,
            force_deletes: false,
            count_successive_complete_failures: 0,
            last_execution: None,
            last_successful_execution: None,
            last_successful_execution_with_exports: None,
            steady_state_first_achieved: None,
            steady_state_last_achieved: None,
            entry_counts: BTreeMap::new(),
            lease: None,
            last_fencing_token: 0,
            version: 1,
        }
    }

    /// When a runner may next work on the job: the quarantine's next attempt while
    /// quarantined, else the schedule's due time. `None` when nothing is due (paused,
    /// disabled, not configured, never started).
    pub fn due_at(&self) -> Option<Timestamp> {
        if !self.settings.configured || self.schedule.state != ScheduleState::Active {
            return None;
        }
        match &self.quarantine {
            Some(q) => Some(q.next_attempt),
            None => self.schedule.next_due,
        }
    }

    pub fn escrow(&self, key: &EntryKey) -> Option<&Escrow> {
        self.escrows
            .binary_search_by(|e| e.key.cmp(key))
            .ok()
            .map(|i| &self.escrows[i])
    }
}
