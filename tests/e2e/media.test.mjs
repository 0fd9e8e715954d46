// Browser journey for media: upload a photo with GPS EXIF on My media (the script's progress
// upload), watch it turn ready, open it, and see a refused file explained; then approve an
// upload in the moderation queue with the keyboard.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { artifacts, repoRoot, serverSuite, setUpOwner } from './lib.mjs';

const fixture = (name) => path.join(repoRoot, 'tests', 'fixtures', 'media', name);

describe('media: upload, processing, moderation', { timeout: 120_000 }, () => {
  const suite = serverSuite('media');
  before(() => suite.start());
  after(() => suite.stop());

  test('upload → ready → view; a refused file says why; approve with the keyboard', async () => {
    const context = await suite.browser.newContext({ baseURL: suite.baseUrl });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await setUpOwner(page, suite.setupLink);

    // A refused file: the reason shows next to the form, and nothing is listed.
    await page.goto('/media');
    await page.locator('input[name="file"]').setInputFiles(fixture('script.svg'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByText('Only photos (JPEG, PNG, WebP, GIF) and videos').waitFor();
    assert.equal(await page.locator('.media-grid li').count(), 0);

    // A photo: uploaded with progress, processed in the background, then shown.
    await page.locator('input[name="file"]').setInputFiles(fixture('gps-rotated.jpg'));
    await page.getByRole('button', { name: 'Upload' }).click();
    const thumb = page.locator('.media-grid img[alt="gps-rotated.jpg"]');
    await thumb.waitFor();
    await page.locator('.media-state', { hasText: 'ready' }).waitFor();
    const size = await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
    assert.deepEqual(size, [48, 48], 'the square thumbnail');
    await page.screenshot({ path: path.join(artifacts, 'media-library.png'), fullPage: true });
    await thumb.click();
    const full = page.locator('img.media-full');
    await full.waitFor();
    assert.deepEqual(await full.evaluate((img) => [img.naturalWidth, img.naturalHeight]), [48, 64], 'upright');

    // Approval on: the next upload waits; staff approve it from the keyboard.
    await page.goto('/admin/media');
    await page.getByLabel('New uploads need approval before others see them').check();
    await page.getByRole('button', { name: 'Save media settings' }).click();
    await page.getByText('Media settings saved.').waitFor();
    await page.goto('/media');
    await page.locator('input[name="file"]').setInputFiles(fixture('plain.png'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('.media-state', { hasText: 'pending approval' }).waitFor();
    await page.goto('/admin/media');
    const approve = page.locator('.moderation').getByRole('button', { name: 'Approve' });
    await approve.focus();
    await page.keyboard.press('Enter');
    await page.getByText('Approved.').waitFor();
    await page.getByText('Nothing is waiting.').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'media-moderation.png'), fullPage: true });
    await context.close();
  });
});
