//! The authorization-code flow with PKCE for a server's login page (RFC 6749 §4.1,
//! RFC 7636 S256, RFC 8707 `resource`): a bounded store of pending logins
//! (state → code verifier), the authorization URL, and the code-for-token exchange.

use core::cell::RefCell;
use core::fmt::{self, Write as _};

use base64::Engine as _;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use heapless::{String, Vec};
use rand_core::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::config::OAuthConfig;
use super::provider_calls::{
    status_error, transport_error, uses_basic, write_basic_authorization, write_post_credentials,
};
use super::token::ValidationError;
use crate::http::Request;
use crate::http::client::{FormRenderer, Outgoing, exchange};
use crate::http::codec::{FormEncoded, HtmlEscaped};
use crate::http::net::{Connect, Endpoint};

/// 32 random bytes in base64url without padding.
pub const RANDOM_TEXT_LEN: usize = 43;
/// Random URL-safe text: a `state` or a PKCE verifier or challenge.
pub type RandomText = String<RANDOM_TEXT_LEN>;

#[derive(Debug, Clone)]
struct Pending {
    state: RandomText,
    verifier: RandomText,
    expires_ms: u64,
}

/// A started login: send the browser to `authorization_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The `state` sent to the provider and expected back.
    pub state: RandomText,
    /// The PKCE S256 challenge of the verifier kept for `state`.
    pub code_challenge: RandomText,
}

/// Why a login cannot be finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// Never issued, already used, or pushed out by newer logins.
    UnknownState,
    /// Issued, but the user took longer than the login lifetime.
    Expired,
}

/// Pending logins, shared by all connections. When full, the oldest is dropped, so a
/// flood of `/login` visits can only cost honest users a retry.
pub struct LoginStore<M: RawMutex, const N: usize> {
    pending: BlockingMutex<M, RefCell<Vec<Pending, N>>>,
    lifetime_ms: u64,
}

impl<M: RawMutex, const N: usize> fmt::Debug for LoginStore<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginStore")
            .field("capacity", &N)
            .field("lifetime_ms", &self.lifetime_ms)
            .finish()
    }
}

impl<M: RawMutex, const N: usize> LoginStore<M, N> {
    /// An empty store whose logins expire after `lifetime_ms`.
    pub const fn new(lifetime_ms: u64) -> Self {
        LoginStore {
            pending: BlockingMutex::new(RefCell::new(Vec::new())),
            lifetime_ms,
        }
    }

    /// Starts a login: a fresh `state` and PKCE verifier, remembered until `finish`.
    pub fn begin<R: RngCore + ?Sized>(&self, rng: &mut R, now_ms: u64) -> Login {
        let state = random_text(rng);
        let verifier = random_text(rng);
        let code_challenge = challenge_for(&verifier);
        let entry = Pending {
            state: state.clone(),
            verifier,
            expires_ms: now_ms.saturating_add(self.lifetime_ms),
        };
        self.pending.lock(|pending| {
            let mut pending = pending.borrow_mut();
            pending.retain(|old| old.expires_ms > now_ms);
            if pending.is_full() {
                let oldest = pending
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, old)| old.expires_ms)
                    .map(|(index, _)| index);
                if let Some(index) = oldest {
                    pending.swap_remove(index);
                }
            }
            let _ = pending.push(entry);
        });
        Login {
            state,
            code_challenge,
        }
    }

    /// Ends a login: the verifier for `state`, which can be used only once.
    pub fn finish(&self, state: &str, now_ms: u64) -> Result<RandomText, LoginError> {
        self.pending.lock(|pending| {
            let mut pending = pending.borrow_mut();
            let index = pending
                .iter()
                .position(|entry| same_text(entry.state.as_bytes(), state.as_bytes()))
                .ok_or(LoginError::UnknownState)?;
            let entry = pending.swap_remove(index);
            if entry.expires_ms <= now_ms {
                return Err(LoginError::Expired);
            }
            Ok(entry.verifier)
        })
    }

    /// How many logins are waiting for their answer.
    pub fn pending(&self) -> usize {
        self.pending.lock(|pending| pending.borrow().len())
    }
}

