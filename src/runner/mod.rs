//! Runners: claim due jobs, run their cycles page by page through the connectors, and
//! commit each page through the store (contract sections 3 to 5).
//!
//! A runner works one job at a time: it claims it (a lease with a fencing token),
//! begins or resumes the cycle in flight, retries due escrows, then reads, exports and
//! commits pages until the source reports the end, and completes the cycle. A pause,
//! restart, delete or takeover makes the next page commit fail; the runner rolls that
//! page back and stops, so pause latency is bounded by one page.

pub mod clock;

use crate::connector::{Change, ConnectorError, Export, ExportResult, Op, Registry, Source, Target};
use crate::job::{
    AppliedDeletes, EntryKey, Event, ExecutionCounters, FailedEntry, IsoDuration, JobState, PageCommit,
    SynchronizationError, TransitionError, policy,
};
use crate::metrics::Metrics;
use crate::store::{Claimed, Committed, PageHeader, Store, StoreError};
pub use clock::{Clock, ManualClock, SystemClock};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the runner is, for hooks that tests use to interleave operators and crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPoint {
    /// A page was read and exported but not committed yet.
    BeforePageCommit,
    /// A page was committed.
    AfterPageCommit,
}

/// What a hook asks the runner to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookAction {
    Continue,
    /// Stop at once as if the process died: no commit, no release.
    Crash,
}

pub type Hook = Box<dyn FnMut(&str, HookPoint) -> HookAction + Send>;

/// Pairs a pause's commit with the runner stopping on it (in this process), to measure
/// pause latency. Either side may arrive first: a runner can be refused in the instant
/// between the pause's commit and the engine recording it, and then the latency is
/// recorded as zero (it was shorter than that instant).
#[derive(Default)]
pub struct PauseBoard(Mutex<PauseEvents>);

#[derive(Default)]
struct PauseEvents {
    paused: HashMap<String, Instant>,
    stopped: HashMap<String, Instant>,
}

impl PauseBoard {
    /// A pause of `id` committed now; returns the latency if a runner already stopped.
    pub fn paused(&self, id: &str, metrics: &Metrics) {
        let now = Instant::now();
        let mut e = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A stop seen just before this record was this pause's; an older one was a
        // pause by another process.
        match e.stopped.remove(id) {
            Some(at) if now.duration_since(at) < Duration::from_secs(1) => {
                metrics.pause_latency(Duration::ZERO)
            }
            _ => {
                e.paused.insert(id.to_string(), now);
            }
        }
    }

    /// A runner stopped work on `id` because it is paused.
    fn stopped(&self, id: &str, metrics: &Metrics) {
        let now = Instant::now();
        let mut e = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match e.paused.remove(id) {
            Some(at) => metrics.pause_latency(now.duration_since(at)),
            None => {
                e.stopped.insert(id.to_string(), now);
            }
        }
    }
}

/// How a runner's turn on a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// The cycle completed (or held its deletes back and quarantined).
    Completed,
    /// The cycle failed (transient or fatal) and the failure was recorded.
    Failed,
    /// A commit was refused (paused, restarted, deleted, taken over, quarantined).
    Stopped(String),
    /// The runner was asked to stop between pages; its lease is released.
    Interrupted,
    /// A hook simulated the process dying: nothing more is committed, not even the release.
    Crashed,
}

pub struct RunnerConfig {
    pub holder: String,
    pub lease_ttl: IsoDuration,
    /// Sleep between polls when nothing is due.
    pub poll: Duration,
}

pub struct Runner {
    store: Store,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    pauses: Arc<PauseBoard>,
    config: RunnerConfig,
    hook: Option<Hook>,
}

/// Why a cycle ends early, inside one turn.
enum Stop {
    Turn(Turn),
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

impl Runner {
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        pauses: Arc<PauseBoard>,
        config: RunnerConfig,
    ) -> Self {
        Self {
            store,
            registry,
            clock,
            metrics,
            pauses,
            config,
            hook: None,
        }
    }

