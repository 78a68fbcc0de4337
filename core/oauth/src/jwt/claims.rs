//! The claims of an RFC 9068 JWT access token, checked and turned into the same
//! [`TokenInfo`] introspection gives, so the guard's policy and challenges apply alike.

use heapless::String;

use crate::config::OAuthConfig;
use crate::http::json::{self, Kind, Value};
use crate::token::{TokenInfo, ValidationError, WordList};

/// How JWT access tokens are read: the profile of the provider that issues them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtSettings<'a> {
    /// Also accept `typ: JWT` and no `typ` (Auth0's, Keycloak's, Entra ID's and Cognito's
    /// access tokens). Off by default: only RFC 9068's `at+jwt`, so an ID token or another
    /// JWT of the provider cannot pass for an access token.
    pub accept_jwt_typ: bool,
    /// Leeway for `nbf` and `iat` against this clock (seconds). `exp` gets none: the
    /// guard refuses an expired token by the same clock anyway.
    pub skew_seconds: u64,
    /// Read Auth0's RBAC `permissions` array as scopes too.
    pub permissions_as_scopes: bool,
    /// AWS Cognito's shape: access tokens carry no `aud`; instead `token_use` must be
    /// `access` and `client_id` one of these. Empty (the default) means tokens must name
    /// this resource in `aud`.
    pub cognito_client_ids: &'a [&'a str],
}

impl Default for JwtSettings<'_> {
    fn default() -> Self {
        JwtSettings {
            accept_jwt_typ: false,
            skew_seconds: 60,
            permissions_as_scopes: false,
            cognito_client_ids: &[],
        }
    }
}

/// The claims read, in `read_claims`' order.
const CLAIMS: [&str; 12] = [
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "sub",
    "client_id",
    "azp",
    "scope",
    "scp",
    "permissions",
    "token_use",
];

/// Checks a verified token's decoded payload at `now` (Unix seconds) and returns what
/// it grants. Every refusal is `Inactive` (the token is not good here: wrong issuer or
/// audience, expired, not yet valid, …) or `Malformed` (not a claims object, a claim
/// of the wrong type or given twice, a value beyond the `TokenInfo` bounds).
pub fn read_claims(
    payload: &[u8],
    config: &OAuthConfig<'_>,
    settings: &JwtSettings<'_>,
    now: u64,
) -> Result<TokenInfo, ValidationError> {
    let bad = ValidationError::Malformed;
    let refused = ValidationError::Inactive;
    let text = core::str::from_utf8(payload).map_err(|_| bad)?;
    let claims = json::parse(text).map_err(|_| bad)?;
    if claims.kind() != Kind::Object {
        return Err(bad);
    }
    let mut found: [Option<Value<'_>>; CLAIMS.len()] = [None; CLAIMS.len()];
    for (name, value) in claims.members() {
        let Some(index) = CLAIMS.iter().position(|known| name.eq_str(known)) else {
            continue;
        };
        let slot = found.get_mut(index).ok_or(bad)?;
        if slot.is_some() {
            return Err(bad);
        }
        *slot = Some(value).filter(|value| value.kind() != Kind::Null);
    }
    let [
        iss,
        aud,
        exp,
        nbf,
        iat,
        sub,
        client_id,
        azp,
        scope,
        scp,
        permissions,
        token_use,
    ] = found;

    let issuer: String<{ crate::token::ISSUER_MAX }> = bounded(iss.ok_or(refused)?)?;
    if config.issuer.is_empty() || issuer != config.issuer {
        return Err(refused);
    }
    let exp = numeric_date(exp.ok_or(refused)?)?;
    if exp <= now {
        return Err(refused);
    }
    let latest_start = now.saturating_add(settings.skew_seconds);
    if let Some(nbf) = nbf.map(numeric_date).transpose()? {
        if nbf > latest_start {
            return Err(refused);
        }
    }
    let iat = iat.map(numeric_date).transpose()?;
    if iat.is_some_and(|iat| iat > latest_start) {
        return Err(refused);
    }
    let client_id = client_id.or(azp).map(bounded).transpose()?;
    let audiences = if settings.cognito_client_ids.is_empty() {
        audiences(aud, config)?
    } else {
        cognito_audience(token_use, client_id.as_deref(), config, settings)?
    };
    let mut granted = Scopes::default();
    let lists = [
        (scope, false),
        (scp, true),
        (permissions.filter(|_| settings.permissions_as_scopes), true),
    ];
    // The scopes this resource knows first, so a long list cannot crowd them out.
    for known_only in [true, false] {
        for (value, may_be_array) in lists {
            if let Some(value) = value {
                granted.read(value, may_be_array, config, known_only)?;
            }
        }
    }
    Ok(TokenInfo {
        active: true,
        subject: sub.map(bounded).transpose()?,
        client_id,
        scope: granted.text,
        audiences,
        issuer: Some(issuer),
        exp: Some(exp),
        iat,
        token_type: None,
        answered_at: None,
    })
}

/// A JSON string decoded into a bounded string; too long or not a string is `Malformed`.
fn bounded<const N: usize>(value: Value<'_>) -> Result<String<N>, ValidationError> {
    value.to_bounded().ok_or(ValidationError::Malformed)
}

/// RFC 7519 NumericDate: non-negative seconds, a fraction allowed and dropped.
fn numeric_date(value: Value<'_>) -> Result<u64, ValidationError> {
    let raw = value.raw();
    let whole = match raw.split_once('.') {
        Some((whole, fraction))
            if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            whole
        }
        Some(_) => return Err(ValidationError::Malformed),
        None => raw,
    };
    match value.kind() {
        Kind::Number => crate::http::h1::parse_decimal(whole.as_bytes()),
        _ => None,
    }
    .ok_or(ValidationError::Malformed)
}

