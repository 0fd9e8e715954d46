// Browser journey for members: an invitation, sign-up, the verification mail read from a real
// SMTP server, sign-in, turning on two-factor authentication, and signing in with a code; then
// a passkey on Chromium's virtual authenticator, for signing in without a password and as the
// second step after one.
//
// Run: cargo build && node --test tests/e2e/*.test.mjs   (needs python3 with aiosmtpd)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifacts, repoRoot, startServer, launchBrowser, setUpOwner } from './lib.mjs';

const MEMBER = { username: 'juniper', email: 'juniper@example.test', password: 'a long walk by the river 7' };

/** Python's aiosmtpd on loopback; every received message arrives as a JSON line. */
function startSmtpSink() {
  const child = spawn('python3', [path.join(repoRoot, 'tests', 'smtp_sink.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  const received = [];
  let resolvePort;
  const port = new Promise((resolve) => { resolvePort = resolve; });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('READY ')) return resolvePort(Number(line.slice(6)));
    const mail = JSON.parse(line);
    const next = waiting.shift();
    if (next) next(mail); else received.push(mail);
  });
  const nextMail = () => new Promise((resolve, reject) => {
    if (received.length) return resolve(received.shift());
    const timer = setTimeout(() => reject(new Error('no mail within 30 s')), 30_000);
    waiting.push((mail) => { clearTimeout(timer); resolve(mail); });
  });
  return { child, port, nextMail, stop: () => child.stdin.end() };
}

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0; let value = 0; const out = [];
  for (const c of text) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { bits -= 8; out.push((value >>> bits) & 0xff); }
  }
  return Buffer.from(out);
}

