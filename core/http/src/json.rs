//! A bounded, allocation-free JSON scanner: validates one document, then gives raw
//! views of its values so ids can be echoed byte for byte and arguments handed on
//! without decoding. Nesting is capped at `MAX_DEPTH`; no input makes it panic.

use core::str::Chars;

/// Deepest nesting of arrays and objects a document may have.
pub const MAX_DEPTH: usize = 32;

/// The text is not one well-formed JSON value (or nests deeper than `MAX_DEPTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError;

/// A key occurred more than once in an object where it had to be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// Parses a whole document: optional whitespace, one value, optional whitespace.
pub fn parse(text: &str) -> Result<Value<'_>, SyntaxError> {
    let bytes = text.as_bytes();
    let start = skip_space(bytes, 0);
    let end = value_end(bytes, start, 0)?;
    if skip_space(bytes, end) != bytes.len() {
        return Err(SyntaxError);
    }
    text.get(start..end)
        .map(|raw| Value { raw })
        .ok_or(SyntaxError)
}

/// A well-formed JSON value, as it appeared in its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a str,
}

impl<'a> Value<'a> {
    /// The exact source text of the value.
    pub fn raw(self) -> &'a str {
        self.raw
    }

    pub fn kind(self) -> Kind {
        match self.raw.as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// The string's contents (still escaped), or `None` for other kinds.
    pub fn as_str(self) -> Option<JsonStr<'a>> {
        let inner = self.raw.strip_prefix('"')?.strip_suffix('"')?;
        Some(JsonStr { raw: inner })
    }

    /// The decoded string, if this is a string that fits `N` bytes (and has no lone
    /// surrogate).
    pub fn to_bounded<const N: usize>(self) -> Option<heapless::String<N>> {
        let mut out = heapless::String::new();
        self.decode_into(out.as_mut_view())?;
        Some(out)
    }

    /// Decodes the string into `out`, whatever its bound: one copy of the decoder for
    /// every `N` of `to_bounded`.
    fn decode_into(self, out: &mut heapless::string::StringView) -> Option<()> {
        for decoded in self.as_str()?.chars() {
            out.push(decoded.ok()?).ok()?;
        }
        Some(())
    }

    /// A string alone, or the items of an array: for members that take either (`aud`,
    /// metadata lists); `None` for other kinds.
    pub fn one_or_many(self) -> Option<impl Iterator<Item = Value<'a>>> {
        match self.kind() {
            Kind::String | Kind::Array => {
                let single = (self.kind() == Kind::String).then_some(self);
                Some(single.into_iter().chain(self.elements()))
            }
            _ => None,
        }
    }

    /// The members of an object in order; empty for other kinds.
    pub fn members(self) -> Members<'a> {
        let open = self.kind() == Kind::Object;
        Members {
            text: self.raw,
            position: 1,
            done: !open,
        }
    }

    /// The items of an array in order; empty for other kinds.
    pub fn elements(self) -> Elements<'a> {
        Elements {
            text: self.raw,
            position: 1,
            done: self.kind() != Kind::Array,
        }
    }

    /// The value of `key` in an object (escaped keys match too); a key given twice is
    /// refused, because two readers could otherwise disagree on which one counts.
    pub fn get(self, key: &str) -> Result<Option<Value<'a>>, DuplicateKey> {
        let mut found = None;
        for (name, value) in self.members() {
            if name.eq_str(key) {
                if found.is_some() {
                    return Err(DuplicateKey);
                }
                found = Some(value);
            }
        }
        Ok(found)
    }
}

/// Iterates the `(key, value)` pairs of an object.
#[derive(Debug, Clone)]
pub struct Members<'a> {
    text: &'a str,
    position: usize,
    done: bool,
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let member = self.step();
        if member.is_none() {
            self.done = true;
        }
        member
    }
}

impl<'a> Members<'a> {
    fn step(&mut self) -> Option<(JsonStr<'a>, Value<'a>)> {
        let bytes = self.text.as_bytes();
        let key_start = skip_space(bytes, self.position);
        if bytes.get(key_start) != Some(&b'"') {
            return None; // `}` of an empty object, or damage
        }
        let key_end = string_end(bytes, key_start).ok()?;
        let colon = skip_space(bytes, key_end);
        if bytes.get(colon) != Some(&b':') {
            return None;
        }
        let value_start = skip_space(bytes, colon + 1);
        // Depth was checked when the document was parsed.
        let value_end = value_end(bytes, value_start, 0).ok()?;
        let after = skip_space(bytes, value_end);
        match bytes.get(after) {
            Some(b',') => self.position = after + 1,
            _ => self.done = true,
        }
        let key = self.text.get(key_start + 1..key_end - 1)?;
        let value = self.text.get(value_start..value_end)?;
        Some((JsonStr { raw: key }, Value { raw: value }))
    }
}

