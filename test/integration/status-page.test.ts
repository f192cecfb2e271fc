// The status page at `/`, in a real browser (Debian's chromium, driven by playwright-core)
// during a real migration under a write load: the rows copied move; Pause holds the copy (the
// count stands still, the page says it is paused) and Resume lets it go on; Confirm cutover is
// refused with the engine's reason while the run copies, and accepted once it waits for it. The
// run requires a control token: a button without it is refused (401) and does nothing; typed in
// the page's token field (kept in sessionStorage), the buttons work. The
// page shows no password, and a table named with markup as text. At the end every row of source
// and target is compared.
//
// TIDEFERRY_SCREENSHOT=docs/status-page.png saves a screenshot of the page mid-copy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import type { Connection } from 'mysql2/promise';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Ferry } from '../../src/ferry.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WriteLoad } from '../../src/sandbox/load.js';
import { quoteIdentifier } from '../../src/db/sql.js';
import { SAMPLE_TABLES } from '../../src/sandbox/sample.js';
import { dumpTable, resetSampleDatabase, sandboxConfig, testLogger, waitFor } from './helpers.js';

function findChromium(): string | undefined {
  const named = process.env.TIDEFERRY_CHROMIUM;
  if (named) return named;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not on the PATH
    }
  }
  return ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/snap/bin/chromium'].find((path) => existsSync(path));
}

const chromiumPath = findChromium();
const MARKUP_TABLE = '<img src=x onerror="window.injected=1">';
const TABLES = [...SAMPLE_TABLES, MARKUP_TABLE];
const PAGE_TOKEN = 'page-token-51d2e8';

/** POST with an Origin header, as a page of another site would send it. */
function postFrom(origin: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: 'POST', headers: { origin } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    sent.once('error', reject);
    sent.end();
  });
}

