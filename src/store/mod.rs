//! The durable store: jobs, checkpoints, the audit log and the same-database target in
//! one SQLite file (contract section 5).
//!
//! Every change is one `BEGIN IMMEDIATE` transaction that reads the job's current
//! state, applies the pure transition function, and writes the new state and its audit
//! row with an UPDATE guarded by the version it read. Commands commit with
//! `synchronous=FULL`; page commits use the configured [`Durability`].

mod codec;
mod error;
pub mod open;
mod read;
pub mod target;

pub use error::StoreError;
pub use read::AuditRow;

use crate::job::{self, Effect, Event, Input, IsoDuration, JobState, PageCommit, Timestamp, status_code};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The schema, one file per version; append-only.
/// The migrations, oldest first.
const STEPS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_init.sql")),
    M::up(include_str!("../../migrations/0002_settings_column.sql")),
];

/// The embedded migrations (for `validate()` in tests).
pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(STEPS)
}
/// The schema version this code writes.
pub const SCHEMA_VERSION: u32 = 2;

/// How hard a commit pushes to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: durable when the commit returns.
    Full,
    /// `synchronous=NORMAL`: in WAL mode, durable at the next FULL commit or checkpoint;
    /// a crash loses at most a suffix of such commits, never a middle.
    Normal,
}

/// How a store behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Durability of page commits and other runner events (commands are always FULL).
    pub page_durability: Durability,
    /// How long one attempt waits for the write lock.
    pub busy_timeout: Duration,
    /// Attempts of a whole transaction that finds the database busy.
    pub max_attempts: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            page_durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            max_attempts: 8,
        }
    }
}

/// A committed (or accepted but unchanged) transition.
#[must_use = "effects tell the runtime what to do next"]
#[derive(Debug, Clone)]
pub struct Committed {
    /// The job as it is now (as it was, when the job was deleted).
    pub state: JobState,
    pub effects: Vec<Effect>,
    /// False when the input changed nothing and nothing was written.
    pub changed: bool,
}

/// A job claimed by a runner.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub state: JobState,
    pub token: u64,
}

/// One open syncjob database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    options: Options,
    sync: Durability,
    cache: StateCache,
}

/// Parsed states by job id, each valid for exactly the version it carries.
///
/// A transaction starts from the cached state without reading the row; the guarded
/// UPDATE (`WHERE version = cached`) then proves it was current, and any outcome that
/// writes nothing (a refusal, a no-op) checks the row's version first. Page commits and
/// completions check the version before their target writes run (see [`load_current`]).
/// A stale entry (another process committed) makes the transaction roll back and run
/// again from a fresh read. This saves reading and parsing the row on every commit. Updates are
/// staged and published only after COMMIT, so the cache never holds a state the
/// database does not. Sound because every commit bumps the version and job ids are
/// never reused.
/// States are shared (`Arc`) so that starting a transaction from one copies nothing.
#[derive(Default)]
struct StateCache {
    states: std::collections::HashMap<String, Arc<JobState>>,
    staged: Vec<(String, Option<Arc<JobState>>)>,
}

impl StateCache {
    const CAPACITY: usize = 4096;

    fn stage(&mut self, id: &str, state: Option<&JobState>) {
        self.staged
            .push((id.to_string(), state.map(|s| Arc::new(s.clone()))));
    }

    fn publish(&mut self) {
        for (id, state) in self.staged.drain(..) {
            match state {
                Some(s) => {
                    if self.states.len() >= Self::CAPACITY && !self.states.contains_key(&id) {
                        self.states.clear();
                    }
                    self.states.insert(id, s);
                }
                None => {
                    self.states.remove(&id);
                }
            }
        }
    }
}

fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

