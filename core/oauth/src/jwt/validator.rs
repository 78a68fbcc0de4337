//! The JWT validator: a [`TokenValidator`] that checks RFC 9068 access tokens locally
//! against the provider's JWKS (fetched from the discovered `jwks_uri` through the same
//! connector and buffers as other provider calls) and gives the same [`TokenInfo`] as
//! introspection.

use embassy_sync::blocking_mutex::raw::RawMutex;

use super::claims::{JwtSettings, read_claims};
use super::compact::{
    HEADER_MAX, Header, PAYLOAD_MAX, Parts, SIGNATURE_MAX, decode, read_header, split,
};
use super::jwks::{KEYS, KeySet, KeyStore, Wanted, parse_jwks};
use super::signature;
use crate::buffers::ProviderBuffers;
use crate::config::OAuthConfig;
use crate::discovered::MetadataSource;
use crate::http::client::{Outgoing, exchange};
use crate::http::net::{Connect, Endpoint};
use crate::http::time::Clock;
use crate::token::{TokenInfo, TokenValidator, ValidationError};

/// Checks JWT access tokens with the provider's keys. Refusals are the token's fault
/// (`Inactive` or `Malformed`: 401), except: no key set yet (the JWKS could not be
/// fetched) and no wall time yet (a device that has not learned the time cannot check
/// `exp`) are `Unreachable` (503 with `Retry-After`), and metadata without a
/// `jwks_uri` is `Misconfigured` (503).
pub struct JwtValidator<'a, M: RawMutex, C, K, const N: usize = KEYS> {
    config: &'a OAuthConfig<'a>,
    settings: &'a JwtSettings<'a>,
    metadata: &'a dyn MetadataSource,
    connect: &'a C,
    buffers: &'a ProviderBuffers<'a, M>,
    clock: K,
    keys: &'a KeyStore<M, N>,
}

impl<M: RawMutex, C, K, const N: usize> core::fmt::Debug for JwtValidator<'_, M, C, K, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JwtValidator")
            .field("settings", self.settings)
            .field("keys", self.keys)
            .finish_non_exhaustive()
    }
}

/// What one look at the held keys found.
#[allow(clippy::large_enum_variant)] // returned once, never stored
enum Checked {
    /// A verdict on the token.
    Done(Result<TokenInfo, ValidationError>),
    /// No key set is held.
    NoKeys,
    /// The set has no key for the token's `kid` and `alg`.
    UnknownKey,
}

impl<'a, M: RawMutex, C: Connect, K: Clock, const N: usize> JwtValidator<'a, M, C, K, N> {
    /// Checks tokens for `config`'s issuer and audience, read as `settings` says, with
    /// keys from `metadata`'s `jwks_uri` kept in `keys`.
    pub fn new(
        config: &'a OAuthConfig<'a>,
        settings: &'a JwtSettings<'a>,
        metadata: &'a dyn MetadataSource,
        connect: &'a C,
        buffers: &'a ProviderBuffers<'a, M>,
        clock: K,
        keys: &'a KeyStore<M, N>,
    ) -> Self {
        JwtValidator {
            config,
            settings,
            metadata,
            connect,
            buffers,
            clock,
            keys,
        }
    }

