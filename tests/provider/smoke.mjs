// Smoke test of the dev authorization server: starts provider.mjs on loopback (free port) and
// exercises it over real HTTP(S). Run: npm ci --no-audit --no-fund && node --test smoke.mjs

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import {
  authorizationCodeLogin, basicAuthorization, buildAuthorizeUrl, pkcePair, tokenRequest,
} from './flow.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

const RESOURCE = 'http://127.0.0.1:8787';
const MCP_RESOURCE = 'http://127.0.0.1:8787/mcp';
const FOREIGN_RESOURCE = 'https://other-api.example';
const REDIRECT_URI = 'http://127.0.0.1:8787/token';
const SECRETS = {
  'push-advisor': 'dev-secret-push-advisor',
  'push-advisor-jwt': 'dev-secret-push-advisor-jwt',
  'writer-only': 'dev-secret-writer-only',
  'foreign-client': 'dev-secret-foreign-client',
};

/** Starts provider.mjs; resolves once it printed its ready line. */
function startProvider(extraEnv = {}) {
  const child = spawn(process.execPath, [path.join(here, 'provider.mjs')], {
    env: {
      ...process.env,
      PROVIDER_PORT: '0',
      PROVIDER_RESOURCE: RESOURCE,
      PROVIDER_RESOURCE_MCP: MCP_RESOURCE,
      PROVIDER_REDIRECT_URIS: REDIRECT_URI,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const instance = { child, stdout: '', stderr: '' };
  child.stderr.on('data', (chunk) => { instance.stderr += chunk; });
  instance.stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`provider not ready in 15 s: ${instance.stderr}`));
    }, 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited with ${code}: ${instance.stderr}`));
    });
    child.stdout.on('data', (chunk) => {
      instance.stdout += chunk;
      const match = /^PROVIDER_READY (\S+)\n/m.exec(instance.stdout);
      if (match && !instance.issuer) {
        clearTimeout(timer);
        instance.issuer = match[1];
        resolve(instance);
      }
    });
  });
}

async function getJson(url) {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return response.json();
}

async function clientCredentials(issuer, clientId, form = {}) {
  return tokenRequest(`${issuer}/token`, { grant_type: 'client_credentials', ...form }, {
    clientId, clientSecret: SECRETS[clientId],
  });
}

async function introspect(issuer, token, clientId = 'push-advisor') {
  const response = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: basicAuthorization(clientId, SECRETS[clientId]),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  assert.equal(response.status, 200);
  return response.json();
}

function decodeJwtPart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

describe('dev authorization server (http)', () => {
  let provider;
  let issuer;

  before(async () => {
    provider = await startProvider();
    issuer = provider.issuer;
  });
  after(async () => {
    assert.equal(await provider.stop(), 0, 'SIGTERM exits cleanly');
  });

  test('ready line names a loopback issuer and is the only stdout output', async () => {
    assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    await getJson(`${issuer}/.well-known/oauth-authorization-server`);
    assert.equal(provider.stdout, `PROVIDER_READY ${issuer}\n`);
  });

  test('idle keep-alive connections are kept 65 s', async () => {
    const header = await new Promise((resolve, reject) => {
      http.get(`${issuer}/jwks`, { agent: new http.Agent({ keepAlive: true }) }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.headers['keep-alive']));
        response.socket.unref();
      }).on('error', reject);
    });
    assert.equal(header, 'timeout=65');
  });

  test('RFC 8414 and OIDC discovery list the endpoints and S256 only', async () => {
    for (const document of ['oauth-authorization-server', 'openid-configuration']) {
      const metadata = await getJson(`${issuer}/.well-known/${document}`);
      assert.equal(metadata.issuer, issuer);
      assert.equal(metadata.token_endpoint, `${issuer}/token`);
      assert.equal(metadata.authorization_endpoint, `${issuer}/auth`);
      assert.equal(metadata.introspection_endpoint, `${issuer}/token/introspection`);
      assert.equal(metadata.revocation_endpoint, `${issuer}/token/revocation`);
      assert.equal(metadata.registration_endpoint, `${issuer}/reg`);
      assert.equal(metadata.jwks_uri, `${issuer}/jwks`);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.ok(metadata.scopes_supported.includes('api:read'));
      assert.ok(metadata.scopes_supported.includes('api:write'));
      assert.ok(metadata.grant_types_supported.includes('client_credentials'));
    }
  });

  test('push-advisor client credentials for the resource introspect as active with that audience', async () => {
    const { status, body } = await clientCredentials(issuer, 'push-advisor', { scope: 'api:read', resource: RESOURCE });
    assert.equal(status, 200);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 300);
    assert.equal(body.access_token.split('.').length, 1, 'opaque, not a JWT');
    const info = await introspect(issuer, body.access_token);
    assert.equal(info.active, true);
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.client_id, 'push-advisor');
    assert.equal(info.iss, issuer);
    assert.ok(info.scope.split(' ').includes('api:read'));
    assert.equal(info.sub, undefined, 'client-credentials tokens have no subject');
  });

  test('without a resource parameter the token is for PROVIDER_RESOURCE; the MCP resource works too', async () => {
    const defaulted = await clientCredentials(issuer, 'push-advisor', { scope: 'api:read api:write' });
    assert.equal(defaulted.status, 200);
    const info = await introspect(issuer, defaulted.body.access_token);
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.scope, 'api:read api:write');

    const mcp = await clientCredentials(issuer, 'push-advisor', { scope: 'api:read', resource: MCP_RESOURCE });
    assert.equal(mcp.status, 200);
    assert.equal((await introspect(issuer, mcp.body.access_token)).aud, MCP_RESOURCE);
  });

  test('unknown resources, including a trailing-slash variant, are invalid_target', async () => {
    for (const resource of [`${RESOURCE}/`, 'http://127.0.0.1:9999']) {
      const { status, body } = await clientCredentials(issuer, 'push-advisor', { scope: 'api:read', resource });
      assert.equal(status, 400, resource);
      assert.equal(body.error, 'invalid_target');
    }
  });

  test('a wrong client secret is invalid_client', async () => {
    const { status, body } = await tokenRequest(`${issuer}/token`, { grant_type: 'client_credentials' }, {
      clientId: 'push-advisor', clientSecret: 'wrong',
    });
    assert.equal(status, 401);
    assert.equal(body.error, 'invalid_client');
  });

  test('writer-only gets only api:write', async () => {
    const { status, body } = await clientCredentials(issuer, 'writer-only', { scope: 'api:read api:write', resource: RESOURCE });
    assert.equal(status, 200);
    assert.equal(body.scope, 'api:write');
    const info = await introspect(issuer, body.access_token);
    assert.equal(info.scope, 'api:write');
    assert.equal(info.aud, RESOURCE);
  });

  test('foreign-client tokens are for the foreign audience only', async () => {
    const { status, body } = await clientCredentials(issuer, 'foreign-client', { scope: 'api:read' });
    assert.equal(status, 200);
    const info = await introspect(issuer, body.access_token);
    assert.equal(info.active, true);
    assert.equal(info.aud, FOREIGN_RESOURCE);

    const denied = await clientCredentials(issuer, 'foreign-client', { scope: 'api:read', resource: RESOURCE });
    assert.equal(denied.status, 400);
    assert.equal(denied.body.error, 'invalid_target');
  });

  test('push-advisor-jwt gets an RFC 9068 JWT signed by a key in the JWKS', async () => {
    const { status, body } = await clientCredentials(issuer, 'push-advisor-jwt', { scope: 'api:read', resource: RESOURCE });
    assert.equal(status, 200);
    const parts = body.access_token.split('.');
    assert.equal(parts.length, 3);
    const header = decodeJwtPart(parts[0]);
    const claims = decodeJwtPart(parts[1]);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'RS256');
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, RESOURCE);
    assert.equal(claims.client_id, 'push-advisor-jwt');
    assert.equal(claims.scope, 'api:read');
    assert.equal(claims.exp - claims.iat, 300);

    const { keys } = await getJson(`${issuer}/jwks`);
    const jwk = keys.find((key) => key.kid === header.kid);
    assert.ok(jwk, 'signing key published');
    assert.equal(jwk.d, undefined, 'JWKS carries no private key material');
    const valid = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
      crypto.createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(parts[2], 'base64url'));
    assert.equal(valid, true);
  });

  test('revocation makes introspection inactive', async () => {
    const { body } = await clientCredentials(issuer, 'push-advisor', { scope: 'api:read', resource: RESOURCE });
    assert.equal((await introspect(issuer, body.access_token)).active, true);
    const response = await fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization('push-advisor', SECRETS['push-advisor']),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: body.access_token, token_type_hint: 'access_token' }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await introspect(issuer, body.access_token), { active: false });
    assert.deepEqual(await introspect(issuer, 'not-a-token'), { active: false });
  });

  test('authorization code + PKCE via flow.mjs: the token has the login as sub and the resource as aud', async () => {
    const { verifier, challenge } = pkcePair();
    const state = crypto.randomBytes(8).toString('hex');
    const authorize = new URL(`${issuer}/auth`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'push-advisor',
      redirect_uri: REDIRECT_URI,
      scope: 'openid api:read api:write',
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const { stdout } = await run(process.execPath, [
      path.join(here, 'flow.mjs'), '--issuer', issuer, '--client-id', 'push-advisor',
      '--redirect-uri', REDIRECT_URI, '--authorize-url', authorize.href, '--login', 'alice',
    ]);
    const result = JSON.parse(stdout);
    assert.ok(result.redirect_url.startsWith(`${REDIRECT_URI}?`));
    assert.equal(result.state, state);
    assert.equal(result.iss, issuer);
    assert.ok(result.code);

    const missingVerifier = await tokenRequest(`${issuer}/token`, {
      grant_type: 'authorization_code', code: result.code, redirect_uri: REDIRECT_URI,
    }, { clientId: 'push-advisor', clientSecret: SECRETS['push-advisor'] });
    assert.equal(missingVerifier.status, 400, 'PKCE is enforced once a challenge was sent');
    assert.equal(missingVerifier.body.error, 'invalid_grant');

    // A fresh code, so the exchange below does not depend on what the failed attempt did to the first.
    const again = await authorizationCodeLogin({ authorizeUrl: authorize.href, redirectUri: REDIRECT_URI, login: 'alice' });
    const { status, body } = await tokenRequest(`${issuer}/token`, {
      grant_type: 'authorization_code', code: again.code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
    }, { clientId: 'push-advisor', clientSecret: SECRETS['push-advisor'] });
    assert.equal(status, 200, JSON.stringify(body.error ?? ''));
    assert.equal(body.access_token.split('.').length, 1, 'opaque access token');
    assert.equal(body.scope, 'api:read api:write');
    assert.ok(body.refresh_token, 'push-advisor gets a refresh token');
    const info = await introspect(issuer, body.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.client_id, 'push-advisor');

    const refreshed = await tokenRequest(`${issuer}/token`, {
      grant_type: 'refresh_token', refresh_token: body.refresh_token,
    }, { clientId: 'push-advisor', clientSecret: SECRETS['push-advisor'] });
    assert.equal(refreshed.status, 200);
    const refreshedInfo = await introspect(issuer, refreshed.body.access_token);
    assert.equal(refreshedInfo.sub, 'alice');
    assert.equal(refreshedInfo.aud, RESOURCE);
  });

  test('the store is not an LRU: the first of 2050 tokens is still active', async () => {
    // The library's built-in LRU keeps two generations of 1000 entries: 2050 tokens evict the first.
    const first = await clientCredentials(issuer, 'push-advisor', { scope: 'api:read' });
    let issued = 1;
    const worker = async () => {
      while (issued < 2050) {
        issued += 1;
        const { status } = await clientCredentials(issuer, 'push-advisor', { scope: 'api:read' });
        assert.equal(status, 200);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    assert.equal((await introspect(issuer, first.body.access_token)).active, true);
  });

  test('a dynamically registered public client must use PKCE and can get a token for the MCP resource', async () => {
    const callback = 'http://127.0.0.1:33418/callback';
    const registration = await fetch(`${issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'smoke public client',
        redirect_uris: [callback],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        scope: 'api:read api:write',
      }),
    });
    assert.equal(registration.status, 201);
    const client = await registration.json();
    assert.ok(client.client_id);
    assert.equal(client.client_secret, undefined);

    const withoutPkce = new URL(`${issuer}/auth`);
    withoutPkce.search = new URLSearchParams({
      response_type: 'code', client_id: client.client_id, redirect_uri: callback, scope: 'api:read', resource: MCP_RESOURCE,
    }).toString();
    const refused = await authorizationCodeLogin({ authorizeUrl: withoutPkce.href, redirectUri: callback, login: 'bob' });
    assert.equal(refused.code, null);
    assert.equal(refused.error, 'invalid_request');

    const { url, verifier } = await buildAuthorizeUrl({
      issuer, clientId: client.client_id, redirectUri: callback, scope: 'api:read', resource: MCP_RESOURCE,
    });
    const granted = await authorizationCodeLogin({ authorizeUrl: url, redirectUri: callback, login: 'bob' });
    assert.ok(granted.code);
    const { status, body } = await tokenRequest(`${issuer}/token`, {
      grant_type: 'authorization_code', code: granted.code, redirect_uri: callback, code_verifier: verifier, resource: MCP_RESOURCE,
    }, { clientId: client.client_id });
    assert.equal(status, 200, JSON.stringify(body.error ?? ''));
    const info = await introspect(issuer, body.access_token);
    assert.equal(info.sub, 'bob');
    assert.equal(info.aud, MCP_RESOURCE);
    assert.equal(info.scope, 'api:read');
  });
});

