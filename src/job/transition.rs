//! The transition function: `(state, input, now) → (state, effects)` or a typed error.
//!
//! Every check happens before the first change, on the borrowed state; only then is
//! the state cloned and changed. A refused input therefore cannot leave a half-applied
//! state behind, and the function has no path that panics.

use super::effect::{Effect, StopReason};
use super::error::TransitionError;
use super::input::{Command, CommandKind, Event, FailedEntry, Input, PageCommit};
use super::policy::{self, DeleteDecision};
use super::state::{Cycle, CycleKind, Escrow, JobState, Lease};
use super::status::status_code;
use super::time::{Timestamp, add};
use super::wire::{
    ExecutionCounters, ExecutionState, QuarantineReason, ScheduleState, StatusCode, SynchronizationError,
    SynchronizationQuarantine, SynchronizationTaskExecution,
};

/// The result of an accepted input.
#[must_use = "a transition's state and effects must be committed and acted on"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: JobState,
    pub effects: Vec<Effect>,
    /// False when the input was accepted but changed nothing (a repeated pause, a start
    /// of an active job): the store writes nothing then.
    pub changed: bool,
}

/// Applies `input` to `state` at `now`.
pub fn apply(state: &JobState, input: &Input, now: Timestamp) -> Result<Transition, TransitionError> {
    let mut next = state.clone();
    let mut effects = Vec::new();
    match input {
        Input::Command(c) => command(&mut next, c, now, &mut effects)?,
        Input::Event(e) => event(state, &mut next, e, now, &mut effects)?,
    }
    let changed = next != *state;
    if changed {
        next.version = state.version.saturating_add(1);
    }
    Ok(Transition {
        state: next,
        effects,
        changed,
    })
}

fn command(
    s: &mut JobState,
    c: &Command,
    now: Timestamp,
    fx: &mut Vec<Effect>,
) -> Result<(), TransitionError> {
    let code = status_code(s);
    let forbidden = |command: CommandKind| TransitionError::InvalidTransition { code, command };
    match c {
        Command::Start => {
            if code == StatusCode::NotConfigured {
                return Err(forbidden(CommandKind::Start));
            }
            // A start of a running schedule is a no-op [ours].
            if s.schedule.state == ScheduleState::Active && s.quarantine.is_none() {
                return Ok(());
            }
            clear_quarantine(s);
            activate(s, now, fx);
        }
        Command::Pause => {
            if code == StatusCode::NotConfigured {
                return Err(forbidden(CommandKind::Pause));
            }
            if s.schedule.state != ScheduleState::Paused {
                s.schedule.state = ScheduleState::Paused;
                fx.push(Effect::StopRunner {
                    reason: StopReason::Paused,
                });
            }
        }
        Command::Restart(scope) => {
            if code == StatusCode::NotConfigured {
                return Err(forbidden(CommandKind::Restart));
            }
            if scope.escrows {
                s.escrows.clear();
                s.escrows_pruned = false;
                if let Some(c) = &mut s.cycle {
                    c.counters.count_escrowed = 0;
                    c.counters.count_escrowed_raw = 0;
                    c.reference_failures = 0;
                }
            }
            if scope.watermark {
                s.watermark = None;
                if let Some(c) = s.cycle.take() {
                    fx.push(Effect::AbandonCycle {
                        activity_id: c.activity_id,
                    });
                }
            }
            if scope.quarantine_state {
                clear_quarantine(s);
            }
            if scope.connector_data_store {
                fx.push(Effect::ForgetConnectorData);
            }
            if scope.force_deletes {
                s.force_deletes = true;
            }
            // A kept quarantine is re-evaluated now and its next attempt is due now, like
            // any restart's cycle; a series that had disabled the schedule starts afresh,
            // or the next tick would disable it again at once.
            let policy = s.settings.policy.clone();
            if let Some(q) = &mut s.quarantine {
                if policy::quarantine_series_expired(&policy, q, now) {
                    q.series_began = now;
                    q.series_count = 0;
                }
                q.current_began = now;
                q.next_attempt = now;
            }
            activate(s, now, fx);
        }
        Command::Delete => {
            if let Some(c) = &s.cycle {
                fx.push(Effect::AbandonCycle {
                    activity_id: c.activity_id.clone(),
                });
            }
            fx.push(Effect::StopRunner {
                reason: StopReason::Deleted,
            });
            fx.push(Effect::DeleteJob);
        }
        Command::UpdateSettings(settings) => {
            s.settings = settings.clone();
        }
    }
    Ok(())
}

