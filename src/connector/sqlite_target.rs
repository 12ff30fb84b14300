//! The built-in targets: the job database's `target_entries` table, written inside the
//! page commit, or the same table in a separate SQLite file at `targetPath`.

use super::{ConnectorError, Export, ExportResult, Target};
use crate::job::Timestamp;
use crate::store::{StoreError, target};
use rusqlite::Connection;

fn storage(e: StoreError) -> ConnectorError {
    match e {
        StoreError::DiskFull | StoreError::WriteFailed { .. } | StoreError::Busy { .. } => {
            ConnectorError::transient("TargetUnavailable", e.to_string())
        }
        other => ConnectorError::fatal("TargetUnavailable", other.to_string()),
    }
}

fn apply_all(
    conn: &Connection,
    job_id: &str,
    exports: &[Export],
    now: Timestamp,
) -> Result<Vec<ExportResult>, StoreError> {
    exports
        .iter()
        .map(|e| match e {
            Export::Upsert { key, attributes } => {
                target::upsert(conn, job_id, key, attributes, now).map(|c| Ok(c as i64))
            }
            Export::Delete { key } => target::delete(conn, job_id, key, now).map(|d| Ok(-(d as i64))),
        })
        .collect()
}

/// `target_entries` in the job database: rows commit atomically with the checkpoint,
/// so no entry is applied twice.
pub struct SameDatabase;

impl Target for SameDatabase {
    fn apply(
        &mut self,
        tx: &Connection,
        job_id: &str,
        exports: &[Export],
        now: Timestamp,
    ) -> Result<Vec<ExportResult>, ConnectorError> {
        // A failure here is the job database's own: the page fails and is retried.
        apply_all(tx, job_id, exports, now)
            .map_err(|e| ConnectorError::transient("StoreUnavailable", e.to_string()))
    }

    fn check(&mut self) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// `target_entries` in another SQLite file. Each page is committed there before the
/// checkpoint: at-least-once, idempotent by key.
pub struct ExternalSqlite {
    conn: Connection,
}

impl ExternalSqlite {
    pub fn open(path: &str) -> Result<Self, ConnectorError> {
        let fail = |e: rusqlite::Error| ConnectorError::fatal("TargetUnreachable", format!("{path}: {e}"));
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS target_entries (
                job_id TEXT NOT NULL, object_type TEXT NOT NULL, entry_id TEXT NOT NULL,
                attributes TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL,
                PRIMARY KEY (job_id, object_type, entry_id)) WITHOUT ROWID;",
        )
        .map_err(fail)?;
        Ok(Self { conn })
    }
}

impl Target for ExternalSqlite {
    fn apply(
        &mut self,
        _tx: &Connection,
        job_id: &str,
        exports: &[Export],
        now: Timestamp,
    ) -> Result<Vec<ExportResult>, ConnectorError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| storage(e.into()))?;
        let out = apply_all(&tx, job_id, exports, now).map_err(storage)?;
        tx.commit().map_err(|e| storage(e.into()))?;
        Ok(out)
    }

    fn check(&mut self) -> Result<(), ConnectorError> {
        self.conn
            .query_row("SELECT count(*) FROM target_entries", [], |r| r.get::<_, i64>(0))
            .map(|_| ())
            .map_err(|e| ConnectorError::fatal("TargetUnreachable", e.to_string()))
    }
}
