// Sends one request per token (the first COUNT lines of TOKENS_FILE), at most PARALLEL in flight,
// so a server's token cache holds them all before wrk measures. The first token must get 200 with
// a deploy history (for MCP, the get_deploy_history result) or it exits 1; refusals of later ones
// (a server overwhelmed by introspections) are counted on stderr, as wrk counts them later.
// Bench use only (tests/bench/peers.sh).
//
//   node tests/bench/warm.mjs get|mcp URL TOKENS_FILE COUNT [PARALLEL]
import fs from 'node:fs';

const [mode, url, file, countText, parallelText = '32'] = process.argv.slice(2);
const tokens = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, Number(countText));
// The same tools/call the wrk script sends.
const MCP_CALL = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_deploy_history","arguments":{}}}';

async function call(token) {
  const headers = { authorization: `Bearer ${token}` };
  const init = mode === 'mcp'
    ? {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body: MCP_CALL,
    }
    : { headers };
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = await response.text();
  if (response.status !== 200 || !body.includes('deploy-001')) {
    throw new Error(`HTTP ${response.status}: ${body.slice(0, 200)}`);
  }
}

await call(tokens[0]);
let next = 1;
let failed = 0;
let firstFailure = '';
async function worker() {
  while (next < tokens.length) {
    try {
      await call(tokens[next++]);
    } catch (error) {
      failed += 1;
      firstFailure ||= error.message;
    }
  }
}
await Promise.all(Array.from({ length: Math.min(Number(parallelText), tokens.length) }, worker));
if (failed) process.stderr.write(`warm: ${failed} of ${tokens.length} tokens refused, first: ${firstFailure}\n`);
