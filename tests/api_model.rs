//! Black-box: random sequences of create/start/pause/restart/settings/delete over HTTP,
//! every response code and `status.code` checked against a reference model. No runners
//! run, so a code changes only through these commands. Then fuzzed request bodies,
//! resetScope strings and setting values against the router: never a 5xx, always a
//! 2xx or a 4xx with a Graph error body.

mod api_support;

use api_support::*;
use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

#[derive(Clone, Debug)]
enum Op {
    Create { jsonl: bool },
    Start(usize),
    Pause(usize),
    Restart(usize, &'static str),
    Configure(usize),
    Delete(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let j = 0usize..4;
    prop_oneof![
        2 => any::<bool>().prop_map(|jsonl| Op::Create { jsonl }),
        3 => j.clone().prop_map(Op::Start),
        3 => j.clone().prop_map(Op::Pause),
        2 => (j.clone(), prop_oneof![Just(""), Just("Watermark"), Just("Full, ForceDeletes"), Just("None")]).prop_map(|(i, s)| Op::Restart(i, s)),
        1 => j.clone().prop_map(Op::Configure),
        1 => j.prop_map(Op::Delete),
    ]
}

/// The reference: a job's configured and paused flags, or gone.
#[derive(Clone, Debug)]
struct M {
    id: String,
    configured: bool,
    paused: bool,
    deleted: bool,
}

impl M {
    fn code(&self) -> &'static str {
        if !self.configured {
            "NotConfigured"
        } else if self.paused {
            "Paused"
        } else {
            "NotRun"
        }
    }
}

fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| Server::start(0))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn http_commands_follow_the_state_table(ops in proptest::collection::vec(op(), 1..40), sp in "[a-z]{8}") {
        let s = server();
        let jobs = s.jobs(&sp);
        let mut model: Vec<M> = vec![];
        for op in ops {
            let pick = |i: usize, model: &Vec<M>| (!model.is_empty()).then(|| i % model.len());
            let (status, j) = match op {
                Op::Create { jsonl } => {
                    let r = s.send("POST", &jobs, Some(json!({"templateId": if jsonl { "jsonl" } else { "generated" }})));
                    prop_assert_eq!(r.status().as_u16(), 201);
                    let v: Value = r.json().unwrap();
                    model.push(M { id: v["id"].as_str().unwrap().into(), configured: !jsonl, paused: false, deleted: false });
                    (201, model.len() - 1)
                }
                Op::Start(i) | Op::Pause(i) | Op::Restart(i, _) | Op::Configure(i) | Op::Delete(i) => {
                    let Some(j) = pick(i, &model) else { continue };
                    let url = format!("{jobs}/{}", model[j].id);
                    let m = &mut model[j];
                    let (r, expected) = match op {
                        Op::Start(_) => (s.send("POST", &format!("{url}/start"), None),
                            if m.deleted { 404 } else if !m.configured { 409 } else { m.paused = false; 204 }),
                        Op::Pause(_) => (s.send("POST", &format!("{url}/pause"), None),
                            if m.deleted { 404 } else if !m.configured { 409 } else { m.paused = true; 204 }),
                        Op::Restart(_, scope) => (s.send("POST", &format!("{url}/restart"), Some(json!({"criteria": {"resetScope": scope}}))),
                            if m.deleted { 404 } else if !m.configured { 409 } else { m.paused = false; 204 }),
                        Op::Configure(_) => (s.send("PATCH", &url, Some(json!({"synchronizationJobSettings": [{"name": "interval", "value": "PT5M"}]}))),
                            if m.deleted { 404 } else { 204 }),
                        Op::Delete(_) => (s.send("DELETE", &url, None),
                            if m.deleted { 404 } else { m.deleted = true; 204 }),
                        Op::Create { .. } => unreachable!(),
                    };
                    let got = r.status().as_u16();
                    prop_assert_eq!(got, expected, "{:?} on {:?}", op, model[j]);
                    if got >= 400 {
                        let code = match got { 404 => "itemNotFound", _ => "notAllowed" };
                        graph_error(r, got, code);
                    }
                    (got, j)
                }
            };
            let _ = status;
            let m = &model[j];
            let r = s.send("GET", &format!("{jobs}/{}", m.id), None);
            if m.deleted {
                prop_assert_eq!(r.status().as_u16(), 404);
            } else {
                let v: Value = r.json().unwrap();
                prop_assert_eq!(v["status"]["code"].as_str().unwrap(), m.code());
            }
        }
        let list: Value = s.send("GET", &jobs, None).json().unwrap();
        prop_assert_eq!(list["value"].as_array().unwrap().len(), model.iter().filter(|m| !m.deleted).count());
    }
}

