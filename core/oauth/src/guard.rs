//! The access decision for a protected route: extract the bearer token, validate it,
//! apply the policy (active, token type, audience, issuer, expiry, scope) and, when
//! refused, a ready-to-send RFC 6750 / RFC 9728 answer (401, 403, 400 or 503).

use core::fmt;

use embedded_io_async::Write;
use heapless::String;

use super::bearer::{BearerError, bearer_from_authorization, bearer_token};
use super::config::OAuthConfig;
use super::token::{CLIENT_ID_MAX, SUBJECT_MAX, TokenInfo, TokenValidator, ValidationError};
use crate::http::codec::{ByteCount, JsonEscaped, SliceSink, write_decimal, write_json_object};
use crate::http::response::{JSON, WriteError};
use crate::http::time::Clock;
use crate::http::{Body, RenderedHeader, Request, Responder, Sent, Status};

/// What adapters should log at start-up when `demo_tokens` is on.
pub const DEMO_TOKEN_WARNING: &str = "WARNING: demo tokens are ENABLED: any `Bearer demo_token_<user>` is accepted with the login scopes WITHOUT asking the provider. Never enable this in production.";

const DEMO_PREFIX: &str = "demo_token_";

/// Longest principal a [`Grant`] carries: a subject or a client id.
pub const PRINCIPAL_MAX: usize = if SUBJECT_MAX > CLIENT_ID_MAX {
    SUBJECT_MAX
} else {
    CLIENT_ID_MAX
};

/// Who a token acts for: its subject, or its client id for client-credentials tokens.
pub type Principal = String<PRINCIPAL_MAX>;

/// What an accepted token grants, as much as a protected handler needs and small
/// enough to hold across a handler's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'c> {
    /// `sub`, else `client_id`; `None` if the token names neither.
    pub principal: Option<Principal>,
    /// Which of the configured `scopes_supported` the token has.
    pub scopes: GrantedScopes,
    /// The configured audience the token named (`None` when audience checks are off).
    pub audience: Option<&'c str>,
}

/// Why a token was found invalid (for logs and tests; never contains the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// The provider says the token is not active.
    Inactive,
    /// The token is refused unread (too long, bad characters).
    Malformed,
    /// `exp` has passed.
    Expired,
    /// `aud` does not name this resource.
    WrongAudience,
    /// `iss` names another provider.
    WrongIssuer,
    /// `token_type` is not `Bearer`.
    WrongTokenType,
    /// The provider's facts about it exceed this server's bounds (`ValidationError::TooLarge`).
    TooLarge,
}

/// What went wrong, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// 400 `invalid_request`.
    InvalidRequest(BearerError),
    /// 401 without an error code: no credentials sent.
    MissingToken,
    /// 401 `invalid_token`.
    InvalidToken(TokenProblem),
    /// 403 `insufficient_scope`.
    InsufficientScope,
    /// 503: the provider could not answer; the token may well be good.
    Unavailable(ValidationError),
}

impl RejectionKind {
    /// What a validator's failure means for the request: the token's fault (401) or the
    /// provider's (503).
    pub fn from_validation(error: ValidationError) -> RejectionKind {
        match error {
            ValidationError::Inactive => RejectionKind::InvalidToken(TokenProblem::Inactive),
            ValidationError::Malformed => RejectionKind::InvalidToken(TokenProblem::Malformed),
            ValidationError::TooLarge => RejectionKind::InvalidToken(TokenProblem::TooLarge),
            other => RejectionKind::Unavailable(other),
        }
    }
}

/// Which of this resource's `scopes_supported` (the first 16) a token had: all a
/// step-up challenge needs to name, in two bytes rather than a copy of the token's scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantedScopes(u16);

impl GrantedScopes {
    /// The configured scopes named in a space-separated `scope`.
    pub fn of(config: &OAuthConfig<'_>, scope: &str) -> GrantedScopes {
        let mut bits = 0u16;
        for granted in scope.split(' ') {
            if let Some(index) = config.scopes_supported.iter().position(|s| *s == granted) {
                bits |= 1u16.checked_shl(index as u32).unwrap_or(0);
            }
        }
        GrantedScopes(bits)
    }

    /// The granted scopes, in `scopes_supported` order.
    pub fn names<'c>(self, config: &OAuthConfig<'c>) -> impl Iterator<Item = &'c str> {
        config
            .scopes_supported
            .iter()
            .take(16)
            .enumerate()
            .filter(move |(index, _)| self.0 & (1 << index) != 0)
            .map(|(_, scope)| *scope)
    }
}

