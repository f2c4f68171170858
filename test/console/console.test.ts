// The web console in a real browser (Debian's chromium, headless, driven by puppeteer-core)
// against a real scheduler and worker: a tenant enters its token, submits a small train job
// through the form and watches its curve grow, sees an API error next to the field it names,
// cancels a second job from its page, is told another tenant's job is not found, and sees the
// banner while the scheduler is away. Screenshots of the main pages (1280×800) go to
// test-results/console/; with USINE_UPDATE_DOCS_IMAGES=1 two are copied into docs/images/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import { launchPage, type BrowserPage } from '../support/browser.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';
import { ROOT } from '../support/processes.ts';

const SHOTS = path.join(ROOT, 'test-results/console');
const cluster = new Cluster({ port: 8520, tenants: [{ name: 'alice' }, { name: 'bob' }], workers: [{}] });
const as = (tenant: string) => new UsineClient({ url: cluster.url, token: Cluster.token(tenant) });
let b: BrowserPage;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  [b] = await Promise.all([launchPage(), cluster.start()]);
  ({ browser, page } = b);
});
afterAll(async () => {
  await browser?.close();
  await cluster.stop();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) as `${string}.png` });
const open = (hash: string) => page.goto(`${cluster.url}/ui/${hash}`);
const text = () => b.text();
const waitFor = (what: string, js: string, timeout?: number) => b.waitFor(what, js, timeout);
const waitText = (re: RegExp, timeout?: number) => b.waitText(re, timeout);
/** Waits for the curve to have more than `n` points while the job still runs (live, not the final result). */
const liveCurveOver = (n: number, timeout = 60_000) =>
  waitFor(
    `a running job's curve of more than ${n} points`,
    `Number(document.querySelector('figure.curve')?.getAttribute('data-points')) > ${n} &&
      document.querySelector('h1 .state-running') !== null`,
    timeout,
  );
/** The number in the curve's data-points attribute. */
const points = () => page.$eval('figure.curve', (el) => Number(el.getAttribute('data-points'))).catch(() => 0);
const setField = async (name: string, value: string) => {
  const sel = `[name="${name}"]`;
  await page.$eval(sel, (el) => ((el as unknown as { value: string }).value = ''));
  await page.type(sel, value);
};

describe('the web console at /ui', () => {
  it('follows a train job from the form to its live curve; shows errors by field; cancels; hides others', async () => {
    const bobs = await as('bob').submit({ type: 'noop', params: { sleepMs: 0 } });

    // Without a token the page asks for one; entered once, it is kept.
    await open('#/jobs');
    await waitText(/wants a token/);
    await page.type('#token', Cluster.token('alice'));
    await page.keyboard.press('Enter');
    await waitText(/No jobs yet/);
    expect(await page.evaluate(`localStorage.getItem('usine.token')`)).toBe('token-alice');

    // The API's 400 appears next to the field it names (heads must divide the width).
    await open('#/submit');
    await page.waitForSelector('[name="params.model.heads"]');
    await setField('params.model.heads', '3');
    await page.click('form.submit button[type=submit]');
    await page.waitForSelector('.field.invalid [name="params.model.heads"]');
    expect(await page.$eval('.field.invalid .field-error', (e) => e.textContent)).toMatch(/must divide dModel/);

    // A small train job through the form: the page moves to it and the curve gains points.
    await setField('params.model.heads', '2');
    await setField('params.steps', '400');
    await setField('params.evalEvery', '50');
    await page.click('form.submit button[type=submit]');
    await waitFor('a job page', '/^#\\/jobs\\/.+/.test(location.hash)');
    const trainId = decodeURIComponent(((await page.evaluate('location.hash')) as string).split('/')[2]);
    await liveCurveOver(1);
    await liveCurveOver(await points());
    // Opened mid-run (reloaded), the page draws the whole curve so far at once, from step 1.
    const before = (await as('alice').curve(trainId)).next;
    expect(before).toBeGreaterThan(1);
    await page.reload();
    await waitFor(
      `the curve from step 1 to at least step ${before} while the job runs`,
      `document.querySelector('figure.curve')?.getAttribute('data-first') === '1' &&
        Number(document.querySelector('figure.curve')?.getAttribute('data-points')) >= ${before} &&
        document.querySelector('h1 .state-running') !== null`,
    );
    await waitFor('the job succeeded', `document.querySelector('h1 .state-succeeded') !== null`, 90_000);
    expect(await points()).toBe(400); // the whole run, every step
    expect(await text()).toMatch(/tokens\/s/);
    expect(await text()).toMatch(/held-out exact match\s+\d/);
    await waitText(/checkpoint[\s\S]*Download/); // the checkpoints, downloadable
    await shot('train-curve');

    // A second job, cancelled from its page after the confirmation.
    const long = await as('alice').submit({ type: 'noop', params: { sleepMs: 600_000 } });
    await open(`#/jobs/${long.id}`);
    await page.waitForSelector('button.danger');
    await page.click('button.danger');
    await waitText(/Cancel job .+\? Its work so far is lost/);
    await page.click('[role=alertdialog] button.danger');
    await waitText(/cancelled/);
    expect((await as('alice').get(long.id)).state).toBe('cancelled');

    // Another tenant's job is not found.
    await open(`#/jobs/${bobs.id}`);
    await waitText(/not found/);

    // A few more jobs, so that the list (and its screenshot) shows more than one type and state.
    for (const m of [64, 128, 256])
      await as('alice').submit({ type: 'matmul', params: { m, n: m, k: m, seed: 1, repeats: 2 } });
    await open('#/jobs');
    await page.waitForSelector(`a[href="#/jobs/${trainId}"]`);
    await waitText(/matmul/);
    expect(await text()).not.toContain(bobs.id);
    await shot('jobs');
    await open('#/workers');
    await waitText(/1 \/ 1|0 \/ 1/);
    await shot('workers');
    await open('#/submit');
    await page.waitForSelector('form.submit');
    await shot('submit');
    await open('#/tenant');
    await waitText(/last week/);
    await shot('tenant');
    if (process.env.USINE_UPDATE_DOCS_IMAGES === '1') {
      fs.copyFileSync(path.join(SHOTS, 'jobs.png'), path.join(ROOT, 'docs/images/console-jobs.png'));
      fs.copyFileSync(path.join(SHOTS, 'train-curve.png'), path.join(ROOT, 'docs/images/console-train-curve.png'));
    }
    await jobUntil(as('bob'), bobs.id, (v) => v.state === 'succeeded');
  });

  it("shows an operator everyone's jobs, with a tenant filter", async () => {
    const bobs = await as('bob').submit({ type: 'noop', params: { sleepMs: 0 } });
    await open('#/token');
    await page.waitForSelector('#token');
    await setField('token', cluster.adminToken);
    await page.keyboard.press('Enter');
    await waitText(/operator/);
    await page.waitForSelector(`a[href="#/jobs/${bobs.id}"]`);
    await page.select('select[name=tenant]', 'alice');
    await waitFor(
      "alice's jobs only",
      `location.hash.includes('tenant=alice') && /alice\\.any\\./.test(document.body.innerText) &&
        !document.body.innerText.includes('bob.')`,
    );
  });

  it('says so when the scheduler is away, and recovers by itself', async () => {
    await open('#/jobs');
    await page.waitForSelector('table.jobs');
    await cluster.stopScheduler(0);
    await waitText(/Connection lost/);
    await cluster.startScheduler(0);
    await waitFor('no banner', `!document.querySelector('.banner')`);
    await page.waitForSelector('table.jobs');
  });
});
