//! Text codecs for untrusted strings: percent-decoding, form encoding, query lookup,
//! and escaping for the place a string lands (JSON string, HTML text or attribute).

use core::fmt::{self, Write};

/// Where the core's renderers write text. Only `write_str`, so a `dyn TextSink` brings no
/// formatting machinery with it: a `dyn fmt::Write` vtable holds `write_fmt` and
/// `write_char` too, and with them `core::fmt::write` (about 700 B of a board's flash,
/// though the device's paths never format). Every `fmt::Write` is one; [`Formatted`] goes
/// the other way, for the pages that use `write!`.
pub trait TextSink {
    /// Writes `text` whole, or fails.
    fn write_str(&mut self, text: &str) -> fmt::Result;
}

impl<W: Write + ?Sized> TextSink for W {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        Write::write_str(self, text)
    }
}

/// Writes a piece of text (a body, a header value) into any sink; called more than once
/// when the text is measured before it is written.
pub type Renderer<'a> = &'a dyn Fn(&mut dyn TextSink) -> fmt::Result;

impl dyn TextSink + '_ {
    /// Writes one character (not part of the trait, so not in every sink's vtable).
    pub fn write_char(&mut self, c: char) -> fmt::Result {
        self.write_str(c.encode_utf8(&mut [0; 4]))
    }
}

/// A [`TextSink`] as a `fmt::Write`, for renderers that format (`write!`).
pub struct Formatted<'a>(pub &'a mut dyn TextSink);

impl core::fmt::Debug for Formatted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Formatted")
    }
}

impl Write for Formatted<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.write_str(text)
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `input` into `out` (`+` becomes a space when `plus_is_space`, as in
/// forms and query strings). Returns the decoded bytes, or `None` when `out` is too
/// small or an escape is malformed.
pub fn percent_decode<'o>(
    input: &[u8],
    out: &'o mut [u8],
    plus_is_space: bool,
) -> Option<&'o [u8]> {
    let mut len = 0;
    let mut rest = input;
    while let Some((&byte, tail)) = rest.split_first() {
        let (decoded, tail) = match byte {
            b'%' => match tail {
                [hi, lo, after @ ..] => (hex_value(*hi)? << 4 | hex_value(*lo)?, after),
                _ => return None,
            },
            b'+' if plus_is_space => (b' ', tail),
            other => (other, tail),
        };
        *out.get_mut(len)? = decoded;
        len += 1;
        rest = tail;
    }
    out.get(..len)
}

/// Writes `input` percent-encoded for `application/x-www-form-urlencoded` (and for
/// RFC 6749 §2.3.1 client credentials): unreserved bytes stay, space is `+`, the rest `%XX`.
#[derive(Debug, Clone, Copy)]
pub struct FormEncoded<'a>(pub &'a [u8]);

impl FormEncoded<'_> {
    /// Writes the encoded bytes straight to `out`, without the formatting machinery.
    pub fn write_to(&self, out: &mut dyn crate::codec::TextSink) -> fmt::Result {
        for &byte in self.0 {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.write_char(byte as char)?
                }
                b' ' => out.write_char('+')?,
                _ => {
                    out.write_char('%')?;
                    out.write_char(hex_digit(byte >> 4))?;
                    out.write_char(hex_digit(byte & 15))?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for FormEncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// The upper-case hex digit of the low four bits.
fn hex_digit(nibble: u8) -> char {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    HEX.get(usize::from(nibble & 15))
        .map_or('0', |&digit| char::from(digit))
}

/// Formats `value` in decimal into `digits`, returning the used tail.
pub fn decimal(mut value: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    // A u64 has at most 20 digits, so `start` stays inside `digits`.
    while let Some(slot) = start.checked_sub(1).and_then(|at| digits.get_mut(at)) {
        *slot = b'0' + (value % 10) as u8;
        start -= 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    digits.get(start..).unwrap_or(&[])
}

/// Writes `value` in decimal, without the formatting machinery.
pub fn write_decimal(out: &mut dyn crate::codec::TextSink, value: u64) -> fmt::Result {
    let mut digits = [0u8; 20];
    out.write_str(core::str::from_utf8(decimal(value, &mut digits)).unwrap_or(""))
}

/// Counts the bytes written through it (to measure a rendering before writing it).
#[derive(Debug, Default)]
pub struct ByteCount(pub usize);

impl Write for ByteCount {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Finds the raw (still percent-encoded) value of `name` in a query string or form body.
pub fn form_value<'a>(form: &'a str, name: &str) -> Option<&'a str> {
    form.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// Writes a string escaped for the inside of a JSON string literal.
#[derive(Debug, Clone, Copy)]
pub struct JsonEscaped<'a>(pub &'a str);

impl JsonEscaped<'_> {
    /// Writes the escaped text straight to `out`, without the formatting machinery.
    pub fn write_to(&self, out: &mut dyn TextSink) -> fmt::Result {
        let mut start = 0;
        for (index, ch) in self.0.char_indices() {
            let escape = match ch {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                // `<` escaped too so a JSON document can never close a <script> element.
                '<' => "\\u003c",
                c if (c as u32) < 0x20 => "",
                _ => continue,
            };
            out.write_str(self.0.get(start..index).unwrap_or(""))?;
            if escape.is_empty() {
                // A control character: `\u00XX`.
                out.write_str("\\u00")?;
                out.write_char(hex_digit((ch as u8) >> 4).to_ascii_lowercase())?;
                out.write_char(hex_digit(ch as u8).to_ascii_lowercase())?;
            } else {
                out.write_str(escape)?;
            }
            start = index + ch.len_utf8();
        }
        out.write_str(self.0.get(start..).unwrap_or(""))
    }
}

impl fmt::Display for JsonEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// Writes `{"name":"value",...}`: a JSON object of string members, values escaped.
pub fn write_json_object(
    out: &mut dyn crate::codec::TextSink,
    members: &[(&str, &str)],
) -> fmt::Result {
    let mut separator = "{\"";
    for (name, value) in members {
        out.write_str(separator)?;
        JsonEscaped(name).write_to(out)?;
        out.write_str("\":\"")?;
        JsonEscaped(value).write_to(out)?;
        separator = "\",\"";
    }
    out.write_str(if members.is_empty() { "{}" } else { "\"}" })
}

/// Writes a string escaped for HTML text and for double- or single-quoted attributes.
#[derive(Debug, Clone, Copy)]
pub struct HtmlEscaped<'a>(pub &'a str);