/// Iterates the items of an array.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    text: &'a str,
    position: usize,
    done: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.done {
            return None;
        }
        let bytes = self.text.as_bytes();
        let start = skip_space(bytes, self.position);
        // Depth was checked when the document was parsed; `]` of an empty array fails here.
        let Ok(end) = value_end(bytes, start, 0) else {
            self.done = true;
            return None;
        };
        let after = skip_space(bytes, end);
        match bytes.get(after) {
            Some(b',') => self.position = after + 1,
            _ => self.done = true,
        }
        self.text.get(start..end).map(|raw| Value { raw })
    }
}

/// The contents of a JSON string literal, escapes not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStr<'a> {
    raw: &'a str,
}

impl<'a> JsonStr<'a> {
    /// The escaped contents; valid to embed between quotes in JSON output as is.
    pub fn raw(self) -> &'a str {
        self.raw
    }

    /// Decoded characters; an `Err` item marks an escape that is not a character
    /// (a lone surrogate).
    pub fn chars(self) -> Unescape<'a> {
        Unescape {
            rest: self.raw.chars(),
        }
    }

    /// Whether the decoded string equals `expected`.
    pub fn eq_str(self, expected: &str) -> bool {
        let mut wanted = expected.chars();
        for decoded in self.chars() {
            match decoded {
                Ok(c) if wanted.next() == Some(c) => {}
                _ => return false,
            }
        }
        wanted.next().is_none()
    }

    /// Decodes into `out`; `None` when it does not fit or holds a lone surrogate.
    pub fn decode_into(self, out: &mut [u8]) -> Option<&str> {
        let mut len = 0;
        for decoded in self.chars() {
            let mut utf8 = [0u8; 4];
            let encoded = decoded.ok()?.encode_utf8(&mut utf8).as_bytes();
            out.get_mut(len..len + encoded.len())?
                .copy_from_slice(encoded);
            len += encoded.len();
        }
        core::str::from_utf8(out.get(..len)?).ok()
    }
}

/// Decodes the escapes of a string literal's contents.
#[derive(Debug, Clone)]
pub struct Unescape<'a> {
    rest: Chars<'a>,
}

impl Iterator for Unescape<'_> {
    type Item = Result<char, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.rest.next()?;
        if c != '\\' {
            return Some(Ok(c));
        }
        Some(match self.rest.next() {
            Some('"') => Ok('"'),
            Some('\\') => Ok('\\'),
            Some('/') => Ok('/'),
            Some('b') => Ok('\u{8}'),
            Some('f') => Ok('\u{c}'),
            Some('n') => Ok('\n'),
            Some('r') => Ok('\r'),
            Some('t') => Ok('\t'),
            Some('u') => self.unicode(),
            _ => Err(SyntaxError),
        })
    }
}

impl Unescape<'_> {
    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.rest.next().and_then(|c| c.to_digit(16));
            value = value * 16 + digit.ok_or(SyntaxError)?;
        }
        Ok(value)
    }

    fn unicode(&mut self) -> Result<char, SyntaxError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.rest.next() != Some('\\') || self.rest.next() != Some('u') {
                    return Err(SyntaxError);
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(SyntaxError);
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            other => other,
        };
        char::from_u32(code).ok_or(SyntaxError)
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Where the value starting at `at` ends (exclusive).
fn value_end(bytes: &[u8], at: usize, depth: usize) -> Result<usize, SyntaxError> {
    match bytes.get(at) {
        Some(b'{') => container_end(bytes, at, depth, b'}', true),
        Some(b'[') => container_end(bytes, at, depth, b']', false),
        Some(b'"') => string_end(bytes, at),
        Some(b't') => literal_end(bytes, at, b"true"),
        Some(b'f') => literal_end(bytes, at, b"false"),
        Some(b'n') => literal_end(bytes, at, b"null"),
        Some(b'-' | b'0'..=b'9') => number_end(bytes, at),
        _ => Err(SyntaxError),
    }
}

