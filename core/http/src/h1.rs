//! The HTTP/1.1 message rules, in one place for both directions: how the body of a
//! request (server side) and of a response (client side) is delimited (RFC 9112 §6.3),
//! whether a connection persists, which statuses may carry a body, the numbers of the
//! framing, and the chunked decoder (RFC 9112 §7.1) the server and the client share.
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
    /// `Transfer-Encoding: chunked`, decoded with [`ChunkedDecoder`].
    Chunked,
    /// Everything until the peer closes (responses only; a request never is).
    UntilClose,
}

/// What a request's header section says about its body and its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFraming {
    /// `Known` or `Chunked`: a request is never delimited by closing.
    pub body: BodyLength,
    /// The connection stays open after the answer.
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before it sends the body.
    pub expects_continue: bool,
}

/// What a response's header section says about its body and its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFraming {
    /// `Known(0)` whatever the headers say for HEAD, 1xx, 204 and 304.
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
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                || name.eq_ignore_ascii_case("connection")
            {
                // One pass over either list (one copy of the list reader).
                let codings = name.len() == "transfer-encoding".len();
                let mut empty = true;
                for item in header_list(value) {
                    empty = false;
                    if codings {
                        fields.coding = match fields.coding {
                            Coding::Absent if eq_ignore_case(item, "chunked") => Coding::Chunked,
                            _ => Coding::Other,
                        };
                    } else {
                        fields.close |= eq_ignore_case(item, "close");
                        fields.keep_alive |= eq_ignore_case(item, "keep-alive");
                    }
                }
                if codings && empty {
                    fields.coding = Coding::Other;
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

/// Parses a chunk-size line without its CRLF: hex digits, then optionally whitespace
/// and `;` extensions, which are ignored (RFC 9112 §7.1.1).
pub fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at_checked(digits_end)?;
    let after_space = rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .and_then(|start| rest.get(start..));
    match (rest, after_space) {
        ([], _) | (_, Some([b';', ..])) => parse_digits(digits, 16),
        _ => None,
    }
}

/// Why a chunked body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The framing breaks RFC 9112 §7.1.
    Malformed,
    /// The decoded body would pass its bound, or the message does not fit the buffer.
    TooLarge,
    /// The trailer section passes its bound.
    TrailersTooLarge,
}

impl From<ChunkError> for RequestError {
    /// A request's trailers count as header fields: too many bytes of them is 431.
    fn from(error: ChunkError) -> Self {
        match error {
            ChunkError::Malformed => RequestError::Malformed,
            ChunkError::TooLarge => RequestError::BodyTooLarge,
            ChunkError::TrailersTooLarge => RequestError::HeadersTooLarge,
        }
    }
}

/// Where a chunked body's decoding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ChunkState {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, with this many bytes still to come.
    Data(usize),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
}

/// Decodes a chunked body in place, in the buffer it was received in, across as many
/// reads as it takes. The decoded body collects at the front of the buffer and the
/// framing is dropped as it is read, so only the body counts against the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    decoded: usize,
    trailer_bytes: usize,
}

impl ChunkedDecoder {
    /// Bytes of body decoded so far; they are the first bytes of the buffer.
    pub fn body_len(&self) -> usize {
        self.decoded
    }

