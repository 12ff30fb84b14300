//! Store throughput, each measured against a raw rusqlite baseline in the same run:
//! - command commits (engine: read, transition, guarded UPDATE + audit INSERT) vs the
//!   minimal equivalent writes (one guarded UPDATE + one INSERT per transaction), with
//!   `synchronous=FULL` and `NORMAL`;
//! - page commits of 500 target rows;
//! - claiming due jobs among 100,000.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::time::Duration;
use syncjob::job::{
    Command, EntryKey, Event, ExecutionCounters, IsoDuration, PageCommit, time::epoch_for_tests,
};
use syncjob::store::{Durability, PageHeader, target};

#[path = "common/mod.rs"]
mod common;
use common::*;

fn commands(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("command_commit");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(4));
    for (sync, d) in [("FULL", Durability::Full), ("NORMAL", Durability::Normal)] {
        let mut engine = EngineCommits::new(dir.path(), &format!("engine-{sync}.db"), d);
        g.bench_function(BenchmarkId::new("engine", sync), |b| b.iter(|| engine.commit()));
        let mut raw = RawCommits::new(dir.path(), &format!("raw-{sync}.db"), d);
        g.bench_function(BenchmarkId::new("raw_rusqlite", sync), |b| {
            b.iter(|| raw.commit())
        });
    }
    g.finish();
}

fn pages(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("page_commit_500_rows");
    g.throughput(Throughput::Elements(500));
    g.measurement_time(Duration::from_secs(5));
    for (sync, d) in [("FULL", Durability::Full), ("NORMAL", Durability::Normal)] {
        let mut st = open(dir.path(), &format!("pages-{sync}.db"), d);
        let s = job(1);
        let now = epoch_for_tests();
        st.create(&s, now).unwrap();
        let _ = st.command(&s.id, None, Command::Start, now).unwrap();
        let token = st
            .claim_due("bench", 1, IsoDuration::from_days(30), now)
            .unwrap()
            .remove(0)
            .token;
        let _ = st
            .event(
                &s.id,
                Event::CycleBegan {
                    token,
                    activity_id: "a".into(),
                    start_cursor: 0,
                    total: None,
                },
                now,
            )
            .unwrap();
        let mut cursor = 0u64;
        let attrs = r#"{"displayName":"User Name","mail":"user@example.com","accountEnabled":true}"#;
        g.bench_function(sync, |b| {
            b.iter(|| {
                let header = PageHeader {
                    token,
                    activity_id: "a".into(),
                    from_cursor: cursor,
                };
                let _ = st
                    .page_commit(&s.id, &header, now, |tx, _| {
                        let mut created = 0;
                        for i in cursor..cursor + 500 {
                            created += target::upsert(
                                tx,
                                &s.id,
                                &EntryKey::new("User", format!("u{i:08}")),
                                attrs,
                                now,
                            )? as i64;
                        }
                        Ok(PageCommit {
                            token,
                            activity_id: "a".into(),
                            from_cursor: cursor,
                            to_cursor: cursor + 500,
                            counters: ExecutionCounters {
                                count_imported: 500,
                                count_exports: 500,
                                count_exported: 500,
                                ..Default::default()
                            },
                            entry_count_delta: BTreeMap::from([("User".into(), created)]),
                            ..Default::default()
                        })
                    })
                    .unwrap();
                cursor += 500;
            })
        });
    }
    g.finish();
}

fn claims(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut st = open(dir.path(), "claims.db", Durability::Normal);
    let now = epoch_for_tests();
    // 100,000 jobs, inserted in bulk through the store's own create path in one go is
    // slow (one FULL commit each), so the rows are copied from one created job.
    let s = job(0);
    st.create(&s, now).unwrap();
    let _ = st.command(&s.id, None, Command::Start, now).unwrap();
    st.conn()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
             INSERT INTO jobs (id, service_principal_id, template_id, version, code, due_at_ms,
                               lease_holder, lease_expires_ms, created_at, state, settings)
             SELECT 'x' || i, service_principal_id, template_id, version, code,
                    CASE WHEN i % 100 = 0 THEN due_at_ms ELSE due_at_ms + 86400000 END,
                    NULL, NULL, created_at, replace(state, id, 'x' || i), settings
             FROM jobs, n WHERE id = (SELECT id FROM jobs LIMIT 1);",
        )
        .unwrap();
    let mut g = c.benchmark_group("claim_due_among_100k");
    g.measurement_time(Duration::from_secs(4));
    let mut tick = 0i64;
    g.bench_function("claim_10_then_release", |b| {
        b.iter(|| {
            tick += 1;
            let t = now + chrono::TimeDelta::milliseconds(tick);
            let got = st.claim_due("bench", 10, IsoDuration::from_mins(10), t).unwrap();
            assert_eq!(got.len(), 10);
            for c in got {
                let _ = st.release(&c.state.id, c.token, t).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, commands, pages, claims);
criterion_main!(benches);
