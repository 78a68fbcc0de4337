//! RFC 6750 §2.1 bearer-token extraction: only from one `Authorization` header,
//! scheme case-insensitive, token68 syntax checked. Tokens in the query string or a
//! form body are refused, never used.

use crate::http::Request;
use crate::http::codec::form_value;

/// Why a request's credentials are malformed (answered 400 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// More than one `Authorization` header.
    RepeatedHeader,
    /// `access_token` in the query string (RFC 6750 §2.3 is not supported: URLs leak).
    TokenInUrl,
    /// `access_token` in a form body (RFC 6750 §2.2 is not supported).
    TokenInBody,
    /// `Bearer` with a missing or syntactically invalid token.
    MalformedToken,
}

impl BearerError {
    /// What the client should change, for the 400 body.
    pub fn message(self) -> &'static str {
        match self {
            BearerError::RepeatedHeader => "Send exactly one Authorization header.",
            BearerError::TokenInUrl => {
                "Access tokens are not accepted in the URL; use the Authorization header."
            }
            BearerError::TokenInBody => {
                "Access tokens are not accepted in the body; use the Authorization header."
            }
            BearerError::MalformedToken => "The Authorization header is not a valid Bearer token.",
        }
    }
}

/// The bearer token of a request: `Ok(None)` when the request carries no bearer
/// credentials at all (no header, or another scheme such as Basic).
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn bearer_token<'r>(request: &Request<'r>) -> Result<Option<&'r str>, BearerError> {
    if request.query_param("access_token").is_some() {
        return Err(BearerError::TokenInUrl);
    }
    let is_form = !request.body.is_empty()
        && request
            .header("content-type")
            .and_then(|value| value.split(|&b| b == b';').next())
            .is_some_and(|media| {
                media
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
            });
    if is_form
        && core::str::from_utf8(request.body)
            .ok()
            .and_then(|body| form_value(body, "access_token"))
            .is_some()
    {
        return Err(BearerError::TokenInBody);
    }
    bearer_from_authorization(request.header_values("authorization"))
}

/// The bearer token in a request's `Authorization` header values, for any HTTP stack:
/// `Ok(None)` when there is none or it uses another scheme (such as Basic). Tokens in
/// the URL or a form body are the caller's to refuse (`bearer_token` does both).
pub fn bearer_from_authorization<'h>(
    values: impl IntoIterator<Item = &'h [u8]>,
) -> Result<Option<&'h str>, BearerError> {
    // One pass over the values: the first, and whether there is a second.
    let mut values = values.into_iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(BearerError::RepeatedHeader);
    }
    let value = core::str::from_utf8(value).map_err(|_| BearerError::MalformedToken)?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    if is_token68(token) {
        Ok(Some(token))
    } else {
        Err(BearerError::MalformedToken)
    }
}

/// RFC 7235 token68: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::testing::with_request;

    fn extract(raw: &str) -> Result<Option<heapless::String<64>>, BearerError> {
        with_request(raw.as_bytes(), |request| {
            bearer_token(request).map(|token| token.map(|t| t.try_into().unwrap()))
        })
    }

    #[test]
    fn finds_the_token_with_any_scheme_case() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let raw = std::format!(
                "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: {scheme} abc.DEF-_~+/9==\r\n\r\n"
            );
            assert_eq!(extract(&raw).unwrap().as_deref(), Some("abc.DEF-_~+/9=="));
        }
    }

    #[test]
    fn absent_or_other_scheme_is_no_token() {
        assert_eq!(extract("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Ok(None));
        assert_eq!(
            extract("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eDp5\r\n\r\n"),
            Ok(None)
        );
        assert_eq!(
            extract("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearerx abc\r\n\r\n"),
            Ok(None)
        );
    }

    #[test]
    fn malformed_and_repeated_are_invalid_requests() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a=b",
            "Bearer ===",
            "Bearer a,b",
            "Bearer \"a\"",
        ] {
            let raw = std::format!("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: {value}\r\n\r\n");
            assert_eq!(extract(&raw), Err(BearerError::MalformedToken), "{value}");
        }
        assert_eq!(
            extract(
                "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n"
            ),
            Err(BearerError::RepeatedHeader)
        );
    }

    #[test]
    fn tokens_in_query_or_form_are_refused() {
        assert_eq!(
            extract("GET /x?a=1&access_token=abc HTTP/1.1\r\nHost: a\r\n\r\n"),
            Err(BearerError::TokenInUrl)
        );
        assert_eq!(
            extract(
                "GET /x?access_token=abc HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer abc\r\n\r\n"
            ),
            Err(BearerError::TokenInUrl)
        );
        assert_eq!(
            extract(
                "POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: 16\r\n\r\naccess_token=abc"
            ),
            Err(BearerError::TokenInBody)
        );
        // A JSON body that merely contains the words is not a form.
        assert_eq!(
            extract(
                "POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\naccess_token=abc"
            ),
            Ok(None)
        );
    }
}
