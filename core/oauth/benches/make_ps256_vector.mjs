// Prints core/oauth/benches/ps256_vector.rs: a PS256 key and token with the claims of
// testdata/jwt_vectors.rs (which has none for PS256), for the jwt_check bench. Fresh key,
// private part thrown away. Run: node core/oauth/benches/make_ps256_vector.mjs > core/oauth/benches/ps256_vector.rs
import crypto from 'node:crypto';

const NOW = 1723563100;
const b64 = (data) => Buffer.from(data).toString('base64url');
const claims = { iss: 'http://127.0.0.1:9000', aud: 'http://127.0.0.1:8787', exp: NOW + 3600, iat: NOW - 10, sub: 'alice', client_id: 'app', scope: 'api:read' };
const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const input = `${b64(JSON.stringify({ alg: 'PS256', typ: 'at+jwt', kid: 'ps-1' }))}.${b64(JSON.stringify(claims))}`;
const signature = crypto.sign('sha256', Buffer.from(input), {
  key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32,
});
const jwk = JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid: 'ps-1', use: 'sig' });
console.log(`// Made by \`core/oauth/benches/make_ps256_vector.mjs\` (claims as in testdata/jwt_vectors.rs).

/// RSA-2048 key \`ps-1\`.
pub const PS_JWK: &str = r#"${jwk}"#;
/// Signed by \`ps-1\` with PS256 (salt 32 bytes).
pub const PS256_TOKEN: &str = r#"${input}.${b64(signature)}"#;`);
