// Shared by the browser tests: where things are, starting `hearth serve` and waiting for its
// printed address and setup link, and launching Debian's Chromium.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const artifacts = path.join(here, 'artifacts');
export const hearthBin = path.resolve(repoRoot, process.env.HEARTH_BIN ?? 'target/debug/hearth');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const STARTUP_TIMEOUT_MS = 30_000;
export const SHUTDOWN_TIMEOUT_MS = 20_000;
export const OWNER = { username: 'owner', email: 'owner@example.test', password: 'correct horse battery staple 42' };

// A loopback listener is announced as `localhost`: passkeys need a name, not an IP address.
const LISTENING_RE = /Hearth is listening on (http:\/\/localhost:\d+)/;
const SETUP_RE = /Open this link to create the owner account: (http:\/\/localhost:\d+\/setup\/\S+)/;
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Starts `hearth serve` and resolves once it has printed its address and the setup link. */
export function startServer(dataDir, cwd, logFile) {
  // The child must not inherit our HEARTH_* variables (HEARTH_BIN, a developer's settings):
  // they would be read as configuration.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARTH_')));
  env.NO_COLOR = '1';
  const child = spawn(hearthBin, ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = fs.createWriteStream(logFile);
  log.on('error', () => {});
  // 'close' (not 'exit'): fires once the process has exited and its output is fully read.
  const exited = new Promise((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  child.stderr.on('data', (chunk) => log.write(chunk));

  const ready = new Promise((resolve, reject) => {
    let listening = null;
    let setupLink = null;
    const timer = setTimeout(() => {
      reject(new Error(`hearth did not print its address and setup link within ${STARTUP_TIMEOUT_MS / 1000} s (log: ${logFile})`));
    }, STARTUP_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (raw) => {
      log.write(`${raw}\n`);
      const line = raw.replace(ANSI_RE, '');
      listening ??= LISTENING_RE.exec(line)?.[1] ?? null;
      setupLink ??= SETUP_RE.exec(line)?.[1] ?? null;
      if (listening && setupLink) {
        clearTimeout(timer);
        resolve({ baseUrl: listening, setupLink });
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${hearthBin}: ${err.message}`));
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`hearth exited before it was ready (code ${code}, signal ${signal}; log: ${logFile})`));
    });
  });
  return { child, ready, exited, log };
}

export function pathnameOf(page) {
  return new URL(page.url()).pathname;
}


/** Debian's Chromium, headless, with the flags this machine needs. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Creates the owner through the setup link and signs in as them (lands on /admin). */
export async function setUpOwner(page, setupLink) {
  await page.goto(setupLink);
  await page.locator('input[name="username"]').fill(OWNER.username);
  await page.locator('input[name="email"]').fill(OWNER.email);
  await page.locator('input[name="password"]').fill(OWNER.password);
  await page.locator('input[name="password_confirm"]').fill(OWNER.password);
  await page.getByRole('button', { name: 'Create owner account' }).click();
  await page.locator('input[name="login"]').fill(OWNER.username);
  await page.locator('input[name="password"]').fill(OWNER.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/admin');
}

/**
 * A fresh server and browser for one test file: `await suite.start()` in `before`,
 * `await suite.stop()` in `after`; then `suite.baseUrl`, `suite.setupLink`, `suite.browser`.
 */
export function serverSuite(name) {
  const suite = {
    async start() {
      fs.mkdirSync(artifacts, { recursive: true });
      suite.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `hearth-e2e-${name}-`));
      suite.server = startServer(path.join(suite.tmpDir, 'data'), suite.tmpDir, path.join(artifacts, `server-${name}.log`));
      ({ baseUrl: suite.baseUrl, setupLink: suite.setupLink } = await suite.server.ready);
      suite.browser = await launchBrowser();
    },
    async stop() {
      await suite.browser?.close().catch(() => {});
      const { server } = suite;
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      server?.log.end();
      if (suite.tmpDir) fs.rmSync(suite.tmpDir, { recursive: true, force: true });
    },
  };
  return suite;
}
