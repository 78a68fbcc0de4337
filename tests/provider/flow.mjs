// Browser-less OAuth helper for the dev provider (provider.mjs); no dependencies, Node 20 fetch.
//
// Authorization code login (drives the devInteractions login and consent forms with a cookie jar):
//   node flow.mjs --issuer URL --client-id ID --redirect-uri URI --login alice \
//     [--authorize-url FULL_URL | --scope "openid api:read" --resource URI --state S --code-challenge C]
//     [--password P] [--exchange --client-secret SECRET]
//   Prints JSON {redirect_url, code, state, iss, code_verifier?, token_response?}. Without
//   --authorize-url it builds one with a fresh PKCE pair (S256) and reports code_verifier, unless
//   --code-challenge is given. --exchange also redeems the code at the token endpoint
//   (client_secret_basic when --client-secret is given, else a public client).
//
// Client credentials:
//   node flow.mjs --issuer URL --client-credentials --client-id ID --client-secret SECRET \
//     [--scope "api:read"] [--resource URI]
//   Prints the token endpoint's JSON response; exits 1 when it is an error.
//
// HTTPS issuers: trust the test CA with NODE_EXTRA_CA_CERTS=ca.pem.
// Output carries tokens: it is for tests and local demos only; never log it.

import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

/** RFC 8414 metadata of the issuer. */
export async function discover(issuer) {
  const response = await fetch(new URL('/.well-known/oauth-authorization-server', issuer));
  if (!response.ok) throw new Error(`discovery failed: HTTP ${response.status}`);
  return response.json();
}

/** A fresh PKCE pair (RFC 7636, S256). */
export function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** HTTP Basic credentials with each part form-url-encoded first (RFC 6749 section 2.3.1). */
export function basicAuthorization(clientId, clientSecret) {
  const encode = (value) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/** POSTs a form to the token endpoint; returns { status, body }. */
export async function tokenRequest(tokenEndpoint, form, { clientId, clientSecret } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const params = new URLSearchParams(form);
  if (clientSecret !== undefined) {
    headers.authorization = basicAuthorization(clientId, clientSecret);
  } else if (clientId !== undefined) {
    params.set('client_id', clientId);
  }
  const response = await fetch(tokenEndpoint, { method: 'POST', headers, body: params });
  return { status: response.status, body: await response.json() };
}

/** Client credentials grant; returns { status, body }. */
export async function clientCredentials({ issuer, clientId, clientSecret, scope, resource }) {
  const metadata = await discover(issuer);
  const form = { grant_type: 'client_credentials' };
  if (scope) form.scope = scope;
  if (resource) form.resource = resource;
  return tokenRequest(metadata.token_endpoint, form, { clientId, clientSecret });
}

/** Builds an authorization URL; returns { url, verifier? }. */
export async function buildAuthorizeUrl({ issuer, clientId, redirectUri, scope, resource, state, codeChallenge }) {
  const metadata = await discover(issuer);
  const url = new URL(metadata.authorization_endpoint);
  let verifier;
  let challenge = codeChallenge;
  if (!challenge) {
    ({ verifier, challenge } = pkcePair());
  }
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('scope', scope || 'openid api:read');
  if (resource) url.searchParams.set('resource', resource);
  url.searchParams.set('state', state || crypto.randomBytes(12).toString('base64url'));
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return { url: url.href, verifier };
}

/**
 * Follows an authorization request through the dev login and consent forms until the provider
 * redirects to redirectUri; returns that URL's parameters.
 */
export async function authorizationCodeLogin({ authorizeUrl, redirectUri, login, password = 'dev', maxSteps = 20 }) {
  const jar = new Map();
  const target = new URL(redirectUri);
  let url = new URL(authorizeUrl);
  let request = { method: 'GET' };

  for (let step = 0; step < maxSteps; step += 1) {
    if (url.origin === target.origin && url.pathname === target.pathname) {
      return {
        redirect_url: url.href,
        code: url.searchParams.get('code'),
        state: url.searchParams.get('state'),
        iss: url.searchParams.get('iss'),
        error: url.searchParams.get('error') ?? undefined,
        error_description: url.searchParams.get('error_description') ?? undefined,
      };
    }
    const headers = { ...(request.headers ?? {}) };
    if (jar.size) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { ...request, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const pair = cookie.split(';', 1)[0];
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      request = { method: 'GET' };
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) {
      throw new Error(`unexpected HTTP ${response.status} at ${url.pathname}: ${html.slice(0, 300)}`);
    }
    const prompt = /name="prompt"\s+value="([a-z]+)"/.exec(html)?.[1];
    const body = new URLSearchParams({ prompt: prompt ?? '' });
    if (prompt === 'login') {
      body.set('login', login);
      body.set('password', password);
    } else if (prompt !== 'consent') {
      throw new Error(`no login or consent form at ${url.pathname}`);
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? url.pathname;
    url = new URL(action.replace(/&amp;/g, '&'), url);
    request = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body };
  }
  throw new Error(`no redirect to ${redirectUri} within ${maxSteps} steps`);
}

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.slice(2);
    if (name === 'client-credentials' || name === 'exchange') {
      options[name] = true;
    } else {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      options[name] = argv[i + 1];
      i += 1;
    }
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const required = (name) => {
    if (!options[name]) throw new Error(`--${name} is required`);
    return options[name];
  };
  const issuer = required('issuer');
  const clientId = required('client-id');

  if (options['client-credentials']) {
    const { status, body } = await clientCredentials({
      issuer,
      clientId,
      clientSecret: required('client-secret'),
      scope: options.scope,
      resource: options.resource,
    });
    process.stdout.write(`${JSON.stringify(body)}\n`);
    return status === 200 ? 0 : 1;
  }

  const redirectUri = required('redirect-uri');
  let authorizeUrl = options['authorize-url'];
  let verifier;
  if (!authorizeUrl) {
    ({ url: authorizeUrl, verifier } = await buildAuthorizeUrl({
      issuer,
      clientId,
      redirectUri,
      scope: options.scope,
      resource: options.resource,
      state: options.state,
      codeChallenge: options['code-challenge'],
    }));
  }
  const result = await authorizationCodeLogin({
    authorizeUrl, redirectUri, login: required('login'), password: options.password,
  });
  if (verifier) result.code_verifier = verifier;
  if (options.exchange && result.code) {
    const metadata = await discover(issuer);
    const form = { grant_type: 'authorization_code', code: result.code, redirect_uri: redirectUri };
    if (verifier) form.code_verifier = verifier;
    if (options.resource) form.resource = options.resource;
    result.token_response = (await tokenRequest(metadata.token_endpoint, form, {
      clientId, clientSecret: options['client-secret'],
    })).body;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.code ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then((code) => { process.exitCode = code; }, (error) => {
    process.stderr.write(`flow: ${error.message}\n`);
    process.exitCode = 2;
  });
}
