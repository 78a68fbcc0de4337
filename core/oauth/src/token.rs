//! What a validator learns about a token (`TokenInfo`, bounded), how validation can
//! fail (`ValidationError`), the `TokenValidator` seam, and the parser for RFC 7662
//! introspection answers.

use heapless::String;
use heapless::string::StringView;

use crate::http::json::{self, Kind, Value};

// Bounds of what a token's facts may hold. The default suits a device; feature
// `large-tokens` takes what big providers send (Keycloak's many audiences, long scope
// lists). A valid answer beyond them is `ValidationError::TooLarge`, never a 503.
#[cfg(not(feature = "large-tokens"))]
mod bounds {
    pub const SUBJECT_MAX: usize = 128;
    pub const CLIENT_ID_MAX: usize = 128;
    pub const SCOPE_MAX: usize = 256;
    pub const ISSUER_MAX: usize = 128;
    pub const AUDIENCE_MAX: usize = 256;
    pub const AUDIENCES: usize = 4;
}
#[cfg(feature = "large-tokens")]
mod bounds {
    pub const SUBJECT_MAX: usize = 255;
    pub const CLIENT_ID_MAX: usize = 255;
    pub const SCOPE_MAX: usize = 2048;
    pub const ISSUER_MAX: usize = 255;
    pub const AUDIENCE_MAX: usize = 2048;
    pub const AUDIENCES: usize = 16;
}

/// Longest `sub` kept (128 B; 255 B with feature `large-tokens`).
pub const SUBJECT_MAX: usize = bounds::SUBJECT_MAX;
/// Longest `client_id` kept (128 B; 255 B with `large-tokens`).
pub const CLIENT_ID_MAX: usize = bounds::CLIENT_ID_MAX;
/// Longest `scope` kept (256 B; 2 KiB with `large-tokens`).
pub const SCOPE_MAX: usize = bounds::SCOPE_MAX;
/// Longest `iss` kept (128 B; 255 B with `large-tokens`).
pub const ISSUER_MAX: usize = bounds::ISSUER_MAX;
/// Bytes for all of a token's audiences together (256 B; 2 KiB with `large-tokens`).
pub const AUDIENCE_MAX: usize = bounds::AUDIENCE_MAX;
/// Most audiences kept (4; 16 with `large-tokens`).
pub const AUDIENCES: usize = bounds::AUDIENCES;
/// Longest `token_type` kept.
pub const TOKEN_TYPE_MAX: usize = 32;

/// Facts about an active token. Every field is bounded; an answer that does not fit
/// is refused as `ValidationError::TooLarge`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// `active`: false means the token must be refused.
    pub active: bool,
    /// `sub`: the user (absent for client-credentials tokens).
    pub subject: Option<String<SUBJECT_MAX>>,
    /// `client_id`: the client the token was issued to.
    pub client_id: Option<String<CLIENT_ID_MAX>>,
    /// `scope`: space-separated, as RFC 7662 sends it.
    pub scope: String<SCOPE_MAX>,
    /// `aud`: one string or an array on the wire.
    pub audiences: WordList<AUDIENCES, AUDIENCE_MAX>,
    /// `iss`: the issuer, checked against the configured one.
    pub issuer: Option<String<ISSUER_MAX>>,
    /// `exp`: expiry, Unix seconds.
    pub exp: Option<u64>,
    /// `iat`: issue time, Unix seconds.
    pub iat: Option<u64>,
    /// `token_type`: must be `Bearer` when present.
    pub token_type: Option<String<TOKEN_TYPE_MAX>>,
    /// The provider's `Date` when it answered (Unix seconds), for devices without a clock.
    pub answered_at: Option<u64>,
}

impl TokenInfo {
    /// An active token with nothing but a subject and scopes (demo tokens, tests).
    pub fn new(subject: &str, scope: &str) -> TokenInfo {
        TokenInfo {
            active: true,
            subject: String::try_from(subject).ok(),
            client_id: None,
            scope: String::try_from(scope).unwrap_or_default(),
            audiences: WordList::default(),
            issuer: None,
            exp: None,
            iat: None,
            token_type: None,
            answered_at: None,
        }
    }

    /// The granted scopes, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|scope| !scope.is_empty())
    }

    /// Whether `wanted` is among the granted scopes.
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scopes().any(|scope| scope == wanted)
    }

    /// `sub`, if any.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// Who the token acts for: its subject, or its client id for client-credentials tokens.
    pub fn principal(&self) -> Option<&str> {
        self.subject().or(self.client_id.as_deref())
    }
}

