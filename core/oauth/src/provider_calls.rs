//! Shared plumbing for calls to the provider: client authentication (RFC 6749 §2.3.1)
//! and mapping transport failures to validation errors.

use core::fmt::{self, Write as _};

use super::config::{ClientAuth, ClientCredentials};
use super::token::ValidationError;
use crate::http::client::ClientError;
use crate::http::codec::{ByteCount, FormEncoded};

/// Longest `Authorization: Basic ...` value.
const BASIC_MAX: usize = 512;

/// Whether `client` authenticates with HTTP Basic (`client_secret_basic`); `Err` when
/// its credentials would make the header longer than `BASIC_MAX`.
pub fn uses_basic(client: &ClientCredentials<'_>) -> Result<bool, ValidationError> {
    if client.auth != ClientAuth::ClientSecretBasic {
        return Ok(false);
    }
    let mut length = ByteCount::default();
    let _ = write_basic_authorization(&mut length, client);
    if length.0 > BASIC_MAX {
        return Err(ValidationError::Misconfigured);
    }
    Ok(true)
}

/// Writes the `Authorization` value for `client_secret_basic`: `Basic ` and the
/// base64 of `form(id):form(secret)` (RFC 6749 §2.3.1), streamed: no buffer holds the
/// credentials.
pub fn write_basic_authorization(
    out: &mut dyn push_advisor_http::codec::TextSink,
    client: &ClientCredentials<'_>,
) -> fmt::Result {
    out.write_str("Basic ")?;
    let mut encoder = Base64Writer {
        out,
        pending: [0; 3],
        held: 0,
    };
    FormEncoded(client.client_id.as_bytes()).write_to(&mut encoder)?;
    encoder.write_str(":")?;
    FormEncoded(client.client_secret.as_bytes()).write_to(&mut encoder)?;
    encoder.finish()
}

/// Standard padded base64 (RFC 4648 §4) of what is written to it, into `out`: a few
/// instructions here instead of a general engine on the device.
struct Base64Writer<'o> {
    out: &'o mut dyn push_advisor_http::codec::TextSink,
    pending: [u8; 3],
    held: usize,
}

impl Base64Writer<'_> {
    /// Writes the group held so far (`held` bytes, then `=` padding).
    fn flush_group(&mut self) -> fmt::Result {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let [a, b, c] = self.pending;
        let bits = u32::from_be_bytes([0, a, b, c]);
        for index in 0..4 {
            let symbol = if index <= self.held {
                let sextet = (bits >> (18 - 6 * index)) & 0x3f;
                ALPHABET
                    .get(sextet as usize)
                    .map_or('=', |&byte| char::from(byte))
            } else {
                '='
            };
            self.out.write_char(symbol)?;
        }
        self.pending = [0; 3];
        self.held = 0;
        Ok(())
    }

    /// Writes the last, partial group with its padding.
    fn finish(mut self) -> fmt::Result {
        if self.held > 0 {
            self.flush_group()?;
        }
        Ok(())
    }
}

impl fmt::Write for Base64Writer<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if let Some(slot) = self.pending.get_mut(self.held) {
                *slot = byte;
            }
            self.held += 1;
            if self.held == 3 {
                self.flush_group()?;
            }
        }
        Ok(())
    }
}

/// Appends `&client_id=..&client_secret=..` for `client_secret_post`.
pub fn write_post_credentials(
    out: &mut dyn push_advisor_http::codec::TextSink,
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

    /// The small encoder writes what the base64 crate writes, for every padding case
    /// and however the text arrives.
    #[test]
    fn base64_matches_the_reference_engine() {
        let text: std::string::String = (0..200u8).map(|b| char::from(b % 95 + 32)).collect();
        for length in 0..40 {
            for start in [0, 7, 100] {
                let input = &text[start..start + length];
                let mut ours = std::string::String::new();
                let mut encoder = Base64Writer {
                    out: &mut ours,
                    pending: [0; 3],
                    held: 0,
                };
                for piece in input.as_bytes().chunks(2) {
                    let piece = core::str::from_utf8(piece).unwrap();
                    fmt::Write::write_str(&mut encoder, piece).unwrap();
                }
                encoder.finish().unwrap();
                let mut reference = [0u8; 64];
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(input, &mut reference)
                    .unwrap();
                assert_eq!(ours.as_bytes(), &reference[..written], "{input:?}");
            }
        }
    }

    /// RFC 6749 §2.3.1: id and secret are form-encoded before base64.
    #[test]
    fn basic_credentials_are_form_encoded_then_base64() {
        let client = ClientCredentials {
            client_id: "my app",
            client_secret: "p@ss:wörd",
            auth: ClientAuth::ClientSecretBasic,
        };
        let mut value = std::string::String::new();
        write_basic_authorization(&mut value, &client).unwrap();
        let mut reference = [0u8; 64];
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice("my+app:p%40ss%3Aw%C3%B6rd", &mut reference)
            .unwrap();
        assert_eq!(
            value.strip_prefix("Basic ").unwrap().as_bytes(),
            &reference[..written]
        );
        assert_eq!(uses_basic(&client), Ok(true));
        let long = "x".repeat(400);
        let too_long = ClientCredentials {
            client_secret: &long,
            ..client
        };
        assert_eq!(uses_basic(&too_long), Err(ValidationError::Misconfigured));
        let post = ClientCredentials {
            auth: ClientAuth::ClientSecretPost,
            ..client
        };
        assert_eq!(uses_basic(&post), Ok(false));
    }
}
