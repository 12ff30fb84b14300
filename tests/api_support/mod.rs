//! A real server on 127.0.0.1:0 in a background thread, and a blocking client.
#![allow(dead_code)]

use reqwest::blocking::{Client, RequestBuilder, Response};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use syncjob::api::{self, Scope, Tokens};
use syncjob::{Engine, EngineOptions};

pub const ALL: &str = "token-for-everyone";
pub const SP1_ONLY: &str = "token-for-sp1";

pub struct Server {
    pub base: String,
    pub engine: Arc<Engine>,
    pub client: Client,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server with `workers` runner threads (0: commands only, codes change only by them).
    pub fn start(workers: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let engine =
            Arc::new(Engine::open_with(dir.path().join("api.db"), EngineOptions::default()).unwrap());
        let mut tokens = Tokens::default();
        tokens.add(ALL, Scope::All);
        tokens.add(SP1_ONLY, Scope::ServicePrincipal("sp1".into()));
        let stop = Arc::new(AtomicBool::new(false));
        engine.spawn_runners(workers, stop.clone()).unwrap();
        let app = api::router(api::AppState::new(engine.clone(), tokens));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        Server {
            base: format!("http://{addr}"),
            engine,
            client: Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            stop,
            _dir: dir,
        }
    }

    pub fn jobs(&self, sp: &str) -> String {
        format!("{}/v1.0/servicePrincipals/{sp}/synchronization/jobs", self.base)
    }

    pub fn req(&self, method: &str, url: &str) -> RequestBuilder {
        self.client.request(method.parse().unwrap(), url).bearer_auth(ALL)
    }

    pub fn send(&self, method: &str, url: &str, body: Option<serde_json::Value>) -> Response {
        let r = self.req(method, url);
        match body {
            Some(b) => r.json(&b),
            None => r,
        }
        .send()
        .unwrap()
    }

    /// Creates a job and returns its id.
    pub fn create(&self, sp: &str, body: serde_json::Value) -> String {
        let r = self.send("POST", &self.jobs(sp), Some(body));
        assert_eq!(r.status(), 201);
        r.json::<serde_json::Value>().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Asserts a Graph error response and returns its body.
pub fn graph_error(r: Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let request_id = r
        .headers()
        .get("request-id")
        .expect("request-id header")
        .to_str()
        .unwrap()
        .to_string();
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(body["error"]["innerError"]["request-id"], request_id.as_str());
    assert!(body["error"]["innerError"]["date"].as_str().is_some());
    body
}
