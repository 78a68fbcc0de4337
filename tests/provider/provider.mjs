// Development OAuth 2.0 / OpenID Connect authorization server for Push Advisor tests and demos,
// built on the npm package `oidc-provider`. Loopback only; every secret here is a dev default.
//
// Environment (all optional):
//   PROVIDER_HOST              listen address, default 127.0.0.1 (keep it on loopback)
//   PROVIDER_PORT              listen port, default 0 (= a free port; read it from the ready line)
//   PROVIDER_ISSUER            issuer URL, default http://127.0.0.1:<port>, or https://localhost:<port>
//                              when TLS is on
//   PROVIDER_ISSUER_TRAILING_SLASH  1: the default issuer ends with `/`, as Auth0 publishes its issuers
//   PROVIDER_TRUST_PROXY       1: endpoint URLs follow X-Forwarded-Proto (a test proxy in front
//                              that speaks TLS to clients, plain HTTP to this server)
//   PROVIDER_TLS_CERT          PEM certificate (chain) file; with PROVIDER_TLS_KEY serves HTTPS
//   PROVIDER_TLS_KEY           PEM private key file
//   PROVIDER_RESOURCE          canonical URI of the protected resource, default http://127.0.0.1:8787;
//                              the default audience when a client sends no `resource`
//   PROVIDER_RESOURCE_MCP      optional second resource URI (e.g. http://127.0.0.1:8787/mcp)
//   PROVIDER_RESOURCE_SCOPES   space-separated scopes of the resource, default "api:read api:write"
//                              (e.g. the auth-only gateway's "gateway:read gateway:write")
//   PROVIDER_ACCESS_TOKEN_TTL  access token lifetime in seconds, default 300
//   PROVIDER_JWT_ACCESS_TOKENS 1: every client gets RS256 JWT access tokens (RFC 9068) for the
//                              resources, not only `push-advisor-jwt` (e.g. for MCP clients that
//                              register themselves)
//   PROVIDER_REDIRECT_URIS     comma-separated redirect URIs of the `push-advisor` client,
//                              default http://127.0.0.1:8787/token
//   PROVIDER_SECRET_PUSH_ADVISOR      default dev-secret-push-advisor
//   PROVIDER_SECRET_PUSH_ADVISOR_JWT  default dev-secret-push-advisor-jwt
//   PROVIDER_SECRET_WRITER_ONLY       default dev-secret-writer-only
//   PROVIDER_SECRET_FOREIGN_CLIENT    default dev-secret-foreign-client
//
// Stdout carries exactly one line, `PROVIDER_READY <issuer>`, once the server accepts requests.
// Everything else (library notices, request log without tokens) goes to stderr.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

// oidc-provider prints notices with console.info (stdout); keep stdout for the ready line only.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

const { default: Provider, errors } = await import('oidc-provider');
const { MapAdapter } = await import('./map_adapter.mjs');

/** An audience string only: no traffic ever goes there. */
const FOREIGN_RESOURCE = 'https://other-api.example';

const env = process.env;
const RESOURCE_SCOPES = (env.PROVIDER_RESOURCE_SCOPES || 'api:read api:write').split(' ').filter(Boolean);
const host = env.PROVIDER_HOST || '127.0.0.1';
const requestedPort = parsePort(env.PROVIDER_PORT ?? '0');
const tlsCertPath = env.PROVIDER_TLS_CERT || '';
const tlsKeyPath = env.PROVIDER_TLS_KEY || '';
if (Boolean(tlsCertPath) !== Boolean(tlsKeyPath)) {
  fail('PROVIDER_TLS_CERT and PROVIDER_TLS_KEY must be set together');
}
const tls = Boolean(tlsCertPath);
const resource = env.PROVIDER_RESOURCE || 'http://127.0.0.1:8787';
const mcpResource = env.PROVIDER_RESOURCE_MCP || '';
const accessTokenTtl = parsePositiveInt('PROVIDER_ACCESS_TOKEN_TTL', env.PROVIDER_ACCESS_TOKEN_TTL ?? '300');
const jwtAccessTokensForAll = env.PROVIDER_JWT_ACCESS_TOKENS === '1';
const redirectUris = (env.PROVIDER_REDIRECT_URIS || 'http://127.0.0.1:8787/token')
  .split(',').map((uri) => uri.trim()).filter(Boolean);

const ownResources = new Set([resource, ...(mcpResource ? [mcpResource] : [])]);

const CLIENT = {
  pushAdvisor: 'push-advisor',
  pushAdvisorJwt: 'push-advisor-jwt',
  writerOnly: 'writer-only',
  foreign: 'foreign-client',
};

