//! Runners on real databases: cycles sync the target to the source; thresholds, fatal
//! errors and quarantine behave as contract section 4 says.

use chrono::TimeDelta;
use std::sync::Arc;
use syncjob::connector::generated::{self, Params};
use syncjob::job::{QuarantineReason, SettingPair, StatusCode, status_code, time::epoch_for_tests};
use syncjob::runner::ManualClock;
use syncjob::store::target;
use syncjob::{Engine, EngineOptions};

fn setting(name: &str, value: &str) -> SettingPair {
    SettingPair {
        name: name.into(),
        value: value.into(),
    }
}

fn engine(dir: &tempfile::TempDir) -> (Engine, ManualClock) {
    let clock = ManualClock::new(epoch_for_tests());
    let e = Engine::open_with(
        dir.path().join("jobs.db"),
        EngineOptions {
            clock: Arc::new(clock.clone()),
            ..EngineOptions::default()
        },
    )
    .unwrap();
    (e, clock)
}

fn target_rows(e: &Engine, id: &str) -> Vec<(syncjob::job::EntryKey, String)> {
    let st = syncjob::store::Store::open(e.path()).unwrap();
    target::present(st.conn(), id).unwrap()
}

#[test]
fn initial_and_incremental_cycles_make_the_target_equal_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(&dir);
    let job = e
        .create(
            "sp",
            "generated",
            &[
                setting("entries", "2000"),
                setting("changesPerCycle", "300"),
                setting("pageSize", "128"),
            ],
        )
        .unwrap();
    let p = Params::of(&job);
    let _ = e.start("sp", &job.id).unwrap();
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert_eq!(status_code(&s), StatusCode::Active);
    assert_eq!(s.watermark.as_deref(), Some("0"));
    let last = s.last_execution.clone().unwrap();
    assert_eq!(last.counters.count_exported, 2000);
    assert_eq!(last.counters.count_imported, 2000);
    assert_eq!(s.entry_counts["User"], 2000);
    assert_eq!(target_rows(&e, &job.id), generated::state_at(&p, 0));
    assert!(s.steady_state_first_achieved.is_some());

    // Nothing is due before the interval has passed.
    assert_eq!(e.run_until_idle().unwrap(), 0);
    clock.advance(TimeDelta::minutes(41));
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert_eq!(s.watermark.as_deref(), Some("1"));
    let want = generated::state_at(&p, 1);
    assert_eq!(target_rows(&e, &job.id), want);
    assert_eq!(s.entry_counts["User"], want.len() as i64);
    assert_eq!(s.last_execution.unwrap().counters.count_imported_deltas, 300);
}

fn jsonl(dir: &tempfile::TempDir, name: &str, lines: impl IntoIterator<Item = String>) -> String {
    let path = dir.path().join(name);
    let mut text = String::new();
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn upsert(i: usize) -> String {
    format!(r#"{{"op":"upsert","objectType":"User","id":"u{i}","attributes":{{"n":{i}}}}}"#)
}

fn delete(i: usize) -> String {
    format!(r#"{{"op":"delete","objectType":"User","id":"u{i}"}}"#)
}

#[test]
fn too_many_deletes_are_held_until_a_force_deletes_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(&dir);
    let source = jsonl(&dir, "log.jsonl", (0..700).map(upsert));
    let job = e
        .create(
            "sp",
            "jsonl",
            &[setting("sourcePath", &source), setting("deleteThreshold", "500")],
        )
        .unwrap();
    let _ = e.start("sp", &job.id).unwrap();
    e.run_until_idle().unwrap();
    assert_eq!(target_rows(&e, &job.id).len(), 700);

    // 600 deletes appended: the next cycle holds them and quarantines.
    let mut log = std::fs::read_to_string(&source).unwrap();
    for i in 0..600 {
        log.push_str(&delete(i));
        log.push('\n');
    }
    std::fs::write(&source, log).unwrap();
    clock.advance(TimeDelta::minutes(41));
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert_eq!(status_code(&s), StatusCode::Quarantine);
    assert_eq!(
        s.quarantine.as_ref().unwrap().reason,
        QuarantineReason::TooManyDeletes
    );
    assert_eq!(target_rows(&e, &job.id).len(), 700, "nothing was deleted");

    // A restart without ForceDeletes re-evaluates: held again.
    let _ = e
        .restart("sp", &job.id, "QuarantineState".parse().unwrap())
        .unwrap();
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert_eq!(
        s.quarantine.as_ref().unwrap().reason,
        QuarantineReason::TooManyDeletes
    );
    assert_eq!(target_rows(&e, &job.id).len(), 700);

    let _ = e.restart("sp", &job.id, "ForceDeletes".parse().unwrap()).unwrap();
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert_eq!(status_code(&s), StatusCode::Active);
    assert_eq!(target_rows(&e, &job.id).len(), 100);
    assert_eq!(s.entry_counts["User"], 100);
    assert_eq!(s.last_execution.unwrap().counters.count_exported, 600);
}

#[test]
fn an_unreadable_source_quarantines_with_its_message_and_a_later_success_lifts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(&dir);
    let missing = dir.path().join("not-yet.jsonl").display().to_string();
    let job = e
        .create("sp", "jsonl", &[setting("sourcePath", &missing)])
        .unwrap();
    let _ = e.start("sp", &job.id).unwrap();
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    let q = s.quarantine.clone().unwrap();
    assert_eq!(q.reason, QuarantineReason::EncounteredQuarantineException);
    let msg = &q.error.as_ref().unwrap().message;
    assert!(msg.contains("not-yet.jsonl"), "{msg}");
    // No attempt before the back-off.
    assert_eq!(e.run_until_idle().unwrap(), 0);
    jsonl(&dir, "not-yet.jsonl", (0..10).map(upsert));
    clock.set(q.next_attempt);
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert!(s.quarantine.is_none());
    assert_eq!(status_code(&s), StatusCode::Active);
    assert_eq!(target_rows(&e, &job.id).len(), 10);
}

#[test]
fn a_target_path_receives_the_entries_in_its_own_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let (e, _clock) = engine(&dir);
    let source = jsonl(&dir, "log.jsonl", (0..25).map(upsert).chain([delete(3)]));
    let external = dir.path().join("directory.sqlite").display().to_string();
    let job = e
        .create(
            "sp",
            "jsonl",
            &[setting("sourcePath", &source), setting("targetPath", &external)],
        )
        .unwrap();
    e.validate_credentials("sp", &job.id, &[]).unwrap();
    let _ = e.start("sp", &job.id).unwrap();
    e.run_until_idle().unwrap();
    let s = e.get("sp", &job.id).unwrap().unwrap();
    assert_eq!(status_code(&s), StatusCode::Active);
    assert_eq!(s.entry_counts["User"], 24);
    assert!(
        target_rows(&e, &job.id).is_empty(),
        "nothing in the job database's own table"
    );
    let ext = rusqlite::Connection::open(&external).unwrap();
    let present: i64 = ext
        .query_row(
            "SELECT count(*) FROM target_entries WHERE job_id = ?1 AND deleted = 0",
            [&job.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(present, 24);
}
