//! How a [`JobState`] lies in its `jobs` row: the settings as JSON in the `settings`
//! column, everything else (the checkpoint) as JSON in `state`.
//!
//! Settings change only by operator commands; the checkpoint changes at every commit.
//! Apart, the hot commits (page commits, lease moves) encode only what moves: the
//! settings were a third of the state's JSON, and encoding that JSON was the largest
//! share of a commit's CPU (BENCHMARKS.md, store). Both stay JSON so that an operator
//! can read a job with `sqlite3` and `json_extract`.

use super::StoreError;
use crate::job::time::{ser_opt_ts, ser_ts};
use crate::job::wire::SynchronizationQuarantine;
use crate::job::{Cycle, Escrow, JobState, Lease, Schedule, SynchronizationTaskExecution, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;

/// The `state` column: a [`JobState`] without its settings, fields in the same order
/// and spelling as `JobState`'s own JSON, and an absent option left out rather than
/// written as `null` (serde reads a missing option as `None`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checkpoint<'a> {
    id: &'a str,
    service_principal_id: &'a str,
    template_id: &'a str,
    #[serde(serialize_with = "ser_ts")]
    created: Timestamp,
    schedule: &'a Schedule,
    #[serde(skip_serializing_if = "Option::is_none")]
    watermark: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quarantine: Option<&'a SynchronizationQuarantine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cycle: Option<&'a Cycle>,
    escrows: &'a [Escrow],
    escrows_pruned: bool,
    force_deletes: bool,
    count_successive_complete_failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_execution: Option<&'a SynchronizationTaskExecution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_successful_execution: Option<&'a SynchronizationTaskExecution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_successful_execution_with_exports: Option<&'a SynchronizationTaskExecution>,
    #[serde(serialize_with = "ser_opt_ts", skip_serializing_if = "Option::is_none")]
    steady_state_first_achieved: Option<Timestamp>,
    #[serde(serialize_with = "ser_opt_ts", skip_serializing_if = "Option::is_none")]
    steady_state_last_achieved: Option<Timestamp>,
    entry_counts: &'a BTreeMap<String, i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<&'a Lease>,
    last_fencing_token: u64,
    version: u64,
}

impl<'a> Checkpoint<'a> {
    fn of(s: &'a JobState) -> Self {
        // Exhaustive on purpose: a field added to `JobState` fails to compile here
        // until it is persisted (or deliberately left out, like `settings`).
        let JobState {
            id,
            service_principal_id,
            template_id,
            created,
            settings: _,
            schedule,
            watermark,
            quarantine,
            cycle,
            escrows,
            escrows_pruned,
            force_deletes,
            count_successive_complete_failures,
            last_execution,
            last_successful_execution,
            last_successful_execution_with_exports,
            steady_state_first_achieved,
            steady_state_last_achieved,
            entry_counts,
            lease,
            last_fencing_token,
            version,
        } = s;
        Self {
            id,
            service_principal_id,
            template_id,
            created: *created,
            schedule,
            watermark: watermark.as_deref(),
            quarantine: quarantine.as_ref(),
            cycle: cycle.as_ref(),
            escrows,
            escrows_pruned: *escrows_pruned,
            force_deletes: *force_deletes,
            count_successive_complete_failures: *count_successive_complete_failures,
            last_execution: last_execution.as_ref(),
            last_successful_execution: last_successful_execution.as_ref(),
            last_successful_execution_with_exports: last_successful_execution_with_exports.as_ref(),
            steady_state_first_achieved: *steady_state_first_achieved,
            steady_state_last_achieved: *steady_state_last_achieved,
            entry_counts,
            lease: lease.as_ref(),
            last_fencing_token: *last_fencing_token,
            version: *version,
        }
    }
}

fn bad(id: &str, reason: impl ToString) -> StoreError {
    StoreError::BadState {
        id: id.to_string(),
        reason: reason.to_string(),
    }
}

/// The `state` column of `s`.
pub(super) fn checkpoint_json(s: &JobState) -> Result<String, StoreError> {
    serde_json::to_string(&Checkpoint::of(s)).map_err(|e| bad(&s.id, e))
}

/// The `settings` column of `s`.
pub(super) fn settings_json(s: &JobState) -> Result<String, StoreError> {
    serde_json::to_string(&s.settings).map_err(|e| bad(&s.id, e))
}

/// The job of row `id` from its columns, checked against the row's id and version.
pub(super) fn decode(id: &str, version: i64, settings: &str, state: &str) -> Result<JobState, StoreError> {
    let mut s: JobState = serde_json::from_str(state).map_err(|e| bad(id, e))?;
    s.settings = serde_json::from_str(settings).map_err(|e| bad(id, format!("settings: {e}")))?;
    if s.version as i64 != version || s.id != id {
        return Err(bad(
            id,
            format!("row says version {version}, state says {} of {}", s.version, s.id),
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::table::sample;
    use crate::job::time::epoch_for_tests;
    use crate::job::{Settings, StatusCode};

    /// The two columns together are `JobState`'s own JSON, split, less its nulls.
    #[test]
    fn the_columns_are_the_state_json_split_in_two() {
        for code in StatusCode::ALL {
            let mut s = sample(code, epoch_for_tests());
            s.steady_state_first_achieved = Some(epoch_for_tests());
            s.settings.values.insert("pageSize".into(), "7".into());
            let mut whole: serde_json::Value = serde_json::to_value(&s).unwrap();
            let settings = whole.as_object_mut().unwrap().remove("settings").unwrap();
            whole.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            let (settings_col, state_col) = (settings_json(&s).unwrap(), checkpoint_json(&s).unwrap());
            let state: serde_json::Value = serde_json::from_str(&state_col).unwrap();
            assert_eq!(state, whole, "{code:?}");
            let stored: serde_json::Value = serde_json::from_str(&settings_col).unwrap();
            assert_eq!(stored, settings, "{code:?}");
            let back = decode(&s.id, s.version as i64, &settings_col, &state_col).unwrap();
            assert_eq!(back, s, "{code:?}");
        }
    }

    #[test]
    fn a_row_that_disagrees_with_its_columns_is_a_typed_error() {
        let s = JobState::new("j1", "sp", "generated", Settings::defaults(), epoch_for_tests());
        let (settings, state) = (settings_json(&s).unwrap(), checkpoint_json(&s).unwrap());
        assert!(matches!(
            decode("j1", 2, &settings, &state),
            Err(StoreError::BadState { .. })
        ));
        assert!(matches!(
            decode("j2", 1, &settings, &state),
            Err(StoreError::BadState { .. })
        ));
        assert!(matches!(
            decode("j1", 1, "{}", &state),
            Err(StoreError::BadState { .. })
        ));
        assert!(matches!(
            decode("j1", 1, &settings, "[]"),
            Err(StoreError::BadState { .. })
        ));
    }
}
