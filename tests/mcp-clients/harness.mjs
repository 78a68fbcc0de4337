// Starts the real parts the MCP client tests talk to: the dev OAuth provider
// (tests/provider/provider.mjs) and the `push-advisor` binary, each on a free loopback port.
// With MCP_TARGET_URL (and MCP_PROVIDER_ISSUER) it starts nothing and uses servers that are
// already running, e.g. a device under test.
//
// Environment:
//   PUSH_ADVISOR_BIN     path of the binary, default <repo>/target/debug/push-advisor
//   MCP_TARGET_URL       MCP endpoint of a running server (e.g. http://127.0.0.1:8787/mcp)
//   MCP_PROVIDER_ISSUER  issuer of the provider that server trusts (required with MCP_TARGET_URL)
//   MCP_HARNESS_LOG      when set, children's stderr is copied to this process's stderr
//   MCP_NETNS            name of the network namespace this process runs in (checked with
//                        `ip netns identify`); only then may the target and issuer be
//                        non-loopback addresses, e.g. a device on a test namespace's TAP link

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
const providerDir = path.join(repoRoot, 'tests', 'provider');

/** Dev-only secret of the `push-advisor` client (the provider's documented default). */
export const PUSH_ADVISOR_CLIENT_ID = 'push-advisor';
export const PUSH_ADVISOR_CLIENT_SECRET = process.env.PROVIDER_SECRET_PUSH_ADVISOR || 'dev-secret-push-advisor';

const READY_TIMEOUT_MS = 30_000;

/**
 * Returns { mcpUrl, origin, issuer, started, stop(), serverLog(), providerLog() }. `mcpUrl` is
 * the MCP endpoint, `origin` the server's base URL (its canonical API resource), `issuer` the
 * provider's; `serverLog` and `providerLog` (only when the harness started them) return their
 * output so far. With `jwtAccessTokens` the provider issues RFC 9068 JWT access tokens to every
 * client and push-advisor checks tokens only locally (PUSH_ADVISOR_VALIDATION=jwt).
 */