fn container_end(
    bytes: &[u8],
    at: usize,
    depth: usize,
    close: u8,
    keyed: bool,
) -> Result<usize, SyntaxError> {
    if depth >= MAX_DEPTH {
        return Err(SyntaxError);
    }
    let mut at = skip_space(bytes, at + 1);
    if bytes.get(at) == Some(&close) {
        return Ok(at + 1);
    }
    loop {
        if keyed {
            if bytes.get(at) != Some(&b'"') {
                return Err(SyntaxError);
            }
            at = skip_space(bytes, string_end(bytes, at)?);
            if bytes.get(at) != Some(&b':') {
                return Err(SyntaxError);
            }
            at = skip_space(bytes, at + 1);
        }
        at = skip_space(bytes, value_end(bytes, at, depth + 1)?);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(&b) if b == close => return Ok(at + 1),
            _ => return Err(SyntaxError),
        }
    }
}

fn string_end(bytes: &[u8], at: usize) -> Result<usize, SyntaxError> {
    let mut at = at + 1;
    loop {
        match bytes.get(at) {
            Some(b'"') => return Ok(at + 1),
            Some(b'\\') => match bytes.get(at + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at += 2,
                Some(b'u') => at = unicode_escape_end(bytes, at)?,
                _ => return Err(SyntaxError),
            },
            Some(0..=0x1f) | None => return Err(SyntaxError),
            Some(_) => at += 1,
        }
    }
}

/// The end of a `\uXXXX` escape at `at`. Surrogates must come as a high-low pair: a
/// lone one is no character, strict readers (serde_json, Python) refuse it, so it is
/// refused here rather than echoed back to a client.
fn unicode_escape_end(bytes: &[u8], at: usize) -> Result<usize, SyntaxError> {
    let unit = |at: usize| -> Result<u32, SyntaxError> {
        if bytes.get(at..at + 2) != Some(b"\\u") {
            return Err(SyntaxError);
        }
        let digits = bytes.get(at + 2..at + 6).ok_or(SyntaxError)?;
        digits.iter().try_fold(0u32, |value, &digit| {
            let digit = char::from(digit).to_digit(16).ok_or(SyntaxError)?;
            Ok(value * 16 + digit)
        })
    };
    match unit(at)? {
        0xD800..=0xDBFF if (0xDC00..=0xDFFF).contains(&unit(at + 6)?) => Ok(at + 12),
        0xD800..=0xDFFF => Err(SyntaxError),
        _ => Ok(at + 6),
    }
}

