//! Crash test (contract section 5.4): this test binary re-executes itself as a child
//! that applies a seeded sequence of commands and page commits to a file database and
//! prints `ACK i` after each. The parent SIGKILLs it after a seeded random delay,
//! reopens the file, runs `PRAGMA integrity_check`, and checks that every job equals the
//! pure core's state after the acknowledged prefix, or after that prefix plus the one
//! operation in flight; then it starts a new child from there. Children alternate
//! between FULL and NORMAL page durability. `SYNCJOB_CRASH_KILLS`
//! raises the number of kills (default 200); `SYNCJOB_CRASH_SEED` replays a seed.

mod support;

use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Proc, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use syncjob::job::{self, EntryKey, Event, Input, JobState};
use syncjob::store::{Durability, Options, Store, StoreError, target};

const JOBS: usize = 3;
const CHILD_ENV: &str = "SYNCJOB_CRASH_CHILD";

/// Operation `i` acts on job `i % JOBS`.
fn job_of(i: u64) -> usize {
    (i % JOBS as u64) as usize
}

/// The reference: the pure core's states after each operation, and the target rows
/// that accepted pages wrote.
#[derive(Clone, PartialEq)]
struct Snapshot {
    jobs: Vec<JobState>,
    rows: BTreeMap<usize, BTreeSet<EntryKey>>,
}

fn step(seed: u64, i: u64, snap: &Snapshot, accepted: &mut BTreeMap<&'static str, u64>) -> Snapshot {
    let j = job_of(i);
    let mut rng = rng_for(seed, i);
    let input = gen_input(&mut rng, &snap.jobs[j]);
    let mut next = snap.clone();
    if let Ok(t) = job::apply(&snap.jobs[j], &input, at(i)) {
        let kind = match &input {
            Input::Command(_) => "command",
            Input::Event(Event::PageCommitted(p)) => {
                let rows = page_rows(p);
                if !rows.is_empty() {
                    next.rows.entry(j).or_default().extend(rows);
                }
                "page"
            }
            Input::Event(Event::CycleCompleted { .. }) => "completed",
            Input::Event(_) => "event",
        };
        *accepted.entry(kind).or_default() += 1;
        next.jobs[j] = t.state;
    }
    next
}

/// The child: applies operations `start..` until killed.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let seed: u64 = std::env::var("SYNCJOB_CRASH_CHILD_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let start: u64 = std::env::var("SYNCJOB_CRASH_CHILD_START")
        .unwrap()
        .parse()
        .unwrap();
    // Every other child commits its runner events at NORMAL: kill -9 keeps what reached
    // the OS, so the promise is the same under either page durability.
    let page_durability = match std::env::var("SYNCJOB_CRASH_CHILD_DURABILITY").as_deref() {
        Ok("normal") => Durability::Normal,
        _ => Durability::Full,
    };
    let options = Options {
        page_durability,
        ..Options::default()
    };
    let mut st = Store::open_with(&path, options).unwrap();
    let mut out = std::io::stdout().lock();
    // libtest has written "test name ... " without a newline: start a fresh line.
    writeln!(out).unwrap();
    if start == 0 {
        for n in 0..JOBS {
            st.create(&new_job(n, at(0)), at(0)).unwrap();
        }
        writeln!(out, "ACK 0").unwrap();
        out.flush().unwrap();
    }
    let mut jobs: Vec<JobState> = (0..JOBS)
        .map(|n| st.get(&new_job(n, at(0)).id).unwrap().unwrap())
        .collect();
    for i in start.max(1).. {
        let j = job_of(i);
        let mut rng = rng_for(seed, i);
        let input = gen_input(&mut rng, &jobs[j]);
        match apply_input(&mut st, &jobs[j].id.clone(), &input, at(i)) {
            Ok(c) => jobs[j] = c.state,
            Err(StoreError::Refused(_)) => {}
            Err(e) => panic!("operation {i}: {e}"),
        }
        writeln!(out, "ACK {i}").unwrap();
        out.flush().unwrap();
    }
}

