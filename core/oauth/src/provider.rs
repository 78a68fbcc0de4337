//! Shared plumbing for calls to the provider: client authentication (RFC 6749 §2.3.1)
//! and mapping transport failures to validation errors.

use core::fmt::{self, Write as _};

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
    let mut value = String::new();
    value
        .push_str("Basic ")
        .map_err(|_| ValidationError::Misconfigured)?;
    write_base64(&mut value, plain.as_bytes()).map_err(|_| ValidationError::Misconfigured)?;
    Ok(Some(value))
}

/// Writes `bytes` in standard padded base64 (RFC 4648 §4): a few instructions here
/// instead of a general engine on the device.
fn write_base64(out: &mut dyn fmt::Write, bytes: &[u8]) -> fmt::Result {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        for (slot, byte) in group.iter_mut().zip(chunk) {
            *slot = *byte;
        }
        let bits = u32::from_be_bytes([0, group[0], group[1], group[2]]);
        for index in 0..4 {
            let symbol = if index <= chunk.len() {
                let sextet = (bits >> (18 - 6 * index)) & 0x3f;
                char::from(ALPHABET[sextet as usize])
            } else {
                '='
            };
            out.write_char(symbol)?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    extern crate std;

    use base64::Engine as _;

    use super::*;

    /// The small encoder writes what the base64 crate writes, for every padding case.
    #[test]
    fn base64_matches_the_reference_engine() {
        let bytes: std::vec::Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
        for length in 0..40 {
            for start in [0, 7, 200] {
                let input = &bytes[start..start + length];
                let mut ours = std::string::String::new();
                write_base64(&mut ours, input).unwrap();
                let mut reference = [0u8; 64];
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(input, &mut reference)
                    .unwrap();
                assert_eq!(ours.as_bytes(), &reference[..written], "{input:?}");
            }
        }
    }
}
