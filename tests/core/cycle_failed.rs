use crate::fixture::*;
use syncjob::job::{
    Effect, Event, ExecutionState, JobState, QuarantineReason, StopReason, SynchronizationError, Timestamp,
};

fn failed(s: &JobState, fatal: bool) -> Event {
    Event::CycleFailed {
        token: token(s),
        activity_id: "a1".into(),
        error: SynchronizationError {
            code: "SourceUnavailable".into(),
            message: "timeout".into(),
            tenant_actionable: false,
        },
        fatal,
    }
}

fn rerun(s: &JobState, now: Timestamp) -> JobState {
    ok(s, claim(), now).state
}

#[test]
fn transient_failures_keep_the_cursor_then_quarantine_on_the_third() {
    let s = running(fresh(), t0());
    let s = ok(&s, Event::PageCommitted(page(&s, 100)), t0()).state;
    let t1 = ok(&s, failed(&s, false), mins(1));
    assert_eq!(
        t1.effects,
        vec![
            Effect::StopRunner {
                reason: StopReason::CycleEnded
            },
            Effect::CycleDue { at: mins(41) }
        ]
    );
    assert_eq!(
        t1.state.cycle.as_ref().unwrap().cursor,
        100,
        "the next attempt resumes"
    );
    assert_eq!(
        t1.state.last_execution.as_ref().unwrap().state,
        ExecutionState::Failed
    );
    let s2 = rerun(&t1.state, mins(41));
    let t2 = ok(&s2, failed(&s2, false), mins(42));
    assert!(t2.state.quarantine.is_none());
    let s3 = rerun(&t2.state, mins(82));
    let t3 = ok(&s3, failed(&s3, false), mins(83));
    let q = t3.state.quarantine.as_ref().unwrap();
    assert_eq!(q.reason, QuarantineReason::EncounteredQuarantineException);
    assert_eq!(q.next_attempt, mins(83 + 80));
    assert_eq!(t3.state.count_successive_complete_failures, 3);
}

#[test]
fn a_fatal_failure_quarantines_at_once_and_attempts_back_off() {
    let s = running(fresh(), t0());
    let t = ok(&s, failed(&s, true), mins(1));
    let q = t.state.quarantine.clone().unwrap();
    assert_eq!(q.error.as_ref().unwrap().message, "timeout");
    assert_eq!((q.series_count, q.next_attempt), (0, mins(81)));
    // The attempt fails again: kept, seriesCount 1, back-off doubles.
    let s = rerun(&t.state, mins(81));
    let t = ok(&s, failed(&s, false), mins(81));
    let q = t.state.quarantine.clone().unwrap();
    assert_eq!((q.series_count, q.next_attempt), (1, mins(81 + 160)));
}
