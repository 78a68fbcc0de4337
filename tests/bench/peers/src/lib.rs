//! What the axum and rmcp peers share: settings from the environment, bearer checks by
//! introspection with a `HashMap` cache behind a lock (what a typical axum user writes),
//! and the Push Advisor answers as serde types.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::schemars;
use serde::{Deserialize, Serialize};

/// The scope `/deploy-history` and `get_deploy_history` need.
pub const READ_SCOPE: &str = "api:read";

/// Entries kept at most; past it the cache is emptied (a bound a user would add once
/// the map grew in production).
const CACHE_LIMIT: usize = 100_000;

/// Settings: `BIND`, `ISSUER`, `RESOURCE` (the audience tokens must carry), `CLIENT_ID`,
/// `CLIENT_SECRET`, `CACHE_TTL` (seconds, default 60).
pub struct Settings {
    pub bind: String,
    pub issuer: String,
    pub resource: String,
    pub client_id: String,
    pub client_secret: String,
    pub cache_ttl: Duration,
}

impl Settings {
    pub fn from_env() -> Settings {
        let var = |name: &str, default: Option<&str>| {
            std::env::var(name)
                .ok()
                .or(default.map(str::to_owned))
                .unwrap_or_else(|| panic!("set {name}"))
        };
        Settings {
            bind: var("BIND", Some("127.0.0.1:8000")),
            issuer: var("ISSUER", None),
            resource: var("RESOURCE", None),
            client_id: var("CLIENT_ID", Some("push-advisor")),
            client_secret: var("CLIENT_SECRET", None),
            cache_ttl: Duration::from_secs(
                var("CACHE_TTL", Some("60")).parse().expect("CACHE_TTL"),
            ),
        }
    }
}

/// Who a granted request acts for: the token's subject, else its client id.
#[derive(Clone, Debug)]
pub struct Principal(pub String);

/// The RFC 7662 members the check reads.
#[derive(Deserialize)]
struct Introspection {
    #[serde(default)]
    active: bool,
    exp: Option<u64>,
    scope: Option<String>,
    aud: Option<Audience>,
    sub: Option<String>,
    client_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone)]
struct Grant {
    principal: String,
    scopes: Vec<String>,
    until: Instant,
}

/// Introspects bearer tokens at the provider and caches the answers.
pub struct Introspector {
    http: reqwest::Client,
    endpoint: String,
    settings: Settings,
    cache: RwLock<HashMap<String, Grant>>,
}

enum Refusal {
    Missing,
    Invalid,
    Scope,
    Provider,
}

impl Introspector {
    /// Finds the introspection endpoint in the issuer's RFC 8414 metadata.
    pub async fn discover(settings: Settings) -> Arc<Introspector> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("http client");
        let metadata: serde_json::Value = http
            .get(format!(
                "{}/.well-known/oauth-authorization-server",
                settings.issuer
            ))
            .send()
            .await
            .and_then(|answer| answer.error_for_status())
            .expect("provider metadata")
            .json()
            .await
            .expect("provider metadata JSON");
        let endpoint = metadata["introspection_endpoint"]
            .as_str()
            .expect("introspection_endpoint")
            .to_owned();
        Arc::new(Introspector {
            http,
            endpoint,
            settings,
            cache: RwLock::new(HashMap::new()),
        })
    }

    async fn check(&self, token: &str) -> Result<Grant, Refusal> {
        if let Some(grant) = self.cache.read().unwrap().get(token)
            && grant.until > Instant::now()
        {
            return Ok(grant.clone());
        }
        let answer: Introspection = self
            .http
            .post(&self.endpoint)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .and_then(|answer| answer.error_for_status())
            .map_err(|_| Refusal::Provider)?
            .json()
            .await
            .map_err(|_| Refusal::Provider)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let exp = answer.exp.unwrap_or(0);
        let audience_matches = match &answer.aud {
            Some(Audience::One(aud)) => *aud == self.settings.resource,
            Some(Audience::Many(auds)) => auds.contains(&self.settings.resource),
            None => false,
        };
        if !answer.active || exp <= now || !audience_matches {
            return Err(Refusal::Invalid);
        }
        let lifetime = self.settings.cache_ttl.min(Duration::from_secs(exp - now));
        let grant = Grant {
            principal: answer
                .sub
                .or(answer.client_id)
                .unwrap_or_else(|| "unknown".to_owned()),
            scopes: answer
                .scope
                .unwrap_or_default()
                .split(' ')
                .map(str::to_owned)
                .collect(),
            until: Instant::now() + lifetime,
        };
        let mut cache = self.cache.write().unwrap();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(token.to_owned(), grant.clone());
        Ok(grant)
    }
}

