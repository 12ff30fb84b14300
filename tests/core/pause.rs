use crate::fixture::*;
use syncjob::job::{
    Command, CommandKind, Effect, ScheduleState, StatusCode, StopReason, TransitionError, status_code,
};

#[test]
fn pause_freezes_and_stops_the_runner() {
    for code in [StatusCode::NotRun, StatusCode::Active, StatusCode::Quarantine] {
        let s = job(code);
        let t = ok(&s, Command::Pause, mins(1));
        assert_eq!(
            t.effects,
            vec![Effect::StopRunner {
                reason: StopReason::Paused
            }]
        );
        assert_eq!(t.state.schedule.state, ScheduleState::Paused);
        assert_eq!(t.state.cycle, s.cycle);
        assert_eq!(t.state.quarantine, s.quarantine, "quarantine record kept");
        assert_eq!(status_code(&t.state), StatusCode::Paused);
    }
}

#[test]
fn pause_of_a_paused_job_is_a_no_op() {
    let s = job(StatusCode::Paused);
    let t = ok(&s, Command::Pause, mins(1));
    assert!(!t.changed && t.effects.is_empty());
}

#[test]
fn pause_of_not_configured_is_refused() {
    assert_eq!(
        err(&job(StatusCode::NotConfigured), Command::Pause, t0()),
        TransitionError::InvalidTransition {
            code: StatusCode::NotConfigured,
            command: CommandKind::Pause
        }
    );
}