/// Schedule Active, a cycle due now.
fn activate(s: &mut JobState, now: Timestamp, fx: &mut Vec<Effect>) {
    s.schedule.state = ScheduleState::Active;
    s.schedule.next_due = Some(now);
    fx.push(Effect::CycleDue {
        at: s.due_at().unwrap_or(now),
    });
}

fn clear_quarantine(s: &mut JobState) {
    if s.quarantine.take().is_some() {
        // A lifted quarantine gives the job a fresh count of failures.
        s.count_successive_complete_failures = 0;
    }
}

/// Checks common to every cycle event: not paused, the lease is current.
fn check_runner(s: &JobState, token: u64) -> Result<(), TransitionError> {
    if !s.settings.configured {
        return Err(TransitionError::NotConfigured);
    }
    if s.schedule.state == ScheduleState::Paused {
        return Err(TransitionError::Paused);
    }
    match &s.lease {
        Some(l) if l.token == token => Ok(()),
        other => Err(TransitionError::LeaseLost {
            presented: token,
            current: other.as_ref().map(|l| l.token),
        }),
    }
}

/// Checks for events of the in-flight cycle: the cycle is the one named, and a
/// quarantined job works only once its attempt is due.
fn check_cycle<'a>(
    s: &'a JobState,
    token: u64,
    activity_id: &str,
    now: Timestamp,
) -> Result<&'a Cycle, TransitionError> {
    check_runner(s, token)?;
    if s.schedule.state == ScheduleState::Disabled {
        return Err(TransitionError::Disabled);
    }
    let cycle = match &s.cycle {
        Some(c) if c.activity_id == activity_id => c,
        other => {
            return Err(TransitionError::CycleAbandoned {
                presented: activity_id.to_string(),
                current: other.as_ref().map(|c| c.activity_id.clone()),
            });
        }
    };
    if let Some(q) = &s.quarantine
        && now < q.next_attempt
    {
        return Err(TransitionError::Quarantined {
            next_attempt: q.next_attempt,
        });
    }
    Ok(cycle)
}

/// Whether a page of cycle `activity_id` starting at `from_cursor` may commit: the job
/// is not paused, the lease `token` is current, the cycle is the one in flight, a
/// quarantined job's attempt is due, and the page starts at the checkpoint. The store
/// calls this before writing a page's target rows; [`apply`] calls it again.
pub fn check_page(
    s: &JobState,
    token: u64,
    activity_id: &str,
    from_cursor: u64,
    now: Timestamp,
) -> Result<(), TransitionError> {
    let cycle = check_cycle(s, token, activity_id, now)?;
    if from_cursor != cycle.cursor {
        return Err(TransitionError::CursorMismatch {
            expected: cycle.cursor,
            got: from_cursor,
        });
    }
    Ok(())
}

