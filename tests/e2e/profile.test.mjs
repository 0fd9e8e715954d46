// Browser journey for profiles at phone size: write a profile with a town picked from the
// suggestions as you type, choose a photo, save, and see the profile as others will; then
// "use my location" snaps a browser position to the nearest town. Then a member invited by the
// owner writes a profile, finds the owner in the deck and likes her; she likes him back from
// hers, and the match is celebrated; they write to each other and see it live.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { OWNER, artifacts, repoRoot, serverSuite, setUpOwner } from './lib.mjs';

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

    // While the photo is on its way, its blurhash fills the box; the placeholder's colours
    // are the photo's, and it goes once the photo is there.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route('**/media/*/card', async (route) => { await held; await route.continue(); });
    await page.reload({ waitUntil: 'domcontentloaded' });
    const waiting = page.getByRole('img', { name: 'Photo 1 of Olive' });
    await page.waitForFunction(() => document.querySelector('img.blurhash') !== null);
    // The colours of the placeholder or of the photo, drawn at 2×2: the blurhash keeps the
    // photo's broad layout of colour, not just its average.
    const quadrants = (img, which) => new Promise((resolve, reject) => {
      const source = which === 'placeholder' ? img.style.backgroundImage.slice(5, -2) : img.currentSrc;
      const drawn = new Image();
      drawn.onload = () => {
        const canvas = document.createElement('canvas');
        canvas.width = 2;
        canvas.height = 2;
        const ctx = canvas.getContext('2d');
        ctx.imageSmoothingQuality = 'high';
        ctx.drawImage(drawn, 0, 0, 2, 2);
        resolve(Array.from(ctx.getImageData(0, 0, 2, 2).data).filter((_, i) => i % 4 !== 3));
      };
      drawn.onerror = reject;
      drawn.src = source;
    });
    const placeholder = await waiting.evaluate(quadrants, 'placeholder');
    release();
    await page.waitForFunction(() => document.querySelector('img.blurhash') === null);
    const real = await waiting.evaluate(quadrants, 'photo');
    for (let k = 0; k < real.length; k++) {
      assert.ok(Math.abs(placeholder[k] - real[k]) < 48, `placeholder ${placeholder} vs photo ${real}`);
    }
    await page.unroute('**/media/*/card');

    // Use my location: the position becomes a town; only the town is saved.
    await page.getByRole('link', { name: 'Edit profile' }).click();
    await page.getByRole('button', { name: 'use my location' }).click();
    await page.waitForFunction(() => document.querySelector('[data-place-input]').value === 'Paris, France');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Paris, France').waitFor();
    await context.close();
  });

  async function signIn(context, login, password) {
    const page = await context.newPage();
    await page.goto('/login');
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname !== '/login');
    return page;
  }

  test('an invited member likes the owner from the deck; she likes back; a match', async () => {
    const phone = { viewport: { width: 390, height: 844 }, baseURL: suite.baseUrl };
    const ownerContext = await suite.browser.newContext(phone);
    ownerContext.setDefaultTimeout(15_000);
    const owner = await signIn(ownerContext, OWNER.username, OWNER.password);
    await owner.goto('/admin/invitations');
    await owner.getByRole('button', { name: 'Create invitation' }).click();
    const invite = (await owner.locator('code', { hasText: '/join/' }).first().innerText()).trim();

    const memberContext = await suite.browser.newContext(phone);
    memberContext.setDefaultTimeout(15_000);
    const m = await memberContext.newPage();
    await m.goto(invite);
    await m.locator('input[name="username"]').fill('juno');
    await m.locator('input[name="email"]').fill('juno@example.test');
    await m.locator('input[name="password"]').fill('juno has a long passphrase');
    await m.locator('input[name="password_confirm"]').fill('juno has a long passphrase');
    await m.getByRole('button', { name: 'Create my account' }).click();
    await m.getByRole('heading', { name: 'Welcome aboard' }).waitFor();
    const member = await signIn(memberContext, 'juno', 'juno has a long passphrase');

    // Discover sends him to write a profile first.
    await member.goto('/discover');
    await member.getByRole('link', { name: 'Write my profile' }).click();
    await member.getByLabel('Name others see').fill('Juno');
    await member.getByLabel('Birth date').fill('1992-08-14');
    await member.getByLabel('I am', { exact: true }).selectOption('man');
    await member.getByLabel('I am here for').selectOption('friendship');
    await member.getByLabel('books').check();
    await member.getByRole('button', { name: 'Save profile' }).click();
    await member.getByText('Your profile is saved.').waitFor();

    // The owner is in his deck: he likes her with the arrow key.
    await member.goto('/discover');
    await member.getByRole('heading', { name: /Olive/ }).waitFor();
    await member.screenshot({ path: path.join(artifacts, 'discover-card.png'), fullPage: true });
    await member.keyboard.press('ArrowRight');
    await member.waitForURL((url) => url.pathname === '/discover');
    await member.getByText('Nobody new to show right now').waitFor();

    // She finds him in her deck and likes him back: the match is celebrated.
    await owner.goto('/discover');
    await owner.getByRole('heading', { name: /Juno/ }).waitFor();
    await owner.getByRole('button', { name: 'Like' }).click();
    await owner.getByRole('heading', { name: "It's a match!" }).waitFor();
    await owner.getByRole('link', { name: 'Say hello' }).waitFor();
    await owner.screenshot({ path: path.join(artifacts, 'match.png'), fullPage: true });
    await member.goto('/matches');
    await member.getByText('Olive,').waitFor();

    // He writes to her from the matches list; she hears of it live, wherever she is.
    await member.getByRole('button', { name: 'Message' }).click();
    await member.waitForURL(/\/messages\//);
    await member.getByRole('textbox', { name: 'Message', exact: true }).fill('Hello Olive!');
    await member.getByRole('button', { name: 'Send' }).click();
    await member.getByText('Hello Olive!').waitFor();
    await owner.getByRole('link', { name: 'New message' }).waitFor();
    await owner.locator('.places a[href="/messages"] .badge', { hasText: '1' }).waitFor();
    await owner.getByRole('link', { name: 'New message' }).click();
    await owner.getByText('Hello Olive!').waitFor();
    // He is online (his page is open): a dot by his name.
    await owner.locator('.conversation-head a.online').waitFor();
    // She read it: he sees "seen" without reloading; her typing shows; her answer arrives.
    await member.getByText('seen').waitFor();
    await owner.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('Hi Juno');
    await member.getByText('Olive is typing…').waitFor();
    await owner.getByRole('button', { name: 'Send' }).click();
    await member.getByText('Hi Juno').waitFor();
    await member.screenshot({ path: path.join(artifacts, 'conversation.png'), fullPage: true });

    // His notification settings: push offered on this device, quiet hours on, likes not pushed.
    await member.goto('/notifications/settings');
    await member.getByRole('button', { name: 'Turn on push notifications on this device' }).waitFor();
    await member.getByRole('checkbox', { name: /Hold email, push and webhooks/ }).check();
    await member.getByRole('checkbox', { name: 'Likes by push' }).uncheck();
    await member.getByRole('button', { name: 'Save' }).click();
    await member.getByText('Notification settings saved.').waitFor();
    assert.equal(await member.getByRole('checkbox', { name: 'Likes by push' }).isChecked(), false);
    assert.equal(await member.getByRole('checkbox', { name: /Hold email, push and webhooks/ }).isChecked(), true);
    await member.screenshot({ path: path.join(artifacts, 'notification-settings.png'), fullPage: true });

    // He searches for her from the header: suggestions as he types, then the results page.
    await member.getByRole('searchbox', { name: 'Search' }).pressSequentially('Oliv');
    await member.locator('#search-suggestions a[href^="/members/"]', { hasText: 'Olive' }).waitFor();
    await member.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await member.waitForURL(/\/search\?/);
    await member.locator('.results a[href^="/members/"]', { hasText: 'Olive' }).waitFor();
    await member.screenshot({ path: path.join(artifacts, 'search.png'), fullPage: true });
    await ownerContext.close();
    await memberContext.close();
  });
});
