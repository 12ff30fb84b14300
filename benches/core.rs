//! One transition of the pure core: pause, start, page committed. Target: < 1 µs each.

use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use syncjob::job::{
    self, Command, Event, ExecutionCounters, Input, IsoDuration, JobState, PageCommit, Settings, StatusCode,
    table::sample, time::epoch_for_tests,
};

fn running() -> JobState {
    let now = epoch_for_tests();
    let mut s = JobState::new(
        "generated.00000000000000000000000000000abc",
        "sp",
        "generated",
        Settings::defaults(),
        now,
    );
    for input in [
        Input::Command(Command::Start),
        Input::Event(Event::ClaimLease {
            holder: "r".into(),
            ttl: IsoDuration::from_secs(60),
        }),
    ] {
        s = job::apply(&s, &input, now).unwrap().state;
    }
    let began = Event::CycleBegan {
        token: 1,
        activity_id: "a1".into(),
        start_cursor: 0,
        total: Some(100_000),
    };
    job::apply(&s, &began.into(), now).unwrap().state
}

fn transitions(c: &mut Criterion) {
    let now = epoch_for_tests();
    let active = sample(StatusCode::Active, now);
    let paused = sample(StatusCode::Paused, now);
    let pause = Input::Command(Command::Pause);
    let start = Input::Command(Command::Start);
    c.bench_function("transition/pause", |b| {
        b.iter(|| job::apply(black_box(&active), black_box(&pause), now))
    });
    c.bench_function("transition/start", |b| {
        b.iter(|| job::apply(black_box(&paused), black_box(&start), now))
    });
    let s = running();
    let page = Input::Event(Event::PageCommitted(PageCommit {
        token: 1,
        activity_id: "a1".into(),
        from_cursor: 0,
        to_cursor: 500,
        counters: ExecutionCounters {
            count_imported: 500,
            count_exports: 500,
            count_exported: 500,
            ..Default::default()
        },
        entry_count_delta: BTreeMap::from([("User".into(), 500)]),
        ..Default::default()
    }));
    c.bench_function("transition/page_committed", |b| {
        b.iter(|| job::apply(black_box(&s), black_box(&page), now))
    });
}

criterion_group!(benches, transitions);
criterion_main!(benches);
