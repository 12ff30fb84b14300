use crate::fixture::*;
use syncjob::job::{Effect, Event, ScheduleState, StatusCode, StopReason};

#[test]
fn a_quarantine_series_of_28_days_disables_the_schedule() {
    let s = job(StatusCode::Quarantine);
    let early = ok(&s, Event::Tick, days(27));
    assert!(!early.changed && early.effects.is_empty());
    let t = ok(&s, Event::Tick, days(28));
    assert_eq!(
        t.effects,
        vec![Effect::StopRunner {
            reason: StopReason::Disabled
        }]
    );
    assert_eq!(t.state.schedule.state, ScheduleState::Disabled);
    assert_eq!(syncjob::job::status_code(&t.state), StatusCode::Quarantine);
    assert!(t.state.due_at().is_none(), "no more attempts");
}
