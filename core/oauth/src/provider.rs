//! Shared plumbing for calls to the provider: client authentication (RFC 6749 §2.3.1)
//! and mapping transport failures to validation errors.

use core::fmt::{self, Write as _};

use base64::Engine as _;
use heapless::String;

use super::config::{ClientAuth, ClientCredentials};
use super::token::ValidationError;
use crate::http::client::ClientError;
use crate::http::codec::FormEncoded;

/// Longest `Authorization: Basic ...` value.
const BASIC_MAX: usize = 512;
/// Longest `form(id):form(secret)` before base64.
const CREDENTIALS_MAX: usize = BASIC_MAX / 4 * 3 - 8;

/// The `Authorization` header value for `client_secret_basic`; `None` for
/// `client_secret_post`. `Err` when the credentials are too long.
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn basic_authorization(
    client: &ClientCredentials<'_>,
) -> Result<Option<String<BASIC_MAX>>, ValidationError> {
    if client.auth != ClientAuth::ClientSecretBasic {
        return Ok(None);
    }
    let mut plain: String<CREDENTIALS_MAX> = String::new();
    (|| -> fmt::Result {
        FormEncoded(client.client_id.as_bytes()).write_to(&mut plain)?;
        plain.write_str(":")?;
        FormEncoded(client.client_secret.as_bytes()).write_to(&mut plain)
    })()
    .map_err(|_| ValidationError::Misconfigured)?;
    let mut encoded = [0u8; BASIC_MAX];
    let length = base64::engine::general_purpose::STANDARD
        .encode_slice(plain.as_bytes(), &mut encoded)
        .map_err(|_| ValidationError::Misconfigured)?;
    let mut value = String::new();
    value
        .push_str("Basic ")
        .map_err(|_| ValidationError::Misconfigured)?;
    let encoded = encoded
        .get(..length)
        .and_then(|bytes| core::str::from_utf8(bytes).ok())
        .ok_or(ValidationError::Misconfigured)?;
    value
        .push_str(encoded)
        .map_err(|_| ValidationError::Misconfigured)?;
    Ok(Some(value))
}

/// Appends `&client_id=..&client_secret=..` for `client_secret_post`.
pub fn write_post_credentials(
    out: &mut dyn fmt::Write,
    client: &ClientCredentials<'_>,
) -> fmt::Result {
    if client.auth == ClientAuth::ClientSecretPost {
        out.write_str("&client_id=")?;
        FormEncoded(client.client_id.as_bytes()).write_to(out)?;
        out.write_str("&client_secret=")?;
        FormEncoded(client.client_secret.as_bytes()).write_to(out)?;
    }
    Ok(())
}

/// A failed exchange as a validation error: the provider is unavailable, except for
/// requests we could not even form.
pub fn transport_error<E: embedded_io::Error>(error: ClientError<E>) -> ValidationError {
    match error {
        ClientError::Io(error) if error.kind() == embedded_io::ErrorKind::TimedOut => {
            ValidationError::Timeout
        }
        ClientError::Io(_) | ClientError::Truncated => ValidationError::Unreachable,
        ClientError::ResponseTooLarge | ClientError::Malformed => ValidationError::BadAnswer,
        ClientError::RequestTooLarge | ClientError::InvalidRequest => {
            ValidationError::Misconfigured
        }
    }
}

/// A non-200 status as a validation error.
pub fn status_error(status: u16) -> ValidationError {
    if status >= 500 {
        ValidationError::Unreachable
    } else {
        ValidationError::BadAnswer
    }
}
