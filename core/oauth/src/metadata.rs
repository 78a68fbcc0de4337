//! Provider discovery (RFC 8414, falling back to OpenID Connect discovery) into a
//! bounded struct, and the documents this server publishes: a mirror of the
//! provider's authorization-server metadata and RFC 9728 protected-resource metadata.

use core::fmt;

use heapless::String;
use serde::Serialize;

use super::config::{Endpoints, OAuthConfig};
use super::provider_calls::{status_error, transport_error};
use super::token::ValidationError;
use crate::http::client::{Outgoing, exchange};
use crate::http::codec::JsonEscaped;
use crate::http::json::{self, Kind};
use crate::http::net::{Connect, Endpoint};

/// Longest endpoint URL kept from discovery or settings.
pub const URL_MAX: usize = 192;

/// Bytes of text a [`ProviderMetadata`] keeps by default: every URL and list of a
/// typical provider. A device that keeps only what it validates with sets fewer.
pub const METADATA_TEXT: usize = 1024;

/// A member of the provider's metadata (RFC 8414 §2) this crate can keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Member {
    /// `issuer`: always kept.
    Issuer,
    /// `authorization_endpoint`.
    AuthorizationEndpoint,
    /// `token_endpoint`.
    TokenEndpoint,
    /// `introspection_endpoint`.
    IntrospectionEndpoint,
    /// `userinfo_endpoint`.
    UserinfoEndpoint,
    /// `jwks_uri`.
    JwksUri,
    /// `registration_endpoint`.
    RegistrationEndpoint,
    /// `revocation_endpoint`.
    RevocationEndpoint,
    /// `scopes_supported` (a list).
    ScopesSupported,
    /// `response_types_supported` (a list).
    ResponseTypesSupported,
    /// `grant_types_supported` (a list).
    GrantTypesSupported,
    /// `code_challenge_methods_supported` (a list).
    CodeChallengeMethodsSupported,
}

const MEMBER_COUNT: usize = 12;

/// How many items of at most how many bytes a list member keeps.
type ListBounds = Option<(u8, usize)>;

/// Every member in declaration order, with its name in the document and, for a list,
/// its bounds.
const MEMBERS: [(Member, &str, ListBounds); MEMBER_COUNT] = [
    (Member::Issuer, "issuer", None),
    (
        Member::AuthorizationEndpoint,
        "authorization_endpoint",
        None,
    ),
    (Member::TokenEndpoint, "token_endpoint", None),
    (
        Member::IntrospectionEndpoint,
        "introspection_endpoint",
        None,
    ),
    (Member::UserinfoEndpoint, "userinfo_endpoint", None),
    (Member::JwksUri, "jwks_uri", None),
    (Member::RegistrationEndpoint, "registration_endpoint", None),
    (Member::RevocationEndpoint, "revocation_endpoint", None),
    (Member::ScopesSupported, "scopes_supported", Some((16, 48))),
    (
        Member::ResponseTypesSupported,
        "response_types_supported",
        Some((8, 32)),
    ),
    (
        Member::GrantTypesSupported,
        "grant_types_supported",
        Some((8, 64)),
    ),
    (
        Member::CodeChallengeMethodsSupported,
        "code_challenge_methods_supported",
        Some((4, 16)),
    ),
];

impl Member {
    fn bit(self) -> u16 {
        1 << self as u8
    }
}

/// A set of metadata members: which ones a [`ProviderMetadata`] keeps (its `KEEP`
/// parameter is [`Members::bits`]). A type parameter, not a setting, so a device that
/// keeps few members carries no code for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Members(u16);

/// Every member ([`Members::ALL`]), as a `KEEP` parameter.
pub const ALL_MEMBERS: u16 = Members::ALL.bits();

impl Members {
    /// Every member this crate knows (what a mirror of the document needs).
    pub const ALL: Members = Members((1 << MEMBER_COUNT) - 1);
    /// What token validation needs: the issuer, introspection and JWKS endpoints.
    pub const VALIDATION: Members = Members(
        (1 << Member::Issuer as u8)
            | (1 << Member::IntrospectionEndpoint as u8)
            | (1 << Member::JwksUri as u8),
    );