fn event(
    old: &JobState,
    s: &mut JobState,
    e: &Event,
    now: Timestamp,
    fx: &mut Vec<Effect>,
) -> Result<(), TransitionError> {
    match e {
        Event::Tick => {
            if let Some(q) = &s.quarantine
                && s.schedule.state == ScheduleState::Active
                && policy::quarantine_series_expired(&s.settings.policy, q, now)
            {
                s.schedule.state = ScheduleState::Disabled;
                fx.push(Effect::StopRunner {
                    reason: StopReason::Disabled,
                });
            }
        }
        Event::ClaimLease { holder, ttl } => {
            if !s.settings.configured {
                return Err(TransitionError::NotConfigured);
            }
            match s.schedule.state {
                ScheduleState::Paused => return Err(TransitionError::Paused),
                ScheduleState::Disabled => return Err(TransitionError::Disabled),
                ScheduleState::Active => {}
            }
            let due = s.due_at();
            if due.is_none_or(|d| now < d) {
                return Err(TransitionError::NotDue { due });
            }
            if let Some(l) = &s.lease
                && now < l.expires
            {
                return Err(TransitionError::LeaseHeld {
                    holder: l.holder.clone(),
                    expires: l.expires,
                });
            }
            let token = s.last_fencing_token.saturating_add(1);
            let expires = add(now, *ttl);
            s.last_fencing_token = token;
            s.lease = Some(Lease {
                holder: holder.clone(),
                token,
                expires,
                ttl: *ttl,
            });
            fx.push(Effect::LeaseGranted { token, expires });
        }
        Event::RenewLease { token } => {
            check_runner(old, *token)?;
            if old.schedule.state == ScheduleState::Disabled {
                return Err(TransitionError::Disabled);
            }
            renew(s, now);
            let expires = s.lease.as_ref().map_or(now, |l| l.expires);
            fx.push(Effect::LeaseGranted {
                token: *token,
                expires,
            });
        }
        Event::ReleaseLease { token } => match &s.lease {
            Some(l) if l.token == *token => s.lease = None,
            other => {
                return Err(TransitionError::LeaseLost {
                    presented: *token,
                    current: other.as_ref().map(|l| l.token),
                });
            }
        },
        Event::CycleBegan {
            token,
            activity_id,
            start_cursor,
            total,
        } => {
            check_runner(old, *token)?;
            if old.schedule.state == ScheduleState::Disabled {
                return Err(TransitionError::Disabled);
            }
            if let Some(c) = &old.cycle {
                return Err(TransitionError::CycleInFlight {
                    activity_id: c.activity_id.clone(),
                });
            }
            let due = old.due_at();
            if due.is_none_or(|d| now < d) {
                return Err(match &old.quarantine {
                    Some(q) => TransitionError::Quarantined {
                        next_attempt: q.next_attempt,
                    },
                    None => TransitionError::NotDue { due },
                });
            }
            if activity_id.is_empty() {
                return Err(malformed("empty activityIdentifier"));
            }
            let policy = &s.settings.policy;
            let before = s.escrows.len();
            s.escrows.retain(|e| !policy::escrow_expired(policy, e, now));
            if s.escrows.len() != before {
                s.escrows_pruned = true;
            }
            s.cycle = Some(Cycle {
                activity_id: activity_id.clone(),
                kind: if s.watermark.is_some() {
                    CycleKind::Incremental
                } else {
                    CycleKind::Initial
                },
                began: now,
                cursor: *start_cursor,
                start_cursor: *start_cursor,
                total: *total,
                pages: 0,
                counters: ExecutionCounters::default(),
                reference_failures: 0,
                staged_deletes: Vec::new(),
                deletes_held: false,
                pause_at_end: false,
                observed: now,
            });
            renew(s, now);
        }
        Event::PageCommitted(p) => {
            check_page(old, p.token, &p.activity_id, p.from_cursor, now)?;
            if p.to_cursor < p.from_cursor {
                return Err(malformed("page ends before it starts"));
            }
            page(s, p, now, fx);
        }
        Event::CycleCompleted {
            token,
            activity_id,
            watermark,
            deletes,
        } => {
            check_cycle(old, *token, activity_id, now)?;
            let decision = policy::releasable_deletes(old);
            match (decision, deletes) {
                (DeleteDecision::Release, Some(_))
                | (DeleteDecision::Nothing | DeleteDecision::Hold, None) => {}
                (DeleteDecision::Release, None) => return Err(malformed("staged deletes were not applied")),
                (_, Some(_)) => return Err(malformed("deletes applied that the threshold does not release")),
            }
            if decision == DeleteDecision::Hold {
                if let Some(c) = &mut s.cycle {
                    c.deletes_held = true;
                }
                let error = SynchronizationError {
                    code: "TooManyDeletes".into(),
                    message: format!(
                        "{} deletes in one cycle reach the deletion threshold of {}; restart with ForceDeletes to apply them",
                        old.cycle.as_ref().map_or(0, |c| c.staged_deletes.len()),
                        s.settings.policy.delete_threshold
                    ),
                    tenant_actionable: true,
                };
                quarantine(s, QuarantineReason::TooManyDeletes, Some(error), now, fx);
                return Ok(());
            }
            complete(s, watermark, deletes.as_ref(), now, fx);
        }
        Event::CycleFailed {
            token,
            activity_id,
            error,
            fatal,
        } => {
            check_cycle(old, *token, activity_id, now)?;
            s.count_successive_complete_failures = s.count_successive_complete_failures.saturating_add(1);
            if let Some(c) = &s.cycle {
                s.last_execution = Some(execution(c, ExecutionState::Failed, Some(error.clone()), now));
            }
            let quarantine_now = *fatal
                || s.quarantine.is_some()
                || s.count_successive_complete_failures
                    >= u64::from(s.settings.policy.quarantine_after_failures);
            if quarantine_now {
                quarantine(
                    s,
                    QuarantineReason::EncounteredQuarantineException,
                    Some(error.clone()),
                    now,
                    fx,
                );
            } else {
                s.schedule.next_due = Some(add(now, s.settings.policy.interval));
                fx.push(Effect::StopRunner {
                    reason: StopReason::CycleEnded,
                });
                fx.push(Effect::CycleDue {
                    at: s.schedule.next_due.unwrap_or(now),
                });
            }
        }
    }
    Ok(())
}

