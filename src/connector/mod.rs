//! Connectors: where a job reads changes ([`Source`]) and where it exports them
//! ([`Target`]), and the built-in templates of contract section 6.
//!
//! Errors are classified where they arise: an entry-level error escrows one entry, a
//! transient error fails the cycle (retried later, from its checkpoint), a fatal error
//! (bad credentials, wrong endpoint) quarantines the job at once.

pub mod generated;
pub mod jsonl;
pub mod sqlite_target;

use crate::job::{EntryKey, JobState, SettingKind, SettingSpec, TemplateSpec, Timestamp};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::Arc;

/// What happened to an entry at the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Upsert,
    Delete,
}

/// One change read from a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub op: Op,
    pub key: EntryKey,
    /// JSON object text (empty for deletes).
    pub attributes: String,
}

/// A page read from a source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourcePage {
    pub changes: Vec<Change>,
    /// Entries the source could not read (a malformed line): escrowed with this error.
    pub failed: Vec<(EntryKey, String)>,
    /// Where the next page starts.
    pub next_cursor: u64,
    /// `Some(watermark)` when nothing is left to read in this cycle.
    pub end: Option<String>,
    /// The source's estimate of the cycle's entries.
    pub total: Option<u64>,
}

/// A connector failure that is not about one entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The cycle fails and is retried from its checkpoint.
    #[error("{code}: {message}")]
    Transient { code: String, message: String },
    /// Bad credentials, unreachable endpoint: the job is quarantined at once.
    #[error("{code}: {message}")]
    Fatal { code: String, message: String },
}

impl ConnectorError {
    pub fn transient(code: &str, message: impl Into<String>) -> Self {
        Self::Transient {
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn fatal(code: &str, message: impl Into<String>) -> Self {
        Self::Fatal {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Where a cycle reads from.
pub trait Source: Send {
    /// The cursor a cycle starts at, given the job's watermark (`None`: initial cycle),
    /// and the source's estimate of the entries in it.
    fn begin(&mut self, watermark: Option<&str>) -> Result<(u64, Option<u64>), ConnectorError>;
    /// Reads up to `max` changes from `cursor` in the cycle that started at `watermark`.
    fn read(
        &mut self,
        watermark: Option<&str>,
        cursor: u64,
        max: usize,
    ) -> Result<SourcePage, ConnectorError>;
    /// The entry's current state, to retry an escrow or provision on demand (`None`: gone).
    fn get(&mut self, key: &EntryKey, watermark: Option<&str>) -> Result<Option<Change>, ConnectorError>;
    /// Whether the source can be reached with the job's settings.
    fn check(&mut self) -> Result<(), ConnectorError>;
}

/// One export to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Export {
    Upsert { key: EntryKey, attributes: String },
    Delete { key: EntryKey },
}

impl Export {
    pub fn key(&self) -> &EntryKey {
        match self {
            Export::Upsert { key, .. } | Export::Delete { key } => key,
        }
    }
}

/// The outcome of one export: `Ok(delta)` changes the target's entry count by `delta`
/// (+1 created, -1 deleted, 0 updated); `Err` is an entry-level error (escrow it).
pub type ExportResult = Result<i64, String>;

/// Where a cycle exports to. Writes must be idempotent: upsert by the entry's key.
pub trait Target: Send {
    /// Applies `exports` in order. `tx` is the job database's page transaction: a
    /// same-database target writes through it, so its rows commit with the checkpoint;
    /// an external target commits on its own first (at-least-once: a page lost to a
    /// crash is sent again).
    fn apply(
        &mut self,
        tx: &Connection,
        job_id: &str,
        exports: &[Export],
        now: Timestamp,
    ) -> Result<Vec<ExportResult>, ConnectorError>;
    /// Whether the target can be reached with the job's settings.
    fn check(&mut self) -> Result<(), ConnectorError>;
}

/// Makes a job's connectors from its settings.
pub trait ConnectorFactory: Send + Sync {
    fn source(&self, job: &JobState) -> Result<Box<dyn Source>, ConnectorError>;
    fn target(&self, job: &JobState) -> Result<Box<dyn Target>, ConnectorError>;
}

/// A template: its settings and how to make its connectors.
#[derive(Clone)]
pub struct Template {
    pub spec: TemplateSpec,
    pub factory: Arc<dyn ConnectorFactory>,
}

/// The templates an engine knows, by id.
#[derive(Clone, Default)]
pub struct Registry {
    templates: HashMap<String, Template>,
}

impl Registry {
    /// The built-in `generated` and `jsonl` templates.
    pub fn builtin() -> Self {
        let mut r = Self::default();
        r.register(generated::spec(), Arc::new(generated::Factory));
        r.register(jsonl::spec(), Arc::new(jsonl::Factory));
        r
    }

    /// Adds (or replaces) a template.
    pub fn register(&mut self, spec: TemplateSpec, factory: Arc<dyn ConnectorFactory>) {
        self.templates.insert(spec.id.clone(), Template { spec, factory });
    }

    pub fn get(&self, id: &str) -> Option<&Template> {
        self.templates.get(id)
    }

    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.templates.keys().cloned().collect();
        ids.sort();
        ids
    }
}

/// The settings shared by the built-in targets.
pub(crate) fn target_path_setting() -> SettingSpec {
    SettingSpec::new("targetPath", SettingKind::Text, false)
}

/// The target a built-in template writes to: the job database, or `targetPath`.
pub(crate) fn builtin_target(job: &JobState) -> Result<Box<dyn Target>, ConnectorError> {
    match job.settings.get("targetPath") {
        Some(path) => Ok(Box::new(sqlite_target::ExternalSqlite::open(path)?)),
        None => Ok(Box::new(sqlite_target::SameDatabase)),
    }
}
