//! The pure core: a job's state machine, as a function of `(state, input, now)`.
//!
//! Nothing in this module reads a clock, draws a random number, touches a file or
//! panics. The store and the runner drive it:
//!
//! ```
//! use syncjob::job::{self, Command, Input, JobState, Settings, Effect};
//! # let now = job::time::epoch_for_tests();
//! # let settings = Settings::defaults();
//! let mut state = JobState::new("generated.0123", "sp", "generated", settings, now);
//! for input in [Input::Command(Command::Start), Input::Command(Command::Pause)] {
//!     match job::apply(&state, &input, now) {
//!         Ok(t) => {
//!             // A store commits `t.state` (when `t.changed`) in one transaction, then acts on the effects.
//!             for effect in &t.effects {
//!                 if let Effect::StopRunner { .. } = effect { /* tell the runner */ }
//!             }
//!             state = t.state;
//!         }
//!         Err(refused) => eprintln!("refused, nothing changed: {refused}"),
//!     }
//! }
//! assert_eq!(job::status_code(&state), job::StatusCode::Paused);
//! ```

pub mod effect;
pub mod error;
pub mod input;
pub mod policy;
pub mod scope;
pub mod settings;
pub mod state;
pub mod status;
pub mod table;
pub mod time;
pub mod transition;
pub mod wire;

pub use effect::{Effect, StopReason};
pub use error::TransitionError;
pub use input::{AppliedDeletes, Command, CommandKind, Event, FailedEntry, Input, PageCommit};
pub use scope::{ResetScope, UnknownScopeFlag};
pub use settings::{Policy, SettingKind, SettingPair, SettingSpec, Settings, SettingsError, TemplateSpec};
pub use state::{Cycle, CycleKind, EntryKey, Escrow, JobState, Lease, Schedule};
pub use status::{CheckpointView, checkpoint, status_code, view};
pub use time::{IsoDuration, Timestamp};
pub use transition::{Transition, apply};
pub use wire::{
    ExecutionCounters, ExecutionState, QuarantineReason, ScheduleState, StatusCode, SynchronizationError,
    SynchronizationJob, SynchronizationQuarantine, SynchronizationTaskExecution,
};
