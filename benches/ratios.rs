//! Ratios measured in one run, interleaved so both sides see the same machine and
//! disk: in each round a batch of engine work and a batch of its raw rusqlite baseline
//! run back to back (ABBA order, so neither always goes first), and the median of the
//! per-round ratios is reported: a slow spell of the machine hits both sides of a round
//! and cancels out. `cargo bench --bench ratios [-- normal|full|commits|cycle|pause|memory]`.

#[path = "common/mod.rs"]
mod common;

use common::*;
use rusqlite::params;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use syncjob::connector::generated::{self, Params};
use syncjob::job::SettingPair;
use syncjob::store::{Durability, Store};
use syncjob::{Engine, EngineOptions};

fn setting(name: &str, value: impl ToString) -> SettingPair {
    SettingPair {
        name: name.into(),
        value: value.to_string(),
    }
}

/// One 100,000-entry initial cycle through the engine, in a fresh job.
fn engine_initial(e: &Engine, entries: u64) -> Duration {
    let j = e
        .create("sp", "generated", &[setting("entries", entries)])
        .unwrap();
    let _ = e.start("sp", &j.id).unwrap();
    let t = Instant::now();
    e.run_until_idle().unwrap();
    t.elapsed()
}

/// The same rows bulk-inserted with raw rusqlite in one transaction.
fn raw_bulk(path: &std::path::Path, n: u64, round: usize) -> Duration {
    let mut c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "FULL").unwrap();
    let p = Params {
        seed: 1,
        entries: n,
        changes_per_cycle: 0,
    };
    let now = "2026-12-03T17:00:00Z";
    let job = format!("raw-{round}");
    let t = Instant::now();
    let tx = c.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO target_entries (job_id, object_type, entry_id, attributes, deleted, updated_at)
                 VALUES (?1, 'User', ?2, ?3, 0, ?4)",
            )
            .unwrap();
        for i in 0..n {
            stmt.execute(params![
                job,
                generated::key(i).id,
                generated::attributes(&p, i, 0),
                now
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    t.elapsed()
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Pause latency: pauses a running 1,000,000-entry cycle again and again and reads the
/// runner's measurement (pause commit to the runner stopping work on the job).
fn pause_latency(dir: &std::path::Path, entries: u64, pauses: usize) -> (Duration, Duration, usize) {
    let e = Engine::open_with(dir.join("pause.db"), EngineOptions::default()).unwrap();
    let j = e
        .create("sp", "generated", &[setting("entries", entries)])
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let handles = e.spawn_runners(1, stop.clone()).unwrap();
    let _ = e.start("sp", &j.id).unwrap();
    for i in 0..pauses as u64 {
        std::thread::sleep(Duration::from_millis(15 + (i * 7) % 40));
        let _ = e.pause("sp", &j.id).unwrap();
        let t = Instant::now();
        while e.metrics().pause_histogram().count <= i && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = e.start("sp", &j.id).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let mut samples = e.metrics().pause_histogram().samples;
    let n = samples.len();
    (pct(&mut samples, 0.5), pct(&mut samples, 0.99), n)
}

/// Peak resident memory of a child process that syncs `n` entries.
fn peak_memory(n: u64) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--memory-child", &n.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn memory_child(n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path().join("mem.db")).unwrap();
    let secs = engine_initial(&e, n).as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    println!("{} ({:.1} s)", hwm.trim_start_matches("VmHWM:").trim(), secs);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Per-call times of `a` and `b` measured in alternating batches, and the ratio.
struct Paired {
    a: Duration,
    b: Duration,
    /// Median over rounds of (b's batch time / a's batch time): each round's two
    /// batches ran back to back, so a slow spell of the machine cancels out.
    b_over_a: f64,
}

/// Runs `rounds` rounds of one batch of `a` and one of `b`, in the order ABBA, BAAB,
/// … so neither side always follows the other; medians per call and of the ratios.
fn interleave(rounds: usize, batch: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> Paired {
    let timed = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        t.elapsed() / batch as u32
    };
    let (mut ta, mut tb, mut ratios) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = timed(&mut a);
            (x, timed(&mut b))
        } else {
            let y = timed(&mut b);
            (timed(&mut a), y)
        };
        ratios.push(y.as_secs_f64() / x.as_secs_f64());
        ta.push(x);
        tb.push(y);
    }
    ratios.sort_by(f64::total_cmp);
    Paired {
        a: median(ta),
        b: median(tb),
        b_over_a: ratios[ratios.len() / 2],
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes bench binaries
    }
    // `cargo bench -- --test` (CI) runs every section once, small, so none rots.
    let smoke = args.iter().any(|a| a == "--test");
    if let Some(i) = args.iter().position(|a| a == "--memory-child") {
        memory_child(args[i + 1].parse().unwrap());
        return;
    }
    // `cargo bench --bench ratios -- commits pause` runs only the sections whose name
    // contains one of the filters (commits-full, commits-normal, cycle, pause, memory).
    let filters: Vec<&str> = args[1..]
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let run = |section: &str| filters.is_empty() || filters.iter().any(|f| section.contains(f));
    let dir = tempfile::tempdir().unwrap();
    if smoke {
        println!("smoke run (--test): each selected section once, too small to measure anything");
    }
    println!("| measurement | engine | raw rusqlite | engine/raw throughput |");
    println!("|---|---|---|---|");
    let scale = |full: usize, small: usize| if smoke { small } else { full };
    if run("commits-full") {
        commit_ratio(dir.path(), "FULL", Durability::Full, scale(41, 2));
    }
    if run("commits-normal") {
        commit_ratio(dir.path(), "NORMAL", Durability::Normal, scale(201, 2));
    }
    if run("cycle") {
        cycle_ratio(dir.path(), scale(100_000, 1_000) as u64, scale(7, 2));
    }
    if run("pause") {
        let (p50, p99, n) = pause_latency(dir.path(), scale(1_000_000, 100_000) as u64, scale(60, 3));
        println!(
            "\npause latency while a cycle runs ({n} pauses): median {:.2} ms, p99 {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    if run("memory") {
        println!("\npeak memory (VmHWM) of a process syncing N entries:");
        let sizes: &[u64] = if smoke {
            &[1_000]
        } else {
            &[10_000, 100_000, 1_000_000]
        };
        for &n in sizes {
            println!("- {n} entries: {}", peak_memory(n));
        }
    }
}

/// Commits that change a job against the raw baseline, interleaved.
fn commit_ratio(dir: &std::path::Path, name: &str, d: Durability, rounds: usize) {
    let mut engine = EngineCommits::new(dir, &format!("e-{name}.db"), d);
    let mut raw = RawCommits::new(dir, &format!("r-{name}.db"), d);
    let p = interleave(rounds, 100, || engine.commit(), || raw.commit());
    println!(
        "| command commit, synchronous={name} | {:.1} µs | {:.1} µs | {:.2} |",
        p.a.as_secs_f64() * 1e6,
        p.b.as_secs_f64() * 1e6,
        p.b_over_a
    );
}

/// An initial cycle against bulk-inserting the same rows, interleaved.
fn cycle_ratio(dir: &std::path::Path, entries: u64, rounds: usize) {
    let e = Engine::open(dir.join("cycle.db")).unwrap();
    let raw_db = dir.join("bulk.db");
    drop(Store::open(&raw_db).unwrap());
    let mut round = 0;
    let p = interleave(
        rounds,
        1,
        || {
            engine_initial(&e, entries);
        },
        || {
            round += 1;
            raw_bulk(&raw_db, entries, round);
        },
    );
    println!(
        "| initial cycle of {entries} entries vs bulk insert of the same rows | {:.0} entries/s | {:.0} rows/s | {:.2} |",
        entries as f64 / p.a.as_secs_f64(),
        entries as f64 / p.b.as_secs_f64(),
        p.b_over_a
    );
}
