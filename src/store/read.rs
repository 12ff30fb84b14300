//! Reads: one job, a servicePrincipal's jobs, the audit log.

use super::{Store, StoreError, codec};
use crate::job::JobState;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub version: u64,
    pub at: String,
    pub actor: String,
    pub input: String,
    pub code_before: String,
    pub code_after: String,
}

/// The job `id` read from its row (through a transaction, or not), if it exists.
pub(super) fn load_row(conn: &Connection, id: &str) -> Result<Option<JobState>, StoreError> {
    let row: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT version, settings, state FROM jobs WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(v, settings, state)| codec::decode(id, v, &settings, &state))
        .transpose()
}

impl Store {
    /// Runs a read; a damaged page it meets is `Corrupt`, naming the file.
    fn reading<T>(&self, read: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        read(&self.conn).map_err(|e| e.in_file(&self.path))
    }

    /// The job `id`, if it exists.
    pub fn get(&self, id: &str) -> Result<Option<JobState>, StoreError> {
        self.reading(|c| load_row(c, id))
    }

    /// The job `id` if it belongs to servicePrincipal `sp`.
    pub fn get_scoped(&self, sp: &str, id: &str) -> Result<Option<JobState>, StoreError> {
        Ok(self.get(id)?.filter(|s| s.service_principal_id == sp))
    }

    /// The jobs of servicePrincipal `sp`, by id.
    pub fn list(&self, sp: &str) -> Result<Vec<JobState>, StoreError> {
        self.query_states(
            "SELECT id, version, settings, state FROM jobs WHERE service_principal_id = ?1 ORDER BY id",
            Some(sp),
        )
    }

    /// Every job, by id.
    pub fn list_all(&self) -> Result<Vec<JobState>, StoreError> {
        self.query_states("SELECT id, version, settings, state FROM jobs ORDER BY id", None)
    }

    fn query_states(&self, sql: &str, arg: Option<&str>) -> Result<Vec<JobState>, StoreError> {
        self.reading(|c| {
            let mut stmt = c.prepare_cached(sql)?;
            let map = |r: &rusqlite::Row| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            };
            let rows: Vec<(String, i64, String, String)> = match arg {
                Some(a) => stmt.query_map([a], map)?.collect::<Result<_, _>>()?,
                None => stmt.query_map([], map)?.collect::<Result<_, _>>()?,
            };
            rows.iter()
                .map(|(id, v, settings, state)| codec::decode(id, *v, settings, state))
                .collect()
        })
    }

    /// The audit log of job `id`, newest first, at most `top` rows.
    pub fn transitions(&self, id: &str, top: usize) -> Result<Vec<AuditRow>, StoreError> {
        self.reading(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT version, at, actor, input, code_before, code_after FROM transitions
                 WHERE job_id = ?1 ORDER BY version DESC LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![id, top as i64], |r| {
                    Ok(AuditRow {
                        version: r.get::<_, i64>(0)? as u64,
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        input: r.get(3)?,
                        code_before: r.get(4)?,
                        code_after: r.get(5)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    /// Counts of jobs by status code, for metrics.
    pub fn count_by_code(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.reading(|c| {
            let mut stmt = c.prepare_cached("SELECT code, count(*) FROM jobs GROUP BY code ORDER BY code")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }
}
