use crate::fixture::*;
use syncjob::job::{Command, CommandKind, Effect, ScheduleState, StatusCode, TransitionError, status_code};

#[test]
fn start_of_not_configured_is_refused_with_code_and_command() {
    let s = job(StatusCode::NotConfigured);
    assert_eq!(
        err(&s, Command::Start, t0()),
        TransitionError::InvalidTransition {
            code: StatusCode::NotConfigured,
            command: CommandKind::Start
        }
    );
}

#[test]
fn start_of_a_fresh_job_makes_a_cycle_due_now() {
    let t = ok(&fresh(), Command::Start, mins(1));
    assert_eq!(t.effects, vec![Effect::CycleDue { at: mins(1) }]);
    assert_eq!(t.state.schedule.state, ScheduleState::Active);
    assert_eq!(status_code(&t.state), StatusCode::NotRun);
    assert_eq!(t.state.version, 2);
}

#[test]
fn start_of_an_active_job_is_a_no_op() {
    let s = job(StatusCode::Active);
    let t = ok(&s, Command::Start, mins(5));
    assert!(!t.changed);
    assert!(t.effects.is_empty());
    assert_eq!(t.state, s);
}

#[test]
fn start_of_a_paused_job_resumes_the_checkpoint() {
    let s = job(StatusCode::Paused);
    let t = ok(&s, Command::Start, mins(2));
    assert_eq!(t.effects, vec![Effect::CycleDue { at: mins(2) }]);
    assert_eq!(t.state.cycle, s.cycle, "the in-flight cycle is kept as it was");
    assert_eq!(status_code(&t.state), StatusCode::Active);
}

#[test]
fn start_clears_quarantine_paused_or_not() {
    let q = job(StatusCode::Quarantine);
    let t = ok(&q, Command::Start, mins(3));
    assert!(t.state.quarantine.is_none());
    assert_eq!(t.effects, vec![Effect::CycleDue { at: mins(3) }]);
    let mut paused_in_q = q.clone();
    paused_in_q.schedule.state = ScheduleState::Paused;
    let t = ok(&paused_in_q, Command::Start, mins(3));
    assert!(t.state.quarantine.is_none());
    assert_eq!(status_code(&t.state), StatusCode::Active);
}
