//! The library's front door: an [`Engine`] on one database file, with the operations an
//! embedding service calls (create, list, get, delete, start, pause, restart, settings)
//! and runners to work the jobs.

use crate::connector::{ConnectorError, ConnectorFactory, Export, Registry};
use crate::job::{
    self, Command, EntryKey, IsoDuration, JobState, ResetScope, SettingPair, Settings, SettingsError,
    TemplateSpec, Timestamp,
};
use crate::metrics::Metrics;
use crate::runner::{Clock, PauseBoard, Runner, RunnerConfig, SystemClock};
use crate::store::{AuditRow, Options, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Why an engine operation failed. Each maps to one Graph error (see `api`).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("unknown templateId `{0}`")]
    UnknownTemplate(String),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

impl EngineError {
    /// The core refused the command in this state (a 409).
    pub fn refused(&self) -> Option<&job::TransitionError> {
        match self {
            EngineError::Store(StoreError::Refused(r)) => Some(r),
            _ => None,
        }
    }
}

/// The outcome of provisioning one subject on demand.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provisioned {
    pub key: EntryKey,
    pub succeeded: bool,
    pub steps: Vec<String>,
}

/// How an engine is set up.
#[derive(Clone)]
pub struct EngineOptions {
    pub store: Options,
    pub clock: Arc<dyn Clock>,
    pub registry: Registry,
    pub lease_ttl: IsoDuration,
    /// How often an idle runner looks for due jobs.
    pub poll: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            store: Options::default(),
            clock: Arc::new(SystemClock),
            registry: Registry::builtin(),
            lease_ttl: IsoDuration::from_secs(30),
            poll: Duration::from_millis(20),
        }
    }
}

/// An engine on one database file. Operations take `&self`; each runner gets its own
/// connection, so any number of runners (threads here, or other processes) share the file.
pub struct Engine {
    path: PathBuf,
    options: EngineOptions,
    registry: Arc<Registry>,
    store: Mutex<Store>,
    metrics: Arc<Metrics>,
    pauses: Arc<PauseBoard>,
}

impl Engine {
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        Self::open_with(path, EngineOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: EngineOptions) -> Result<Self, EngineError> {
        let path = path.as_ref().to_path_buf();
        let store = Store::open_with(&path, options.store.clone())?;
        Ok(Self {
            path,
            registry: Arc::new(options.registry.clone()),
            options,
            store: Mutex::new(store),
            metrics: Arc::new(Metrics::default()),
            pauses: Arc::new(PauseBoard::default()),
        })
    }

    /// Registers a template of the embedder's own (before runners start).
    pub fn register(&mut self, spec: TemplateSpec, factory: Arc<dyn ConnectorFactory>) {
        self.options.registry.register(spec, factory);
        self.registry = Arc::new(self.options.registry.clone());
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn now(&self) -> Timestamp {
        self.options.clock.now()
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> Result<T, EngineError> {
        let mut st = self.store.lock().unwrap_or_else(|e| e.into_inner());
        Ok(f(&mut st)?)
    }

    /// Creates a job of `template_id` for servicePrincipal `sp`.
    pub fn create(
        &self,
        sp: &str,
        template_id: &str,
        settings: &[SettingPair],
    ) -> Result<JobState, EngineError> {
        let template = self
            .registry
            .get(template_id)
            .ok_or_else(|| EngineError::UnknownTemplate(template_id.to_string()))?;
        let settings = Settings::merge(&template.spec, &Default::default(), settings)?;
        let id = format!("{template_id}.{}", uuid::Uuid::new_v4().simple());
        let now = self.now();
        let state = JobState::new(id, sp, template_id, settings, now);
        self.with_store(|st| st.create(&state, now))?;
        self.metrics.command("create", "ok");
        Ok(state)
    }

    pub fn get(&self, sp: &str, id: &str) -> Result<Option<JobState>, EngineError> {
        self.with_store(|st| st.get_scoped(sp, id))
    }

    pub fn list(&self, sp: &str) -> Result<Vec<JobState>, EngineError> {
        self.with_store(|st| st.list(sp))
    }

    /// Jobs by status code, for metrics.
    pub fn count_by_code(&self) -> Result<Vec<(String, u64)>, EngineError> {
        self.with_store(|st| st.count_by_code())
    }

    pub fn transitions(&self, sp: &str, id: &str, top: usize) -> Result<Vec<AuditRow>, EngineError> {
        self.with_store(|st| {
            st.get_scoped(sp, id)?
                .ok_or_else(|| StoreError::NotFound { id: id.to_string() })?;
            st.transitions(id, top)
        })
    }

    /// Applies a command to `sp`'s job `id` and returns the job as it is now (as it was,
    /// for a delete). The engine's runners act on the transition's effects themselves.
    pub fn command(&self, sp: &str, id: &str, command: Command) -> Result<JobState, EngineError> {
        let kind = command.kind();
        let pause = matches!(command, Command::Pause);
        let result = self.with_store(|st| st.command(id, Some(sp), command, self.options.clock.now()));
        let outcome = match &result {
            Ok(c) if c.changed => "changed",
            Ok(_) => "unchanged",
            Err(e) if e.refused().is_some() => "refused",
            Err(EngineError::Store(StoreError::NotFound { .. })) => "not_found",
            Err(_) => "error",
        };
        self.metrics.command(kind.as_str(), outcome);
        if pause && result.as_ref().is_ok_and(|c| c.changed) {
            self.pauses.paused(id, &self.metrics);
        }
        result.map(|c| c.state)
    }

    pub fn start(&self, sp: &str, id: &str) -> Result<JobState, EngineError> {
        self.command(sp, id, Command::Start)
    }

    pub fn pause(&self, sp: &str, id: &str) -> Result<JobState, EngineError> {
        self.command(sp, id, Command::Pause)
    }

    pub fn restart(&self, sp: &str, id: &str, scope: ResetScope) -> Result<JobState, EngineError> {
        self.command(sp, id, Command::Restart(scope))
    }

    pub fn delete(&self, sp: &str, id: &str) -> Result<JobState, EngineError> {
        self.command(sp, id, Command::Delete)
    }

    /// Merges `pairs` into the job's settings (validated against its template).
    pub fn update_settings(
        &self,
        sp: &str,
        id: &str,
        pairs: &[SettingPair],
    ) -> Result<JobState, EngineError> {
        let current = self
            .get(sp, id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_string() })?;
        let template = self
            .registry
            .get(&current.template_id)
            .ok_or_else(|| EngineError::UnknownTemplate(current.template_id.clone()))?;
        let settings = Settings::merge(&template.spec, &current.settings.values, pairs)?;
        self.command(sp, id, Command::UpdateSettings(settings))
    }

    fn job_and_template(
        &self,
        sp: &str,
        id: &str,
    ) -> Result<(JobState, crate::connector::Template), EngineError> {
        let job = self
            .get(sp, id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_string() })?;
        let template = self
            .registry
            .get(&job.template_id)
            .cloned()
            .ok_or_else(|| EngineError::UnknownTemplate(job.template_id.clone()))?;
        Ok((job, template))
    }

