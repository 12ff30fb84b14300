//! Process-wide counters for `/metrics` and the benches: commands by kind and outcome,
//! page commits, entries exported, and the pause latency histogram.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the pause latency buckets, in seconds.
pub const PAUSE_BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    pub page_commits: AtomicU64,
    pub entries_exported: AtomicU64,
    pub cycles_completed: AtomicU64,
    pub cycles_failed: AtomicU64,
    commands: Mutex<BTreeMap<(String, String), u64>>,
    pause: Mutex<PauseHistogram>,
}

#[derive(Default, Clone)]
pub struct PauseHistogram {
    pub buckets: [u64; PAUSE_BUCKETS.len()],
    pub count: u64,
    pub sum_secs: f64,
    pub samples: Vec<Duration>,
}

impl Metrics {
    pub fn command(&self, kind: &str, outcome: &str) {
        let mut m = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((kind.to_string(), outcome.to_string())).or_default() += 1;
    }

    pub fn commands(&self) -> BTreeMap<(String, String), u64> {
        self.commands.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records the time from a pause's commit to a runner stopping work on that job.
    pub fn pause_latency(&self, d: Duration) {
        let mut h = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        for (i, b) in PAUSE_BUCKETS.iter().enumerate() {
            if d.as_secs_f64() <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum_secs += d.as_secs_f64();
        if h.samples.len() < 100_000 {
            h.samples.push(d);
        }
    }

    pub fn pause_histogram(&self) -> PauseHistogram {
        self.pause.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