/// A refused request with everything needed to answer it: its status, the
/// `WWW-Authenticate` (or `Retry-After`) header and a JSON body, written by
/// [`Rejection::send`] or rendered into buffers by [`Rejection::render`] for any HTTP
/// stack.
#[derive(Debug, Clone)]
pub struct Rejection<'a> {
    /// Why the request was refused.
    pub kind: RejectionKind,
    config: &'a OAuthConfig<'a>,
    required_scope: &'a str,
    /// Scopes the token has, for `insufficient_scope` challenges.
    granted: GrantedScopes,
}

/// Longest `WWW-Authenticate` value `challenge` returns.
const CHALLENGE_MAX: usize = 512;

/// A rejection rendered into caller-supplied buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderedRejection<'b> {
    /// 400, 401, 403 or 503.
    pub status: u16,
    /// `WWW-Authenticate`, or `Retry-After` for 503.
    pub header_name: &'static str,
    /// That header's value.
    pub header_value: &'b str,
    /// The JSON body (`application/json`).
    pub body: &'b str,
}

impl<'a> Rejection<'a> {
    /// A rejection of a request to a route that needs `required_scope`.
    pub fn new(kind: RejectionKind, config: &'a OAuthConfig<'a>, required_scope: &'a str) -> Self {
        Rejection {
            kind,
            config,
            required_scope,
            granted: GrantedScopes::default(),
        }
    }

    /// Remembers which of this resource's scopes the token had.
    pub fn with_granted(mut self, granted: GrantedScopes) -> Self {
        self.granted = granted;
        self
    }

    /// The answer's status.
    pub fn status(&self) -> Status {
        match self.kind {
            RejectionKind::InvalidRequest(_) => Status::BAD_REQUEST,
            RejectionKind::MissingToken | RejectionKind::InvalidToken(_) => Status::UNAUTHORIZED,
            RejectionKind::InsufficientScope => Status::FORBIDDEN,
            RejectionKind::Unavailable(_) => Status::SERVICE_UNAVAILABLE,
        }
    }

    /// The `WWW-Authenticate` value, or `None` for 503 (not an authentication failure).
    pub fn challenge(&self) -> Option<String<CHALLENGE_MAX>> {
        let mut value = String::new();
        if self.write_challenge(&mut value).ok()? {
            return Some(value);
        }
        None
    }

    /// Writes the `WWW-Authenticate` value; `Ok(false)` (nothing written) for 503.
    /// Settings that would make it longer than `CHALLENGE_MAX` give a bare challenge.
    pub fn write_challenge(
        &self,
        out: &mut dyn push_advisor_http::codec::TextSink,
    ) -> Result<bool, fmt::Error> {
        let error = match self.kind {
            RejectionKind::InvalidRequest(_) => Some("invalid_request"),
            RejectionKind::MissingToken => None,
            RejectionKind::InvalidToken(_) => Some("invalid_token"),
            RejectionKind::InsufficientScope => Some("insufficient_scope"),
            RejectionKind::Unavailable(_) => return Ok(false),
        };
        let mut length = ByteCount::default();
        self.write_full_challenge(&mut length, error)?;
        if length.0 <= CHALLENGE_MAX {
            self.write_full_challenge(out, error)?;
        } else {
            out.write_str("Bearer")?;
            if let Some(error) = error {
                out.write_str(" error=\"")?;
                out.write_str(error)?;
                out.write_str("\"")?;
            }
        }
        Ok(true)
    }

    fn write_full_challenge(
        &self,
        out: &mut dyn push_advisor_http::codec::TextSink,
        error: Option<&str>,
    ) -> fmt::Result {
        let scope = self.config.challenge_scope.unwrap_or(self.required_scope);
        let granted = match self.kind {
            RejectionKind::InsufficientScope => self.granted,
            _ => GrantedScopes::default(),
        };
        // Parameters are separated by ", "; the first follows "Bearer ". Empty ones
        // are left out.
        let params = [
            ("realm", self.config.realm),
            ("error", error.unwrap_or("")),
            ("resource_metadata", self.config.resource_metadata_url),
        ];
        let mut separator = " ";
        out.write_str("Bearer")?;
        for (name, value) in params {
            if !value.is_empty() {
                out.write_str(separator)?;
                separator = ", ";
                out.write_str(name)?;
                out.write_str("=\"")?;
                write_quoted(out, value)?;
                out.write_str("\"")?;
            }
        }
        let mut names = granted
            .names(self.config)
            .chain(Some(scope))
            .filter(|s| !s.is_empty());
        if let Some(first) = names.next() {
            out.write_str(separator)?;
            out.write_str("scope=\"")?;
            write_quoted(out, first)?;
            for name in names {
                out.write_str(" ")?;
                write_quoted(out, name)?;
            }
            out.write_str("\"")?;
        }
        Ok(())
    }

