//! Provider discovery (RFC 8414, falling back to OpenID Connect discovery) into a
//! bounded struct, and the documents this server publishes: a mirror of the
//! provider's authorization-server metadata and RFC 9728 protected-resource metadata.

use core::fmt;

use heapless::String;
use serde::Serialize;

use super::config::{Endpoints, OAuthConfig};
use super::provider::{status_error, transport_error};
use super::token::StrList;
use super::token::ValidationError;
use crate::http::client::{Outgoing, exchange};
use crate::http::codec::JsonEscaped;
use crate::http::json::{self, Kind};
use crate::http::net::{Connect, Endpoint};

/// Longest endpoint URL kept from discovery or settings.
pub const URL_MAX: usize = 192;

type Url = String<URL_MAX>;

/// What this server uses from the provider's metadata. Lists keep their first
/// entries when the provider sends more than fit. Without the routes that show them
/// (features `login`, `openapi`, `as-mirror`) only the issuer and the introspection
/// endpoint are kept, and the other members are skipped unread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: Url,
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    pub introspection_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub registration_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub scopes_supported: StrList<16, 48>,
    pub response_types_supported: StrList<8, 32>,
    pub grant_types_supported: StrList<8, 64>,
    pub code_challenge_methods_supported: StrList<4, 16>,
}