/// axum middleware: a bearer token with scope `api:read`, or 401/403/503; the principal
/// goes into the request's extensions.
pub async fn require_read(
    State(introspector): State<Arc<Introspector>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let outcome = match token {
        None => Err(Refusal::Missing),
        Some(token) => introspector.check(token).await,
    };
    let outcome = outcome.and_then(|grant| {
        if grant.scopes.iter().any(|scope| scope == READ_SCOPE) {
            Ok(grant)
        } else {
            Err(Refusal::Scope)
        }
    });
    match outcome {
        Ok(grant) => {
            request.extensions_mut().insert(Principal(grant.principal));
            next.run(request).await
        }
        Err(Refusal::Provider) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Err(refusal) => {
            let (status, challenge) = match refusal {
                Refusal::Missing => (StatusCode::UNAUTHORIZED, "Bearer"),
                Refusal::Scope => (
                    StatusCode::FORBIDDEN,
                    "Bearer error=\"insufficient_scope\", scope=\"api:read\"",
                ),
                _ => (StatusCode::UNAUTHORIZED, "Bearer error=\"invalid_token\""),
            };
            let mut response = status.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            response
        }
    }
}

/// The ten vibes of `/vibe-check`.
const VIBES: [&str; 10] = [
    "The stars are aligned ✨",
    "Mercury is in retrograde, maybe not 🪐",
    "The code gods smile upon you 😊",
    "Your git history looks chaotic 🌪️",
    "Perfect timing! 🎯",
    "The servers are feeling moody 😤",
    "Deploy with confidence! 💪",
    "Maybe wait for coffee first ☕",
    "The CI/CD pipeline whispers 'yes' 🤖",
    "Your tests are crying 😢",
];

#[derive(Serialize)]
pub struct Vibe {
    pub answer: &'static str,
    pub vibe: &'static str,
}

impl Vibe {
    pub fn draw() -> Vibe {
        Vibe {
            answer: if rand::random::<bool>() { "yes" } else { "no" },
            vibe: VIBES[rand::random::<u32>() as usize % VIBES.len()],
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct Deployment {
    pub id: String,
    pub timestamp: String,
    pub environment: String,
    pub status: String,
    pub user: String,
}

/// The sample history, attributed to the caller.
#[derive(Serialize, schemars::JsonSchema)]
pub struct DeployHistory {
    pub deployments: Vec<Deployment>,
    pub authenticated_user: String,
    pub message: String,
}

impl DeployHistory {
    pub fn for_user(user: &str) -> DeployHistory {
        let deployment = |id: &str, timestamp: &str, environment: &str, status: &str| Deployment {
            id: id.to_owned(),
            timestamp: timestamp.to_owned(),
            environment: environment.to_owned(),
            status: status.to_owned(),
            user: user.to_owned(),
        };
        DeployHistory {
            deployments: vec![
                deployment(
                    "deploy-001",
                    "2024-08-13T15:30:00Z",
                    "production",
                    "success",
                ),
                deployment("deploy-002", "2024-08-12T10:15:00Z", "staging", "success"),
                deployment("deploy-003", "2024-08-11T09:45:00Z", "production", "failed"),
            ],
            authenticated_user: user.to_owned(),
            message: "This is a protected endpoint - you needed OAuth to see this!".to_owned(),
        }
    }
}