impl fmt::Display for HtmlEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut start = 0;
        for (index, ch) in self.0.char_indices() {
            let escape = match ch {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(self.0.get(start..index).unwrap_or(""))?;
            f.write_str(escape)?;
            start = index + 1;
        }
        f.write_str(self.0.get(start..).unwrap_or(""))
    }
}

/// A `fmt::Write` into a byte slice that fails instead of growing.
#[derive(Debug)]
pub struct SliceSink<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl<'o> SliceSink<'o> {
    pub fn new(out: &'o mut [u8]) -> Self {
        SliceSink { out, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Write for SliceSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.out.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Case-insensitive ASCII comparison of a header value against a token.
pub fn eq_ignore_case(value: &[u8], token: &str) -> bool {
    value.eq_ignore_ascii_case(token.as_bytes())
}

/// Iterates the comma-separated elements of a header value, trimmed of spaces and tabs.
pub fn header_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|item| item.trim_ascii())
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_cover_the_whole_range() {
        let mut digits = [0u8; 20];
        for (value, text) in [
            (0, "0"),
            (7, "7"),
            (1_000, "1000"),
            (u64::MAX, "18446744073709551615"),
        ] {
            assert_eq!(decimal(value, &mut digits), text.as_bytes());
        }
    }
    use heapless::String;

    fn render(value: impl fmt::Display) -> String<256> {
        let mut out = String::new();
        write!(out, "{value}").unwrap();
        out
    }

    #[test]
    fn percent_decoding_handles_escapes_plus_and_errors() {
        let mut buf = [0u8; 32];
        assert_eq!(
            percent_decode(b"a%20b+c%2Bd", &mut buf, true),
            Some(&b"a b c+d"[..])
        );
        assert_eq!(percent_decode(b"a+b", &mut buf, false), Some(&b"a+b"[..]));
        assert_eq!(percent_decode(b"bad%2", &mut buf, true), None);
        assert_eq!(percent_decode(b"bad%zz", &mut buf, true), None);
        let mut tiny = [0u8; 2];
        assert_eq!(percent_decode(b"abc", &mut tiny, true), None);
    }

    #[test]
    fn form_encoding_protects_separators() {
        assert_eq!(
            render(FormEncoded(b"a&b=c+d%25 \r\n")).as_str(),
            "a%26b%3Dc%2Bd%2525+%0D%0A"
        );
        assert_eq!(render(FormEncoded("é".as_bytes())).as_str(), "%C3%A9");
    }

    #[test]
    fn form_value_finds_raw_values() {
        assert_eq!(form_value("code=abc&state=x%20y", "state"), Some("x%20y"));
        assert_eq!(form_value("flag&code=1", "flag"), Some(""));
        assert_eq!(form_value("code=abc", "state"), None);
    }

    #[test]
    fn json_and_html_escaping() {
        assert_eq!(
            render(JsonEscaped("a\"b\\c\n\u{1}</")).as_str(),
            "a\\\"b\\\\c\\n\\u0001\\u003c/"
        );
        assert_eq!(
            render(HtmlEscaped("<a href='x'>\"&\"</a>")).as_str(),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(render(JsonEscaped("plain ✨")).as_str(), "plain ✨");
    }

    #[test]
    fn header_lists_split_and_trim() {
        let items: heapless::Vec<&[u8], 4> = header_list(b" gzip , ,chunked").collect();
        assert_eq!(items.as_slice(), &[&b"gzip"[..], &b"chunked"[..]]);
    }
}