fn malformed(reason: &str) -> TransitionError {
    TransitionError::Malformed {
        reason: reason.to_string(),
    }
}

/// A page (or an explicit renewal) extends the lease: a runner that commits is alive.
fn renew(s: &mut JobState, now: Timestamp) {
    if let Some(l) = &mut s.lease {
        l.expires = add(now, l.ttl);
    }
}

/// Escrows failed entries: new ones at attempt 1, known ones one attempt further.
fn escrow_failures(s: &mut JobState, failed: &[FailedEntry], now: Timestamp) {
    for f in failed {
        match s.escrows.binary_search_by(|e| e.key.cmp(&f.key)) {
            Ok(i) => {
                let e = &mut s.escrows[i];
                e.attempts = e.attempts.saturating_add(1);
                e.last_error = f.error.clone();
                e.next_retry = add(now, policy::escrow_retry_delay(e.attempts));
            }
            Err(i) => s.escrows.insert(
                i,
                Escrow {
                    key: f.key.clone(),
                    attempts: 1,
                    first_failed: now,
                    last_error: f.error.clone(),
                    next_retry: add(now, policy::escrow_retry_delay(1)),
                    reference: f.reference,
                },
            ),
        }
    }
}

fn page(s: &mut JobState, p: &PageCommit, now: Timestamp, fx: &mut Vec<Effect>) {
    let policy = s.settings.policy.clone();
    escrow_failures(s, &p.failed, now);
    for k in &p.resolved {
        if let Ok(i) = s.escrows.binary_search_by(|e| e.key.cmp(k)) {
            s.escrows.remove(i);
        }
    }
    for (t, d) in &p.entry_count_delta {
        let n = s.entry_counts.entry(t.clone()).or_insert(0);
        *n = n.saturating_add(*d);
    }
    s.entry_counts.retain(|_, n| *n != 0);
    let Some(c) = &mut s.cycle else { return };
    c.cursor = p.to_cursor;
    c.pages = c.pages.saturating_add(1);
    c.counters.add(&p.counters);
    c.reference_failures = c
        .reference_failures
        .saturating_add(p.failed.iter().filter(|f| f.reference).count() as u64);
    if p.total.is_some() {
        c.total = p.total;
    }
    c.observed = now;
    for k in &p.unstaged {
        if let Ok(i) = c.staged_deletes.binary_search(k) {
            c.staged_deletes.remove(i);
        }
    }
    for k in &p.staged_deletes {
        if let Err(i) = c.staged_deletes.binary_search(k) {
            c.staged_deletes.insert(i, k.clone());
        }
    }
    let crossed = if p.failed.is_empty() {
        None
    } else {
        policy::escrow_threshold(&policy, c)
    };
    let kind = c.kind;
    renew(s, now);
    if let Some(reason) = crossed {
        if kind == CycleKind::Initial {
            // An initial cycle prunes instead of quarantining, and pauses at its end.
            s.escrows.clear();
            s.escrows_pruned = true;
            if let Some(c) = &mut s.cycle {
                c.pause_at_end = true;
            }
        } else {
            let error = SynchronizationError {
                code: format!("{reason:?}"),
                message: "too many entries failed to export in this cycle".into(),
                tenant_actionable: true,
            };
            quarantine(s, reason, Some(error), now, fx);
        }
    }
}