/// Where a metadata member goes.
enum Slot<'m> {
    Issuer(&'m mut Url),
    Url(&'m mut Option<Url>),
    List(&'m mut dyn ListSlot),
}

/// The members read, by name; all others are skipped unread.
type Member = (&'static str, fn(&mut ProviderMetadata) -> Slot<'_>);

const MEMBERS: &[Member] = &[
    ("issuer", |m| Slot::Issuer(&mut m.issuer)),
    ("introspection_endpoint", |m| {
        Slot::Url(&mut m.introspection_endpoint)
    }),
    ("authorization_endpoint", |m| {
        Slot::Url(&mut m.authorization_endpoint)
    }),
    ("token_endpoint", |m| Slot::Url(&mut m.token_endpoint)),
    ("userinfo_endpoint", |m| Slot::Url(&mut m.userinfo_endpoint)),
    ("jwks_uri", |m| Slot::Url(&mut m.jwks_uri)),
    ("registration_endpoint", |m| {
        Slot::Url(&mut m.registration_endpoint)
    }),
    ("revocation_endpoint", |m| {
        Slot::Url(&mut m.revocation_endpoint)
    }),
    ("scopes_supported", |m| Slot::List(&mut m.scopes_supported)),
    ("response_types_supported", |m| {
        Slot::List(&mut m.response_types_supported)
    }),
    ("grant_types_supported", |m| {
        Slot::List(&mut m.grant_types_supported)
    }),
    ("code_challenge_methods_supported", |m| {
        Slot::List(&mut m.code_challenge_methods_supported)
    }),
];

/// A bounded list of strings, whatever its bounds.
trait ListSlot {
    fn push(&mut self, item: &str) -> bool;
    fn mark_overflowed(&mut self);
}

impl<const N: usize, const L: usize> ListSlot for StrList<N, L> {
    fn push(&mut self, item: &str) -> bool {
        StrList::push(self, item)
    }

    fn mark_overflowed(&mut self) {
        self.overflowed = true;
    }
}

/// Reads a metadata document with the bounded JSON scanner: the members this server
/// uses, each at most once; unknown members are skipped; a URL that does not fit is an
/// error, list items that do not fit are dropped (`overflowed`).
fn parse_metadata(body: &[u8]) -> Result<ProviderMetadata, DiscoveryError> {
    let bad = DiscoveryError::BadDocument;
    let text = core::str::from_utf8(body).map_err(|_| bad)?;
    let document = json::parse(text).map_err(|_| bad)?;
    if document.kind() != Kind::Object {
        return Err(bad);
    }
    let mut metadata = ProviderMetadata::default();
    let mut seen = 0u32;
    for (name, value) in document.members() {
        let Some(index) = MEMBERS.iter().position(|(known, _)| name.eq_str(known)) else {
            continue;
        };
        let bit = 1u32.checked_shl(index as u32).unwrap_or(0);
        if seen & bit != 0 {
            return Err(bad);
        }
        seen |= bit;
        let Some((_, slot)) = MEMBERS.get(index) else {
            continue;
        };
        let null = value.kind() == Kind::Null;
        match slot(&mut metadata) {
            Slot::Issuer(issuer) => *issuer = value.to_bounded().ok_or(bad)?,
            Slot::Url(_) if null => {}
            Slot::Url(url) => *url = Some(value.to_bounded().ok_or(bad)?),
            Slot::List(_) if null => {}
            Slot::List(list) => read_list(value, list).ok_or(bad)?,
        }
    }
    if seen & 1 == 0 {
        return Err(bad); // no issuer
    }
    Ok(metadata)
}

/// A string or an array of strings; items that do not fit are dropped.
fn read_list(value: json::Value<'_>, list: &mut dyn ListSlot) -> Option<()> {
    let mut buf = [0u8; 128];
    for item in value.one_or_many()? {
        match item.as_str()?.decode_into(&mut buf) {
            Some(text) => {
                list.push(text);
            }
            None => list.mark_overflowed(),
        }
    }
    Some(())
}

/// Why discovery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryError {
    /// Neither metadata location answered.
    Unavailable(ValidationError),
    /// Neither location has a document (404 or similar at both).
    NotFound,
    /// A document was found but could not be read (or a URL in it is too long).
    BadDocument,
    /// The document names another issuer (RFC 8414 §3.3): it must not be used.
    IssuerMismatch,
    /// The configured issuer or an override is not a usable URL.
    Misconfigured,
}

impl ProviderMetadata {
    /// Metadata from settings alone, for providers that publish none.
    pub fn from_config(config: &OAuthConfig<'_>) -> Result<Self, DiscoveryError> {
        let mut metadata = ProviderMetadata {
            issuer: String::try_from(config.issuer).map_err(|_| DiscoveryError::Misconfigured)?,
            ..Default::default()
        };
        metadata.apply_overrides(&config.endpoints)?;
        Ok(metadata)
    }

    /// Replaces discovered endpoints with the ones set by hand.
    pub fn apply_overrides(&mut self, endpoints: &Endpoints<'_>) -> Result<(), DiscoveryError> {
        let pairs = [
            (&mut self.authorization_endpoint, endpoints.authorization),
            (&mut self.token_endpoint, endpoints.token),
            (&mut self.introspection_endpoint, endpoints.introspection),
            (&mut self.userinfo_endpoint, endpoints.userinfo),
            (&mut self.jwks_uri, endpoints.jwks),
            (&mut self.registration_endpoint, endpoints.registration),
            (&mut self.revocation_endpoint, endpoints.revocation),
        ];
        for (slot, configured) in pairs {
            if let Some(url) = configured {
                *slot = Some(String::try_from(url).map_err(|_| DiscoveryError::Misconfigured)?);
            }
        }
        Ok(())
    }

    /// The document to serve at `/.well-known/oauth-authorization-server`.
    pub fn document(&self) -> AuthorizationServerDocument<'_> {
        AuthorizationServerDocument {
            issuer: &self.issuer,
            authorization_endpoint: self.authorization_endpoint.as_deref(),
            token_endpoint: self.token_endpoint.as_deref(),
            introspection_endpoint: self.introspection_endpoint.as_deref(),
            userinfo_endpoint: self.userinfo_endpoint.as_deref(),
            jwks_uri: self.jwks_uri.as_deref(),
            registration_endpoint: self.registration_endpoint.as_deref(),
            revocation_endpoint: self.revocation_endpoint.as_deref(),
            scopes_supported: &self.scopes_supported,
            response_types_supported: &self.response_types_supported,
            grant_types_supported: &self.grant_types_supported,
            code_challenge_methods_supported: ["S256"],
        }
    }
}