/// The cookie that ties a login's `state` to the browser that started it (login CSRF
/// defence): `/login` sets it to the state, the redirect target accepts the state only
/// from a browser that sends it back. `HttpOnly`, `SameSite=Lax` (sent on the provider's
/// top-level redirect back), scoped to the redirect path; over https `Secure` with the
/// `__Host-` prefix (no subdomain can plant it; the prefix requires `Path=/`).
#[derive(Debug, Clone, Copy)]
pub struct LoginCookie<'a> {
    secure: bool,
    path: &'a str,
    max_age_s: u64,
}

impl<'a> LoginCookie<'a> {
    /// The cookie for the login settings of `config` (its redirect URI and login lifetime).
    pub fn new(config: &OAuthConfig<'a>) -> Self {
        let uri = config.redirect_uri;
        let after_scheme = uri.find("://").map_or(0, |at| at + 3);
        let path = uri
            .get(after_scheme..)
            .and_then(|rest| rest.find('/').and_then(|at| rest.get(at..)))
            .unwrap_or("/");
        let path = path.split(['?', '#']).next().unwrap_or("/");
        LoginCookie {
            secure: uri.starts_with("https://"),
            path,
            max_age_s: config.login_lifetime_ms / 1000,
        }
    }

    /// The cookie's name.
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-login-state"
        } else {
            "login-state"
        }
    }

    /// The value of a `Set-Cookie` header carrying `state`.
    pub fn write_set_cookie(
        &self,
        out: &mut dyn push_advisor_http::codec::TextSink,
        state: &str,
    ) -> fmt::Result {
        let out = &mut push_advisor_http::codec::Formatted(out);
        write!(
            out,
            "{}={state}; Max-Age={}; HttpOnly; SameSite=Lax; ",
            self.name(),
            self.max_age_s
        )?;
        if self.secure {
            out.write_str("Secure; Path=/")
        } else {
            write!(out, "Path={}", self.path)
        }
    }

    /// Whether the request's cookies carry this login cookie with exactly `state`.
    pub fn matches(&self, request: &Request<'_>, state: &str) -> bool {
        let name = self.name().as_bytes();
        request
            .header_values("cookie")
            .flat_map(|value| value.split(|&b| b == b';'))
            .filter_map(|pair| {
                let pair = pair.trim_ascii();
                let value = pair.strip_prefix(name)?.strip_prefix(b"=")?;
                Some(value.trim_ascii())
            })
            .any(|value| same_text(value, state.as_bytes()))
    }
}

/// Compares without stopping at the first difference.
fn same_text(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_text<R: RngCore + ?Sized>(rng: &mut R) -> RandomText {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    base64url(&bytes)
}

fn base64url(bytes: &[u8; 32]) -> RandomText {
    let mut out = [0u8; RANDOM_TEXT_LEN];
    let length = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode_slice(bytes, &mut out)
        .unwrap_or(0);
    out.get(..length)
        .and_then(|text| core::str::from_utf8(text).ok())
        .and_then(|text| String::try_from(text).ok())
        .unwrap_or_default()
}

/// The S256 code challenge: base64url(SHA-256(verifier)).
pub fn challenge_for(verifier: &str) -> RandomText {
    base64url(&Sha256::digest(verifier.as_bytes()).into())
}

/// The authorization request URL, written with every value form-encoded.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationUrl<'a> {
    /// The provider's authorization endpoint.
    pub authorization_endpoint: &'a str,
    /// The client id, redirect URI and scope come from here.
    pub config: &'a OAuthConfig<'a>,
    /// The started login (state and challenge).
    pub login: &'a Login,
}

impl<'a> AuthorizationUrl<'a> {
    /// The URL for `login` at `authorization_endpoint`.
    pub fn new(
        authorization_endpoint: &'a str,
        config: &'a OAuthConfig<'a>,
        login: &'a Login,
    ) -> Self {
        AuthorizationUrl {
            authorization_endpoint,
            config,
            login,
        }
    }

    /// The same URL escaped for an HTML attribute (`&` becomes `&amp;`).
    pub fn for_html(self) -> ForHtml<Self> {
        ForHtml(self)
    }
}

impl fmt::Display for AuthorizationUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config;
        let separator = if self.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        write!(
            f,
            "{}{separator}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&code_challenge={}&code_challenge_method=S256",
            self.authorization_endpoint,
            FormEncoded(config.client.client_id.as_bytes()),
            FormEncoded(config.redirect_uri.as_bytes()),
            FormEncoded(
                config
                    .authorize_scope
                    .unwrap_or(config.login_scope)
                    .as_bytes()
            ),
            FormEncoded(self.login.state.as_bytes()),
            FormEncoded(self.login.code_challenge.as_bytes()),
        )?;
        if let Some(audience) = config.authorize_audience {
            write!(f, "&audience={}", FormEncoded(audience.as_bytes()))?;
        }
        write_resource(f, config)
    }
}

