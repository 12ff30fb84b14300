//! The Microsoft Graph `synchronizationJob` API over HTTP (contract section 2), served
//! under `/v1.0` and without a prefix, plus the operator extensions.
//!
//! Handlers call the synchronous [`Engine`] on the blocking pool. Every response carries
//! a `request-id`; every error has Graph's body (rendered by [`ids_and_errors`]).

pub mod auth;
mod error;
mod metrics;

pub use auth::{Scope, Tokens};
pub use error::ApiError;

use crate::engine::{Engine, EngineError};
use crate::job::{self, EntryKey, ResetScope, SettingPair};
use axum::body::Bytes;
use axum::extract::{FromRequest, OriginalUri, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Request bodies over this are refused with 413.
pub const MAX_BODY: usize = 1 << 20;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub tokens: Arc<Tokens>,
    rate: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, tokens: Tokens) -> Self {
        Self {
            engine,
            tokens: Arc::new(tokens),
            rate: Arc::default(),
        }
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = jobs_routes();
    Router::new()
        .merge(api.clone())
        .nest("/v1.0", api)
        .route("/healthz", get(|| async { "ok\n" }).fallback(method_not_allowed))
        .route("/metrics", get(metrics::render).fallback(method_not_allowed))
        .fallback(|| async { ApiError::not_found("the resource") })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(ids_and_errors))
        .with_state(state)
}

fn jobs_routes() -> Router<AppState> {
    let jobs = "/servicePrincipals/{sp}/synchronization/jobs";
    let m = |r: MethodRouter<AppState>| r.fallback(method_not_allowed);
    Router::new()
        .route(jobs, m(get(list).post(create)))
        .route(
            &format!("{jobs}/{{id}}"),
            m(get(get_job).delete(delete_job).patch(patch_job)),
        )
        .route(&format!("{jobs}/{{id}}/start"), m(post(start)))
        .route(&format!("{jobs}/{{id}}/pause"), m(post(pause)))
        .route(&format!("{jobs}/{{id}}/restart"), m(post(restart)))
        .route(
            &format!("{jobs}/{{id}}/validateCredentials"),
            m(post(validate_credentials)),
        )
        .route(
            &format!("{jobs}/{{id}}/provisionOnDemand"),
            m(post(provision_on_demand)),
        )
        .route(&format!("{jobs}/{{id}}/checkpoint"), m(get(checkpoint)))
        .route(&format!("{jobs}/{{id}}/transitions"), m(get(transitions)))
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// Gives every response a `request-id` (and echoes `client-request-id`), renders the
/// Graph body of errors, and logs the request with its job id.
async fn ids_and_errors(req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let job = path
        .split("/jobs/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_string();
    let mut resp = next.run(req).await;
    if let Some(err) = resp.extensions_mut().remove::<ApiError>() {
        let date = job::time::format_ts(&chrono::Utc::now());
        let body = err.body(&request_id, client_request_id.as_deref(), &date);
        let mut r = (err.status, Json(body)).into_response();
        if let Some(v) = resp.headers().get("Retry-After") {
            r.headers_mut().insert("Retry-After", v.clone());
        }
        resp = r;
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("request-id", v);
    }
    if let Some(c) = client_request_id.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().insert("client-request-id", c);
    }
    tracing::info!(job = %job, %method, %path, status = resp.status().as_u16(), %request_id, "request");
    resp
}

/// Every path but `/healthz` needs a bearer token, valid for the path's servicePrincipal.
async fn authenticate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz" {
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return ApiError::unauthenticated("an Authorization: Bearer token is required").into_response();
    };
    let Some(scope) = app.tokens.scope(token) else {
        return ApiError::unauthenticated("the bearer token is not valid").into_response();
    };
    if let Scope::ServicePrincipal(allowed) = scope {
        let sp = path
            .split("/servicePrincipals/")
            .nth(1)
            .and_then(|r| r.split('/').next());
        if sp.is_some_and(|sp| sp != allowed) || (sp.is_none() && path != "/metrics") {
            return ApiError::forbidden().into_response();
        }
    }
    next.run(req).await
}

/// A request body of at most [`MAX_BODY`] bytes.
struct Body(Bytes);

/// A body over [`MAX_BODY`] is still read (and dropped) up to this, so the client can
/// finish sending and read the 413; past it the connection is closed.
const DRAIN: usize = 16 * MAX_BODY;

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        use http_body_util::BodyExt;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > DRAIN) {
            return Err(ApiError::too_large());
        }
        let mut body = req.into_body();
        let mut kept = Vec::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| ApiError::bad_request(format!("the request body could not be read: {e}")))?;
            if let Ok(data) = frame.into_data() {
                total += data.len();
                if total <= MAX_BODY {
                    kept.extend_from_slice(&data);
                } else if total > DRAIN {
                    break;
                }
            }
        }
        if total > MAX_BODY {
            return Err(ApiError::too_large());
        }
        Ok(Body(Bytes::from(kept)))
    }
}

impl Body {
    /// Parses the body as `T`; an empty body is `None`.
    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, ApiError> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.0)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid: {e}")))
    }
}

