//! Model-based property test of the pure core (contract sections 3 and 4).
//!
//! `Model` is a small reference written from the contract, independently of
//! `src/job/`: plain numbers of seconds, sets of entry numbers, its own derivation of
//! the status code. Random sequences of commands, runner events (valid and stale) and
//! clock steps from a minute to 40 days drive both; after every step the real state
//! must agree with the model and keep the invariants the issue lists.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use std::collections::{BTreeMap, BTreeSet};
use syncjob::job::{
    self, AppliedDeletes, Command, EntryKey, Event, ExecutionCounters, FailedEntry, Input, IsoDuration,
    JobState, PageCommit, Policy, ResetScope, ScheduleState, Settings, StatusCode, SynchronizationError,
    TransitionError, policy::DeleteDecision, time::epoch_for_tests,
};

const TTL: i64 = 300;
const DAY: i64 = 86_400;
const BASE: u64 = 4;
const TOTAL: u64 = 8;
const BASE_TOTAL: u64 = 12;
const DELETE_THRESHOLD: usize = 5;
const AFTER_FAILURES: u64 = 3;

fn policy(interval: i64) -> Policy {
    Policy {
        interval: IsoDuration::from_secs(interval as u64),
        delete_threshold: DELETE_THRESHOLD as u64,
        escrow_base_threshold: BASE,
        escrow_total_threshold: TOTAL,
        escrow_base_total_threshold: BASE_TOTAL,
        quarantine_after_failures: AFTER_FAILURES as u32,
        ..Policy::default()
    }
}

fn settings(configured: bool, interval: i64) -> Settings {
    let mut values = BTreeMap::new();
    values.insert(
        "interval".to_string(),
        IsoDuration::from_secs(interval as u64).to_string(),
    );
    Settings {
        values,
        policy: policy(interval),
        configured,
    }
}