    /// Installs a hook called at page boundaries (tests).
    pub fn set_hook(&mut self, hook: Hook) {
        self.hook = Some(hook);
    }

    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Runs until `stop` is set, sleeping `poll` when nothing is due.
    pub fn run_until(&mut self, stop: &AtomicBool) -> Result<(), StoreError> {
        while !stop.load(Ordering::Relaxed) {
            match self.step(stop) {
                Ok(Some(_)) => {}
                Ok(None) => std::thread::sleep(self.config.poll),
                Err(e) if e.is_busy() => std::thread::sleep(self.config.poll),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Works due jobs until none is due at the clock's current time.
    pub fn run_until_idle(&mut self) -> Result<Vec<Turn>, StoreError> {
        let never = AtomicBool::new(false);
        let mut turns = Vec::new();
        while let Some(t) = self.step(&never)? {
            let interrupted = matches!(t, Turn::Interrupted | Turn::Crashed);
            turns.push(t);
            if interrupted {
                break;
            }
        }
        Ok(turns)
    }

    /// Claims one due job and works it; `None` when nothing is due.
    pub fn step(&mut self, stop: &AtomicBool) -> Result<Option<Turn>, StoreError> {
        let now = self.clock.now();
        let Some(claimed) = self
            .store
            .claim_due(&self.config.holder, 1, self.config.lease_ttl, now)?
            .pop()
        else {
            return Ok(None);
        };
        let id = claimed.state.id.clone();
        let token = claimed.token;
        let span = tracing::info_span!("job", job = %id);
        let _enter = span.enter();
        let turn = match self.work(claimed, stop) {
            Ok(t) => t,
            Err(Stop::Turn(t)) => t,
            Err(Stop::Store(e)) => match e {
                StoreError::Refused(r) => self.refused(&id, r),
                StoreError::NotFound { .. } => Turn::Stopped("deleted".into()),
                other => {
                    tracing::warn!(error = %other, "storage failed; the job will be retried");
                    Turn::Stopped(other.to_string())
                }
            },
        };
        if turn != Turn::Crashed {
            match self.store.release(&id, token, self.clock.now()) {
                Ok(_) | Err(StoreError::Refused(_)) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "could not release the lease; it will expire"),
            }
        }
        tracing::debug!(?turn, "turn ended");
        Ok(Some(turn))
    }

    fn refused(&self, id: &str, r: TransitionError) -> Turn {
        if r == TransitionError::Paused {
            self.pauses.stopped(id, &self.metrics);
        }
        tracing::info!(reason = %r, "stopped: a commit was refused");
        Turn::Stopped(r.to_string())
    }

    fn hook(&mut self, id: &str, at: HookPoint) -> Result<(), Stop> {
        match self.hook.as_mut().map(|h| h(id, at)) {
            Some(HookAction::Crash) => Err(Stop::Turn(Turn::Crashed)),
            _ => Ok(()),
        }
    }

    fn work(&mut self, claimed: Claimed, stop: &AtomicBool) -> Result<Turn, Stop> {
        let mut state = claimed.state;
        let token = claimed.token;
        let id = state.id.clone();
        let connectors = self
            .registry
            .get(&state.template_id)
            .ok_or_else(|| {
                ConnectorError::fatal("UnknownTemplate", format!("no template `{}`", state.template_id))
            })
            .and_then(|t| Ok((t.factory.source(&state)?, t.factory.target(&state)?)));
        let (mut source, mut target) = match connectors {
            Ok(c) => c,
            Err(e) => {
                state = self.ensure_cycle(&state, token, None)?;
                return self.fail(&state, token, e);
            }
        };
        if state.cycle.is_none() {
            match source.begin(state.watermark.as_deref()) {
                Ok(start) => state = self.ensure_cycle(&state, token, Some(start))?,
                Err(e) => {
                    state = self.ensure_cycle(&state, token, None)?;
                    return self.fail(&state, token, e);
                }
            }
        }
        // Escrows are retried before the cycle reads its first page, with the source as of
        // the watermark: later in a cycle, an older state of the entry could overwrite a
        // newer one this cycle already exported.
        if state.cycle.as_ref().is_some_and(|c| c.cursor == c.start_cursor) {
            state = self.retry_escrows(state, token, source.as_mut(), target.as_mut())?;
        }
        let page_size = state.settings.policy.page_size.max(1) as usize;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(Turn::Interrupted);
            }
            let Some(cycle) = &state.cycle else {
                return Ok(Turn::Completed);
            };
            let cursor = cycle.cursor;
            let page = match source.read(state.watermark.as_deref(), cursor, page_size) {
                Ok(p) => p,
                Err(e) => return self.fail(&state, token, e),
            };
            if !page.changes.is_empty() || !page.failed.is_empty() || page.next_cursor != cursor {
                self.hook(&id, HookPoint::BeforePageCommit)?;
                state = match self.commit_page(&state, token, &page, target.as_mut(), PageKind::Cycle) {
                    Ok(c) => c.state,
                    Err(PageError::Connector(e)) => return self.fail(&state, token, e),
                    Err(PageError::Store(e)) => return Err(Stop::Store(e)),
                };
                self.hook(&id, HookPoint::AfterPageCommit)?;
                // An escrow threshold quarantined the job: its next page would be refused.
                if state
                    .quarantine
                    .as_ref()
                    .is_some_and(|q| q.next_attempt > self.clock.now())
                {
                    return Ok(Turn::Stopped("quarantined by an escrow threshold".into()));
                }
            }
            if let Some(watermark) = page.end {
                return self.complete(&state, token, &watermark, target.as_mut());
            }
        }
    }

