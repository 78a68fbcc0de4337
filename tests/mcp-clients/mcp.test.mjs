// Official MCP clients against the real push-advisor MCP endpoint and the real dev OAuth provider:
// the TypeScript SDK (cold start with discovery, dynamic registration and PKCE; step-up on 403),
// the TypeScript client v2 speaking 2026-07-28 (pinned and `auto`, cold start through OAuth),
// the Python SDK (initialize, and 2026-07-28 pinned and `auto`), the Rust SDK rmcp (2026-07-28 pinned),
// the Python SDK and the MCP Inspector CLI, plus raw HTTP checks of the challenge and the PRM.
// Run: cd tests/mcp-clients && npm ci && node --test mcp.test.mjs

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth, discoverAuthorizationServerMetadata, registerClient, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransportV2,
  UnauthorizedError as UnauthorizedErrorV2,
} from '@modelcontextprotocol/client';

import { clientCredentials } from '../provider/flow.mjs';
import { PUSH_ADVISOR_CLIENT_ID, PUSH_ADVISOR_CLIENT_SECRET, startStack } from './harness.mjs';
import { BrowserlessOAuthClient, BrowserlessOAuthClientV2, recordingFetch } from './oauth_client.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const TOOL_NAMES = ['can_i_push_to_prod', 'get_deploy_history', 'vibe_check'];
const USER = 'alice';
const CASE_TIMEOUT_MS = 120_000;

let stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

/** Parameters of a `Bearer k="v", ...` challenge. */
function challengeParams(header) {
  assert.ok(header, 'a WWW-Authenticate header');
  assert.match(header, /^Bearer\b/i, `Bearer scheme in WWW-Authenticate: ${header}`);
  const params = {};
  for (const [, name, quoted, token] of header.matchAll(/([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[name.toLowerCase()] = quoted ?? token;
  }
  return params;
}

/** Status, headers and body of a response, for failure messages. */
async function describeResponse(request, response) {
  const body = await response.text();
  const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  return { body, text: `${request}\n-> HTTP ${response.status}\n${headers}\n\n${body.slice(0, 2000)}` };
}

function initializeRequest(id = 1) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'push-advisor-raw-check', version: '1.0.0' },
    },
  };
}

async function postMcp(body, headers = {}) {
  return fetch(stack.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}

/** A client-credentials token of `push-advisor` for the MCP resource. */
async function serviceToken(scope = 'api:read') {
  const { status, body } = await clientCredentials({
    issuer: stack.issuer,
    clientId: PUSH_ADVISOR_CLIENT_ID,
    clientSecret: PUSH_ADVISOR_CLIENT_SECRET,
    scope,
    resource: stack.mcpUrl,
  });
  assert.equal(status, 200, `client credentials token: ${JSON.stringify(body.error ?? body)}`);
  assert.ok(body.access_token);
  return body.access_token;
}

function redirectUrlFor(name) {
  // Loopback and never listened on: the login helper stops at this URL and reads the code.
  return `http://127.0.0.1:9/${name}/callback`;
}

function newTransport(oauth, recorder, target = stack) {
  return new StreamableHTTPClientTransport(new URL(target.mcpUrl), { authProvider: oauth, fetch: recorder.fetch });
}

function newClient() {
  return new Client({ name: 'push-advisor-mcp-client-test', version: '1.0.0' });
}

function assertToolList(tools, context) {
  assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES, `tool names (${context})`);
  for (const tool of tools) {
    assert.equal(tool.inputSchema?.type, 'object', `${tool.name} inputSchema is an object schema (${context})`);
    assert.equal(tool.outputSchema?.type, 'object', `${tool.name} has an object outputSchema (${context})`);
    assert.equal(typeof tool.description, 'string', `${tool.name} has a description (${context})`);
  }
}