    /// Decodes what has arrived. `buf[..body_len()]` is the body so far and
    /// `buf[body_len()..*filled]` what follows it on the wire. Returns `Some(end)` when
    /// the message is complete: it ended at `buf[end]`, and what follows is the next
    /// message's. Returns `None` when more bytes are needed: the undecoded ones were
    /// moved to follow the body, and `*filled` shrank by the framing dropped.
    #[inline(never)] // one copy for the server and the client: less flash
    pub fn decode(
        &mut self,
        buf: &mut [u8],
        filled: &mut usize,
        max_body: usize,
        max_trailers: usize,
    ) -> Result<Option<usize>, ChunkError> {
        let end = (*filled).min(buf.len());
        let room = max_body.min(buf.len());
        // Invariant: self.decoded <= read <= end <= buf.len(), so no copy below panics.
        if self.decoded > end {
            return Err(ChunkError::TooLarge); // only a caller lending less than before
        }
        let mut read = self.decoded;
        loop {
            let pending = buf.get(read..end).unwrap_or(&[]);
            if let ChunkState::Data(remaining) = self.state {
                let take = remaining.min(pending.len());
                if take == 0 {
                    break;
                }
                buf.copy_within(read..read + take, self.decoded);
                read += take;
                self.decoded += take;
                self.state = match remaining - take {
                    0 => ChunkState::DataEnd,
                    left => ChunkState::Data(left),
                };
                continue;
            }
            let Some((line, used)) = next_line(pending)? else {
                if self.state == ChunkState::Trailers
                    && self.trailer_bytes + pending.len() > max_trailers
                {
                    return Err(ChunkError::TrailersTooLarge);
                }
                break;
            };
            read += used;
            self.state = match self.state {
                ChunkState::Size => match parse_chunk_size(line).ok_or(ChunkError::Malformed)? {
                    0 => ChunkState::Trailers,
                    size => ChunkState::Data(
                        usize::try_from(size)
                            .ok()
                            .filter(|&size| size <= room.saturating_sub(self.decoded))
                            .ok_or(ChunkError::TooLarge)?,
                    ),
                },
                ChunkState::DataEnd if line.is_empty() => ChunkState::Size,
                ChunkState::Trailers if line.is_empty() => return Ok(Some(read)),
                ChunkState::Trailers => {
                    // Read and dropped, but only so many: they never reach a handler.
                    self.trailer_bytes += used;
                    if self.trailer_bytes > max_trailers {
                        return Err(ChunkError::TrailersTooLarge);
                    }
                    ChunkState::Trailers
                }
                _ => return Err(ChunkError::Malformed),
            };
        }
        buf.copy_within(read..end, self.decoded);
        *filled = self.decoded + (end - read);
        if *filled >= buf.len() {
            // No room left to read into, and what is here does not finish a step.
            return Err(match self.state {
                ChunkState::Trailers => ChunkError::TrailersTooLarge,
                _ => ChunkError::TooLarge,
            });
        }
        Ok(None)
    }
}

