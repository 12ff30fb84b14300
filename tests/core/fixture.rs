//! Shared fixtures: a job at a known instant, helpers to drive it.

use chrono::TimeDelta;
use std::collections::BTreeMap;
use syncjob::job::{
    self, Command, Event, ExecutionCounters, Input, IsoDuration, JobState, PageCommit, Settings, StatusCode,
    Timestamp, Transition, table::sample, time::epoch_for_tests,
};

pub fn t0() -> Timestamp {
    epoch_for_tests()
}

pub fn mins(m: i64) -> Timestamp {
    t0() + TimeDelta::minutes(m)
}

pub fn days(d: i64) -> Timestamp {
    t0() + TimeDelta::days(d)
}

/// A job of status `code` (the state table's fixtures).
pub fn job(code: StatusCode) -> JobState {
    sample(code, t0())
}

/// A configured job never started.
pub fn fresh() -> JobState {
    JobState::new(
        "generated.00000000000000000000000000000abc",
        "sp",
        "generated",
        Settings::defaults(),
        t0(),
    )
}

pub fn ok(s: &JobState, input: impl Into<Input>, now: Timestamp) -> Transition {
    let input = input.into();
    job::apply(s, &input, now).unwrap_or_else(|e| panic!("{input:?} refused: {e}"))
}

pub fn err(s: &JobState, input: impl Into<Input>, now: Timestamp) -> job::TransitionError {
    let input = input.into();
    match job::apply(s, &input, now) {
        Ok(t) => panic!("{input:?} accepted: {t:?}"),
        Err(e) => e,
    }
}

/// Starts `s`, claims it for a runner and begins a cycle `a1`: a job mid-cycle.
pub fn running(mut s: JobState, now: Timestamp) -> JobState {
    s = ok(&s, Command::Start, now).state;
    s = ok(&s, claim(), now).state;
    s = ok(
        &s,
        Event::CycleBegan {
            token: token(&s),
            activity_id: "a1".into(),
            start_cursor: 0,
            total: Some(1000),
        },
        now,
    )
    .state;
    s
}

pub fn claim() -> Event {
    Event::ClaimLease {
        holder: "r1".into(),
        ttl: IsoDuration::from_secs(60),
    }
}

pub fn token(s: &JobState) -> u64 {
    s.lease.as_ref().map_or(0, |l| l.token)
}

pub fn page(s: &JobState, n: u64) -> PageCommit {
    let from = s.cycle.as_ref().map_or(0, |c| c.cursor);
    PageCommit {
        token: token(s),
        activity_id: s.cycle.as_ref().map_or("none".into(), |c| c.activity_id.clone()),
        from_cursor: from,
        to_cursor: from + n,
        counters: ExecutionCounters {
            count_imported: n,
            count_exports: n,
            count_exported: n,
            ..Default::default()
        },
        entry_count_delta: BTreeMap::from([("User".into(), n as i64)]),
        ..Default::default()
    }
}

pub fn completed(s: &JobState) -> Event {
    Event::CycleCompleted {
        token: token(s),
        activity_id: s.cycle.as_ref().map_or("none".into(), |c| c.activity_id.clone()),
        watermark: "w1".into(),
        deletes: None,
    }
}