/// A mirror of the provider's metadata that advertises PKCE `S256` only.
#[derive(Debug, Serialize)]
pub struct AuthorizationServerDocument<'a> {
    pub issuer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<&'a str>,
    pub scopes_supported: &'a StrList<16, 48>,
    pub response_types_supported: &'a StrList<8, 32>,
    pub grant_types_supported: &'a StrList<8, 64>,
    pub code_challenge_methods_supported: [&'a str; 1],
}

impl AuthorizationServerDocument<'_> {
    /// Writes the document as compact JSON (what `Serialize` gives), so it can be
    /// rendered window by window without a buffer for the whole text.
    pub fn render(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "{{\"issuer\":\"{}\"", JsonEscaped(self.issuer))?;
        let urls = [
            ("authorization_endpoint", self.authorization_endpoint),
            ("token_endpoint", self.token_endpoint),
            ("introspection_endpoint", self.introspection_endpoint),
            ("userinfo_endpoint", self.userinfo_endpoint),
            ("jwks_uri", self.jwks_uri),
            ("registration_endpoint", self.registration_endpoint),
            ("revocation_endpoint", self.revocation_endpoint),
        ];
        for (name, url) in urls {
            if let Some(url) = url {
                write!(out, ",\"{name}\":\"{}\"", JsonEscaped(url))?;
            }
        }
        let lists: [(&str, &mut dyn Iterator<Item = &str>); 4] = [
            ("scopes_supported", &mut self.scopes_supported.iter()),
            (
                "response_types_supported",
                &mut self.response_types_supported.iter(),
            ),
            (
                "grant_types_supported",
                &mut self.grant_types_supported.iter(),
            ),
            (
                "code_challenge_methods_supported",
                &mut self.code_challenge_methods_supported.iter().copied(),
            ),
        ];
        for (name, items) in lists {
            write!(out, ",\"{name}\":[")?;
            for (index, item) in items.enumerate() {
                let comma = if index == 0 { "" } else { "," };
                write!(out, "{comma}\"{}\"", JsonEscaped(item))?;
            }
            out.write_str("]")?;
        }
        out.write_str("}")
    }
}

/// RFC 9728 protected-resource metadata, to serve at
/// `/.well-known/oauth-protected-resource` (and its path form, e.g. `.../mcp`).
#[derive(Debug, Serialize)]
pub struct ProtectedResourceDocument<'a> {
    pub resource: &'a str,
    pub authorization_servers: [&'a str; 1],
    pub scopes_supported: &'a [&'a str],
    pub bearer_methods_supported: [&'a str; 1],
    pub resource_name: &'a str,
}

impl ProtectedResourceDocument<'_> {
    /// The same JSON as its `Serialize` form, streamed: a small transmit buffer sends
    /// it window by window, however long the URLs are.
    pub fn render(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let [server] = self.authorization_servers;
        out.write_str("{\"resource\":\"")?;
        JsonEscaped(self.resource).write_to(out)?;
        out.write_str("\",\"authorization_servers\":[\"")?;
        JsonEscaped(server).write_to(out)?;
        out.write_str("\"],\"scopes_supported\":[")?;
        for (index, scope) in self.scopes_supported.iter().enumerate() {
            out.write_str(if index == 0 { "\"" } else { ",\"" })?;
            JsonEscaped(scope).write_to(out)?;
            out.write_str("\"")?;
        }
        out.write_str("],\"bearer_methods_supported\":[\"header\"],\"resource_name\":\"")?;
        JsonEscaped(self.resource_name).write_to(out)?;
        out.write_str("\"}")
    }
}

/// The protected-resource metadata for `resource` (the canonical URI, or the MCP
/// endpoint's URI for the path form).
pub fn protected_resource_document<'a>(
    config: &'a OAuthConfig<'a>,
    resource: &'a str,
) -> ProtectedResourceDocument<'a> {
    ProtectedResourceDocument {
        resource,
        authorization_servers: [config.issuer],
        scopes_supported: config.scopes_supported,
        bearer_methods_supported: ["header"],
        resource_name: config.resource_name,
    }
}