/// Why a token could not be accepted by a validator. Only `Inactive` and `Malformed`
/// are the token's fault (401); the rest mean the provider could not answer (503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationError {
    /// The provider says the token is not active (unknown, expired, revoked).
    Inactive,
    /// The token was refused before asking anyone (too long, bad characters).
    Malformed,
    /// The provider could not be reached or answered 5xx.
    Unreachable,
    /// The provider did not answer in time.
    Timeout,
    /// The provider's answer could not be understood or did not fit.
    BadAnswer,
    /// Our own settings cannot form a request (endpoint URL, credentials too long).
    Misconfigured,
    /// A valid answer whose facts (scope, audiences, subject...) exceed this build's
    /// bounds (see `SCOPE_MAX` and its neighbours): the token cannot be judged here, so
    /// it is refused like an invalid one (401) and remembered as such, never a 503
    /// that would make the provider be asked again on every request.
    TooLarge,
    /// The budget of provider calls is spent: refused without asking the provider.
    Busy,
}

/// Checks a bearer token and says what it grants.
#[allow(async_fn_in_trait)]
pub trait TokenValidator {
    /// Checks `token`: its facts, or why they are not available.
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError>;

    /// Validates and lets `inspect` look at the answer in place, so a cache can answer
    /// without copying the token's facts out (the hot path of every protected request).
    async fn inspect<T>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        self.validate(token).await.map(|info| inspect(&info))
    }
}

impl<T: TokenValidator + ?Sized> TokenValidator for &T {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        (**self).validate(token).await
    }

    async fn inspect<U>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> U,
    ) -> Result<U, ValidationError> {
        (**self).inspect(token, inspect).await
    }
}

/// Up to `N` strings of `L` bytes in all, kept space-separated in one buffer (a few
/// hundred bytes less than a `StrList` in every copy of a `TokenInfo`). An item with a
/// space (no URI has one) or beyond the bounds is dropped and `overflowed` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordList<const N: usize, const L: usize> {
    text: String<L>,
    count: usize,
    /// Whether an item was dropped.
    pub overflowed: bool,
}

impl<const N: usize, const L: usize> WordList<N, L> {
    /// The items, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.text.split(' ').take(self.count)
    }

    /// Whether `wanted` is an item.
    pub fn contains(&self, wanted: &str) -> bool {
        self.iter().any(|item| item == wanted)
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Adds an item; `false` (and `overflowed`) when it does not fit or has a space.
    pub fn push(&mut self, item: &str) -> bool {
        let separator = if self.count == 0 { "" } else { " " };
        let fits = self.count < N
            && !item.contains(' ')
            && self.text.len() + separator.len() + item.len() <= L;
        if fits {
            // Cannot fail: the room was checked above.
            let _ = self.text.push_str(separator);
            let _ = self.text.push_str(item);
            self.count += 1;
        }
        self.overflowed |= !fits;
        fits
    }
}

/// The members of an RFC 7662 answer that are kept, in `parse_introspection`'s order.
const MEMBERS: [&str; 9] = [
    "active",
    "sub",
    "client_id",
    "scope",
    "aud",
    "iss",
    "exp",
    "iat",
    "token_type",
];

/// Reads an introspection answer. `answered_at` is the provider's `Date`, if any.
/// Unknown members are skipped unread; a member given twice or a value of the wrong
/// type is `BadAnswer`; a value beyond this build's bounds is `TooLarge`. (Read with the JSON scanner `/mcp` uses
/// anyway: a serde deserializer for this one struct costs kilobytes of flash.)
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn parse_introspection(
    body: &[u8],
    answered_at: Option<u64>,
) -> Result<TokenInfo, ValidationError> {
    let bad = ValidationError::BadAnswer;
    let text = core::str::from_utf8(body).map_err(|_| bad)?;
    let answer = json::parse(text).map_err(|_| bad)?;
    if answer.kind() != Kind::Object {
        return Err(bad);
    }
    let mut info = TokenInfo {
        active: true,
        subject: None,
        client_id: None,
        scope: String::new(),
        audiences: WordList::default(),
        issuer: None,
        exp: None,
        iat: None,
        token_type: None,
        answered_at,
    };
    let mut active = None;
    let mut seen = 0u16;
    for (name, value) in answer.members() {
        let Some(member) = MEMBERS.iter().position(|known| name.eq_str(known)) else {
            continue;
        };
        if seen & (1 << member) != 0 {
            return Err(bad);
        }
        seen |= 1 << member;
        if value.kind() == Kind::Null && member != 0 {
            continue;
        }
        match member {
            0 => active = Some(boolean(value)?),
            // Decoded in place: no bounded string moved into the answer.
            1 => decode_into(value, info.subject.insert(String::new()).as_mut_view())?,
            2 => decode_into(value, info.client_id.insert(String::new()).as_mut_view())?,
            3 => decode_into(value, info.scope.as_mut_view())?,
            4 => read_audiences(value, &mut info.audiences)?,
            5 => decode_into(value, info.issuer.insert(String::new()).as_mut_view())?,
            6 => info.exp = Some(unsigned(value)?),
            7 => info.iat = Some(unsigned(value)?),
            _ => decode_into(value, info.token_type.insert(String::new()).as_mut_view())?,
        }
    }
    match active {
        Some(true) => Ok(info),
        Some(false) => Err(ValidationError::Inactive),
        None => Err(bad),
    }
}

