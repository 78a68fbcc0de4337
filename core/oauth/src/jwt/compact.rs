//! The compact JWS serialization (RFC 7515 §7.1): three base64url parts split out of a
//! token, decoded into caller-sized buffers, and the protected header's members this
//! validator acts on. `jku`, `x5u`, `jwk` and `x5c` are never followed: keys come only
//! from the provider's JWKS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use heapless::String;

use super::signature::JwsAlgorithm;
use crate::http::json::{self, Kind};
use crate::token::ValidationError;

/// Longest decoded protected header.
pub const HEADER_MAX: usize = 512;
/// Longest decoded payload (a 4 KiB token carries at most about 3 KiB of claims).
pub const PAYLOAD_MAX: usize = 3072;
/// Longest decoded signature: RSA-4096.
pub const SIGNATURE_MAX: usize = 512;
/// Longest `kid` kept, in the header and in the JWKS.
pub const KID_MAX: usize = 96;

/// A token's three parts, still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'t> {
    /// `BASE64URL(header)`.
    pub header: &'t str,
    /// `BASE64URL(payload)`.
    pub payload: &'t str,
    /// `BASE64URL(signature)`.
    pub signature: &'t str,
    /// `header.payload`, what the signature covers.
    pub signing_input: &'t str,
}

/// Splits a compact JWS; `None` unless there are exactly three non-empty parts of
/// base64url characters (so a JWE's five parts or an unsecured JWS's empty signature
/// never get further).
pub fn split(token: &str) -> Option<Parts<'_>> {
    let mut pieces = token.split('.');
    let (header, payload, signature) = (pieces.next()?, pieces.next()?, pieces.next()?);
    if pieces.next().is_some() {
        return None;
    }
    let base64url = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !(base64url(header) && base64url(payload) && base64url(signature)) {
        return None;
    }
    let signing_input = token.get(..header.len() + 1 + payload.len())?;
    Some(Parts {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// Decodes one unpadded base64url part into `out`; `None` when it is not canonical
/// base64url or does not fit.
pub fn decode<'b>(part: &str, out: &'b mut [u8]) -> Option<&'b [u8]> {
    // The exact decoded length, so the check is not the engine's rounded-up estimate.
    let exact = part.len() / 4 * 3 + (part.len() % 4).saturating_sub(1);
    let room = out.get_mut(..exact)?;
    let written = URL_SAFE_NO_PAD.decode_slice(part, room).ok()?;
    out.get(..written)
}

/// Whether `token` is shaped like a JWS: three base64url parts whose header decodes to
/// a JSON object with a string `alg`. (Opaque tokens, even with dots, are not.)
pub fn looks_like_jws(token: &str) -> bool {
    let Some(parts) = split(token) else {
        return false;
    };
    let mut buf = [0u8; HEADER_MAX];
    let Some(header) = decode(parts.header, &mut buf) else {
        return false;
    };
    let Ok(text) = core::str::from_utf8(header) else {
        return false;
    };
    matches!(
        json::parse(text).ok().and_then(|h| h.get("alg").ok().flatten()),
        Some(alg) if alg.kind() == Kind::String
    )
}

/// What the protected header says that matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `alg`, one this build verifies.
    pub alg: JwsAlgorithm,
    /// `kid`, if any.
    pub kid: Option<String<KID_MAX>>,
}

/// The header members read (any other one is ignored, `jku`/`x5u`/`jwk`/`x5c` included).
const MEMBERS: [&str; 4] = ["alg", "kid", "typ", "crit"];

/// Reads a decoded protected header. Refused (as `Malformed`): not a JSON object, a
/// member given twice, an `alg` this build does not verify (`none`, every `HS*`, …),
/// any `crit` (no extension is understood), and a `typ` other than RFC 9068's
/// `at+jwt` / `application/at+jwt`, unless `accept_jwt_typ` also lets `JWT` and no
/// `typ` through.
pub fn read_header(header: &[u8], accept_jwt_typ: bool) -> Result<Header, ValidationError> {
    let bad = ValidationError::Malformed;
    let text = core::str::from_utf8(header).map_err(|_| bad)?;
    let object = json::parse(text).map_err(|_| bad)?;
    if object.kind() != Kind::Object {
        return Err(bad);
    }
    let mut alg = None;
    let mut kid = None;
    let mut typ_ok = None;
    let mut seen = 0u8;
    for (name, value) in object.members() {
        let Some(member) = MEMBERS.iter().position(|known| name.eq_str(known)) else {
            continue;
        };
        if seen & (1 << member) != 0 {
            return Err(bad);
        }
        seen |= 1 << member;
        match member {
            0 => {
                let name: String<16> = value.to_bounded().ok_or(bad)?;
                alg = Some(JwsAlgorithm::from_name(&name).ok_or(bad)?);
            }
            1 => kid = Some(value.to_bounded().ok_or(bad)?),
            2 => {
                let typ: String<32> = value.to_bounded().ok_or(bad)?;
                typ_ok = Some(typ_accepted(&typ, accept_jwt_typ));
            }
            _ => return Err(bad),
        }
    }
    if !typ_ok.unwrap_or(accept_jwt_typ) {
        return Err(bad);
    }
    Ok(Header {
        alg: alg.ok_or(bad)?,
        kid,
    })
}

