//! Opening a database file: refuse what is not ours before SQLite touches it, then set
//! the connection's pragmas and migrate.
//!
//! The checks read the 100-byte SQLite header with plain file I/O, so a refused file is
//! left byte for byte as it was, with no `-wal` or `-shm` created beside it.

use super::StoreError;
use std::io::Read;
use std::path::Path;

/// `PRAGMA application_id` of syncjob databases: 'SJOB'.
pub const APPLICATION_ID: u32 = u32::from_be_bytes(*b"SJOB");

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What the header says about an existing file.
#[derive(Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Missing or empty: a new database will be made.
    New,
    /// A syncjob database (or an empty SQLite file) at this schema version.
    Ours { user_version: u32 },
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Classifies `path` without opening it as a database.
pub fn inspect(path: &Path, supported: u32) -> Result<FileKind, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::New),
        Err(e) => return Err(io(e)),
    };
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(FileKind::New);
    }
    let mut header = [0u8; 100];
    let mut got = 0;
    while got < header.len() {
        match file.read(&mut header[got..]).map_err(io)? {
            0 => break,
            n => got += n,
        }
    }
    if got < MAGIC.len() || &header[..16] != MAGIC {
        return Err(StoreError::NotSqlite {
            path: path.to_path_buf(),
        });
    }
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if got < 100 {
        return Err(corrupt(format!("the file ends inside its header ({len} bytes)")));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        n => return Err(corrupt(format!("impossible page size {n}"))),
    };
    // With a write-ahead log beside it the file may be mid-checkpoint (page 1, with the
    // new page count, is written before the pages after it): SQLite reconciles the two,
    // and the size checks below only hold for a file at rest.
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    let at_rest = !wal.exists();
    if at_rest && len % page_size != 0 {
        return Err(corrupt(format!(
            "{len} bytes is not a whole number of {page_size}-byte pages"
        )));
    }
    // The in-header page count is valid when "version-valid-for" matches the change counter.
    let pages = u64::from(be32(&header, 28));
    if at_rest && be32(&header, 92) == be32(&header, 24) && pages * page_size > len {
        return Err(corrupt(format!(
            "the header counts {pages} pages but the file holds {}",
            len / page_size
        )));
    }
    let application_id = be32(&header, 68);
    let user_version = be32(&header, 60);
    let schema_cookie = be32(&header, 40);
    let empty = pages <= 1 && schema_cookie == 0;
    if application_id != APPLICATION_ID && !(application_id == 0 && empty) {
        return Err(StoreError::OtherApplication {
            path: path.to_path_buf(),
            application_id,
        });
    }
    if user_version > supported {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: user_version,
            supported,
        });
    }
    Ok(FileKind::Ours { user_version })
}
