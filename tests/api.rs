//! The HTTP API with a real client against a real server on 127.0.0.1:0: every route
//! and every error code of contract section 2, auth, servicePrincipal scoping, and a
//! pause over HTTP that freezes a running cycle.

mod api_support;

use api_support::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[test]
fn authentication_and_authorization() {
    let s = Server::start(0);
    let url = s.jobs("sp1");
    let r = s.client.get(&url).send().unwrap();
    graph_error(r, 401, "InvalidAuthenticationToken");
    let r = s
        .client
        .get(&url)
        .header("Authorization", "Basic abc")
        .send()
        .unwrap();
    graph_error(r, 401, "InvalidAuthenticationToken");
    let r = s.client.get(&url).bearer_auth("not-a-token").send().unwrap();
    graph_error(r, 401, "InvalidAuthenticationToken");
    assert_eq!(
        s.client.get(&url).bearer_auth(SP1_ONLY).send().unwrap().status(),
        200
    );
    let r = s.client.get(s.jobs("sp2")).bearer_auth(SP1_ONLY).send().unwrap();
    graph_error(r, 403, "accessDenied");
    // healthz needs no token; metrics does.
    assert_eq!(
        s.client
            .get(format!("{}/healthz", s.base))
            .send()
            .unwrap()
            .status(),
        200
    );
    graph_error(
        s.client.get(format!("{}/metrics", s.base)).send().unwrap(),
        401,
        "InvalidAuthenticationToken",
    );
}

