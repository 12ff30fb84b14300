//! Effects: what a transition asks of the runtime, as data.

use super::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Why a runner working on the job must stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    Paused,
    Quarantined,
    Disabled,
    Deleted,
    CycleEnded,
}

/// One thing the runtime must do after committing a transition. Effects are only
/// acted on once the transition's state is durable; a runtime that crashes before
/// acting loses nothing, because every effect can be re-derived from the state.
#[must_use = "effects tell the runtime what to do next"]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Emitted when a start, restart, cycle end or failure makes the job due at `at`.
    /// The runtime wakes a runner at or after `at` (the store indexes the due time).
    CycleDue { at: Timestamp },
    /// Emitted by `ClaimLease` and `RenewLease`. The runner that asked holds the job until `expires`
    /// and must present `token` with every cycle event.
    LeaseGranted { token: u64, expires: Timestamp },
    /// Emitted by pause, quarantine, disable, delete and cycle end. A runner working
    /// on the job finishes or rolls back its page and stops (its next page would be
    /// refused anyway: this only makes it stop promptly).
    StopRunner { reason: StopReason },
    /// Emitted by a restart with `Watermark` (or `Full`) and by delete while a cycle
    /// is in flight. The runner of `activity_id` stops; its committed pages stay.
    AbandonCycle { activity_id: String },
    /// Emitted by a restart with `ConnectorDataStore`. The connector forgets its
    /// source-to-target links, so the next cycle matches entries afresh.
    ForgetConnectorData,
    /// Emitted by delete. The store removes the job, its checkpoint and escrows in
    /// the same transaction; the target's data stays.
    DeleteJob,
}
