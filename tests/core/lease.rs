use crate::fixture::*;
use syncjob::job::{Command, Effect, Event, TransitionError};

#[test]
fn claim_grants_a_growing_fencing_token() {
    let s = ok(&fresh(), Command::Start, t0()).state;
    let t = ok(&s, claim(), t0());
    assert_eq!(
        t.effects,
        vec![Effect::LeaseGranted {
            token: 1,
            expires: mins(1)
        }]
    );
    // Held: a second runner is refused until the lease expires.
    assert!(matches!(
        err(&t.state, claim(), t0()),
        TransitionError::LeaseHeld { .. }
    ));
    let t2 = ok(&t.state, claim(), mins(2));
    assert_eq!(token(&t2.state), 2);
}

#[test]
fn claim_needs_a_due_unpaused_job() {
    assert!(matches!(err(&fresh(), claim(), t0()), TransitionError::Disabled));
    let s = ok(&fresh(), Command::Start, mins(5)).state;
    assert!(matches!(
        err(&s, claim(), mins(4)),
        TransitionError::NotDue { .. }
    ));
    let p = ok(&s, Command::Pause, mins(5)).state;
    assert_eq!(err(&p, claim(), mins(6)), TransitionError::Paused);
}

#[test]
fn release_needs_the_current_token() {
    let s = running(fresh(), t0());
    assert!(matches!(
        err(&s, Event::ReleaseLease { token: 99 }, t0()),
        TransitionError::LeaseLost { presented: 99, .. }
    ));
    let t = ok(&s, Event::ReleaseLease { token: token(&s) }, t0());
    assert!(t.state.lease.is_none() && t.effects.is_empty());
}
