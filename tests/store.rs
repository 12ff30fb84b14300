//! The durable store: migrations, refused files, guarded commits, leases, disk full,
//! the due-job index, and a model-based test that drives the store and the pure core
//! side by side.

mod support;

use proptest::prelude::*;
use rusqlite::Connection;
use std::path::Path;
use support::*;
use syncjob::job::{self, Command, Event, IsoDuration, JobState, TransitionError};
use syncjob::store::{self, Options, PageHeader, Store, StoreError, target};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn schema(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn migrations_validate_and_migrating_twice_is_a_no_op() {
    store::migrations().validate().unwrap();
    let dir = tmp();
    let p = dir.path().join("a.db");
    let first = schema(Store::open(&p).unwrap().conn());
    let st = Store::open(&p).unwrap();
    assert_eq!(schema(st.conn()), first);
    let v: u32 = st
        .conn()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, store::SCHEMA_VERSION);
}

/// Released migrations are append-only: a database in the field was built from these
/// exact bytes. Editing one fails here; add a new numbered file instead (and its
/// fingerprint below once it is released).
#[test]
fn released_migrations_are_never_edited() {
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
    let released = [
        (include_str!("../migrations/0001_init.sql"), 0x339f_e174_2b69_4b77),
        (
            include_str!("../migrations/0002_settings_column.sql"),
            0xb1d0_65ff_9061_7136,
        ),
    ];
    for (n, (sql, fingerprint)) in released.iter().enumerate() {
        assert_eq!(
            fnv1a(sql.as_bytes()),
            *fingerprint,
            "migration {} was edited",
            n + 1
        );
    }
    assert_eq!(
        released.len() as u32,
        store::SCHEMA_VERSION,
        "a migration without a fingerprint"
    );
}

#[test]
fn a_database_built_from_the_frozen_0001_schema_upgrades_to_a_fresh_one() {
    let dir = tmp();
    let old = dir.path().join("old.db");
    {
        let c = Connection::open(&old).unwrap();
        c.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
    }
    let upgraded = schema(Store::open(&old).unwrap().conn());
    let fresh = schema(Store::open(dir.path().join("new.db")).unwrap().conn());
    assert_eq!(upgraded, fresh);
}

/// A version-1 database holds each job's settings inside its state JSON; version 2
/// moves them to their own column. Jobs written by version 1 read back unchanged.
#[test]
fn jobs_written_by_schema_1_read_back_unchanged_after_the_upgrade() {
    let dir = tmp();
    let old = dir.path().join("old.db");
    let mut jobs: Vec<JobState> = (0..3).map(|n| new_job(n, at(0))).collect();
    jobs[1].settings.policy.page_size = 7;
    jobs[1].settings.values.insert("pageSize".into(), "7".into());
    jobs[2] = job::apply(&jobs[2], &Command::Start.into(), at(1)).unwrap().state;
    {
        let c = Connection::open(&old).unwrap();
        c.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        for s in &jobs {
            c.execute(
                "INSERT INTO jobs (id, service_principal_id, template_id, version, code, due_at_ms,
                                   created_at, state)
                 VALUES (?1, ?2, ?3, ?4, 'NotRun', ?5, '2026-12-03T17:00:00Z', ?6)",
                rusqlite::params![
                    s.id,
                    s.service_principal_id,
                    s.template_id,
                    s.version as i64,
                    s.due_at().map(|t| t.timestamp_millis()),
                    serde_json::to_string(s).unwrap()
                ],
            )
            .unwrap();
        }
    }
    let mut st = Store::open(&old).unwrap();
    for s in &jobs {
        assert_eq!(st.get(&s.id).unwrap().as_ref(), Some(s));
        let state: String = st
            .conn()
            .query_row("SELECT state FROM jobs WHERE id = ?1", [&s.id], |r| r.get(0))
            .unwrap();
        assert!(!state.contains("\"settings\""), "{state}");
    }
    assert_eq!(st.list_all().unwrap(), jobs);
    let c = st.command(&jobs[1].id, None, Command::Start, at(2)).unwrap();
    assert!(c.changed);
    assert_eq!(c.state.settings.policy.page_size, 7);
    drop(st);
    let st = Store::open(&old).unwrap();
    assert_eq!(st.get(&jobs[1].id).unwrap().unwrap(), c.state);
}

