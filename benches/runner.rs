//! End-to-end cycles (criterion): a 100,000-entry initial cycle of `generated` into the
//! same-database target (pageSize 500), and an incremental cycle of 1,000 changes on a
//! synced 100,000-entry job.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;
use syncjob::job::{ResetScope, SettingPair};
use syncjob::{Engine, EngineOptions};

fn setting(name: &str, value: impl ToString) -> SettingPair {
    SettingPair {
        name: name.into(),
        value: value.to_string(),
    }
}

fn cycles(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open_with(dir.path().join("bench.db"), EngineOptions::default()).unwrap();
    let job = e
        .create(
            "sp",
            "generated",
            &[
                setting("entries", 100_000),
                setting("pageSize", 500),
                setting("changesPerCycle", 1_000),
            ],
        )
        .unwrap();
    let mut g = c.benchmark_group("cycle");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("initial_100k_entries", |b| {
        b.iter_batched(
            || {
                let j = e
                    .create("sp", "generated", &[setting("entries", 100_000)])
                    .unwrap();
                let _ = e.start("sp", &j.id).unwrap();
                j
            },
            |_| e.run_until_idle().unwrap(),
            criterion::BatchSize::PerIteration,
        )
    });
    // Bring the incremental job to its first watermark.
    let _ = e.start("sp", &job.id).unwrap();
    e.run_until_idle().unwrap();
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("incremental_1000_changes_on_100k", |b| {
        b.iter(|| {
            // A restart without a scope makes the next (incremental) cycle due now.
            let _ = e.restart("sp", &job.id, ResetScope::NONE).unwrap();
            e.run_until_idle().unwrap();
        })
    });
    g.finish();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert!(
        s.watermark.as_deref().is_some_and(|w| w != "0"),
        "incremental cycles ran"
    );
}

criterion_group!(benches, cycles);
criterion_main!(benches);
