//! The published JWS examples, base64url as printed there: RFC 7515 Appendix A.2
//! (RS256, a 2048-bit key), A.3 (ES256) and RFC 8037 Appendix A.4 (EdDSA). Shared by the
//! signature tests and the verify bench.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_advisor_oauth::jwt::signature::{JwsAlgorithm, VerifyingKey};

/// One example: algorithm, public key, signing input and signature.
pub struct Example {
    pub alg: JwsAlgorithm,
    pub key: VerifyingKey,
    pub signing_input: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The payload of RFC 7515 A.2 and A.3 (a JWT claims set with CRLFs).
const RFC7515_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

/// The RS256 key's modulus (JWK `n`).
pub const RS256_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

pub fn rs256() -> Example {
    Example {
        alg: JwsAlgorithm::Rs256,
        key: VerifyingKey::rsa(&b64(RS256_N), &b64("AQAB")).expect("RFC 7515 A.2 key"),
        signing_input: format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_PAYLOAD}").into_bytes(),
        signature: b64(
            "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
        ),
    }
}

pub fn es256() -> Example {
    let x = b64("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
    let y = b64("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
    Example {
        alg: JwsAlgorithm::Es256,
        key: VerifyingKey::p256(&x, &y).expect("RFC 7515 A.3 key"),
        signing_input: format!("eyJhbGciOiJFUzI1NiJ9.{RFC7515_PAYLOAD}").into_bytes(),
        signature: b64(
            "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
        ),
    }
}

pub fn eddsa() -> Example {
    Example {
        alg: JwsAlgorithm::EdDsa,
        key: VerifyingKey::ed25519(&b64("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
            .expect("RFC 8037 A.2 key"),
        signing_input: b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".to_vec(),
        signature: b64(
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
        ),
    }
}

/// Base64url without padding, as JOSE writes it.
pub fn b64(text: &str) -> Vec<u8> {
    let mut out = vec![0; text.len()];
    let len = URL_SAFE_NO_PAD
        .decode_slice(text, &mut out)
        .expect("base64url");
    out.truncate(len);
    out
}
