//! The introspection-answer reader (RFC 7662) on any body: it never accepts an inactive
//! token, it refuses only as bad, inactive or too large (beyond this build's bounds), what
//! it keeps is what serde_json reads in the same body, and an accepted answer was one JSON
//! object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use push_advisor_oauth::ValidationError;
use push_advisor_oauth::token::parse_introspection;

fuzz_target!(|body: &[u8]| {
    match parse_introspection(body, Some(1_795_435_200)) {
        Ok(info) => {
            assert!(info.active);
            assert_eq!(info.answered_at, Some(1_795_435_200));
            for scope in info.scopes() {
                assert!(!scope.is_empty() && info.has_scope(scope));
            }
            // Within serde_json's own limits, the reference reader agrees on the facts.
            if let Ok(serde_json::Value::Object(answer)) = serde_json::from_slice(body) {
                assert_eq!(answer.get("active"), Some(&serde_json::Value::Bool(true)));
                let text = |name: &str| answer.get(name).and_then(serde_json::Value::as_str);
                assert_eq!(info.subject.as_deref(), text("sub"));
                assert_eq!(info.client_id.as_deref(), text("client_id"));
                assert_eq!(info.issuer.as_deref(), text("iss"));
                assert_eq!(info.scope.as_str(), text("scope").unwrap_or(""));
                if let Some(exp) = answer.get("exp").and_then(serde_json::Value::as_u64) {
                    assert_eq!(info.exp, Some(exp));
                }
            }
        }
        Err(error) => assert!(
            matches!(
                error,
                ValidationError::BadAnswer | ValidationError::Inactive | ValidationError::TooLarge
            ),
            "{error:?}"
        ),
    }
});