    /// Begins a cycle unless one is in flight. `start` is the source's (cursor, total);
    /// `None` when the source could not even be opened (the cycle then fails at once).
    fn ensure_cycle(
        &mut self,
        state: &JobState,
        token: u64,
        start: Option<(u64, Option<u64>)>,
    ) -> Result<JobState, Stop> {
        if state.cycle.is_some() {
            return Ok(state.clone());
        }
        let (start_cursor, total) = start.unwrap_or((0, None));
        let began = Event::CycleBegan {
            token,
            activity_id: uuid::Uuid::new_v4().to_string(),
            start_cursor,
            total,
        };
        Ok(self.store.event(&state.id, began, self.clock.now())?.state)
    }

    fn fail(&mut self, state: &JobState, token: u64, e: ConnectorError) -> Result<Turn, Stop> {
        let (code, message, fatal) = match &e {
            ConnectorError::Transient { code, message } => (code, message, false),
            ConnectorError::Fatal { code, message } => (code, message, true),
        };
        let error = SynchronizationError {
            code: code.clone(),
            message: message.clone(),
            tenant_actionable: fatal,
        };
        tracing::warn!(error = %e, fatal, "cycle failed");
        let activity_id = state
            .cycle
            .as_ref()
            .map(|c| c.activity_id.clone())
            .unwrap_or_default();
        let failed = Event::CycleFailed {
            token,
            activity_id,
            error,
            fatal,
        };
        let _ = self.store.event(&state.id, failed, self.clock.now())?;
        Metrics::add(&self.metrics.cycles_failed, 1);
        Ok(Turn::Failed)
    }

    /// Retries the escrows that are due, a page at a time, without moving the cursor.
    fn retry_escrows(
        &mut self,
        mut state: JobState,
        token: u64,
        source: &mut dyn Source,
        target: &mut dyn Target,
    ) -> Result<JobState, Stop> {
        let page_size = state.settings.policy.page_size.max(1) as usize;
        loop {
            let now = self.clock.now();
            let due: Vec<EntryKey> = policy::escrows_due(&state, now)
                .take(page_size)
                .map(|e| e.key.clone())
                .collect();
            if due.is_empty() {
                return Ok(state);
            }
            let mut changes = Vec::with_capacity(due.len());
            for key in due {
                match source.get(&key, state.watermark.as_deref()) {
                    Ok(Some(c)) => changes.push(c),
                    Ok(None) => changes.push(Change {
                        op: Op::Delete,
                        key,
                        attributes: String::new(),
                    }),
                    Err(e) => return self.fail(&state, token, e).and(Err(Stop::Turn(Turn::Failed))),
                }
            }
            let cursor = state.cycle.as_ref().map_or(0, |c| c.cursor);
            let page = crate::connector::SourcePage {
                changes,
                next_cursor: cursor,
                ..Default::default()
            };
            state = match self.commit_page(&state, token, &page, target, PageKind::EscrowRetries) {
                Ok(c) => c.state,
                Err(PageError::Connector(e)) => {
                    return self.fail(&state, token, e).and(Err(Stop::Turn(Turn::Failed)));
                }
                Err(PageError::Store(e)) => return Err(Stop::Store(e)),
            };
        }
    }

