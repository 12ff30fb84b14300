//! Embedding syncjob in a provisioning service: open an engine, register a template
//! with your own source, create a job, run it, pause it mid-way, resume it.
//!
//! `cargo run --release --example embed`

use std::sync::Arc;
use syncjob::connector::sqlite_target::SameDatabase;
use syncjob::connector::{Change, ConnectorError, ConnectorFactory, Op, Source, SourcePage, Target};
use syncjob::job::{EntryKey, JobState, SettingKind, SettingSpec, TemplateSpec, status_code, view};
use syncjob::runner::{HookAction, HookPoint};
use syncjob::store::{Store, target};
use syncjob::{Engine, EngineOptions};

/// A source of the service's own: here, a fixed list of HR records.
struct HrSource {
    people: Vec<(&'static str, &'static str)>,
}

impl Source for HrSource {
    fn begin(&mut self, watermark: Option<&str>) -> Result<(u64, Option<u64>), ConnectorError> {
        // Initial cycles read everyone; this source has no deltas, so incremental
        // cycles start at the end.
        let start = if watermark.is_some() {
            self.people.len() as u64
        } else {
            0
        };
        Ok((start, Some(self.people.len() as u64)))
    }

    fn read(&mut self, _w: Option<&str>, cursor: u64, max: usize) -> Result<SourcePage, ConnectorError> {
        let end = (cursor as usize + max).min(self.people.len());
        let changes = self.people[cursor as usize..end]
            .iter()
            .map(|(id, name)| Change {
                op: Op::Upsert,
                key: EntryKey::new("User", *id),
                attributes: format!(r#"{{"displayName":"{name}"}}"#),
            })
            .collect();
        Ok(SourcePage {
            changes,
            failed: vec![],
            next_cursor: end as u64,
            end: (end == self.people.len()).then(|| "hr-v1".to_string()),
            total: Some(self.people.len() as u64),
        })
    }

    fn get(&mut self, key: &EntryKey, _w: Option<&str>) -> Result<Option<Change>, ConnectorError> {
        Ok(self
            .people
            .iter()
            .find(|(id, _)| *id == key.id)
            .map(|(id, name)| Change {
                op: Op::Upsert,
                key: EntryKey::new("User", *id),
                attributes: format!(r#"{{"displayName":"{name}"}}"#),
            }))
    }

    fn check(&mut self) -> Result<(), ConnectorError> {
        Ok(())
    }
}

struct HrTemplate;

impl ConnectorFactory for HrTemplate {
    fn source(&self, _job: &JobState) -> Result<Box<dyn Source>, ConnectorError> {
        Ok(Box::new(HrSource {
            people: vec![
                ("e1", "Ada"),
                ("e2", "Grace"),
                ("e3", "Edsger"),
                ("e4", "Barbara"),
                ("e5", "Tony"),
            ],
        }))
    }
    fn target(&self, _job: &JobState) -> Result<Box<dyn Target>, ConnectorError> {
        Ok(Box::new(SameDatabase))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut engine = Engine::open_with(dir.path().join("jobs.db"), EngineOptions::default())?;
    engine.register(
        TemplateSpec {
            id: "hr".into(),
            settings: vec![SettingSpec::new("tenant", SettingKind::Text, true)],
        },
        Arc::new(HrTemplate),
    );
    let sp = "my-service-principal";
    let job = engine.create(
        sp,
        "hr",
        &[
            syncjob::job::SettingPair {
                name: "tenant".into(),
                value: "contoso".into(),
            },
            syncjob::job::SettingPair {
                name: "pageSize".into(),
                value: "2".into(),
            },
        ],
    )?;
    println!("created {} ({})", job.id, status_code(&job));

    engine.start(sp, &job.id)?;
    // An operator pauses the job after its first page: the runner's next page commit is
    // refused, the runner stops, and the checkpoint stays frozen where it was.
    let engine = Arc::new(engine);
    let mut runner = engine.runner("example")?;
    let (operator, id) = (engine.clone(), job.id.clone());
    let mut pages = 0;
    runner.set_hook(Box::new(move |_, at| {
        if at == HookPoint::AfterPageCommit {
            pages += 1;
            if pages == 1 {
                let _ = operator.pause(sp, &id);
            }
        }
        HookAction::Continue
    }));
    runner.run_until_idle()?;
    let paused = engine.get(sp, &job.id)?.ok_or("job vanished")?;
    let cursor = paused.cycle.as_ref().map_or(0, |c| c.cursor);
    println!("paused at cursor {cursor} ({})", status_code(&paused));

    // Start resumes the same cycle from the frozen cursor.
    engine.start(sp, &job.id)?;
    engine.run_until_idle()?;
    let done = engine.get(sp, &job.id)?.ok_or("job vanished")?;
    let store = Store::open(engine.path())?;
    println!(
        "{}: {} entries in the target",
        status_code(&done),
        target::count_present(store.conn(), &job.id)?
    );
    println!("{}", serde_json::to_string_pretty(&view(&done).status)?);
    assert_eq!(target::count_present(store.conn(), &job.id)?, 5);
    Ok(())
}
