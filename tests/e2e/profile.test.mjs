// Browser journey for profiles at phone size: write a profile with a town picked from the
// suggestions as you type, choose a photo, save, and see the profile as others will; then
// "use my location" snaps a browser position to the nearest town.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { artifacts, repoRoot, serverSuite, setUpOwner } from './lib.mjs';

const fixture = (name) => path.join(repoRoot, 'tests', 'fixtures', 'media', name);

describe('profiles: write, pick a town, see it', { timeout: 120_000 }, () => {
  const suite = serverSuite('profile');
  before(() => suite.start());
  after(() => suite.stop());

  test('profile form → town suggestion → saved profile; my location', async () => {
    const context = await suite.browser.newContext({
      baseURL: suite.baseUrl,
      viewport: { width: 390, height: 844 },
      geolocation: { latitude: 48.853, longitude: 2.3499 },
      permissions: ['geolocation'],
      timezoneId: 'Europe/Zurich',
    });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await setUpOwner(page, suite.setupLink);

    await page.goto('/media');
    await page.locator('input[name="file"]').setInputFiles(fixture('plain.png'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('.media-state', { hasText: 'ready' }).waitFor();

    await page.getByRole('link', { name: 'Profile' }).click();
    await page.getByRole('heading', { name: 'Create your profile' }).waitFor();
    await page.getByLabel('Name others see').fill('Olive');
    await page.getByLabel('Birth date').fill('1990-04-23');
    await page.getByLabel('I am', { exact: true }).selectOption('woman');
    await page.getByLabel('I am here for').selectOption('friendship');
    await page.getByLabel('About me').fill('Tea, trails and <b>bold</b> ideas.');
    await page.getByLabel('hiking').check();
    await page.getByLabel('books').check();
    await page.getByLabel('Town', { exact: true }).pressSequentially('zur', { delay: 30 });
    await page.getByRole('button', { name: 'Zürich, Switzerland' }).click();
    assert.equal(await page.getByLabel('Town', { exact: true }).inputValue(), 'Zürich, Switzerland');
    assert.equal(await page.getByLabel('Time zone').inputValue(), 'Europe/Zurich', 'the browser time zone');
    await page.locator('.photo-choices input[type="checkbox"]').first().check();
    await page.screenshot({ path: path.join(artifacts, 'profile-form.png'), fullPage: true });
    await page.getByRole('button', { name: 'Save profile' }).click();

    await page.getByText('Your profile is saved.').waitFor();
    await page.getByRole('heading', { name: /Olive, \d+/ }).waitFor();
    await page.getByText('Zürich, Switzerland').waitFor();
    await page.getByText('Tea, trails and <b>bold</b> ideas.').waitFor();
    const photo = page.getByRole('img', { name: 'Photo 1 of Olive' });
    await photo.waitFor();
    assert.ok(await photo.evaluate((img) => img.naturalWidth > 0), 'the photo loads');
    await page.getByText('complete').first().waitFor();
    await page.screenshot({ path: path.join(artifacts, 'profile-own.png'), fullPage: true });

    // Use my location: the position becomes a town; only the town is saved.
    await page.getByRole('link', { name: 'Edit profile' }).click();
    await page.getByRole('button', { name: 'use my location' }).click();
    await page.waitForFunction(() => document.querySelector('[data-place-input]').value === 'Paris, France');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Paris, France').waitFor();
    await context.close();
  });
});