    /// The header the answer carries: `WWW-Authenticate`, or `Retry-After` for 503.
    pub fn header_name(&self) -> &'static str {
        if matches!(self.kind, RejectionKind::Unavailable(_)) {
            "Retry-After"
        } else {
            "WWW-Authenticate"
        }
    }

    /// Writes the value of [`Rejection::header_name`].
    pub fn write_header_value(
        &self,
        out: &mut dyn push_advisor_http::codec::TextSink,
    ) -> fmt::Result {
        if matches!(self.kind, RejectionKind::Unavailable(_)) {
            write_decimal(out, self.config.retry_after_seconds.into())
        } else {
            self.write_challenge(out).map(|_| ())
        }
    }

    /// Renders the answer into `header` and `body`; `None` if either is too small
    /// (512 and 256 bytes always suffice).
    pub fn render<'b>(
        &self,
        header: &'b mut [u8],
        body: &'b mut [u8],
    ) -> Option<RenderedRejection<'b>> {
        let header_value = render_into(header, |out| self.write_header_value(out))?;
        let body = render_into(body, |out| self.write_body(out))?;
        Some(RenderedRejection {
            status: self.status().code,
            header_name: self.header_name(),
            header_value,
            body,
        })
    }

    /// Writes the JSON body (the original API's error objects).
    #[inline(never)] // a call, not a copy inlined into async callers: less flash
    pub fn write_body(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
        let (error, message) = match self.kind {
            RejectionKind::MissingToken | RejectionKind::InvalidToken(_) => {
                out.write_str("{\"error\":\"Authentication required\",\"message\":\"This endpoint requires a valid OAuth token.\",\"required_scopes\":[\"")?;
                JsonEscaped(self.required_scope).write_to(out)?;
                return out.write_str("\"]}");
            }
            RejectionKind::InsufficientScope => {
                out.write_str(
                    "{\"error\":\"Insufficient permissions\",\"message\":\"This endpoint requires ",
                )?;
                JsonEscaped(self.required_scope).write_to(out)?;
                return out.write_str(" scope.\"}");
            }
            RejectionKind::InvalidRequest(problem) => ("invalid_request", problem.message()),
            RejectionKind::Unavailable(_) => (
                "Authorization server unavailable",
                "The access token could not be checked right now. Try again later.",
            ),
        };
        write_json_object(out, &[("error", error), ("message", message)])
    }

    /// Writes the answer: status, challenge or `Retry-After`, and the JSON body. Both
    /// are rendered into the transmit buffer, so nothing is held while it is written.
    pub async fn send<W: Write>(
        &self,
        responder: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let status = self.status();
        let value = |out: &mut dyn push_advisor_http::codec::TextSink| self.write_header_value(out);
        let header = RenderedHeader {
            name: self.header_name(),
            value: &value,
        };
        let body = |out: &mut dyn push_advisor_http::codec::TextSink| self.write_body(out);
        responder
            .send_with(status, JSON, &[], Some(header), Body::Render(&body))
            .await
    }
}

/// The bearer token to check, or why there is none.
fn token_or_refusal(bearer: Result<Option<&str>, BearerError>) -> (&str, Option<RejectionKind>) {
    match bearer {
        Ok(Some(token)) => (token, None),
        Ok(None) => ("", Some(RejectionKind::MissingToken)),
        Err(problem) => ("", Some(RejectionKind::InvalidRequest(problem))),
    }
}

/// Renders `write` into `buf` as text; `None` if it does not fit.
fn render_into(
    buf: &mut [u8],
    write: impl FnOnce(&mut dyn push_advisor_http::codec::TextSink) -> fmt::Result,
) -> Option<&str> {
    let mut sink = SliceSink::new(buf);
    write(&mut sink).ok()?;
    let len = sink.len();
    core::str::from_utf8(buf.get(..len)?).ok()
}

