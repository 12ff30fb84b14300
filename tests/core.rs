//! Unit tests of the pure core in the openraft style: given a state and an input,
//! the exact effects (and the state that matters). One module per command and event.

#[path = "core/fixture.rs"]
mod fixture;

#[path = "core/start.rs"]
mod start;

#[path = "core/pause.rs"]
mod pause;

#[path = "core/restart.rs"]
mod restart;

#[path = "core/delete.rs"]
mod delete;

#[path = "core/settings.rs"]
mod settings;

#[path = "core/lease.rs"]
mod lease;

#[path = "core/cycle_began.rs"]
mod cycle_began;

#[path = "core/page_committed.rs"]
mod page_committed;

#[path = "core/cycle_completed.rs"]
mod cycle_completed;

#[path = "core/cycle_failed.rs"]
mod cycle_failed;

#[path = "core/tick.rs"]
mod tick;

#[path = "core/golden.rs"]
mod golden;

#[path = "core/state_table.rs"]
mod state_table;
