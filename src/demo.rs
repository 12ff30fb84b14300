//! `syncjob demo`: the main job on an embedded default. A generated directory is synced,
//! paused mid-cycle, "crashed" (the engine dropped and the database reopened), resumed
//! from the frozen cursor, then synced incrementally; the target is checked against the
//! source at the end.

use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use syncjob::connector::generated::{self, Params};
use syncjob::job::{self, JobState, ResetScope, SettingPair, status_code};
use syncjob::runner::{HookAction, HookPoint};
use syncjob::store::{Store, target};
use syncjob::{Engine, EngineError};

const SP: &str = "demo-service-principal";

fn e(err: EngineError) -> String {
    err.to_string()
}

fn bar(total: u64) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("  [{bar:40}] {pos}/{len} entries  {per_sec}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// Runs due work on `job` with a progress bar; pauses the job once its cursor reaches
/// `pause_at` (when given).
fn run(engine: &Arc<Engine>, job: &str, pb: &ProgressBar, pause_at: Option<u64>) -> Result<(), String> {
    let mut runner = engine.runner("demo").map_err(e)?;
    let (eng, id, pb2) = (engine.clone(), job.to_string(), pb.clone());
    let paused = Arc::new(Mutex::new(false));
    let paused2 = paused.clone();
    runner.set_hook(Box::new(move |_, at| {
        if at == HookPoint::AfterPageCommit
            && let Ok(Some(s)) = eng.get(SP, &id)
        {
            let cursor = s.cycle.as_ref().map_or(0, |c| c.cursor);
            pb2.set_position(cursor);
            let mut p = paused2.lock().unwrap_or_else(|x| x.into_inner());
            if pause_at.is_some_and(|at| cursor >= at) && !*p {
                *p = true;
                let _ = eng.pause(SP, &id);
            }
        }
        HookAction::Continue
    }));
    runner.run_until_idle().map_err(|x| x.to_string())?;
    Ok(())
}

fn get(engine: &Engine, id: &str) -> Result<JobState, String> {
    engine
        .get(SP, id)
        .map_err(e)?
        .ok_or_else(|| format!("job {id} vanished"))
}

pub fn main(entries: u64, db: Option<PathBuf>) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|x| x.to_string())?;
    let path = db.unwrap_or_else(|| tmp.path().join("demo.db"));
    println!(
        "syncjob demo: {entries} generated users -> target_entries in {}",
        path.display()
    );
    let mut engine = Arc::new(Engine::open(&path).map_err(e)?);
    let setting = |n: &str, v: String| SettingPair {
        name: n.into(),
        value: v,
    };
    let job = engine
        .create(
            SP,
            "generated",
            &[
                setting("entries", entries.to_string()),
                setting("pageSize", "500".into()),
            ],
        )
        .map_err(e)?;
    let id = job.id.clone();
    println!("created job {id} ({})", status_code(&job));

    // 1. Start, and pause mid-cycle.
    let t0 = Instant::now();
    engine.start(SP, &id).map_err(e)?;
    println!("started; pausing at 40%:");
    let pb = bar(entries);
    run(&engine, &id, &pb, Some(entries * 2 / 5))?;
    let mut synced_for = t0.elapsed();
    pb.abandon();
    let frozen = get(&engine, &id)?;
    let cp = job::checkpoint(&frozen);
    println!(
        "paused: status {}, cursor {}, {} pages, {} exported, version {}",
        cp.code,
        cp.cursor.unwrap_or(0),
        cp.pages.unwrap_or(0),
        cp.counters.as_ref().map_or(0, |c| c.count_exported),
        cp.version
    );
    let mut checks: Vec<(String, bool)> = vec![(
        "paused mid-cycle".into(),
        cp.code == job::StatusCode::Paused && cp.cursor.is_some_and(|c| c < entries || entries == 0),
    )];

    // 2. "Crash": drop the engine, reopen the database.
    drop(engine);
    engine = Arc::new(Engine::open(&path).map_err(e)?);
    let reopened = get(&engine, &id)?;
    println!(
        "crashed and reopened: cursor {} (frozen at {})",
        reopened.cycle.as_ref().map_or(0, |c| c.cursor),
        cp.cursor.unwrap_or(0)
    );
    checks.push((
        "the checkpoint survived the crash".into(),
        job::checkpoint(&reopened) == cp,
    ));

    // 3. Start again: the cycle resumes from the frozen cursor.
    let t1 = Instant::now();
    engine.start(SP, &id).map_err(e)?;
    let pb = bar(entries);
    pb.set_position(cp.cursor.unwrap_or(0));
    pb.reset_eta();
    run(&engine, &id, &pb, None)?;
    pb.finish();
    synced_for += t1.elapsed();
    let done = get(&engine, &id)?;
    let log = engine.transitions(SP, &id, 1_000_000).map_err(e)?;
    let resumed_at = log
        .iter()
        .rev()
        .skip_while(|r| !(r.input == "start" && r.code_before == "Paused"))
        .find(|r| r.input.starts_with("pageCommitted("))
        .map(|r| r.input.clone());
    let want = format!("pageCommitted({}..", cp.cursor.unwrap_or(0));
    println!("resumed with {}", resumed_at.as_deref().unwrap_or("no page"));
    checks.push((
        "resumed at the frozen cursor".into(),
        entries == 0 || resumed_at.is_some_and(|r| r.starts_with(&want)),
    ));
    let initial = done
        .last_execution
        .clone()
        .ok_or("the initial cycle did not complete")?;
    checks.push((
        format!(
            "the initial cycle exported each entry once ({})",
            initial.counters.count_exported
        ),
        initial.counters.count_exported == entries && initial.counters.count_imported == entries,
    ));

    // 4. An incremental cycle: the next change set, now.
    engine.restart(SP, &id, ResetScope::NONE).map_err(e)?;
    let params = Params::of(&done);
    println!("incremental cycle of {} changes:", params.changes_per_cycle);
    let t2 = Instant::now();
    run(&engine, &id, &ProgressBar::hidden(), None)?;
    let after = get(&engine, &id)?;
    let generation: u64 = after
        .watermark
        .as_deref()
        .and_then(|w| w.parse().ok())
        .ok_or("no watermark after the incremental cycle")?;
    println!(
        "  {} changes imported in {:.2} s; watermark {}",
        after
            .last_execution
            .as_ref()
            .map_or(0, |x| x.counters.count_imported),
        t2.elapsed().as_secs_f64(),
        generation
    );
    checks.push((
        "the incremental cycle advanced the watermark".into(),
        generation == 1,
    ));

    // 5. The target equals the source.
    let store = Store::open(&path).map_err(|x| x.to_string())?;
    let got = target::present(store.conn(), &id).map_err(|x| x.to_string())?;
    let expected = generated::state_at(&params, generation);
    checks.push((
        format!("target equals source ({} entries)", expected.len()),
        got == expected,
    ));

    let secs = synced_for.as_secs_f64();
    println!();
    println!("summary:");
    println!("  entries synced: {}", initial.counters.count_exported);
    println!(
        "  initial cycle:  {secs:.2} s, {:.0} entries/s",
        entries as f64 / secs.max(1e-9)
    );
    let mut ok = true;
    for (what, passed) in &checks {
        println!("  [{}] {what}", if *passed { "ok" } else { "FAILED" });
        ok &= passed;
    }
    if ok {
        println!("all checks passed: the target matches the source");
        Ok(())
    } else {
        Err("a demo check failed (see above)".into())
    }
}
