// tests/demo.sh as a newcomer runs it: the provider runs on Node 22 (no "Unsupported
// runtime" warning), the server answers, and any way of stopping the script (TERM,
// HUP, INT, and KILL, which no script can catch) stops everything it started.
// Run: node --test tests/demo.test.mjs (after `cargo build -p host-example` and
// `npm ci` in tests/provider; tests/run-all.sh does both). Loopback only.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `pid` is still a live process (a zombie counts as gone). */
function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of every descendant of `pid`. */
function descendants(pid) {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map();
  for (const line of out.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(child);
  }
  const found = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Starts demo.sh on free ports and waits (60 s at most) until it says it is running. */
async function startDemo() {
  const [bind, provider, metrics] = await Promise.all([freePort(), freePort(), freePort()]);
  const child = spawn('bash', [path.join(root, 'tests/demo.sh')], {
    env: {
      ...process.env,
      DEMO_PROFILE: 'dev',
      PUSH_ADVISOR_BIND: `127.0.0.1:${bind}`,
      PROVIDER_PORT: String(provider),
      PUSH_ADVISOR_METRICS_BIND: `127.0.0.1:${metrics}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const started = Date.now();
  while (!output.includes('Push Advisor is running')) {
    assert.ok(Date.now() - started < 60_000, `demo.sh did not start within 60 s:\n${output}`);
    assert.equal(child.exitCode, null, `demo.sh exited early:\n${output}`);
    await sleep(100);
  }
  return { child, exited, output: () => output, ports: { bind, provider, metrics } };
}

async function stopsEverything(signal) {
  const demo = await startDemo();
  const started = descendants(demo.child.pid);
  assert.ok(started.length >= 2, `the provider and push-advisor run under demo.sh: ${started}`);
  const base = `http://127.0.0.1:${demo.ports.bind}`;
  assert.equal((await fetch(`${base}/vibe-check`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${demo.ports.metrics}/healthz`)).status, 200);
  assert.doesNotMatch(demo.output(), /Unsupported runtime/, 'the provider runs on the Node it supports');
  assert.match(demo.output(), /on Node v22\./);

  process.kill(demo.child.pid, signal);
  const deadline = Date.now() + 20_000;
  while ([demo.child.pid, ...started].some(alive)) {
    assert.ok(Date.now() < deadline, `after ${signal}, still running: ${[demo.child.pid, ...started].filter(alive)}\n${demo.output()}`);
    await sleep(100);
  }
  await demo.exited;
  for (const port of [demo.ports.bind, demo.ports.provider, demo.ports.metrics]) {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`), `port ${port} is closed after ${signal}`);
  }
}

for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGKILL']) {
  test(`${signal} to demo.sh stops the provider and push-advisor`, { timeout: 120_000 }, () => stopsEverything(signal));
}