/** A successful tool result whose only text block is the JSON of structuredContent. */
function assertStructuredResult(result, name) {
  assert.notEqual(result.isError, true, `${name} isError: ${JSON.stringify(result)}`);
  assert.ok(result.structuredContent && typeof result.structuredContent === 'object', `${name} has structuredContent: ${JSON.stringify(result)}`);
  const texts = result.content.filter((block) => block.type === 'text');
  assert.equal(texts.length, 1, `${name} has one text block: ${JSON.stringify(result.content)}`);
  assert.deepEqual(JSON.parse(texts[0].text), result.structuredContent, `${name} text block is the structuredContent as JSON`);
}

function assertDeployHistoryFor(result, user) {
  assertStructuredResult(result, 'get_deploy_history');
  const { deployments, authenticated_user: authenticatedUser } = result.structuredContent;
  assert.ok(Array.isArray(deployments) && deployments.length > 0, `deployments listed: ${JSON.stringify(result.structuredContent)}`);
  if (user !== undefined) {
    assert.equal(authenticatedUser, user, 'authenticated_user is the logged-in user');
    for (const deployment of deployments) assert.equal(deployment.user, user, `deployment ${deployment.id} names ${user}`);
  }
}

describe('raw HTTP: challenge and protected resource metadata', () => {
  test('no token: 401 whose challenge points at the path-form PRM', async () => {
    const response = await postMcp(initializeRequest());
    const { text } = await describeResponse(`POST ${stack.mcpUrl} (initialize, no Authorization)`, response);
    assert.equal(response.status, 401, text);
    const params = challengeParams(response.headers.get('www-authenticate'));
    assert.equal(params.resource_metadata, `${stack.origin}/.well-known/oauth-protected-resource/mcp`, text);
    assert.equal(params.error, undefined, `no error attribute without a token (RFC 6750 3.1)\n${text}`);
    assert.ok(params.scope, `a scope attribute\n${text}`);
  });

  test('unknown token: 401 invalid_token', async () => {
    const response = await postMcp(initializeRequest(), { authorization: 'Bearer not-a-token-the-provider-issued' });
    const { text } = await describeResponse(`POST ${stack.mcpUrl} (initialize, unknown bearer token)`, response);
    assert.equal(response.status, 401, text);
    const params = challengeParams(response.headers.get('www-authenticate'));
    assert.equal(params.error, 'invalid_token', text);
    assert.equal(params.resource_metadata, `${stack.origin}/.well-known/oauth-protected-resource/mcp`, text);
  });

  test('PRM names the MCP endpoint as resource and the provider as authorization server', async () => {
    const url = `${stack.origin}/.well-known/oauth-protected-resource/mcp`;
    const response = await fetch(url);
    const { body, text } = await describeResponse(`GET ${url}`, response);
    assert.equal(response.status, 200, text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/, text);
    const prm = JSON.parse(body);
    assert.equal(prm.resource, stack.mcpUrl, text);
    assert.ok(Array.isArray(prm.authorization_servers), text);
    assert.ok(prm.authorization_servers.map((s) => s.replace(/\/+$/, '')).includes(stack.issuer), `issuer ${stack.issuer} listed\n${text}`);

    const rootUrl = `${stack.origin}/.well-known/oauth-protected-resource`;
    const rootResponse = await fetch(rootUrl);
    const root = await describeResponse(`GET ${rootUrl}`, rootResponse);
    assert.equal(rootResponse.status, 200, root.text);
    const rootPrm = JSON.parse(root.body);
    assert.equal(rootPrm.resource, stack.origin, root.text);
    assert.ok(rootPrm.authorization_servers.map((s) => s.replace(/\/+$/, '')).includes(stack.issuer), root.text);
  });
});

/**
 * The TypeScript SDK's cold start against `target` (a stack from startStack): 401, PRM from the
 * challenge, provider metadata, dynamic registration, PKCE login with the PRM's resource, tools.
 */