fn hash(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn assert_refused_untouched(p: &Path, check: impl Fn(&StoreError) -> bool) {
    let before = hash(p);
    let err = Store::open(p).err().expect("opening must be refused");
    assert!(check(&err), "unexpected error: {err:?}");
    assert!(
        err.to_string().contains(&p.display().to_string()),
        "error names the path: {err}"
    );
    assert_eq!(hash(p), before, "the file was changed");
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = format!("{}{suffix}", p.display());
        assert!(!Path::new(&side).exists(), "{side} was created");
    }
}

#[test]
fn foreign_newer_and_damaged_files_are_refused_and_left_untouched() {
    let dir = tmp();
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "these are my notes, not a database\n").unwrap();
    assert_refused_untouched(&text, |e| matches!(e, StoreError::NotSqlite { .. }));

    let other = dir.path().join("other.db");
    {
        let c = Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY); INSERT INTO photos VALUES (1);")
            .unwrap();
        c.pragma_update(None, "application_id", 42).unwrap();
    }
    assert_refused_untouched(&other, |e| {
        matches!(
            e,
            StoreError::OtherApplication {
                application_id: 42,
                ..
            }
        )
    });

    let no_id = dir.path().join("no-id.db");
    {
        let c = Connection::open(&no_id).unwrap();
        c.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY);")
            .unwrap();
    }
    assert_refused_untouched(&no_id, |e| {
        matches!(
            e,
            StoreError::OtherApplication {
                application_id: 0,
                ..
            }
        )
    });

    let newer = dir.path().join("newer.db");
    {
        let st = Store::open(&newer).unwrap();
        st.conn().pragma_update(None, "user_version", 99).unwrap();
        st.conn().pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    assert_refused_untouched(&newer, |e| {
        matches!(
            e,
            StoreError::TooNew {
                found: 99,
                supported: store::SCHEMA_VERSION,
                ..
            }
        )
    });

    let truncated = dir.path().join("truncated.db");
    {
        let mut st = Store::open(&truncated).unwrap();
        for i in 0..200 {
            st.create(&new_job(i, at(0)), at(0)).unwrap();
        }
        st.conn().pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let bytes = hash(&truncated);
    std::fs::write(&truncated, &bytes[..bytes.len() / 2 + 100]).unwrap();
    assert_refused_untouched(&truncated, |e| matches!(e, StoreError::Corrupt { .. }));
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused_untouched(&truncated, |e| matches!(e, StoreError::Corrupt { .. }));
}

/// A damaged page past the header cannot be seen at open without reading the whole
/// file; the first read or commit that meets it gets `Corrupt`, naming the file, and
/// nothing is written.
#[test]
fn a_damaged_page_is_corrupt_at_the_first_read_or_commit_that_meets_it() {
    let dir = tmp();
    let p = dir.path().join("damaged.db");
    let ids: Vec<String> = {
        let mut st = Store::open(&p).unwrap();
        let ids = (0..300).map(|i| started(&mut st, i)).collect();
        st.conn().pragma_update(None, "journal_mode", "DELETE").unwrap();
        ids
    };
    let mut bytes = std::fs::read(&p).unwrap();
    let page = 4096;
    assert!(bytes.len() > 8 * page, "several pages of jobs");
    // Every page but the first (the header and the schema) becomes noise.
    for (i, b) in bytes.iter_mut().enumerate().skip(page) {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    std::fs::write(&p, &bytes).unwrap();
    let corrupt = |e: &StoreError| {
        matches!(e, StoreError::Corrupt { path, .. } if path == &p) && e.to_string().contains("damaged.db")
    };
    // Open reads the header and the schema, both on the intact first page: it cannot
    // see the damage (a truncated or foreign file it refuses: the test above).
    let mut st = Store::open(&p).expect("the first page is intact");
    let e = st.list_all().unwrap_err();
    assert!(corrupt(&e), "{e:?}");
    let e = st.get(&ids[150]).unwrap_err();
    assert!(corrupt(&e), "{e:?}");
    let e = st.command(&ids[150], None, Command::Pause, at(1)).unwrap_err();
    assert!(corrupt(&e), "{e:?}");
    let e = st.transitions(&ids[150], 5).unwrap_err();
    assert!(corrupt(&e), "{e:?}");
}

#[test]
fn missing_and_empty_files_become_new_databases() {
    let dir = tmp();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    Store::open(&empty).unwrap();
    Store::open(dir.path().join("missing.db")).unwrap();
}

fn started(st: &mut Store, n: usize) -> String {
    let s = new_job(n, at(0));
    st.create(&s, at(0)).unwrap();
    let _ = st.command(&s.id, None, Command::Start, at(0)).unwrap();
    s.id
}

#[test]
fn commands_are_guarded_audited_and_no_ops_write_nothing() {
    let dir = tmp();
    let mut st = Store::open(dir.path().join("j.db")).unwrap();
    let id = started(&mut st, 1);
    let c = st.command(&id, Some("sp-1"), Command::Start, at(1)).unwrap();
    assert!(!c.changed);
    let log = st.transitions(&id, 10).unwrap();
    assert_eq!(log.len(), 2, "create + start; the no-op start wrote nothing");
    assert_eq!((log[0].version, log[0].input.as_str()), (2, "start"));
    assert_eq!(
        (log[0].code_before.as_str(), log[0].code_after.as_str()),
        ("NotRun", "NotRun")
    );
    // Another servicePrincipal's job is not found; a refused command changes nothing.
    assert!(matches!(
        st.command(&id, Some("sp-2"), Command::Pause, at(1)),
        Err(StoreError::NotFound { .. })
    ));
    // Writing behind the store's back: the guarded UPDATE of the cached version changes
    // no row, the fresh read finds a row that disagrees with itself, and nothing is
    // overwritten.
    st.conn()
        .execute("UPDATE jobs SET version = version + 5 WHERE id = ?1", [&id])
        .unwrap();
    let row = |st: &Store| -> (i64, String) {
        st.conn()
            .query_row("SELECT version, state FROM jobs WHERE id = ?1", [&id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    };
    let tampered = row(&st);
    assert!(matches!(
        st.command(&id, None, Command::Pause, at(2)),
        Err(StoreError::BadState { .. })
    ));
    assert_eq!(row(&st), tampered, "the guard overwrote a row it did not read");
    assert_eq!(st.transitions(&id, 10).unwrap().len(), 2);
}

#[test]
fn a_stale_lease_holders_page_fails_and_changes_nothing() {
    let dir = tmp();
    let mut st = Store::open(dir.path().join("l.db")).unwrap();
    let id = started(&mut st, 1);
    let ttl = IsoDuration::from_secs(60);
    let a = st.claim_due("runner-a", 10, ttl, at(0)).unwrap();
    assert_eq!(a.len(), 1);
    let began = Event::CycleBegan {
        token: a[0].token,
        activity_id: "c1".into(),
        start_cursor: 0,
        total: None,
    };
    let _ = st.event(&id, began, at(0)).unwrap();
    assert!(
        st.claim_due("runner-b", 10, ttl, at(1)).unwrap().is_empty(),
        "lease still held"
    );
    // A's lease expires; B takes the job over with a larger token.
    let b = st.claim_due("runner-b", 10, ttl, at(5)).unwrap();
    assert_eq!(b.len(), 1);
    assert!(b[0].token > a[0].token);
    let before = st.get(&id).unwrap().unwrap();
    let header = PageHeader {
        token: a[0].token,
        activity_id: "c1".into(),
        from_cursor: 0,
    };
    let r = st.page_commit(&id, &header, at(6), |tx, _| {
        target::upsert(tx, &id, &key(0), "{}", at(6))?;
        unreachable!("a refused page must not reach its writes")
    });
    assert!(matches!(
        r,
        Err(StoreError::Refused(TransitionError::LeaseLost { .. }))
    ));
    assert_eq!(st.get(&id).unwrap().unwrap(), before);
    assert_eq!(target::count_present(st.conn(), &id).unwrap(), 0);
}

#[test]
fn a_renewed_lease_is_not_taken_over_and_a_stale_renewal_changes_nothing() {
    let dir = tmp();
    let mut st = Store::open(dir.path().join("r.db")).unwrap();
    let id = started(&mut st, 1);
    // at(n) is 30 s × n: a 60 s lease claimed at at(0) expires at at(2).
    let ttl = IsoDuration::from_secs(60);
    let a = st.claim_due("runner-a", 10, ttl, at(0)).unwrap();
    let c = st.renew(&id, a[0].token, at(0)).unwrap();
    assert!(!c.changed, "a renewal at the claim's instant moves nothing");
    let c = st.renew(&id, a[0].token, at(1)).unwrap();
    assert!(c.changed);
    assert_eq!(c.state.lease.as_ref().unwrap().expires, at(3));
    assert_eq!(st.get(&id).unwrap().unwrap(), c.state);
    assert_eq!(
        st.transitions(&id, 1).unwrap()[0].input,
        format!("renewLease({})", a[0].token)
    );
    // The claim's own expiry has passed, the renewal's has not: still held.
    assert!(st.claim_due("runner-b", 10, ttl, at(2)).unwrap().is_empty());
    // Past the renewal: B takes over, and A's renewal is refused and writes nothing.
    let b = st.claim_due("runner-b", 10, ttl, at(3)).unwrap();
    assert_eq!(b.len(), 1);
    let before = st.get(&id).unwrap().unwrap();
    assert!(matches!(
        st.renew(&id, a[0].token, at(3)),
        Err(StoreError::Refused(TransitionError::LeaseLost { .. }))
    ));
    assert_eq!(st.get(&id).unwrap().unwrap(), before);
    assert_eq!(st.transitions(&id, 1).unwrap()[0].version, before.version);
}

/// A page's writes may leave the transaction (an external target), so they must not
/// start from a state that another process already changed: once a pause committed
/// through another connection, the runner's page is refused before its writes run.
#[test]
fn a_page_after_a_pause_by_another_process_is_refused_before_its_writes() {
    let dir = tmp();
    let p = dir.path().join("two.db");
    let mut runner = Store::open(&p).unwrap();
    let mut operator = Store::open(&p).unwrap();
    let id = started(&mut runner, 1);
    let token = runner
        .claim_due("r", 1, IsoDuration::from_mins(10), at(0))
        .unwrap()[0]
        .token;
    let began = Event::CycleBegan {
        token,
        activity_id: "c1".into(),
        start_cursor: 0,
        total: None,
    };
    // The runner's connection now holds the job's state from its own commit.
    let _ = runner.event(&id, began, at(0)).unwrap();
    let _ = operator.command(&id, None, Command::Pause, at(1)).unwrap();
    let header = PageHeader {
        token,
        activity_id: "c1".into(),
        from_cursor: 0,
    };
    let mut writes = 0;
    let r = runner.page_commit(&id, &header, at(2), |_, _| {
        writes += 1;
        Ok(job::PageCommit {
            token,
            activity_id: "c1".into(),
            from_cursor: 0,
            to_cursor: 1,
            ..Default::default()
        })
    });
    assert!(
        matches!(r, Err(StoreError::Refused(TransitionError::Paused))),
        "{r:?}"
    );
    assert_eq!(writes, 0, "the page's writes ran against a stale state");
}

#[test]
fn a_page_commit_writes_rows_and_checkpoint_together_and_a_failed_body_rolls_back() {
    let dir = tmp();
    let mut st = Store::open(dir.path().join("p.db")).unwrap();
    let id = started(&mut st, 1);
    let c = st.claim_due("r", 1, IsoDuration::from_mins(10), at(0)).unwrap();
    let token = c[0].token;
    let _ = st
        .event(
            &id,
            Event::CycleBegan {
                token,
                activity_id: "c1".into(),
                start_cursor: 0,
                total: None,
            },
            at(0),
        )
        .unwrap();
    let header = PageHeader {
        token,
        activity_id: "c1".into(),
        from_cursor: 0,
    };
    let before = st.get(&id).unwrap().unwrap();
    let r = st.page_commit(&id, &header, at(1), |tx, _| {
        target::upsert(tx, &id, &key(0), "{}", at(1))?;
        Err(StoreError::Target("the target went away".into()))
    });
    assert!(matches!(r, Err(StoreError::Target(_))));
    assert_eq!(st.get(&id).unwrap().unwrap(), before);
    assert_eq!(
        target::count_present(st.conn(), &id).unwrap(),
        0,
        "rows rolled back with the page"
    );
}

/// A locked database retries the whole transaction, up to `max_attempts`, then gives
/// up with `Busy` and changes nothing; once the lock goes, commits go through.
#[test]
fn a_locked_database_is_retried_with_a_bound_then_busy() {
    let dir = tmp();
    let p = dir.path().join("busy.db");
    let options = Options {
        busy_timeout: std::time::Duration::from_millis(20),
        max_attempts: 3,
        ..Options::default()
    };
    let mut st = Store::open_with(&p, options).unwrap();
    let id = started(&mut st, 1);
    let before = st.get(&id).unwrap().unwrap();
    let mut holder = Connection::open(&p).unwrap();
    let lock = holder
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    assert!(matches!(
        st.command(&id, None, Command::Pause, at(1)),
        Err(StoreError::Busy { attempts: 3 })
    ));
    drop(lock);
    assert_eq!(st.get(&id).unwrap().unwrap(), before);
    // A lock held for a while is waited out by the retries.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let p2 = p.clone();
    let other = std::thread::spawn(move || {
        let mut c = Connection::open(&p2).unwrap();
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        drop(tx);
    });
    locked_rx.recv().unwrap();
    let mut patient = Store::open_with(
        &p,
        Options {
            busy_timeout: std::time::Duration::from_millis(20),
            max_attempts: 8,
            ..Options::default()
        },
    )
    .unwrap();
    let c = patient.command(&id, None, Command::Pause, at(2)).unwrap();
    assert!(c.changed);
    other.join().unwrap();
    drop(holder);
}

#[test]
fn disk_full_is_typed_changes_nothing_and_the_store_recovers() {
    let dir = tmp();
    let mut st = Store::open(dir.path().join("full.db")).unwrap();
    let id = started(&mut st, 1);
    let pages: i64 = st
        .conn()
        .pragma_query_value(None, "page_count", |r| r.get(0))
        .unwrap();
    st.conn().pragma_update(None, "max_page_count", pages).unwrap();
    let before = st.get(&id).unwrap().unwrap();
    let mut full = None;
    for i in 2..500 {
        if let Err(e) = st.create(&new_job(i, at(1)), at(1)) {
            full = Some(e);
            break;
        }
    }
    assert!(matches!(full, Some(StoreError::DiskFull)), "{full:?}");
    assert_eq!(st.get(&id).unwrap().unwrap(), before);
    st.conn()
        .pragma_update(None, "max_page_count", 1_000_000)
        .unwrap();
    let c = st.command(&id, None, Command::Pause, at(2)).unwrap();
    assert!(c.changed);
    let ok: String = st
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

/// Commands always commit with `synchronous=FULL`; runner commits with the configured
/// page durability (contract section 5.5).
#[test]
fn commands_commit_full_and_runner_commits_at_the_page_durability() {
    let dir = tmp();
    let options = Options {
        page_durability: store::Durability::Normal,
        ..Options::default()
    };
    let mut st = Store::open_with(dir.path().join("d.db"), options).unwrap();
    let synchronous = |st: &Store| -> i64 {
        st.conn()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    };
    let (normal, full) = (1, 2);
    let id = started(&mut st, 1);
    assert_eq!(synchronous(&st), full, "create and start");
    let c = st.claim_due("r", 1, IsoDuration::from_mins(10), at(1)).unwrap();
    assert_eq!(synchronous(&st), normal, "claim");
    let _ = st.command(&id, None, Command::Pause, at(2)).unwrap();
    assert_eq!(synchronous(&st), full, "pause");
    let _ = st.release(&id, c[0].token, at(3)).unwrap();
    assert_eq!(synchronous(&st), normal, "release");
    let _ = st.command(&id, None, Command::Start, at(4)).unwrap();
    assert_eq!(synchronous(&st), full, "start");
}

#[test]
fn the_due_job_query_uses_its_index() {
    let st = Store::open(":memory:").unwrap();
    let plan: Vec<String> = st
        .conn()
        .prepare(
            "EXPLAIN QUERY PLAN SELECT id FROM jobs
             WHERE due_at_ms <= ?1 AND (lease_expires_ms IS NULL OR lease_expires_ms <= ?1)
             ORDER BY due_at_ms LIMIT ?2",
        )
        .unwrap()
        .query_map([0, 1], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|l| l.contains("USING INDEX jobs_due")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{plan:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// The state in the database is always the one the pure function produces, and
    /// the audit log has one row per change, describing it.
    #[test]
    fn the_store_holds_exactly_what_the_core_produces(seed in any::<u64>(), steps in 1usize..120) {
        let mut stores = [Store::open_with(":memory:", Options::default()).unwrap()];
        store_follows_core(&mut stores, seed, steps)?;
    }

    /// The same through two connections to one file, taking turns at random: each
    /// one's state cache goes stale whenever the other commits.
    #[test]
    fn two_connections_hold_exactly_what_the_core_produces(seed in any::<u64>(), steps in 1usize..80) {
        let dir = tmp();
        let p = dir.path().join("two.db");
        let options = Options { page_durability: store::Durability::Normal, ..Options::default() };
        let mut stores = [
            Store::open_with(&p, options.clone()).unwrap(),
            Store::open_with(&p, options).unwrap(),
        ];
        store_follows_core(&mut stores, seed, steps)?;
    }
}

/// Drives `stores` (connections to one database) and the pure core side by side with
/// generated inputs for two jobs; after every step the stored job, the commit's result
/// and the newest audit row must be what the core says.
fn store_follows_core(stores: &mut [Store], seed: u64, steps: usize) -> Result<(), TestCaseError> {
    let mut pure: Vec<JobState> = (0..2).map(|n| new_job(n, at(0))).collect();
    for s in &pure {
        stores[0].create(s, at(0)).unwrap();
    }
    for i in 1..=steps as u64 {
        let mut rng = rng_for(seed, i);
        let j = (i % 2) as usize;
        let st = &mut stores[(seed.rotate_left(i as u32) % stores.len() as u64) as usize];
        let input = gen_input(&mut rng, &pure[j]);
        let expected = job::apply(&pure[j], &input, at(i));
        let got = apply_input(st, &pure[j].id.clone(), &input, at(i));
        match (expected, got) {
            (Ok(t), Ok(c)) => {
                prop_assert_eq!(&c.state, &t.state);
                prop_assert_eq!(c.changed, t.changed);
                if t.changed {
                    let newest = st.transitions(&pure[j].id, 1).unwrap().remove(0);
                    prop_assert_eq!(newest.version, t.state.version);
                    prop_assert_eq!(&newest.input, &input.summary());
                    prop_assert_eq!(newest.actor.as_str(), input.actor());
                    prop_assert_eq!(&newest.at, &job::time::format_ts(&at(i)));
                    prop_assert_eq!(newest.code_before.as_str(), job::status_code(&pure[j]).as_str());
                    prop_assert_eq!(newest.code_after.as_str(), job::status_code(&t.state).as_str());
                }
                pure[j] = t.state;
            }
            (Err(e), Err(StoreError::Refused(g))) => prop_assert_eq!(e, g),
            (e, g) => prop_assert!(
                false,
                "core {:?} vs store {:?}",
                e.map(|t| t.changed),
                g.map(|c| c.changed)
            ),
        }
        for st in stores.iter() {
            let stored = st.get(&pure[j].id).unwrap().unwrap();
            prop_assert_eq!(&stored, &pure[j]);
            let log = st.transitions(&pure[j].id, 100_000).unwrap();
            prop_assert_eq!(log.len() as u64, stored.version, "one audit row per version");
        }
    }
    Ok(())
}

#[test]
fn target_upsert_reports_entries_that_appear() {
    let st = Store::open(":memory:").unwrap();
    let c = st.conn();
    let k = key(1);
    assert!(target::upsert(c, "j", &k, r#"{"a":1}"#, at(0)).unwrap(), "new");
    assert!(
        !target::upsert(c, "j", &k, r#"{"a":2}"#, at(1)).unwrap(),
        "update"
    );
    assert!(target::delete(c, "j", &k, at(2)).unwrap());
    assert!(!target::delete(c, "j", &k, at(2)).unwrap(), "already deleted");
    assert!(
        target::upsert(c, "j", &k, r#"{"a":3}"#, at(3)).unwrap(),
        "resurrected"
    );
    assert!(!target::upsert(c, "j", &k, r#"{"a":3}"#, at(4)).unwrap());
    assert_eq!(
        target::present(c, "j").unwrap(),
        vec![(k, r#"{"a":3}"#.to_string())]
    );
}