/// `&resource=…` (RFC 8707) unless the configuration leaves it out.
fn write_resource(
    out: &mut dyn push_advisor_http::codec::TextSink,
    config: &OAuthConfig<'_>,
) -> fmt::Result {
    let out = &mut push_advisor_http::codec::Formatted(out);
    if config.send_resource {
        write!(out, "&resource={}", FormEncoded(config.resource.as_bytes()))?;
    }
    Ok(())
}

/// Writes a `Display` value escaped for HTML text or a quoted attribute.
#[derive(Debug, Clone, Copy)]
pub struct ForHtml<T>(pub T);

impl<T: fmt::Display> fmt::Display for ForHtml<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escaping<'f, 'g>(&'f mut fmt::Formatter<'g>);
        impl fmt::Write for Escaping<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                write!(self.0, "{}", HtmlEscaped(s))
            }
        }
        write!(Escaping(f), "{}", self.0)
    }
}

/// Longest access token the token page keeps.
pub const ACCESS_TOKEN_MAX: usize = 2048;

/// A successful token response (RFC 6749 §5.1). Unknown members (id_token,
/// refresh_token...) are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String<ACCESS_TOKEN_MAX>,
    /// Its type, normally `Bearer`.
    pub token_type: String<32>,
    /// Seconds until it expires, if said.
    pub expires_in: Option<u64>,
    /// The scopes granted, if said.
    pub scope: Option<String<256>>,
}

/// Why the exchange failed.
// Without alloc the provider's description is kept inline; the error is rare.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    /// The provider refused (RFC 6749 §5.2), e.g. `invalid_grant`.
    Provider {
        /// The RFC 6749 error code.
        error: String<64>,
        /// Its `error_description`, if any.
        description: Option<String<256>>,
    },
    /// The provider could not be reached, or answered something unreadable.
    Unavailable(ValidationError),
    /// Our own settings cannot form the request.
    Misconfigured,
}

#[derive(Deserialize)]
struct ProviderError {
    error: String<64>,
    error_description: Option<String<256>>,
}