/// The two metadata locations for an issuer: RFC 8414 (well-known segment inserted
/// before the issuer's path) and OpenID Connect (appended).
pub fn metadata_urls(issuer: &str) -> Option<[String<{ URL_MAX + 48 }>; 2]> {
    let scheme_end = issuer.as_bytes().windows(3).position(|w| w == b"://")? + 3;
    let after_scheme = issuer.get(scheme_end..)?;
    let path_start = after_scheme
        .find('/')
        .map_or(issuer.len(), |i| scheme_end + i);
    let origin = issuer.get(..path_start)?;
    let path = issuer.get(path_start..)?.trim_end_matches('/');
    let joined = |parts: [&str; 3]| -> Option<String<{ URL_MAX + 48 }>> {
        let mut url = String::new();
        for part in parts {
            url.push_str(part).ok()?;
        }
        Some(url)
    };
    Some([
        joined([origin, "/.well-known/oauth-authorization-server", path])?,
        joined([origin, path, "/.well-known/openid-configuration"])?,
    ])
}

/// Fetches the provider's metadata at start-up. `buffer` holds the request and one
/// metadata document (oidc-provider's is about 2–3 KiB). Settings in `config.endpoints` win.
pub async fn discover<C: Connect>(
    connect: &C,
    config: &OAuthConfig<'_>,
    buffer: &mut [u8],
) -> Result<ProviderMetadata, DiscoveryError>
where
    for<'c> <C::Connection<'c> as embedded_io_async::ErrorType>::Error: embedded_io::Error,
{
    discover_dated(connect, config, buffer)
        .await
        .map(|found| found.metadata)
}

/// What discovery found, and when by the provider's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub metadata: ProviderMetadata,
    /// The answer's `Date` as Unix seconds: a device without a clock learns the time
    /// from it, without a request of its own.
    pub date: Option<u64>,
}

