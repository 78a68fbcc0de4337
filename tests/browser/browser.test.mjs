// The manual login flow in a real browser: Debian's `chromium`, driven by puppeteer-core
// (no browser download), against push-advisor and the real development provider on
// loopback. /login -> the provider's login and consent -> /token; the token shown reads
// /deploy-history as the user who logged in; the copy button copies it; reloading /token
// is refused (the code is spent); no page throws a JavaScript error. Screenshots of each
// page go to target/browser-screenshots/.
//
// Run: cd tests/browser && npm ci && ../provider/node_modules/node/bin/node --test browser.test.mjs
// (needs `chromium` and `cargo build -p host-example`; tests/run-all.sh provides both).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import puppeteer from 'puppeteer-core';

import { repoRoot, startStack } from '../mcp-clients/harness.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = path.join(repoRoot, 'target', 'browser-screenshots');
const USER = 'ada-browser';

let stack;
let browser;
let profile;

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM} (apt-get install chromium; tests/run-all.sh does)`);
  fs.rmSync(shots, { recursive: true, force: true });
  fs.mkdirSync(shots, { recursive: true });
  stack = await startStack();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pa-chromium-'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    timeout: 30_000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('login in a browser, the token reads the history as the user, copy, reload refused, no JS errors', { timeout: 120_000 }, async () => {
  const origin = stack.origin;
  await browser.defaultBrowserContext().overridePermissions(origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  const jsErrors = [];
  page.on('pageerror', (error) => jsErrors.push(`${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    // A failed resource load (say a favicon 404) is the network's, not a script's.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      jsErrors.push(`${page.url()}: console.error ${message.text()}`);
    }
  });
  const shot = async (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  const login = await page.goto(`${origin}/login`);
  assert.equal(login.status(), 200);
  assert.match(login.headers()['set-cookie'] ?? '', /^login-state=[\w-]{43}; Max-Age=\d+; HttpOnly; SameSite=Lax; Path=\/token$/);
  assert.equal(await page.evaluate(() => document.cookie), '', 'the login cookie is HttpOnly');
  await shot('1-login');
  await Promise.all([page.waitForNavigation(), page.click('#oauth-login')]);
  assert.ok(page.url().startsWith(stack.issuer), `at the provider: ${page.url()}`);

  // The provider's dev login, then its consent, until it redirects to /token.
  for (let step = 0; step < 6 && !page.url().startsWith(`${origin}/token`); step++) {
    if (await page.$('input[name="login"]')) {
      await page.type('input[name="login"]', USER);
      await page.type('input[name="password"]', 'any-password');
      await shot('2-provider-login');
    } else {
      await shot('3-provider-consent');
    }
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  }
  assert.ok(page.url().startsWith(`${origin}/token?`), `back at /token: ${page.url()}`);
  await page.waitForSelector('#access-token');
  await shot('4-token');
  assert.equal(await page.title(), 'Push Advisor API - OAuth Success');
  const token = (await page.$eval('#access-token', (e) => e.textContent)).trim();
  assert.ok(token.length > 20, `a token is shown: ${token.length} characters`);
  assert.match(await page.$eval('#scope', (e) => e.textContent), /api:read/);

  // The shown token reads the history as the user who logged in.
  const history = await fetch(`${origin}/deploy-history`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(history.status, 200);
  const body = await history.json();
  assert.equal(body.authenticated_user, USER);
  assert.ok(body.deployments.every((d) => d.user === USER), JSON.stringify(body.deployments));

  // The copy button copies exactly the token.
  await page.evaluate(() => navigator.clipboard.writeText('not the token'));
  await page.click('button.btn');
  await page.waitForFunction(() => document.querySelector('button.btn').textContent === 'Copied!');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

  // Reloading /token replays a spent code: refused, with an explanation.
  const reloaded = await page.reload();
  assert.ok(reloaded.status() >= 400 && reloaded.status() < 500, `reload answered ${reloaded.status()}`);
  assert.equal(await page.$('#access-token'), null, 'no token on the reloaded page');
  assert.ok((await page.$eval('#error-message', (e) => e.textContent)).length > 0);
  await shot('5-token-reloaded');

  // Login CSRF: a /token link for a login this browser started, opened in another
  // browser (a fresh context without its cookie), is refused before any exchange.
  const again = await page.goto(`${origin}/login`);
  assert.equal(again.status(), 200);
  const href = await page.$eval('#oauth-login', (a) => a.href);
  const state = new URL(href).searchParams.get('state');
  const otherBrowser = await browser.createBrowserContext();
  try {
    const other = await otherBrowser.newPage();
    const refused = await other.goto(`${origin}/token?code=stolen&state=${encodeURIComponent(state)}`);
    assert.equal(refused.status(), 400);
    assert.match(await other.$eval('#error-message', (e) => e.textContent), /not started in this browser/);
    const headers = refused.headers();
    assert.match(headers['content-security-policy'], /script-src 'sha256-[^']+'/);
    assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.equal(headers['cache-control'], 'no-store');
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['access-control-allow-origin'], undefined);
  } finally {
    await otherBrowser.close();
  }

  assert.deepEqual(jsErrors, [], 'no JavaScript errors on any page (a CSP violation would be one)');
  for (const name of ['1-login', '2-provider-login', '4-token', '5-token-reloaded']) {
    assert.ok(fs.statSync(path.join(shots, `${name}.png`)).size > 1000, `${name}.png saved`);
  }
  console.log(`screenshots: ${fs.readdirSync(shots).sort().map((f) => path.join(shots, f)).join(', ')}`);
});
