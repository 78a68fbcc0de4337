//! JWT access tokens (RFC 9068) through `JwtValidator` with a fixed key set (RS256,
//! ES256, EdDSA keys of the committed test vectors), and the claims reader alone.
//!
//! The first byte picks the mode and the provider profile: bit 0 set = the rest is a
//! claims payload for `read_claims` (so claims parsing is explored even where a
//! signature would fail), clear = the rest is compact JWS text for the validator (whose
//! payload, when it decodes, also goes to `read_claims`); bit 1 `accept_jwt_typ`, bit 2
//! `permissions_as_scopes`, bit 3 Cognito's shape, bit 4 audience checks off.
//!
//! Beyond "no panic": a token the validator accepts has three base64url parts and is
//! one the test keys really signed (the signing input of a test vector, and for RS256
//! and EdDSA, whose signatures are unique, its very signature); the key set is never
//! fetched again; the validator's verdict is `read_claims`' on the decoded payload;
//! and whatever claims are accepted agree with serde_json's reading of the payload
//! (`iss`, `exp`, `iat`, `sub`, `client_id`/`azp`, `aud`, the scopes from
//! `scope`/`scp`/`permissions`).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use embassy_futures::block_on;
use libfuzzer_sys::fuzz_target;
use push_advisor_fuzz::jwt_vectors::*;
use push_advisor_fuzz::support::app::{Mx, leak, provider_buffers};
use push_advisor_fuzz::support::{FixedClock, ReplayConnector};
use push_advisor_oauth::jwt::claims::read_claims;
use push_advisor_oauth::jwt::jwks::{Wanted, parse_jwks};
use push_advisor_oauth::jwt::{JwksPolicy, JwtSettings, JwtValidator, KeyStore};
use push_advisor_oauth::metadata::Member;
use push_advisor_oauth::{
    OAuthConfig, ProviderBuffers, ProviderMetadata, SharedMetadata, TokenInfo, TokenValidator,
};
use serde_json::{Map, Value};

/// The client Cognito's shape allows (the vectors' `client_id`).
const COGNITO_CLIENTS: &[&str] = &["app"];

