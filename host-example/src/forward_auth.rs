//! Forward auth: one endpoint (off unless a path is configured) that nginx
//! `auth_request`, Caddy `forward_auth`, Traefik ForwardAuth or Envoy ext_authz ask
//! whether a request to *their* upstream may pass. It wraps the app as another
//! `Service`, so the no_std app crate stays free of gateway settings.
//!
//! The decision is the auth core's `Guard::check_authorization` on the forwarded
//! `Authorization`, with the scope the first matching rule names for the forwarded
//! method and path: 200 with identity headers, or the core's own 401/403 (challenge and
//! JSON body) or 503 (`Retry-After`) when the provider cannot answer.

use embedded_io_async::Write;
use push_advisor_http::response::{JSON, WriteError};
use push_advisor_http::server::Service;
use push_advisor_http::{Body, Method, MethodSet, Request, Responder, Sent, Status};
use push_advisor_oauth::{Guard, OAuthConfig, TokenValidator};
use push_advisor_tokio::HostClock;
use tracing::debug;

/// One rule: requests whose path starts with `prefix` (and whose method is `method`,
/// when set) need `scope`; an empty scope needs any valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub method: Option<Method>,
    pub prefix: &'static str,
    pub scope: &'static str,
}

impl Rule {
    /// Parses `[METHOD ]PREFIX=SCOPE`, e.g. `/api/=api:read` or `POST /api/=api:write`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let (target, scope) = text
            .rsplit_once('=')
            .ok_or_else(|| format!("forward-auth rule {text:?} is not [METHOD ]PREFIX=SCOPE"))?;
        let (method, prefix) = match target.trim().split_once(' ') {
            Some((method, prefix)) => {
                let parsed = Method::parse(method);
                if parsed == Method::Other {
                    return Err(format!(
                        "forward-auth rule {text:?}: unknown method {method:?}"
                    ));
                }
                (Some(parsed), prefix.trim())
            }
            None => (None, target.trim()),
        };
        if !prefix.starts_with('/') {
            return Err(format!(
                "forward-auth rule {text:?}: the prefix must start with /"
            ));
        }
        Ok(Rule {
            method,
            prefix: crate::leak_str(prefix.to_owned()),
            scope: crate::leak_str(scope.trim().to_owned()),
        })
    }
}

/// Settings of the forward-auth endpoint.
#[derive(Debug, Clone)]
pub struct ForwardAuthConfig {
    /// Where the gateway asks, e.g. `/auth`.
    pub path: &'static str,
    /// Longest prefix first, so the most specific rule decides.
    pub rules: Vec<Rule>,
    /// Header carrying the token's principal to the upstream.
    pub subject_header: &'static str,
    /// Header carrying the granted scopes (space-separated) to the upstream.
    pub scopes_header: &'static str,
}

impl ForwardAuthConfig {
    /// Orders `rules` so that the longest prefix wins and, for equal prefixes, a rule
    /// naming the method wins over one for every method.
    pub fn new(
        path: &'static str,
        mut rules: Vec<Rule>,
        subject_header: &'static str,
        scopes_header: &'static str,
    ) -> ForwardAuthConfig {
        rules.sort_by_key(|rule| (std::cmp::Reverse(rule.prefix.len()), rule.method.is_none()));
        ForwardAuthConfig {
            path,
            rules,
            subject_header,
            scopes_header,
        }
    }

    /// The scope a forwarded request needs; empty (any valid token) when no rule matches.
    pub fn required_scope(&self, method: Method, path: &str) -> &'static str {
        self.rules
            .iter()
            .find(|rule| path.starts_with(rule.prefix) && rule.method.is_none_or(|m| m == method))
            .map_or("", |rule| rule.scope)
    }
}

/// What routing found: the forward-auth endpoint or one of the wrapped service's routes.
#[derive(Debug, Clone, Copy)]
pub enum Route<R> {
    Check,
    Inner(R),
}

/// The wrapped service plus the forward-auth endpoint.
#[derive(Debug)]
pub struct ForwardAuth<S, V: 'static> {
    pub inner: S,
    pub config: &'static ForwardAuthConfig,
    pub oauth: &'static OAuthConfig<'static>,
    pub validator: &'static V,
    pub clock: HostClock,
}

/// Why a forwarded request cannot be decided (a gateway misconfiguration or a path
/// crafted to look like another one); answered 400.
const BAD_FORWARD: &str = r#"{"error":"invalid_request","message":"The forwarded request has no single, plain X-Original-URI or X-Forwarded-Uri."}"#;

impl<S: Service, V: TokenValidator> Service for ForwardAuth<S, V> {
    type Route = Route<S::Route>;

    fn route(&self, path: &str) -> Option<(Self::Route, MethodSet)> {
        if path == self.config.path {
            // Caddy and Traefik ask with GET; nginx's subrequest keeps the client's method
            // unless the location sets `proxy_method GET`.
            return Some((Route::Check, MethodSet::GET.with(MethodSet::POST)));
        }
        self.inner
            .route(path)
            .map(|(route, methods)| (Route::Inner(route), methods))
    }

    async fn call<W: Write>(
        &self,
        route: Self::Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        match route {
            Route::Inner(route) => self.inner.call(route, request, response).await,
            Route::Check => self.check(request, response).await,
        }
    }

    fn responded(&self, request: &Request<'_>, status: u16) {
        self.inner.responded(request, status);
    }

    fn refused(&self, error: push_advisor_http::RequestError) {
        self.inner.refused(error);
    }
}