/// RFC 9068 §2.1 `typ` (media types compare case-insensitively, the `application/`
/// prefix optional); plain `JWT` only when allowed.
fn typ_accepted(typ: &str, accept_jwt_typ: bool) -> bool {
    let short = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or(""),
        _ => typ,
    };
    short.eq_ignore_ascii_case("at+jwt") || (accept_jwt_typ && short.eq_ignore_ascii_case("jwt"))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    fn b64(text: &str) -> std::string::String {
        let mut out = [0u8; 256];
        let written = URL_SAFE_NO_PAD.encode_slice(text, &mut out).unwrap();
        std::string::String::from_utf8(out[..written].to_vec()).unwrap()
    }

    #[test]
    fn splits_three_parts_only() {
        let parts = split("aGk.eyJ9.c2ln").unwrap();
        assert_eq!(
            (parts.header, parts.payload, parts.signature),
            ("aGk", "eyJ9", "c2ln")
        );
        assert_eq!(parts.signing_input, "aGk.eyJ9");
        for refused in [
            "",
            "abc",
            "a.b",
            "a.b.",
            ".b.c",
            "a..c",
            "a.b.c.d.e",
            "a.b.c.",
            "a+b.c.d",
            "a.b.c=",
            "a b.c.d",
        ] {
            assert_eq!(split(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn decodes_into_bounded_buffers() {
        let mut out = [0u8; 8];
        assert_eq!(decode("aGVsbG8", &mut out), Some(&b"hello"[..]));
        assert_eq!(decode("aGVsbG8gd29ybGQ", &mut out), None, "too long");
        let mut exact = [0u8; 5];
        assert_eq!(decode("aGVsbG8", &mut exact), Some(&b"hello"[..]));
        // Non-canonical trailing bits and an impossible length are refused.
        assert_eq!(decode("aGVsbG9", &mut out), None);
        assert_eq!(decode("a", &mut out), None);
    }

    #[test]
    fn jws_shape_needs_a_json_header_with_alg() {
        let header = b64(r#"{"alg":"RS256"}"#);
        assert!(looks_like_jws(&std::format!("{header}.e30.c2ln")));
        assert!(!looks_like_jws("opaque-token_value"));
        assert!(!looks_like_jws("abc.def.ghi"));
        let no_alg = b64(r#"{"typ":"JWT"}"#);
        assert!(!looks_like_jws(&std::format!("{no_alg}.e30.c2ln")));
        let numeric_alg = b64(r#"{"alg":1}"#);
        assert!(!looks_like_jws(&std::format!("{numeric_alg}.e30.c2ln")));
    }

    #[test]
    fn accepts_rfc_9068_headers() {
        for header in [
            r#"{"alg":"RS256","typ":"at+jwt","kid":"k1"}"#,
            r#"{"typ":"application/at+jwt","alg":"ES256","kid":"k1"}"#,
            r#"{"typ":"AT+JWT","alg":"ES256","kid":"k1","jku":"https://evil.example/jwks","x5u":"https://evil.example/c","jwk":{"kty":"EC"}}"#,
        ] {
            let read = read_header(header.as_bytes(), false).unwrap();
            assert_eq!(read.kid.as_deref(), Some("k1"));
        }
        let read = read_header(br#"{"alg":"RS256","typ":"at+jwt"}"#, false).unwrap();
        assert_eq!((read.alg, read.kid), (JwsAlgorithm::Rs256, None));
    }

    #[test]
    fn plain_jwt_typ_only_when_switched_on() {
        for header in [
            &br#"{"alg":"RS256","typ":"JWT"}"#[..],
            br#"{"alg":"RS256"}"#,
            br#"{"alg":"RS256","typ":"application/jwt"}"#,
        ] {
            assert_eq!(read_header(header, false), Err(ValidationError::Malformed));
            assert!(read_header(header, true).is_ok());
        }
        assert_eq!(
            read_header(br#"{"alg":"RS256","typ":"dpop+jwt"}"#, true),
            Err(ValidationError::Malformed)
        );
    }

    #[test]
    fn refuses_unsafe_or_unreadable_headers() {
        for header in [
            &br#"{"alg":"none","typ":"at+jwt"}"#[..],
            br#"{"alg":"HS256","typ":"at+jwt"}"#,
            br#"{"alg":"HS512","typ":"at+jwt"}"#,
            br#"{"alg":"RS384","typ":"at+jwt"}"#,
            br#"{"alg":"rs256","typ":"at+jwt"}"#,
            br#"{"alg":"","typ":"at+jwt"}"#,
            br#"{"alg":null,"typ":"at+jwt"}"#,
            br#"{"typ":"at+jwt"}"#,
            br#"{"alg":"RS256","typ":"at+jwt","crit":["exp"]}"#,
            br#"{"alg":"RS256","typ":"at+jwt","crit":[]}"#,
            br#"{"alg":"RS256","alg":"none","typ":"at+jwt"}"#,
            br#"{"alg":"RS256","typ":"at+jwt","kid":7}"#,
            br#"{"alg":"RS256","typ":5}"#,
            br#"["RS256"]"#,
            br#"{"alg":"RS256","typ":"at+jwt""#,
            b"\xff",
            b"",
        ] {
            assert_eq!(
                read_header(header, false),
                Err(ValidationError::Malformed),
                "{:?}",
                core::str::from_utf8(header)
            );
        }
        let long_kid = std::format!(
            r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#,
            "k".repeat(KID_MAX + 1)
        );
        assert_eq!(
            read_header(long_kid.as_bytes(), false),
            Err(ValidationError::Malformed)
        );
    }
}
