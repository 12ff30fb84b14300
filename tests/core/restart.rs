use crate::fixture::*;
use syncjob::job::{
    Command, Effect, EntryKey, Escrow, ResetScope, ScheduleState, StatusCode, TransitionError, status_code,
};

#[test]
fn default_restart_drops_watermark_cycle_escrows_and_quarantine() {
    let mut s = job(StatusCode::Quarantine);
    s.escrows.push(Escrow {
        key: EntryKey::new("User", "u1"),
        attempts: 1,
        first_failed: t0(),
        last_error: "x".into(),
        next_retry: t0(),
        reference: false,
    });
    let t = ok(&s, Command::Restart(ResetScope::PORTAL_DEFAULT), mins(1));
    assert_eq!(
        t.effects,
        vec![
            Effect::AbandonCycle {
                activity_id: "a1".into()
            },
            Effect::CycleDue { at: mins(1) }
        ]
    );
    assert!(t.state.watermark.is_none() && t.state.cycle.is_none());
    assert!(t.state.escrows.is_empty() && t.state.quarantine.is_none());
    assert_eq!(status_code(&t.state), StatusCode::NotRun);
}

#[test]
fn restart_none_is_a_start_that_keeps_everything() {
    let s = job(StatusCode::Paused);
    let t = ok(&s, Command::Restart(ResetScope::NONE), mins(1));
    assert_eq!(t.effects, vec![Effect::CycleDue { at: mins(1) }]);
    assert_eq!(t.state.cycle, s.cycle);
    assert_eq!(t.state.schedule.state, ScheduleState::Active);
}

#[test]
fn restart_keeping_quarantine_makes_its_attempt_due_now() {
    let s = job(StatusCode::Quarantine);
    let t = ok(&s, Command::Restart("Escrows".parse().unwrap()), mins(10));
    let q = t.state.quarantine.as_ref().unwrap();
    assert_eq!(q.next_attempt, mins(10));
    assert_eq!(t.effects, vec![Effect::CycleDue { at: mins(10) }]);
}

#[test]
fn connector_data_store_and_force_deletes() {
    let s = job(StatusCode::Active);
    let t = ok(
        &s,
        Command::Restart("ConnectorDataStore, ForceDeletes".parse().unwrap()),
        mins(1),
    );
    assert_eq!(
        t.effects,
        vec![Effect::ForgetConnectorData, Effect::CycleDue { at: mins(1) }]
    );
    assert!(t.state.force_deletes);
    assert_eq!(t.state.cycle, s.cycle);
}

#[test]
fn restart_of_not_configured_is_refused() {
    assert!(matches!(
        err(
            &job(StatusCode::NotConfigured),
            Command::Restart(ResetScope::FULL),
            t0()
        ),
        TransitionError::InvalidTransition { .. }
    ));
}