impl Store {
    /// Opens (or creates) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Options::default())
    }

    /// Opens `path`: refuses foreign, newer and damaged files untouched, then sets the
    /// pragmas and applies pending migrations in one IMMEDIATE transaction.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let in_memory = path.as_os_str() == ":memory:";
        if !in_memory {
            open::inspect(&path, SCHEMA_VERSION)?;
        }
        let corrupt = |e: rusqlite::Error| StoreError::from(e).in_file(&path);
        let mut conn = Connection::open(&path).map_err(corrupt)?;
        conn.busy_timeout(options.busy_timeout).map_err(corrupt)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(corrupt)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(corrupt)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(corrupt)?;
        // rusqlite_migration opens its transaction with the connection's default
        // behaviour: IMMEDIATE takes the write lock before it reads user_version's effects.
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        if let Err(e) = migrations().to_latest(&mut conn) {
            // A concurrent opener may have migrated first; that is success.
            let version: u32 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(corrupt)?;
            if version != SCHEMA_VERSION {
                return Err(StoreError::Migration(e.to_string()));
            }
        }
        conn.set_transaction_behavior(TransactionBehavior::Deferred);
        let app: u32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(corrupt)?;
        if app != open::APPLICATION_ID {
            return Err(StoreError::OtherApplication {
                path,
                application_id: app,
            });
        }
        Ok(Self {
            conn,
            path,
            options,
            sync: Durability::Full,
            cache: StateCache::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The connection, for reading target data and for tests (size limits, plans).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    fn set_sync(&mut self, d: Durability) -> Result<(), StoreError> {
        if self.sync != d {
            let v = match d {
                Durability::Full => "FULL",
                Durability::Normal => "NORMAL",
            };
            self.conn.pragma_update(None, "synchronous", v)?;
            self.sync = d;
        }
        Ok(())
    }

    /// Runs `body` in one IMMEDIATE transaction, retrying the whole transaction when the
    /// database is busy, up to `max_attempts`.
    fn transact<T>(
        &mut self,
        durability: Durability,
        mut body: impl FnMut(&Transaction, &mut StateCache) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.set_sync(durability)?;
        let mut attempt = 0;
        let mut reread = false;
        loop {
            attempt += 1;
            let cache = &mut self.cache;
            let result: Result<T, StoreError> = (|| {
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let value = body(&tx, cache)?;
                tx.commit()?;
                Ok(value)
            })();
            if result.is_ok() {
                self.cache.publish();
            } else {
                self.cache.staged.clear();
            }
            match result {
                // The rerun reads every row afresh, which cannot be stale: one rerun, and
                // not counted against the busy attempts (it must not be what exhausts them).
                Err(StoreError::StaleCache) if !reread => {
                    self.cache.states.clear();
                    reread = true;
                    attempt -= 1;
                }
                Err(e) if e.is_busy() && attempt < self.options.max_attempts => {
                    std::thread::sleep(Duration::from_millis(5 << attempt.min(6)));
                }
                Err(e) if e.is_busy() => return Err(StoreError::Busy { attempts: attempt }),
                other => return other.map_err(|e| e.in_file(&self.path)),
            }
        }
    }

    /// Inserts a new job (version 1) and its first audit row.
    pub fn create(&mut self, state: &JobState, now: Timestamp) -> Result<(), StoreError> {
        self.transact(Durability::Full, |tx, _| {
            let exists: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM jobs WHERE id = ?1")?
                .query_row([&state.id], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::AlreadyExists { id: state.id.clone() });
            }
            tx.prepare_cached(
                "INSERT INTO jobs (id, service_principal_id, template_id, version, code, due_at_ms,
                                   lease_holder, lease_expires_ms, created_at, state, settings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                state.id,
                state.service_principal_id,
                state.template_id,
                state.version as i64,
                status_code(state).as_str(),
                state.due_at().map(ms),
                state.lease.as_ref().map(|l| l.holder.clone()),
                state.lease.as_ref().map(|l| ms(l.expires)),
                job::time::format_ts(&state.created),
                codec::checkpoint_json(state)?,
                codec::settings_json(state)?,
            ])?;
            audit(tx, state, "operator", "create", status_code(state), now)?;
            Ok(())
        })
    }

    /// Applies a command to job `id` (scoped to `sp` when given: another
    /// servicePrincipal's job is `NotFound`). Always `synchronous=FULL`.
    pub fn command(
        &mut self,
        id: &str,
        sp: Option<&str>,
        command: job::Command,
        now: Timestamp,
    ) -> Result<Committed, StoreError> {
        let input = Input::Command(command);
        self.transact(Durability::Full, |tx, cache| {
            commit_in(tx, cache, id, sp, &input, now)
        })
    }

    /// Applies a runner event (claim, release, cycle began/completed/failed, tick).
    pub fn event(&mut self, id: &str, event: Event, now: Timestamp) -> Result<Committed, StoreError> {
        let input = Input::Event(event);
        let d = self.options.page_durability;
        self.transact(d, |tx, cache| commit_in(tx, cache, id, None, &input, now))
    }

    /// Applies an input whose contents depend on the job's current state and which may
    /// write target rows in the same transaction (a cycle's completion with its deletes).
    pub fn event_with(
        &mut self,
        id: &str,
        now: Timestamp,
        mut build: impl FnMut(&Transaction, &JobState) -> Result<Event, StoreError>,
    ) -> Result<Committed, StoreError> {
        let d = self.options.page_durability;
        self.transact(d, |tx, cache| {
            let loaded = load_current(tx, cache, id)?;
            let event = build(tx, &loaded.state)?;
            apply_in(tx, cache, loaded, &Input::Event(event), now)
        })
    }

    /// A page commit (contract section 5.1): checks that the page may commit (lease,
    /// cycle, cursor, not paused) on the job's current state, under the write lock and
    /// before any target write, so that a page overtaken by a pause (from any process)
    /// reaches not even an external target; then lets `write` put the target rows in
    /// the same transaction and describe the page, and commits the checkpoint and the
    /// audit row. A refused page writes nothing.
    pub fn page_commit(
        &mut self,
        id: &str,
        header: &PageHeader,
        now: Timestamp,
        mut write: impl FnMut(&Transaction, &JobState) -> Result<PageCommit, StoreError>,
    ) -> Result<Committed, StoreError> {
        let d = self.options.page_durability;
        self.transact(d, |tx, cache| {
            let loaded = load_current(tx, cache, id)?;
            let s = &loaded.state;
            if let Err(refused) =
                job::transition::check_page(s, header.token, &header.activity_id, header.from_cursor, now)
            {
                return Err(refused.into());
            }
            let page = write(tx, s)?;
            apply_in(tx, cache, loaded, &Input::Event(Event::PageCommitted(page)), now)
        })
    }

    /// Claims up to `max` due jobs for `holder`: each gets a lease with a fresh fencing
    /// token. Jobs whose 28-day quarantine series ran out are disabled instead.
    pub fn claim_due(
        &mut self,
        holder: &str,
        max: usize,
        ttl: IsoDuration,
        now: Timestamp,
    ) -> Result<Vec<Claimed>, StoreError> {
        let d = self.options.page_durability;
        self.transact(d, |tx, cache| {
            let ids: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM jobs
                     WHERE due_at_ms <= ?1 AND (lease_expires_ms IS NULL OR lease_expires_ms <= ?1)
                     ORDER BY due_at_ms LIMIT ?2",
                )?
                .query_map(params![ms(now), max as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut claimed = Vec::new();
            for id in ids {
                let ticked = commit_in(tx, cache, &id, None, &Input::Event(Event::Tick), now)?;
                let claim = Input::Event(Event::ClaimLease {
                    holder: holder.to_string(),
                    ttl,
                });
                let loaded = Loaded {
                    state: Arc::new(ticked.state),
                    verified: true,
                };
                match apply_in(tx, cache, loaded, &claim, now) {
                    Ok(c) => {
                        let token = c.state.lease.as_ref().map_or(0, |l| l.token);
                        claimed.push(Claimed {
                            state: c.state,
                            token,
                        });
                    }
                    Err(StoreError::Refused(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(claimed)
        })
    }

    /// Runs `write` in one IMMEDIATE transaction that changes no job state: target rows
    /// written outside a cycle (provisioning on demand).
    pub fn write_target<T>(
        &mut self,
        mut write: impl FnMut(&Transaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transact(Durability::Full, |tx, _| write(tx))
    }

    /// Extends the lease `token` of job `id` by its TTL from `now`. Refused (`LeaseLost`)
    /// once another runner took the job over, and (`Paused`) once the job was paused.
    pub fn renew(&mut self, id: &str, token: u64, now: Timestamp) -> Result<Committed, StoreError> {
        self.event(id, Event::RenewLease { token }, now)
    }

    /// Releases the lease `token` of job `id`.
    pub fn release(&mut self, id: &str, token: u64, now: Timestamp) -> Result<Committed, StoreError> {
        self.event(id, Event::ReleaseLease { token }, now)
    }
}

/// The identity of a page, checked before its target rows are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHeader {
    pub token: u64,
    pub activity_id: String,
    pub from_cursor: u64,
}

/// A job's state as a transaction started from it.
struct Loaded {
    state: Arc<JobState>,
    /// Read from the row in this transaction (not taken from the cache unchecked).
    verified: bool,
}

/// The job's state: the cached one (checked later by the write's version guard or by
/// [`verify`]), else the row, parsed and checked against its version column.
fn load_in(tx: &Transaction, cache: &mut StateCache, id: &str) -> Result<Loaded, StoreError> {
    if let Some(s) = cache.states.get(id) {
        return Ok(Loaded {
            state: Arc::clone(s),
            verified: false,
        });
    }
    let state = read::load_row(tx, id)?.ok_or_else(|| StoreError::NotFound { id: id.to_string() })?;
    Ok(Loaded {
        state: Arc::new(state),
        verified: true,
    })
}

/// The job's state, proven current before the caller acts on it: for transactions
/// whose writes may leave the database (an external target), where the version guard
/// at the end would come too late. Costs a version read, not a parse.
fn load_current(tx: &Transaction, cache: &mut StateCache, id: &str) -> Result<Loaded, StoreError> {
    let mut loaded = load_in(tx, cache, id)?;
    verify(tx, &loaded)?;
    loaded.verified = true;
    Ok(loaded)
}

/// Before an outcome that writes nothing, proves a cached state is the row's.
fn verify(tx: &Transaction, loaded: &Loaded) -> Result<(), StoreError> {
    if loaded.verified {
        return Ok(());
    }
    let version: Option<i64> = tx
        .prepare_cached("SELECT version FROM jobs WHERE id = ?1")?
        .query_row([&loaded.state.id], |r| r.get(0))
        .optional()?;
    if version == Some(loaded.state.version as i64) {
        Ok(())
    } else {
        Err(StoreError::StaleCache)
    }
}

/// A guarded write changed `n` rows: anything but one is a stale cache (retry from a
/// fresh read) or, for a state read in this transaction, a conflict.
fn guarded(n: usize, loaded: &Loaded) -> Result<(), StoreError> {
    match (n, loaded.verified) {
        (1, _) => Ok(()),
        (_, false) => Err(StoreError::StaleCache),
        (_, true) => Err(StoreError::Conflict {
            id: loaded.state.id.clone(),
            expected: loaded.state.version,
        }),
    }
}

fn commit_in(
    tx: &Transaction,
    cache: &mut StateCache,
    id: &str,
    sp: Option<&str>,
    input: &Input,
    now: Timestamp,
) -> Result<Committed, StoreError> {
    let loaded = load_in(tx, cache, id)?;
    if sp.is_some_and(|sp| sp != loaded.state.service_principal_id) {
        return Err(StoreError::NotFound { id: id.to_string() });
    }
    apply_in(tx, cache, loaded, input, now)
}

/// Applies `input` to `state` (read in this transaction) and writes the result.
fn apply_in(
    tx: &Transaction,
    cache: &mut StateCache,
    loaded: Loaded,
    input: &Input,
    now: Timestamp,
) -> Result<Committed, StoreError> {
    let t = match job::apply(&loaded.state, input, now) {
        Ok(t) => t,
        Err(refused) => {
            verify(tx, &loaded)?;
            return Err(refused.into());
        }
    };
    if !t.changed && !t.effects.contains(&Effect::DeleteJob) {
        verify(tx, &loaded)?;
        return Ok(Committed {
            state: t.state,
            effects: t.effects,
            changed: false,
        });
    }
    let state = &loaded.state;
    if t.effects.contains(&Effect::DeleteJob) {
        let n = tx
            .prepare_cached("DELETE FROM jobs WHERE id = ?1 AND version = ?2")?
            .execute(params![state.id, state.version as i64])?;
        guarded(n, &loaded)?;
        tx.prepare_cached("DELETE FROM transitions WHERE job_id = ?1")?
            .execute([&state.id])?;
        cache.stage(&state.id, None);
        return Ok(Committed {
            state: Arc::unwrap_or_clone(loaded.state),
            effects: t.effects,
            changed: true,
        });
    }
    let s = &t.state;
    // Setting an indexed column, even to its old value, rewrites its index entry:
    // only touch `due_at_ms` when the due time moved (most page commits keep it).
    let due = s.due_at().map(ms);
    let sql = if due == state.due_at().map(ms) {
        "UPDATE jobs SET version = ?1, code = ?2, lease_holder = ?4, lease_expires_ms = ?5, state = ?6,
                         settings = coalesce(?9, settings)
         WHERE id = ?7 AND version = ?8 AND ?3 IS ?3"
    } else {
        "UPDATE jobs SET version = ?1, code = ?2, due_at_ms = ?3, lease_holder = ?4,
                         lease_expires_ms = ?5, state = ?6, settings = coalesce(?9, settings)
         WHERE id = ?7 AND version = ?8"
    };
    // Settings are encoded only by the (operator) commits that change them.
    let settings = if s.settings != state.settings {
        Some(codec::settings_json(s)?)
    } else {
        None
    };
    let n = tx.prepare_cached(sql)?.execute(params![
        s.version as i64,
        status_code(s).as_str(),
        due,
        s.lease.as_ref().map(|l| l.holder.clone()),
        s.lease.as_ref().map(|l| ms(l.expires)),
        codec::checkpoint_json(s)?,
        s.id,
        state.version as i64,
        settings,
    ])?;
    guarded(n, &loaded)?;
    audit(tx, s, input.actor(), &input.summary(), status_code(state), now)?;
    cache.stage(&s.id, Some(s));
    Ok(Committed {
        state: t.state,
        effects: t.effects,
        changed: true,
    })
}

fn audit(
    tx: &Transaction,
    after: &JobState,
    actor: &str,
    input: &str,
    code_before: job::StatusCode,
    now: Timestamp,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO transitions (job_id, version, at, actor, input, code_before, code_after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        after.id,
        after.version as i64,
        job::time::format_ts(&now),
        actor,
        input,
        code_before.as_str(),
        status_code(after).as_str(),
    ])?;
    Ok(())
}
