// Browser journey for records at phone size: the owner records an incoming letter with the
// form (its number made in the community's format), comments on it, attaches a file and
// downloads it, moves it along the workflow, finds it in the list by a word and in "my work",
// edits it, sees every step in its history, and completes it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { artifacts, serverSuite, setUpOwner } from './lib.mjs';

describe('records: create, comment, move, find, edit', { timeout: 120_000 }, () => {
  const suite = serverSuite('records');
  before(() => suite.start());
  after(() => suite.stop());

  test('a letter from the form to done', async () => {
    const context = await suite.browser.newContext({
      baseURL: suite.baseUrl,
      viewport: { width: 390, height: 844 },
    });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const problems = [];
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    page.on('response', (resp) => { if (resp.status() >= 500) problems.push(`${resp.status()}: ${resp.url()}`); });
    await setUpOwner(page, suite.setupLink);

    await page.goto('/records');
    await page.getByRole('link', { name: 'New record' }).click();
    await page.getByLabel('Title').fill('Roof repair quote');
    await page.getByLabel('Direction').selectOption('incoming');
    await page.getByLabel('Correspondent').fill('Roofers Ltd');
    await page.getByLabel('Content').fill('Quote for the east side.\nValid for 30 days.');
    await page.getByLabel('Priority').selectOption('high');
    await page.getByLabel('Due').fill('2030-06-20');
    await page.getByLabel('Tags').fill('building, roof');
    await page.getByLabel('Assignees').fill('owner');
    await page.getByRole('button', { name: 'Create record' }).click();

    await page.getByText(/IN-\d{4}-0001 is recorded\./).waitFor();
    const heading = page.getByRole('heading', { level: 1 });
    assert.match(await heading.innerText(), /IN-\d{4}-0001\s+Roof repair quote/);
    await page.getByText('Valid for 30 days.').waitFor();

    await page.getByLabel('Add a comment').fill('Asked for a second quote.');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    await page.getByText('Comment added.').waitFor();
    await page.getByText('Asked for a second quote.').waitFor();

    // A file: attached from the form, listed, and served as a download, never opened inline.
    await page.getByLabel('Attach a file').setInputFiles({
      name: 'quote.txt', mimeType: 'text/plain', buffer: Buffer.from('Second quote: 4,200 for the east side.\n'),
    });
    await page.getByRole('button', { name: 'Attach', exact: true }).click();
    await page.getByText('quote.txt attached.').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'quote.txt' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'quote.txt');

    await page.getByRole('button', { name: 'Move to In progress' }).click();
    await page.getByText('Moved to In progress.').waitFor();
    await page.getByRole('button', { name: 'Move to Completed' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'record.png'), fullPage: true });

    await page.getByRole('link', { name: 'Records', exact: true }).first().click();
    await page.getByLabel('Words').fill('roofers');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('1 record ·').waitFor();
    await page.getByRole('link', { name: 'My work' }).click();
    await page.getByRole('link', { name: /Roof repair quote/ }).click();

    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Title').fill('Roof repair quote, east side');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    const history = page.locator('.timeline');
    await history.getByText('changed title from “Roof repair quote” to “Roof repair quote, east side”').waitFor();
    await history.getByText('changed status from “New” to “In progress”').waitFor();
    await history.getByText('attached “quote.txt”').waitFor();

    // On to the end of the workflow.
    await page.getByRole('button', { name: 'Move to Completed' }).click();
    await page.getByText('Moved to Completed.').waitFor();
    assert.equal(await page.locator('.badge.status').innerText(), 'Completed');
    await history.getByText('changed status from “In progress” to “Completed”').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });
});