/// `aud` (a string or an array) must name this resource unless audience checks are
/// off. The accepted audiences are kept first, then others while room is left, so the
/// guard's own audience check sees the one that matched.
fn audiences(
    aud: Option<Value<'_>>,
    config: &OAuthConfig<'_>,
) -> Result<WordList<{ crate::token::AUDIENCES }, { crate::token::AUDIENCE_MAX }>, ValidationError>
{
    let mut kept = WordList::default();
    let mut matched = false;
    if let Some(aud) = aud {
        for accepted_pass in [true, false] {
            for item in aud.one_or_many().ok_or(ValidationError::Malformed)? {
                let item = item.as_str().ok_or(ValidationError::Malformed)?;
                let mut buf = [0u8; crate::token::AUDIENCE_MAX];
                // An audience too long to keep cannot be one of ours: skipped.
                let Some(text) = item.decode_into(&mut buf) else {
                    continue;
                };
                if config.accepts_audience(text) != accepted_pass {
                    continue;
                }
                let kept_it = kept.push(text);
                matched |= accepted_pass && kept_it;
            }
        }
    }
    if config.check_audience && !matched {
        return Err(ValidationError::Inactive);
    }
    Ok(kept)
}

/// Cognito: no `aud`; `token_use` must be `access` and the client allowlisted. The
/// allowlisted client stands for the audience: the resource is recorded as the token's
/// audience so the guard's audience check passes.
fn cognito_audience(
    token_use: Option<Value<'_>>,
    client_id: Option<&str>,
    config: &OAuthConfig<'_>,
    settings: &JwtSettings<'_>,
) -> Result<WordList<{ crate::token::AUDIENCES }, { crate::token::AUDIENCE_MAX }>, ValidationError>
{
    let access = token_use
        .and_then(Value::as_str)
        .is_some_and(|token_use| token_use.eq_str("access"));
    let allowed = client_id.is_some_and(|id| settings.cognito_client_ids.contains(&id));
    if !(access && allowed) {
        return Err(ValidationError::Inactive);
    }
    let mut kept = WordList::default();
    let ours = config.audiences.first().copied().unwrap_or(config.resource);
    kept.push(ours);
    Ok(kept)
}

/// The scopes granted, space-separated, as introspection gives them.
#[derive(Default)]
struct Scopes {
    text: String<{ crate::token::SCOPE_MAX }>,
}

impl Scopes {
    /// Adds the items of `value` (space-separated strings, or an array of them when
    /// `may_be_array`): on the first pass those in `scopes_supported`, on the second
    /// the rest while room is left.
    fn read(
        &mut self,
        value: Value<'_>,
        may_be_array: bool,
        config: &OAuthConfig<'_>,
        known_only: bool,
    ) -> Result<(), ValidationError> {
        let bad = ValidationError::Malformed;
        if value.kind() == Kind::Array && !may_be_array {
            return Err(bad);
        }
        for item in value.one_or_many().ok_or(bad)? {
            // Word by word: the whole string may be longer than all that is kept.
            let mut word: String<{ crate::token::SCOPE_MAX }> = String::new();
            let mut too_long = false;
            for decoded in item.as_str().ok_or(bad)?.chars().chain(Some(Ok(' '))) {
                match decoded.map_err(|_| bad)? {
                    ' ' => {
                        if !too_long && !word.is_empty() {
                            self.offer(&word, config, known_only);
                        }
                        word.clear();
                        too_long = false;
                    }
                    c => too_long |= word.push(c).is_err(),
                }
            }
        }
        Ok(())
    }

