use crate::fixture::*;
use syncjob::job::{Command, Effect, StatusCode, StopReason};

#[test]
fn delete_is_allowed_in_every_status() {
    for code in StatusCode::ALL {
        let s = job(code);
        let t = ok(&s, Command::Delete, mins(1));
        let mut expected = vec![];
        if let Some(c) = &s.cycle {
            expected.push(Effect::AbandonCycle {
                activity_id: c.activity_id.clone(),
            });
        }
        expected.push(Effect::StopRunner {
            reason: StopReason::Deleted,
        });
        expected.push(Effect::DeleteJob);
        assert_eq!(t.effects, expected, "{code}");
    }
}
