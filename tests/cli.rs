//! The built `syncjob` binary: the demo, every `jobs` command in table and `--json`
//! form, clear one-line errors, and `serve` starting, answering and stopping cleanly.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn syncjob(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncjob"))
        .args(args)
        .env_remove("SYNCJOB_TOKEN")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = syncjob(args);
    assert!(
        o.status.success(),
        "syncjob {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A failure: non-zero, one line on stderr, no panic.
fn fails(args: &[&str]) -> String {
    let o = syncjob(args);
    assert!(!o.status.success(), "syncjob {args:?} should fail");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    err
}

#[test]
fn the_demo_syncs_pauses_crashes_resumes_and_matches() {
    let out = ok(&["demo", "--entries", "20000"]);
    assert!(out.contains("the target matches the source"), "{out}");
    assert!(out.contains("resumed with pageCommitted(8000.."), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
}

#[test]
fn jobs_commands_in_table_and_json_form() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let db = db.to_str().unwrap();
    let base = ["--db", db, "--sp", "sp1"];
    let with =
        |cmd: &[&str]| -> Vec<String> { cmd.iter().chain(base.iter()).map(|s| s.to_string()).collect() };
    let run = |cmd: &[&str]| ok(&with(cmd).iter().map(String::as_str).collect::<Vec<_>>());

    let created = run(&[
        "jobs",
        "create",
        "--template",
        "generated",
        "--setting",
        "entries=300",
        "--setting",
        "pageSize=100",
        "--json",
    ]);
    let job: Value = serde_json::from_str(&created).unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["status"]["code"], "NotRun");
    let table = run(&["jobs", "create", "--template", "jsonl"]);
    assert!(
        table.starts_with("created jsonl.") && table.contains("NotConfigured"),
        "{table}"
    );

    let list = run(&["jobs", "list"]);
    assert!(list.starts_with("ID") && list.contains(&id), "{list}");
    let list: Value = serde_json::from_str(&run(&["jobs", "list", "--json"])).unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 2);

    assert!(run(&["jobs", "get", &id]).contains("status:     NotRun"));
    let got: Value = serde_json::from_str(&run(&["jobs", "get", &id, "--json"])).unwrap();
    assert_eq!(got["synchronizationJobSettings"][0]["name"], "entries");

    assert!(run(&["jobs", "start", &id]).contains("NotRun (start)"));
    assert!(run(&["jobs", "pause", &id]).contains("Paused (pause)"));
    let paused: Value = serde_json::from_str(&run(&["jobs", "pause", &id, "--json"])).unwrap();
    assert_eq!(paused["status"]["code"], "Paused");
    assert!(run(&["jobs", "restart", &id, "--scope", "Watermark, Escrows"]).contains("(restart)"));
    let cp = run(&["jobs", "checkpoint", &id]);
    assert!(cp.contains("version") && cp.contains("watermarkPresent"), "{cp}");
    let cp: Value = serde_json::from_str(&run(&["jobs", "checkpoint", &id, "--json"])).unwrap();
    assert_eq!(cp["code"], "NotRun");
    let log = run(&["jobs", "log", &id]);
    assert!(
        log.contains("restart(Escrows, Watermark)") && log.contains("pause"),
        "{log}"
    );
    let log: Value = serde_json::from_str(&run(&["jobs", "log", &id, "--json", "--top", "2"])).unwrap();
    assert_eq!(log["value"].as_array().unwrap().len(), 2);

    // Errors: one clear line each.
    assert!(
        fails(
            &with(&["jobs", "restart", &id, "--scope", "Sideways"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        )
        .contains("Sideways")
    );
    assert!(
        fails(
            &with(&["jobs", "get", "generated.nope"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        )
        .contains("no job")
    );
    let other = ["jobs", "get", &id, "--db", db, "--sp", "sp2"];
    assert!(
        fails(&other).contains("no job"),
        "another servicePrincipal's job is not found"
    );

    assert!(run(&["jobs", "delete", &id]).contains("deleted"));
    let list: Value = serde_json::from_str(&run(&["jobs", "list", "--json"])).unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
}

#[test]
fn refused_and_missing_databases_give_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "shopping list\n").unwrap();
    let e = fails(&["jobs", "list", "--db", text.to_str().unwrap(), "--sp", "sp1"]);
    assert!(e.contains("not a SQLite database"), "{e}");
    let e = fails(&[
        "jobs",
        "list",
        "--db",
        dir.path().join("missing.db").to_str().unwrap(),
        "--sp",
        "sp1",
    ]);
    assert!(e.contains("no such database"), "{e}");
    let e = fails(&["serve", "--db", dir.path().join("s.db").to_str().unwrap()]);
    assert!(e.contains("--token") && e.contains("SYNCJOB_TOKEN"), "{e}");
}

#[test]
fn serve_listens_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncjob"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token", "s3cret", "--db"])
        .arg(dir.path().join("serve.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the listening line")
        .to_string();
    let client = reqwest::blocking::Client::new();
    assert_eq!(
        client.get(format!("{base}/healthz")).send().unwrap().status(),
        200
    );
    let r = client
        .post(format!("{base}/v1.0/servicePrincipals/sp/synchronization/jobs"))
        .bearer_auth("s3cret")
        .json(&serde_json::json!({"templateId": "generated"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The jobs commands work on the database while the service has it open.
    let db = dir.path().join("serve.db");
    let db = db.to_str().unwrap();
    assert!(ok(&["jobs", "start", &id, "--db", db, "--sp", "sp"]).contains("(start)"));
    assert!(ok(&["jobs", "list", "--db", db, "--sp", "sp"]).contains(&id));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit after SIGTERM: {:?}", out.status);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(!logs.contains("s3cret"), "the token never appears in logs");
}
