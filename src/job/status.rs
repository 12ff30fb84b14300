//! `status.code` and the wire view, derived from the persisted state.

use super::state::JobState;
use super::wire::{
    KeyValue, ScheduleState, StatusCode, SynchronizationJob, SynchronizationProgress,
    SynchronizationSchedule, SynchronizationStatus,
};

/// Contract section 3: the code is derived, in this order, never stored.
pub fn status_code(s: &JobState) -> StatusCode {
    if !s.settings.configured {
        StatusCode::NotConfigured
    } else if s.schedule.state == ScheduleState::Paused {
        StatusCode::Paused
    } else if s.quarantine.is_some() {
        StatusCode::Quarantine
    } else if s.watermark.is_none() {
        StatusCode::NotRun
    } else {
        StatusCode::Active
    }
}

/// The Graph `synchronizationJob` that `s` shows.
pub fn view(s: &JobState) -> SynchronizationJob {
    let progress = s
        .cycle
        .iter()
        .map(|c| SynchronizationProgress {
            completed_units: c.counters.count_imported,
            total_units: c.total.unwrap_or(0).max(c.counters.count_imported),
            units: "entries".into(),
            progress_observation_date_time: c.observed,
        })
        .collect();
    SynchronizationJob {
        id: s.id.clone(),
        template_id: s.template_id.clone(),
        schedule: SynchronizationSchedule {
            expiration: None,
            interval: s.settings.policy.interval,
            state: s.schedule.state,
        },
        status: SynchronizationStatus {
            code: status_code(s),
            count_successive_complete_failures: s.count_successive_complete_failures,
            escrows_pruned: s.escrows_pruned,
            last_execution: s.last_execution.clone(),
            last_successful_execution: s.last_successful_execution.clone(),
            last_successful_execution_with_exports: s.last_successful_execution_with_exports.clone(),
            progress,
            quarantine: s.quarantine.clone(),
            steady_state_first_achieved_time: s.steady_state_first_achieved,
            steady_state_last_achieved_time: s.steady_state_last_achieved,
            synchronized_entry_count_by_type: s
                .entry_counts
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: *v,
                })
                .collect(),
            troubleshooting_url: None,
        },
        synchronization_job_settings: s.settings.pairs(),
    }
}

/// The operator's view of a job's checkpoint (`GET …/checkpoint`) [ours].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointView {
    pub code: super::wire::StatusCode,
    pub version: u64,
    pub watermark_present: bool,
    pub watermark: Option<String>,
    pub activity_identifier: Option<String>,
    pub kind: Option<super::state::CycleKind>,
    pub cursor: Option<u64>,
    pub pages: Option<u64>,
    pub counters: Option<super::wire::ExecutionCounters>,
    pub staged_deletes: usize,
    pub deletes_held: bool,
    pub escrows: usize,
    pub lease_holder: Option<String>,
    pub lease_expires: Option<super::time::Timestamp>,
}

pub fn checkpoint(s: &JobState) -> CheckpointView {
    let c = s.cycle.as_ref();
    CheckpointView {
        code: status_code(s),
        version: s.version,
        watermark_present: s.watermark.is_some(),
        watermark: s.watermark.clone(),
        activity_identifier: c.map(|c| c.activity_id.clone()),
        kind: c.map(|c| c.kind),
        cursor: c.map(|c| c.cursor),
        pages: c.map(|c| c.pages),
        counters: c.map(|c| c.counters.clone()),
        staged_deletes: c.map_or(0, |c| c.staged_deletes.len()),
        deletes_held: c.is_some_and(|c| c.deletes_held),
        escrows: s.escrows.len(),
        lease_holder: s.lease.as_ref().map(|l| l.holder.clone()),
        lease_expires: s.lease.as_ref().map(|l| l.expires),
    }
}
