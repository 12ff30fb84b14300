//! Three processes issue commands against the same jobs in one database file, taking
//! turns (so each one's state cache goes stale). Every command that reported a change
//! reported its own version, and the final version and the audit log count them all:
//! none is lost, none is applied twice.

mod support;

use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Proc, Stdio};
use support::*;
use syncjob::job::{Command, ResetScope};
use syncjob::store::{Store, StoreError};

const CHILD_ENV: &str = "SYNCJOB_CONCURRENT_CHILD";
const JOBS: usize = 3;
const COMMANDS: usize = 300;

#[test]
fn concurrent_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let seed: u64 = std::env::var("SYNCJOB_CONCURRENT_SEED").unwrap().parse().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut st = Store::open(&path).unwrap();
    // Wait for the parent's gate, so that the three children run their commands at the
    // same time rather than one after another as they happen to start.
    let gate = std::path::PathBuf::from(format!("{path}.go"));
    while !gate.exists() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut out = std::io::stdout().lock();
    // libtest has written "test name ... " without a newline: start a fresh line.
    writeln!(out).unwrap();
    for i in 0..COMMANDS {
        let j = rng.random_range(0..JOBS);
        let command = match rng.random_range(0..4) {
            0 => Command::Start,
            1 => Command::Pause,
            2 => Command::Restart(ResetScope::NONE),
            _ => Command::Restart(ResetScope::PORTAL_DEFAULT),
        };
        let id = new_job(j, at(0)).id;
        let outcome = match st.command(&id, None, command, at(i as u64)) {
            Ok(c) if c.changed => format!("changed {}", c.state.version),
            Ok(_) => "unchanged".into(),
            Err(StoreError::Refused(_)) => "refused".into(),
            Err(e) => panic!("{e}"),
        };
        writeln!(out, "RESULT {j} {outcome}").unwrap();
        // A pause between commands, as between an operator's requests: without it the
        // child holding the write lock takes it again at once and the others, asleep in
        // SQLite's busy handler, would run their commands in a few long turns instead of
        // interleaved with the others' (and their state caches would go stale rarely).
        std::thread::sleep(std::time::Duration::from_micros(rng.random_range(0..2000)));
    }
    out.flush().unwrap();
}

#[test]
fn three_processes_lose_no_acknowledged_command() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    {
        let mut st = Store::open(&db).unwrap();
        for n in 0..JOBS {
            st.create(&new_job(n, at(0)), at(0)).unwrap();
        }
    }
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|k| {
            Proc::new(&exe)
                .args(["--exact", "concurrent_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, &db)
                .env("SYNCJOB_CONCURRENT_SEED", (1000 + k).to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Every child has opened its store (or is about to): let them all go at once.
    std::fs::write(format!("{}.go", db.display()), b"").unwrap();
    // For each job, the child that committed each version it reported.
    let mut writers: BTreeMap<usize, BTreeMap<u64, usize>> = BTreeMap::new();
    let mut results = 0;
    for (k, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        for line in BufReader::new(&out.stdout[..]).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("RESULT ") {
                results += 1;
                let mut parts = rest.split(' ');
                let j: usize = parts.next().unwrap().parse().unwrap();
                if parts.next() == Some("changed") {
                    let version: u64 = parts.next().unwrap().parse().unwrap();
                    let earlier = writers.entry(j).or_default().insert(version, k);
                    assert_eq!(earlier, None, "job {j}: version {version} reported twice");
                }
            }
        }
    }
    assert_eq!(results, 3 * COMMANDS, "every child reported every command");
    let st = Store::open(&db).unwrap();
    let mut handovers = 0;
    for n in 0..JOBS {
        let id = new_job(n, at(0)).id;
        let s = st.get(&id).unwrap().unwrap();
        let versions = writers.remove(&n).unwrap_or_default();
        let c = versions.len() as u64;
        assert_eq!(s.version, 1 + c, "job {n}: version = 1 + commits that changed it");
        assert!(
            versions.keys().copied().eq(2..=1 + c),
            "job {n}: the changes reported are versions 2..={}, each once",
            1 + c
        );
        handovers += versions
            .values()
            .zip(versions.values().skip(1))
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            st.transitions(&id, 10_000).unwrap().len() as u64,
            1 + c,
            "one audit row per commit"
        );
    }
    // The children took turns within each job's history (run one after another they
    // would hand over at most twice a job): their state caches went stale mid-run.
    assert!(
        handovers > 2 * JOBS,
        "the children did not interleave: {handovers} handovers"
    );
}