/// The router in-process (no network), for many fuzzed requests.
fn app() -> &'static (axum::Router, String, tokio::runtime::Runtime) {
    static A: OnceLock<(axum::Router, String, tokio::runtime::Runtime)> = OnceLock::new();
    A.get_or_init(|| {
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        let engine = Arc::new(syncjob::Engine::open(dir.path().join("fuzz.db")).unwrap());
        let job = engine.create("fz", "generated", &[]).unwrap();
        let mut tokens = syncjob::api::Tokens::default();
        tokens.add(ALL, syncjob::api::Scope::All);
        let router = syncjob::api::router(syncjob::api::AppState::new(engine, tokens));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        (router, job.id, rt)
    })
}

fn call(method: &str, path: &str, body: String) -> (u16, Vec<u8>) {
    let (router, _, rt) = app();
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {ALL}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    rt.block_on(async {
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (status, bytes.to_vec())
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("Watermark"),
            Just("Full"),
            Just("ForceDeletes, Escrows"),
            Just("PT1H"),
            Just("generated"),
            Just("jsonl")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("templateId".to_string()),
                    Just("synchronizationJobSettings".to_string()),
                    Just("criteria".to_string()),
                    Just("resetScope".to_string()),
                    Just("name".to_string()),
                    Just("value".to_string()),
                    Just("parameters".to_string()),
                    Just("subjects".to_string()),
                    Just("objectId".to_string()),
                    Just("objectTypeName".to_string()),
                    Just("credentials".to_string()),
                    ".{0,6}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_response(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        status < 500,
        "a {} for a client's mistake: {}",
        status,
        String::from_utf8_lossy(body)
    );
    if status >= 400 {
        let v: Value = serde_json::from_slice(body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            v["error"]["code"].is_string() && v["error"]["innerError"]["request-id"].is_string(),
            "{}",
            v
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fuzzed_bodies_get_2xx_or_a_graph_4xx(
        body in prop_oneof![json_value().prop_map(|v| v.to_string()), ".{0,40}"],
        route in 0usize..6,
    ) {
        let (_, id, _) = app();
        let jobs = "/v1.0/servicePrincipals/fz/synchronization/jobs";
        let (method, path) = match route {
            0 => ("POST", jobs.to_string()),
            1 => ("POST", format!("{jobs}/{id}/restart")),
            2 => ("PATCH", format!("{jobs}/{id}")),
            3 => ("POST", format!("{jobs}/{id}/validateCredentials")),
            4 => ("POST", format!("{jobs}/{id}/pause")),
            _ => ("POST", format!("{jobs}/{id}/start")),
        };
        let (status, bytes) = call(method, &path, body);
        check_response(status, &bytes)?;
    }

    #[test]
    fn fuzzed_scopes_and_settings_get_2xx_or_a_graph_4xx(scope in ".{0,30}", name in prop_oneof![
        Just("interval".to_string()), Just("pageSize".to_string()), Just("entries".to_string()),
        Just("deleteThreshold".to_string()), Just("seed".to_string()), ".{0,10}"], value in ".{0,20}") {
        let (_, id, _) = app();
        let jobs = "/v1.0/servicePrincipals/fz/synchronization/jobs";
        let (status, bytes) = call("POST", &format!("{jobs}/{id}/restart"), json!({"criteria": {"resetScope": scope}}).to_string());
        check_response(status, &bytes)?;
        let settings = json!({"synchronizationJobSettings": [{"name": name, "value": value}]}).to_string();
        let (status, bytes) = call("PATCH", &format!("{jobs}/{id}"), settings);
        check_response(status, &bytes)?;
        // Put the job back to small, valid settings for the next case.
        let reset = json!({"synchronizationJobSettings": [{"name": "entries", "value": "10"}, {"name": "pageSize", "value": "5"}]}).to_string();
        let _ = call("PATCH", &format!("{jobs}/{id}"), reset);
    }
}
