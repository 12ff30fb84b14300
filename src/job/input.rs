//! Inputs of the transition function: operator commands and runner events.

use super::scope::ResetScope;
use super::settings::Settings;
use super::state::EntryKey;
use super::time::IsoDuration;
use super::wire::{ExecutionCounters, SynchronizationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A command from the API or the library (contract section 3, the command table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Start,
    Pause,
    Restart(ResetScope),
    Delete,
    /// New validated settings (see [`Settings::merge`]).
    UpdateSettings(Settings),
}

/// The command names, for errors, metrics and the state table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommandKind {
    Start,
    Pause,
    Restart,
    Delete,
    UpdateSettings,
}

impl CommandKind {
    pub const ALL: [CommandKind; 5] = [
        CommandKind::Start,
        CommandKind::Pause,
        CommandKind::Restart,
        CommandKind::Delete,
        CommandKind::UpdateSettings,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Start => "start",
            CommandKind::Pause => "pause",
            CommandKind::Restart => "restart",
            CommandKind::Delete => "delete",
            CommandKind::UpdateSettings => "settings",
        }
    }
}

impl std::fmt::Display for CommandKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Start => CommandKind::Start,
            Command::Pause => CommandKind::Pause,
            Command::Restart(_) => CommandKind::Restart,
            Command::Delete => CommandKind::Delete,
            Command::UpdateSettings(_) => CommandKind::UpdateSettings,
        }
    }
}

/// An entry that failed to export in this page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedEntry {
    pub key: EntryKey,
    pub error: String,
    pub reference: bool,
}

/// One page of a cycle, as the runner committed it (contract section 5.1). The target
/// rows it describes are written in the same transaction as the checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageCommit {
    /// The runner's fencing token.
    pub token: u64,
    /// The cycle this page belongs to.
    pub activity_id: String,
    /// Must equal the stored cursor: pages are contiguous.
    pub from_cursor: u64,
    /// Where the next page starts. Equal to `from_cursor` for a page of escrow retries.
    pub to_cursor: u64,
    pub counters: ExecutionCounters,
    /// Entries that failed (new failures and failed retries).
    pub failed: Vec<FailedEntry>,
    /// Escrowed entries that exported this time.
    pub resolved: Vec<EntryKey>,
    /// Deletes read in this page, staged until the cycle ends.
    pub staged_deletes: Vec<EntryKey>,
    /// Entries upserted in this page that an earlier page had staged for deletion.
    pub unstaged: Vec<EntryKey>,
    /// Change of the target's entry count, by object type.
    pub entry_count_delta: BTreeMap<String, i64>,
    /// The source's latest estimate of the cycle's entries.
    pub total: Option<u64>,
}

/// The deletes a completing cycle applied (in the completion's transaction).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedDeletes {
    pub exported: u64,
    /// Deletes the target refused: escrowed like failed upserts.
    pub failed: Vec<FailedEntry>,
    pub entry_count_delta: BTreeMap<String, i64>,
}

/// An event from a runner (never from the API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Time passed: applies the rules that depend on time alone (the 28-day disable).
    Tick,
    ClaimLease {
        holder: String,
        ttl: IsoDuration,
    },
    /// Extends the lease `token` by its TTL from now: a runner busy on something other
    /// than page commits (a slow source, a long export) keeps the job. Pages renew too.
    RenewLease {
        token: u64,
    },
    ReleaseLease {
        token: u64,
    },
    CycleBegan {
        token: u64,
        activity_id: String,
        start_cursor: u64,
        total: Option<u64>,
    },
    PageCommitted(PageCommit),
    CycleCompleted {
        token: u64,
        activity_id: String,
        watermark: String,
        /// `Some` exactly when [`super::policy::releasable_deletes`] allowed the staged deletes.
        deletes: Option<AppliedDeletes>,
    },
    CycleFailed {
        token: u64,
        activity_id: String,
        error: SynchronizationError,
        /// Bad credentials, wrong endpoint: quarantine at once.
        fatal: bool,
    },
}

/// What a transition is applied to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    Command(Command),
    Event(Event),
}

impl From<Command> for Input {
    fn from(c: Command) -> Self {
        Input::Command(c)
    }
}
impl From<Event> for Input {
    fn from(e: Event) -> Self {
        Input::Event(e)
    }
}

impl Input {
    /// A one-line description for the audit log (a page's entries are not logged).
    pub fn summary(&self) -> String {
        match self {
            Input::Command(Command::Restart(s)) => format!("restart({s})"),
            Input::Command(Command::UpdateSettings(s)) => {
                let names: Vec<&str> = s.values.keys().map(String::as_str).collect();
                format!("settings({})", names.join(","))
            }
            Input::Command(c) => c.kind().to_string(),
            Input::Event(Event::Tick) => "tick".into(),
            Input::Event(Event::ClaimLease { holder, .. }) => format!("claimLease({holder})"),
            Input::Event(Event::RenewLease { token }) => format!("renewLease({token})"),
            Input::Event(Event::ReleaseLease { token }) => format!("releaseLease({token})"),
            Input::Event(Event::CycleBegan {
                activity_id,
                start_cursor,
                ..
            }) => {
                format!("cycleBegan({activity_id} at {start_cursor})")
            }
            Input::Event(Event::PageCommitted(p)) => format!(
                "pageCommitted({}..{}, exported {}, failed {})",
                p.from_cursor,
                p.to_cursor,
                p.counters.count_exported,
                p.failed.len()
            ),
            Input::Event(Event::CycleCompleted { activity_id, .. }) => {
                format!("cycleCompleted({activity_id})")
            }
            Input::Event(Event::CycleFailed { error, fatal, .. }) => {
                format!(
                    "cycleFailed({}{})",
                    error.code,
                    if *fatal { ", fatal" } else { "" }
                )
            }
        }
    }

    /// The actor that the audit log names.
    pub fn actor(&self) -> &'static str {
        match self {
            Input::Command(_) => "operator",
            Input::Event(_) => "runner",
        }
    }
}
