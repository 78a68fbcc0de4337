//! OAuth settings as one plain struct. The host or firmware fills it (from its own
//! environment, flags or constants); the core never reads the environment.

use core::fmt;

/// How the client authenticates to the provider's token and introspection endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with RFC 6749 §2.3.1 encoding (form-encode id and secret, then base64).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// This server's registered client at the provider.
#[derive(Clone, Copy)]
pub struct ClientCredentials<'a> {
    /// The client id registered at the provider.
    pub client_id: &'a str,
    /// Its secret (never logged; `Debug` redacts it).
    pub client_secret: &'a str,
    /// How it is sent.
    pub auth: ClientAuth,
}

impl fmt::Debug for ClientCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth", &self.auth)
            .finish()
    }
}

/// Provider endpoints set by hand; each one set here wins over discovery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Endpoints<'a> {
    /// `authorization_endpoint`.
    pub authorization: Option<&'a str>,
    /// `token_endpoint`.
    pub token: Option<&'a str>,
    /// `introspection_endpoint`.
    pub introspection: Option<&'a str>,
    /// `userinfo_endpoint`.
    pub userinfo: Option<&'a str>,
    /// `jwks_uri`.
    pub jwks: Option<&'a str>,
    /// `registration_endpoint`.
    pub registration: Option<&'a str>,
    /// `revocation_endpoint`.
    pub revocation: Option<&'a str>,
}

/// Everything the OAuth parts need to know.
#[derive(Debug, Clone, Copy)]
pub struct OAuthConfig<'a> {
    /// This resource server's canonical URI (RFC 8707 / RFC 9728 `resource`), e.g.
    /// `http://127.0.0.1:8787`: no trailing slash, no fragment.
    pub resource: &'a str,
    /// Audiences a token may carry to be accepted here; empty means `resource` (or
    /// `resource_alias`).
    pub audiences: &'a [&'a str],
    /// Another URI naming this resource (the MCP endpoint's), accepted as an audience
    /// when `audiences` is empty; empty for none.
    pub resource_alias: &'a str,
    /// Refuse tokens whose `aud` does not name this resource. On by default; turn off
    /// only for a provider that cannot set audiences.
    pub check_audience: bool,
    /// Where the protected-resource metadata is served (used in `WWW-Authenticate`).
    pub resource_metadata_url: &'a str,
    /// PRM `resource_name`, shown to people; omitted when empty.
    pub resource_name: &'a str,
    /// `realm` in challenges; omitted when empty.
    pub realm: &'a str,
    /// Scopes this resource understands (PRM `scopes_supported`).
    pub scopes_supported: &'a [&'a str],
    /// `scope` in challenges; `None` uses the scope the route requires.
    pub challenge_scope: Option<&'a str>,
    /// The provider's issuer identifier; tokens naming another issuer are refused.
    pub issuer: &'a str,
    /// Endpoints set by hand (override discovery).
    pub endpoints: Endpoints<'a>,
    /// This server's client at the provider (introspection and the login's code exchange).
    pub client: ClientCredentials<'a>,
    /// The login flow's redirect target (this server's `/token` page).
    pub redirect_uri: &'a str,
    /// Scopes the login flow asks for (space-separated); empty asks for none.
    pub login_scope: &'a str,
    /// The `scope` the authorization request sends instead of `login_scope`, for a
    /// provider that names the resource's scopes its own way (Entra ID:
    /// `api://<app>/.default`).
    pub authorize_scope: Option<&'a str>,
    /// An `audience` parameter for the authorization request (Auth0 selects the API,
    /// and so the access token's `aud`, by it).
    pub authorize_audience: Option<&'a str>,
    /// Whether the login's requests name the resource (RFC 8707 `resource`). On by
    /// default; off for a provider that refuses the parameter (Auth0 without its
    /// resource-parameter profile, Entra ID when it differs from the scope's resource).
    pub send_resource: bool,
    /// How long a started login may take to come back.
    pub login_lifetime_ms: u64,
    /// Longest time an introspection answer is trusted (further capped by `exp`).
    pub cache_max_lifetime_ms: u64,
    /// How long an inactive answer is remembered.
    pub negative_lifetime_ms: u64,
    /// Longer bearer tokens are refused without asking the provider.
    pub max_token_len: usize,
    /// Bound for one provider exchange; adapters apply it in their `Connect`.
    pub provider_timeout_ms: u64,
    /// `Retry-After` on 503 when the provider is unavailable.
    pub retry_after_seconds: u32,
    /// DANGER: accept `demo_token_<user>` with `login_scope` without asking the
    /// provider. An authentication bypass; only for demos, never in production.
    pub demo_tokens: bool,
}

impl<'a> OAuthConfig<'a> {
    /// Safe defaults around the three values every deployment must set.
    pub fn new(
        resource: &'a str,
        resource_metadata_url: &'a str,
        issuer: &'a str,
        client: ClientCredentials<'a>,
    ) -> Self {
        OAuthConfig {
            resource,
            audiences: &[],
            resource_alias: "",
            check_audience: true,
            resource_metadata_url,
            resource_name: "",
            realm: "",
            scopes_supported: &[],
            challenge_scope: None,
            issuer,
            endpoints: Endpoints::default(),
            client,
            redirect_uri: "",
            login_scope: "",
            authorize_scope: None,
            authorize_audience: None,
            send_resource: true,
            login_lifetime_ms: 10 * 60 * 1000,
            cache_max_lifetime_ms: 60 * 1000,
            negative_lifetime_ms: 5 * 1000,
            max_token_len: 4096,
            provider_timeout_ms: 5 * 1000,
            retry_after_seconds: 5,
            demo_tokens: false,
        }
    }

    /// Whether `audience` names this resource.
    pub fn accepts_audience(&self, audience: &str) -> bool {
        self.accepted_audience(audience).is_some()
    }

    /// The configured audience `audience` matches, if it names this resource.
    pub fn accepted_audience(&self, audience: &str) -> Option<&'a str> {
        if self.audiences.is_empty() {
            [self.resource, self.resource_alias]
                .into_iter()
                .find(|accepted| !accepted.is_empty() && *accepted == audience)
        } else {
            self.audiences
                .iter()
                .copied()
                .find(|accepted| *accepted == audience)
        }
    }
}