    /// Keeps `scope` if it belongs to this pass and is not kept yet.
    fn offer(&mut self, scope: &str, config: &OAuthConfig<'_>, known_only: bool) {
        let known = config.scopes_supported.contains(&scope);
        if known == known_only && !self.text.split(' ').any(|had| had == scope) {
            self.push(scope);
        }
    }

    fn push(&mut self, scope: &str) {
        let separator = if self.text.is_empty() { "" } else { " " };
        if self.text.len() + separator.len() + scope.len() <= self.text.capacity() {
            // Cannot fail: the room was checked.
            let _ = self.text.push_str(separator);
            let _ = self.text.push_str(scope);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::jwt::testing::NOW;
    use crate::testing::config;
    use std::format;

    fn read(claims: &str) -> Result<TokenInfo, ValidationError> {
        read_claims(claims.as_bytes(), &config(), &JwtSettings::default(), NOW)
    }

    fn good(extra: &str) -> std::string::String {
        format!(
            r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{},"iat":{},"sub":"alice","client_id":"app","scope":"api:read openid"{extra}}}"#,
            NOW + 300,
            NOW - 10
        )
    }

    #[test]
    fn reads_a_good_token_into_token_info() {
        let info = read(&good("")).unwrap();
        assert!(info.active);
        assert_eq!(info.subject(), Some("alice"));
        assert_eq!(info.client_id.as_deref(), Some("app"));
        assert_eq!(info.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(info.audiences.contains("http://127.0.0.1:8787"));
        assert_eq!((info.exp, info.iat), (Some(NOW + 300), Some(NOW - 10)));
        assert_eq!(info.scope.as_str(), "api:read openid");
        assert_eq!(info.principal(), Some("alice"));
    }

    #[test]
    fn client_credentials_tokens_act_for_their_client() {
        let claims = format!(
            r#"{{"iss":"http://127.0.0.1:9000","aud":["https://other.example","http://127.0.0.1:8787"],"exp":{},"azp":"machine"}}"#,
            NOW + 60
        );
        let info = read(&claims).unwrap();
        assert_eq!(info.principal(), Some("machine"));
        assert_eq!(info.audiences.iter().next(), Some("http://127.0.0.1:8787"));
        assert!(info.audiences.contains("https://other.example"));
    }

    #[test]
    fn scopes_come_from_scope_scp_and_permissions() {
        let info = read(&good(r#","scp":["api:write","email"]"#)).unwrap();
        assert!(info.has_scope("api:read") && info.has_scope("api:write"));
        assert!(info.has_scope("email") && info.has_scope("openid"));
        let info = read(&good(r#","scp":"api:write""#)).unwrap();
        assert!(info.has_scope("api:write"));
        // `permissions` counts only when configured.
        let claims = good(r#","permissions":["api:write"]"#);
        assert!(!read(&claims).unwrap().has_scope("api:write"));
        let settings = JwtSettings {
            permissions_as_scopes: true,
            ..JwtSettings::default()
        };
        let info = read_claims(claims.as_bytes(), &config(), &settings, NOW).unwrap();
        assert!(info.has_scope("api:write"));
        // `scope` must be a string (RFC 9068 §2.2.3).
        assert_eq!(
            read(&format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{},"scope":["api:read"]}}"#,
                NOW + 60
            )),
            Err(ValidationError::Malformed)
        );
    }

    #[test]
    fn known_scopes_survive_a_long_scope_list() {
        let many: std::string::String = (0..60).map(|i| format!("noise:{i} ")).collect();
        let claims = format!(
            r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{},"scope":"{many}api:write"}}"#,
            NOW + 60
        );
        let info = read(&claims).unwrap();
        assert!(info.has_scope("api:write"));
        assert!(info.scope.len() <= crate::token::SCOPE_MAX);
    }

    #[test]
    fn refuses_tokens_not_good_here() {
        let cases = [
            (r#""iss":"http://127.0.0.1:9000/""#, "issuer with a slash"),
            (r#""iss":"http://evil.example""#, "another issuer"),
        ];
        for (iss, why) in cases {
            let claims = good("").replace(r#""iss":"http://127.0.0.1:9000""#, iss);
            assert_eq!(read(&claims), Err(ValidationError::Inactive), "{why}");
        }
        let base = |exp: u64, rest: &str| {
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{exp}{rest}}}"#
            )
        };
        for (claims, why) in [
            (base(NOW, ""), "expired now"),
            (base(NOW - 1, ""), "expired"),
            (
                base(NOW + 60, &format!(r#","nbf":{}"#, NOW + 61)),
                "nbf beyond the skew",
            ),
            (
                base(NOW + 600, &format!(r#","iat":{}"#, NOW + 120)),
                "issued in the future",
            ),
            (
                r#"{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787"}"#.into(),
                "no exp",
            ),
            (
                format!(r#"{{"aud":"http://127.0.0.1:8787","exp":{}}}"#, NOW + 60),
                "no iss",
            ),
            (
                format!(r#"{{"iss":"http://127.0.0.1:9000","exp":{}}}"#, NOW + 60),
                "no aud",
            ),
            (
                format!(
                    r#"{{"iss":"http://127.0.0.1:9000","aud":["https://other.example"],"exp":{}}}"#,
                    NOW + 60
                ),
                "another audience",
            ),
            (
                format!(
                    r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787/","exp":{}}}"#,
                    NOW + 60
                ),
                "audience with a slash",
            ),
        ] {
            assert_eq!(read(&claims), Err(ValidationError::Inactive), "{why}");
        }
        // Within the skew is fine.
        assert!(
            read(&base(
                NOW + 60,
                &format!(r#","nbf":{},"iat":{}"#, NOW + 60, NOW + 60)
            ))
            .is_ok()
        );
    }

    #[test]
    fn refuses_unreadable_claims() {
        let exp = NOW + 60;
        for claims in [
            "".into(),
            "[]".into(),
            "{".into(),
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":"{exp}"}}"#
            ),
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":-{exp}}}"#
            ),
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{exp}e3}}"#
            ),
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{exp},"exp":{exp}}}"#
            ),
            format!(r#"{{"iss":"http://127.0.0.1:9000","aud":7,"exp":{exp}}}"#),
            format!(
                r#"{{"iss":["http://127.0.0.1:9000"],"aud":"http://127.0.0.1:8787","exp":{exp}}}"#
            ),
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{exp},"sub":"{}"}}"#,
                "s".repeat(crate::token::SUBJECT_MAX + 1)
            ),
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{exp},"scp":5}}"#
            ),
        ] {
            assert_eq!(read(&claims), Err(ValidationError::Malformed), "{claims}");
        }
        // A fractional NumericDate is read.
        let fractional = format!(
            r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{exp}.5}}"#
        );
        assert_eq!(read(&fractional).unwrap().exp, Some(exp));
    }

    #[test]
    fn audience_checks_can_be_off() {
        let mut config = config();
        config.check_audience = false;
        let claims = format!(r#"{{"iss":"http://127.0.0.1:9000","exp":{}}}"#, NOW + 60);
        let settings = JwtSettings::default();
        assert!(read_claims(claims.as_bytes(), &config, &settings, NOW).is_ok());
    }

    #[test]
    fn cognito_shape_needs_an_allowlisted_client_and_an_access_token() {
        let settings = JwtSettings {
            accept_jwt_typ: true,
            cognito_client_ids: &["7abc"],
            ..JwtSettings::default()
        };
        let claims = |client: &str, token_use: &str| {
            format!(
                r#"{{"iss":"http://127.0.0.1:9000","exp":{},"client_id":"{client}","token_use":"{token_use}","scope":"api:read","sub":"u-1"}}"#,
                NOW + 60
            )
        };
        let info = read_claims(
            claims("7abc", "access").as_bytes(),
            &config(),
            &settings,
            NOW,
        )
        .unwrap();
        assert!(info.audiences.contains("http://127.0.0.1:8787"));
        assert!(info.has_scope("api:read"));
        for (client, token_use) in [("other", "access"), ("7abc", "id")] {
            assert_eq!(
                read_claims(
                    claims(client, token_use).as_bytes(),
                    &config(),
                    &settings,
                    NOW
                ),
                Err(ValidationError::Inactive)
            );
        }
    }
}
