//! Why a transition was refused. A refused input changes nothing.

use super::input::CommandKind;
use super::time::Timestamp;
use super::wire::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The command is forbidden in this status (contract section 3: a 409).
    #[error("cannot {command} a job whose status is {code}")]
    InvalidTransition { code: StatusCode, command: CommandKind },
    /// The job is paused: no runner event is accepted until start or restart.
    #[error("the job is paused")]
    Paused,
    /// The job's settings are incomplete: no runner may work on it.
    #[error("the job is not configured")]
    NotConfigured,
    /// The schedule is disabled (never started, or 28 days in quarantine).
    #[error("the job's schedule is disabled")]
    Disabled,
    /// Another runner holds an unexpired lease.
    #[error("the job is leased by {holder} until {expires}")]
    LeaseHeld { holder: String, expires: Timestamp },
    /// The presented fencing token is not the current lease's.
    #[error("lease lost: token {presented} is not the current lease ({current:?})")]
    LeaseLost { presented: u64, current: Option<u64> },
    /// The event names a cycle that is not the one in flight (a restart abandoned it).
    #[error("cycle {presented} is not in flight (current: {current:?})")]
    CycleAbandoned {
        presented: String,
        current: Option<String>,
    },
    /// A page must start where the previous one ended.
    #[error("page starts at {got}, the checkpoint is at {expected}")]
    CursorMismatch { expected: u64, got: u64 },
    /// A cycle is already in flight; resume it instead of beginning another.
    #[error("cycle {activity_id} is already in flight")]
    CycleInFlight { activity_id: String },
    /// Nothing is due yet.
    #[error("the job is not due before {due:?}")]
    NotDue { due: Option<Timestamp> },
    /// The job is quarantined and its next attempt is not due yet.
    #[error("the job is quarantined until {next_attempt}")]
    Quarantined { next_attempt: Timestamp },
    /// The event is malformed (a cursor that moves back, deletes not allowed, ...).
    #[error("malformed event: {reason}")]
    Malformed { reason: String },
}