    /// This set with `member` added.
    pub const fn with(self, member: Member) -> Members {
        Members(self.0 | 1 << member as u8)
    }

    /// Whether `member` is in the set.
    pub fn contains(self, member: Member) -> bool {
        self.0 & member.bit() != 0
    }

    /// The set as a `KEEP` parameter.
    pub const fn bits(self) -> u16 {
        self.0
    }
}

/// Where a kept member's text lies in the metadata's text. A list's items are
/// separated by `\n`, which no kept item contains; empty items are not kept, so an
/// empty span is a list without items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u16,
    end: u16,
}

impl Span {
    /// A member not advertised (or not kept).
    const ABSENT: Span = Span { start: 1, end: 0 };
}

/// What this server uses from the provider's metadata: the members `KEEP` names (a
/// [`Members::bits`]; the issuer always), their text packed into `TEXT` bytes. List
/// items beyond a list's bounds or the room left are dropped (the list is then marked
/// `overflowed`); a URL that does not fit is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata<const TEXT: usize = METADATA_TEXT, const KEEP: u16 = ALL_MEMBERS> {
    text: String<TEXT>,
    spans: [Span; MEMBER_COUNT],
    /// The lists that had items dropped, by member bit.
    overflowed: u16,
}

impl<const TEXT: usize, const KEEP: u16> Default for ProviderMetadata<TEXT, KEEP> {
    fn default() -> Self {
        ProviderMetadata {
            text: String::new(),
            spans: [Span::ABSENT; MEMBER_COUNT],
            overflowed: 0,
        }
    }
}

impl<const TEXT: usize, const KEEP: u16> ProviderMetadata<TEXT, KEEP> {
    /// The members kept.
    const KEPT: Members = Members(KEEP).with(Member::Issuer);

    /// [`MEMBERS`] with the names of members not kept blanked out, computed at compile
    /// time: the device carries only the names it reads.
    const READ: [(Member, &'static str, ListBounds); MEMBER_COUNT] = {
        let mut table = MEMBERS;
        let mut index = 0;
        while index < MEMBER_COUNT {
            if Self::KEPT.0 & (1 << index) == 0 {
                table[index].1 = "";
            }
            index += 1;
        }
        table
    };

    /// Whether a list member is kept (then lists are read in a second pass).
    const READS_LISTS: bool = {
        let mut index = 0;
        let mut found = false;
        while index < MEMBER_COUNT {
            if Self::KEPT.0 & (1 << index) != 0 && MEMBERS[index].2.is_some() {
                found = true;
            }
            index += 1;
        }
        found
    };

    /// Metadata from settings alone, for providers that publish none.
    pub fn from_config(config: &OAuthConfig<'_>) -> Result<Self, DiscoveryError> {
        let mut metadata = ProviderMetadata::default();
        metadata
            .set_url(Member::Issuer, config.issuer)
            .ok_or(DiscoveryError::Misconfigured)?;
        metadata.apply_overrides(&config.endpoints)?;
        Ok(metadata)
    }

    /// Replaces discovered endpoints with the ones set by hand.
    pub fn apply_overrides(&mut self, endpoints: &Endpoints<'_>) -> Result<(), DiscoveryError> {
        let pairs = [
            (Member::AuthorizationEndpoint, endpoints.authorization),
            (Member::TokenEndpoint, endpoints.token),
            (Member::IntrospectionEndpoint, endpoints.introspection),
            (Member::UserinfoEndpoint, endpoints.userinfo),
            (Member::JwksUri, endpoints.jwks),
            (Member::RegistrationEndpoint, endpoints.registration),
            (Member::RevocationEndpoint, endpoints.revocation),
        ];
        for (member, configured) in pairs {
            if !Self::KEPT.contains(member) {
                continue;
            }
            if let Some(url) = configured {
                self.set_url(member, url)
                    .ok_or(DiscoveryError::Misconfigured)?;
            }
        }
        Ok(())
    }

    /// Keeps `url` as `member` (replacing an earlier value's span; its old text stays
    /// as dead bytes, which happens only for the few settings made by hand).
    pub fn set_url(&mut self, member: Member, url: &str) -> Option<()> {
        if url.len() > URL_MAX {
            return None;
        }
        let start = self.text.len();
        self.text.push_str(url).ok()?;
        *self.spans.get_mut(member as usize)? = Span {
            start: u16::try_from(start).ok()?,
            end: u16::try_from(self.text.len()).ok()?,
        };
        Some(())
    }

    /// A view of the metadata that does not depend on its capacity.
    pub fn view(&self) -> MetadataView<'_> {
        MetadataView {
            text: &self.text,
            spans: &self.spans,
            overflowed: self.overflowed,
        }
    }

