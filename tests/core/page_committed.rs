use crate::fixture::*;
use syncjob::job::{
    Command, Effect, EntryKey, Event, FailedEntry, QuarantineReason, StatusCode, StopReason, TransitionError,
    status_code,
};

#[test]
fn a_page_advances_the_cursor_and_counts_once() {
    let s = running(fresh(), t0());
    let t = ok(&s, Event::PageCommitted(page(&s, 500)), mins(1));
    assert!(t.effects.is_empty());
    let c = t.state.cycle.as_ref().unwrap();
    assert_eq!((c.cursor, c.pages, c.counters.count_exported), (500, 1, 500));
    assert_eq!(t.state.entry_counts["User"], 500);
    assert_eq!(
        t.state.lease.as_ref().unwrap().expires,
        mins(2),
        "a page renews the lease"
    );
}

#[test]
fn pages_are_refused_after_pause_restart_takeover_or_out_of_order() {
    let s = running(fresh(), t0());
    let p = page(&s, 10);
    let paused = ok(&s, Command::Pause, t0()).state;
    assert_eq!(
        err(&paused, Event::PageCommitted(p.clone()), t0()),
        TransitionError::Paused
    );

    let restarted = ok(&s, Command::Restart(Default::default()), t0()).state;
    let restarted = ok(&restarted, Command::Restart("Watermark".parse().unwrap()), t0()).state;
    assert!(matches!(
        err(&restarted, Event::PageCommitted(p.clone()), t0()),
        TransitionError::CycleAbandoned { .. }
    ));

    let taken = ok(&s, claim(), mins(5)).state;
    assert!(matches!(
        err(&taken, Event::PageCommitted(p.clone()), mins(5)),
        TransitionError::LeaseLost { .. }
    ));

    let mut skip = p.clone();
    skip.from_cursor = 3;
    assert_eq!(
        err(&s, Event::PageCommitted(skip), t0()),
        TransitionError::CursorMismatch { expected: 0, got: 3 }
    );
}

fn failing_page(s: &syncjob::job::JobState, n: u64, failures: u64) -> Event {
    let mut p = page(s, n);
    p.counters.count_exported = n - failures;
    p.counters.count_escrowed = failures;
    p.failed = (0..failures)
        .map(|i| FailedEntry {
            key: EntryKey::new("User", format!("{}-{i}", p.from_cursor)),
            error: "409 from target".into(),
            reference: false,
        })
        .collect();
    Event::PageCommitted(p)
}

#[test]
fn escrow_proportion_threshold_quarantines_an_incremental_cycle() {
    let mut s = job(StatusCode::Active);
    s.settings.policy.escrow_base_threshold = 10;
    s.cycle = None;
    let s = running(s, t0());
    let t = ok(&s, failing_page(&s, 20, 10), mins(1));
    assert_eq!(
        t.effects,
        vec![
            Effect::StopRunner {
                reason: StopReason::Quarantined
            },
            Effect::CycleDue { at: mins(81) }
        ]
    );
    let q = t.state.quarantine.as_ref().unwrap();
    assert_eq!(q.reason, QuarantineReason::EncounteredEscrowProportionThreshold);
    assert_eq!(status_code(&t.state), StatusCode::Quarantine);
    assert_eq!(t.state.escrows.len(), 10);
}

#[test]
fn escrow_threshold_in_an_initial_cycle_prunes_and_pauses_at_its_end() {
    let mut s = fresh();
    s.settings.policy.escrow_base_threshold = 10;
    let s = running(s, t0());
    let t = ok(&s, failing_page(&s, 20, 10), mins(1));
    assert!(t.effects.is_empty());
    assert!(t.state.escrows.is_empty() && t.state.escrows_pruned);
    let done = ok(&t.state, completed(&t.state), mins(2));
    assert_eq!(
        done.effects,
        vec![Effect::StopRunner {
            reason: StopReason::CycleEnded
        }]
    );
    assert_eq!(status_code(&done.state), StatusCode::Paused);
}

#[test]
fn total_threshold() {
    let mut s = job(StatusCode::Active);
    s.settings.policy.escrow_base_threshold = 5;
    s.settings.policy.escrow_total_threshold = 8;
    s.cycle = None;
    let s = running(s, t0());
    let t = ok(&s, failing_page(&s, 100, 9), mins(1));
    assert_eq!(
        t.state.quarantine.as_ref().unwrap().reason,
        QuarantineReason::EncounteredTotalEscrowThreshold
    );
}