/// Trades an authorization code for tokens at `token_endpoint`. `buffer` holds the
/// request and the provider's answer (an ID token can make it 2–3 KiB).
pub async fn exchange_code<C: Connect>(
    connect: &C,
    token_endpoint: &str,
    config: &OAuthConfig<'_>,
    code: &str,
    verifier: &str,
    buffer: &mut [u8],
) -> Result<TokenResponse, ExchangeError> {
    let endpoint = Endpoint::parse(token_endpoint).ok_or(ExchangeError::Misconfigured)?;
    let basic = |out: &mut dyn push_advisor_http::codec::TextSink| {
        write_basic_authorization(out, &config.client)
    };
    let uses_basic = uses_basic(&config.client).map_err(|_| ExchangeError::Misconfigured)?;
    let authorization: Option<FormRenderer<'_>> = uses_basic.then_some(&basic);
    let form = |out: &mut dyn push_advisor_http::codec::TextSink| -> fmt::Result {
        let out = &mut push_advisor_http::codec::Formatted(out);
        write!(
            out,
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
            FormEncoded(code.as_bytes()),
            FormEncoded(config.redirect_uri.as_bytes()),
            FormEncoded(verifier.as_bytes()),
        )?;
        write_resource(out, config)?;
        write_post_credentials(out, &config.client)
    };
    let request = Outgoing {
        method: "POST",
        endpoint: &endpoint,
        headers: &[],
        authorization,
        form: Some(&form),
        keep_alive: false,
    };
    let mut conn = connect
        .connect(&endpoint)
        .await
        .map_err(|_| ExchangeError::Unavailable(ValidationError::Unreachable))?;
    let response = exchange(&mut conn, &request, buffer)
        .await
        .map_err(|error| match transport_error(error) {
            ValidationError::Misconfigured => ExchangeError::Misconfigured,
            other => ExchangeError::Unavailable(other),
        })?;
    let mut unescaped = [0u8; 512];
    if response.status == 200 {
        return serde_json_core::from_slice_escaped::<TokenResponse>(response.body, &mut unescaped)
            .map(|(tokens, _)| tokens)
            .map_err(|_| ExchangeError::Unavailable(ValidationError::BadAnswer));
    }
    if response.status < 500 {
        if let Ok((refusal, _)) =
            serde_json_core::from_slice_escaped::<ProviderError>(response.body, &mut unescaped)
        {
            return Err(ExchangeError::Provider {
                error: refusal.error,
                description: refusal.error_description,
            });
        }
    }
    Err(ExchangeError::Unavailable(status_error(response.status)))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::testing::{FakeConnector, Script};
    use embassy_futures::block_on;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;
    use std::vec;

    /// A predictable byte source for tests (each call continues a counter).
    struct CountingRng(u8);

    impl RngCore for CountingRng {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for byte in dest {
                *byte = self.0;
                self.0 = self.0.wrapping_add(1);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    fn config() -> OAuthConfig<'static> {
        OAuthConfig {
            redirect_uri: "http://127.0.0.1:8787/token",
            ..crate::testing::config()
        }
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn begin_then_finish_once() {
        let store: LoginStore<NoopRawMutex, 4> = LoginStore::new(600_000);
        let mut rng = rand_core::OsRng;
        let login = store.begin(&mut rng, 1_000);
        assert_eq!(login.state.len(), RANDOM_TEXT_LEN);
        let verifier = store.finish(&login.state, 2_000).unwrap();
        assert_eq!(verifier.len(), RANDOM_TEXT_LEN);
        assert_eq!(challenge_for(&verifier), login.code_challenge);
        assert_ne!(verifier, login.state);
        assert_eq!(
            store.finish(&login.state, 2_000),
            Err(LoginError::UnknownState)
        );
        assert_eq!(store.finish("forged", 2_000), Err(LoginError::UnknownState));
        assert_eq!(store.finish("", 2_000), Err(LoginError::UnknownState));
    }

    #[test]
    fn expired_logins_are_refused_and_removed() {
        let store: LoginStore<NoopRawMutex, 4> = LoginStore::new(10_000);
        let login = store.begin(&mut CountingRng(0), 1_000);
        assert_eq!(store.finish(&login.state, 11_000), Err(LoginError::Expired));
        assert_eq!(store.pending(), 0);
    }

    #[test]
    fn a_full_store_drops_the_oldest() {
        let store: LoginStore<NoopRawMutex, 2> = LoginStore::new(10_000);
        let mut rng = CountingRng(0);
        let first = store.begin(&mut rng, 1);
        let second = store.begin(&mut rng, 2);
        let third = store.begin(&mut rng, 3);
        assert_eq!(store.pending(), 2);
        assert_eq!(store.finish(&first.state, 4), Err(LoginError::UnknownState));
        assert!(store.finish(&second.state, 4).is_ok());
        assert!(store.finish(&third.state, 4).is_ok());
    }

    #[test]
    fn authorization_url_speaks_each_providers_dialect() {
        let auth0 = OAuthConfig {
            authorize_audience: Some("https://api.example"),
            send_resource: false,
            ..config()
        };
        let entra = OAuthConfig {
            authorize_scope: Some("api://0b1c/.default openid"),
            send_resource: false,
            ..config()
        };
        let store: LoginStore<NoopRawMutex, 2> = LoginStore::new(10_000);
        let login = store.begin(&mut CountingRng(0), 1);
        let url = |config| {
            std::format!(
                "{}",
                AuthorizationUrl::new("https://id/authorize", config, &login)
            )
        };
        let auth0_url = url(&auth0);
        assert!(
            auth0_url.ends_with("&code_challenge_method=S256&audience=https%3A%2F%2Fapi.example"),
            "{auth0_url}"
        );
        assert!(
            auth0_url.contains("&scope=api%3Aread+api%3Awrite&"),
            "{auth0_url}"
        );
        let entra_url = url(&entra);
        assert!(
            entra_url.contains("&scope=api%3A%2F%2F0b1c%2F.default+openid&"),
            "{entra_url}"
        );
        assert!(!entra_url.contains("resource="), "{entra_url}");
    }

    #[test]
    fn authorization_url_carries_state_pkce_and_resource() {
        let config = config();
        let store: LoginStore<NoopRawMutex, 2> = LoginStore::new(10_000);
        let login = store.begin(&mut CountingRng(0), 1);
        let url = std::format!(
            "{}",
            AuthorizationUrl::new("http://127.0.0.1:9000/auth", &config, &login)
        );
        assert_eq!(
            url,
            std::format!(
                "http://127.0.0.1:9000/auth?response_type=code&client_id=push-advisor&redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Ftoken&scope=api%3Aread+api%3Awrite&state={}&code_challenge={}&code_challenge_method=S256&resource=http%3A%2F%2F127.0.0.1%3A8787",
                login.state,
                login.code_challenge
            )
        );
        let html = std::format!(
            "{}",
            AuthorizationUrl::new("http://x/auth?a=\"1\"", &config, &login).for_html()
        );
        assert!(
            html.starts_with("http://x/auth?a=&quot;1&quot;&amp;response_type=code&amp;client_id=")
        );
    }

    fn reply(status: &str, body: &str) -> Script {
        Script::Replies(vec![
            std::format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        ])
    }

    #[test]
    fn exchanges_a_code_for_a_token() {
        let connector = FakeConnector::new(vec![reply(
            "200 OK",
            r#"{"access_token":"opaque-abc","expires_in":3600,"id_token":"eyJ.x.y","scope":"api:read api:write","token_type":"Bearer"}"#,
        )]);
        let config = config();
        let mut rx = [0u8; 2560];
        let tokens = block_on(exchange_code(
            &connector,
            "http://127.0.0.1:9000/token",
            &config,
            "code&x=1",
            "verifier",
            &mut rx,
        ))
        .unwrap();
        assert_eq!(tokens.access_token.as_str(), "opaque-abc");
        assert_eq!(tokens.token_type.as_str(), "Bearer");
        assert_eq!(tokens.expires_in, Some(3600));
        assert_eq!(tokens.scope.as_deref(), Some("api:read api:write"));
        let sent = connector.sent_text(0);
        assert!(sent.starts_with("POST /token HTTP/1.1\r\n"));
        assert!(sent.contains("\r\nAuthorization: Basic cHVzaC1hZHZpc29yOnMzY3JldA==\r\n"));
        assert!(sent.ends_with(
            "\r\n\r\ngrant_type=authorization_code&code=code%26x%3D1&redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Ftoken&code_verifier=verifier&resource=http%3A%2F%2F127.0.0.1%3A8787"
        ));
    }

    #[test]
    fn provider_refusals_and_outages_are_typed() {
        let config = config();
        let mut rx = [0u8; 2560];
        let connector = FakeConnector::new(vec![reply(
            "400 Bad Request",
            r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
        )]);
        let result = block_on(exchange_code(
            &connector,
            "http://127.0.0.1:9000/token",
            &config,
            "c",
            "v",
            &mut rx,
        ));
        assert_eq!(
            result,
            Err(ExchangeError::Provider {
                error: "invalid_grant".try_into().unwrap(),
                description: Some("grant request is invalid".try_into().unwrap()),
            })
        );
        let connector = FakeConnector::new(vec![reply("502 Bad Gateway", "")]);
        let result = block_on(exchange_code(
            &connector,
            "http://127.0.0.1:9000/token",
            &config,
            "c",
            "v",
            &mut rx,
        ));
        assert_eq!(
            result,
            Err(ExchangeError::Unavailable(ValidationError::Unreachable))
        );
        let connector = FakeConnector::new(vec![reply("200 OK", "{\"token_type\":\"Bearer\"}")]);
        let result = block_on(exchange_code(
            &connector,
            "http://127.0.0.1:9000/token",
            &config,
            "c",
            "v",
            &mut rx,
        ));
        assert_eq!(
            result,
            Err(ExchangeError::Unavailable(ValidationError::BadAnswer))
        );
        let connector = FakeConnector::new(vec![Script::Refused]);
        let result = block_on(exchange_code(
            &connector,
            "http://127.0.0.1:9000/token",
            &config,
            "c",
            "v",
            &mut rx,
        ));
        assert_eq!(
            result,
            Err(ExchangeError::Unavailable(ValidationError::Unreachable))
        );
        let result = block_on(exchange_code(
            &connector,
            "not a url",
            &config,
            "c",
            "v",
            &mut rx,
        ));
        assert_eq!(result, Err(ExchangeError::Misconfigured));
    }
}