impl<S, V: TokenValidator> ForwardAuth<S, V> {
    async fn check<W: Write>(
        &self,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let Some(path) = forwarded_path(request) else {
            return response
                .send(
                    Status::BAD_REQUEST,
                    JSON,
                    &[],
                    Body::Bytes(BAD_FORWARD.as_bytes()),
                )
                .await;
        };
        let method = forwarded_method(request);
        // A CORS preflight carries no token by design; the upstream answers it. The
        // identity headers go out empty: a gateway that copies them then overwrites a
        // client's own (Caddy 2.6 would otherwise write its placeholder's literal text).
        if method == Method::Options && request.header("Access-Control-Request-Method").is_some() {
            let headers = [
                (self.config.subject_header, ""),
                (self.config.scopes_header, ""),
            ];
            return response.send(Status::OK, JSON, &headers, Body::Empty).await;
        }
        let scope = self.config.required_scope(method, path);
        let guard = Guard::new(self.oauth, self.validator, self.clock);
        match guard
            .check_authorization(request.header_values("Authorization"), scope)
            .await
        {
            Ok(grant) => {
                // Only header-safe text goes on: a principal is the provider's text.
                let subject = grant
                    .principal
                    .as_deref()
                    .filter(|p| p.bytes().all(|b| (0x20..0x7f).contains(&b)))
                    .unwrap_or("");
                let scopes = grant.scopes.names(self.oauth).collect::<Vec<_>>().join(" ");
                debug!(
                    method = method.as_str(),
                    path, scope, "forward auth granted"
                );
                // Both always, empty when there is nobody to name (see the preflight).
                let headers = [
                    (self.config.subject_header, subject),
                    (self.config.scopes_header, scopes.as_str()),
                    ("Cache-Control", "no-store"),
                ];
                response.send(Status::OK, JSON, &headers, Body::Empty).await
            }
            Err(rejection) => {
                debug!(
                    method = method.as_str(),
                    path,
                    scope,
                    kind = ?rejection.kind,
                    "forward auth refused"
                );
                rejection.send(response).await
            }
        }
    }
}

/// The method of the request the gateway is asking about: `X-Forwarded-Method`
/// (Caddy, Traefik, and the nginx configuration here), else `X-Original-Method`, else
/// the method of the check itself.
fn forwarded_method(request: &Request<'_>) -> Method {
    request
        .header_str("X-Forwarded-Method")
        .or_else(|| request.header_str("X-Original-Method"))
        .map_or(request.method, |m| Method::parse(m.trim()))
}

/// The path (query dropped) of the request the gateway is asking about, from exactly
/// one `X-Original-URI` (nginx) or `X-Forwarded-Uri` (Caddy, Traefik). `None` when
/// missing, repeated or not plain: dot segments, encoded dots or slashes and
/// backslashes could make a path match one rule here and reach another route upstream.
fn forwarded_path<'b>(request: &Request<'b>) -> Option<&'b str> {
    let name = ["X-Original-URI", "X-Forwarded-Uri"]
        .into_iter()
        .find(|name| request.header_count(name) > 0)?;
    if request.header_count(name) != 1 {
        return None;
    }
    let uri = request.header_str(name)?;
    let path = uri.split(['?', '#']).next()?;
    plain_path(path).then_some(path)
}

fn plain_path(path: &str) -> bool {
    if !path.starts_with('/') || path.contains('\\') || path.contains("//") {
        return false;
    }
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"]
        .iter()
        .any(|e| lower.contains(e))
    {
        return false;
    }
    !path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rules: &[&str]) -> ForwardAuthConfig {
        let rules = rules.iter().map(|r| Rule::parse(r).unwrap()).collect();
        ForwardAuthConfig::new("/auth", rules, "X-Auth-Subject", "X-Auth-Scopes")
    }

    #[test]
    fn the_longest_prefix_and_then_the_method_decide() {
        let config = config(&[
            "/=",
            "/api/=api:read",
            "POST /api/=api:write",
            "/api/admin=api:write",
        ]);
        assert_eq!(
            config.required_scope(Method::Get, "/api/things"),
            "api:read"
        );
        assert_eq!(
            config.required_scope(Method::Post, "/api/things"),
            "api:write"
        );
        assert_eq!(
            config.required_scope(Method::Get, "/api/admin/x"),
            "api:write"
        );
        assert_eq!(config.required_scope(Method::Get, "/other"), "");
        assert_eq!(self::config(&[]).required_scope(Method::Get, "/x"), "");
    }

    #[test]
    fn rules_are_checked_when_parsed() {
        assert!(Rule::parse("api/=api:read").is_err());
        assert!(Rule::parse("/api/").is_err());
        assert!(Rule::parse("FETCH /api/=x").is_err());
        assert_eq!(
            Rule::parse(" DELETE /a = api:write ").unwrap(),
            Rule {
                method: Some(Method::Delete),
                prefix: "/a",
                scope: "api:write"
            }
        );
    }

    #[test]
    fn paths_that_could_mean_another_route_are_refused() {
        for bad in [
            "/api/../admin",
            "/api/./x",
            "/a/%2e%2E/b",
            "/a%2Fb",
            "a",
            "/a//b",
            "/a\\b",
        ] {
            assert!(!plain_path(bad), "{bad}");
        }
        for good in ["/", "/api/things", "/a.b/c..d", "/%41"] {
            assert!(plain_path(good), "{good}");
        }
    }
}