describe('status page', { skip: chromiumPath ? false : 'no chromium installed (Debian: apt-get install chromium; or set TIDEFERRY_CHROMIUM)' }, () => {
  let sandbox: Sandbox;
  let source: Connection;
  let target: Connection;
  let browser: Browser | undefined;

  before(async () => {
    sandbox = await startSandbox();
    source = await sandbox.source.connect();
    target = await sandbox.target.connect();
    await resetSampleDatabase(source, target);
    // A table whose name is markup: the page shows it as text, and nothing of it runs.
    await source.query(`CREATE TABLE shop.${quoteIdentifier(MARKUP_TABLE)} (id INT PRIMARY KEY, note VARCHAR(20))`);
    await source.query(`INSERT INTO shop.${quoteIdentifier(MARKUP_TABLE)} VALUES (1, '<b>one</b>'), (2, 'two')`);
  });
  after(async () => {
    await browser?.close();
    await source?.end();
    await target?.end();
    await sandbox?.stop();
  });

  const rowsShown = async (page: Page) => Number(await page.locator('#copy-rows').getAttribute('data-value'));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('shows the copy moving, pauses and resumes it, refuses and confirms the cutover', { timeout: 180_000 }, async () => {
    const load = new WriteLoad(sandbox.source, { ratePerSecond: 200, connections: 2, seed: 11 });
    await load.start();
    // Small batches, one table at a time: the copy lasts long enough to watch.
    const ferry = new Ferry({
      config: sandboxConfig(sandbox, { http: { listen: '127.0.0.1:0', tokenEnv: 'TIDEFERRY_PAGE_TOKEN' }, copy: { batchRows: 200, adaptive: false, concurrency: 1 }, cutover: { mode: 'manual' } }),
      logger: testLogger(),
      env: { ...process.env, TIDEFERRY_PAGE_TOKEN: PAGE_TOKEN },
    });
    const running = ferry.run();
    running.catch(() => undefined);
    try {
      await waitFor(() => ferry.httpUrl !== undefined, 30_000, 'the HTTP listener');
      browser = await chromium.launch({ executablePath: chromiumPath!, headless: true, chromiumSandbox: false });
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        // A poll after the run ended fails to connect: expected. Anything else (a CSP refusal, a script error) is not.
        if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
      });
      await page.goto(`${ferry.httpUrl}/`);
      const loaded = await page.evaluate(() => performance.timeOrigin);

      // The copy moves on the page (one load of the page: it polls, it does not reload).
      await waitFor(async () => (await rowsShown(page)) > 0, 60_000, 'rows copied on the page', 100);
      const first = await rowsShown(page);
      await waitFor(async () => (await rowsShown(page)) > first, 10_000, 'the rows copied to grow on the page', 100);
      assert.equal(await page.locator('#phase').textContent(), 'copy');
      assert.equal(await page.locator('tr[data-table]').count(), TABLES.length, 'one row per table');
      assert.equal(await page.locator(`tr[data-table="shop.${MARKUP_TABLE.replace(/"/g, '\\"')}"] td:first-child`).textContent(), `shop.${MARKUP_TABLE}`);
      assert.equal(await page.locator('#tables img').count(), 0, 'a table name is text, not markup');
      assert.equal(await page.evaluate(() => (globalThis as { injected?: number }).injected), undefined);
      assert.ok(Number((await page.locator('#copy-total').textContent())?.replace(/,/g, '')) > 0, 'an estimated total is shown');

      // The run wants a token: without it a button is refused and the copy goes on; with it typed in, the buttons work.
      assert.equal(await page.locator('#token-box').isVisible(), true, 'the token field is shown');
      await page.click('#button-pause');
      await waitFor(async () => /refused \(401\)/.test((await page.locator('#answer').textContent()) ?? ''), 5_000, 'the 401 on the page', 50);
      assert.match((await page.locator('#answer').textContent()) ?? '', /TIDEFERRY_PAGE_TOKEN/);
      assert.equal(ferry.status().copyPaused, false, 'the pause without the token did nothing');
      await page.fill('#token', PAGE_TOKEN);
      assert.equal(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('tideferry-control-token')), PAGE_TOKEN, 'kept in the tab');

      // Confirm cutover while copying: refused, and the page says why.
      await page.click('#button-cutover');
      await waitFor(async () => /refused \(409\)/.test((await page.locator('#answer').textContent()) ?? ''), 5_000, 'the refusal on the page', 50);
      assert.match((await page.locator('#answer').textContent()) ?? '', /not waiting|phase copy/);

      // Pause: the page says so, and the count stands still (after the batch in flight).
      await page.click('#button-pause');
      await waitFor(async () => (await page.locator('#paused').count()) === 1, 5_000, 'the paused badge', 50);
      assert.match((await page.locator('#answer').textContent()) ?? '', /200 \{"paused":true\}/);
      assert.match((await page.locator('#copy-waits').textContent()) ?? '', /paused by the operator/);
      await sleep(1_200);
      const held = await rowsShown(page);
      await sleep(1_500);
      assert.equal(await rowsShown(page), held, 'the copy stood still while paused');
      assert.equal(ferry.phase, 'copy', 'the copy was not done when it was paused');
      assert.ok(held < Number((ferry.status().copy as { estimatedRows: number }).estimatedRows), 'rows were left to copy');

      // Resume: it goes on.
      await page.click('#button-resume');
      await waitFor(async () => (await page.locator('#paused').count()) === 0, 5_000, 'the paused badge to go', 50);
      await waitFor(async () => (await rowsShown(page)) > held, 20_000, 'the rows copied to grow after resume', 100);

      if (process.env.TIDEFERRY_SCREENSHOT) {
        // Mid-copy, with a table in progress showing its own rate.
        const rates = page.locator('tr[data-table] td:nth-child(5)');
        await waitFor(async () => (await rates.allTextContents()).some((text) => /^[\d,]+$/.test(text)), 10_000, 'a table rate on the page', 100).catch(() => undefined);
        await page.screenshot({ path: process.env.TIDEFERRY_SCREENSHOT, fullPage: true });
      }

      // No credentials on the page or in /status; the control API refuses another site's page.
      const text = (await page.content()) + JSON.stringify(ferry.status());
      for (const password of [sandbox.source.endpoint.password, sandbox.target.endpoint.password]) assert.ok(!text.includes(password), 'a password is shown');
      assert.equal(await postFrom('http://elsewhere.example', `${ferry.httpUrl}/pause`), 403);
      assert.ok(!text.includes(PAGE_TOKEN), 'the token is not in /status');
      assert.equal(ferry.status().copyPaused, false, 'the refused pause did nothing');

      // The run waits for the operator: stop the writers, confirm on the page.
      await waitFor(async () => (await page.locator('#phase').textContent()) === 'cutover', 120_000, 'the cutover phase on the page', 200);
      const verified = await page.locator('tr[data-table] td:nth-child(9)').allTextContents();
      assert.deepEqual(verified.map((cell) => cell.slice(0, 3)), TABLES.map(() => 'yes'), 'every table shown verified');
      await load.stop();
      await page.click('#button-cutover');
      await waitFor(async () => /202/.test((await page.locator('#answer').textContent()) ?? ''), 5_000, 'the accepted cutover on the page', 50);
      const summary = await running;
      assert.ok(summary.rowsCopied > 0);
      assert.equal(await page.evaluate(() => performance.timeOrigin), loaded, 'the page never reloaded');
      assert.deepEqual(pageErrors, [], 'the page ran without errors');
    } finally {
      await load.stop().catch(() => undefined);
      ferry.cancel('test over');
      await running.catch(() => undefined);
      await browser?.close();
      browser = undefined;
    }
    for (const table of TABLES) assert.deepEqual(await dumpTable(target, 'shop', table), await dumpTable(source, 'shop', table), `${table}: rows differ`);
  });
});