    /// The key store it uses.
    pub fn keys(&self) -> &'a KeyStore<M, N> {
        self.keys
    }

    /// Fetches the key set once (or waits for a fetch in flight and uses it).
    async fn fetch_keys(&self, why: Wanted) {
        let Some(url) = self.metadata.metadata().and_then(|m| m.jwks_uri()) else {
            return;
        };
        let Some(endpoint) = Endpoint::parse(url) else {
            return;
        };
        let seen = self.keys.attempts();
        let slot = self.keys.fetch_slot().await;
        if !self
            .keys
            .begin_fetch(&slot, seen, why, self.clock.monotonic_ms())
        {
            return;
        }
        let Some(mut buffer) = self.buffers.borrow().await else {
            return;
        };
        let Ok(mut conn) = self.connect.connect(&endpoint).await else {
            return;
        };
        let request = Outgoing::get(&endpoint, true);
        if let Ok(response) = exchange(&mut conn, &request, &mut buffer).await {
            if response.status == 200 {
                let lifetime = self
                    .keys
                    .policy()
                    .lifetime_ms(response.header("cache-control"));
                self.keep(response.body, lifetime);
            }
        }
    }

    /// Keeps the set a JWKS answer holds, if it has a usable key.
    #[inline(never)] // the set is built here, not in the validation's future
    fn keep(&self, body: &[u8], lifetime_ms: u64) {
        let set: Option<KeySet<N>> = parse_jwks(body).ok();
        self.keys
            .finish_fetch(set.map(|set| (set, lifetime_ms)), self.clock.monotonic_ms());
    }

    /// Verifies the signature with the held keys and reads the claims.
    #[inline(never)] // the decode buffers live in this call, not in the future
    fn check(&self, parts: &Parts<'_>, header: &Header, now: u64) -> Checked {
        let mut signature_buf = [0u8; SIGNATURE_MAX];
        let Some(signature) = decode(parts.signature, &mut signature_buf) else {
            return Checked::Done(Err(ValidationError::Malformed));
        };
        let kid = header.kid.as_deref();
        let mut verified = false;
        let mut candidates = 0;
        loop {
            // One candidate copied out at a time, so the lock is not held while verifying.
            let candidate = self.keys.with_set(|set| {
                set.map(|set| set.candidates(kid, header.alg).nth(candidates).cloned())
            });
            let key = match candidate {
                None => return Checked::NoKeys,
                Some(None) => break,
                Some(Some(key)) => key,
            };
            candidates += 1;
            let good = key.verifying_key().is_some_and(|key| {
                signature::verify(header.alg, &key, parts.signing_input.as_bytes(), signature)
                    .is_ok()
            });
            if good {
                verified = true;
                break;
            }
        }
        if candidates == 0 {
            return Checked::UnknownKey;
        }
        if !verified {
            return Checked::Done(Err(ValidationError::Inactive));
        }
        let mut payload_buf = [0u8; PAYLOAD_MAX];
        let Some(payload) = decode(parts.payload, &mut payload_buf) else {
            return Checked::Done(Err(ValidationError::Malformed));
        };
        Checked::Done(read_claims(payload, self.config, self.settings, now))
    }

    /// Why no key set is held: no `jwks_uri` in known metadata is a misconfiguration,
    /// otherwise the provider is unreachable.
    fn no_keys(&self) -> ValidationError {
        match self.metadata.metadata() {
            Some(metadata) if metadata.jwks_uri().is_none() => ValidationError::Misconfigured,
            _ => ValidationError::Unreachable,
        }
    }
}

/// Splits and reads the header (`Malformed` when either fails).
#[inline(never)]
fn header_of<'t>(
    token: &'t str,
    accept_jwt_typ: bool,
) -> Result<(Parts<'t>, Header), ValidationError> {
    let parts = split(token).ok_or(ValidationError::Malformed)?;
    let mut buf = [0u8; HEADER_MAX];
    let header = decode(parts.header, &mut buf).ok_or(ValidationError::Malformed)?;
    Ok((parts, read_header(header, accept_jwt_typ)?))
}