/// [`discover`], keeping the provider's `Date`.
pub async fn discover_dated<C: Connect>(
    connect: &C,
    config: &OAuthConfig<'_>,
    buffer: &mut [u8],
) -> Result<Discovered, DiscoveryError>
where
    for<'c> <C::Connection<'c> as embedded_io_async::ErrorType>::Error: embedded_io::Error,
{
    let urls = metadata_urls(config.issuer).ok_or(DiscoveryError::Misconfigured)?;
    let mut failure = DiscoveryError::NotFound;
    for url in &urls {
        let endpoint = Endpoint::parse(url).ok_or(DiscoveryError::Misconfigured)?;
        let mut conn = match connect.connect(&endpoint).await {
            Ok(conn) => conn,
            Err(_) => {
                failure = DiscoveryError::Unavailable(ValidationError::Unreachable);
                continue;
            }
        };
        let request = Outgoing {
            method: "GET",
            endpoint: &endpoint,
            headers: &[],
            authorization: None,
            form: None,
            keep_alive: false,
        };
        let response = match exchange(&mut conn, &request, buffer).await {
            Ok(response) => response,
            Err(error) => {
                failure = DiscoveryError::Unavailable(transport_error(error));
                continue;
            }
        };
        match response.status {
            200 => {}
            status if status >= 500 => {
                failure = DiscoveryError::Unavailable(status_error(status));
                continue;
            }
            _ => continue,
        }
        let mut metadata = parse_metadata(response.body)?;
        if metadata.issuer != config.issuer {
            return Err(DiscoveryError::IssuerMismatch);
        }
        metadata.apply_overrides(&config.endpoints)?;
        return Ok(Discovered {
            metadata,
            date: response.date,
        });
    }
    Err(failure)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::testing::{FakeConnector, Script};
    use embassy_futures::block_on;
    use std::vec;

    const ISSUER: &str = "http://127.0.0.1:9000";
    const OIDC_PROVIDER_METADATA: &str = r#"{"authorization_endpoint":"http://127.0.0.1:9000/auth","claims_parameter_supported":false,"claims_supported":["sub","email","email_verified","name","sid","auth_time","iss"],"code_challenge_methods_supported":["S256"],"end_session_endpoint":"http://127.0.0.1:9000/session/end","grant_types_supported":["implicit","authorization_code","refresh_token","client_credentials"],"issuer":"http://127.0.0.1:9000","jwks_uri":"http://127.0.0.1:9000/jwks","registration_endpoint":"http://127.0.0.1:9000/reg","authorization_response_iss_parameter_supported":true,"response_modes_supported":["form_post","fragment","query"],"response_types_supported":["code id_token","code","id_token","none"],"scopes_supported":["openid","offline_access","profile","email","api:read","api:write"],"subject_types_supported":["public"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_jwt","client_secret_post","private_key_jwt","none"],"token_endpoint_auth_signing_alg_values_supported":["HS256","RS256","PS256","ES256","EdDSA"],"token_endpoint":"http://127.0.0.1:9000/token","id_token_signing_alg_values_supported":["RS256"],"pushed_authorization_request_endpoint":"http://127.0.0.1:9000/request","request_parameter_supported":false,"request_uri_parameter_supported":false,"userinfo_endpoint":"http://127.0.0.1:9000/me","introspection_endpoint":"http://127.0.0.1:9000/token/introspection","revocation_endpoint":"http://127.0.0.1:9000/token/revocation","claim_types_supported":["normal"]}"#;

    /// The streamed document is byte for byte its serialized form.
    #[test]
    fn protected_resource_document_renders_as_it_serializes() {
        let mut config = config();
        config.resource_name = "Push \"Advisor\"";
        let document = protected_resource_document(&config, "http://127.0.0.1:8787/mcp");
        let mut rendered = std::string::String::new();
        document.render(&mut rendered).unwrap();
        let mut buf = [0u8; 1024];
        let len = serde_json_core::to_slice(&document, &mut buf).unwrap();
        assert_eq!(rendered.as_bytes(), &buf[..len]);
    }

    fn config() -> OAuthConfig<'static> {
        crate::testing::config()
    }

    fn ok(body: &str) -> Script {
        Script::Replies(vec![
            std::format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        ])
    }

    fn not_found() -> Script {
        Script::Replies(vec![
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ])
    }

    #[test]
    fn builds_both_metadata_urls() {
        let [a, b] = metadata_urls("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            a.as_str(),
            "http://127.0.0.1:9000/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            b.as_str(),
            "http://127.0.0.1:9000/.well-known/openid-configuration"
        );
        let [a, b] = metadata_urls("https://id.example/tenant/1/").unwrap();
        assert_eq!(
            a.as_str(),
            "https://id.example/.well-known/oauth-authorization-server/tenant/1"
        );
        assert_eq!(
            b.as_str(),
            "https://id.example/tenant/1/.well-known/openid-configuration"
        );
        assert!(metadata_urls("no-scheme").is_none());
    }

    #[test]
    fn the_rendered_mirror_is_what_serde_writes() {
        let connector = FakeConnector::new(vec![ok(OIDC_PROVIDER_METADATA)]);
        let mut rx = [0u8; 4096];
        let mut metadata = block_on(discover(&connector, &config(), &mut rx)).unwrap();
        metadata.revocation_endpoint = Some(String::try_from("http://x/\"quoted\"").unwrap());
        let mut serialized = [0u8; 4096];
        let length = serde_json_core::to_slice(&metadata.document(), &mut serialized).unwrap();
        let mut rendered: String<4096> = String::new();
        metadata.document().render(&mut rendered).unwrap();
        assert_eq!(rendered.as_bytes(), &serialized[..length]);
    }

    #[test]
    fn discovers_oidc_provider_metadata() {
        let connector = FakeConnector::new(vec![ok(OIDC_PROVIDER_METADATA)]);
        let mut rx = [0u8; 4096];
        let metadata = block_on(discover(&connector, &config(), &mut rx)).unwrap();
        assert_eq!(metadata.issuer.as_str(), ISSUER);
        assert_eq!(
            metadata.introspection_endpoint.as_deref(),
            Some("http://127.0.0.1:9000/token/introspection")
        );
        assert_eq!(
            metadata.token_endpoint.as_deref(),
            Some("http://127.0.0.1:9000/token")
        );
        assert_eq!(
            metadata.userinfo_endpoint.as_deref(),
            Some("http://127.0.0.1:9000/me")
        );
        assert!(metadata.scopes_supported.contains("api:write"));
        assert!(
            metadata
                .grant_types_supported
                .contains("authorization_code")
        );
        assert!(metadata.response_types_supported.contains("code"));
        assert!(connector.sent_text(0).starts_with(
            "GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
        ));
    }

    #[test]
    fn falls_back_to_openid_configuration_and_applies_overrides() {
        let connector = FakeConnector::new(vec![not_found(), ok(OIDC_PROVIDER_METADATA)]);
        let mut config = config();
        config.endpoints.introspection = Some("http://127.0.0.1:9001/introspect");
        let mut rx = [0u8; 4096];
        let metadata = block_on(discover(&connector, &config, &mut rx)).unwrap();
        assert!(
            connector
                .sent_text(1)
                .starts_with("GET /.well-known/openid-configuration HTTP/1.1\r\n")
        );
        assert_eq!(
            metadata.introspection_endpoint.as_deref(),
            Some("http://127.0.0.1:9001/introspect")
        );
    }

    #[test]
    fn refuses_another_issuer_and_bad_documents() {
        let forged = OIDC_PROVIDER_METADATA.replace(
            r#""issuer":"http://127.0.0.1:9000""#,
            r#""issuer":"http://evil""#,
        );
        let connector = FakeConnector::new(vec![ok(&forged)]);
        let mut rx = [0u8; 4096];
        assert_eq!(
            block_on(discover(&connector, &config(), &mut rx)),
            Err(DiscoveryError::IssuerMismatch)
        );
        let connector = FakeConnector::new(vec![ok("<html>")]);
        assert_eq!(
            block_on(discover(&connector, &config(), &mut rx)),
            Err(DiscoveryError::BadDocument)
        );
        let connector = FakeConnector::new(vec![not_found(), not_found()]);
        assert_eq!(
            block_on(discover(&connector, &config(), &mut rx)),
            Err(DiscoveryError::NotFound)
        );
        let connector = FakeConnector::new(vec![Script::Refused, Script::Refused]);
        assert_eq!(
            block_on(discover(&connector, &config(), &mut rx)),
            Err(DiscoveryError::Unavailable(ValidationError::Unreachable))
        );
        let connector =
            FakeConnector::new(vec![ok(OIDC_PROVIDER_METADATA), ok(OIDC_PROVIDER_METADATA)]);
        let mut small = [0u8; 512];
        assert_eq!(
            block_on(discover(&connector, &config(), &mut small)),
            Err(DiscoveryError::Unavailable(ValidationError::BadAnswer))
        );
    }

    /// The scanner reads what serde read: escapes decoded, `null` as absent; and it
    /// refuses what serde refused: a member twice, no issuer, a URL that does not fit.
    #[test]
    fn documents_are_read_strictly() {
        let read = |body: &str| parse_metadata(body.as_bytes());
        let escaped = read(r#"{"issuer":"http:\/\/127.0.0.1:9000","introspection_endpoint":null,"token_endpoint":"http://127.0.0.1:9000/t\u006fken"}"#).unwrap();
        assert_eq!(escaped.issuer.as_str(), "http://127.0.0.1:9000");
        assert_eq!(escaped.introspection_endpoint, None);
        assert_eq!(
            escaped.token_endpoint.as_deref(),
            Some("http://127.0.0.1:9000/token")
        );
        let long = std::format!(
            r#"{{"issuer":"http://a","jwks_uri":"http://a/{}"}}"#,
            "x".repeat(URL_MAX)
        );
        for bad in [
            r#"{"issuer":"http://a","issuer":"http://a"}"#,
            r#"{"token_endpoint":"http://a/token"}"#,
            r#"{"issuer":7}"#,
            r#"["issuer"]"#,
            long.as_str(),
        ] {
            assert_eq!(read(bad), Err(DiscoveryError::BadDocument), "{bad}");
        }
    }

    #[test]
    fn discovery_keeps_the_providers_date() {
        let body = r#"{"issuer":"http://127.0.0.1:9000"}"#;
        let dated = Script::Replies(vec![
            std::format!(
                "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        ]);
        let connector = FakeConnector::new(vec![dated]);
        let mut rx = [0u8; 1024];
        let found = block_on(discover_dated(&connector, &config(), &mut rx)).unwrap();
        assert_eq!(found.date, Some(784_111_777));
        assert_eq!(found.metadata.issuer.as_str(), "http://127.0.0.1:9000");
    }

    #[test]
    fn long_lists_keep_their_first_entries() {
        let body = r#"{"issuer":"http://127.0.0.1:9000","code_challenge_methods_supported":["plain","S256","a","b","c"],"scopes_supported":"openid"}"#;
        let connector = FakeConnector::new(vec![ok(body)]);
        let mut rx = [0u8; 1024];
        let metadata = block_on(discover(&connector, &config(), &mut rx)).unwrap();
        assert_eq!(metadata.code_challenge_methods_supported.len(), 4);
        assert!(metadata.code_challenge_methods_supported.overflowed);
        assert!(metadata.scopes_supported.contains("openid"));
    }

    #[test]
    fn mirror_document_advertises_s256_only() {
        let connector = FakeConnector::new(vec![ok(
            &OIDC_PROVIDER_METADATA.replace(r#"["S256"]"#, r#"["plain","S256"]"#)
        )]);
        let mut rx = [0u8; 4096];
        let metadata = block_on(discover(&connector, &config(), &mut rx)).unwrap();
        let mut out = [0u8; 2048];
        let length = serde_json_core::to_slice(&metadata.document(), &mut out).unwrap();
        let json = core::str::from_utf8(&out[..length]).unwrap();
        assert_eq!(
            json,
            r#"{"issuer":"http://127.0.0.1:9000","authorization_endpoint":"http://127.0.0.1:9000/auth","token_endpoint":"http://127.0.0.1:9000/token","introspection_endpoint":"http://127.0.0.1:9000/token/introspection","userinfo_endpoint":"http://127.0.0.1:9000/me","jwks_uri":"http://127.0.0.1:9000/jwks","registration_endpoint":"http://127.0.0.1:9000/reg","revocation_endpoint":"http://127.0.0.1:9000/token/revocation","scopes_supported":["openid","offline_access","profile","email","api:read","api:write"],"response_types_supported":["code id_token","code","id_token","none"],"grant_types_supported":["implicit","authorization_code","refresh_token","client_credentials"],"code_challenge_methods_supported":["S256"]}"#
        );
        let bare = ProviderMetadata::from_config(&config()).unwrap();
        let length = serde_json_core::to_slice(&bare.document(), &mut out).unwrap();
        assert_eq!(
            core::str::from_utf8(&out[..length]).unwrap(),
            r#"{"issuer":"http://127.0.0.1:9000","scopes_supported":[],"response_types_supported":[],"grant_types_supported":[],"code_challenge_methods_supported":["S256"]}"#
        );
    }

    #[test]
    fn protected_resource_document_is_rfc_9728() {
        let config = config();
        let mut out = [0u8; 512];
        let document = protected_resource_document(&config, config.resource);
        let length = serde_json_core::to_slice(&document, &mut out).unwrap();
        assert_eq!(
            core::str::from_utf8(&out[..length]).unwrap(),
            r#"{"resource":"http://127.0.0.1:8787","authorization_servers":["http://127.0.0.1:9000"],"scopes_supported":["api:read","api:write"],"bearer_methods_supported":["header"],"resource_name":"Push Advisor API"}"#
        );
    }
}