test('PROVIDER_ACCESS_TOKEN_TTL=2 makes tokens expire after 2 s', async () => {
  const provider = await startProvider({ PROVIDER_ACCESS_TOKEN_TTL: '2' });
  try {
    const { status, body } = await clientCredentials(provider.issuer, 'push-advisor', { scope: 'api:read', resource: RESOURCE });
    assert.equal(status, 200);
    assert.equal(body.expires_in, 2);
    const info = await introspect(provider.issuer, body.access_token);
    assert.equal(info.active, true);
    assert.ok(info.exp - info.iat <= 2);
    await new Promise((resolve) => { setTimeout(resolve, 3_100); });
    assert.deepEqual(await introspect(provider.issuer, body.access_token), { active: false });
  } finally {
    await provider.stop();
  }
});

describe('dev authorization server (https with a test CA)', () => {
  let dir;
  let provider;
  let ca;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provider-tls-'));
    const file = (name) => path.join(dir, name);
    fs.writeFileSync(file('leaf.ext'), [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ].join('\n'));
    const openssl = (...args) => run('openssl', args);
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'),
      '-days', '1', '-subj', '/CN=push-advisor test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('leaf.key'), '-out', file('leaf.csr'),
      '-subj', '/CN=localhost');
    await openssl('x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-CAcreateserial', '-out', file('leaf.pem'), '-days', '1', '-extfile', file('leaf.ext'));
    ca = fs.readFileSync(file('ca.pem'));
    provider = await startProvider({ PROVIDER_TLS_CERT: file('leaf.pem'), PROVIDER_TLS_KEY: file('leaf.key') });
  });
  after(async () => {
    await provider?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function httpsGet(url, options) {
    return new Promise((resolve, reject) => {
      https.get(url, options, (response) => {
        let text = '';
        response.on('data', (chunk) => { text += chunk; });
        response.on('end', () => resolve({ status: response.statusCode, text }));
      }).on('error', reject);
    });
  }

  test('the issuer is https://localhost:<port> and discovery verifies against the test CA', async () => {
    assert.match(provider.issuer, /^https:\/\/localhost:\d+$/);
    const agent = new https.Agent({ ca, keepAlive: false });
    const { status, text } = await httpsGet(`${provider.issuer}/.well-known/oauth-authorization-server`, { agent });
    assert.equal(status, 200);
    const metadata = JSON.parse(text);
    assert.equal(metadata.issuer, provider.issuer);
    assert.equal(metadata.token_endpoint, `${provider.issuer}/token`);
    // The same certificate also names 127.0.0.1.
    const byIp = await httpsGet(provider.issuer.replace('localhost', '127.0.0.1') + '/jwks', { agent });
    assert.equal(byIp.status, 200);
  });

  test('without the test CA the certificate is rejected', async () => {
    await assert.rejects(
      httpsGet(`${provider.issuer}/jwks`, { agent: new https.Agent({ keepAlive: false }) }),
      (error) => /self[- ]signed|unable to (get|verify)/i.test(error.message),
    );
  });

  test('flow.mjs client credentials over HTTPS with NODE_EXTRA_CA_CERTS', async () => {
    const { stdout } = await run(process.execPath, [
      path.join(here, 'flow.mjs'), '--issuer', provider.issuer, '--client-credentials',
      '--client-id', 'push-advisor', '--client-secret', SECRETS['push-advisor'],
      '--scope', 'api:read', '--resource', RESOURCE,
    ], { env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') } });
    const body = JSON.parse(stdout);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'api:read');

    const agent = new https.Agent({ ca, keepAlive: false });
    const info = await new Promise((resolve, reject) => {
      const request = https.request(`${provider.issuer}/token/introspection`, {
        method: 'POST',
        agent,
        headers: {
          authorization: basicAuthorization('push-advisor', SECRETS['push-advisor']),
          'content-type': 'application/x-www-form-urlencoded',
        },
      }, (response) => {
        let text = '';
        response.on('data', (chunk) => { text += chunk; });
        response.on('end', () => resolve(JSON.parse(text)));
      });
      request.on('error', reject);
      request.end(new URLSearchParams({ token: body.access_token }).toString());
    });
    assert.equal(info.active, true);
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.iss, provider.issuer);
  });
});