#[test]
fn every_route_and_its_errors() {
    let s = Server::start(0);
    let jobs = s.jobs("sp1");

    // create: 201 with Location; errors are 400 naming what is wrong.
    let r = s.send("POST", &jobs, Some(json!({"templateId": "generated", "synchronizationJobSettings": [{"name": "entries", "value": "50"}]})));
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let job: Value = r.json().unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    assert!(
        id.starts_with("generated.") && id.len() == "generated.".len() + 32,
        "{id}"
    );
    assert_eq!(
        location,
        format!("/v1.0/servicePrincipals/sp1/synchronization/jobs/{id}")
    );
    assert_eq!(job["status"]["code"], "NotRun");
    assert_eq!(job["schedule"]["interval"], "PT40M");
    assert_eq!(
        job["status"]["steadyStateFirstAchievedTime"],
        "0001-01-01T00:00:00Z"
    );
    let e = graph_error(
        s.send("POST", &jobs, Some(json!({"templateId": "nope"}))),
        400,
        "invalidRequest",
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("nope"));
    let r = s.req("POST", &jobs).body("{not json").send().unwrap();
    graph_error(r, 400, "invalidRequest");
    let e = graph_error(
        s.send("POST", &jobs, Some(json!({"templateId": "generated", "synchronizationJobSettings": [{"name": "pageSize", "value": "zero"}]}))),
        400,
        "invalidRequest",
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("pageSize"));
    graph_error(
        s.send("POST", &jobs, Some(json!({"templateId": "generated", "synchronizationJobSettings": [{"name": "colour", "value": "red"}]}))),
        400,
        "invalidRequest",
    );

    // list and get, with and without the /v1.0 prefix; scoped to the servicePrincipal.
    let list: Value = s.send("GET", &jobs, None).json().unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let unprefixed = format!("{}/servicePrincipals/sp1/synchronization/jobs/{id}", s.base);
    assert_eq!(s.send("GET", &unprefixed, None).status(), 200);
    let other: Value = s.send("GET", &s.jobs("sp2"), None).json().unwrap();
    assert_eq!(other["value"].as_array().unwrap().len(), 0);
    graph_error(
        s.send("GET", &format!("{}/{id}", s.jobs("sp2")), None),
        404,
        "itemNotFound",
    );
    graph_error(
        s.send("POST", &format!("{}/{id}/pause", s.jobs("sp2")), None),
        404,
        "itemNotFound",
    );
    graph_error(
        s.send(
            "GET",
            &format!("{jobs}/generated.00000000000000000000000000000000"),
            None,
        ),
        404,
        "itemNotFound",
    );
    graph_error(
        s.send("GET", &format!("{}/nowhere", s.base), None),
        404,
        "itemNotFound",
    );

    // Wrong methods on known paths.
    graph_error(s.send("PUT", &format!("{jobs}/{id}"), None), 405, "notSupported");
    graph_error(
        s.send("GET", &format!("{jobs}/{id}/start"), None),
        405,
        "notSupported",
    );
    graph_error(s.send("DELETE", &jobs, None), 405, "notSupported");

    // start / pause / restart: 204; pause ignores a body.
    assert_eq!(s.send("POST", &format!("{jobs}/{id}/start"), None).status(), 204);
    let r = s
        .req("POST", &format!("{jobs}/{id}/pause"))
        .body("whatever")
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let got: Value = s.send("GET", &format!("{jobs}/{id}"), None).json().unwrap();
    assert_eq!(got["status"]["code"], "Paused");
    assert_eq!(got["schedule"]["state"], "Paused");
    for body in [
        Some(json!({"criteria": {"resetScope": "Watermark, Escrows"}})),
        Some(json!({"criteria": {"resetScope": ["Watermark", "QuarantineState"]}})),
        Some(json!({"criteria": {"resetScope": null}})),
        None,
    ] {
        assert_eq!(
            s.send("POST", &format!("{jobs}/{id}/restart"), body).status(),
            204
        );
    }
    let e = graph_error(
        s.send(
            "POST",
            &format!("{jobs}/{id}/restart"),
            Some(json!({"criteria": {"resetScope": "Watermark, Everything"}})),
        ),
        400,
        "invalidRequest",
    );
    assert!(e["error"]["message"].as_str().unwrap().contains("Everything"));

    // A command the state forbids: 409.
    let unconfigured = s.create("sp1", json!({"templateId": "jsonl"}));
    let got: Value = s
        .send("GET", &format!("{jobs}/{unconfigured}"), None)
        .json()
        .unwrap();
    assert_eq!(got["status"]["code"], "NotConfigured");
    graph_error(
        s.send("POST", &format!("{jobs}/{unconfigured}/start"), None),
        409,
        "notAllowed",
    );

    // settings: 204, then it shows; a bad one is 400.
    let r = s.send(
        "PATCH",
        &format!("{jobs}/{unconfigured}"),
        Some(json!({"synchronizationJobSettings": [{"name": "sourcePath", "value": "/nonexistent/log.jsonl"}]})),
    );
    assert_eq!(r.status(), 204);
    let got: Value = s
        .send("GET", &format!("{jobs}/{unconfigured}"), None)
        .json()
        .unwrap();
    assert_eq!(got["status"]["code"], "NotRun");
    assert_eq!(got["synchronizationJobSettings"][0]["name"], "sourcePath");
    graph_error(
        s.send(
            "PATCH",
            &format!("{jobs}/{unconfigured}"),
            Some(json!({"synchronizationJobSettings": [{"name": "interval", "value": "soon"}]})),
        ),
        400,
        "invalidRequest",
    );

    // validateCredentials: 204, or 400 saying what failed.
    assert_eq!(
        s.send("POST", &format!("{jobs}/{id}/validateCredentials"), None)
            .status(),
        204
    );
    let e = graph_error(
        s.send(
            "POST",
            &format!("{jobs}/{unconfigured}/validateCredentials"),
            Some(json!({})),
        ),
        400,
        "invalidRequest",
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/log.jsonl"),
        "{e}"
    );

    // provisionOnDemand: 200 with the steps, then 429 with Retry-After.
    let pod = json!({"parameters": [{"ruleId": "r", "subjects": [{"objectId": "user00000003", "objectTypeName": "User"}]}]});
    for _ in 0..5 {
        let r = s.send(
            "POST",
            &format!("{jobs}/{id}/provisionOnDemand"),
            Some(pod.clone()),
        );
        assert_eq!(r.status(), 200);
        let v: Value = r.json().unwrap();
        let steps: Value = serde_json::from_str(v["value"].as_str().unwrap()).unwrap();
        assert_eq!(steps[0]["succeeded"], true, "{steps}");
    }
    let r = s.send("POST", &format!("{jobs}/{id}/provisionOnDemand"), Some(pod));
    assert!(r.headers().get("retry-after").is_some());
    graph_error(r, 429, "activityLimitReached");
    graph_error(
        s.send(
            "POST",
            &format!("{jobs}/{id}/provisionOnDemand"),
            Some(json!({"parameters": []})),
        ),
        400,
        "invalidRequest",
    );

    // Extensions: checkpoint, transitions, metrics.
    let cp: Value = s
        .send("GET", &format!("{jobs}/{id}/checkpoint"), None)
        .json()
        .unwrap();
    assert!(
        cp["version"].as_u64().unwrap() > 1 && cp.get("cursor").is_some() && cp.get("leaseHolder").is_some()
    );
    let log: Value = s
        .send("GET", &format!("{jobs}/{id}/transitions?$top=2"), None)
        .json()
        .unwrap();
    let rows = log["value"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0]["version"].as_u64() > rows[1]["version"].as_u64(),
        "newest first"
    );
    graph_error(
        s.send("GET", &format!("{jobs}/{id}/transitions?$top=lots"), None),
        400,
        "invalidRequest",
    );
    let metrics = s
        .send("GET", &format!("{}/metrics", s.base), None)
        .text()
        .unwrap();
    for name in [
        "syncjob_commands_total{kind=\"pause\"",
        "syncjob_jobs{code=",
        "syncjob_pause_latency_seconds_bucket",
        "syncjob_page_commits_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }

    // 413 for a body over 1 MiB; client-request-id is echoed.
    let big = format!(
        "{{\"templateId\":\"generated\",\"pad\":\"{}\"}}",
        "x".repeat(1 << 20)
    );
    let r = s
        .req("POST", &jobs)
        .header("client-request-id", "abc-123")
        .body(big)
        .send()
        .unwrap();
    assert_eq!(r.headers()["client-request-id"], "abc-123");
    let e = graph_error(r, 413, "invalidRequest");
    assert_eq!(e["error"]["innerError"]["client-request-id"], "abc-123");

    // delete: 204, then gone.
    assert_eq!(s.send("DELETE", &format!("{jobs}/{id}"), None).status(), 204);
    graph_error(s.send("GET", &format!("{jobs}/{id}"), None), 404, "itemNotFound");
    graph_error(
        s.send("DELETE", &format!("{jobs}/{id}"), None),
        404,
        "itemNotFound",
    );
}

