//! Why a store operation failed. Every variant leaves the database as it was.

use crate::job::TransitionError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: not a SQLite database (refusing to touch it)")]
    NotSqlite { path: PathBuf },
    #[error(
        "{path}: a SQLite database of another application (application_id {application_id:#x}); refusing to touch it"
    )]
    OtherApplication { path: PathBuf, application_id: u32 },
    #[error(
        "{path}: schema version {found} is newer than this syncjob supports ({supported}); upgrade syncjob"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path}: the database is corrupt ({reason}); restore it from a backup")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no job {id}")]
    NotFound { id: String },
    #[error("job {id} already exists")]
    AlreadyExists { id: String },
    /// The pure core refused the input (a 409 for commands; a lost page for runners).
    #[error("{0}")]
    Refused(#[from] TransitionError),
    /// The guarded UPDATE did not change exactly one row: someone wrote behind our back.
    #[error("job {id} changed under this commit (expected version {expected})")]
    Conflict { id: String, expected: u64 },
    /// Internal: a cached state turned out not to be current; the transaction reruns.
    #[error("a cached job state was stale (retried internally)")]
    StaleCache,
    #[error("the database stayed locked through {attempts} attempts; try again")]
    Busy { attempts: u32 },
    #[error("the disk is full (or the database reached its size limit); nothing was changed")]
    DiskFull,
    /// The operating system failed a read or write (`SQLITE_IOERR`): the transaction
    /// was rolled back; the store works again once the device does.
    #[error("the disk failed a write or read ({reason}); nothing was changed")]
    WriteFailed { reason: String },
    #[error("stored state of job {id} cannot be read: {reason}")]
    BadState { id: String, reason: String },
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("{0}")]
    Target(String),
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        match e.sqlite_error_code() {
            Some(DiskFull) => StoreError::DiskFull,
            Some(SystemIoFailure) => StoreError::WriteFailed {
                reason: e.to_string(),
            },
            Some(DatabaseBusy | DatabaseLocked) => StoreError::Busy { attempts: 1 },
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// Names the file in a corruption that SQLite found while reading or writing (a
    /// damaged page that the checks at open, which read only the header, cannot see).
    pub(super) fn in_file(self, path: &std::path::Path) -> Self {
        match &self {
            StoreError::Sqlite(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
                ) =>
            {
                StoreError::Corrupt {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }
            }
            _ => self,
        }
    }

    /// Worth retrying the whole transaction.
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::StoreError;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn storage_failures_get_their_own_types() {
        assert!(matches!(
            StoreError::from(sqlite(ffi::SQLITE_FULL)),
            StoreError::DiskFull
        ));
        let io = StoreError::from(sqlite(ffi::SQLITE_IOERR_WRITE));
        assert!(matches!(io, StoreError::WriteFailed { .. }), "{io:?}");
        assert!(StoreError::from(sqlite(ffi::SQLITE_BUSY_SNAPSHOT)).is_busy());
        assert!(StoreError::from(sqlite(ffi::SQLITE_BUSY)).is_busy());
        assert!(StoreError::from(sqlite(ffi::SQLITE_LOCKED)).is_busy());
        assert!(matches!(
            StoreError::from(sqlite(ffi::SQLITE_CONSTRAINT)),
            StoreError::Sqlite(_)
        ));
    }
}
