//! The `jsonl` template: a JSON-lines change log at `sourcePath`, one change a line:
//! `{"op":"upsert"|"delete","objectType":…,"id":…,"attributes":{…}}`.
//!
//! The cursor and the watermark are byte offsets just after a complete line. A last
//! line without its newline is still being written: it is not consumed. A line that is
//! not a valid change is an entry-level error naming its line number.

use super::{Change, ConnectorError, ConnectorFactory, Op, Source, SourcePage, Target, builtin_target};
use crate::job::{EntryKey, JobState, SettingKind, SettingSpec, TemplateSpec};
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

pub const ID: &str = "jsonl";

pub fn spec() -> TemplateSpec {
    TemplateSpec {
        id: ID.into(),
        settings: vec![
            SettingSpec::new("sourcePath", SettingKind::Text, true),
            super::target_path_setting(),
        ],
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Line {
    op: LineOp,
    object_type: String,
    id: String,
    #[serde(default)]
    attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum LineOp {
    Upsert,
    Delete,
}

pub struct JsonlSource {
    path: PathBuf,
    /// `(offset, line number of the line starting there)` after the last read.
    position: Option<(u64, u64)>,
}

impl JsonlSource {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            position: None,
        }
    }

    fn open(&self) -> Result<File, ConnectorError> {
        File::open(&self.path).map_err(|e| {
            ConnectorError::fatal(
                "SourceUnreadable",
                format!("cannot read sourcePath {}: {e}", self.path.display()),
            )
        })
    }

    fn io(&self, e: std::io::Error) -> ConnectorError {
        ConnectorError::transient("SourceReadFailed", format!("{}: {e}", self.path.display()))
    }

    /// The number (1-based) of the line that starts at `offset`.
    fn line_number_at(&mut self, file: &mut File, offset: u64) -> Result<u64, ConnectorError> {
        if let Some((o, n)) = self.position
            && o == offset
        {
            return Ok(n);
        }
        file.seek(SeekFrom::Start(0)).map_err(|e| self.io(e))?;
        let mut newlines = 0u64;
        let mut left = offset;
        let mut buf = [0u8; 64 * 1024];
        while left > 0 {
            let want = buf.len().min(left as usize);
            let n = file.read(&mut buf[..want]).map_err(|e| self.io(e))?;
            if n == 0 {
                break;
            }
            newlines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            left -= n as u64;
        }
        Ok(newlines + 1)
    }

    /// Parses one line into a change, or an entry-level error naming it.
    fn parse(line_no: u64, text: &[u8]) -> Result<Change, (EntryKey, String)> {
        let bad = |why: String| {
            (
                EntryKey::new("Line", line_no.to_string()),
                format!("line {line_no}: {why}"),
            )
        };
        let l: Line = serde_json::from_slice(text).map_err(|e| bad(e.to_string()))?;
        if l.object_type.is_empty() || l.id.is_empty() {
            return Err(bad("objectType and id must not be empty".into()));
        }
        Ok(match l.op {
            LineOp::Upsert => Change {
                op: Op::Upsert,
                key: EntryKey::new(l.object_type, l.id),
                attributes: serde_json::Value::Object(l.attributes.unwrap_or_default()).to_string(),
            },
            LineOp::Delete => Change {
                op: Op::Delete,
                key: EntryKey::new(l.object_type, l.id),
                attributes: String::new(),
            },
        })
    }
}

impl Source for JsonlSource {
    fn begin(&mut self, watermark: Option<&str>) -> Result<(u64, Option<u64>), ConnectorError> {
        self.open()?;
        let start = match watermark {
            None => 0,
            Some(w) => w
                .parse()
                .map_err(|_| ConnectorError::fatal("BadWatermark", format!("`{w}` is not a byte offset")))?,
        };
        Ok((start, None))
    }

    fn read(
        &mut self,
        _watermark: Option<&str>,
        cursor: u64,
        max: usize,
    ) -> Result<SourcePage, ConnectorError> {
        let mut file = self.open()?;
        let mut line_no = self.line_number_at(&mut file, cursor)?;
        file.seek(SeekFrom::Start(cursor)).map_err(|e| self.io(e))?;
        let mut reader = BufReader::new(file);
        let mut page = SourcePage {
            next_cursor: cursor,
            ..Default::default()
        };
        let mut buf = Vec::new();
        let mut lines = 0;
        loop {
            if lines == max {
                break;
            }
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| self.io(e))?;
            if n == 0 || buf.last() != Some(&b'\n') {
                // End of the log, or a line still being written: stop before it.
                page.end = Some(page.next_cursor.to_string());
                break;
            }
            page.next_cursor += n as u64;
            lines += 1;
            let text = buf.trim_ascii();
            if !text.is_empty() {
                match Self::parse(line_no, text) {
                    Ok(c) => page.changes.push(c),
                    Err(f) => page.failed.push(f),
                }
            }
            line_no += 1;
        }
        self.position = Some((page.next_cursor, line_no));
        Ok(page)
    }

    fn get(&mut self, key: &EntryKey, _watermark: Option<&str>) -> Result<Option<Change>, ConnectorError> {
        let reader = BufReader::new(self.open()?);
        let mut last = None;
        for (i, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(|e| self.io(e))?;
            if let Ok(c) = Self::parse(i as u64 + 1, line.trim_ascii())
                && &c.key == key
            {
                last = Some(c);
            }
        }
        Ok(last.filter(|c| c.op == Op::Upsert))
    }

    fn check(&mut self) -> Result<(), ConnectorError> {
        self.open().map(|_| ())
    }
}

pub struct Factory;

impl ConnectorFactory for Factory {
    fn source(&self, job: &JobState) -> Result<Box<dyn Source>, ConnectorError> {
        let path = job
            .settings
            .get("sourcePath")
            .ok_or_else(|| ConnectorError::fatal("NotConfigured", "sourcePath is not set"))?;
        Ok(Box::new(JsonlSource::new(path)))
    }
    fn target(&self, job: &JobState) -> Result<Box<dyn Target>, ConnectorError> {
        builtin_target(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_lines_wait_and_malformed_lines_name_their_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"op":"upsert","objectType":"User","id":"a","attributes":{"n":1}}"#,
                "\n",
                "not json\n",
                r#"{"op":"delete","objectType":"User","id":"a"}"#,
                "\n",
                r#"{"op":"upsert","objectType":"User","id":"b""#
            ),
        )
        .unwrap();
        let mut s = JsonlSource::new(&path);
        let p = s.read(None, 0, 2).unwrap();
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.failed.len(), 1);
        assert!(p.failed[0].1.starts_with("line 2:"), "{}", p.failed[0].1);
        assert!(p.end.is_none());
        let mut fresh = JsonlSource::new(&path); // resumes at an offset: counts lines itself
        let q = fresh.read(None, p.next_cursor, 10).unwrap();
        assert_eq!(q.changes[0].op, Op::Delete);
        let end: u64 = q.end.as_deref().unwrap().parse().unwrap();
        assert_eq!(end, q.next_cursor, "the partial last line is not consumed");
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(end < len);
        let mut missing = JsonlSource::new(dir.path().join("nope.jsonl"));
        assert!(matches!(missing.begin(None), Err(ConnectorError::Fatal { .. })));
    }
}
