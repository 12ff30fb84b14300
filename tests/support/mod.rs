//! Shared by the store tests: jobs, and a deterministic generator of plausible inputs.
#![allow(dead_code)]

use chrono::TimeDelta;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use syncjob::job::{
    self, AppliedDeletes, Command, EntryKey, Event, ExecutionCounters, FailedEntry, Input, IsoDuration,
    JobState, PageCommit, ResetScope, Settings, SynchronizationError, Timestamp, policy::DeleteDecision,
    time::epoch_for_tests,
};
use syncjob::store::{Committed, PageHeader, Store, StoreError, target};

pub fn settings() -> Settings {
    let policy = job::Policy {
        delete_threshold: 4,
        escrow_base_threshold: 6,
        ..Default::default()
    };
    Settings {
        values: BTreeMap::new(),
        policy,
        configured: true,
    }
}

pub fn new_job(n: usize, now: Timestamp) -> JobState {
    JobState::new(
        format!("generated.{n:032x}"),
        "sp-1",
        "generated",
        settings(),
        now,
    )
}

/// The instant of operation `i`: 30 s apart, so leases (10 min) outlive a few steps.
pub fn at(i: u64) -> Timestamp {
    epoch_for_tests() + TimeDelta::seconds(30 * i as i64)
}

/// An RNG for operation `i` alone, so a child process can start at any operation.
pub fn rng_for(seed: u64, i: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

pub fn key(i: u64) -> EntryKey {
    EntryKey::new("User", format!("u{i:06}"))
}

/// A plausible input for `s`: mostly valid runner events built from the state (the
/// current token, cycle and cursor), with commands and some stale events mixed in.
pub fn gen_input(rng: &mut StdRng, s: &JobState) -> Input {
    let token = s.lease.as_ref().map_or(0, |l| l.token);
    let stale_token = if rng.random_bool(0.05) { token + 7 } else { token };
    let activity = s
        .cycle
        .as_ref()
        .map_or("none".to_string(), |c| c.activity_id.clone());
    let cursor = s.cycle.as_ref().map_or(0, |c| c.cursor);
    match rng.random_range(0..100u32) {
        0..8 => Command::Start.into(),
        8..14 => Command::Pause.into(),
        14..18 => {
            let scope = ResetScope {
                escrows: rng.random_bool(0.5),
                watermark: rng.random_bool(0.4),
                quarantine_state: rng.random_bool(0.5),
                connector_data_store: false,
                force_deletes: rng.random_bool(0.3),
            };
            Command::Restart(scope).into()
        }
        18..26 => Event::ClaimLease {
            holder: "r1".into(),
            ttl: IsoDuration::from_mins(10),
        }
        .into(),
        26..34 => Event::CycleBegan {
            token: stale_token,
            activity_id: format!("act-{}", s.version),
            start_cursor: 0,
            total: Some(200),
        }
        .into(),
        34..80 => {
            let n = rng.random_range(0..20u64);
            let failures: Vec<FailedEntry> = (0..rng.random_range(0..3u64).min(n))
                .map(|j| FailedEntry {
                    key: key(cursor + j),
                    error: "target refused".into(),
                    reference: false,
                })
                .collect();
            let deletes = if rng.random_bool(0.2) {
                vec![key(1000 + rng.random_range(0..10u64))]
            } else {
                vec![]
            };
            let f = failures.len() as u64;
            Event::PageCommitted(PageCommit {
                token: stale_token,
                activity_id: activity,
                from_cursor: if rng.random_bool(0.03) { cursor + 1 } else { cursor },
                to_cursor: cursor + n,
                counters: ExecutionCounters {
                    count_imported: n,
                    count_exports: n,
                    count_exported: n - f,
                    count_escrowed: f,
                    ..Default::default()
                },
                failed: failures,
                staged_deletes: deletes,
                entry_count_delta: BTreeMap::from([("User".to_string(), (n - f) as i64)]),
                total: Some(200),
                ..Default::default()
            })
            .into()
        }
        80..88 => {
            let deletes =
                (job::policy::releasable_deletes(s) == DeleteDecision::Release).then(|| AppliedDeletes {
                    exported: s.cycle.as_ref().map_or(0, |c| c.staged_deletes.len() as u64),
                    entry_count_delta: BTreeMap::new(),
                    failed: vec![],
                });
            Event::CycleCompleted {
                token: stale_token,
                activity_id: activity,
                watermark: format!("w{}", s.version),
                deletes,
            }
            .into()
        }
        88..93 => Event::CycleFailed {
            token: stale_token,
            activity_id: activity,
            error: SynchronizationError {
                code: "Transient".into(),
                message: "timeout".into(),
                tenant_actionable: false,
            },
            fatal: rng.random_bool(0.2),
        }
        .into(),
        93..95 => Event::ReleaseLease { token: stale_token }.into(),
        95..96 => Event::RenewLease { token: stale_token }.into(),
        96..98 => {
            // The settings live in their own column, written only when they change.
            let mut settings = settings();
            let page = [7u32, 50, 500][rng.random_range(0..3usize)];
            settings.policy.page_size = page;
            settings.values.insert("pageSize".into(), page.to_string());
            Command::UpdateSettings(settings).into()
        }
        _ => Event::Tick.into(),
    }
}

/// The target rows a page writes: entries `from..to` that did not fail.
pub fn page_rows(p: &PageCommit) -> Vec<EntryKey> {
    (p.from_cursor..p.to_cursor)
        .map(key)
        .filter(|k| !p.failed.iter().any(|f| &f.key == k))
        .collect()
}

/// Applies a generated input through the store the way a runner would: a page writes
/// its rows to the same-database target inside its commit.
pub fn apply_input(st: &mut Store, id: &str, input: &Input, now: Timestamp) -> Result<Committed, StoreError> {
    match input {
        Input::Command(c) => st.command(id, None, c.clone(), now),
        Input::Event(Event::PageCommitted(p)) => {
            let header = PageHeader {
                token: p.token,
                activity_id: p.activity_id.clone(),
                from_cursor: p.from_cursor,
            };
            st.page_commit(id, &header, now, |tx, _| {
                for k in page_rows(p) {
                    target::upsert(tx, id, &k, r#"{"displayName":"x"}"#, now)?;
                }
                Ok(p.clone())
            })
        }
        Input::Event(e) => st.event(id, e.clone(), now),
    }
}
