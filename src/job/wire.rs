//! The Microsoft Graph `synchronizationJob` resource as it travels on the wire
//! (contract section 1): camelCase properties, PascalCase enum values, RFC 3339 UTC
//! times, ISO 8601 durations. These types are views: [`super::view`] derives them from
//! the persisted [`super::JobState`]. They also deserialise (strictly: an unknown enum
//! value is a serde error), so clients and tests can read what the API writes.

use super::settings::SettingPair;
use super::time::{IsoDuration, Timestamp, never_if_none, ser_opt_ts, ser_ts};
use serde::{Deserialize, Serialize};

/// `status.code`, derived by [`super::status_code`], never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StatusCode {
    NotConfigured,
    NotRun,
    Active,
    Paused,
    Quarantine,
}

impl StatusCode {
    pub const ALL: [StatusCode; 5] = [
        StatusCode::NotConfigured,
        StatusCode::NotRun,
        StatusCode::Active,
        StatusCode::Paused,
        StatusCode::Quarantine,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::NotConfigured => "NotConfigured",
            StatusCode::NotRun => "NotRun",
            StatusCode::Active => "Active",
            StatusCode::Paused => "Paused",
            StatusCode::Quarantine => "Quarantine",
        }
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `schedule.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScheduleState {
    Active,
    Disabled,
    Paused,
}

/// `quarantine.reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuarantineReason {
    EncounteredBaseEscrowThreshold,
    EncounteredTotalEscrowThreshold,
    EncounteredEscrowProportionThreshold,
    EncounteredQuarantineException,
    Unknown,
    QuarantinedOnDemand,
    TooManyDeletes,
    IngestionInterrupted,
}

/// `synchronizationTaskExecution.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionState {
    Succeeded,
    Failed,
    EntryLevelErrors,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationError {
    pub code: String,
    pub message: String,
    pub tenant_actionable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationSchedule {
    #[serde(serialize_with = "ser_opt_ts")]
    pub expiration: Option<Timestamp>,
    pub interval: IsoDuration,
    pub state: ScheduleState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationQuarantine {
    #[serde(serialize_with = "ser_ts")]
    pub current_began: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub next_attempt: Timestamp,
    pub reason: QuarantineReason,
    #[serde(serialize_with = "ser_ts")]
    pub series_began: Timestamp,
    pub series_count: u64,
    pub error: Option<SynchronizationError>,
}

/// The counters of one cycle (contract section 1, synchronizationTaskExecution).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionCounters {
    pub count_entitled: u64,
    pub count_entitled_for_provisioning: u64,
    pub count_escrowed: u64,
    pub count_escrowed_raw: u64,
    pub count_exported: u64,
    pub count_exports: u64,
    pub count_imported: u64,
    pub count_imported_deltas: u64,
    pub count_imported_reference_deltas: u64,
}

impl ExecutionCounters {
    /// Adds `other` field by field, saturating.
    pub fn add(&mut self, o: &ExecutionCounters) {
        self.count_entitled = self.count_entitled.saturating_add(o.count_entitled);
        self.count_entitled_for_provisioning = self
            .count_entitled_for_provisioning
            .saturating_add(o.count_entitled_for_provisioning);
        self.count_escrowed = self.count_escrowed.saturating_add(o.count_escrowed);
        self.count_escrowed_raw = self.count_escrowed_raw.saturating_add(o.count_escrowed_raw);
        self.count_exported = self.count_exported.saturating_add(o.count_exported);
        self.count_exports = self.count_exports.saturating_add(o.count_exports);
        self.count_imported = self.count_imported.saturating_add(o.count_imported);
        self.count_imported_deltas = self.count_imported_deltas.saturating_add(o.count_imported_deltas);
        self.count_imported_reference_deltas = self
            .count_imported_reference_deltas
            .saturating_add(o.count_imported_reference_deltas);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationTaskExecution {
    pub activity_identifier: String,
    pub state: ExecutionState,
    pub error: Option<SynchronizationError>,
    #[serde(serialize_with = "ser_ts")]
    pub time_began: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub time_ended: Timestamp,
    #[serde(flatten)]
    pub counters: ExecutionCounters,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationProgress {
    pub completed_units: u64,
    pub total_units: u64,
    pub units: String,
    #[serde(serialize_with = "ser_ts")]
    pub progress_observation_date_time: Timestamp,
}

/// `{"key","value"}`, as `synchronizedEntryCountByType` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue<V> {
    pub key: String,
    pub value: V,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationStatus {
    pub code: StatusCode,
    pub count_successive_complete_failures: u64,
    pub escrows_pruned: bool,
    pub last_execution: Option<SynchronizationTaskExecution>,
    pub last_successful_execution: Option<SynchronizationTaskExecution>,
    pub last_successful_execution_with_exports: Option<SynchronizationTaskExecution>,
    pub progress: Vec<SynchronizationProgress>,
    pub quarantine: Option<SynchronizationQuarantine>,
    #[serde(with = "never_if_none")]
    pub steady_state_first_achieved_time: Option<Timestamp>,
    #[serde(with = "never_if_none")]
    pub steady_state_last_achieved_time: Option<Timestamp>,
    pub synchronized_entry_count_by_type: Vec<KeyValue<i64>>,
    pub troubleshooting_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationJob {
    pub id: String,
    pub template_id: String,
    pub schedule: SynchronizationSchedule,
    pub status: SynchronizationStatus,
    pub synchronization_job_settings: Vec<SettingPair>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_pascal_case_and_unknown_values_are_errors() {
        assert_eq!(
            serde_json::to_string(&StatusCode::NotConfigured).unwrap(),
            "\"NotConfigured\""
        );
        assert_eq!(
            serde_json::to_string(&ExecutionState::EntryLevelErrors).unwrap(),
            "\"EntryLevelErrors\""
        );
        assert!(serde_json::from_str::<StatusCode>("\"notConfigured\"").is_err());
        assert!(serde_json::from_str::<QuarantineReason>("\"Sleepy\"").is_err());
        assert!(serde_json::from_str::<ScheduleState>("3").is_err());
    }
}