fn boolean(value: Value<'_>) -> Result<bool, ValidationError> {
    match value.raw() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ValidationError::BadAnswer),
    }
}

/// A JSON string decoded into a bounded string.
fn bounded<const N: usize>(value: Value<'_>) -> Result<String<N>, ValidationError> {
    let mut out = String::new();
    decode_into(value, out.as_mut_view())?;
    Ok(out)
}

/// Decodes a JSON string into `out`, whatever its bound: one copy of the decoder for
/// every `N` of `bounded` (less flash on a device).
fn decode_into(value: Value<'_>, out: &mut StringView) -> Result<(), ValidationError> {
    for decoded in value.as_str().ok_or(ValidationError::BadAnswer)?.chars() {
        let decoded = decoded.map_err(|_| ValidationError::BadAnswer)?;
        out.push(decoded).map_err(|_| ValidationError::TooLarge)?;
    }
    Ok(())
}

fn unsigned(value: Value<'_>) -> Result<u64, ValidationError> {
    match value.kind() {
        Kind::Number => {
            crate::http::h1::parse_decimal(value.raw().as_bytes()).ok_or(ValidationError::BadAnswer)
        }
        _ => Err(ValidationError::BadAnswer),
    }
}

/// `aud`: one string or an array of strings, into `list` (empty).
fn read_audiences(
    value: Value<'_>,
    list: &mut WordList<AUDIENCES, AUDIENCE_MAX>,
) -> Result<(), ValidationError> {
    for item in value.one_or_many().ok_or(ValidationError::BadAnswer)? {
        let item: String<AUDIENCE_MAX> = bounded(item)?;
        if item.contains(' ') {
            // No URI has a space; one could smuggle a second audience in.
            return Err(ValidationError::BadAnswer);
        }
        if !list.push(&item) {
            return Err(ValidationError::TooLarge);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    const OIDC_PROVIDER_ANSWER: &[u8] = br#"{"active":true,"client_id":"push-advisor","exp":1723566600,"iat":1723563000,"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","scope":"api:read api:write","token_type":"Bearer","sub":"alice"}"#;

    #[test]
    fn reads_an_oidc_provider_answer() {
        let info = parse_introspection(OIDC_PROVIDER_ANSWER, Some(7)).unwrap();
        assert!(info.active);
        assert_eq!(info.subject(), Some("alice"));
        assert_eq!(info.client_id.as_deref(), Some("push-advisor"));
        assert_eq!(info.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(info.audiences.contains("http://127.0.0.1:8787"));
        assert_eq!(info.audiences.len(), 1);
        assert_eq!(
            (info.exp, info.iat),
            (Some(1_723_566_600), Some(1_723_563_000))
        );
        assert!(info.has_scope("api:read") && info.has_scope("api:write"));
        assert!(!info.has_scope("api"));
        assert_eq!(info.token_type.as_deref(), Some("Bearer"));
        assert_eq!(info.answered_at, Some(7));
    }

    #[test]
    fn audience_may_be_an_array_and_unknown_members_are_skipped() {
        let body = br#"{"extra":{"nested":[1,{"a":"b"}]},"aud":["https://other.example","http://127.0.0.1:8787"],"active":true,"cnf":{"jkt":"x"},"nbf":1}"#;
        let info = parse_introspection(body, None).unwrap();
        assert_eq!(info.audiences.len(), 2);
        assert!(info.audiences.contains("http://127.0.0.1:8787"));
        assert!(info.audiences.contains("https://other.example"));
        assert_eq!(info.subject(), None);
        assert_eq!(info.scopes().count(), 0);
    }

    /// An answer with `scope` of `scope_len` bytes and `audiences` audiences.
    fn answer_of_size(scope_len: usize, audiences: usize) -> std::string::String {
        use std::{format, string::String, vec::Vec};
        let mut scope = String::new();
        while scope.len() < scope_len {
            scope.push_str(if scope.is_empty() { "s" } else { " s" });
        }
        scope.truncate(scope_len);
        let auds: Vec<String> = (0..audiences).map(|i| format!("\"aud-{i}\"")).collect();
        format!(
            r#"{{"active":true,"sub":"alice","scope":"{scope}","aud":[{}]}}"#,
            auds.join(",")
        )
    }

    #[test]
    fn answers_up_to_the_bounds_are_kept_and_beyond_them_are_too_large_not_bad() {
        let fits = answer_of_size(SCOPE_MAX, AUDIENCES);
        let info = parse_introspection(fits.as_bytes(), None).unwrap();
        assert_eq!(
            (info.scope.len(), info.audiences.len()),
            (SCOPE_MAX, AUDIENCES)
        );
        for (scope, audiences) in [(SCOPE_MAX + 1, 1), (8, AUDIENCES + 1)] {
            let beyond = answer_of_size(scope, audiences);
            assert_eq!(
                parse_introspection(beyond.as_bytes(), None),
                Err(ValidationError::TooLarge),
                "scope {scope} B, {audiences} audiences"
            );
        }
        let long_sub = std::format!(
            r#"{{"active":true,"sub":"{}"}}"#,
            "u".repeat(SUBJECT_MAX + 1)
        );
        assert_eq!(
            parse_introspection(long_sub.as_bytes(), None),
            Err(ValidationError::TooLarge)
        );
        assert_eq!(
            parse_introspection(br#"{"active":true,"sub":7}"#, None),
            Err(ValidationError::BadAnswer),
            "a wrong type stays a bad answer"
        );
    }

    /// What Keycloak and big tenants send: many audiences, long scope lists.
    #[cfg(feature = "large-tokens")]
    #[test]
    fn a_host_build_takes_real_provider_sizes() {
        let big = answer_of_size(2000, 16);
        assert!(parse_introspection(big.as_bytes(), None).is_ok());
        let sub = std::format!(r#"{{"active":true,"sub":"{}"}}"#, "u".repeat(255));
        assert!(parse_introspection(sub.as_bytes(), None).is_ok());
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let body = br#"{"active":true,"sub":"al\"ice\u00e9","aud":["a\/b"]}"#;
        let info = parse_introspection(body, None).unwrap();
        assert_eq!(info.subject(), Some("al\"iceé"));
        assert!(info.audiences.contains("a/b"));
    }

    #[test]
    fn null_members_are_absent() {
        let body = br#"{"active":true,"sub":null,"scope":null,"aud":null,"exp":null}"#;
        let info = parse_introspection(body, None).unwrap();
        assert_eq!((info.subject(), info.exp), (None, None));
        assert!(info.audiences.is_empty() && info.scope.is_empty());
    }

    #[test]
    fn inactive_and_garbage() {
        assert_eq!(
            parse_introspection(br#"{"active":false}"#, None),
            Err(ValidationError::Inactive)
        );
        for garbage in [
            &b""[..],
            b"<html>",
            b"{\"active\":\"yes\"}",
            b"{\"sub\":\"x\"}",
            b"{\"active\":true,\"aud\":5}",
            b"{\"active\":true,\"exp\":-1}",
            b"{\"active\":true",
            b"[true]",
            b"{\"active\":null}",
            b"{\"active\":true,\"sub\":\"a\",\"sub\":\"b\"}",
            b"{\"active\":true,\"exp\":1.5}",
            b"{\"active\":true,\"aud\":[\"a\",7]}",
            b"\xff",
        ] {
            assert_eq!(
                parse_introspection(garbage, None),
                Err(ValidationError::BadAnswer),
                "{:?}",
                core::str::from_utf8(garbage)
            );
        }
    }

    struct Repeat(char, usize);

    impl core::fmt::Display for Repeat {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            (0..self.1).try_for_each(|_| core::fmt::Write::write_char(f, self.0))
        }
    }

    #[test]
    fn oversize_values_are_too_large_not_panics() {
        let mut body: heapless::String<8192> = heapless::String::new();
        use core::fmt::Write;
        write!(
            body,
            r#"{{"active":true,"sub":"{}"}}"#,
            Repeat('x', SUBJECT_MAX + 1)
        )
        .unwrap();
        assert_eq!(
            parse_introspection(body.as_bytes(), None),
            Err(ValidationError::TooLarge)
        );
        body.clear();
        write!(
            body,
            r#"{{"active":true,"aud":["{}"]}}"#,
            Repeat('a', AUDIENCE_MAX + 1)
        )
        .unwrap();
        assert_eq!(
            parse_introspection(body.as_bytes(), None),
            Err(ValidationError::TooLarge)
        );
        body.clear();
        // An audience with a space could smuggle a second one in: refused.
        write!(
            body,
            r#"{{"active":true,"aud":["x http://127.0.0.1:8787"]}}"#
        )
        .unwrap();
        assert_eq!(
            parse_introspection(body.as_bytes(), None),
            Err(ValidationError::BadAnswer)
        );
        body.clear();
        // A long member nobody reads is skipped, not stored.
        write!(body, r#"{{"active":true,"junk":"{}"}}"#, Repeat('j', 600)).unwrap();
        assert!(parse_introspection(body.as_bytes(), None).is_ok());
    }
}