export async function startStack({ jwtAccessTokens = false } = {}) {
  const target = process.env.MCP_TARGET_URL;
  if (target) {
    const issuer = process.env.MCP_PROVIDER_ISSUER;
    if (!issuer) throw new Error('MCP_TARGET_URL needs MCP_PROVIDER_ISSUER');
    if (!insideTestNamespace()) {
      assertLoopback(target);
      assertLoopback(issuer);
    }
    const mcpUrl = new URL(target).href;
    return { mcpUrl, origin: new URL(mcpUrl).origin, issuer: trimSlash(issuer), started: false, stop: async () => {} };
  }

  const binary = process.env.PUSH_ADVISOR_BIN || path.join(repoRoot, 'target', 'debug', 'push-advisor');
  if (!fs.existsSync(binary)) {
    throw new Error(`no push-advisor binary at ${binary}: run \`cargo build -p host-example\` or set PUSH_ADVISOR_BIN`);
  }
  ensureProviderInstalled();

  const children = [];
  const stop = async () => {
    await Promise.all(children.reverse().map(stopChild));
  };
  try {
    const port = await freeLoopbackPort();
    const origin = `http://127.0.0.1:${port}`;
    const mcpUrl = `${origin}/mcp`;

    // The provider on the Node 22 its own npm packages install (oidc-provider's supported runtime).
    const provider = spawnLogged('provider', path.join(providerDir, 'node_modules', 'node', 'bin', 'node'), [path.join(providerDir, 'provider.mjs')], {
      PROVIDER_HOST: '127.0.0.1',
      PROVIDER_PORT: '0',
      PROVIDER_RESOURCE: origin,
      PROVIDER_RESOURCE_MCP: mcpUrl,
      PROVIDER_REDIRECT_URIS: `${origin}/token,${origin}/callback`,
      // With JWTs, the request log (paths only) shows what push-advisor asked the provider.
      ...(jwtAccessTokens ? { PROVIDER_JWT_ACCESS_TOKENS: '1', PROVIDER_LOG: '1' } : {}),
    });
    children.push(provider);
    const readyLine = await waitForLine(provider, /^PROVIDER_READY (\S+)$/m, 'stdout');
    const issuer = readyLine[1];

    const server = spawnLogged('push-advisor', binary, [], {
      PUSH_ADVISOR_BIND: `127.0.0.1:${port}`,
      PUSH_ADVISOR_PUBLIC_URL: origin,
      PUSH_ADVISOR_ISSUER: issuer,
      PUSH_ADVISOR_CLIENT_ID: PUSH_ADVISOR_CLIENT_ID,
      PUSH_ADVISOR_CLIENT_SECRET: PUSH_ADVISOR_CLIENT_SECRET,
      PUSH_ADVISOR_LOG: process.env.PUSH_ADVISOR_LOG || 'info',
      ...(jwtAccessTokens ? { PUSH_ADVISOR_VALIDATION: 'jwt' } : {}),
    });
    children.push(server);
    await waitForLine(server, /listening on/, 'any');
    await pollOk(`${origin}/vibe-check`, server);
    // The server's log so far (the access log names each request's MCP headers).
    const serverLog = () => server.output.stdout + server.output.stderr;
    const providerLog = () => provider.output.stdout + provider.output.stderr;
    return { mcpUrl, origin, issuer, started: true, stop, serverLog, providerLog };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The provider and the `rmcp_server` example of adapters/tower (an rmcp MCP server behind
 * the tower auth layer). Returns { mcpUrl, origin, issuer, stop() }.
 */
export async function startRmcpStack() {
  const binary = process.env.RMCP_EXAMPLE_BIN || path.join(repoRoot, 'target', 'debug', 'examples', 'rmcp_server');
  if (!fs.existsSync(binary)) {
    throw new Error(`no rmcp example at ${binary}: run \`cargo build -p push-advisor-tower --example rmcp_server\` or set RMCP_EXAMPLE_BIN`);
  }
  ensureProviderInstalled();
  const children = [];
  const stop = async () => {
    await Promise.all(children.reverse().map(stopChild));
  };
  try {
    const port = await freeLoopbackPort();
    const origin = `http://127.0.0.1:${port}`;
    const mcpUrl = `${origin}/mcp`;
    const provider = spawnLogged('provider', process.execPath, [path.join(providerDir, 'provider.mjs')], {
      PROVIDER_HOST: '127.0.0.1',
      PROVIDER_PORT: '0',
      PROVIDER_RESOURCE: origin,
      PROVIDER_RESOURCE_MCP: mcpUrl,
    });
    children.push(provider);
    const issuer = (await waitForLine(provider, /^PROVIDER_READY (\S+)$/m, 'stdout'))[1];
    const server = spawnLogged('rmcp_server', binary, [], {
      BIND: `127.0.0.1:${port}`,
      ISSUER: issuer,
      CLIENT_ID: PUSH_ADVISOR_CLIENT_ID,
      CLIENT_SECRET: PUSH_ADVISOR_CLIENT_SECRET,
    });
    children.push(server);
    await waitForLine(server, /listening on/, 'any');
    return { mcpUrl, origin, issuer, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function trimSlash(url) {
  return url.replace(/\/+$/, '');
}

/** True when MCP_NETNS names the network namespace this process is in (a test's own). */
function insideTestNamespace() {
  const expected = process.env.MCP_NETNS;
  if (!expected) return false;
  const identify = spawnSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' });
  const actual = identify.stdout?.trim();
  if (identify.status !== 0 || actual !== expected) {
    throw new Error(`MCP_NETNS=${expected} but this process is in namespace "${actual ?? ''}"`);
  }
  return true;
}

function assertLoopback(url) {
  const host = new URL(url).hostname;
  if (!(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing non-loopback address ${url}`);
  }
}

function ensureProviderInstalled() {
  if (fs.existsSync(path.join(providerDir, 'node_modules', 'oidc-provider'))) return;
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: providerDir, stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('npm ci in tests/provider failed');
}

/** Asks the kernel for a free loopback port, then releases it for the server to bind. */
async function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function spawnLogged(name, command, args, env) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.label = name;
  child.output = { stdout: '', stderr: '' };
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  for (const stream of ['stdout', 'stderr']) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk) => {
      // Keep only the tail: enough to explain a failed start.
      child.output[stream] = (child.output[stream] + chunk).slice(-20_000);
      if (process.env.MCP_HARNESS_LOG) process.stderr.write(`[${name}] ${chunk}`);
      child.emit('output');
    });
  }
  return child;
}

function describe(child) {
  return `${child.label} stdout:\n${child.output.stdout.slice(-2000)}\n${child.label} stderr:\n${child.output.stderr.slice(-2000)}`;
}

/** Resolves with the match once `pattern` shows up in the child's output. */
function waitForLine(child, pattern, stream) {
  return new Promise((resolve, reject) => {
    const text = () => (stream === 'any' ? child.output.stdout + child.output.stderr : child.output[stream]);
    const check = () => {
      const match = pattern.exec(text());
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${child.label} not ready within ${READY_TIMEOUT_MS} ms\n${describe(child)}`));
    }, READY_TIMEOUT_MS);
    const onExit = ({ code, signal }) => {
      cleanup();
      reject(new Error(`${child.label} exited (code ${code}, signal ${signal}) before it was ready\n${describe(child)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('output', check);
    };
    child.on('output', check);
    child.exited.then(onExit);
    check();
  });
}

async function pollOk(url, child) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.cause?.code || error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${READY_TIMEOUT_MS} ms (last: ${last})\n${describe(child)}`);
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5_000));
  if ((await Promise.race([child.exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await child.exited;
  }
}