async function coldStart(target, redirectName) {
  const recorder = recordingFetch();
  const oauth = new BrowserlessOAuthClient({ redirectUrl: redirectUrlFor(redirectName), login: USER });

  const firstTransport = newTransport(oauth, recorder, target);
  await assert.rejects(newClient().connect(firstTransport), UnauthorizedError, recorder.summary());

  const [firstMcp] = recorder.exchanges.filter((e) => e.url === target.mcpUrl);
  assert.equal(firstMcp?.status, 401, `first MCP request answered 401\n${recorder.summary()}`);
  const prmUrl = challengeParams(firstMcp.wwwAuthenticate).resource_metadata;
  assert.ok(recorder.exchanges.some((e) => e.url === prmUrl && e.status === 200), `PRM fetched from the challenge's URL\n${recorder.summary()}`);
  assert.ok(recorder.exchanges.some((e) => e.url.startsWith(target.issuer) && e.url.includes('/.well-known/') && e.status === 200),
    `provider metadata fetched\n${recorder.summary()}`);
  assert.ok(recorder.exchanges.some((e) => e.method === 'POST' && e.url === `${target.issuer}/reg` && e.status === 201),
    `dynamic client registration\n${recorder.summary()}`);
  assert.equal(oauth.registrations.length, 1, 'one registration');

  assert.equal(oauth.authorizationUrls.length, 1, 'one authorization');
  const authorization = oauth.authorizationUrls[0];
  assert.equal(authorization.origin, target.issuer, 'authorization at the provider');
  assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authorization.searchParams.get('code_challenge'));
  assert.equal(authorization.searchParams.get('resource'), target.mcpUrl, 'RFC 8707 resource from the PRM');
  assert.equal(authorization.searchParams.get('client_id'), oauth.registrations[0].client_id);

  await firstTransport.finishAuth(oauth.takeCode());
  assert.ok(oauth.tokens()?.access_token, 'tokens saved');
  assert.match(oauth.tokens().scope ?? '', /\bapi:read\b/, 'granted scope includes api:read');

  const client = newClient();
  await client.connect(newTransport(oauth, recorder, target));
  try {
    const { tools } = await client.listTools();
    assertToolList(tools, 'TypeScript SDK');

    const history = await client.callTool({ name: 'get_deploy_history', arguments: {} });
    assertDeployHistoryFor(history, USER);
    for (const name of ['vibe_check', 'can_i_push_to_prod']) {
      assertStructuredResult(await client.callTool({ name, arguments: {} }), name);
    }
  } finally {
    await client.close();
  }
  return oauth.tokens().access_token;
}

