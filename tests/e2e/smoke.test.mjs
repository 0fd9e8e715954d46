// Browser smoke test: first-run owner setup, sign in, admin "System" page, sign out,
// one-time setup link, graceful shutdown.
//
// Run: cargo build && node --test tests/e2e/*.test.mjs   (or ./tests/run-all.sh)
// Env: HEARTH_BIN (default target/debug/hearth), CHROMIUM_PATH (default /usr/bin/chromium).
// Artifacts (screenshot, server log) go to tests/e2e/artifacts/.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  artifacts, hearthBin, chromiumPath, SHUTDOWN_TIMEOUT_MS, OWNER, startServer, pathnameOf, launchBrowser,
} from './lib.mjs';

describe('smoke: owner setup, admin system page, sign out', { timeout: 180_000 }, () => {
  let tmpDir;
  let server;
  let baseUrl;
  let setupLink;
  let browser;

  before(async () => {
    assert.ok(fs.existsSync(hearthBin), `no server binary at ${hearthBin}: run \`cargo build\` first (or set HEARTH_BIN)`);
    assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
    fs.mkdirSync(artifacts, { recursive: true });
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-e2e-'));
    // A data dir that does not exist yet: the server creates it.
    server = startServer(path.join(tmpDir, 'data'), tmpDir, path.join(artifacts, 'server.log'));
    ({ baseUrl, setupLink } = await server.ready);
    assert.equal(new URL(setupLink).origin, baseUrl, 'the setup link points at the address the server listens on');

    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    server?.log.end();
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  async function newPage() {
    const context = await browser.newContext({ baseURL: baseUrl });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(15_000);
    return { context, page: await context.newPage() };
  }

  test('owner setup, sign in, System page, sign out', async () => {
    const { context, page } = await newPage();
    // No page of the journey may log an error or miss a file (the favicon included).
    const problems = [];
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    page.on('response', (resp) => { if (resp.status() === 404) problems.push(`404: ${resp.url()}`); });
    try {
      // 1. The one-time setup link.
      const first = await page.goto(setupLink);
      assert.ok(first, 'navigation to the setup link produced a response');
      assert.equal(first.status(), 200, 'setup page status');
      const headers = first.headers();
      assert.ok(headers['x-request-id'], 'setup page has an x-request-id header');
      assert.ok(headers['content-security-policy'], 'setup page has a content-security-policy header');

      await page.locator('input[name="username"]').fill(OWNER.username);
      await page.locator('input[name="email"]').fill(OWNER.email);
      await page.locator('input[name="password"]').fill(OWNER.password);
      await page.locator('input[name="password_confirm"]').fill(OWNER.password);
      await page.getByRole('button', { name: 'Create owner account' }).click();

      // 2. Sign in.
      await page.waitForURL((url) => url.pathname === '/login');
      await page.getByText('Owner account created').first().waitFor();
      await page.locator('input[name="login"]').fill(OWNER.username);
      await page.locator('input[name="password"]').fill(OWNER.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();

      // 3. Admin panel -> System.
      await page.waitForURL((url) => url.pathname === '/admin' || url.pathname === '/admin/');
      await page.getByRole('navigation').getByRole('link', { name: 'System', exact: true }).first().click();
      await page.waitForURL((url) => url.pathname === '/admin/system');
      await page.getByRole('heading', { name: 'System' }).first().waitFor();
      const text = await page.locator('body').innerText();
      for (const expected of ['System', 'Version', 'Uptime', 'Job queue', 'TLS']) {
        assert.ok(text.includes(expected), `/admin/system shows "${expected}"`);
      }
      await page.screenshot({ path: path.join(artifacts, 'system.png'), fullPage: true });

      // Installable: the manifest is linked and names the site, with icons that load.
      const manifestUrl = await page.locator('link[rel="manifest"]').getAttribute('href');
      const manifest = await (await context.request.get(manifestUrl)).json();
      assert.equal(manifest.display, 'standalone');
      for (const icon of manifest.icons) {
        assert.equal((await context.request.get(icon.src)).status(), 200, `icon ${icon.src}`);
      }
      assert.deepEqual(problems, [], 'no console errors or missing files on the way');

      // 4. Sign out: the session is gone and the admin panel redirects to the login page.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page
        .getByRole('link', { name: 'Sign in' })
        .or(page.getByRole('button', { name: 'Sign in' }))
        .first()
        .waitFor();
      assert.notEqual(pathnameOf(page), '/admin/system', 'signing out leaves the admin page');

      const again = await page.goto('/admin/system');
      assert.ok(again, 'navigation to /admin/system produced a response');
      assert.equal(pathnameOf(page), '/login', '/admin/system redirects to /login after sign out');
      assert.ok(again.request().redirectedFrom(), 'the server answered /admin/system with a redirect');
    } finally {
      await context.close();
    }
  });

  test('the setup link works only once', async () => {
    const { context, page } = await newPage();
    try {
      const resp = await page.goto(setupLink);
      assert.ok(resp, 'navigation to the used setup link produced a response');
      assert.ok(resp.status() >= 400, `a used setup link answers with an error status (got ${resp.status()})`);
      assert.equal(await page.locator('input[name="password_confirm"]').count(), 0, 'no setup form on a used link');
    } finally {
      await context.close();
    }
  });

  test('SIGTERM shuts the server down gracefully (exit code 0)', async () => {
    await browser.close();
    browser = null;
    server.child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hearth did not exit within ${SHUTDOWN_TIMEOUT_MS / 1000} s of SIGTERM`)), SHUTDOWN_TIMEOUT_MS);
    });
    try {
      const { code, signal } = await Promise.race([server.exited, timeout]);
      assert.equal(signal, null, 'hearth exited by itself, not killed by the signal');
      assert.equal(code, 0, 'hearth exit code after SIGTERM');
    } finally {
      clearTimeout(timer);
    }
  });
});