    /// One page commit: exports in the page's transaction, then the checkpoint.
    /// Escrow retries export deletes at once (the entry is gone at the source); a
    /// cycle's deletes are staged for the deletion threshold.
    fn commit_page(
        &mut self,
        state: &JobState,
        token: u64,
        page: &crate::connector::SourcePage,
        target: &mut dyn Target,
        kind: PageKind,
    ) -> Result<Committed, PageError> {
        let retries = kind == PageKind::EscrowRetries;
        let Some(cycle) = &state.cycle else {
            return Err(PageError::Store(StoreError::Refused(
                TransitionError::CycleAbandoned {
                    presented: String::new(),
                    current: None,
                },
            )));
        };
        let header = PageHeader {
            token,
            activity_id: cycle.activity_id.clone(),
            from_cursor: cycle.cursor,
        };
        let incremental = state.watermark.is_some();
        let now = self.clock.now();
        let mut connector_error = None;
        let result = self.store.page_commit(&state.id, &header, now, |tx, current| {
            let staged_before = current
                .cycle
                .as_ref()
                .map(|c| &c.staged_deletes[..])
                .unwrap_or(&[]);
            let mut exports = Vec::new();
            let mut staged: Vec<EntryKey> = Vec::new();
            let mut unstaged = Vec::new();
            for c in &page.changes {
                match c.op {
                    Op::Delete if !retries => {
                        staged.retain(|k| k != &c.key);
                        staged.push(c.key.clone());
                    }
                    Op::Delete => exports.push(Export::Delete { key: c.key.clone() }),
                    Op::Upsert => {
                        staged.retain(|k| k != &c.key);
                        if staged_before.binary_search(&c.key).is_ok() {
                            unstaged.push(c.key.clone());
                        }
                        exports.push(Export::Upsert {
                            key: c.key.clone(),
                            attributes: c.attributes.clone(),
                        });
                    }
                }
            }
            let results = match target.apply(tx, &current.id, &exports, now) {
                Ok(r) => r,
                Err(e) => {
                    let msg = e.to_string();
                    connector_error = Some(e);
                    return Err(StoreError::Target(msg));
                }
            };
            let mut p = build_page(
                current,
                token,
                header.from_cursor,
                page,
                &exports,
                &results,
                incremental,
            );
            p.staged_deletes = staged;
            p.unstaged = unstaged;
            if retries {
                // Retried escrows are exported again, not imported again.
                p.counters.count_imported = 0;
                p.counters.count_imported_deltas = 0;
                p.counters.count_entitled = 0;
            }
            Ok(p)
        });
        match (result, connector_error) {
            (Ok(c), _) => {
                Metrics::add(&self.metrics.page_commits, 1);
                Ok(c)
            }
            // The target failed inside the transaction, which rolled back.
            (Err(StoreError::Target(_)), Some(e)) => Err(PageError::Connector(e)),
            (Err(e), _) => Err(PageError::Store(e)),
        }
    }