/// Writes text for the inside of an RFC 9110 quoted-string.
fn write_quoted(out: &mut dyn push_advisor_http::codec::TextSink, text: &str) -> fmt::Result {
    for ch in text.chars() {
        match ch {
            '"' | '\\' => {
                out.write_char('\\')?;
                out.write_char(ch)?;
            }
            c if c.is_control() => {}
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

/// Protects routes: one per server, shared by all connections.
#[derive(Debug)]
pub struct Guard<'c, V, K> {
    config: &'c OAuthConfig<'c>,
    validator: V,
    clock: K,
}

impl<'c, V: TokenValidator, K: Clock> Guard<'c, V, K> {
    /// Cheap enough to build per request; adapters log `DEMO_TOKEN_WARNING` at start-up
    /// when `config.demo_tokens` is on.
    pub fn new(config: &'c OAuthConfig<'c>, validator: V, clock: K) -> Self {
        Guard {
            config,
            validator,
            clock,
        }
    }

    /// The settings it applies.
    pub fn config(&self) -> &'c OAuthConfig<'c> {
        self.config
    }

    /// The validator it asks.
    pub fn validator(&self) -> &V {
        &self.validator
    }

    /// Decides whether `request` may use a route that needs `required_scope`
    /// (empty: any valid token).
    pub async fn check<'s>(
        &'s self,
        request: &Request<'_>,
        required_scope: &'s str,
    ) -> Result<TokenInfo, Rejection<'s>> {
        self.check_with(request, required_scope, TokenInfo::clone)
            .await
    }

    /// `check`, keeping only what `pick` takes from the token's facts: a cached answer
    /// is then looked at in place instead of copied (the hot path of protected routes).
    ///
    /// Not an `async fn`: the decision's own future is returned, so the caller's
    /// future holds no second layer.
    pub fn check_with<T>(
        &self,
        request: &Request<'_>,
        required_scope: &'c str,
        pick: impl FnOnce(&TokenInfo) -> T,
    ) -> impl Future<Output = Result<T, Rejection<'c>>> {
        let (token, refused) = token_or_refusal(bearer_token(request));
        self.decide(token, refused, required_scope, pick)
    }

    /// The check for any HTTP stack: given the request's `Authorization` header values
    /// (none, one, or the repeated ones) and the scope the route needs (empty: any valid
    /// token), the grant or a rejection that renders its own answer.
    pub async fn check_authorization<'h>(
        &self,
        authorization: impl IntoIterator<Item = &'h [u8]>,
        required_scope: &'c str,
    ) -> Result<Grant<'c>, Rejection<'c>> {
        let config = self.config;
        let grant = |info: &TokenInfo| Grant {
            principal: info.principal().and_then(|p| Principal::try_from(p).ok()),
            scopes: GrantedScopes::of(config, &info.scope),
            audience: info
                .audiences
                .iter()
                .find_map(|aud| config.accepted_audience(aud))
                .filter(|_| config.check_audience),
        };
        let (token, refused) = token_or_refusal(bearer_from_authorization(authorization));
        self.decide(token, refused, required_scope, grant).await
    }

    /// The decision once the bearer token is taken from the request (`refused` when
    /// there is none to check). Two small arguments rather than the extraction's
    /// result: an async fn keeps its arguments for its whole life, in every
    /// connection's future.
    async fn decide<T>(
        &self,
        token: &str,
        refused: Option<RejectionKind>,
        required_scope: &'c str,
        pick: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, Rejection<'c>> {
        let reject = |kind| Rejection::new(kind, self.config, required_scope);
        if let Some(kind) = refused {
            return Err(reject(kind));
        }
        if token.len() > self.config.max_token_len {
            return Err(reject(RejectionKind::InvalidToken(TokenProblem::Malformed)));
        }
        let scope_then_pick = |info: &TokenInfo| {
            if required_scope.is_empty() || info.has_scope(required_scope) {
                Ok(pick(info))
            } else {
                // The challenge names what was granted plus what is missing, so a client
                // stepping up keeps the scopes it had (MCP authorization, step-up).
                Err((
                    RejectionKind::InsufficientScope,
                    GrantedScopes::of(self.config, &info.scope),
                ))
            }
        };
        // `if let` (edition 2024) drops the demo answer before the `else` awaits, so the
        // 1 KiB `TokenInfo` is not kept in the future across the provider call.
        let decided = if let Some(info) = self.demo_token(token) {
            Ok(scope_then_pick(&info))
        } else {
            let decide = |info: &TokenInfo| match self.policy(info) {
                Ok(()) => scope_then_pick(info),
                Err(problem) => Err((
                    RejectionKind::InvalidToken(problem),
                    GrantedScopes::default(),
                )),
            };
            self.validator.inspect(token, decide).await
        };
        match decided {
            Ok(Ok(value)) => Ok(value),
            Ok(Err((kind, granted))) => Err(reject(kind).with_granted(granted)),
            Err(error) => Err(reject(RejectionKind::from_validation(error))),
        }
    }

    /// Checks what a validator said against this resource's policy.
    pub fn policy(&self, info: &TokenInfo) -> Result<(), TokenProblem> {
        let config = self.config;
        if !info.active {
            return Err(TokenProblem::Inactive);
        }
        if info
            .token_type
            .as_deref()
            .is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer"))
        {
            return Err(TokenProblem::WrongTokenType);
        }
        if config.check_audience
            && !info
                .audiences
                .iter()
                .any(|aud| config.accepts_audience(aud))
        {
            return Err(TokenProblem::WrongAudience);
        }
        if info
            .issuer
            .as_deref()
            .is_some_and(|issuer| !config.issuer.is_empty() && issuer != config.issuer)
        {
            return Err(TokenProblem::WrongIssuer);
        }
        // Without wall time the cache's lifetime (capped by `exp` against the provider's
        // `Date`) and the provider's own `active` bound the token's life.
        if let (Some(exp), Some(now)) = (info.exp, self.clock.unix_seconds()) {
            if exp <= now {
                return Err(TokenProblem::Expired);
            }
        }
        Ok(())
    }

    #[inline(never)] // a call, not a copy inlined into async callers: less flash
    fn demo_token(&self, token: &str) -> Option<TokenInfo> {
        if !self.config.demo_tokens {
            return None;
        }
        let user = token.strip_prefix(DEMO_PREFIX)?;
        if user.is_empty() {
            return None;
        }
        // A demo token stands in for what a login would get.
        Some(TokenInfo::new(user, self.config.login_scope))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::testing::{FakeClock, FixedValidator, capture_response, with_request};
    use crate::token::parse_introspection;
    use embassy_futures::block_on;
    use std::string::String as StdString;

    const NOW: u64 = 1_723_563_100;

    fn config() -> OAuthConfig<'static> {
        crate::testing::config()
    }

    fn answer(json: &str) -> Result<TokenInfo, ValidationError> {
        parse_introspection(json.as_bytes(), None)
    }

    fn alice(aud: &str, scope: &str) -> Result<TokenInfo, ValidationError> {
        answer(&std::format!(
            r#"{{"active":true,"client_id":"push-advisor","exp":1723566600,"iat":1723563000,"iss":"http://127.0.0.1:9000","aud":{aud},"scope":"{scope}","token_type":"Bearer","sub":"alice"}}"#
        ))
    }

    const WITH_TOKEN: &str =
        "GET /deploy-history HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer opaque-token\r\n\r\n";

    /// Runs the guard on `raw` and returns the outcome and, if refused, the wire answer.
    fn run(
        config: &OAuthConfig<'_>,
        validator: &FixedValidator,
        raw: &str,
    ) -> (Result<TokenInfo, RejectionKind>, Option<StdString>) {
        let clock = FakeClock::at(Some(NOW));
        let guard = Guard::new(config, validator, &clock);
        with_request(raw.as_bytes(), |request| {
            match block_on(guard.check(request, "api:read")) {
                Ok(info) => (Ok(info), None),
                Err(rejection) => {
                    let wire = capture_response(async |responder| rejection.send(responder).await);
                    (Err(rejection.kind), Some(wire))
                }
            }
        })
    }

    fn header_of<'w>(wire: &'w str, name: &str) -> Option<&'w str> {
        wire.split("\r\n")
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
    }

    fn body(wire: &str) -> &str {
        wire.split_once("\r\n\r\n").unwrap().1
    }

    #[test]
    fn valid_token_passes_with_either_audience_shape() {
        let config = config();
        for aud in [
            r#""http://127.0.0.1:8787""#,
            r#"["https://x.example","http://127.0.0.1:8787"]"#,
        ] {
            let validator = FixedValidator::new(alice(aud, "api:read api:write"));
            let (outcome, _) = run(&config, &validator, WITH_TOKEN);
            assert_eq!(outcome.unwrap().subject(), Some("alice"));
            assert_eq!(validator.calls.get(), 1);
        }
    }

    #[test]
    fn no_token_is_401_without_error() {
        let validator = FixedValidator::new(alice(r#""x""#, "api:read"));
        let (outcome, wire) = run(
            &config(),
            &validator,
            "GET /deploy-history HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        assert_eq!(outcome.unwrap_err(), RejectionKind::MissingToken);
        let wire = wire.unwrap();
        assert!(wire.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
        assert_eq!(
            header_of(&wire, "WWW-Authenticate"),
            Some(
                r#"Bearer realm="Push Advisor API", resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource", scope="api:read""#
            )
        );
        assert_eq!(
            body(&wire),
            r#"{"error":"Authentication required","message":"This endpoint requires a valid OAuth token.","required_scopes":["api:read"]}"#
        );
        assert_eq!(validator.calls.get(), 0);
    }

    #[test]
    fn bad_tokens_are_401_invalid_token() {
        let config = config();
        let cases = [
            (answer(r#"{"active":false}"#), TokenProblem::Inactive),
            (
                alice(r#""http://127.0.0.1:9999""#, "api:read"),
                TokenProblem::WrongAudience,
            ),
            (
                answer(r#"{"active":true,"scope":"api:read"}"#),
                TokenProblem::WrongAudience,
            ),
            (
                answer(
                    r#"{"active":true,"aud":"http://127.0.0.1:8787","scope":"api:read","exp":1723563100}"#,
                ),
                TokenProblem::Expired,
            ),
            (
                answer(
                    r#"{"active":true,"aud":"http://127.0.0.1:8787","scope":"api:read","iss":"http://evil"}"#,
                ),
                TokenProblem::WrongIssuer,
            ),
            (
                answer(
                    r#"{"active":true,"aud":"http://127.0.0.1:8787","scope":"api:read","token_type":"refresh_token"}"#,
                ),
                TokenProblem::WrongTokenType,
            ),
        ];
        for (reply, problem) in cases {
            let validator = FixedValidator::new(reply);
            let (outcome, wire) = run(&config, &validator, WITH_TOKEN);
            assert_eq!(outcome.unwrap_err(), RejectionKind::InvalidToken(problem));
            let wire = wire.unwrap();
            assert!(
                wire.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
                "{problem:?}"
            );
            assert_eq!(
                header_of(&wire, "WWW-Authenticate"),
                Some(
                    r#"Bearer realm="Push Advisor API", error="invalid_token", resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource", scope="api:read""#
                )
            );
            assert!(body(&wire).starts_with(r#"{"error":"Authentication required""#));
        }
    }

    #[test]
    fn audience_check_can_be_switched_off_or_widened() {
        let mut config = config();
        let foreign = || alice(r#""http://127.0.0.1:9999""#, "api:read");
        config.check_audience = false;
        assert!(
            run(&config, &FixedValidator::new(foreign()), WITH_TOKEN)
                .0
                .is_ok()
        );
        config.check_audience = true;
        config.audiences = &["http://127.0.0.1:9999"];
        assert!(
            run(&config, &FixedValidator::new(foreign()), WITH_TOKEN)
                .0
                .is_ok()
        );
        let own = alice(r#""http://127.0.0.1:8787""#, "api:read");
        assert!(
            run(&config, &FixedValidator::new(own), WITH_TOKEN)
                .0
                .is_err()
        );
    }

    /// The challenge names the granted scopes this resource knows (not `openid`, which
    /// is not its scope) plus the required one, so a client stepping up keeps them.
    #[test]
    fn missing_scope_is_403_insufficient_scope() {
        let validator =
            FixedValidator::new(alice(r#""http://127.0.0.1:8787""#, "api:write openid"));
        let (outcome, wire) = run(&config(), &validator, WITH_TOKEN);
        assert_eq!(outcome.unwrap_err(), RejectionKind::InsufficientScope);
        let wire = wire.unwrap();
        assert!(wire.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert_eq!(
            header_of(&wire, "WWW-Authenticate"),
            Some(
                r#"Bearer realm="Push Advisor API", error="insufficient_scope", resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource", scope="api:write api:read""#
            )
        );
        assert_eq!(
            body(&wire),
            r#"{"error":"Insufficient permissions","message":"This endpoint requires api:read scope."}"#
        );
    }

    #[test]
    fn provider_trouble_is_503_never_401() {
        for error in [
            ValidationError::Unreachable,
            ValidationError::Timeout,
            ValidationError::BadAnswer,
            ValidationError::Misconfigured,
        ] {
            let validator = FixedValidator::new(Err(error));
            let (outcome, wire) = run(&config(), &validator, WITH_TOKEN);
            assert_eq!(outcome.unwrap_err(), RejectionKind::Unavailable(error));
            let wire = wire.unwrap();
            assert!(wire.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
            assert_eq!(header_of(&wire, "Retry-After"), Some("5"));
            assert_eq!(header_of(&wire, "WWW-Authenticate"), None);
            assert!(body(&wire).starts_with(r#"{"error":"Authorization server unavailable""#));
        }
    }

    #[test]
    fn a_token_too_large_to_judge_is_401_invalid_token_not_503() {
        let validator = FixedValidator::new(Err(ValidationError::TooLarge));
        let (outcome, wire) = run(&config(), &validator, WITH_TOKEN);
        assert_eq!(
            outcome.unwrap_err(),
            RejectionKind::InvalidToken(TokenProblem::TooLarge)
        );
        let wire = wire.unwrap();
        assert!(wire.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{wire}");
        assert!(
            header_of(&wire, "WWW-Authenticate")
                .unwrap()
                .contains(r#"error="invalid_token""#)
        );
    }

    #[test]
    fn malformed_credentials_are_400_invalid_request() {
        let validator = FixedValidator::new(alice(r#""http://127.0.0.1:8787""#, "api:read"));
        let raw = "GET /deploy-history HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n";
        let (outcome, wire) = run(&config(), &validator, raw);
        assert_eq!(
            outcome.unwrap_err(),
            RejectionKind::InvalidRequest(BearerError::RepeatedHeader)
        );
        let wire = wire.unwrap();
        assert!(wire.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(
            header_of(&wire, "WWW-Authenticate")
                .unwrap()
                .contains(r#"error="invalid_request""#)
        );
        assert_eq!(validator.calls.get(), 0);
    }

    #[test]
    fn over_long_tokens_are_refused_without_asking() {
        let mut config = config();
        config.max_token_len = 8;
        let validator = FixedValidator::new(alice(r#""http://127.0.0.1:8787""#, "api:read"));
        let (outcome, _) = run(&config, &validator, WITH_TOKEN);
        assert_eq!(
            outcome.unwrap_err(),
            RejectionKind::InvalidToken(TokenProblem::Malformed)
        );
        assert_eq!(validator.calls.get(), 0);
    }

    #[test]
    fn demo_tokens_are_refused_by_default() {
        let raw = "GET /deploy-history HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer demo_token_mallory\r\n\r\n";
        let validator = FixedValidator::new(answer(r#"{"active":false}"#));
        let (outcome, _) = run(&config(), &validator, raw);
        assert_eq!(
            outcome.unwrap_err(),
            RejectionKind::InvalidToken(TokenProblem::Inactive)
        );
        // The provider was asked, as for any other token.
        assert_eq!(validator.calls.get(), 1);
    }

    #[test]
    fn demo_tokens_work_only_when_enabled() {
        let mut config = config();
        config.demo_tokens = true;
        let validator = FixedValidator::new(answer(r#"{"active":false}"#));
        let raw = "GET /deploy-history HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer demo_token_bob\r\n\r\n";
        let info = run(&config, &validator, raw).0.unwrap();
        assert_eq!(info.subject(), Some("bob"));
        assert!(info.has_scope("api:read") && info.has_scope("api:write"));
        assert_eq!(validator.calls.get(), 0);
        let raw =
            "GET /deploy-history HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer demo_token_\r\n\r\n";
        assert!(run(&config, &validator, raw).0.is_err());
    }

    #[test]
    fn challenge_settings_are_quoted_and_bounded() {
        let mut config = config();
        config.realm = "a \"quoted\" \\ realm";
        config.challenge_scope = Some("api:read api:write");
        let rejection = Rejection::new(RejectionKind::MissingToken, &config, "api:read");
        assert_eq!(
            rejection.challenge().unwrap().as_str(),
            r#"Bearer realm="a \"quoted\" \\ realm", resource_metadata="http://127.0.0.1:8787/.well-known/oauth-protected-resource", scope="api:read api:write""#
        );
        let long = "x".repeat(600);
        config.realm = &long;
        let rejection = Rejection::new(
            RejectionKind::InvalidToken(TokenProblem::Expired),
            &config,
            "api:read",
        );
        assert_eq!(
            rejection.challenge().unwrap().as_str(),
            r#"Bearer error="invalid_token""#
        );
    }

    /// The check any HTTP stack can call: header values in, a grant or a rejection
    /// rendered into plain buffers out; the same answers as the request-based check.
    #[test]
    fn header_check_grants_or_renders_the_same_answer() {
        let config = config();
        let clock = FakeClock::at(Some(NOW));
        let validator =
            FixedValidator::new(alice(r#""http://127.0.0.1:8787""#, "openid api:write"));
        let guard = Guard::new(&config, &validator, &clock);
        let grant = block_on(guard.check_authorization([&b"Bearer opaque-token"[..]], "api:write"))
            .unwrap();
        assert_eq!(grant.principal.as_deref(), Some("alice"));
        assert_eq!(grant.audience, Some("http://127.0.0.1:8787"));
        assert!(grant.scopes.names(&config).eq(["api:write"]));

        // Refused for want of api:read: the rendered answer is what `send` writes.
        let rejection =
            block_on(guard.check_authorization([&b"Bearer opaque-token"[..]], "api:read"))
                .unwrap_err();
        assert_eq!(rejection.kind, RejectionKind::InsufficientScope);
        let (mut header, mut body_buf) = ([0u8; 512], [0u8; 256]);
        let rendered = rejection.render(&mut header, &mut body_buf).unwrap();
        let wire = capture_response(async |responder| rejection.send(responder).await);
        assert_eq!(rendered.status, 403);
        assert!(wire.starts_with("HTTP/1.1 403 "));
        assert_eq!(rendered.header_name, "WWW-Authenticate");
        assert_eq!(
            Some(rendered.header_value),
            header_of(&wire, "WWW-Authenticate")
        );
        assert!(
            rendered
                .header_value
                .contains(r#"scope="api:write api:read""#)
        );
        assert_eq!(rendered.body, body(&wire));
        assert!(rejection.render(&mut [0u8; 16], &mut [0u8; 256]).is_none());

        // No header, a repeated one, and another scheme.
        let none: [&[u8]; 0] = [];
        let missing = block_on(guard.check_authorization(none, "api:read")).unwrap_err();
        assert_eq!(missing.kind, RejectionKind::MissingToken);
        let twice = [&b"Bearer a"[..], &b"Bearer b"[..]];
        let repeated = block_on(guard.check_authorization(twice, "api:read")).unwrap_err();
        assert_eq!(
            repeated.kind,
            RejectionKind::InvalidRequest(BearerError::RepeatedHeader)
        );
        let basic = block_on(guard.check_authorization([&b"Basic eDp5"[..]], "")).unwrap_err();
        assert_eq!(basic.kind, RejectionKind::MissingToken);
    }

    /// A provider outage renders 503 with `Retry-After`, not a challenge.
    #[test]
    fn unavailable_renders_retry_after() {
        let config = config();
        let clock = FakeClock::at(Some(NOW));
        let validator = FixedValidator::new(Err(ValidationError::Timeout));
        let guard = Guard::new(&config, &validator, &clock);
        let rejection =
            block_on(guard.check_authorization([&b"Bearer t"[..]], "api:read")).unwrap_err();
        let (mut header, mut body_buf) = ([0u8; 64], [0u8; 256]);
        let rendered = rejection.render(&mut header, &mut body_buf).unwrap();
        assert_eq!(
            (rendered.status, rendered.header_name, rendered.header_value),
            (503, "Retry-After", "5")
        );
        assert!(
            rendered
                .body
                .starts_with(r#"{"error":"Authorization server unavailable""#)
        );
    }

    /// Without Push Advisor's settings the challenge has no realm and the demo token
    /// grants exactly the configured login scopes.
    #[test]
    fn neutral_settings_give_a_bare_challenge_and_configured_demo_scopes() {
        let config = OAuthConfig {
            scopes_supported: &["read:things"],
            login_scope: "read:things",
            demo_tokens: true,
            ..OAuthConfig::new(
                "https://api.example",
                "",
                "https://id.example",
                crate::testing::config().client,
            )
        };
        let clock = FakeClock::at(Some(NOW));
        let validator = FixedValidator::new(Err(ValidationError::Inactive));
        let guard = Guard::new(&config, &validator, &clock);
        let none: [&[u8]; 0] = [];
        let rejection = block_on(guard.check_authorization(none, "read:things")).unwrap_err();
        assert_eq!(
            rejection.challenge().as_deref(),
            Some(r#"Bearer scope="read:things""#)
        );
        let grant =
            block_on(guard.check_authorization([&b"Bearer demo_token_bob"[..]], "read:things"))
                .unwrap();
        assert_eq!(grant.principal.as_deref(), Some("bob"));
        assert!(grant.scopes.names(&config).eq(["read:things"]));
        assert_eq!(validator.calls.get(), 0);
    }
}
