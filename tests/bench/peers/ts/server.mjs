// The TypeScript SDK peer of the bench (tests/bench/peers.sh): the get_deploy_history tool on
// a stateless streamable HTTP server with JSON answers, on express, behind requireBearerAuth
// with a verifier that introspects at the provider, the way the SDK's docs and examples show
// it, plus a Map cache (as the Rust peers have) so the figure measures the server, not the
// provider.
//
// Settings: BIND (127.0.0.1:8000), ISSUER, RESOURCE (the audience tokens must carry),
// CLIENT_ID (push-advisor), CLIENT_SECRET, CACHE_TTL (seconds, 60).
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
// The SDK's own error class makes requireBearerAuth answer 401 rather than 500.
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { z } from 'zod';

const env = process.env;
const setting = (name, fallback) => {
  const value = env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
};
const [host, port] = setting('BIND', '127.0.0.1:8000').split(':');
const issuer = setting('ISSUER');
const resource = setting('RESOURCE');
const clientId = setting('CLIENT_ID', 'push-advisor');
const clientSecret = setting('CLIENT_SECRET');
const cacheTtl = Number(setting('CACHE_TTL', '60'));
const CACHE_LIMIT = 100_000;

const metadata = await (await fetch(new URL('/.well-known/oauth-authorization-server', issuer))).json();
const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
const cache = new Map();

const verifier = {
  async verifyAccessToken(token) {
    const now = Date.now() / 1000;
    const cached = cache.get(token);
    if (cached && cached.until > now) return cached.info;
    const response = await fetch(metadata.introspection_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
    if (!response.ok) throw new Error(`introspection failed: HTTP ${response.status}`);
    const data = await response.json();
    if (!data.active) throw new InvalidTokenError('Token is not active');
    const info = {
      token,
      clientId: data.client_id,
      scopes: data.scope ? data.scope.split(' ') : [],
      expiresAt: data.exp,
      resource: data.aud ? new URL(Array.isArray(data.aud) ? data.aud[0] : data.aud) : undefined,
      extra: { user: data.sub ?? data.client_id ?? 'unknown' },
    };
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(token, { info, until: Math.min(now + cacheTtl, data.exp) });
    return info;
  },
};

const deployment = z.object({
  id: z.string(), timestamp: z.string(), environment: z.string(), status: z.string(), user: z.string(),
});

function history(user) {
  const entry = (id, timestamp, environment, status) => ({ id, timestamp, environment, status, user });
  return {
    deployments: [
      entry('deploy-001', '2024-08-13T15:30:00Z', 'production', 'success'),
      entry('deploy-002', '2024-08-12T10:15:00Z', 'staging', 'success'),
      entry('deploy-003', '2024-08-11T09:45:00Z', 'production', 'failed'),
    ],
    authenticated_user: user,
    message: 'This is a protected endpoint - you needed OAuth to see this!',
  };
}

function buildServer() {
  const server = new McpServer({ name: 'push-advisor-ts-peer', version: '0.0.0' });
  server.registerTool('get_deploy_history', {
    title: 'Deployment history',
    description: 'Recent deployments, attributed to the signed-in user. Needs OAuth scope api:read.',
    outputSchema: { deployments: z.array(deployment), authenticated_user: z.string(), message: z.string() },
    annotations: { readOnlyHint: true },
  }, async (extra) => {
    const structuredContent = history(extra.authInfo?.extra?.user ?? 'unknown');
    return { content: [{ type: 'text', text: JSON.stringify(structuredContent) }], structuredContent };
  });
  return server;
}

const app = express();
app.use(express.json());
app.post('/mcp', requireBearerAuth({ verifier, requiredScopes: ['api:read'], expectedResource: new URL(resource) }),
  async (req, res) => {
    // Stateless: a new server and transport per request, as the SDK's stateless example does.
    const server = buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => { transport.close(); server.close(); });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (error) {
      console.error('mcp request failed:', error.message);
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
      }
    }
  });

const listener = app.listen(Number(port), host, () => {
  console.log(`PEER_READY http://${host}:${listener.address().port}`);
});
