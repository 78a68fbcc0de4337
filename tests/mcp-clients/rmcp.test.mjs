// The official MCP TypeScript SDK against an MCP server built with the Rust `rmcp` crate and
// protected by the tower auth layer (adapters/tower, example rmcp_server), with the real dev
// OAuth provider: a cold start (401, RFC 9728 discovery, dynamic registration, PKCE login)
// ends with the server's tools listed and called.
// Run: cargo build -p push-advisor-tower --example rmcp_server && node --test rmcp.test.mjs

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

import { startRmcpStack } from './harness.mjs';
import { BrowserlessOAuthClient, recordingFetch } from './oauth_client.mjs';

const USER = 'alice';

let stack;

before(async () => {
  stack = await startRmcpStack();
});

after(async () => {
  await stack?.stop();
});

test('TypeScript SDK cold start against the rmcp server behind the tower layer', { timeout: 120_000 }, async () => {
  const recorder = recordingFetch();
  const oauth = new BrowserlessOAuthClient({ redirectUrl: 'http://127.0.0.1:9/rmcp/callback', login: USER });
  const transport = () => new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: oauth, fetch: recorder.fetch });

  const first = transport();
  await assert.rejects(new Client({ name: 'rmcp-layer-test', version: '1.0.0' }).connect(first), UnauthorizedError, recorder.summary());
  const [firstMcp] = recorder.exchanges.filter((e) => e.url === stack.mcpUrl);
  assert.equal(firstMcp?.status, 401, recorder.summary());
  const prmUrl = `${stack.origin}/.well-known/oauth-protected-resource/mcp`;
  assert.equal(
    firstMcp.wwwAuthenticate,
    `Bearer resource_metadata="${prmUrl}", scope="api:read"`,
    'the layer\'s challenge',
  );
  assert.ok(recorder.exchanges.some((e) => e.url === prmUrl && e.status === 200), `PRM served by the layer\n${recorder.summary()}`);
  assert.ok(recorder.exchanges.some((e) => e.method === 'POST' && e.url === `${stack.issuer}/reg` && e.status === 201),
    `dynamic client registration\n${recorder.summary()}`);
  const authorization = oauth.authorizationUrls[0];
  assert.equal(authorization?.origin, stack.issuer, 'authorization at the provider');
  assert.equal(authorization.searchParams.get('resource'), stack.mcpUrl, 'RFC 8707 resource from the PRM');

  await first.finishAuth(oauth.takeCode());
  const client = new Client({ name: 'rmcp-layer-test', version: '1.0.0' });
  await client.connect(transport());
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['add', 'whoami']);
    const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    assert.equal(sum.content[0].text, '42');
    const who = await client.callTool({ name: 'whoami', arguments: {} });
    assert.match(who.content[0].text, new RegExp(`^${USER} with .*\\bapi:read\\b`), 'the grant reaches the rmcp tool');
  } finally {
    await client.close();
  }
});
