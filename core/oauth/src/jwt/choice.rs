//! Which validator checks a token: local JWT validation, RFC 7662 introspection, or,
//! by default, whichever fits the token.

use super::compact::looks_like_jws;
use crate::discovered::MetadataSource;
use crate::token::{TokenInfo, TokenValidator, ValidationError};

/// How tokens are validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ValidationMode {
    /// A token shaped like a JWS goes to the JWT validator when the provider publishes a
    /// JWKS; other tokens go to introspection when the provider has an endpoint for it.
    #[default]
    Auto,
    /// Every token is checked as a JWT against the JWKS (no introspection, no client
    /// secret needed for it).
    Jwt,
    /// Every token is introspected, as before JWT support.
    Introspection,
}

impl ValidationMode {
    /// `auto`, `jwt` or `introspection`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(ValidationMode::Auto),
            "jwt" => Some(ValidationMode::Jwt),
            "introspection" => Some(ValidationMode::Introspection),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            ValidationMode::Auto => "auto",
            ValidationMode::Jwt => "jwt",
            ValidationMode::Introspection => "introspection",
        }
    }
}

/// Sends each token to the validator `mode` chooses.
pub struct ChosenValidator<'a, J, I> {
    mode: ValidationMode,
    metadata: &'a dyn MetadataSource,
    jwt: J,
    introspection: I,
}

impl<J, I> core::fmt::Debug for ChosenValidator<'_, J, I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChosenValidator")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Where one token goes.
enum Route {
    Jwt,
    Introspection,
    Refuse(ValidationError),
}

impl<'a, J, I> ChosenValidator<'a, J, I> {
    /// `jwt` and `introspection` as `mode` says; `metadata` tells `auto` what the
    /// provider publishes.
    pub fn new(
        mode: ValidationMode,
        metadata: &'a dyn MetadataSource,
        jwt: J,
        introspection: I,
    ) -> Self {
        ChosenValidator {
            mode,
            metadata,
            jwt,
            introspection,
        }
    }

    /// The configured mode.
    pub fn mode(&self) -> ValidationMode {
        self.mode
    }

    /// The JWT validator.
    pub fn jwt(&self) -> &J {
        &self.jwt
    }

    /// The introspection validator.
    pub fn introspection(&self) -> &I {
        &self.introspection
    }

    fn route(&self, token: &str) -> Route {
        match self.mode {
            ValidationMode::Jwt => Route::Jwt,
            ValidationMode::Introspection => Route::Introspection,
            ValidationMode::Auto => {
                // Until discovery succeeds nothing is known: the provider is unavailable.
                let Some(metadata) = self.metadata.metadata() else {
                    return Route::Refuse(ValidationError::Unreachable);
                };
                let jwks = metadata.jwks_uri().is_some();
                if jwks && looks_like_jws(token) {
                    Route::Jwt
                } else if metadata.introspection_endpoint().is_some() {
                    Route::Introspection
                } else if jwks {
                    // A JWT-only provider (Auth0, Entra ID, Cognito): nothing here can
                    // check an opaque token, so it is not good here.
                    Route::Refuse(ValidationError::Malformed)
                } else {
                    Route::Refuse(ValidationError::Misconfigured)
                }
            }
        }
    }
}

impl<J: TokenValidator, I: TokenValidator> TokenValidator for ChosenValidator<'_, J, I> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        match self.route(token) {
            Route::Jwt => self.jwt.validate(token).await,
            Route::Introspection => self.introspection.validate(token).await,
            Route::Refuse(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::testing::{RS256_TOKEN, metadata};
    use crate::testing::FixedValidator;
    use crate::{SharedMetadata, TokenInfo};
    use embassy_futures::block_on;

    /// Which validator answered: the JWT one says "jwt", introspection "opaque".
    fn answered(
        mode: ValidationMode,
        meta: &SharedMetadata,
        token: &str,
    ) -> Result<TokenInfo, ValidationError> {
        let jwt = FixedValidator::new(Ok(TokenInfo::new("jwt", "")));
        let introspection = FixedValidator::new(Ok(TokenInfo::new("opaque", "")));
        block_on(ChosenValidator::new(mode, meta, &jwt, &introspection).validate(token))
    }

    fn who(answer: Result<TokenInfo, ValidationError>) -> Result<&'static str, ValidationError> {
        answer.map(|info| {
            if info.subject() == Some("jwt") {
                "jwt"
            } else {
                "opaque"
            }
        })
    }

    #[test]
    fn auto_sends_jws_shaped_tokens_to_the_jwt_validator() {
        let both = metadata(true, true);
        assert_eq!(
            who(answered(ValidationMode::Auto, &both, RS256_TOKEN)),
            Ok("jwt")
        );
        assert_eq!(
            who(answered(ValidationMode::Auto, &both, "opaque.with.dots")),
            Ok("opaque")
        );
        assert_eq!(
            who(answered(ValidationMode::Auto, &both, "Xy7_opaque")),
            Ok("opaque")
        );
        // No JWKS published: every token is introspected, JWTs too (as before).
        let introspection_only = metadata(false, true);
        assert_eq!(
            who(answered(
                ValidationMode::Auto,
                &introspection_only,
                RS256_TOKEN
            )),
            Ok("opaque")
        );
        // A JWT-only provider: opaque tokens are refused as not good here (401).
        let jwt_only = metadata(true, false);
        assert_eq!(
            who(answered(ValidationMode::Auto, &jwt_only, "opaque")),
            Err(ValidationError::Malformed)
        );
        let neither = metadata(false, false);
        assert_eq!(
            who(answered(ValidationMode::Auto, &neither, "opaque")),
            Err(ValidationError::Misconfigured)
        );
        let undiscovered = SharedMetadata::new();
        assert_eq!(
            who(answered(ValidationMode::Auto, &undiscovered, RS256_TOKEN)),
            Err(ValidationError::Unreachable)
        );
    }

    #[test]
    fn fixed_modes_send_every_token_one_way() {
        let both = metadata(true, true);
        assert_eq!(
            who(answered(ValidationMode::Jwt, &both, "opaque")),
            Ok("jwt")
        );
        assert_eq!(
            who(answered(ValidationMode::Introspection, &both, RS256_TOKEN)),
            Ok("opaque")
        );
        for mode in [
            ValidationMode::Auto,
            ValidationMode::Jwt,
            ValidationMode::Introspection,
        ] {
            assert_eq!(ValidationMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(ValidationMode::from_name("JWT"), None);
    }
}