    /// Reads a list's items into the text; `None` when the value is not a string or an
    /// array of strings.
    fn read_list(&mut self, member: Member, value: json::Value<'_>) -> Option<()> {
        let (max_items, max_len) = Self::READ.get(member as usize)?.2?;
        let start = self.text.len();
        let mut items = 0;
        let mut buf = [0u8; 64];
        for item in value.one_or_many()? {
            let text = item.as_str()?.decode_into(&mut buf);
            let separator = if items == 0 { "" } else { "\n" };
            let fits = text.filter(|text| {
                items < max_items
                    && !text.is_empty()
                    && text.len() <= max_len
                    && !text.contains('\n')
                    && self.text.len() + separator.len() + text.len() <= TEXT
            });
            match fits {
                Some(text) => {
                    // Cannot fail: the room was checked above.
                    let _ = self.text.push_str(separator);
                    let _ = self.text.push_str(text);
                    items += 1;
                }
                None => self.overflowed |= member.bit(),
            }
        }
        *self.spans.get_mut(member as usize)? = Span {
            start: u16::try_from(start).ok()?,
            end: u16::try_from(self.text.len()).ok()?,
        };
        Some(())
    }
}

/// Borrowed provider metadata, whatever the capacity it is kept in: the accessors
/// every reader uses.
#[derive(Debug, Clone, Copy)]
pub struct MetadataView<'m> {
    text: &'m str,
    spans: &'m [Span; MEMBER_COUNT],
    overflowed: u16,
}

impl<'m> MetadataView<'m> {
    /// A member's text, if kept and advertised: a URL, or a list's items separated by `\n`.
    fn text(self, member: Member) -> Option<&'m str> {
        let span = self.spans.get(member as usize)?;
        self.text
            .get(usize::from(span.start)..usize::from(span.end))
    }

    /// The issuer identifier.
    pub fn issuer(self) -> &'m str {
        self.url(Member::Issuer).unwrap_or("")
    }

    /// A URL member, if kept and advertised.
    pub fn url(self, member: Member) -> Option<&'m str> {
        self.text(member)
    }

    /// `authorization_endpoint`.
    pub fn authorization_endpoint(self) -> Option<&'m str> {
        self.url(Member::AuthorizationEndpoint)
    }

    /// `token_endpoint`.
    pub fn token_endpoint(self) -> Option<&'m str> {
        self.url(Member::TokenEndpoint)
    }

    /// `introspection_endpoint`.
    pub fn introspection_endpoint(self) -> Option<&'m str> {
        self.url(Member::IntrospectionEndpoint)
    }

    /// `userinfo_endpoint`.
    pub fn userinfo_endpoint(self) -> Option<&'m str> {
        self.url(Member::UserinfoEndpoint)
    }

    /// `jwks_uri`.
    pub fn jwks_uri(self) -> Option<&'m str> {
        self.url(Member::JwksUri)
    }

    /// The items of a list member kept (none if absent).
    pub fn list(self, member: Member) -> ListItems<'m> {
        ListItems {
            rest: self.text(member).filter(|text| !text.is_empty()),
        }
    }

    /// Whether a list member had items that were dropped.
    pub fn overflowed(self, member: Member) -> bool {
        self.overflowed & member.bit() != 0
    }

    /// The document to serve at `/.well-known/oauth-authorization-server`.
    pub fn document(self) -> AuthorizationServerDocument<'m> {
        AuthorizationServerDocument {
            issuer: self.issuer(),
            authorization_endpoint: self.authorization_endpoint(),
            token_endpoint: self.token_endpoint(),
            introspection_endpoint: self.introspection_endpoint(),
            userinfo_endpoint: self.userinfo_endpoint(),
            jwks_uri: self.jwks_uri(),
            registration_endpoint: self.url(Member::RegistrationEndpoint),
            revocation_endpoint: self.url(Member::RevocationEndpoint),
            scopes_supported: self.list(Member::ScopesSupported),
            response_types_supported: self.list(Member::ResponseTypesSupported),
            grant_types_supported: self.list(Member::GrantTypesSupported),
            code_challenge_methods_supported: ["S256"],
        }
    }
}