#[test]
fn storage_failures_map_to_500_and_503() {
    use syncjob::api::ApiError;
    use syncjob::store::StoreError;
    let full = ApiError::from(syncjob::EngineError::Store(StoreError::DiskFull));
    assert_eq!((full.status.as_u16(), full.code), (500, "generalException"));
    let busy = ApiError::from(syncjob::EngineError::Store(StoreError::Busy { attempts: 8 }));
    assert_eq!((busy.status.as_u16(), busy.code), (503, "serviceNotAvailable"));
}

#[test]
fn a_pause_over_http_freezes_the_checkpoint_of_a_running_cycle_until_start() {
    let s = Server::start(2);
    let jobs = s.jobs("sp1");
    let id = s.create("sp1", json!({"templateId": "generated", "synchronizationJobSettings": [{"name": "entries", "value": "150000"}]}));
    assert_eq!(s.send("POST", &format!("{jobs}/{id}/start"), None).status(), 204);
    let cp = |s: &Server| -> Value {
        s.send("GET", &format!("{jobs}/{id}/checkpoint"), None)
            .json()
            .unwrap()
    };
    let t = Instant::now();
    while cp(&s)["cursor"].as_u64().unwrap_or(0) < 2_000 {
        assert!(t.elapsed() < Duration::from_secs(60), "the cycle did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(s.send("POST", &format!("{jobs}/{id}/pause"), None).status(), 204);
    let frozen = cp(&s);
    assert_eq!(frozen["code"], "Paused");
    let freeze = |v: &Value| {
        (
            v["cursor"].clone(),
            v["pages"].clone(),
            v["counters"].clone(),
            v["escrows"].clone(),
        )
    };
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            freeze(&cp(&s)),
            freeze(&frozen),
            "the checkpoint moved while paused"
        );
    }
    assert!(frozen["cursor"].as_u64().unwrap() < 150_000);
    assert_eq!(s.send("POST", &format!("{jobs}/{id}/start"), None).status(), 204);
    let t = Instant::now();
    loop {
        let job: Value = s.send("GET", &format!("{jobs}/{id}"), None).json().unwrap();
        if job["status"]["code"] == "Active" {
            assert_eq!(job["status"]["lastExecution"]["countExported"], 150_000);
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "the cycle did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}