/// The first line of `pending` without its CRLF, and the bytes it took; `None` while
/// it has not ended. A bare CR or LF is refused: recipients that split lines there
/// would read a different message (RFC 9112 §2.2).
fn next_line(pending: &[u8]) -> Result<Option<(&[u8], usize)>, ChunkError> {
    let Some(lf) = pending.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let line = pending
        .get(..lf)
        .and_then(|line| line.strip_suffix(b"\r"))
        .filter(|line| !line.contains(&b'\r'))
        .ok_or(ChunkError::Malformed)?;
    Ok(Some((line, lf + 1)))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::String;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn decimals_and_chunk_sizes() {
        // input, read as a decimal, read as a chunk-size line
        for (input, decimal, chunk_size) in [
            (&b"0"[..], Some(0), Some(0)),
            (b"007", Some(7), Some(7)),
            (b"1f", None, Some(31)),
            (b"A;name=value", None, Some(10)),
            (b"0 \t; ext", None, Some(0)),
            (b"18446744073709551615", Some(u64::MAX), None),
            (b"ffffffffffffffff", None, Some(u64::MAX)),
            (b"18446744073709551616", None, None),
            (b"10000000000000000", Some(10u64.pow(16)), None),
            (b"", None, None),
            (b"+5", None, None),
            (b"-1", None, None),
            (b"1 2", None, None),
            (b"1 ", None, None),
            (b"0x10", None, None),
            (b";x", None, None),
            (b"1g", None, None),
        ] {
            assert_eq!(parse_decimal(input), decimal, "{input:?}");
            assert_eq!(parse_chunk_size(input), chunk_size, "{input:?}");
        }
    }

    /// What the decoder made of a message fed in the given pieces.
    #[derive(Debug, PartialEq)]
    enum Outcome {
        /// The body and the bytes after the message.
        Done(Vec<u8>, Vec<u8>),
        NeedMore,
        Failed(ChunkError),
    }

    fn decode_in(pieces: &[&[u8]], capacity: usize, max_body: usize) -> Outcome {
        let mut buf = vec![0u8; capacity];
        let mut filled = 0;
        let mut decoder = ChunkedDecoder::default();
        for (index, piece) in pieces.iter().enumerate() {
            let Some(room) = buf.get_mut(filled..filled + piece.len()) else {
                return Outcome::Failed(ChunkError::TooLarge);
            };
            room.copy_from_slice(piece);
            filled += piece.len();
            match decoder.decode(&mut buf, &mut filled, max_body, 64) {
                Ok(Some(end)) => {
                    let body = buf[..decoder.body_len()].to_vec();
                    let unread = pieces[index + 1..].concat();
                    return Outcome::Done(body, [&buf[end..filled], &unread].concat());
                }
                Ok(None) => assert!(filled <= buf.len()),
                Err(error) => return Outcome::Failed(error),
            }
        }
        Outcome::NeedMore
    }

    fn decode(message: &[u8]) -> Outcome {
        decode_in(&[message], 256, 256)
    }

    const MESSAGE: &[u8] =
        b"4\r\nWiki\r\n7;ext=\"a b\"\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";

    #[test]
    fn decodes_split_at_every_byte_boundary() {
        let expected = Outcome::Done(b"Wikipedia in \r\nchunks.".to_vec(), b"NEXT".to_vec());
        assert_eq!(decode(MESSAGE), expected);
        for split in 1..MESSAGE.len() {
            let (first, second) = MESSAGE.split_at(split);
            assert_eq!(decode_in(&[first, second], 256, 256), expected, "{split}");
        }
        let bytes: Vec<&[u8]> = MESSAGE.chunks(1).collect();
        assert_eq!(decode_in(&bytes, 256, 256), expected);
    }

    #[test]
    fn framing_does_not_count_against_the_buffer() {
        let mut message = b"1\r\nx\r\n".repeat(40);
        message.extend_from_slice(b"0\r\n\r\n");
        let pieces: Vec<&[u8]> = message.chunks(6).collect();
        assert_eq!(
            decode_in(&pieces, 48, 48),
            Outcome::Done(vec![b'x'; 40], Vec::new())
        );
    }

    #[test]
    fn refuses_bad_framing() {
        for bad in [
            &b"zz\r\nab\r\n0\r\n\r\n"[..],
            b"\r\n",
            b"2 \r\nab\r\n0\r\n\r\n",
            b"2\nab\r\n0\r\n\r\n",
            b"2\r\nabc\r\n0\r\n\r\n",
            b"2\r\nab0\r\n\r\n",
            b"2\r\nab\n0\r\n\r\n",
            b"2;a\rb\r\nab\r\n0\r\n\r\n",
            b"0\r\nX: 1\n\r\n",
            b"10000000000000000\r\n",
        ] {
            let outcome = decode(bad);
            assert_eq!(
                outcome,
                Outcome::Failed(ChunkError::Malformed),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn bounds_body_trailers_and_buffer() {
        assert_eq!(
            decode_in(&[b"5\r\nab"], 256, 4),
            Outcome::Failed(ChunkError::TooLarge),
            "refused at the size line, before the data"
        );
        assert_eq!(
            decode_in(&[b"3\r\nabc\r\n2\r\nde\r\n"], 256, 4),
            Outcome::Failed(ChunkError::TooLarge)
        );
        assert_eq!(
            decode_in(&[b"ffffffffffffffff\r\n"], 256, usize::MAX),
            Outcome::Failed(ChunkError::TooLarge)
        );
        assert_eq!(
            decode_in(&[b"4\r\nabcd\r\n0\r\n\r\n"], 256, 4),
            Outcome::Done(b"abcd".to_vec(), Vec::new())
        );
        let long_trailer = [b"0\r\nX: ".as_slice(), &[b'a'; 70], b"\r\n\r\n"].concat();
        assert_eq!(
            decode(&long_trailer),
            Outcome::Failed(ChunkError::TrailersTooLarge)
        );
        let unended_trailer = [b"0\r\nX: ".as_slice(), &[b'a'; 70]].concat();
        assert_eq!(
            decode(&unended_trailer),
            Outcome::Failed(ChunkError::TrailersTooLarge),
            "refused before the line ends"
        );
        let endless_extension = [b"1;".as_slice(), &[b'e'; 30]].concat();
        let pieces: Vec<&[u8]> = endless_extension.chunks(8).collect();
        assert_eq!(
            decode_in(&pieces, 16, 16),
            Outcome::Failed(ChunkError::TooLarge),
            "a line that cannot fit the buffer"
        );
        assert_eq!(decode(b"4\r\nab"), Outcome::NeedMore);
    }
}
