//! `GET /metrics`: Prometheus text format.

use super::{ApiError, AppState, blocking};
use crate::metrics::PAUSE_BUCKETS;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::atomic::Ordering;

pub(super) async fn render(State(app): State<AppState>) -> Result<Response, ApiError> {
    let e = app.engine.clone();
    let codes = blocking(move || e.count_by_code()).await?;
    let m = app.engine.metrics();
    let mut out = String::new();
    let _ = writeln!(out, "# HELP syncjob_commands_total Commands by kind and outcome.");
    let _ = writeln!(out, "# TYPE syncjob_commands_total counter");
    for ((kind, outcome), n) in m.commands() {
        let _ = writeln!(
            out,
            "syncjob_commands_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    for (name, help, v) in [
        (
            "syncjob_page_commits_total",
            "Page commits.",
            m.page_commits.load(Ordering::Relaxed),
        ),
        (
            "syncjob_entries_exported_total",
            "Entries exported by completed cycles.",
            m.entries_exported.load(Ordering::Relaxed),
        ),
        (
            "syncjob_cycles_completed_total",
            "Cycles completed.",
            m.cycles_completed.load(Ordering::Relaxed),
        ),
        (
            "syncjob_cycles_failed_total",
            "Cycles failed.",
            m.cycles_failed.load(Ordering::Relaxed),
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP syncjob_jobs Jobs by status code.\n# TYPE syncjob_jobs gauge"
    );
    for (code, n) in codes {
        let _ = writeln!(out, "syncjob_jobs{{code=\"{code}\"}} {n}");
    }
    let h = m.pause_histogram();
    let name = "syncjob_pause_latency_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} From a pause's commit to the runner stopping work on the job.\n# TYPE {name} histogram"
    );
    for (b, n) in PAUSE_BUCKETS.iter().zip(h.buckets) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}",
        h.count, h.sum_secs, h.count
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}
