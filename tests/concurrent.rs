//! Three processes issue commands against the same jobs in one database file. Every
//! command that reported a change is in the final version and in the audit log: none
//! is lost, none is applied twice.

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
const COMMANDS: usize = 150;

#[test]
fn concurrent_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let seed: u64 = std::env::var("SYNCJOB_CONCURRENT_SEED").unwrap().parse().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut st = Store::open(&path).unwrap();
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
            Ok(c) if c.changed => "changed",
            Ok(_) => "unchanged",
            Err(StoreError::Refused(_)) => "refused",
            Err(e) => panic!("{e}"),
        };
        writeln!(out, "RESULT {j} {outcome}").unwrap();
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
    let mut changed: BTreeMap<usize, u64> = BTreeMap::new();
    let mut results = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        for line in BufReader::new(&out.stdout[..]).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("RESULT ") {
                results += 1;
                let mut parts = rest.split(' ');
                let j: usize = parts.next().unwrap().parse().unwrap();
                if parts.next() == Some("changed") {
                    *changed.entry(j).or_default() += 1;
                }
            }
        }
    }
    assert_eq!(results, 3 * COMMANDS, "every child reported every command");
    let st = Store::open(&db).unwrap();
    for n in 0..JOBS {
        let id = new_job(n, at(0)).id;
        let s = st.get(&id).unwrap().unwrap();
        let c = changed.get(&n).copied().unwrap_or(0);
        assert_eq!(s.version, 1 + c, "job {n}: version = 1 + commits that changed it");
        assert_eq!(
            st.transitions(&id, 10_000).unwrap().len() as u64,
            1 + c,
            "one audit row per commit"
        );
    }
}
