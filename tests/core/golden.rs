//! Golden JSON: the persisted state and the Graph view of four jobs, compared with the
//! files under `tests/golden/` and parsed back. `UPDATE_GOLDEN=1` rewrites the files.

use crate::fixture::*;
use serde::{Serialize, de::DeserializeOwned};
use std::fmt::Debug;
use syncjob::job::{self, Command, EntryKey, Event, JobState, SynchronizationJob};

fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, value: &T) {
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    let golden =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (UPDATE_GOLDEN=1 writes it)"));
    assert_eq!(json, golden, "{name} differs from its golden file");
    let back: T = serde_json::from_str(&golden).unwrap();
    assert_eq!(&back, value);
}

fn both(name: &str, s: &JobState) {
    check(&format!("{name}.state"), s);
    check::<SynchronizationJob>(&format!("{name}.graph"), &job::view(s));
}

#[test]
fn fresh_job() {
    both("fresh", &fresh());
}

#[test]
fn paused_mid_initial_cycle() {
    let s = running(fresh(), t0());
    let s = ok(&s, Event::PageCommitted(page(&s, 500)), mins(1)).state;
    let s = ok(&s, Command::Pause, mins(2)).state;
    both("paused-mid-initial", &s);
}

#[test]
fn quarantined_too_many_deletes() {
    let s = running(fresh(), t0());
    let mut p = page(&s, 600);
    p.staged_deletes = (0..600)
        .map(|i| EntryKey::new("User", format!("u{i:04}")))
        .collect();
    p.staged_deletes.truncate(3);
    let mut s = ok(&s, Event::PageCommitted(p), mins(1)).state;
    s.settings.policy.delete_threshold = 3;
    let s = ok(&s, completed(&s), mins(2)).state;
    both("quarantined-too-many-deletes", &s);
}

#[test]
fn failed_last_execution() {
    let s = running(fresh(), t0());
    let s = ok(&s, Event::PageCommitted(page(&s, 200)), mins(1)).state;
    let s = ok(
        &s,
        Event::CycleFailed {
            token: token(&s),
            activity_id: "a1".into(),
            error: job::SynchronizationError {
                code: "TargetUnavailable".into(),
                message: "the target answered 503".into(),
                tenant_actionable: false,
            },
            fatal: false,
        },
        mins(2),
    )
    .state;
    both("failed-last-execution", &s);
}
