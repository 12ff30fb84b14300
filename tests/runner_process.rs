//! Runners under real conditions: a pause freezes a job while runner threads stay busy
//! with others, and a runner process killed with SIGKILL at random points, restarted
//! each time, still syncs every entry exactly once.

use rand::{Rng, SeedableRng};
use std::process::{Command as Proc, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use syncjob::connector::generated::{self, Params};
use syncjob::job::{IsoDuration, JobState, SettingPair};
use syncjob::store::{Store, target};
use syncjob::{Engine, EngineOptions};

fn setting(name: &str, value: impl ToString) -> SettingPair {
    SettingPair {
        name: name.into(),
        value: value.to_string(),
    }
}

fn options(ttl_ms: u64) -> EngineOptions {
    EngineOptions {
        lease_ttl: IsoDuration::from_secs(ttl_ms.div_ceil(1000)),
        poll: Duration::from_millis(5),
        ..EngineOptions::default()
    }
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn checkpoint(e: &Engine, id: &str) -> (String, String) {
    let s = e.get("sp", id).unwrap().unwrap();
    let st = Store::open(e.path()).unwrap();
    (
        // The checkpoint, not the version: the runner's lease release bumps that.
        serde_json::to_string(&(&s.cycle, &s.escrows, &s.entry_counts)).unwrap(),
        target::digest(st.conn(), id).unwrap(),
    )
}

#[test]
fn a_pause_freezes_checkpoint_and_target_until_start_resumes_at_the_frozen_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let e = Arc::new(Engine::open_with(dir.path().join("p.db"), options(30_000)).unwrap());
    let entries = 120_000u64;
    let a = e
        .create(
            "sp",
            "generated",
            &[setting("entries", entries), setting("pageSize", 500)],
        )
        .unwrap();
    let others: Vec<JobState> = (0..3)
        .map(|i| {
            e.create(
                "sp",
                "generated",
                &[setting("entries", 150_000), setting("seed", i)],
            )
            .unwrap()
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let _ = e.start("sp", &a.id).unwrap();
    let handles = e.spawn_runners(2, stop.clone()).unwrap();
    wait_until("job A mid-cycle", Duration::from_secs(60), || {
        e.get("sp", &a.id)
            .unwrap()
            .unwrap()
            .cycle
            .is_some_and(|c| c.cursor >= 5_000)
    });
    for o in &others {
        let _ = e.start("sp", &o.id).unwrap();
    }
    let _ = e.pause("sp", &a.id).unwrap();
    let frozen = checkpoint(&e, &a.id);
    let frozen_cursor = e.get("sp", &a.id).unwrap().unwrap().cycle.unwrap().cursor;
    assert!(frozen_cursor < entries, "A must still be mid-cycle");
    // For over a second, with the runners busy on the other jobs, A stays frozen.
    let busy_before: u64 = others
        .iter()
        .map(|o| e.get("sp", &o.id).unwrap().unwrap().version)
        .sum();
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1_200) {
        assert_eq!(checkpoint(&e, &a.id), frozen, "A changed while paused");
        std::thread::sleep(Duration::from_millis(50));
    }
    let busy_after: u64 = others
        .iter()
        .map(|o| e.get("sp", &o.id).unwrap().unwrap().version)
        .sum();
    assert!(
        busy_after > busy_before + 10,
        "the runners were not busy with the other jobs"
    );

    let _ = e.start("sp", &a.id).unwrap();
    wait_until("job A's cycle to complete", Duration::from_secs(120), || {
        e.get("sp", &a.id).unwrap().unwrap().watermark.is_some()
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let s = e.get("sp", &a.id).unwrap().unwrap();
    let last = s.last_execution.unwrap();
    assert_eq!(last.counters.count_exported, entries);
    assert_eq!(last.counters.count_imported, entries);
    // The first page after the start began exactly at the frozen cursor.
    let log = e.transitions("sp", &a.id, 100_000).unwrap();
    let start_at = log
        .iter()
        .position(|r| r.input == "start" && r.code_before == "Paused")
        .unwrap();
    let first_page = log[..start_at]
        .iter()
        .rev()
        .find(|r| r.input.starts_with("pageCommitted("))
        .unwrap();
    assert!(
        first_page
            .input
            .starts_with(&format!("pageCommitted({frozen_cursor}..")),
        "resumed with {} instead of at {frozen_cursor}",
        first_page.input
    );
    let st = Store::open(e.path()).unwrap();
    assert_eq!(target::count_present(st.conn(), &a.id).unwrap(), entries);
    let h = e.metrics().pause_histogram();
    assert_eq!(h.count, 1, "the pause's latency was measured");
}

const CHILD_ENV: &str = "SYNCJOB_RUNNER_CHILD";
const ENTRIES: u64 = 100_000;

/// The child: one runner on the database until the job's first cycle completes.
#[test]
fn runner_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let e = Engine::open_with(&path, options(1_000)).unwrap();
    let mut r = e.runner(&format!("child-{}", std::process::id())).unwrap();
    let never = AtomicBool::new(false);
    loop {
        let jobs = Store::open(&path).unwrap().list("sp").unwrap();
        if jobs.iter().all(|j| j.watermark.is_some()) {
            return;
        }
        if r.step(&never).unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_runner_killed_at_random_points_syncs_every_entry_exactly_once() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let seed: u64 = std::env::var("SYNCJOB_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("runner kill test: seed {seed} (SYNCJOB_KILL_SEED replays)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let job = {
        let e = Engine::open(&db).unwrap();
        let j = e
            .create(
                "sp",
                "generated",
                &[setting("entries", ENTRIES), setting("pageSize", 500)],
            )
            .unwrap();
        let _ = e.start("sp", &j.id).unwrap();
        j
    };
    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        Proc::new(&exe)
            .args(["--exact", "runner_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Kill points by progress, not by time, so a fast machine cannot finish the job
    // before the kills: 24 cursor targets at least 3,000 entries apart; each life is
    // killed a random 0-3 ms after passing its target (inside or between pages).
    let mut targets: Vec<u64> = (0..24)
        .map(|i| 2_000 + i * 4_000 + rng.random_range(0..1_000))
        .collect();
    targets.sort();
    let reader = Store::open(&db).unwrap();
    let cursor = || {
        let s = reader.get(&job.id).unwrap().unwrap();
        match (&s.cycle, &s.watermark) {
            (Some(c), _) => c.cursor,
            (None, None) => 0,
            (None, Some(_)) => ENTRIES,
        }
    };
    let mut kills = 0;
    let mut cursors = vec![];
    for target in targets {
        if cursor() >= target {
            continue;
        }
        // Wait out the dead child's lease, so that each life does real work.
        let expires = reader.get(&job.id).unwrap().unwrap().lease.map(|l| l.expires);
        if let Some(t) = expires {
            let left = (t - chrono::Utc::now()).to_std().unwrap_or_default();
            std::thread::sleep(left + Duration::from_millis(20));
        }
        let mut child = spawn();
        let t = Instant::now();
        while cursor() < target && t.elapsed() < Duration::from_secs(30) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..3_000)));
        if child.try_wait().unwrap().is_some() {
            break; // it finished the cycle before this kill
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        cursors.push(cursor());
    }
    eprintln!("runner kill test: {kills} kills at cursors {cursors:?}");
    let mut last = spawn();
    let status = last.wait().unwrap();
    assert!(status.success());
    assert!(
        kills >= 20,
        "the job finished after only {kills} kills; make it bigger"
    );
    assert!(
        cursors.windows(2).all(|w| w[0] <= w[1]),
        "the cursor never moved back: {cursors:?}"
    );
    let st = Store::open(&db).unwrap();
    let s = st.get(&job.id).unwrap().unwrap();
    let exec = s.last_execution.clone().unwrap();
    assert_eq!(
        exec.counters.count_exported, ENTRIES,
        "no double counting, nothing skipped"
    );
    assert_eq!(exec.counters.count_imported, ENTRIES);
    assert_eq!(s.entry_counts["User"], ENTRIES as i64);
    let want = generated::state_at(&Params::of(&s), 0);
    assert!(
        target::present(st.conn(), &job.id).unwrap() == want,
        "the target equals the source"
    );
}
