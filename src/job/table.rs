//! The command × status table of contract section 3, rendered by running the real
//! transition function on a representative job of each status.

use super::input::{Command, CommandKind, Input};
use super::scope::ResetScope;
use super::settings::Settings;
use super::state::{Cycle, CycleKind, JobState};
use super::status::status_code;
use super::time::{Timestamp, epoch_for_tests};
use super::transition::apply;
use super::wire::{
    ExecutionCounters, QuarantineReason, ScheduleState, StatusCode, SynchronizationQuarantine,
};
use super::{Effect, TransitionError};

/// A job of each status, as a fixture for the table (and for tests).
pub fn sample(code: StatusCode, now: Timestamp) -> JobState {
    let settings = Settings::defaults();
    let mut s = JobState::new(
        "generated.00000000000000000000000000000001",
        "sp",
        "generated",
        settings,
        now,
    );
    let cycle = Cycle {
        activity_id: "a1".into(),
        kind: CycleKind::Incremental,
        began: now,
        cursor: 10,
        start_cursor: 0,
        total: Some(20),
        pages: 1,
        counters: ExecutionCounters::default(),
        reference_failures: 0,
        staged_deletes: vec![],
        deletes_held: false,
        pause_at_end: false,
        observed: now,
    };
    match code {
        StatusCode::NotConfigured => s.settings.configured = false,
        StatusCode::NotRun => {}
        StatusCode::Active => {
            s.watermark = Some("1".into());
            s.schedule.state = ScheduleState::Active;
            s.schedule.next_due = Some(now);
            s.cycle = Some(cycle);
        }
        StatusCode::Paused => {
            s.watermark = Some("1".into());
            s.schedule.state = ScheduleState::Paused;
            s.cycle = Some(cycle);
        }
        StatusCode::Quarantine => {
            s.watermark = Some("1".into());
            s.schedule.state = ScheduleState::Active;
            s.cycle = Some(cycle);
            s.quarantine = Some(SynchronizationQuarantine {
                current_began: now,
                next_attempt: now,
                reason: QuarantineReason::EncounteredQuarantineException,
                series_began: now,
                series_count: 0,
                error: None,
            });
        }
    }
    s
}

fn command_for(kind: CommandKind, s: &JobState) -> Command {
    match kind {
        CommandKind::Start => Command::Start,
        CommandKind::Pause => Command::Pause,
        CommandKind::Restart => Command::Restart(ResetScope::PORTAL_DEFAULT),
        CommandKind::Delete => Command::Delete,
        CommandKind::UpdateSettings => {
            let mut settings = s.settings.clone();
            settings.configured = true;
            settings.policy.interval = super::time::IsoDuration::from_mins(30);
            settings.values.insert("interval".into(), "PT30M".into());
            Command::UpdateSettings(settings)
        }
    }
}

/// One cell: what the command does to a job of that status.
pub fn cell(kind: CommandKind, code: StatusCode) -> String {
    let now = epoch_for_tests();
    let s = sample(code, now);
    match apply(&s, &Input::Command(command_for(kind, &s)), now) {
        Err(TransitionError::InvalidTransition { .. }) => "409 notAllowed".into(),
        Err(e) => format!("error: {e}"),
        Ok(t) if !t.changed && !t.effects.contains(&Effect::DeleteJob) => "no-op".into(),
        Ok(t) => {
            let mut parts = vec![];
            if t.effects.contains(&Effect::DeleteJob) {
                parts.push("job deleted".to_string());
            } else {
                let after = status_code(&t.state);
                if after != code {
                    parts.push(format!("→ {after}"));
                }
                parts.push(format!("schedule {:?}", t.state.schedule.state));
                if t.state.cycle.is_some() && t.state.cycle == s.cycle {
                    parts.push("checkpoint kept".into());
                }
                if s.quarantine.is_some() && t.state.quarantine.is_none() {
                    parts.push("quarantine cleared".into());
                }
            }
            for e in &t.effects {
                match e {
                    Effect::CycleDue { at } if *at == now => parts.push("cycle due now".into()),
                    Effect::AbandonCycle { .. } => parts.push("cycle abandoned".into()),
                    Effect::StopRunner { reason } => parts.push(format!("runner stops ({reason:?})")),
                    _ => {}
                }
            }
            parts.join("; ")
        }
    }
}

/// The whole table as Markdown. `restart` uses the portal's default scope.
pub fn render() -> String {
    let mut out = String::from("| command |");
    for c in StatusCode::ALL {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str("\n|---|");
    for _ in StatusCode::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for k in CommandKind::ALL {
        out.push_str(&format!("| {k} |"));
        for c in StatusCode::ALL {
            out.push_str(&format!(" {} |", cell(k, c)));
        }
        out.push('\n');
    }
    out
}
