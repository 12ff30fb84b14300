//! The rules of contract section 4 as pure functions of state, settings and `now`.
//! The transition function and the runner both call these, so a rule lives in one place.

use super::settings::Policy;
use super::state::{Cycle, Escrow, JobState};
use super::time::{IsoDuration, Timestamp, add};
use super::wire::{QuarantineReason, SynchronizationQuarantine};

/// Delay of attempt `k` of a quarantine series: `min(max_backoff, interval × 2^k)`.
/// The first attempt after an imposition is `k = 1`, each kept re-evaluation adds one.
pub fn quarantine_backoff(policy: &Policy, k: u64) -> IsoDuration {
    let k = u32::try_from(k).unwrap_or(u32::MAX).min(64);
    policy.interval.doubled(k).min(policy.quarantine_max_backoff)
}

/// When attempt `series_count + 1` of quarantine `q` is due.
pub fn next_quarantine_attempt(policy: &Policy, current_began: Timestamp, series_count: u64) -> Timestamp {
    add(
        current_began,
        quarantine_backoff(policy, series_count.saturating_add(1)),
    )
}

/// A quarantine series older than `quarantine_disable_after` disables the schedule.
pub fn quarantine_series_expired(policy: &Policy, q: &SynchronizationQuarantine, now: Timestamp) -> bool {
    now >= add(q.series_began, policy.quarantine_disable_after)
}

/// Delay before retry number `attempts` of an escrowed entry: +6 h, +12 h, +24 h, then
/// every 24 h.
pub fn escrow_retry_delay(attempts: u32) -> IsoDuration {
    match attempts {
        0 | 1 => IsoDuration::from_hours(6),
        2 => IsoDuration::from_hours(12),
        _ => IsoDuration::from_hours(24),
    }
}

/// An escrow older than `escrow_max_age` is dropped.
pub fn escrow_expired(policy: &Policy, e: &Escrow, now: Timestamp) -> bool {
    now >= add(e.first_failed, policy.escrow_max_age)
}

/// The escrows a runner should retry now.
pub fn escrows_due(state: &JobState, now: Timestamp) -> impl Iterator<Item = &Escrow> {
    state.escrows.iter().filter(move |e| e.next_retry <= now)
}

/// The escrow threshold a cycle has crossed, if any. Thresholds apply only once the
/// cycle has `escrow_base_threshold` failures.
pub fn escrow_threshold(policy: &Policy, cycle: &Cycle) -> Option<QuarantineReason> {
    let failures = cycle.counters.count_escrowed;
    let with_refs = failures.saturating_add(cycle.reference_failures);
    if with_refs < policy.escrow_base_threshold {
        return None;
    }
    let processed = cycle.counters.count_exports.max(failures);
    if failures.saturating_mul(100) > processed.saturating_mul(policy.escrow_proportion_percent) {
        Some(QuarantineReason::EncounteredEscrowProportionThreshold)
    } else if failures > policy.escrow_total_threshold {
        Some(QuarantineReason::EncounteredTotalEscrowThreshold)
    } else if with_refs > policy.escrow_base_total_threshold {
        Some(QuarantineReason::EncounteredBaseEscrowThreshold)
    } else {
        None
    }
}

/// What the deletion threshold says of the in-flight cycle's staged deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteDecision {
    /// Nothing staged.
    Nothing,
    /// Apply them with the cycle's completion.
    Release,
    /// Too many: hold them back and quarantine with `TooManyDeletes`.
    Hold,
}

/// The deletion threshold: `delete_threshold` or more deletes in one cycle are held back
/// unless a `ForceDeletes` restart allowed them.
pub fn releasable_deletes(state: &JobState) -> DeleteDecision {
    let Some(cycle) = &state.cycle else {
        return DeleteDecision::Nothing;
    };
    let n = cycle.staged_deletes.len() as u64;
    if n == 0 {
        DeleteDecision::Nothing
    } else if n >= state.settings.policy.delete_threshold && !state.force_deletes {
        DeleteDecision::Hold
    } else {
        DeleteDecision::Release
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::time::epoch_for_tests;

    #[test]
    fn backoff_doubles_and_caps_at_a_day() {
        let p = Policy::default(); // PT40M
        assert_eq!(quarantine_backoff(&p, 1).secs(), 80 * 60);
        assert_eq!(quarantine_backoff(&p, 2).secs(), 160 * 60);
        assert_eq!(quarantine_backoff(&p, 6).secs(), 24 * 3600);
        assert_eq!(quarantine_backoff(&p, u64::MAX).secs(), 24 * 3600);
        let t = epoch_for_tests();
        assert_eq!((next_quarantine_attempt(&p, t, 0) - t).num_minutes(), 80);
    }

    #[test]
    fn escrow_retry_schedule() {
        let hours: Vec<u64> = (1..=5).map(|a| escrow_retry_delay(a).secs() / 3600).collect();
        assert_eq!(hours, vec![6, 12, 24, 24, 24]);
    }
}