/// Runs engine work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "the operation failed unexpectedly; nothing was changed",
        )),
    }
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn list(State(app): State<AppState>, Path(sp): Path<String>) -> Result<Response, ApiError> {
    let jobs = blocking(move || app.engine.list(&sp)).await?;
    let value: Vec<_> = jobs.iter().map(job::view).collect();
    Ok(Json(serde_json::json!({ "value": value })).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    template_id: String,
    #[serde(default)]
    synchronization_job_settings: Option<Vec<SettingPair>>,
}

async fn create(
    State(app): State<AppState>,
    Path(sp): Path<String>,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Result<Response, ApiError> {
    let b: CreateBody = body
        .json()?
        .ok_or_else(|| ApiError::bad_request("a body with templateId is required"))?;
    let sp2 = sp.clone();
    let job = blocking(move || {
        app.engine.create(
            &sp2,
            &b.template_id,
            &b.synchronization_job_settings.unwrap_or_default(),
        )
    })
    .await?;
    let prefix = if uri.path().starts_with("/v1.0/") {
        "/v1.0"
    } else {
        ""
    };
    let location = format!("{prefix}/servicePrincipals/{sp}/synchronization/jobs/{}", job.id);
    let mut r = (StatusCode::CREATED, Json(job::view(&job))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// `sp`'s job `id`, or 404.
async fn load(app: &AppState, sp: &str, id: &str) -> Result<job::JobState, ApiError> {
    let (engine, sp, id) = (app.engine.clone(), sp.to_string(), id.to_string());
    blocking(move || engine.get(&sp, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("the job"))
}

async fn get_job(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(job::view(&load(&app, &sp, &id).await?)).into_response())
}

async fn delete_job(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    blocking(move || app.engine.delete(&sp, &id)).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchBody {
    synchronization_job_settings: Vec<SettingPair>,
}

async fn patch_job(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let b: PatchBody = body
        .json()?
        .ok_or_else(|| ApiError::bad_request("a body with synchronizationJobSettings is required"))?;
    blocking(move || {
        app.engine
            .update_settings(&sp, &id, &b.synchronization_job_settings)
    })
    .await?;
    Ok(no_content())
}

async fn start(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    blocking(move || app.engine.start(&sp, &id)).await?;
    Ok(no_content())
}

/// A body, if sent, is ignored (Graph's pause takes none).
async fn pause(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    blocking(move || app.engine.pause(&sp, &id)).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct RestartBody {
    #[serde(default)]
    criteria: Option<Criteria>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Criteria {
    #[serde(default)]
    reset_scope: Option<ResetScope>,
}

async fn restart(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let b: Option<RestartBody> = body.json()?;
    let scope = b
        .and_then(|b| b.criteria)
        .and_then(|c| c.reset_scope)
        .unwrap_or(ResetScope::PORTAL_DEFAULT);
    blocking(move || app.engine.restart(&sp, &id, scope)).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateBody {
    #[serde(default)]
    use_saved_credentials: Option<bool>,
    #[serde(default)]
    credentials: Option<Vec<KeyValue>>,
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    value: String,
}

async fn validate_credentials(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let b: Option<ValidateBody> = body.json()?;
    let overrides: Vec<SettingPair> = match b {
        Some(ValidateBody {
            use_saved_credentials: Some(true),
            ..
        })
        | None => vec![],
        Some(b) => b
            .credentials
            .unwrap_or_default()
            .into_iter()
            .map(|kv| SettingPair {
                name: kv.key,
                value: kv.value,
            })
            .collect(),
    };
    blocking(move || app.engine.validate_credentials(&sp, &id, &overrides)).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct ProvisionBody {
    parameters: Vec<ProvisionParameter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvisionParameter {
    #[serde(default)]
    #[allow(dead_code)]
    rule_id: Option<String>,
    subjects: Vec<Subject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    object_id: String,
    object_type_name: String,
}

/// 5 calls per 10 s per job.
fn rate_limit(app: &AppState, id: &str) -> Result<(), ApiError> {
    const WINDOW: Duration = Duration::from_secs(10);
    let mut m = app.rate.lock().unwrap_or_else(|e| e.into_inner());
    let calls = m.entry(id.to_string()).or_default();
    let now = Instant::now();
    while calls.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        calls.pop_front();
    }
    if calls.len() >= 5 {
        let wait = calls
            .front()
            .map_or(WINDOW, |t| WINDOW.saturating_sub(now.duration_since(*t)));
        return Err(ApiError::rate_limited(wait.as_secs().max(1)));
    }
    calls.push_back(now);
    Ok(())
}

async fn provision_on_demand(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let b: ProvisionBody = body
        .json()?
        .ok_or_else(|| ApiError::bad_request("a body with parameters is required"))?;
    let subjects: Vec<EntryKey> = b
        .parameters
        .into_iter()
        .flat_map(|p| p.subjects)
        .map(|s| EntryKey::new(s.object_type_name, s.object_id))
        .collect();
    if subjects.is_empty()
        || subjects
            .iter()
            .any(|k| k.id.is_empty() || k.object_type.is_empty())
    {
        return Err(ApiError::bad_request(
            "name at least one subject with objectId and objectTypeName",
        ));
    }
    // The job must exist (404) before it is rate limited.
    load(&app, &sp, &id).await?;
    rate_limit(&app, &id)?;
    let results = blocking(move || app.engine.provision_on_demand(&sp, &id, &subjects)).await?;
    let value = serde_json::to_string(&results).unwrap_or_default();
    Ok(Json(serde_json::json!({ "key": "ProvisioningSteps", "value": value })).into_response())
}

async fn checkpoint(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(job::checkpoint(&load(&app, &sp, &id).await?)).into_response())
}

async fn transitions(
    State(app): State<AppState>,
    Path((sp, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let top = match q.get("$top") {
        None => 50,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| ApiError::bad_request("$top must be a whole number from 1 to 10000"))?,
    };
    let rows = blocking(move || app.engine.transitions(&sp, &id, top)).await?;
    Ok(Json(serde_json::json!({ "value": rows })).into_response())
}