/// What every input shares, built once: the key store is filled as a fetch would.
struct World {
    /// Audience checks on, then off.
    configs: [OAuthConfig<'static>; 2],
    /// Every profile bits 1 to 3 pick (the validator's parts share one lifetime).
    settings: [JwtSettings<'static>; 8],
    metadata: &'static SharedMetadata,
    connector: &'static ReplayConnector,
    buffers: &'static ProviderBuffers<'static, Mx>,
    clock: FixedClock,
    keys: &'static KeyStore<Mx>,
}

thread_local! {
    static WORLD: &'static World = leak(world());
}

fn world() -> World {
    let config = push_advisor_oauth::testing::config();
    let metadata = leak(SharedMetadata::new());
    let mut known = ProviderMetadata::default();
    known
        .set_url(Member::Issuer, config.issuer)
        .and_then(|()| known.set_url(Member::JwksUri, "http://127.0.0.1:9000/jwks"))
        .expect("fits");
    metadata.set(known);
    let clock = FixedClock {
        unix: Some(NOW),
        monotonic_ms: 1_000,
    };
    let keys: &'static KeyStore<Mx> = leak(KeyStore::new(JwksPolicy::DEFAULT));
    let document = format!(r#"{{"keys":[{RSA_JWK},{RSA2_JWK},{EC_JWK},{ED_JWK}]}}"#);
    let set = parse_jwks(document.as_bytes()).expect("the test keys are usable");
    let slot = block_on(keys.fetch_slot());
    // Recorded as a fetch for an unknown key too, so no `kid` makes the validator fetch.
    assert!(keys.begin_fetch(
        &slot,
        keys.attempts(),
        Wanted::UnknownKey,
        clock.monotonic_ms
    ));
    keys.finish_fetch(
        Some((set, JwksPolicy::DEFAULT.max_lifetime_ms)),
        clock.monotonic_ms,
    );
    drop(slot);
    World {
        configs: [
            config,
            OAuthConfig {
                check_audience: false,
                ..config
            },
        ],
        settings: core::array::from_fn(|bits| JwtSettings {
            accept_jwt_typ: bits & 1 != 0,
            permissions_as_scopes: bits & 2 != 0,
            cognito_client_ids: if bits & 4 != 0 { COGNITO_CLIENTS } else { &[] },
            ..JwtSettings::default()
        }),
        metadata,
        connector: leak(ReplayConnector::new(&[])),
        buffers: provider_buffers(),
        clock,
        keys,
    }
}

/// The tokens the test keys signed: (signing input, signature when it is the only good
/// one). ECDSA signatures are malleable, so for ES256 any good one passes.
fn signed() -> impl Iterator<Item = (&'static str, Option<&'static str>)> {
    [
        (RS256_TOKEN, true),
        (RS256_ROTATED_TOKEN, true),
        (ES256_TOKEN, false),
        (ES256_NO_KID_TOKEN, false),
        (EDDSA_TOKEN, true),
    ]
    .into_iter()
    .map(|(token, unique)| {
        let (input, signature) = token.rsplit_once('.').expect("three parts");
        (input, unique.then_some(signature))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&profile, rest)) = data.split_first() else {
        return;
    };
    let world = WORLD.with(|world| *world);
    let config = &world.configs[usize::from(profile & 16 != 0)];
    let settings = &world.settings[usize::from(profile >> 1 & 7)];
    if profile & 1 != 0 {
        if let Ok(info) = read_claims(rest, config, settings, NOW) {
            agrees_with_serde_json(rest, &info, config, settings);
        }
        return;
    }
    let Ok(token) = core::str::from_utf8(rest) else {
        return;
    };
    let validator = JwtValidator::new(
        config,
        settings,
        world.metadata,
        world.connector,
        world.buffers,
        world.clock,
        world.keys,
    );
    let verdict = block_on(validator.validate(token));
    assert_eq!(
        world.connector.connects(),
        0,
        "the key set was fetched again"
    );
    let parts: Vec<&str> = token.split('.').collect();
    let payload = match parts.as_slice() {
        [_, payload, _] => URL_SAFE_NO_PAD.decode(payload).ok(),
        _ => None,
    };
    // The claims reader on the payload, whether or not the signature is good.
    let claims = payload
        .as_deref()
        .map(|payload| read_claims(payload, config, settings, NOW));
    if let (Some(payload), Some(Ok(info))) = (&payload, &claims) {
        agrees_with_serde_json(payload, info, config, settings);
    }
    let Ok(info) = verdict else {
        return;
    };
    assert_eq!(parts.len(), 3, "accepted without three parts: {token}");
    for part in &parts {
        assert!(
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "accepted a part that is not base64url: {token}"
        );
    }
    let (input, signature) = token.rsplit_once('.').expect("three parts");
    assert!(
        signed()
            .any(|(signed, unique)| signed == input && unique.is_none_or(|good| good == signature)),
        "accepted a token the test keys did not sign: {token}"
    );
    assert_eq!(
        claims,
        Some(Ok(info)),
        "the validator and read_claims disagree"
    );
});

/// Accepted claims against serde_json's reading of the same payload (within serde_json's
/// own limits: it refuses some JSON the scanner reads, such as lone surrogates).
fn agrees_with_serde_json(
    payload: &[u8],
    info: &TokenInfo,
    config: &OAuthConfig<'_>,
    settings: &JwtSettings<'_>,
) {
    assert!(info.active);
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    // A null claim counts as absent.
    let claim = |name: &str| claims.get(name).filter(|value| !value.is_null());
    let text = |name: &str| claim(name).map(|value| value.as_str().expect("a string claim"));
    assert_eq!(info.issuer.as_deref(), text("iss"));
    assert_eq!(text("iss"), Some(config.issuer));
    let exp = info.exp.expect("exp is required");
    assert!(exp > NOW, "expired at {exp}");
    same_date(Some(exp), claim("exp"));
    same_date(info.iat, claim("iat"));
    assert_eq!(info.subject.as_deref(), text("sub"));
    assert_eq!(
        info.client_id.as_deref(),
        text("client_id").or_else(|| text("azp"))
    );
    if settings.cognito_client_ids.is_empty() {
        let named = strings_of(claim("aud"), true);
        for audience in info.audiences.iter() {
            assert!(
                named.contains(&audience),
                "audience {audience:?} not in aud"
            );
        }
        if config.check_audience {
            assert!(
                info.audiences
                    .iter()
                    .any(|audience| config.accepts_audience(audience)),
                "accepted without an audience of ours"
            );
        }
    } else {
        assert_eq!(text("token_use"), Some("access"));
        let client = info.client_id.as_deref().expect("an allowlisted client");
        assert!(settings.cognito_client_ids.contains(&client));
    }
    scopes_agree(&claims, info, config, settings);
}

/// Every scope kept was granted by `scope`, `scp` or (when read) `permissions`, once;
/// every granted scope this resource knows is kept.
fn scopes_agree(
    claims: &Map<String, Value>,
    info: &TokenInfo,
    config: &OAuthConfig<'_>,
    settings: &JwtSettings<'_>,
) {
    let claim = |name: &str| claims.get(name).filter(|value| !value.is_null());
    let mut granted = words_of(claim("scope"), false);
    granted.extend(words_of(claim("scp"), true));
    if settings.permissions_as_scopes {
        granted.extend(words_of(claim("permissions"), true));
    }
    let kept: Vec<&str> = info.scope.split(' ').filter(|s| !s.is_empty()).collect();
    for (index, scope) in kept.iter().enumerate() {
        assert!(granted.contains(scope), "scope {scope:?} was not granted");
        assert!(!kept[..index].contains(scope), "scope {scope:?} kept twice");
    }
    for known in config.scopes_supported {
        if granted.contains(known) {
            assert!(kept.contains(known), "granted scope {known:?} dropped");
        }
    }
}

/// A string claim, or each string of an array claim.
fn strings_of(value: Option<&Value>, may_be_array: bool) -> Vec<&str> {
    match value {
        None => Vec::new(),
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(items)) if may_be_array => items
            .iter()
            .map(|item| item.as_str().expect("an array of strings"))
            .collect(),
        Some(other) => panic!("accepted a scope or audience claim of {other}"),
    }
}

/// The space-separated words of a string claim, or of each string of an array claim.
fn words_of(value: Option<&Value>, may_be_array: bool) -> Vec<&str> {
    strings_of(value, may_be_array)
        .into_iter()
        .flat_map(|text| text.split(' '))
        .filter(|word| !word.is_empty())
        .collect()
}

/// A NumericDate kept as serde_json reads it: whole seconds, a fraction dropped.
fn same_date(kept: Option<u64>, value: Option<&Value>) {
    let Some(value) = value else {
        assert_eq!(kept, None);
        return;
    };
    let kept = kept.expect("a date read");
    if let Some(seconds) = value.as_u64() {
        assert_eq!(kept, seconds);
        return;
    }
    // With a fraction serde_json gives an f64: equal within its precision (a few ulps:
    // the decimal rounded once by serde_json, the kept seconds once here).
    let seconds = value.as_f64().expect("a number");
    assert!(seconds >= 0.0, "a negative NumericDate accepted");
    let (kept, read) = (kept as f64, seconds.trunc());
    assert!(
        (kept - read).abs() <= read * f64::EPSILON * 4.0 + 1.0,
        "date {kept} read as {read}"
    );
}
