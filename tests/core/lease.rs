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

#[test]
fn renew_extends_the_current_lease_and_nothing_else() {
    let s = running(fresh(), t0());
    let t = ok(&s, Event::RenewLease { token: token(&s) }, mins(3));
    assert_eq!(
        t.effects,
        vec![Effect::LeaseGranted {
            token: token(&s),
            expires: mins(4)
        }]
    );
    let lease = t.state.lease.as_ref().unwrap();
    assert_eq!((lease.token, lease.expires), (token(&s), mins(4)));
    let mut rest = t.state.clone();
    rest.lease = s.lease.clone();
    rest.version = s.version;
    assert_eq!(rest, s, "a renewal moves the lease's expiry only");
    // An expired lease nobody took over is still the job's: the token decides.
    assert!(ok(&s, Event::RenewLease { token: token(&s) }, mins(30)).changed);
}

#[test]
fn renew_is_refused_after_takeover_pause_and_disable() {
    let s = running(fresh(), t0());
    let old = token(&s);
    let taken = ok(&s, claim(), mins(2)).state;
    assert_eq!(
        err(&taken, Event::RenewLease { token: old }, mins(2)),
        TransitionError::LeaseLost {
            presented: old,
            current: Some(old + 1)
        }
    );
    let paused = ok(&s, Command::Pause, t0()).state;
    assert_eq!(
        err(&paused, Event::RenewLease { token: old }, t0()),
        TransitionError::Paused
    );
    let released = ok(&s, Event::ReleaseLease { token: old }, t0()).state;
    assert!(matches!(
        err(&released, Event::RenewLease { token: old }, t0()),
        TransitionError::LeaseLost { current: None, .. }
    ));
    let mut disabled = s.clone();
    disabled.schedule.state = syncjob::job::ScheduleState::Disabled;
    assert_eq!(
        err(&disabled, Event::RenewLease { token: old }, t0()),
        TransitionError::Disabled
    );
}