fn execution(
    c: &Cycle,
    state: ExecutionState,
    error: Option<SynchronizationError>,
    now: Timestamp,
) -> SynchronizationTaskExecution {
    SynchronizationTaskExecution {
        activity_identifier: c.activity_id.clone(),
        state,
        error,
        time_began: c.began,
        time_ended: now,
        counters: c.counters.clone(),
    }
}

fn complete(
    s: &mut JobState,
    watermark: &str,
    deletes: Option<&super::input::AppliedDeletes>,
    now: Timestamp,
    fx: &mut Vec<Effect>,
) {
    let Some(mut c) = s.cycle.take() else { return };
    if let Some(d) = deletes {
        escrow_failures(s, &d.failed, now);
        c.counters.count_escrowed = c.counters.count_escrowed.saturating_add(d.failed.len() as u64);
        c.counters.count_exported = c.counters.count_exported.saturating_add(d.exported);
        c.counters.count_exports = c
            .counters
            .count_exports
            .saturating_add(c.staged_deletes.len() as u64);
        for (t, delta) in &d.entry_count_delta {
            let n = s.entry_counts.entry(t.clone()).or_insert(0);
            *n = n.saturating_add(*delta);
        }
        s.entry_counts.retain(|_, n| *n != 0);
    }
    let state = if c.counters.count_escrowed > 0 {
        ExecutionState::EntryLevelErrors
    } else {
        ExecutionState::Succeeded
    };
    let record = execution(&c, state, None, now);
    if state == ExecutionState::Succeeded {
        if record.counters.count_exported > 0 {
            s.last_successful_execution_with_exports = Some(record.clone());
        }
        s.last_successful_execution = Some(record.clone());
    }
    s.last_execution = Some(record);
    s.watermark = Some(watermark.to_string());
    if s.escrows.is_empty() {
        s.steady_state_first_achieved.get_or_insert(now);
        s.steady_state_last_achieved = Some(now);
    }
    s.quarantine = None;
    s.count_successive_complete_failures = 0;
    s.force_deletes = false;
    s.schedule.next_due = Some(add(now, s.settings.policy.interval));
    fx.push(Effect::StopRunner {
        reason: StopReason::CycleEnded,
    });
    if c.pause_at_end {
        s.schedule.state = ScheduleState::Paused;
    } else {
        fx.push(Effect::CycleDue {
            at: s.schedule.next_due.unwrap_or(now),
        });
    }
}

/// Imposes quarantine, or re-evaluates and keeps the one in force.
fn quarantine(
    s: &mut JobState,
    reason: QuarantineReason,
    error: Option<SynchronizationError>,
    now: Timestamp,
    fx: &mut Vec<Effect>,
) {
    let policy = s.settings.policy.clone();
    let q = match s.quarantine.take() {
        Some(mut q) => {
            q.series_count = q.series_count.saturating_add(1);
            q.current_began = now;
            q.reason = reason;
            q.error = error;
            q
        }
        None => SynchronizationQuarantine {
            current_began: now,
            next_attempt: now,
            reason,
            series_began: now,
            series_count: 0,
            error,
        },
    };
    let next_attempt = policy::next_quarantine_attempt(&policy, q.current_began, q.series_count);
    let expired = policy::quarantine_series_expired(&policy, &q, now);
    s.quarantine = Some(SynchronizationQuarantine { next_attempt, ..q });
    if expired && s.schedule.state == ScheduleState::Active {
        s.schedule.state = ScheduleState::Disabled;
        fx.push(Effect::StopRunner {
            reason: StopReason::Disabled,
        });
    } else {
        fx.push(Effect::StopRunner {
            reason: StopReason::Quarantined,
        });
        fx.push(Effect::CycleDue { at: next_attempt });
    }
}
