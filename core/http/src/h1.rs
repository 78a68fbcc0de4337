//! The HTTP/1.1 message rules, in one place for both directions: how the body of a
//! request (server side) and of a response (client side) is delimited (RFC 9112 §6.3),
//! whether a connection persists, which statuses may carry a body, and the numbers of
//! the framing.
//!
//! Everything here reads untrusted bytes: nothing panics, allocates or waits; slices
//! are reached with `get`, and sums that a peer chooses are checked.

use crate::codec::{eq_ignore_case, header_list};
use crate::method::Method;
use crate::request::RequestError;

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// Exactly this many bytes (`0`: no body).
    Known(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes (responses only; a request never is).
    UntilClose,
}

/// What a request's header section says about its body and its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFraming {
    pub body: BodyLength,
    /// The connection stays open after the answer.
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before it sends the body.
    pub expects_continue: bool,
}

/// What a response's header section says about its body and its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFraming {
    pub body: BodyLength,
    /// The server did not ask to close the connection.
    pub persistent: bool,
}

/// Whether a response with this status may have content: not 1xx, 204 or 304
/// (RFC 9110 §15; an answer to HEAD has none either, whatever its status).
pub fn can_have_body(status: u16) -> bool {
    !is_interim(status) && status != 204 && status != 304
}

/// Whether a response with this status may carry `Content-Length`: not 1xx or 204
/// (RFC 9110 §8.6; a 304 may, naming the length it would have had).
pub fn can_have_content_length(status: u16) -> bool {
    !is_interim(status) && status != 204
}

/// Whether a status is an interim answer (1xx) that precedes the final one.
pub fn is_interim(status: u16) -> bool {
    (100..200).contains(&status)
}

/// Whether a request with this method must say how long its body is: the server refuses
/// one without `Content-Length` or chunked coding with 411 rather than read it as empty.
pub fn length_required(method: Method) -> bool {
    matches!(method, Method::Post | Method::Put | Method::Patch)
}

/// Reads the framing of a request head (RFC 9112 §3.2, §6.3, §9.3; RFC 9110 §10.1.1).
pub fn request_framing(
    headers: &[httparse::Header<'_>],
    method: Method,
    minor_version: u8,
) -> Result<RequestFraming, RequestError> {
    let fields = FramingFields::read(headers).ok_or(RequestError::Malformed)?;
    // Exactly one Host in HTTP/1.1; an expectation other than 100-continue is refused.
    if fields.hosts > 1 || (minor_version == 1 && fields.hosts == 0) || fields.unknown_expectation {
        return Err(RequestError::Malformed);
    }
    let body = match (fields.coding, fields.content_length) {
        (Coding::Absent, Some(length)) => known_length(length),
        (Coding::Absent, None) if length_required(method) => {
            return Err(RequestError::LengthRequired);
        }
        (Coding::Absent, None) => BodyLength::Known(0),
        // Both lengths at once is how requests are smuggled; HTTP/1.0 has no chunked.
        (_, Some(_)) => return Err(RequestError::Malformed),
        _ if minor_version == 0 => return Err(RequestError::Malformed),
        (Coding::Chunked, None) => BodyLength::Chunked,
        (Coding::Other, None) => return Err(RequestError::UnsupportedTransferCoding),
    };
    Ok(RequestFraming {
        body,
        keep_alive: fields.persistent(minor_version),
        expects_continue: fields.expects_continue,
    })
}

/// Reads the framing of a response head (RFC 9112 §6.3); `None` when it is malformed or
/// uses a coding the client cannot undo (it never asks for one).
pub fn response_framing(
    headers: &[httparse::Header<'_>],
    status: u16,
    minor_version: u8,
    answers_head: bool,
) -> Option<ResponseFraming> {
    let fields = FramingFields::read(headers)?;
    let body = if answers_head || !can_have_body(status) {
        BodyLength::Known(0)
    } else {
        // A response's Transfer-Encoding overrides its Content-Length.
        match (fields.coding, fields.content_length) {
            (Coding::Chunked, _) => BodyLength::Chunked,
            (Coding::Other, _) => return None,
            (Coding::Absent, Some(length)) => known_length(length),
            (Coding::Absent, None) => BodyLength::UntilClose,
        }
    };
    Some(ResponseFraming {
        body,
        persistent: fields.persistent(minor_version),
    })
}

/// A `Content-Length` this machine cannot address becomes the largest it can, which
/// every bound then refuses as too large.
fn known_length(length: u64) -> BodyLength {
    BodyLength::Known(usize::try_from(length).unwrap_or(usize::MAX))
}

/// The transfer codings a message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Coding {
    #[default]
    Absent,
    /// `chunked` alone, once.
    Chunked,
    /// Anything else: another coding, `chunked` twice, or an empty field.
    Other,
}

/// The header fields that decide framing and persistence, read in one pass.
#[derive(Debug, Default)]
struct FramingFields {
    content_length: Option<u64>,
    coding: Coding,
    close: bool,
    keep_alive: bool,
    hosts: usize,
    expects_continue: bool,
    unknown_expectation: bool,
}

impl FramingFields {
    /// `None` when `Content-Length` is not a number or names two different ones.
    fn read(headers: &[httparse::Header<'_>]) -> Option<FramingFields> {
        let mut fields = FramingFields::default();
        for header in headers {
            let (name, value) = (header.name, header.value);
            if name.eq_ignore_ascii_case("content-length") {
                // `Content-Length: 5, 5` is one length sent twice (RFC 9110 §8.6).
                for item in value.split(|&b| b == b',') {
                    let length = parse_decimal(item.trim_ascii())?;
                    if fields.content_length.is_some_and(|seen| seen != length) {
                        return None;
                    }
                    fields.content_length = Some(length);
                }
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                let mut codings = header_list(value).peekable();
                if codings.peek().is_none() {
                    fields.coding = Coding::Other;
                }
                for coding in codings {
                    fields.coding = match fields.coding {
                        Coding::Absent if eq_ignore_case(coding, "chunked") => Coding::Chunked,
                        _ => Coding::Other,
                    };
                }
            } else if name.eq_ignore_ascii_case("connection") {
                for option in header_list(value) {
                    fields.close |= eq_ignore_case(option, "close");
                    fields.keep_alive |= eq_ignore_case(option, "keep-alive");
                }
            } else if name.eq_ignore_ascii_case("host") {
                fields.hosts += 1;
            } else if name.eq_ignore_ascii_case("expect") {
                let continues = eq_ignore_case(value.trim_ascii(), "100-continue");
                fields.expects_continue |= continues;
                fields.unknown_expectation |= !continues;
            }
        }
        Some(fields)
    }

    /// HTTP/1.1 persists unless closed; HTTP/1.0 only when asked (RFC 9112 §9.3).
    fn persistent(&self, minor_version: u8) -> bool {
        !self.close && (minor_version == 1 || self.keep_alive)
    }
}

/// Parses a decimal number such as a `Content-Length`: ASCII digits only, at least one,
/// `None` when it does not fit a `u64`.
pub fn parse_decimal(digits: &[u8]) -> Option<u64> {
    parse_digits(digits, 10)
}

/// Digits in `radix` (10 or 16) to a number; `None` when empty, not digits, or too big.
fn parse_digits(digits: &[u8], radix: u32) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &digit| {
        let digit = char::from(digit).to_digit(radix)?;
        value.checked_mul(radix.into())?.checked_add(digit.into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"007"), Some(7));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+5",
            b"-1",
            b"1 2",
            b"0x10",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }
}