// ---------------------------------------------------------------- the reference model

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sched {
    Active,
    Disabled,
    Paused,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MQ {
    reason: &'static str,
    began: i64,
    next: i64,
    series_began: i64,
    count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MC {
    number: u64,
    initial: bool,
    cursor: u64,
    pages: u64,
    exports: u64,
    escrowed: u64,
    refs: u64,
    staged: BTreeSet<u32>,
    held: bool,
    pause_at_end: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Rejected,
    Unchanged,
    Changed,
}

#[derive(Clone, Debug)]
struct Model {
    now: i64,
    configured: bool,
    interval: i64,
    sched: Sched,
    next_due: Option<i64>,
    watermark: bool,
    q: Option<MQ>,
    cycle: Option<MC>,
    escrows: BTreeMap<u32, i64>,
    pruned: bool,
    force: bool,
    fails: u64,
    lease: Option<(u64, i64)>,
    last_token: u64,
    cycles_begun: u64,
    version: u64,
    outcome: Outcome,
}

impl Model {
    fn code(&self) -> StatusCode {
        match () {
            _ if !self.configured => StatusCode::NotConfigured,
            _ if self.sched == Sched::Paused => StatusCode::Paused,
            _ if self.q.is_some() => StatusCode::Quarantine,
            _ if !self.watermark => StatusCode::NotRun,
            _ => StatusCode::Active,
        }
    }
    fn due(&self) -> Option<i64> {
        if !self.configured || self.sched != Sched::Active {
            return None;
        }
        match &self.q {
            Some(q) => Some(q.next),
            None => self.next_due,
        }
    }
    fn fingerprint(&self) -> String {
        format!(
            "{:?}",
            (
                (self.configured, self.interval),
                self.sched,
                self.next_due,
                self.watermark,
                &self.q,
                &self.cycle,
                &self.escrows,
                self.pruned,
                self.force,
                self.fails,
                self.lease,
                self.last_token,
            )
        )
    }
    fn runner_ok(&self, stale: Stale) -> bool {
        self.configured && self.sched != Sched::Paused && self.lease.is_some() && stale != Stale::Token
    }
    fn cycle_ok(&self, stale: Stale) -> bool {
        self.runner_ok(stale)
            && self.sched != Sched::Disabled
            && self.cycle.is_some()
            && stale != Stale::Activity
            && self.q.as_ref().is_none_or(|q| self.now >= q.next)
    }
    fn quarantine(&mut self, reason: &'static str) {
        let now = self.now;
        let mut q = match self.q.take() {
            Some(mut q) => {
                q.count += 1;
                q.began = now;
                q.reason = reason;
                q
            }
            None => MQ {
                reason,
                began: now,
                next: now,
                series_began: now,
                count: 0,
            },
        };
        let k = (q.count + 1).min(40) as u32;
        q.next = q.began + (self.interval.saturating_mul(1i64 << k)).min(DAY);
        if now >= q.series_began + 28 * DAY && self.sched == Sched::Active {
            self.sched = Sched::Disabled;
        }
        self.q = Some(q);
    }
    fn clear_quarantine(&mut self) {
        if self.q.take().is_some() {
            self.fails = 0;
        }
    }
    fn tick(&mut self) {
        if let Some(q) = &self.q
            && self.sched == Sched::Active
            && self.now >= q.series_began + 28 * DAY
        {
            self.sched = Sched::Disabled;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stale {
    No,
    Token,
    Activity,
    Cursor,
}

#[derive(Clone, Debug)]
enum Step {
    Start,
    Pause,
    Restart(ResetScope),
    Settings {
        configured: bool,
        interval: i64,
    },
    Advance(i64),
    Claim,
    Renew(Stale),
    Release(Stale),
    Begin(Stale),
    Page {
        n: u64,
        failed: Vec<(u32, bool)>,
        resolved: Vec<u32>,
        deletes: Vec<u32>,
        unstaged: Vec<u32>,
        stale: Stale,
    },
    Complete(Stale),
    Fail {
        fatal: bool,
        stale: Stale,
    },
}

fn stale() -> impl Strategy<Value = Stale> {
    prop_oneof![
        12 => Just(Stale::No),
        1 => Just(Stale::Token),
        1 => Just(Stale::Activity),
        1 => Just(Stale::Cursor),
    ]
}

fn scope() -> impl Strategy<Value = ResetScope> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(e, w, q, c, f)| ResetScope {
            escrows: e,
            watermark: w,
            quarantine_state: q,
            connector_data_store: c,
            force_deletes: f,
        })
}

fn clock_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 60i64..=3_600,
        3 => 3_600i64..=DAY,
        2 => DAY..=40 * DAY,
    ]
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        (any::<bool>(), prop_oneof![Just(60i64), Just(2_400), Just(36_000)])
            .prop_map(|(configured, interval)| Model {
                now: 0,
                configured: configured || interval != 60,
                interval,
                sched: Sched::Disabled,
                next_due: None,
                watermark: false,
                q: None,
                cycle: None,
                escrows: BTreeMap::new(),
                pruned: false,
                force: false,
                fails: 0,
                lease: None,
                last_token: 0,
                cycles_begun: 0,
                version: 1,
                outcome: Outcome::Unchanged,
            })
            .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Step> {
        let ids = || proptest::collection::vec(0u32..24, 0..4);
        prop_oneof![
            3 => Just(Step::Start),
            3 => Just(Step::Pause),
            2 => scope().prop_map(Step::Restart),
            1 => (prop::bool::weighted(0.9), prop_oneof![Just(60i64), Just(2_400), Just(36_000)])
                .prop_map(|(configured, interval)| Step::Settings { configured, interval }),
            4 => clock_step().prop_map(Step::Advance),
            4 => Just(Step::Claim),
            2 => stale().prop_map(Step::Renew),
            1 => stale().prop_map(Step::Release),
            4 => stale().prop_map(Step::Begin),
            10 => (0u64..8, proptest::collection::vec((0u32..24, prop::bool::weighted(0.2)), 0..5), ids(), ids(), ids(), stale())
                .prop_map(|(n, failed, resolved, deletes, unstaged, stale)| Step::Page { n, failed, resolved, deletes, unstaged, stale }),
            3 => stale().prop_map(Step::Complete),
            2 => (prop::bool::weighted(0.2), stale()).prop_map(|(fatal, stale)| Step::Fail { fatal, stale }),
        ]
        .boxed()
    }

    fn apply(mut m: Model, step: &Step) -> Model {
        let before = m.fingerprint();
        let accepted = model_apply(&mut m, step);
        m.outcome = if !accepted {
            Outcome::Rejected
        } else if m.fingerprint() == before {
            Outcome::Unchanged
        } else {
            m.version += 1;
            Outcome::Changed
        };
        m
    }
}

/// The contract's rules, applied to the model. Returns whether the input is accepted;
/// a rejected input must leave `m` as it was (every check precedes every change).
fn model_apply(m: &mut Model, step: &Step) -> bool {
    let now = m.now;
    match step {
        Step::Start => {
            if !m.configured {
                return false;
            }
            if m.sched == Sched::Active && m.q.is_none() {
                return true;
            }
            m.clear_quarantine();
            m.sched = Sched::Active;
            m.next_due = Some(now);
        }
        Step::Pause => {
            if !m.configured {
                return false;
            }
            m.sched = Sched::Paused;
        }
        Step::Restart(scope) => {
            if !m.configured {
                return false;
            }
            if scope.escrows {
                m.escrows.clear();
                m.pruned = false;
                if let Some(c) = &mut m.cycle {
                    c.escrowed = 0;
                    c.refs = 0;
                }
            }
            if scope.watermark {
                m.watermark = false;
                m.cycle = None;
            }
            if scope.quarantine_state {
                m.clear_quarantine();
            }
            if scope.force_deletes {
                m.force = true;
            }
            if let Some(q) = &mut m.q {
                if now >= q.series_began + 28 * DAY {
                    q.series_began = now;
                    q.count = 0;
                }
                q.began = now;
                q.next = now;
            }
            m.sched = Sched::Active;
            m.next_due = Some(now);
        }
        Step::Settings { configured, interval } => {
            m.configured = *configured;
            m.interval = *interval;
        }
        Step::Advance(secs) => {
            m.now += secs;
            m.tick();
        }
        Step::Claim => {
            let due = m.due().is_some_and(|d| now >= d);
            let free = m.lease.is_none_or(|(_, exp)| now >= exp);
            if !(m.configured && m.sched == Sched::Active && due && free) {
                return false;
            }
            m.last_token += 1;
            m.lease = Some((m.last_token, now + TTL));
        }
        Step::Renew(stale) => {
            let stale = if *stale == Stale::Token {
                Stale::Token
            } else {
                Stale::No
            };
            if !(m.runner_ok(stale) && m.sched != Sched::Disabled) {
                return false;
            }
            if let Some((token, _)) = m.lease {
                m.lease = Some((token, now + TTL));
            }
        }
        Step::Release(stale) => {
            if m.lease.is_none() || *stale == Stale::Token {
                return false;
            }
            m.lease = None;
        }
        Step::Begin(stale) => {
            let stale = if *stale == Stale::Token {
                Stale::Token
            } else {
                Stale::No
            };
            let due = m.due().is_some_and(|d| now >= d);
            if !(m.runner_ok(stale) && m.sched != Sched::Disabled && m.cycle.is_none() && due) {
                return false;
            }
            let before = m.escrows.len();
            m.escrows.retain(|_, first| now < *first + 28 * DAY);
            if m.escrows.len() != before {
                m.pruned = true;
            }
            m.cycles_begun += 1;
            m.cycle = Some(MC {
                number: m.cycles_begun,
                initial: !m.watermark,
                cursor: 0,
                pages: 0,
                exports: 0,
                escrowed: 0,
                refs: 0,
                staged: BTreeSet::new(),
                held: false,
                pause_at_end: false,
            });
            m.lease = m.lease.map(|(t, _)| (t, now + TTL));
        }
        Step::Page {
            n,
            failed,
            resolved,
            deletes,
            unstaged,
            stale,
        } => {
            if !m.cycle_ok(*stale) || *stale == Stale::Cursor {
                return false;
            }
            let failed = page_failures(*n, failed);
            for (id, _) in &failed {
                m.escrows.entry(*id).or_insert(now);
            }
            for id in resolved {
                m.escrows.remove(id);
            }
            let Some(c) = &mut m.cycle else { return false };
            c.cursor += n;
            c.pages += 1;
            c.exports += n;
            c.escrowed += failed.len() as u64;
            c.refs += failed.iter().filter(|(_, r)| *r).count() as u64;
            for id in unstaged {
                c.staged.remove(id);
            }
            c.staged.extend(deletes.iter().copied());
            let initial = c.initial;
            let with_refs = c.escrowed + c.refs;
            let reason = if failed.is_empty() || with_refs < BASE {
                None
            } else if c.escrowed * 100 > c.exports.max(c.escrowed) * 40 {
                Some("EncounteredEscrowProportionThreshold")
            } else if c.escrowed > TOTAL {
                Some("EncounteredTotalEscrowThreshold")
            } else if with_refs > BASE_TOTAL {
                Some("EncounteredBaseEscrowThreshold")
            } else {
                None
            };
            m.lease = m.lease.map(|(t, _)| (t, now + TTL));
            if let Some(reason) = reason {
                if initial {
                    m.escrows.clear();
                    m.pruned = true;
                    if let Some(c) = &mut m.cycle {
                        c.pause_at_end = true;
                    }
                } else {
                    m.quarantine(reason);
                }
            }
        }
        Step::Complete(stale) => {
            if !m.cycle_ok(*stale) {
                return false;
            }
            let Some(c) = &mut m.cycle else { return false };
            if !c.staged.is_empty() && c.staged.len() >= DELETE_THRESHOLD && !m.force {
                c.held = true;
                m.quarantine("TooManyDeletes");
                return true;
            }
            let pause_at_end = c.pause_at_end;
            m.cycle = None;
            m.watermark = true;
            m.q = None;
            m.fails = 0;
            m.force = false;
            m.next_due = Some(now + m.interval);
            if pause_at_end {
                m.sched = Sched::Paused;
            }
        }
        Step::Fail { fatal, stale } => {
            if !m.cycle_ok(*stale) {
                return false;
            }
            m.fails += 1;
            if *fatal || m.q.is_some() || m.fails >= AFTER_FAILURES {
                m.quarantine("EncounteredQuarantineException");
            } else {
                m.next_due = Some(now + m.interval);
            }
        }
    }
    true
}

/// A page cannot fail more entries than it has; the model and the harness agree on
/// which failures a page keeps.
fn page_failures(n: u64, failed: &[(u32, bool)]) -> Vec<(u32, bool)> {
    let mut seen = BTreeSet::new();
    failed
        .iter()
        .filter(|(id, _)| seen.insert(*id))
        .take(n as usize)
        .copied()
        .collect()
}

// ---------------------------------------------------------------- the real core

struct Harness {
    state: JobState,
    /// The checkpoint frozen by the last pause, until a start or restart.
    frozen: Option<String>,
    /// (activity, cursor) after the previous step.
    position: Option<(String, u64)>,
}

fn at(m: &Model) -> job::Timestamp {
    epoch_for_tests() + chrono::TimeDelta::seconds(m.now)
}

fn key(id: u32) -> EntryKey {
    EntryKey::new("user", format!("u{id:03}"))
}

fn checkpoint(s: &JobState) -> String {
    serde_json::to_string(&(&s.cycle, &s.escrows)).unwrap()
}

/// Builds the real input for a step from the harness's current state.
fn input_for(s: &JobState, step: &Step) -> Input {
    let token = |stale: Stale| {
        let t = s.lease.as_ref().map_or(0, |l| l.token);
        if stale == Stale::Token { t + 1000 } else { t }
    };
    let activity = |stale: Stale| match (&s.cycle, stale) {
        (Some(c), st) if st != Stale::Activity => c.activity_id.clone(),
        _ => "abandoned-cycle".to_string(),
    };
    match step {
        Step::Start => Command::Start.into(),
        Step::Pause => Command::Pause.into(),
        Step::Restart(scope) => Command::Restart(*scope).into(),
        Step::Settings { configured, interval } => {
            Command::UpdateSettings(settings(*configured, *interval)).into()
        }
        Step::Advance(_) => Event::Tick.into(),
        Step::Claim => Event::ClaimLease {
            holder: "runner-1".into(),
            ttl: IsoDuration::from_secs(TTL as u64),
        }
        .into(),
        Step::Renew(stale) => Event::RenewLease { token: token(*stale) }.into(),
        Step::Release(stale) => Event::ReleaseLease { token: token(*stale) }.into(),
        Step::Begin(stale) => Event::CycleBegan {
            token: token(if *stale == Stale::Token {
                Stale::Token
            } else {
                Stale::No
            }),
            // The state version is unique to this job state, so to this cycle.
            activity_id: format!("act-{}", s.version),
            start_cursor: 0,
            total: None,
        }
        .into(),
        Step::Page {
            n,
            failed,
            resolved,
            deletes,
            unstaged,
            stale,
        } => {
            let failed = page_failures(*n, failed);
            let cursor = s.cycle.as_ref().map_or(0, |c| c.cursor) + u64::from(*stale == Stale::Cursor);
            Event::PageCommitted(PageCommit {
                token: token(*stale),
                activity_id: activity(*stale),
                from_cursor: cursor,
                to_cursor: cursor + n,
                counters: ExecutionCounters {
                    count_imported: *n,
                    count_exports: *n,
                    count_exported: n - failed.len() as u64,
                    count_escrowed: failed.len() as u64,
                    count_escrowed_raw: failed.len() as u64,
                    ..Default::default()
                },
                failed: failed
                    .iter()
                    .map(|(id, reference)| FailedEntry {
                        key: key(*id),
                        error: "target said no".into(),
                        reference: *reference,
                    })
                    .collect(),
                resolved: resolved.iter().map(|i| key(*i)).collect(),
                staged_deletes: deletes.iter().map(|i| key(*i)).collect(),
                unstaged: unstaged.iter().map(|i| key(*i)).collect(),
                entry_count_delta: BTreeMap::from([("user".to_string(), *n as i64)]),
                total: None,
            })
            .into()
        }
        Step::Complete(stale) => {
            let deletes = (job::policy::releasable_deletes(s) == DeleteDecision::Release).then(|| {
                let n = s.cycle.as_ref().map_or(0, |c| c.staged_deletes.len()) as u64;
                AppliedDeletes {
                    exported: n,
                    entry_count_delta: BTreeMap::from([("user".to_string(), -(n as i64))]),
                    failed: vec![],
                }
            });
            Event::CycleCompleted {
                token: token(*stale),
                activity_id: activity(*stale),
                watermark: "w".into(),
                deletes,
            }
            .into()
        }
        Step::Fail { fatal, stale } => Event::CycleFailed {
            token: token(*stale),
            activity_id: activity(*stale),
            error: SynchronizationError {
                code: "SourceUnavailable".into(),
                message: "the source did not answer".into(),
                tenant_actionable: false,
            },
            fatal: *fatal,
        }
        .into(),
    }
}

impl StateMachineTest for Harness {
    type SystemUnderTest = Self;
    type Reference = Reference;

    fn init_test(m: &Model) -> Self {
        let state = JobState::new(
            "generated.0000000000000000000000000000000a",
            "sp-1",
            "generated",
            settings(m.configured, m.interval),
            at(m),
        );
        Harness {
            state,
            frozen: None,
            position: None,
        }
    }

    fn apply(mut h: Self, m: &Model, step: Step) -> Self {
        let before = h.state.clone();
        let before_json = serde_json::to_string(&before).unwrap();
        let code_before = job::status_code(&before);
        let input = input_for(&before, &step);
        let now = at(m);
        match job::apply(&before, &input, now) {
            Err(e) => {
                assert_eq!(
                    m.outcome,
                    Outcome::Rejected,
                    "real core refused {step:?} with {e}; model accepted"
                );
                // A refused input changes nothing, byte for byte.
                assert_eq!(serde_json::to_string(&h.state).unwrap(), before_json);
                if before.schedule.state == ScheduleState::Paused
                    && before.settings.configured
                    && matches!(input, Input::Event(ref e) if !matches!(e, Event::Tick | Event::ReleaseLease { .. }))
                {
                    assert!(
                        matches!(e, TransitionError::Paused),
                        "a runner event on a paused job must be refused as Paused, got {e}"
                    );
                }
            }
            Ok(t) => {
                assert_ne!(
                    m.outcome,
                    Outcome::Rejected,
                    "real core accepted {step:?}; model refused"
                );
                assert_eq!(
                    t.changed,
                    m.outcome == Outcome::Changed,
                    "change detection differs for {step:?}"
                );
                if code_before == StatusCode::Active && matches!(step, Step::Start) {
                    assert!(
                        !t.changed && t.effects.is_empty(),
                        "start on an Active job changed something"
                    );
                }
                h.state = t.state;
                if matches!(step, Step::Pause) {
                    let again = job::apply(&h.state, &Command::Pause.into(), now).unwrap();
                    assert!(
                        !again.changed && again.effects.is_empty(),
                        "pause twice != pause once"
                    );
                    assert_eq!(again.state, h.state);
                }
            }
        }
        // Between a pause and the next start/restart, the checkpoint is frozen.
        match (&step, h.state.schedule.state) {
            (Step::Start | Step::Restart(_), _) => h.frozen = None,
            (_, ScheduleState::Paused) => {
                let now_cp = checkpoint(&h.state);
                match &h.frozen {
                    Some(f) if !matches!(step, Step::Settings { .. }) => {
                        assert_eq!(f, &now_cp, "checkpoint changed while paused by {step:?}")
                    }
                    _ => h.frozen = Some(now_cp),
                }
            }
            _ => h.frozen = None,
        }
        // The cursor never moves back within a cycle.
        let pos = h.state.cycle.as_ref().map(|c| (c.activity_id.clone(), c.cursor));
        if let (Some((a0, c0)), Some((a1, c1))) = (&h.position, &pos)
            && a0 == a1
        {
            assert!(c1 >= c0, "cursor moved back from {c0} to {c1} by {step:?}");
        }
        h.position = pos;
        h
    }

    fn check_invariants(h: &Self, m: &Model) {
        let s = &h.state;
        assert_eq!(job::status_code(s), m.code(), "status code");
        assert_eq!(job::view(s).status.code, m.code());
        let sched = match s.schedule.state {
            ScheduleState::Active => Sched::Active,
            ScheduleState::Disabled => Sched::Disabled,
            ScheduleState::Paused => Sched::Paused,
        };
        assert_eq!(sched, m.sched, "schedule state");
        assert_eq!(s.watermark.is_some(), m.watermark, "watermark");
        assert_eq!(s.version, m.version, "version");
        assert_eq!(
            s.count_successive_complete_failures, m.fails,
            "successive failures"
        );
        assert_eq!(s.escrows_pruned, m.pruned, "escrowsPruned");
        assert_eq!(s.force_deletes, m.force, "forceDeletes");
        assert_eq!(
            s.lease
                .as_ref()
                .map(|l| (l.token, (l.expires - epoch_for_tests()).num_seconds())),
            m.lease,
            "lease token and expiry"
        );
        let escrow_ids: BTreeSet<String> = s.escrows.iter().map(|e| e.key.id.clone()).collect();
        let model_ids: BTreeSet<String> = m.escrows.keys().map(|i| key(*i).id).collect();
        assert_eq!(escrow_ids, model_ids, "escrows");
        match (&s.cycle, &m.cycle) {
            (None, None) => {}
            (Some(c), Some(mc)) => {
                assert_eq!(c.cursor, mc.cursor, "cursor");
                assert_eq!(c.counters.count_escrowed, mc.escrowed, "cycle failures");
                assert_eq!(c.staged_deletes.len(), mc.staged.len(), "staged deletes");
                assert_eq!(c.deletes_held, mc.held, "deletes held");
                assert_eq!(c.pause_at_end, mc.pause_at_end, "pause at end");
                assert_eq!(c.kind == job::CycleKind::Initial, mc.initial, "cycle kind");
            }
            (a, b) => panic!(
                "cycle presence differs: real {:?} model {:?}",
                a.is_some(),
                b.is_some()
            ),
        }
        let base = epoch_for_tests();
        match (&s.quarantine, &m.q) {
            (None, None) => {}
            (Some(q), Some(mq)) => {
                assert_eq!(format!("{:?}", q.reason), mq.reason, "quarantine reason");
                assert_eq!(q.series_count, mq.count, "seriesCount");
                assert_eq!((q.current_began - base).num_seconds(), mq.began, "currentBegan");
                assert_eq!((q.next_attempt - base).num_seconds(), mq.next, "nextAttempt");
                assert_eq!(
                    (q.series_began - base).num_seconds(),
                    mq.series_began,
                    "seriesBegan"
                );
                // The back-off never exceeds a day.
                assert!(q.next_attempt - q.current_began <= chrono::TimeDelta::hours(24));
                // 28 days into a series the schedule is disabled (unless an operator paused it).
                if at(m) >= q.series_began + chrono::TimeDelta::days(28) {
                    assert_ne!(
                        s.schedule.state,
                        ScheduleState::Active,
                        "series older than 28 days still active"
                    );
                }
            }
            (a, b) => panic!("quarantine differs: real {a:?} model {b:?}"),
        }
        // The persisted form round-trips exactly.
        let json = serde_json::to_string(s).unwrap();
        let back: JobState = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, s);
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        max_shrink_iters: 20_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        ..ProptestConfig::default()
    })]
    #[test]
    fn core_agrees_with_the_contract_model(sequential 1..80 => Harness);
}
