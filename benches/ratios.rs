//! Ratios measured in one run, interleaved so both sides see the same machine and
//! disk: batches of engine work and of its raw rusqlite baseline alternate, and the
//! ratio of median batch times is reported. `cargo bench --bench ratios`.

#[path = "common/mod.rs"]
mod common;

use common::*;
use std::time::{Duration, Instant};
use syncjob::store::Durability;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Alternates `rounds` batches of `a` and `b`; returns the median per-call times.
fn interleave(rounds: usize, batch: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let (mut ta, mut tb) = (vec![], vec![]);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            a();
        }
        ta.push(t.elapsed() / batch as u32);
        let t = Instant::now();
        for _ in 0..batch {
            b();
        }
        tb.push(t.elapsed() / batch as u32);
    }
    (median(ta), median(tb))
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` and `cargo bench -- --list` probe bench binaries
    }
    let dir = tempfile::tempdir().unwrap();
    println!("| measurement | engine | raw rusqlite | engine/raw throughput |");
    println!("|---|---|---|---|");
    for (name, d) in [("FULL", Durability::Full), ("NORMAL", Durability::Normal)] {
        let mut engine = EngineCommits::new(dir.path(), &format!("e-{name}.db"), d);
        let mut raw = RawCommits::new(dir.path(), &format!("r-{name}.db"), d);
        let (e, r) = interleave(21, 100, || engine.commit(), || raw.commit());
        println!(
            "| command commit, synchronous={name} | {:.1} µs | {:.1} µs | {:.2} |",
            e.as_secs_f64() * 1e6,
            r.as_secs_f64() * 1e6,
            r.as_secs_f64() / e.as_secs_f64()
        );
    }
}
