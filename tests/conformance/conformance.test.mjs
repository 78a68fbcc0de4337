// The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
// package.json; it needs Node 22, so this runs on tests/provider's Node 22) against
// push-advisor's /mcp, with the real provider behind it. Loopback only.
//
// Run: cd tests/conformance && npm ci && ../provider/node_modules/node/bin/node --test conformance.test.mjs
// (after `cargo build -p host-example`; tests/run-all.sh does all three).
//
// The suite's server mode sends no Authorization header, so push-advisor runs in two ways:
// - lazy: PUSH_ADVISOR_MCP_LAZY_AUTH=true, where initialize, ping and tools/list need no token;
// - bearer: the default (every message needs a token); a loopback proxy in this file adds
//   a real api:read token from the provider to each request and forwards everything else
//   (Host and Origin included) unchanged.
//
// Scenarios that apply to a tools-only, stateless JSON server, and what is expected:
const device = Boolean(process.env.MCP_TARGET_URL);
const APPLICABLE = {
  'server-initialize': 'pass',
  ping: 'pass',
  'tools-list': 'pass',
  // push-advisor refuses a foreign Origin by default and, bound to loopback, a foreign Host
  // (DNS-rebinding defence); the firmware fails one check on purpose (EXPECTED_FAILING_CHECKS).
  // When it passes there, this test fails on purpose: move it to 'pass'.
  'dns-rebinding-protection': device ? 'fail' : 'pass',
};
// The checks an expected failure fails, and only those, on each target.
const EXPECTED_FAILING_CHECKS = {
  host: {},
  device: {
    // The same rule as the host's: an Origin must be the public URL's (or listed); loopback
    // origins and the Host check apply only to a server bound to loopback. The firmware is
    // reached at its own address, through this file's 127.0.0.1 proxy (the suite insists on
    // a localhost URL), so the scenario's Origin http://127.0.0.1:<proxy port> is foreign
    // to it and gets 403, as it should; evil.example.com gets 403 as well.
    'dns-rebinding-protection': ['LocalhostHostAccepted'],
  },
};
// Scenarios that do not apply, and why (`conformance list --server` names them all):
const NOT_APPLICABLE = {
  'logging-set-level': 'no logging capability: the server sends no log notifications',
  'completion-complete': 'no completions: no prompts or resource templates to complete',
  'tools-call-simple-text': "calls the suite's reference fixture tools (test_simple_text, ...), which a real server does not have",
  'tools-call-image': 'fixture tool; push-advisor tools answer text and structured JSON only',
  'tools-call-audio': 'fixture tool; no audio content',
  'tools-call-embedded-resource': 'fixture tool; no resources',
  'tools-call-mixed-content': 'fixture tool; no image or resource content',
  'tools-call-with-logging': 'fixture tool; no logging capability',
  'tools-call-error': 'fixture tool (test_error_handling)',
  'tools-call-with-progress': 'fixture tool; no progress notifications (stateless JSON answers, no SSE stream)',
  'tools-call-sampling': 'sampling: the server never asks the client for a completion',
  'tools-call-elicitation': 'elicitation: the server never asks the user for input',
  'json-schema-2020-12': 'fixture tool (json_schema_2020_12_tool)',
  'elicitation-sep1034-defaults': 'elicitation',
  'elicitation-sep1330-enums': 'elicitation',
  'server-sse-polling': 'SSE streams: the transport is stateless JSON (no GET stream, no session)',
  'server-sse-multiple-streams': 'SSE streams: the transport is stateless JSON',
  'resources-list': 'no resources capability',
  'resources-read-text': 'no resources',
  'resources-read-binary': 'no resources',
  'resources-templates-read': 'no resources',
  'resources-subscribe': 'no resources',
  'resources-unsubscribe': 'no resources',
  'prompts-list': 'no prompts capability',
  'prompts-get-simple': 'no prompts',
  'prompts-get-with-args': 'no prompts',
  'prompts-get-embedded-resource': 'no prompts',
  'prompts-get-with-image': 'no prompts',
};

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { PUSH_ADVISOR_CLIENT_ID, PUSH_ADVISOR_CLIENT_SECRET, startStack } from '../mcp-clients/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// MCP_TARGET_URL (set by tests/tap/mcp-clients.sh) points the harness at the TAP firmware
// instead of starting push-advisor (`device` above); the device has no lazy mode, so only
// the bearer runs apply.
const bearerMode = device ? 'device' : 'bearer';
const cli = path.join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** Runs one scenario (90 s at most) and returns its checks from the suite's checks.json.
 * Asynchronous, so the proxy in this process keeps serving while the suite runs. */