impl<M: RawMutex, C: Connect, K: Clock, const N: usize> TokenValidator
    for JwtValidator<'_, M, C, K, N>
{
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        if token.is_empty() || token.len() > self.config.max_token_len {
            return Err(ValidationError::Malformed);
        }
        let (parts, header) = header_of(token, self.settings.accept_jwt_typ)?;
        // Without wall time `exp` cannot be checked: unavailable, not the token's fault.
        let now = self
            .clock
            .unix_seconds()
            .ok_or(ValidationError::Unreachable)?;
        let mut fetched = false;
        loop {
            let now_ms = self.clock.monotonic_ms();
            if !fetched {
                if let Some(why) = self.keys.wanted(now_ms) {
                    if self.keys.should_fetch(why, now_ms) {
                        self.fetch_keys(why).await;
                        fetched = true;
                        continue;
                    }
                }
            }
            match self.check(&parts, &header, now) {
                Checked::Done(verdict) => return verdict,
                Checked::NoKeys => return Err(self.no_keys()),
                Checked::UnknownKey => {
                    // A new key at the provider (rotation): look again, at most once per
                    // interval, however many tokens name unknown keys.
                    if !fetched && self.keys.should_fetch(Wanted::UnknownKey, now_ms) {
                        self.fetch_keys(Wanted::UnknownKey).await;
                        fetched = true;
                        continue;
                    }
                    return Err(ValidationError::Inactive);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::jwt::JwksPolicy;
    use crate::jwt::testing::*;
    use crate::testing::{FakeClock, FakeConnector, Script};
    use crate::{Guard, RejectionKind, SharedMetadata};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use embassy_futures::block_on;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;
    use std::string::String as StdString;
    use std::{format, vec};

    fn jwks_reply(keys: &[&str], cache_control: &str) -> std::vec::Vec<u8> {
        let body = format!(r#"{{"keys":[{}]}}"#, keys.join(","));
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{cache_control}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn all_keys() -> Script {
        Script::Replies(vec![jwks_reply(&[RSA_JWK, EC_JWK, ED_JWK], "")])
    }

    struct World {
        config: OAuthConfig<'static>,
        settings: JwtSettings<'static>,
        metadata: SharedMetadata,
        connector: FakeConnector,
        clock: FakeClock,
        keys: KeyStore<NoopRawMutex>,
    }

    impl World {
        fn new(scripts: std::vec::Vec<Script>) -> World {
            World {
                config: crate::testing::config(),
                settings: JwtSettings::default(),
                metadata: metadata(true, false),
                connector: FakeConnector::new(scripts),
                clock: FakeClock::at(Some(NOW)),
                keys: KeyStore::new(JwksPolicy::default()),
            }
        }

        /// Leaked, as a server's parts live for the whole program (tests only).
        fn leak(self) -> &'static World {
            std::boxed::Box::leak(std::boxed::Box::new(self))
        }

        fn validator(
            &'static self,
        ) -> JwtValidator<'static, NoopRawMutex, FakeConnector, &'static FakeClock> {
            JwtValidator::new(
                &self.config,
                &self.settings,
                &self.metadata,
                &self.connector,
                buffers_noop(),
                &self.clock,
                &self.keys,
            )
        }

        fn check(&'static self, token: &str) -> Result<TokenInfo, ValidationError> {
            block_on(self.validator().validate(token))
        }
    }

    fn buffers_noop() -> &'static ProviderBuffers<'static, NoopRawMutex> {
        let memory = std::boxed::Box::leak(std::boxed::Box::new([[0u8; 8192]; 1]));
        let slots = std::boxed::Box::leak(std::boxed::Box::new(ProviderBuffers::slots(memory)));
        std::boxed::Box::leak(std::boxed::Box::new(ProviderBuffers::new(slots)))
    }

    fn b64(bytes: &[u8]) -> StdString {
        let mut out = vec![0u8; bytes.len() * 2 + 4];
        let written = URL_SAFE_NO_PAD.encode_slice(bytes, &mut out).unwrap();
        StdString::from_utf8(out[..written].to_vec()).unwrap()
    }

    /// `token` with its header replaced (payload and signature kept).
    fn with_header(token: &str, header: &str) -> StdString {
        let rest = token.split_once('.').unwrap().1;
        format!("{}.{rest}", b64(header.as_bytes()))
    }

    #[test]
    fn good_tokens_of_each_algorithm_pass_with_one_fetch() {
        let world = World::new(vec![all_keys()]).leak();
        let mut tokens = vec![RS256_TOKEN, ES256_TOKEN, ES256_NO_KID_TOKEN];
        if cfg!(feature = "jwt-eddsa") {
            tokens.push(EDDSA_TOKEN);
        }
        for token in tokens {
            let info = world.check(token).unwrap();
            assert_eq!(info.subject(), Some("alice"));
            assert!(info.has_scope("api:read"));
            assert_eq!(info.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        }
        assert_eq!(world.connector.connects.get(), 1);
        assert!(
            world
                .connector
                .sent_text(0)
                .starts_with("GET /jwks HTTP/1.1\r\n")
        );
    }

    #[test]
    fn forged_and_tampered_tokens_are_invalid() {
        let world = World::new(vec![all_keys()]).leak();
        assert_eq!(
            world.check(RS256_IMPOSTOR_TOKEN),
            Err(ValidationError::Inactive)
        );
        // The payload swapped for one granting more, signature kept.
        let (header, rest) = RS256_TOKEN.split_once('.').unwrap();
        let signature = rest.split_once('.').unwrap().1;
        let claims = format!(
            r#"{{"iss":"http://127.0.0.1:9000","aud":"http://127.0.0.1:8787","exp":{},"sub":"alice","scope":"api:read api:write"}}"#,
            NOW + 3600
        );
        let tampered = format!("{header}.{}.{signature}", b64(claims.as_bytes()));
        assert_eq!(world.check(&tampered), Err(ValidationError::Inactive));
        // A signature one bit off.
        let mut flipped = StdString::from(RS256_TOKEN);
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'Q' } else { 'A' });
        assert!(world.check(&flipped).is_err());
        // An ES256 signature presented as RS256 for the EC key.
        let confused = with_header(
            ES256_TOKEN,
            r#"{"alg":"RS256","typ":"at+jwt","kid":"ec-1"}"#,
        );
        assert_eq!(world.check(&confused), Err(ValidationError::Inactive));
    }

    #[test]
    fn unsafe_headers_are_refused_before_any_fetch() {
        let world = World::new(vec![all_keys()]).leak();
        let (_, rest) = RS256_TOKEN.split_once('.').unwrap();
        let payload = rest.split_once('.').unwrap().0;
        for header in [
            r#"{"alg":"none","typ":"at+jwt"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"rsa-1"}"#,
            r#"{"alg":"RS256","typ":"at+jwt","kid":"rsa-1","crit":["x"],"x":1}"#,
            r#"{"alg":"RS256","typ":"JWT","kid":"rsa-1"}"#,
        ] {
            let token = with_header(RS256_TOKEN, header);
            assert_eq!(
                world.check(&token),
                Err(ValidationError::Malformed),
                "{header}"
            );
        }
        // Unsecured JWS: empty signature.
        let none = format!("{}.{payload}.", b64(br#"{"alg":"none"}"#));
        assert_eq!(world.check(&none), Err(ValidationError::Malformed));
        assert_eq!(world.check(""), Err(ValidationError::Malformed));
        assert_eq!(
            world.check(&"a".repeat(5000)),
            Err(ValidationError::Malformed)
        );
        assert_eq!(world.connector.connects.get(), 0);
    }

    #[test]
    fn claims_are_checked_after_the_signature() {
        let world = World::new(vec![all_keys()]).leak();
        world.clock.advance_ms(3_600_000);
        assert_eq!(
            world.check(RS256_TOKEN),
            Err(ValidationError::Inactive),
            "expired"
        );
        type Change = fn(&mut OAuthConfig<'static>);
        let configs: [(&str, Change); 2] = [
            ("wrong audience", |config| {
                config.resource = "https://elsewhere.example"
            }),
            ("wrong issuer", |config| {
                config.issuer = "http://127.0.0.1:9000/"
            }),
        ];
        for (why, change) in configs {
            let mut other = World::new(vec![all_keys()]);
            change(&mut other.config);
            let other = other.leak();
            assert_eq!(
                other.check(ES256_TOKEN),
                Err(ValidationError::Inactive),
                "{why}"
            );
        }
    }

    #[test]
    fn without_wall_time_it_is_unavailable_not_invalid() {
        let mut world = World::new(vec![all_keys()]);
        world.clock = FakeClock::at(None);
        let world = world.leak();
        assert_eq!(world.check(RS256_TOKEN), Err(ValidationError::Unreachable));
    }

    #[test]
    fn a_rotated_key_is_fetched_once_and_unknown_kids_do_not_hammer() {
        let world = World::new(vec![
            Script::Replies(vec![jwks_reply(&[RSA_JWK], "")]),
            Script::Replies(vec![jwks_reply(&[RSA_JWK, RSA2_JWK], "")]),
        ])
        .leak();
        world.check(RS256_TOKEN).unwrap();
        world.check(RS256_ROTATED_TOKEN).unwrap();
        assert_eq!(world.connector.connects.get(), 2);
        for kid in 0..100 {
            let header = format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"random-{kid}"}}"#);
            let token = with_header(RS256_TOKEN, &header);
            assert_eq!(world.check(&token), Err(ValidationError::Inactive));
        }
        assert_eq!(
            world.connector.connects.get(),
            2,
            "within 30 s of the last fetch"
        );
    }

    #[test]
    fn no_key_set_is_unavailable_until_the_jwks_answers() {
        let world = World::new(vec![
            Script::Refused,
            Script::Replies(vec![
                b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".to_vec(),
            ]),
            all_keys(),
        ])
        .leak();
        assert_eq!(world.check(RS256_TOKEN), Err(ValidationError::Unreachable));
        // Within the retry interval: no new fetch.
        assert_eq!(world.check(RS256_TOKEN), Err(ValidationError::Unreachable));
        assert_eq!(world.connector.connects.get(), 1);
        world.clock.advance_ms(5_000);
        assert_eq!(world.check(RS256_TOKEN), Err(ValidationError::Unreachable));
        world.clock.advance_ms(5_000);
        assert!(world.check(RS256_TOKEN).is_ok());
        assert_eq!(world.connector.connects.get(), 3);
    }

    #[test]
    fn the_last_good_set_outlives_an_outage_and_max_age_is_kept() {
        let world = World::new(vec![
            Script::Replies(vec![jwks_reply(
                &[RSA_JWK],
                "Cache-Control: public, max-age=900\r\n",
            )]),
            Script::Refused,
        ])
        .leak();
        world.check(RS256_TOKEN).unwrap();
        world.clock.advance_ms(899_000);
        world.check(RS256_TOKEN).unwrap();
        assert_eq!(world.connector.connects.get(), 1, "fresh for max-age");
        world.clock.advance_ms(1_000);
        world.check(RS256_TOKEN).unwrap();
        assert_eq!(
            world.connector.connects.get(),
            2,
            "stale: refetched, failed, old set used"
        );
    }

    #[test]
    fn metadata_without_a_jwks_uri_is_misconfigured() {
        let mut world = World::new(vec![all_keys()]);
        world.metadata = metadata(false, false);
        let world = world.leak();
        assert_eq!(
            world.check(RS256_TOKEN),
            Err(ValidationError::Misconfigured)
        );
        let mut world = World::new(vec![all_keys()]);
        world.metadata = SharedMetadata::new();
        let world = world.leak();
        assert_eq!(world.check(RS256_TOKEN), Err(ValidationError::Unreachable));
    }

    #[test]
    fn the_guard_applies_the_same_policy_and_challenges() {
        let world = World::new(vec![all_keys()]).leak();
        let validator = world.validator();
        let guard = Guard::new(&world.config, &validator, &world.clock);
        let bearer = format!("Bearer {RS256_TOKEN}");
        let grant = block_on(guard.check_authorization([bearer.as_bytes()], "api:read")).unwrap();
        assert_eq!(grant.principal.as_deref(), Some("alice"));
        let refused =
            block_on(guard.check_authorization([bearer.as_bytes()], "api:write")).unwrap_err();
        assert_eq!(refused.kind, RejectionKind::InsufficientScope);
        let (mut header, mut body) = ([0u8; 512], [0u8; 256]);
        let answer = refused.render(&mut header, &mut body).unwrap();
        assert_eq!(answer.status, 403);
        assert!(
            answer
                .header_value
                .contains(r#"scope="api:read api:write""#),
            "{}",
            answer.header_value
        );
    }
}
