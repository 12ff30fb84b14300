use crate::fixture::*;
use syncjob::job::{Command, StatusCode, status_code};

#[test]
fn settings_can_configure_a_job_and_keep_the_checkpoint() {
    let s = job(StatusCode::NotConfigured);
    let mut settings = s.settings.clone();
    settings.configured = true;
    let t = ok(&s, Command::UpdateSettings(settings), mins(1));
    assert!(t.effects.is_empty());
    assert_eq!(status_code(&t.state), StatusCode::NotRun);

    let s = job(StatusCode::Paused);
    let mut settings = s.settings.clone();
    settings.policy.page_size = 7;
    let t = ok(&s, Command::UpdateSettings(settings), mins(1));
    assert_eq!(t.state.cycle, s.cycle);
    assert_eq!(status_code(&t.state), StatusCode::Paused);
}
