use crate::fixture::*;
use std::collections::BTreeMap;
use syncjob::job::{
    AppliedDeletes, Command, Effect, EntryKey, Event, ExecutionState, QuarantineReason, StatusCode,
    StopReason, TransitionError, policy, status_code,
};

#[test]
fn completion_sets_watermark_records_and_schedules_the_next_cycle() {
    let s = running(fresh(), t0());
    let s = ok(&s, Event::PageCommitted(page(&s, 10)), mins(1)).state;
    let t = ok(&s, completed(&s), mins(2));
    assert_eq!(
        t.effects,
        vec![
            Effect::StopRunner {
                reason: StopReason::CycleEnded
            },
            Effect::CycleDue { at: mins(42) }
        ]
    );
    let st = &t.state;
    assert_eq!(st.watermark.as_deref(), Some("w1"));
    assert_eq!(status_code(st), StatusCode::Active);
    let last = st.last_execution.as_ref().unwrap();
    assert_eq!(last.state, ExecutionState::Succeeded);
    assert_eq!(last.counters.count_exported, 10);
    assert_eq!(st.last_successful_execution_with_exports.as_ref(), Some(last));
    assert_eq!(st.steady_state_first_achieved, Some(mins(2)));
    assert!(st.cycle.is_none());
}

fn with_deletes(n: usize) -> syncjob::job::JobState {
    let s = running(fresh(), t0());
    let mut p = page(&s, n as u64);
    p.staged_deletes = (0..n)
        .map(|i| EntryKey::new("User", format!("d{i:04}")))
        .collect();
    ok(&s, Event::PageCommitted(p), mins(1)).state
}

#[test]
fn too_many_deletes_are_held_and_quarantine() {
    let s = with_deletes(500);
    assert_eq!(policy::releasable_deletes(&s), policy::DeleteDecision::Hold);
    let t = ok(&s, completed(&s), mins(2));
    assert_eq!(
        t.state.quarantine.as_ref().unwrap().reason,
        QuarantineReason::TooManyDeletes
    );
    assert!(t.state.cycle.as_ref().unwrap().deletes_held);
    assert!(t.state.watermark.is_none());
    // Claiming that deletes were applied is refused.
    let bad = Event::CycleCompleted {
        token: token(&s),
        activity_id: "a1".into(),
        watermark: "w".into(),
        deletes: Some(AppliedDeletes::default()),
    };
    assert!(matches!(err(&s, bad, mins(2)), TransitionError::Malformed { .. }));

    // ForceDeletes releases them: the quarantine attempt completes with the deletes.
    let f = ok(
        &t.state,
        Command::Restart("ForceDeletes".parse().unwrap()),
        mins(3),
    )
    .state;
    assert_eq!(policy::releasable_deletes(&f), policy::DeleteDecision::Release);
    let f = ok(&f, claim(), mins(3)).state;
    let done = ok(
        &f,
        Event::CycleCompleted {
            token: token(&f),
            activity_id: "a1".into(),
            watermark: "w".into(),
            deletes: Some(AppliedDeletes {
                exported: 500,
                entry_count_delta: BTreeMap::from([("User".into(), -500)]),
                failed: vec![],
            }),
        },
        mins(4),
    )
    .state;
    assert!(done.quarantine.is_none() && !done.force_deletes);
    assert_eq!(
        done.last_execution.as_ref().unwrap().counters.count_exported,
        1000
    );
    assert!(!done.entry_counts.contains_key("User"));
}

#[test]
fn deletes_under_the_threshold_must_be_applied() {
    let s = with_deletes(3);
    assert!(matches!(
        err(&s, completed(&s), mins(2)),
        TransitionError::Malformed { .. }
    ));
}