    /// Checks that the job's source and target can be reached with its settings, or
    /// with `overrides` (settings to try instead of the saved ones) when given.
    pub fn validate_credentials(
        &self,
        sp: &str,
        id: &str,
        overrides: &[SettingPair],
    ) -> Result<(), EngineError> {
        let (mut job, template) = self.job_and_template(sp, id)?;
        if !overrides.is_empty() {
            job.settings = Settings::merge(&template.spec, &job.settings.values, overrides)?;
        }
        template.factory.source(&job)?.check()?;
        template.factory.target(&job)?.check()?;
        Ok(())
    }

    /// Provisions the named entries now, through the job's connectors, without touching
    /// its cycle checkpoint. Each subject gets a result with its steps.
    pub fn provision_on_demand(
        &self,
        sp: &str,
        id: &str,
        subjects: &[EntryKey],
    ) -> Result<Vec<Provisioned>, EngineError> {
        let (job, template) = self.job_and_template(sp, id)?;
        let mut source = template.factory.source(&job)?;
        let mut target = template.factory.target(&job)?;
        let now = self.now();
        let mut out = Vec::new();
        for key in subjects {
            let mut steps = vec![format!("read {} {} from the source", key.object_type, key.id)];
            let export = match source.get(key, job.watermark.as_deref())? {
                Some(c) => {
                    steps.push("found: export as an upsert".to_string());
                    Export::Upsert {
                        key: key.clone(),
                        attributes: c.attributes,
                    }
                }
                None => {
                    steps.push("not in the source: export as a delete".to_string());
                    Export::Delete { key: key.clone() }
                }
            };
            let result = self.with_store(|st| {
                st.write_target(|tx| {
                    target
                        .apply(tx, &job.id, std::slice::from_ref(&export), now)
                        .map_err(|e| StoreError::Target(e.to_string()))
                })
            })?;
            let (ok, detail) = match result.into_iter().next() {
                Some(Ok(_)) => (true, "exported to the target".to_string()),
                Some(Err(e)) => (false, format!("the target refused the entry: {e}")),
                None => (false, "nothing was exported".to_string()),
            };
            steps.push(detail);
            out.push(Provisioned {
                key: key.clone(),
                succeeded: ok,
                steps,
            });
        }
        Ok(out)
    }

    /// A runner with its own connection to the database.
    pub fn runner(&self, holder: &str) -> Result<Runner, EngineError> {
        let store = Store::open_with(&self.path, self.options.store.clone())?;
        Ok(Runner::new(
            store,
            self.registry.clone(),
            self.options.clock.clone(),
            self.metrics.clone(),
            self.pauses.clone(),
            RunnerConfig {
                holder: holder.to_string(),
                lease_ttl: self.options.lease_ttl,
                poll: self.options.poll,
            },
        ))
    }

    /// Works due jobs in this thread until none is due now.
    pub fn run_until_idle(&self) -> Result<usize, EngineError> {
        let mut r = self.runner(&format!("idle-{}", std::process::id()))?;
        Ok(r.run_until_idle()?.len())
    }

    /// Starts `n` runner threads that work until `stop` is set.
    pub fn spawn_runners(&self, n: usize, stop: Arc<AtomicBool>) -> Result<Vec<JoinHandle<()>>, EngineError> {
        (0..n)
            .map(|i| {
                let mut r = self.runner(&format!("runner-{}-{i}", std::process::id()))?;
                let stop = stop.clone();
                Ok(std::thread::spawn(move || {
                    if let Err(e) = r.run_until(&stop) {
                        tracing::error!(error = %e, "runner stopped");
                    }
                }))
            })
            .collect()
    }
}
