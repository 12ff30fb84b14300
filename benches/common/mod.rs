//! Shared by the benches: jobs, stores, and the raw rusqlite baseline.
#![allow(dead_code)]

use rusqlite::{Connection, TransactionBehavior, params};
use std::time::Duration;
use syncjob::job::{Command, Event, IsoDuration, JobState, Settings, time::epoch_for_tests};
use syncjob::store::{Durability, Options, Store};

pub fn job(n: usize) -> JobState {
    JobState::new(
        format!("generated.{n:032x}"),
        "sp",
        "generated",
        Settings::defaults(),
        epoch_for_tests(),
    )
}

pub fn open(dir: &std::path::Path, name: &str, d: Durability) -> Store {
    Store::open_with(
        dir.join(name),
        Options {
            page_durability: d,
            ..Options::default()
        },
    )
    .unwrap()
}

/// One engine commit that changes the job: pause/start (commands, FULL) or a lease
/// claim/release (runner events, at the store's page durability).
pub struct EngineCommits {
    pub st: Store,
    pub id: String,
    flip: bool,
    token: Option<u64>,
    d: Durability,
}

impl EngineCommits {
    pub fn new(dir: &std::path::Path, name: &str, d: Durability) -> Self {
        let mut st = open(dir, name, d);
        let s = job(1);
        st.create(&s, epoch_for_tests()).unwrap();
        if d == Durability::Normal {
            let _ = st
                .command(&s.id, None, Command::Start, epoch_for_tests())
                .unwrap();
        }
        Self {
            st,
            id: s.id,
            flip: false,
            token: None,
            d,
        }
    }

    pub fn commit(&mut self) {
        let now = epoch_for_tests();
        self.flip = !self.flip;
        if self.d == Durability::Full {
            let cmd = if self.flip { Command::Pause } else { Command::Start };
            let _ = self.st.command(&self.id, None, cmd, now).unwrap();
        } else if let Some(t) = self.token.take() {
            let _ = self
                .st
                .event(&self.id, Event::ReleaseLease { token: t }, now)
                .unwrap();
        } else {
            let claim = Event::ClaimLease {
                holder: "b".into(),
                ttl: IsoDuration::from_mins(10),
            };
            let c = self.st.event(&self.id, claim, now).unwrap();
            self.token = c.state.lease.map(|l| l.token);
        }
    }
}

/// The baseline: the same schema (a database made by the store) and the same row
/// contents, written with the minimal statements: one guarded UPDATE and one INSERT.
pub struct RawCommits {
    conn: Connection,
    payload: String,
    id: String,
    v: i64,
    d: Durability,
}

impl RawCommits {
    pub fn new(dir: &std::path::Path, name: &str, d: Durability) -> Self {
        let path = dir.join(name);
        let state = job(1);
        let mut st = Store::open(&path).unwrap();
        st.create(&state, epoch_for_tests()).unwrap();
        // The row the engine writes: a started job, and claimed for NORMAL's lease moves.
        let _ = st
            .command(&state.id, None, Command::Start, epoch_for_tests())
            .unwrap();
        if d == Durability::Normal {
            let claim = Event::ClaimLease {
                holder: "b".into(),
                ttl: IsoDuration::from_mins(10),
            };
            let _ = st.event(&state.id, claim, epoch_for_tests()).unwrap();
        }
        let payload: String = st
            .conn()
            .query_row("SELECT state FROM jobs", [], |r| r.get(0))
            .unwrap();
        drop(st);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        let sync = if d == Durability::Full { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", sync).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        Self {
            conn,
            payload,
            id: state.id,
            v: if d == Durability::Normal { 3 } else { 2 },
            d,
        }
    }

    pub fn commit(&mut self) {
        let v = self.v;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let sql = if self.d == Durability::Full {
            // pause / start: the due time leaves and re-enters its index
            "UPDATE jobs SET version = ?1, code = 'NotRun', due_at_ms = ?5, state = ?2
             WHERE id = ?3 AND version = ?4"
        } else {
            // claim / release: the lease columns change
            "UPDATE jobs SET version = ?1, code = 'NotRun', lease_holder = 'b', lease_expires_ms = ?5, state = ?2
             WHERE id = ?3 AND version = ?4"
        };
        let n = tx
            .prepare_cached(sql)
            .unwrap()
            .execute(params![
                v + 1,
                self.payload,
                self.id,
                v,
                (v % 2 == 0).then_some(v)
            ])
            .unwrap();
        assert_eq!(n, 1);
        tx.prepare_cached(
            "INSERT INTO transitions VALUES (?1, ?2, '2026-12-03T17:00:00Z', 'runner', 'releaseLease(1)', 'NotRun', 'NotRun')",
        )
        .unwrap()
        .execute(params![self.id, v + 1])
        .unwrap();
        tx.commit().unwrap();
        self.v += 1;
    }
}
