// Prints core/oauth/testdata/jwt_vectors.rs (included by core/oauth/src/jwt/testing.rs): public JWKs and tokens signed with fresh keys,
// for the JWT unit tests (the private keys are thrown away; nothing secret is kept).
// Run: node core/oauth/testdata/make_jwt_vectors.mjs > core/oauth/testdata/jwt_vectors.rs
import crypto from 'node:crypto';

const NOW = 1723563100;
const b64 = (data) => Buffer.from(data).toString('base64url');
const claims = { iss: 'http://127.0.0.1:9000', aud: 'http://127.0.0.1:8787', exp: NOW + 3600, iat: NOW - 10, sub: 'alice', client_id: 'app', scope: 'api:read' };

function sign(alg, key, header) {
  const input = `${b64(JSON.stringify({ alg, typ: 'at+jwt', ...header }))}.${b64(JSON.stringify(claims))}`;
  let signature;
  if (alg === 'RS256') signature = crypto.sign('sha256', Buffer.from(input), key);
  if (alg === 'ES256') signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  if (alg === 'EdDSA') signature = crypto.sign(null, Buffer.from(input), key);
  return `${input}.${b64(signature)}`;
}

function jwk(publicKey, kid) {
  return JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' });
}

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const impostor = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = crypto.generateKeyPairSync('ed25519');

const out = [];
const constant = (name, doc, value) => out.push(`/// ${doc}\npub const ${name}: &str = r#"${value}"#;`);
out.push('// JWT test vectors made by `core/oauth/testdata/make_jwt_vectors.mjs` (fresh keys,');
out.push('// private parts thrown away): public JWKs and tokens for the claims');
out.push(`// iss http://127.0.0.1:9000, aud http://127.0.0.1:8787, sub alice, scope api:read,`);
out.push(`// iat ${NOW - 10}, exp ${NOW + 3600}.`);
out.push('');
out.push(`/// The time the tokens are checked at.\npub const NOW: u64 = ${NOW};`);
constant('RSA_JWK', 'RSA-2048 key `rsa-1`.', jwk(rsa.publicKey, 'rsa-1'));
constant('RSA2_JWK', 'RSA-2048 key `rsa-2` (the rotated-in key).', jwk(rsa2.publicKey, 'rsa-2'));
constant('EC_JWK', 'P-256 key `ec-1`.', jwk(ec.publicKey, 'ec-1'));
constant('ED_JWK', 'Ed25519 key `ed-1`.', jwk(ed.publicKey, 'ed-1'));
constant('RS256_TOKEN', 'Signed by `rsa-1`.', sign('RS256', rsa.privateKey, { kid: 'rsa-1' }));
constant('RS256_ROTATED_TOKEN', 'Signed by `rsa-2`.', sign('RS256', rsa2.privateKey, { kid: 'rsa-2' }));
constant('RS256_IMPOSTOR_TOKEN', 'Signed by another key but naming `rsa-1`.', sign('RS256', impostor.privateKey, { kid: 'rsa-1' }));
constant('ES256_TOKEN', 'Signed by `ec-1`.', sign('ES256', ec.privateKey, { kid: 'ec-1' }));
constant('ES256_NO_KID_TOKEN', 'Signed by `ec-1`, without `kid`.', sign('ES256', ec.privateKey, {}));
constant('EDDSA_TOKEN', 'Signed by `ed-1`.', sign('EdDSA', ed.privateKey, { kid: 'ed-1' }));
console.log(out.join('\n'));