describe('TypeScript SDK', () => {
  test('cold start: 401, discovery, dynamic registration, PKCE login, tools', { timeout: CASE_TIMEOUT_MS }, async () => {
    await coldStart(stack, 'cold-start');
  });

  test('step-up: an api:write-only token gets 403 insufficient_scope, re-authorizes with api:read', { timeout: CASE_TIMEOUT_MS }, async () => {
    const recorder = recordingFetch();
    // No refresh token: on 403 the SDK then starts a new authorization instead of refreshing the
    // same narrow grant.
    const oauth = new BrowserlessOAuthClient({
      redirectUrl: redirectUrlFor('step-up'),
      login: USER,
      grantTypes: ['authorization_code'],
    });
    // Register with both scopes so the provider lets the same client step up later; the first
    // authorization then asks for api:write only.
    const metadata = await discoverAuthorizationServerMetadata(stack.issuer);
    oauth.saveClientInformation(await registerClient(stack.issuer, {
      metadata,
      clientMetadata: oauth.clientMetadata,
      scope: 'api:read api:write',
    }));

    const first = await auth(oauth, { serverUrl: stack.mcpUrl, scope: 'api:write', fetchFn: recorder.fetch });
    assert.equal(first, 'REDIRECT');
    assert.equal(oauth.authorizationUrls[0].searchParams.get('scope'), 'api:write');
    assert.equal(oauth.authorizationUrls[0].searchParams.get('resource'), stack.mcpUrl);

    const transport = newTransport(oauth, recorder);
    await transport.finishAuth(oauth.takeCode());
    assert.equal(oauth.tokens()?.scope, 'api:write', 'first grant is api:write only');

    const client = newClient();
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assertToolList(tools, 'api:write token');

      const before403 = recorder.exchanges.length;
      await assert.rejects(client.callTool({ name: 'get_deploy_history', arguments: {} }), UnauthorizedError,
        `the SDK turns 403 insufficient_scope into a new authorization\n${recorder.summary()}`);
      const forbidden = recorder.exchanges.slice(before403).find((e) => e.url === stack.mcpUrl && e.status === 403);
      assert.ok(forbidden, `a 403 from the MCP endpoint\n${recorder.summary()}`);
      const params = challengeParams(forbidden.wwwAuthenticate);
      assert.equal(params.error, 'insufficient_scope', forbidden.wwwAuthenticate);
      assert.match(params.scope ?? '', /\bapi:read\b/, `challenge scope names api:read: ${forbidden.wwwAuthenticate}`);
      assert.equal(params.resource_metadata, `${stack.origin}/.well-known/oauth-protected-resource/mcp`, forbidden.wwwAuthenticate);

      assert.equal(oauth.authorizationUrls.length, 2, 'a second authorization');
      const stepUp = oauth.authorizationUrls[1];
      assert.match(stepUp.searchParams.get('scope') ?? '', /\bapi:read\b/, 'step-up asks for api:read');
      await transport.finishAuth(oauth.takeCode());
      assert.match(oauth.tokens()?.scope ?? '', /\bapi:read\b/, 'new grant includes api:read');
      assert.match(oauth.tokens()?.scope ?? '', /\bapi:write\b/, 'the challenge named granted + required, so api:write is kept');

      const history = await client.callTool({ name: 'get_deploy_history', arguments: {} });
      assertDeployHistoryFor(history, USER);
    } finally {
      await client.close();
    }
  });
});

const MODERN = '2026-07-28';
const V2_MODES = [['pinned to 2026-07-28', { pin: MODERN }], ['auto', 'auto']];
// The same cold start when the provider issues RFC 9068 JWT access tokens (to every client, the
// registered one included) and push-advisor checks them only locally against the provider's JWKS.
describe('TypeScript SDK with JWT access tokens (PUSH_ADVISOR_VALIDATION=jwt)', { skip: process.env.MCP_TARGET_URL ? 'the harness starts this stack itself' : false }, () => {
  let jwtStack;
  before(async () => {
    jwtStack = await startStack({ jwtAccessTokens: true });
  });
  after(async () => {
    await jwtStack?.stop();
  });

  test('cold start: the token is an at+jwt, push-advisor reads the JWKS and never introspects', { timeout: CASE_TIMEOUT_MS }, async () => {
    const accessToken = await coldStart(jwtStack, 'cold-start-jwt');
    const parts = accessToken.split('.');
    assert.equal(parts.length, 3, 'the access token is a compact JWS');
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    assert.equal(header.typ, 'at+jwt', `RFC 9068 token type: ${JSON.stringify(header)}`);
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    assert.equal(payload.aud, jwtStack.mcpUrl, 'audience is the MCP resource from the PRM');

    const providerLog = jwtStack.providerLog();
    assert.match(providerLog, /^provider: GET \/jwks 200/m, `push-advisor fetched the JWKS\n${providerLog}`);
    assert.doesNotMatch(providerLog, /\/token\/introspection/, `no introspection request\n${providerLog}`);
  });
});

// The client v2 sends credentials to an HTTPS or loopback token endpoint only, so its cold start
// cannot run against a plain-HTTP, non-loopback provider (the TAP run serves HTTPS for this).
const PROVIDER_ISSUER = process.env.MCP_PROVIDER_ISSUER;
const V2_OAUTH_SKIP = PROVIDER_ISSUER && /^http:/.test(PROVIDER_ISSUER) && !/^http:\/\/(127\.|localhost|\[::1\])/.test(PROVIDER_ISSUER)
  ? 'client v2 refuses a plain-HTTP, non-loopback token endpoint (this provider); serve the provider over HTTPS'
  : false;