    fn complete(
        &mut self,
        state: &JobState,
        token: u64,
        watermark: &str,
        target: &mut dyn Target,
    ) -> Result<Turn, Stop> {
        let activity_id = state
            .cycle
            .as_ref()
            .map(|c| c.activity_id.clone())
            .unwrap_or_default();
        let now = self.clock.now();
        let mut connector_error = None;
        let result = self.store.event_with(&state.id, now, |tx, current| {
            let deletes = match policy::releasable_deletes(current) {
                policy::DeleteDecision::Release => {
                    let staged = current
                        .cycle
                        .as_ref()
                        .map(|c| c.staged_deletes.clone())
                        .unwrap_or_default();
                    let exports: Vec<Export> = staged.into_iter().map(|key| Export::Delete { key }).collect();
                    let results = match target.apply(tx, &current.id, &exports, now) {
                        Ok(r) => r,
                        Err(e) => {
                            let msg = e.to_string();
                            connector_error = Some(e);
                            return Err(StoreError::Target(msg));
                        }
                    };
                    let mut applied = AppliedDeletes::default();
                    for (e, r) in exports.iter().zip(&results) {
                        match r {
                            Ok(delta) => {
                                applied.exported += 1;
                                *applied
                                    .entry_count_delta
                                    .entry(e.key().object_type.clone())
                                    .or_default() += delta;
                            }
                            Err(error) => applied.failed.push(FailedEntry {
                                key: e.key().clone(),
                                error: error.clone(),
                                reference: false,
                            }),
                        }
                    }
                    Some(applied)
                }
                _ => None,
            };
            Ok(Event::CycleCompleted {
                token,
                activity_id: activity_id.clone(),
                watermark: watermark.to_string(),
                deletes,
            })
        });
        match (result, connector_error) {
            (Ok(c), _) => {
                if c.state.cycle.is_none() {
                    Metrics::add(&self.metrics.cycles_completed, 1);
                    if let Some(e) = &c.state.last_execution {
                        Metrics::add(&self.metrics.entries_exported, e.counters.count_exported);
                    }
                }
                Ok(Turn::Completed)
            }
            (Err(StoreError::Target(_)), Some(e)) => self.fail(state, token, e),
            (Err(e), _) => Err(Stop::Store(e)),
        }
    }
}

/// What a page commit carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PageKind {
    /// The next page of the cycle: moves the cursor; deletes are staged.
    Cycle,
    /// Escrowed entries retried before the cycle's first page: the cursor stays, and
    /// a retried delete is exported at once.
    EscrowRetries,
}

enum PageError {
    Connector(ConnectorError),
    Store(StoreError),
}

/// The page event: counters, escrows and entry counts from the export results.
fn build_page(
    current: &JobState,
    token: u64,
    from_cursor: u64,
    page: &crate::connector::SourcePage,
    exports: &[Export],
    results: &[ExportResult],
    incremental: bool,
) -> PageCommit {
    let mut failed: Vec<FailedEntry> = page
        .failed
        .iter()
        .map(|(key, error)| FailedEntry {
            key: key.clone(),
            error: error.clone(),
            reference: false,
        })
        .collect();
    let mut resolved = Vec::new();
    let mut delta: BTreeMap<String, i64> = BTreeMap::new();
    let mut exported = 0;
    for (e, r) in exports.iter().zip(results) {
        match r {
            Ok(d) => {
                exported += 1;
                if *d != 0 {
                    *delta.entry(e.key().object_type.clone()).or_default() += d;
                }
                if current.escrow(e.key()).is_some() {
                    resolved.push(e.key().clone());
                }
            }
            Err(error) => failed.push(FailedEntry {
                key: e.key().clone(),
                error: error.clone(),
                reference: false,
            }),
        }
    }
    let imported = (page.changes.len() + page.failed.len()) as u64;
    let escrowed = failed.len() as u64;
    PageCommit {
        token,
        activity_id: current
            .cycle
            .as_ref()
            .map(|c| c.activity_id.clone())
            .unwrap_or_default(),
        from_cursor,
        to_cursor: page.next_cursor,
        counters: ExecutionCounters {
            count_entitled: imported,
            count_entitled_for_provisioning: exports.len() as u64,
            count_escrowed: escrowed,
            count_escrowed_raw: escrowed,
            count_exported: exported,
            count_exports: exports.len() as u64,
            count_imported: imported,
            count_imported_deltas: if incremental { imported } else { 0 },
            count_imported_reference_deltas: 0,
        },
        failed,
        resolved,
        staged_deletes: vec![],
        unstaged: vec![],
        entry_count_delta: delta,
        total: page.total,
    }
}
