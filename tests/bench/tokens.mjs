// Mints COUNT distinct access tokens by client-credentials grants at the dev provider, at most
// PARALLEL requests in flight, within a time bound, and prints them one per line (bench use only:
// the output is secrets of a throwaway provider; never log it).
//
//   node tests/bench/tokens.mjs --issuer URL --resource URI --count 10000 [--parallel 16] [--timeout-s 300]
import { parseArgs } from 'node:util';
import { discover, tokenRequest } from '../provider/flow.mjs';

const { values } = parseArgs({
  options: {
    issuer: { type: 'string' },
    resource: { type: 'string' },
    count: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '16' },
    'timeout-s': { type: 'string', default: '300' },
    'client-id': { type: 'string', default: 'push-advisor' },
    'client-secret': { type: 'string', default: 'dev-secret-push-advisor' },
    scope: { type: 'string', default: 'api:read' },
  },
});
if (!values.issuer || !values.resource) throw new Error('--issuer and --resource are required');
const count = Number(values.count);
const deadline = Date.now() + Number(values['timeout-s']) * 1000;
const { token_endpoint: endpoint } = await discover(values.issuer);
const form = { grant_type: 'client_credentials', scope: values.scope, resource: values.resource };
const credentials = { clientId: values['client-id'], clientSecret: values['client-secret'] };

const tokens = [];
let started = 0;
async function worker() {
  while (started < count) {
    started += 1;
    if (Date.now() > deadline) throw new Error(`timed out after ${tokens.length} of ${count} tokens`);
    const { status, body } = await tokenRequest(endpoint, form, credentials);
    if (status !== 200 || !body.access_token) throw new Error(`grant failed: HTTP ${status} ${body.error ?? ''}`);
    tokens.push(body.access_token);
  }
}
await Promise.all(Array.from({ length: Math.min(Number(values.parallel), count) }, worker));
process.stdout.write(`${tokens.join('\n')}\n`);