async function runScenario(url, scenario) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pa-conformance-'));
  try {
    const child = spawn(process.execPath, [cli, 'server', '--url', url, '--scenario', scenario, '-o', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const exitStatus = await new Promise((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    const dirs = fs.readdirSync(out).filter((d) => d.startsWith(`server-${scenario}-`));
    assert.equal(dirs.length, 1, `no results for ${scenario}: ${output}`);
    const checks = JSON.parse(fs.readFileSync(path.join(out, dirs[0], 'checks.json'), 'utf8'));
    assert.ok(checks.length > 0, `${scenario} ran no check`);
    return { checks, exitStatus };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

function report(mode, scenario, checks) {
  for (const check of checks) {
    const why = check.status === 'SUCCESS' ? '' : ` — ${check.errorMessage ?? check.description}`;
    console.log(`conformance ${mode} ${scenario}: ${check.status} ${check.name}${why}`);
  }
}

function expectOutcome(mode, scenario, { checks, exitStatus }) {
  report(mode, scenario, checks);
  const failed = checks.filter((c) => c.status !== 'SUCCESS');
  if (APPLICABLE[scenario] === 'pass') {
    assert.deepEqual(failed, [], `${scenario} should pass`);
    assert.equal(exitStatus, 0);
  } else {
    assert.ok(failed.length > 0, `${scenario} now passes: move it to 'pass' in APPLICABLE`);
    assert.deepEqual(failed.map((c) => c.name), EXPECTED_FAILING_CHECKS[device ? 'device' : 'host'][scenario]);
    assert.notEqual(exitStatus, 0);
  }
}

test('every server scenario of the pinned suite is either run here or listed as not applicable', () => {
  const listed = spawnSync(process.execPath, [cli, 'list', '--server'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(listed.status, 0, listed.stderr);
  const names = [...listed.stdout.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]);
  assert.ok(names.length > 10, listed.stdout);
  for (const name of names) {
    assert.ok(name in APPLICABLE || name in NOT_APPLICABLE, `new scenario ${name}: decide whether it applies`);
  }
});

describe('push-advisor with lazy MCP auth', { skip: device && 'the firmware has no lazy MCP auth' }, () => {
  let stack;
  before(async () => {
    process.env.PUSH_ADVISOR_MCP_LAZY_AUTH = 'true';
    try {
      stack = await startStack();
    } finally {
      delete process.env.PUSH_ADVISOR_MCP_LAZY_AUTH;
    }
  });
  after(async () => stack?.stop());

  for (const scenario of Object.keys(APPLICABLE)) {
    test(`${scenario} (expected: ${APPLICABLE[scenario]})`, { timeout: 120_000 }, async () => {
      expectOutcome('lazy', scenario, await runScenario(stack.mcpUrl, scenario));
    });
  }
});

describe(`${device ? 'the TAP firmware' : 'push-advisor'} with bearer auth, through a proxy that adds a real token`, () => {
  let stack;
  let proxy;
  let proxyUrl;
  before(async () => {
    stack = await startStack();
    const token = await mintToken(stack);
    const target = new URL(stack.mcpUrl);
    proxy = http.createServer((request, response) => {
      const headers = { ...request.headers, authorization: `Bearer ${token}` };
      const forwarded = http.request({
        host: target.hostname, port: target.port, method: request.method, path: request.url, headers,
      }, (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      });
      forwarded.on('error', (error) => { response.writeHead(502); response.end(String(error)); });
      request.pipe(forwarded);
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${proxy.address().port}${target.pathname}`;
    // Without the token the server refuses: the proxy is what lets the suite in.
    const bare = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(bare.status, 401);
  });
  after(async () => {
    proxy?.closeAllConnections();
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve()));
    await stack?.stop();
  });

  for (const scenario of Object.keys(APPLICABLE)) {
    test(`${scenario} (expected: ${APPLICABLE[scenario]})`, { timeout: 120_000 }, async () => {
      expectOutcome(bearerMode, scenario, await runScenario(proxyUrl, scenario));
    });
  }
});

async function mintToken(stack) {
  const basic = Buffer.from(`${PUSH_ADVISOR_CLIENT_ID}:${PUSH_ADVISOR_CLIENT_SECRET}`).toString('base64');
  const response = await fetch(`${stack.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read', resource: stack.mcpUrl }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.access_token;
}
