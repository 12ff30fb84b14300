use crate::fixture::*;
use chrono::TimeDelta;
use syncjob::job::{CycleKind, EntryKey, Escrow, Event, TransitionError};

fn began(s: &syncjob::job::JobState, id: &str) -> Event {
    Event::CycleBegan {
        token: token(s),
        activity_id: id.into(),
        start_cursor: 0,
        total: None,
    }
}

#[test]
fn first_cycle_is_initial_and_prunes_old_escrows() {
    let mut s = ok(&fresh(), syncjob::job::Command::Start, days(30)).state;
    s = ok(&s, claim(), days(30)).state;
    s.escrows.push(Escrow {
        key: EntryKey::new("User", "old"),
        attempts: 3,
        first_failed: t0(),
        last_error: "x".into(),
        next_retry: t0() + TimeDelta::hours(6),
        reference: false,
    });
    let t = ok(&s, began(&s, "a1"), days(30));
    assert!(t.effects.is_empty());
    let c = t.state.cycle.as_ref().unwrap();
    assert_eq!(c.kind, CycleKind::Initial);
    assert!(t.state.escrows.is_empty() && t.state.escrows_pruned);
}

#[test]
fn a_cycle_in_flight_is_resumed_not_begun_again() {
    let s = running(fresh(), t0());
    assert!(matches!(
        err(&s, began(&s, "a2"), t0()),
        TransitionError::CycleInFlight { .. }
    ));
}