const clients = [
  {
    client_id: CLIENT.pushAdvisor,
    client_secret: env.PROVIDER_SECRET_PUSH_ADVISOR || 'dev-secret-push-advisor',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: redirectUris,
  },
  {
    client_id: CLIENT.pushAdvisorJwt,
    client_secret: env.PROVIDER_SECRET_PUSH_ADVISOR_JWT || 'dev-secret-push-advisor-jwt',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
  {
    client_id: CLIENT.writerOnly,
    client_secret: env.PROVIDER_SECRET_WRITER_ONLY || 'dev-secret-writer-only',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
  {
    client_id: CLIENT.foreign,
    client_secret: env.PROVIDER_SECRET_FOREIGN_CLIENT || 'dev-secret-foreign-client',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
];

/** Which audience, scopes and token format a client gets for a resource; throws invalid_target otherwise. */
function resourceServerInfo(_ctx, indicator, client) {
  const clientId = client?.clientId;
  const allowed = clientId === CLIENT.foreign
    ? indicator === FOREIGN_RESOURCE
    : ownResources.has(indicator) || indicator === FOREIGN_RESOURCE;
  if (!allowed) {
    throw new errors.InvalidTarget('unknown resource for this client');
  }
  return {
    audience: indicator,
    scope: clientId === CLIENT.writerOnly ? 'api:write' : RESOURCE_SCOPES.join(' '),
    accessTokenTTL: accessTokenTtl,
    ...(jwtAccessTokensForAll || clientId === CLIENT.pushAdvisorJwt
      ? { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }
      : { accessTokenFormat: 'opaque' }),
  };
}

function defaultResourceFor(client) {
  return client?.clientId === CLIENT.foreign ? FOREIGN_RESOURCE : resource;
}

const server = tls
  ? https.createServer({ cert: fs.readFileSync(tlsCertPath), key: fs.readFileSync(tlsKeyPath) })
  : http.createServer();
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(requestedPort, host, resolve);
});
const { port } = server.address();
const issuer = env.PROVIDER_ISSUER
  || `${tls ? 'https' : 'http'}://${tls ? 'localhost' : '127.0.0.1'}:${port}${env.PROVIDER_ISSUER_TRAILING_SLASH === '1' ? '/' : ''}`;

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients,
  jwks: { keys: [signingKey()] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', ...RESOURCE_SCOPES],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  findAccount: (_ctx, accountId) => ({
    accountId,
    claims: () => ({
      sub: accountId,
      name: accountId,
      preferred_username: accountId,
      email: `${accountId}@example.test`,
      email_verified: false,
    }),
  }),
  pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
  // Any client allowed the refresh_token grant gets one from the code flow, offline_access or not.
  issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    // Functions, not numbers: a number here would override the resource server's accessTokenTTL.
    AccessToken: () => accessTokenTtl,
    ClientCredentials: () => accessTokenTtl,
    AuthorizationCode: () => 60,
    Grant: () => 14 * 24 * 3600,
    IdToken: () => 3600,
    Interaction: () => 3600,
    RefreshToken: () => 24 * 3600,
    Session: () => 14 * 24 * 3600,
  },
  clientBasedCORS: () => true,
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Any confidential client may introspect; a public client only its own tokens.
      allowedPolicy: (_ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
    },
    revocation: {
      enabled: true,
      // Only the client a token was issued to may revoke it.
      allowedPolicy: (_ctx, client, token) => {
        if (token.clientId === client.clientId) return true;
        if (client.clientAuthMethod === 'none') return false;
        throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
      },
    },
    registration: { enabled: true, initialAccessToken: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, client, oneOf) => {
        if (oneOf) return oneOf.includes(resource) ? resource : oneOf[0];
        return defaultResourceFor(client);
      },
      useGrantedResource: () => true,
      getResourceServerInfo: resourceServerInfo,
    },
  },
});

// Log method, path and outcome only: never query strings, bodies or headers (they carry tokens).
provider.use(async (ctx, next) => {
  const started = Date.now();
  await next();
  if (env.PROVIDER_LOG) {
    process.stderr.write(`provider: ${ctx.method} ${ctx.path} ${ctx.status} ${Date.now() - started}ms\n`);
  }
});

if (env.PROVIDER_TRUST_PROXY === '1') provider.proxy = true;
server.on('request', provider.callback());

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}

process.stdout.write(`PROVIDER_READY ${issuer}\n`);

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}

function parsePort(text) {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PROVIDER_PORT must be 0..65535, got ${text}`);
  return port;
}

function parsePositiveInt(name, text) {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) fail(`${name} must be a positive integer, got ${text}`);
  return value;
}

function fail(message) {
  process.stderr.write(`provider: ${message}\n`);
  process.exit(2);
}
