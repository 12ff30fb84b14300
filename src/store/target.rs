//! The contract's same-database target: `target_entries (job_id, object_type, entry_id,
//! attributes JSON, deleted, updated_at)`. Writes happen inside a page commit's
//! transaction, so a page's rows and its checkpoint are durable together or not at all.

use super::StoreError;
use crate::job::{EntryKey, Timestamp, time::format_ts};
use rusqlite::{Connection, params};

/// Upserts one entry (clearing `deleted`). Returns true when the entry was not present
/// before (new, or previously deleted): the target's entry count grows by one.
///
/// An initial cycle mostly inserts, so the insert is tried first and an existing row
/// costs a second statement; an upsert with `ON CONFLICT` could not tell the two apart.
pub fn upsert(
    conn: &Connection,
    job_id: &str,
    key: &EntryKey,
    attributes: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let now = format_ts(&now);
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO target_entries (job_id, object_type, entry_id, attributes, deleted, updated_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)",
        )?
        .execute(params![job_id, key.object_type, key.id, attributes, now])?;
    if inserted == 1 {
        return Ok(true);
    }
    let resurrected = conn
        .prepare_cached(
            "UPDATE target_entries SET attributes = ?4, deleted = 0, updated_at = ?5
             WHERE job_id = ?1 AND object_type = ?2 AND entry_id = ?3 AND deleted = 1",
        )?
        .execute(params![job_id, key.object_type, key.id, attributes, now])?;
    if resurrected == 1 {
        return Ok(true);
    }
    conn.prepare_cached(
        "UPDATE target_entries SET attributes = ?4, updated_at = ?5
         WHERE job_id = ?1 AND object_type = ?2 AND entry_id = ?3",
    )?
    .execute(params![job_id, key.object_type, key.id, attributes, now])?;
    Ok(false)
}

/// Marks one entry deleted. Returns true when it was present.
pub fn delete(conn: &Connection, job_id: &str, key: &EntryKey, now: Timestamp) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE target_entries SET deleted = 1, updated_at = ?4
             WHERE job_id = ?1 AND object_type = ?2 AND entry_id = ?3 AND deleted = 0",
        )?
        .execute(params![job_id, key.object_type, key.id, format_ts(&now)])?;
    Ok(n == 1)
}

/// The present (not deleted) entries of a job, ordered, with their attributes.
pub fn present(conn: &Connection, job_id: &str) -> Result<Vec<(EntryKey, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT object_type, entry_id, attributes FROM target_entries
         WHERE job_id = ?1 AND deleted = 0 ORDER BY object_type, entry_id",
    )?;
    let rows = stmt
        .query_map([job_id], |r| {
            Ok((
                EntryKey::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                r.get(2)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many present entries a job has in the target.
pub fn count_present(conn: &Connection, job_id: &str) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM target_entries WHERE job_id = ?1 AND deleted = 0")?
        .query_row([job_id], |r| r.get(0))?;
    Ok(n as u64)
}

/// A digest of a job's target rows, to compare snapshots cheaply.
pub fn digest(conn: &Connection, job_id: &str) -> Result<String, StoreError> {
    let d: Option<String> = conn
        .prepare_cached(
            "SELECT count(*) || ':' || total(length(attributes)) || ':' || max(updated_at) || ':' || sum(deleted)
             FROM target_entries WHERE job_id = ?1",
        )?
        .query_row([job_id], |r| r.get(0))?;
    Ok(d.unwrap_or_default())
}
