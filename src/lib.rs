//! `syncjob`: a durable engine for identity-provisioning synchronization jobs, with the
//! semantics of Microsoft Graph's `synchronizationJob` (pause, start, restart with a
//! reset scope, quarantine with back-off).
//!
//! - [`job`] is the pure state machine: `(state, input, now) → (state, effects)`.
//! - [`store`] persists it in SQLite: guarded page commits, leases, the audit log.
//! - [`connector`] reads sources and writes targets; [`runner`] works the cycles.
//! - [`engine::Engine`] is what an embedding service opens.

pub use engine::{Engine, EngineError, EngineOptions};

pub mod api;
pub mod connector;
pub mod engine;
pub mod job;
pub mod metrics;
pub mod runner;
pub mod store;