/// The items of one list member.
#[derive(Debug, Clone, Copy)]
pub struct ListItems<'m> {
    rest: Option<&'m str>,
}

impl<'m> Iterator for ListItems<'m> {
    type Item = &'m str;

    fn next(&mut self) -> Option<&'m str> {
        let rest = self.rest?;
        match rest.split_once('\n') {
            Some((item, after)) => {
                self.rest = Some(after);
                Some(item)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

impl serde::Serialize for ListItems<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(*self)
    }
}

/// Reads a metadata document with the bounded JSON scanner: the members kept, each at
/// most once; other members are skipped unread; a kept URL that does not fit is an
/// error, list items that do not fit are dropped. URLs are kept before lists, so lists
/// get only the room left.
fn parse_metadata<const TEXT: usize, const KEEP: u16>(
    body: &[u8],
) -> Result<ProviderMetadata<TEXT, KEEP>, DiscoveryError> {
    let bad = DiscoveryError::BadDocument;
    let text = core::str::from_utf8(body).map_err(|_| bad)?;
    let document = json::parse(text).map_err(|_| bad)?;
    if document.kind() != Kind::Object {
        return Err(bad);
    }
    let mut metadata = ProviderMetadata::<TEXT, KEEP>::default();
    let mut seen = 0u16;
    let passes: &[bool] = if ProviderMetadata::<TEXT, KEEP>::READS_LISTS {
        &[false, true]
    } else {
        &[false]
    };
    for &lists in passes {
        for (name, value) in document.members() {
            let Some((member, _, list)) = ProviderMetadata::<TEXT, KEEP>::READ
                .iter()
                .find(|(_, known, _)| !known.is_empty() && name.eq_str(known))
            else {
                continue;
            };
            if list.is_some() != lists {
                continue;
            }
            if seen & member.bit() != 0 {
                return Err(bad);
            }
            seen |= member.bit();
            if value.kind() == Kind::Null && *member != Member::Issuer {
                continue;
            }
            if lists {
                metadata.read_list(*member, value).ok_or(bad)?;
            } else {
                let mut buf = [0u8; URL_MAX];
                let url = value.as_str().and_then(|url| url.decode_into(&mut buf));
                metadata.set_url(*member, url.ok_or(bad)?).ok_or(bad)?;
            }
        }
    }
    if seen & Member::Issuer.bit() == 0 {
        return Err(bad);
    }
    Ok(metadata)
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

/// A mirror of the provider's metadata that advertises PKCE `S256` only.
#[derive(Debug, Serialize)]
pub struct AuthorizationServerDocument<'a> {
    /// `issuer`.
    pub issuer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `authorization_endpoint`.
    pub authorization_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `token_endpoint`.
    pub token_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `introspection_endpoint`.
    pub introspection_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `userinfo_endpoint`.
    pub userinfo_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `jwks_uri`.
    pub jwks_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `registration_endpoint`.
    pub registration_endpoint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `revocation_endpoint`.
    pub revocation_endpoint: Option<&'a str>,
    /// `scopes_supported`.
    pub scopes_supported: ListItems<'a>,
    /// `response_types_supported`.
    pub response_types_supported: ListItems<'a>,
    /// `grant_types_supported`.
    pub grant_types_supported: ListItems<'a>,
    /// Always `["S256"]`: the only method this server's login uses.
    pub code_challenge_methods_supported: [&'a str; 1],
}

impl AuthorizationServerDocument<'_> {
    /// Writes the document as compact JSON (what `Serialize` gives), so it can be
    /// rendered window by window without a buffer for the whole text.
    pub fn render(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
        let out = &mut push_advisor_http::codec::Formatted(out);
        use fmt::Write as _;
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
            ("scopes_supported", &mut self.scopes_supported.clone()),
            (
                "response_types_supported",
                &mut self.response_types_supported.clone(),
            ),
            (
                "grant_types_supported",
                &mut self.grant_types_supported.clone(),
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
    /// This resource's canonical URI.
    pub resource: &'a str,
    /// The one provider that issues its tokens.
    pub authorization_servers: [&'a str; 1],
    /// The scopes it understands.
    pub scopes_supported: &'a [&'a str],
    /// Always `["header"]` (RFC 6750 §2.1 only).
    pub bearer_methods_supported: [&'a str; 1],
    #[serde(skip_serializing_if = "str::is_empty")]
    /// Shown to people; omitted when empty.
    pub resource_name: &'a str,
}

impl ProtectedResourceDocument<'_> {
    /// The same JSON as its `Serialize` form, streamed: a small transmit buffer sends
    /// it window by window, however long the URLs are.
    pub fn render(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
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
        out.write_str("],\"bearer_methods_supported\":[\"header\"]")?;
        if !self.resource_name.is_empty() {
            out.write_str(",\"resource_name\":\"")?;
            JsonEscaped(self.resource_name).write_to(out)?;
            out.write_str("\"")?;
        }
        out.write_str("}")
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
pub async fn discover<C: Connect, const TEXT: usize, const KEEP: u16>(
    connect: &C,
    config: &OAuthConfig<'_>,
    buffer: &mut [u8],
) -> Result<ProviderMetadata<TEXT, KEEP>, DiscoveryError> {
    discover_dated(connect, config, buffer)
        .await
        .map(|found| found.metadata)
}

/// What discovery found, and when by the provider's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered<const TEXT: usize = METADATA_TEXT, const KEEP: u16 = ALL_MEMBERS> {
    /// The members `KEEP` names.
    pub metadata: ProviderMetadata<TEXT, KEEP>,
    /// The answer's `Date` as Unix seconds: a device without a clock learns the time
    /// from it, without a request of its own.
    pub date: Option<u64>,
}

/// [`discover`], keeping the provider's `Date`.
pub async fn discover_dated<C: Connect, const TEXT: usize, const KEEP: u16>(
    connect: &C,
    config: &OAuthConfig<'_>,
    buffer: &mut [u8],
) -> Result<Discovered<TEXT, KEEP>, DiscoveryError> {
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
        let request = Outgoing::get(&endpoint, false);
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
        if metadata.view().issuer() != config.issuer {
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

    /// The streamed document is byte for byte its serialized form, with a name and
    /// without one (then omitted).
    #[test]
    fn protected_resource_document_renders_as_it_serializes() {
        let mut config = config();
        for name in ["Push \"Advisor\"", ""] {
            config.resource_name = name;
            let document = protected_resource_document(&config, "http://127.0.0.1:8787/mcp");
            let mut rendered = std::string::String::new();
            document.render(&mut rendered).unwrap();
            let mut buf = [0u8; 1024];
            let len = serde_json_core::to_slice(&document, &mut buf).unwrap();
            assert_eq!(rendered.as_bytes(), &buf[..len]);
            assert_eq!(rendered.contains("resource_name"), !name.is_empty());
        }
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
        let mut metadata: ProviderMetadata =
            block_on(discover(&connector, &config(), &mut rx)).unwrap();
        metadata
            .set_url(Member::RevocationEndpoint, "http://x/\"quoted\"")
            .unwrap();
        let mut serialized = [0u8; 4096];
        let length =
            serde_json_core::to_slice(&metadata.view().document(), &mut serialized).unwrap();
        let mut rendered: String<4096> = String::new();
        metadata.view().document().render(&mut rendered).unwrap();
        assert_eq!(rendered.as_bytes(), &serialized[..length]);
    }

    #[test]
    fn discovers_oidc_provider_metadata() {
        let connector = FakeConnector::new(vec![ok(OIDC_PROVIDER_METADATA)]);
        let mut rx = [0u8; 4096];
        let metadata: ProviderMetadata =
            block_on(discover(&connector, &config(), &mut rx)).unwrap();
        let metadata = metadata.view();
        assert_eq!(metadata.issuer(), ISSUER);
        assert_eq!(
            metadata.introspection_endpoint(),
            Some("http://127.0.0.1:9000/token/introspection")
        );
        assert_eq!(
            metadata.token_endpoint(),
            Some("http://127.0.0.1:9000/token")
        );
        assert_eq!(
            metadata.userinfo_endpoint(),
            Some("http://127.0.0.1:9000/me")
        );
        let contains = |list, item| metadata.list(list).any(|listed| listed == item);
        assert!(contains(Member::ScopesSupported, "api:write"));
        assert!(contains(Member::GrantTypesSupported, "authorization_code"));
        assert!(contains(Member::ResponseTypesSupported, "code"));
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
        let metadata: ProviderMetadata = block_on(discover(&connector, &config, &mut rx)).unwrap();
        let metadata = metadata.view();
        assert!(
            connector
                .sent_text(1)
                .starts_with("GET /.well-known/openid-configuration HTTP/1.1\r\n")
        );
        assert_eq!(
            metadata.introspection_endpoint(),
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
            block_on(discover::<_, METADATA_TEXT, ALL_MEMBERS>(
                &connector,
                &config(),
                &mut rx
            )),
            Err(DiscoveryError::IssuerMismatch)
        );
        let connector = FakeConnector::new(vec![ok("<html>")]);
        assert_eq!(
            block_on(discover::<_, METADATA_TEXT, ALL_MEMBERS>(
                &connector,
                &config(),
                &mut rx
            )),
            Err(DiscoveryError::BadDocument)
        );
        let connector = FakeConnector::new(vec![not_found(), not_found()]);
        assert_eq!(
            block_on(discover::<_, METADATA_TEXT, ALL_MEMBERS>(
                &connector,
                &config(),
                &mut rx
            )),
            Err(DiscoveryError::NotFound)
        );
        let connector = FakeConnector::new(vec![Script::Refused, Script::Refused]);
        assert_eq!(
            block_on(discover::<_, METADATA_TEXT, ALL_MEMBERS>(
                &connector,
                &config(),
                &mut rx
            )),
            Err(DiscoveryError::Unavailable(ValidationError::Unreachable))
        );
        let connector =
            FakeConnector::new(vec![ok(OIDC_PROVIDER_METADATA), ok(OIDC_PROVIDER_METADATA)]);
        let mut small = [0u8; 512];
        assert_eq!(
            block_on(discover::<_, METADATA_TEXT, ALL_MEMBERS>(
                &connector,
                &config(),
                &mut small
            )),
            Err(DiscoveryError::Unavailable(ValidationError::BadAnswer))
        );
    }

    /// The scanner reads what serde read: escapes decoded, `null` as absent; and it
    /// refuses what serde refused: a member twice, no issuer, a URL that does not fit.
    #[test]
    fn documents_are_read_strictly() {
        let read = |body: &str| parse_metadata::<METADATA_TEXT, ALL_MEMBERS>(body.as_bytes());
        let escaped = read(r#"{"issuer":"http:\/\/127.0.0.1:9000","introspection_endpoint":null,"token_endpoint":"http://127.0.0.1:9000/t\u006fken"}"#).unwrap();
        let escaped = escaped.view();
        assert_eq!(escaped.issuer(), "http://127.0.0.1:9000");
        assert_eq!(escaped.introspection_endpoint(), None);
        assert_eq!(
            escaped.token_endpoint(),
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
        let found: Discovered = block_on(discover_dated(&connector, &config(), &mut rx)).unwrap();
        assert_eq!(found.date, Some(784_111_777));
        assert_eq!(found.metadata.view().issuer(), "http://127.0.0.1:9000");
    }

    #[test]
    fn long_lists_keep_their_first_entries() {
        let body = r#"{"issuer":"http://127.0.0.1:9000","code_challenge_methods_supported":["plain","S256","a","b","c"],"scopes_supported":"openid"}"#;
        let connector = FakeConnector::new(vec![ok(body)]);
        let mut rx = [0u8; 1024];
        let metadata: ProviderMetadata =
            block_on(discover(&connector, &config(), &mut rx)).unwrap();
        let metadata = metadata.view();
        let methods = Member::CodeChallengeMethodsSupported;
        assert_eq!(metadata.list(methods).count(), 4);
        assert!(metadata.overflowed(methods));
        assert!(
            metadata
                .list(Member::ScopesSupported)
                .any(|s| s == "openid")
        );
    }

    #[test]
    fn mirror_document_advertises_s256_only() {
        let connector = FakeConnector::new(vec![ok(
            &OIDC_PROVIDER_METADATA.replace(r#"["S256"]"#, r#"["plain","S256"]"#)
        )]);
        let mut rx = [0u8; 4096];
        let metadata: ProviderMetadata =
            block_on(discover(&connector, &config(), &mut rx)).unwrap();
        let mut out = [0u8; 2048];
        let length = serde_json_core::to_slice(&metadata.view().document(), &mut out).unwrap();
        let json = core::str::from_utf8(&out[..length]).unwrap();
        assert_eq!(
            json,
            r#"{"issuer":"http://127.0.0.1:9000","authorization_endpoint":"http://127.0.0.1:9000/auth","token_endpoint":"http://127.0.0.1:9000/token","introspection_endpoint":"http://127.0.0.1:9000/token/introspection","userinfo_endpoint":"http://127.0.0.1:9000/me","jwks_uri":"http://127.0.0.1:9000/jwks","registration_endpoint":"http://127.0.0.1:9000/reg","revocation_endpoint":"http://127.0.0.1:9000/token/revocation","scopes_supported":["openid","offline_access","profile","email","api:read","api:write"],"response_types_supported":["code id_token","code","id_token","none"],"grant_types_supported":["implicit","authorization_code","refresh_token","client_credentials"],"code_challenge_methods_supported":["S256"]}"#
        );
        let bare: ProviderMetadata = ProviderMetadata::from_config(&config()).unwrap();
        let length = serde_json_core::to_slice(&bare.view().document(), &mut out).unwrap();
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

    /// A device that keeps only what validation needs reads nothing else: other
    /// members are neither kept nor checked, their lists not read.
    #[test]
    fn only_the_kept_members_are_read() {
        const KEEP: u16 = Members::VALIDATION.bits();
        let body = r#"{"issuer":"http://a","token_endpoint":"http://a/t","token_endpoint":7,"scopes_supported":["x"],"jwks_uri":"http://a/k","introspection_endpoint":"http://a/i"}"#;
        let metadata = parse_metadata::<64, KEEP>(body.as_bytes()).unwrap();
        let view = metadata.view();
        assert_eq!(view.issuer(), "http://a");
        assert_eq!(view.introspection_endpoint(), Some("http://a/i"));
        assert_eq!(view.jwks_uri(), Some("http://a/k"));
        assert_eq!(view.token_endpoint(), None);
        assert_eq!(view.list(Member::ScopesSupported).count(), 0);
        // Kept members that do not fit the room are still an error.
        assert_eq!(
            parse_metadata::<16, KEEP>(body.as_bytes()),
            Err(DiscoveryError::BadDocument)
        );
    }
}