function newV2Client(mode) {
  return new ClientV2({ name: 'push-advisor-mcp-client-v2-test', version: '1.0.0' }, { versionNegotiation: { mode } });
}

/**
 * Lets the server check a new token once before a session that counts its requests. The
 * firmware has two provider connections; a new token's first check can find both still busy
 * with the previous case's TLS sessions and get 503 with Retry-After, which a client is
 * meant to honour: wait as told and ask again, at most twice.
 */
async function tokenChecked(token) {
  const init = {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  };
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(stack.mcpUrl, init);
    await response.arrayBuffer();
    if (response.status !== 503 || attempt > 2) {
      assert.equal(response.status, 200, `the server accepts the new token (attempt ${attempt})`);
      return;
    }
    const seconds = Number(response.headers.get('retry-after') ?? '1');
    console.log(`# /mcp answered 503 to a new token; retrying after ${seconds} s as told`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(seconds, 10) * 1000));
  }
}

/**
 * Connects a v2 client (server/discover), lists the tools, calls all three; then checks that
 * exactly those five requests went out as 2026-07-28 with their mirrored headers, and (when the
 * harness started the server) that its access log saw them carry MCP-Protocol-Version: 2026-07-28.
 */
async function modernSession(client, transport, recorder, { user, logBefore, context }) {
  const mcpBefore = recorder.exchanges.length;
  await client.connect(transport);
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), MODERN, `settled on 2026-07-28 (${context})`);
    const { tools } = await client.listTools();
    assertToolList(tools, context);
    assertDeployHistoryFor(await client.callTool({ name: 'get_deploy_history', arguments: {} }), user);
    for (const name of ['vibe_check', 'can_i_push_to_prod']) {
      assertStructuredResult(await client.callTool({ name, arguments: {} }), name);
    }
  } finally {
    await client.close();
  }

  // Client side: every MCP request was modern, with its method (and tool) mirrored.
  const sent = recorder.exchanges.slice(mcpBefore).filter((e) => e.url === stack.mcpUrl);
  assert.deepEqual(sent.map((e) => [e.method, e.status, e.mcpProtocolVersion, e.mcpMethod, e.mcpName ?? null]), [
    ['POST', 200, MODERN, 'server/discover', null],
    ['POST', 200, MODERN, 'tools/list', null],
    ['POST', 200, MODERN, 'tools/call', 'get_deploy_history'],
    ['POST', 200, MODERN, 'tools/call', 'vibe_check'],
    ['POST', 200, MODERN, 'tools/call', 'can_i_push_to_prod'],
  ], recorder.summary());
  // Server side: the access log saw the same requests carry MCP-Protocol-Version: 2026-07-28.
  if (stack.serverLog) {
    // Lines of this case's modern requests (an earlier case's last line may arrive late).
    const answered = () => stack.serverLog().slice(logBefore)
      // eslint-disable-next-line no-control-regex -- the log is colored
      .replace(/\x1b\[[0-9;]*m/g, '').split('\n')
      .filter((l) => /path="?\/mcp\b/.test(l) && /status=200/.test(l) && l.includes(`mcp_version="${MODERN}"`));
    // The log line is written after the response: give the last one a moment to arrive.
    for (let waited = 0; answered().length < sent.length && waited < 2000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = answered();
    for (const method of ['server/discover', 'tools/list', 'tools/call']) {
      assert.ok(lines.some((l) => l.includes(`mcp_method="${method}"`)), `access log: ${method} with ${MODERN}\n${lines.join('\n')}`);
    }
    assert.equal(lines.length, 5, `five modern requests answered 200\n${lines.join('\n')}`);
  }
}

describe('TypeScript client v2 (2026-07-28)', () => {
  for (const [label, mode] of V2_MODES) {
    test(`${label}: cold start through OAuth, server/discover, tools listed and called`, { timeout: CASE_TIMEOUT_MS, skip: V2_OAUTH_SKIP }, async () => {
      const recorder = recordingFetch();
      const oauth = new BrowserlessOAuthClientV2({ redirectUrl: redirectUrlFor(`v2-${label.split(' ')[0]}`), login: USER });
      const newV2Transport = () => new StreamableHTTPClientTransportV2(new URL(stack.mcpUrl), { authProvider: oauth, fetch: recorder.fetch });
      const logBefore = stack.serverLog?.().length ?? 0;

      // Cold start: the server/discover probe is the first request, and it needs a token.
      const firstTransport = newV2Transport();
      await assert.rejects(newV2Client(mode).connect(firstTransport), UnauthorizedErrorV2, recorder.summary());
      const [firstMcp] = recorder.exchanges.filter((e) => e.url === stack.mcpUrl);
      assert.equal(firstMcp?.status, 401, `first MCP request answered 401\n${recorder.summary()}`);
      assert.equal(firstMcp.mcpMethod, 'server/discover', 'the probe is server/discover');
      assert.equal(oauth.authorizationUrls.length, 1, 'one authorization');
      const authorization = oauth.authorizationUrls[0];
      assert.equal(authorization.origin, stack.issuer, 'authorization at the provider');
      assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorization.searchParams.get('resource'), stack.mcpUrl, 'RFC 8707 resource from the PRM');
      assert.ok(recorder.exchanges.some((e) => e.method === 'POST' && e.url === `${stack.issuer}/reg` && e.status === 201),
        `dynamic client registration\n${recorder.summary()}`);
      // The client checks the RFC 9207 iss of the authorization response against the issuer.
      assert.equal(oauth.lastIssuer, stack.issuer, 'the provider sends iss');
      await firstTransport.finishAuth(oauth.takeCode(), oauth.lastIssuer);
      assert.match(oauth.tokens()?.scope ?? '', /\bapi:read\b/, 'granted scope includes api:read');

      await modernSession(newV2Client(mode), newV2Transport(), recorder, { user: USER, logBefore, context: `client v2, ${label}` });
    });

    test(`${label}: with a client-credentials token in hand`, { timeout: CASE_TIMEOUT_MS }, async () => {
      const recorder = recordingFetch();
      const token = await serviceToken('api:read');
      await tokenChecked(token);
      const logBefore = stack.serverLog?.().length ?? 0;
      const transport = new StreamableHTTPClientTransportV2(new URL(stack.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
        fetch: recorder.fetch,
      });
      // A client-credentials token has no user; the history is still served to it.
      await modernSession(newV2Client(mode), transport, recorder, { user: undefined, logBefore, context: `client v2 with a token, ${label}` });
    });
  }
});

/** `.venv/bin/python` with the pinned `mcp`; creates the venv and installs requirements.txt when needed. */
function pythonWithMcp() {
  const venv = path.join(here, '.venv');
  const python = path.join(venv, 'bin', 'python');
  const pinned = /^mcp==(\S+)/m.exec(fs.readFileSync(path.join(here, 'requirements.txt'), 'utf8'))?.[1];
  assert.ok(pinned, 'requirements.txt pins mcp');
  const installed = () => spawnSync(python, ['-c', 'import importlib.metadata as m; print(m.version("mcp"))'], { encoding: 'utf8' }).stdout?.trim();
  if (fs.existsSync(python) && installed() === pinned) return python;
  if (!fs.existsSync(python)) {
    const created = spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8' });
    assert.equal(created.status, 0, `python3 -m venv: ${created.stderr}`);
  }
  const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', path.join(here, 'requirements.txt')], { encoding: 'utf8' });
  assert.equal(pip.status, 0, `pip install: ${pip.stderr}`);
  assert.equal(installed(), pinned, 'pinned mcp installed');
  return python;
}

/** Runs a command without a shell; resolves with { code, stdout, stderr }. */
function run(command, args, { env = {}, timeoutMs = 90_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test('Python SDK: lists and calls the three tools with a client-credentials token', { timeout: 300_000 }, async () => {
  const python = pythonWithMcp();
  const token = await serviceToken('api:read');
  const result = await run(python, [path.join(here, 'py_client.py'), stack.mcpUrl], { env: { MCP_BEARER_TOKEN: token } });
  assert.equal(result.code, 0, `py_client.py exit ${result.code} ${result.signal ?? ''}\n${result.stderr.slice(-3000)}`);
  const report = JSON.parse(result.stdout);
  assertToolList(report.tools, 'Python SDK');
  assert.deepEqual(Object.keys(report.calls).sort(), TOOL_NAMES);
  for (const name of TOOL_NAMES) assertStructuredResult(report.calls[name], `${name} (Python)`);
  // A client-credentials token has no user; the history is still served to it.
  assertDeployHistoryFor(report.calls.get_deploy_history, undefined);
});

for (const mode of ['2026-07-28', 'auto']) {
  // Pinned, the client adopts the version without a probe; `auto` probes server/discover.
  test(`Python SDK in 2026-07-28 mode (${mode}): lists and calls the three tools`, { timeout: 300_000 }, async () => {
    const python = pythonWithMcp();
    const token = await serviceToken('api:read');
    const logBefore = stack.serverLog?.().length ?? 0;
    const result = await run(python, [path.join(here, 'py_client.py'), stack.mcpUrl, mode], { env: { MCP_BEARER_TOKEN: token } });
    assert.equal(result.code, 0, `py_client.py exit ${result.code} ${result.signal ?? ''}\n${result.stderr.slice(-3000)}`);
    const report = JSON.parse(result.stdout);
    assert.equal(report.protocol_version, MODERN, 'settled on 2026-07-28');
    if (mode === 'auto') assert.match(report.server_info?.name ?? '', /^push-advisor/, 'server identity from server/discover');
    assertToolList(report.tools, `Python SDK, ${mode}`);
    assert.deepEqual(Object.keys(report.calls).sort(), TOOL_NAMES);
    for (const name of TOOL_NAMES) assertStructuredResult(report.calls[name], `${name} (Python, ${mode})`);
    if (stack.serverLog) {
      const answered = () => stack.serverLog().slice(logBefore)
        // eslint-disable-next-line no-control-regex -- the log is colored
        .replace(/\x1b\[[0-9;]*m/g, '').split('\n')
        .filter((l) => /path="?\/mcp\b/.test(l) && /status=200/.test(l) && l.includes(`mcp_version="${MODERN}"`));
      for (let waited = 0; answered().length < 5 && waited < 2000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const methods = answered().map((l) => /mcp_method="([^"]*)"/.exec(l)?.[1]);
      assert.ok(methods.includes('tools/list') && methods.filter((m) => m === 'tools/call').length === 3,
        `access log: tools/list and three tools/call with ${MODERN}\n${methods.join('\n')}`);
    }
  });
}

/** `target/debug/examples/rmcp_client` (or `RMCP_CLIENT_BIN`), built by tests/run-all.sh. */
const RMCP_CLIENT = process.env.RMCP_CLIENT_BIN || path.join(here, '..', '..', 'target', 'debug', 'examples', 'rmcp_client');

// The Rust SDK: `server/discover` pinned to 2026-07-28 (`ClientLifecycleMode::Discover`, no fallback).
test('rmcp (Rust SDK) in 2026-07-28 mode (pinned): lists and calls the three tools', { timeout: 120_000 }, async () => {
  assert.ok(fs.existsSync(RMCP_CLIENT),
    `no rmcp client at ${RMCP_CLIENT}: run \`cargo build -p push-advisor-tower --example rmcp_client\` or set RMCP_CLIENT_BIN`);
  const token = await serviceToken('api:read');
  const logBefore = stack.serverLog?.().length ?? 0;
  const result = await run(RMCP_CLIENT, [stack.mcpUrl], { env: { MCP_BEARER_TOKEN: token } });
  assert.equal(result.code, 0, `rmcp_client exit ${result.code} ${result.signal ?? ''}\n${result.stderr.slice(-3000)}`);
  assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token), 'the token is never printed');
  const report = JSON.parse(result.stdout);
  assert.equal(report.protocol_version, MODERN, 'settled on 2026-07-28');
  assert.match(report.server_info?.name ?? '', /^push-advisor/, 'server identity from server/discover');
  assert.deepEqual([...report.tools].sort(), TOOL_NAMES, 'tool names (rmcp)');
  assert.deepEqual(Object.keys(report.calls).sort(), TOOL_NAMES);
  for (const name of TOOL_NAMES) {
    const call = report.calls[name];
    assert.equal(call.is_error, false, `${name} (rmcp) is not an error: ${JSON.stringify(call)}`);
    assert.equal(call.structured, true, `${name} (rmcp) returned structured content: ${JSON.stringify(call)}`);
  }
  assert.ok(Array.isArray(report.calls.get_deploy_history.structured_content.deployments), 'deployments listed (rmcp)');
  if (stack.serverLog) {
    const answered = () => stack.serverLog().slice(logBefore)
      // eslint-disable-next-line no-control-regex -- the log is colored
      .replace(/\x1b\[[0-9;]*m/g, '').split('\n')
      .filter((l) => /path="?\/mcp\b/.test(l) && /status=200/.test(l) && l.includes(`mcp_version="${MODERN}"`));
    for (let waited = 0; answered().length < 5 && waited < 2000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const methods = answered().map((l) => /mcp_method="([^"]*)"/.exec(l)?.[1]);
    assert.ok(methods.includes('server/discover') && methods.includes('tools/list') && methods.filter((m) => m === 'tools/call').length === 3,
      `access log: server/discover, tools/list and three tools/call with ${MODERN}\n${methods.join('\n')}`);
    const initialized = stack.serverLog().slice(logBefore).split('\n').filter((l) => l.includes('mcp_method="initialize"'));
    assert.deepEqual(initialized, [], 'no initialize handshake (pinned: no fallback)');
  }
});

test('MCP Inspector CLI (Node 22): tools/list with a bearer header', { timeout: 180_000 }, async () => {
  const node22 = path.join(here, 'node_modules', 'node', 'bin', 'node');
  const cli = path.join(here, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');
  assert.ok(fs.existsSync(node22) && fs.existsSync(cli), 'npm ci installed node@22 and the Inspector');
  const token = await serviceToken('api:read');
  // The Inspector keeps a catalog and client config under $HOME; point them at a scratch dir.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-inspector-'));
  try {
    const result = await run(node22, [
      cli, '--cli', stack.mcpUrl, '--transport', 'http', '--method', 'tools/list',
      '--header', `Authorization: Bearer ${token}`, '--format', 'json',
    ], {
      env: {
        HOME: scratch,
        MCP_CATALOG_PATH: path.join(scratch, 'mcp.json'),
        MCP_CLIENT_CONFIG_PATH: path.join(scratch, 'client.json'),
      },
    });
    const output = `exit ${result.code}\nstdout:\n${result.stdout.slice(0, 3000)}\nstderr:\n${result.stderr.slice(-3000)}`;
    assert.equal(result.code, 0, output);
    // --format json prints one object: {"result": <the tools/list result>}.
    const listed = JSON.parse(result.stdout);
    assert.ok(Array.isArray(listed.result?.tools), `a tools/list result\n${output}`);
    assertToolList(listed.result.tools, 'Inspector CLI');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