/** RFC 6238 code (SHA-1, 6 digits, 30 s steps) for the step `offset` steps from now. */
function totp(key, offset = 0) {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[mac.length - 1] & 0x0f;
  const n = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

/** The first link to `/{kind}/…` in a raw message (quoted-printable soft breaks undone). */
function linkIn(raw, kind) {
  const text = raw.replace(/=\r?\n/g, '');
  const match = new RegExp(`http://localhost:\\d+/${kind}/[A-Za-z0-9_-]+`).exec(text);
  assert.ok(match, `a /${kind}/ link in the mail:\n${raw}`);
  return match[0];
}

describe('members: invitation, verification mail, two-factor sign-in, passkeys', { timeout: 180_000 }, () => {
  let tmpDir; let server; let baseUrl; let setupLink; let browser; let smtp;
  let recoveryCodes = [];

  before(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-e2e-accounts-'));
    smtp = startSmtpSink();
    server = startServer(path.join(tmpDir, 'data'), tmpDir, path.join(artifacts, 'server-accounts.log'));
    ({ baseUrl, setupLink } = await server.ready);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    server?.log.end();
    smtp?.stop();
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  async function newPage() {
    const context = await browser.newContext({ baseURL: baseUrl });
    context.setDefaultTimeout(10_000);
    return { context, page: await context.newPage() };
  }

  test('invite → sign up → verify by mail → sign in → TOTP → sign in with a code', async () => {
    const smtpPort = await smtp.port;

    // The owner sets up the instance, mail and an invitation.
    const admin = await newPage();
    const a = admin.page;
    await setUpOwner(a, setupLink);

    await a.goto('/admin/mail');
    await a.getByText('Mail is off').waitFor();
    await a.locator('input[name="smtp_host"]').fill('127.0.0.1');
    await a.locator('input[name="smtp_port"]').fill(String(smtpPort));
    await a.locator('input[name="smtp_security"][value="none"]').check();
    await a.locator('input[name="from"]').fill('Hearth <hearth@example.test>');
    await a.getByRole('button', { name: 'Save mail settings' }).click();
    await a.getByText('Mail settings saved.').waitFor();

    await a.goto('/admin/invitations');
    await a.locator('input[name="note"]').fill('for Juniper');
    await a.getByRole('button', { name: 'Create invitation' }).click();
    const invite = (await a.locator('code', { hasText: '/join/' }).first().innerText()).trim();
    await admin.context.close();

    // Juniper joins with the invitation.
    const member = await newPage();
    const m = member.page;
    await m.goto(invite);
    await m.getByText('You were invited').waitFor();
    await m.locator('input[name="username"]').fill(MEMBER.username);
    await m.locator('input[name="email"]').fill(MEMBER.email);
    await m.locator('input[name="password"]').fill(MEMBER.password);
    await m.locator('input[name="password_confirm"]').fill(MEMBER.password);
    await m.getByRole('button', { name: 'Create my account' }).click();
    await m.getByText('We sent you an email').waitFor();

    // The verification mail arrives through SMTP; its link opens a page whose button confirms
    // the address (opening the link alone changes nothing).
    const mail = await smtp.nextMail();
    assert.deepEqual(mail.to, [MEMBER.email]);
    await m.goto(linkIn(mail.data, 'verify'));
    await m.getByRole('button', { name: 'Confirm my address' }).click();
    await m.getByText('your email address is confirmed').waitFor();

    // Sign in and turn on two-factor authentication.
    await m.goto('/login');
    await m.locator('input[name="login"]').fill(MEMBER.email);
    await m.locator('input[name="password"]').fill(MEMBER.password);
    await m.getByRole('button', { name: 'Sign in', exact: true }).click();
    await m.waitForURL((url) => url.pathname === '/');
    await m.goto('/account');
    await m.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await m.getByAltText('QR code for your authenticator app').waitFor();
    const keyText = await m.locator('p', { hasText: 'Key:' }).locator('code').innerText();
    const key = base32Decode(keyText.trim());
    await m.locator('input[name="code"]').fill(totp(key));
    await m.getByRole('button', { name: 'Turn on' }).click();
    await m.getByText('Keep these recovery codes').waitFor();
    recoveryCodes = await m.locator('ul.codes li code').allInnerTexts();
    assert.equal(recoveryCodes.length, 10, 'ten recovery codes');
    await m.screenshot({ path: path.join(artifacts, 'two-factor.png'), fullPage: true });

    // Sign out, then sign in again: the password alone is not enough.
    await m.getByRole('button', { name: 'Sign out', exact: true }).click();
    await m.goto('/login');
    await m.locator('input[name="login"]').fill(MEMBER.username);
    await m.locator('input[name="password"]').fill(MEMBER.password);
    await m.getByRole('button', { name: 'Sign in', exact: true }).click();
    await m.waitForURL((url) => url.pathname === '/login/code');
    // The code used to turn it on is spent; the next time step's code is within the allowed skew.
    await m.locator('input[name="code"]').fill(totp(key, 1));
    await m.getByRole('button', { name: 'Continue' }).click();
    await m.waitForURL((url) => url.pathname === '/');
    await m.getByRole('heading', { name: `Welcome, ${MEMBER.username}` }).waitFor();
    await member.context.close();
  });

  // Builds on the journey above: Juniper exists, with TOTP on and recovery codes noted.
  test('register a passkey → sign in with it alone → use it after the password', async () => {
    const member = await newPage();
    const m = member.page;
    const cdp = await member.context.newCDPSession(m);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    async function passwordStep() {
      await m.goto('/login');
      await m.locator('input[name="login"]').fill(MEMBER.username);
      await m.locator('input[name="password"]').fill(MEMBER.password);
      await m.getByRole('button', { name: 'Sign in', exact: true }).click();
      await m.waitForURL((url) => url.pathname === '/login/code');
    }
    const signOut = () => m.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
    async function signedInHome() {
      await m.waitForURL((url) => url.pathname === '/');
      await m.getByRole('heading', { name: `Welcome, ${MEMBER.username}` }).waitFor();
    }

    // Without a passkey the second step offers only codes; a recovery code gets Juniper in.
    await passwordStep();
    assert.equal(await m.getByRole('button', { name: 'Use a passkey instead' }).count(), 0);
    await m.locator('input[name="code"]').fill(recoveryCodes[0]);
    await m.getByRole('button', { name: 'Continue' }).click();
    await signedInHome();

    // Register: the password confirms it is Juniper; the authenticator makes the key.
    await m.goto('/account');
    const form = m.locator('form[data-passkey="register"]');
    await form.locator('input[name="name"]').fill('Test laptop');
    await form.locator('input[name="current_password"]').fill('not the password at all');
    await form.getByRole('button', { name: 'Add a passkey' }).click();
    await m.getByText('The current password is wrong.').waitFor();
    await form.locator('input[name="current_password"]').fill(MEMBER.password);
    await form.getByRole('button', { name: 'Add a passkey' }).click();
    const row = m.locator('tr', { hasText: 'Test laptop' });
    await row.waitFor();
    assert.match(await row.innerText(), /never/, 'not used yet');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the authenticator holds one credential');
    assert.ok(credentials[0].isResidentCredential, 'discoverable, so no username is needed');
    await m.screenshot({ path: path.join(artifacts, 'passkeys.png'), fullPage: true });

    // Passwordless: the sign-in page's button alone.
    await signOut();
    await m.goto('/login');
    await m.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await signedInHome();
    await m.goto('/account');
    assert.doesNotMatch(await row.innerText(), /never/, 'the last use is shown');

    // As the second step after the password, instead of a code.
    await signOut();
    await passwordStep();
    await m.getByRole('button', { name: 'Use a passkey instead' }).click();
    await signedInHome();

    // Once removed, the passkey signs nobody in.
    await m.goto('/account');
    await row.getByRole('button', { name: 'Remove' }).click();
    await m.getByText('Passkey removed.').waitFor();
    await signOut();
    await m.goto('/login');
    await m.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await m.getByText('The passkey was not accepted').waitFor();
    assert.equal(new URL(m.url()).pathname, '/login');
    await member.context.close();
  });
});