fn literal_end(bytes: &[u8], at: usize, word: &[u8]) -> Result<usize, SyntaxError> {
    match bytes.get(at..at + word.len()) {
        Some(found) if found == word => Ok(at + word.len()),
        _ => Err(SyntaxError),
    }
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

/// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
fn number_end(bytes: &[u8], mut at: usize) -> Result<usize, SyntaxError> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits_end(bytes, at),
        _ => return Err(SyntaxError),
    }
    if bytes.get(at) == Some(&b'.') {
        let end = digits_end(bytes, at + 1);
        if end == at + 1 {
            return Err(SyntaxError);
        }
        at = end;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let end = digits_end(bytes, at);
        if end == at {
            return Err(SyntaxError);
        }
        at = end;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::borrow::ToOwned;

    #[test]
    fn accepts_well_formed_documents() {
        for text in [
            "0",
            "-0",
            "1e3",
            "-12.5E-7",
            "true",
            "false",
            "null",
            "\"\"",
            "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"",
            " { } ",
            "[]",
            "[1, [2, {\"a\": [null]}], \"x\"]",
            "{\"a\":{\"b\":{\"c\":[1,2,3]}},\"d\":\"}\"}",
            "\"✨ non-ASCII\"",
        ] {
            assert_eq!(parse(text).map(Value::raw), Ok(text.trim()), "{text}");
        }
    }

    #[test]
    fn refuses_malformed_documents() {
        for text in [
            "",
            " ",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "tru",
            "nul",
            "True",
            "\"open",
            "\"bad escape \\x\"",
            "\"short \\u12\"",
            "\"hex \\u12g4\"",
            "\"raw\ncontrol\"",
            "\"trailing backslash\\",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{a:1}",
            "{\"a\":1 \"b\":2}",
            "[1,]",
            "[1 2]",
            "[",
            "]",
            "{}}",
            "{} {}",
            "1 2",
            "[\"a\":1]",
            "{\"a\":1]",
        ] {
            assert_eq!(parse(text), Err(SyntaxError), "{text:?}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = heapless::String::<512>::new();
        for _ in 0..MAX_DEPTH {
            deep.push('[').unwrap();
        }
        for _ in 0..MAX_DEPTH {
            deep.push(']').unwrap();
        }
        assert!(parse(&deep).is_ok());
        let mut deeper = heapless::String::<512>::new();
        deeper.push('[').unwrap();
        deeper.push_str(&deep).unwrap();
        deeper.push(']').unwrap();
        assert_eq!(parse(&deeper), Err(SyntaxError));
        // Hostile: far deeper than the limit, and unterminated.
        let hostile = "[{\"a\":".repeat(1000);
        assert_eq!(parse(&hostile), Err(SyntaxError));
    }

    #[test]
    fn members_and_lookup() {
        let doc = parse(r#"{ "id" : -0 , "method":"a\"b", "nested":{"id":2}, "arr":[{"x":1}] }"#)
            .unwrap();
        assert_eq!(doc.kind(), Kind::Object);
        let keys: heapless::Vec<&str, 8> = doc.members().map(|(k, _)| k.raw()).collect();
        assert_eq!(keys.as_slice(), &["id", "method", "nested", "arr"]);
        assert_eq!(doc.get("id").unwrap().unwrap().raw(), "-0");
        assert_eq!(doc.get("nested").unwrap().unwrap().raw(), r#"{"id":2}"#);
        assert_eq!(doc.get("arr").unwrap().unwrap().kind(), Kind::Array);
        assert_eq!(doc.get("missing"), Ok(None));
        let method = doc.get("method").unwrap().unwrap().as_str().unwrap();
        assert_eq!(method.raw(), "a\\\"b");
        assert!(method.eq_str("a\"b"));
        assert!(parse("[1]").unwrap().members().next().is_none());
        assert!(parse("{}").unwrap().members().next().is_none());
    }

    #[test]
    fn array_elements() {
        let doc = parse(r#"[ "a" , {"b":[1,2]}, 3,[] ]"#).unwrap();
        let items: std::vec::Vec<_> = doc.elements().map(Value::raw).collect();
        assert_eq!(items, ["\"a\"", r#"{"b":[1,2]}"#, "3", "[]"]);
        assert_eq!(parse("[]").unwrap().elements().count(), 0);
        assert_eq!(parse(r#"{"a":1}"#).unwrap().elements().count(), 0);
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let doc = parse(r#"{"id":1,"\u0069d":2}"#).unwrap();
        assert_eq!(doc.get("id"), Err(DuplicateKey));
    }

    #[test]
    fn escapes_decode_and_compare() {
        let value = parse(r#""tools\/call \u00e9 \ud83d\ude80""#).unwrap();
        let text = value.as_str().unwrap();
        let mut out = [0u8; 32];
        assert_eq!(text.decode_into(&mut out), Some("tools/call é 🚀"));
        assert!(text.eq_str("tools/call é 🚀"));
        assert!(!text.eq_str("tools/call é"));
        assert!(!text.eq_str("tools/call é 🚀!"));
        let mut tiny = [0u8; 4];
        assert_eq!(text.decode_into(&mut tiny), None);
        for lone in [
            r#""\ud83d""#,
            r#""\ude80""#,
            r#""\ud83d\u0041""#,
            r#""\ud83dx""#,
            r#""\ud83d\ud83d""#,
            r#""\ude80\ud83d""#,
            r#""\ud83d\u""#,
        ] {
            assert_eq!(parse(lone), Err(SyntaxError), "{lone}");
        }
        // The decoder stays defensive on its own.
        let unchecked = JsonStr { raw: r"\ud83d" };
        assert_eq!(unchecked.decode_into(&mut out), None);
        assert!(!unchecked.eq_str("x"));
    }

    #[test]
    fn hostile_inputs_never_panic() {
        // Every prefix and every single-byte corruption of a realistic message.
        let message = r#"{"jsonrpc":"2.0","id":"a\"\u00e9","method":"tools/call","params":{"name":"x","arguments":{"a":[1,-2.5e3,true,null]}}}"#;
        for end in 0..=message.len() {
            if let Some(prefix) = message.get(..end) {
                let _ = parse(prefix).map(|v| v.members().count());
            }
        }
        let mut bytes = message.as_bytes().to_owned();
        for index in 0..bytes.len() {
            for replacement in [b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b' ', b'0'] {
                let original = bytes[index];
                bytes[index] = replacement;
                if let Ok(text) = core::str::from_utf8(&bytes) {
                    if let Ok(doc) = parse(text) {
                        for (key, value) in doc.members() {
                            let _ = key.decode_into(&mut [0u8; 16]);
                            let _ = value.members().count();
                        }
                    }
                }
                bytes[index] = original;
            }
        }
    }
}