fn run_crash_test() {
    let seed: u64 = std::env::var("SYNCJOB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let kills: u64 = std::env::var("SYNCJOB_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    eprintln!("crash test: seed {seed} (SYNCJOB_CRASH_SEED={seed} replays), {kills} kills");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let exe = std::env::current_exe().unwrap();
    let mut delay_rng = rand::rngs::StdRng::seed_from_u64(seed);

    // states[k - base] = reference after operations 0..=k (operation 0 creates the
    // jobs). Only the operations since the last state the file was seen to hold are
    // kept, so memory stays flat however many kills a soak asks for.
    let first = Snapshot {
        jobs: (0..JOBS).map(|n| new_job(n, at(0))).collect(),
        rows: BTreeMap::new(),
    };
    let mut states: Vec<Snapshot> = vec![first];
    let mut base = 0u64;
    let mut accepted = BTreeMap::new();
    let mut start = 0u64;
    let mut created = false;
    for kill in 0..kills {
        let mut child = Proc::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &db)
            .env("SYNCJOB_CRASH_CHILD_SEED", seed.to_string())
            .env("SYNCJOB_CRASH_CHILD_START", start.to_string())
            .env(
                "SYNCJOB_CRASH_CHILD_DURABILITY",
                if kill % 2 == 1 { "normal" } else { "full" },
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let last_ack = Arc::new(Mutex::new(None::<u64>));
        let reader = {
            let last_ack = last_ack.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(n) = line.strip_prefix("ACK ") {
                        *last_ack.lock().unwrap() = n.trim().parse().ok();
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(delay_rng.random_range(2..60)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        reader.join().unwrap();
        assert!(!status.success(), "child {kill} ended by itself: {status}");
        let acked = *last_ack.lock().unwrap();
        if !created {
            if acked.is_none() {
                // Killed before the jobs were made: the file may hold them or not.
                if db.exists() && Store::open(&db).is_ok_and(|s| s.list_all().is_ok_and(|l| l.len() == JOBS))
                {
                    created = true;
                    start = 1;
                } else {
                    let _ = std::fs::remove_file(&db);
                    let _ = std::fs::remove_file(dir.path().join("crash.db-wal"));
                    let _ = std::fs::remove_file(dir.path().join("crash.db-shm"));
                }
                continue;
            }
            created = true;
        }
        let acked = acked.unwrap_or(start.saturating_sub(1));
        while base + (states.len() as u64) <= acked + 1 {
            let i = base + states.len() as u64;
            let next = step(seed, i, &states[states.len() - 1], &mut accepted);
            states.push(next);
        }
        let st = Store::open(&db).unwrap();
        let integrity: String = st
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "kill {kill} (seed {seed})");
        let stored = Snapshot {
            jobs: (0..JOBS)
                .map(|n| st.get(&new_job(n, at(0)).id).unwrap().unwrap())
                .collect(),
            rows: (0..JOBS)
                .filter_map(|n| {
                    let id = new_job(n, at(0)).id;
                    let rows: BTreeSet<EntryKey> = target::present(st.conn(), &id)
                        .unwrap()
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect();
                    (!rows.is_empty()).then_some((n, rows))
                })
                .collect(),
        };
        // A child acknowledges from `start` on, and the file held operation start - 1.
        let a = (acked - base) as usize;
        start = if stored == states[a + 1] {
            acked + 2
        } else {
            if stored != states[a] {
                for n in 0..JOBS {
                    for (label, r) in [("after", &states[a]), ("after+1", &states[a + 1])] {
                        if stored.jobs[n] != r.jobs[n] {
                            let x = serde_json::to_value(&stored.jobs[n]).unwrap();
                            let y = serde_json::to_value(&r.jobs[n]).unwrap();
                            for (k, v) in x.as_object().unwrap() {
                                if y.get(k) != Some(v) {
                                    eprintln!("job {n} vs {label}: {k}: stored {v} ref {:?}", y.get(k));
                                }
                            }
                        }
                    }
                }
                for (label, r) in [("after", &states[a]), ("after+1", &states[a + 1])] {
                    for n in 0..JOBS {
                        let x = stored.rows.get(&n).cloned().unwrap_or_default();
                        let y = r.rows.get(&n).cloned().unwrap_or_default();
                        if x != y {
                            eprintln!(
                                "rows of job {n} differ from {label}: stored-only {:?} ref-only {:?}",
                                x.difference(&y).collect::<Vec<_>>(),
                                y.difference(&x).collect::<Vec<_>>()
                            );
                        }
                    }
                }
            }
            assert!(
                stored == states[a],
                "kill {kill} (seed {seed}): the database holds neither the state after operation {acked} nor after {}",
                acked + 1
            );
            acked + 1
        };
        // Keep the reference after operation start - 1 (what the file holds) and nothing older.
        states.truncate((start - base) as usize);
        states.drain(..states.len() - 1);
        base = start - 1;
    }
    eprintln!("crash test: reached operation {start}; accepted by kind: {accepted:?}");
    assert!(
        accepted.get("page").copied().unwrap_or(0) > 0,
        "no page was ever committed"
    );
    assert!(
        accepted.get("completed").copied().unwrap_or(0) > 0,
        "no cycle ever completed"
    );
}

#[test]
fn kill_9_at_random_points_loses_nothing_acknowledged() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    run_crash_test();
}
