// The console's flows that test/console/console.test.ts leaves out, in a real browser (Debian's
// chromium, headless, puppeteer-core) against a real scheduler and worker: training on a text
// file uploaded through the form, downloading a checkpoint from the job page (the same bytes as
// GET /v1/artifacts/:id), "Run the demo" (the jobs it submits and the training's first progress;
// the demo's full size is more than lavapipe does in a test's budget), the keyboard (every Tab
// stop shows its focus; a job submitted and opened with Enter alone), and the contrast of the
// main text and buttons as the browser computes their colours (WCAG 2: at least 4.5:1).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import { launchPage, type BrowserPage } from '../support/browser.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';

const cluster = new Cluster({ port: 8590, tenants: [{ name: 'carol' }], workers: [{}] });
const carol = new UsineClient({ url: cluster.url, token: Cluster.token('carol') });
const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'usine-console-downloads-'));
let b: BrowserPage;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  [b] = await Promise.all([launchPage(), cluster.start()]);
  ({ browser, page } = b);
  // Downloads land in a folder of the test's own.
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  await page.goto(`${cluster.url}/ui/`);
  await page.evaluate(`localStorage.setItem('usine.token', ${JSON.stringify(Cluster.token('carol'))})`);
  await page.reload(); // the first load, without the token, is on the Token page
});
afterAll(async () => {
  await browser?.close();
  await cluster.stop();
  fs.rmSync(downloads, { recursive: true, force: true });
});

const open = (hash: string) => page.goto(`${cluster.url}/ui/${hash}`);
const waitFor = (what: string, js: string, timeout?: number) => b.waitFor(what, js, timeout);
const waitText = (re: RegExp, timeout?: number) => b.waitText(re, timeout);
const setField = async (name: string, value: string) => {
  const sel = `[name="${name}"]`;
  await page.$eval(sel, (el) => ((el as unknown as { value: string }).value = ''));
  await page.type(sel, value);
};
/** The job whose page is open (from the address's hash). */
const shownJob = async () => decodeURIComponent(((await page.evaluate('location.hash')) as string).split(/[/?]/)[2]);
const waitJobPage = () => waitFor('a job page', '/^#\\/jobs\\/[^/?]+/.test(location.hash)');

describe('the console: flows beyond the first test', () => {
  it('follows an address changed while the page was starting, before its listeners were attached', async () => {
    // As the app's first render lands (its nav link is there), and before its effects run, the
    // hash moves on: a CI run under load met this as a page that stayed on Jobs after #/submit.
    const { identifier } = await page.evaluateOnNewDocument(`new MutationObserver((_, o) => {
      if (document.querySelector('a[href="#/submit"]')) { o.disconnect(); location.hash = '#/submit'; }
    }).observe(document, { childList: true, subtree: true });`);
    try {
      await page.goto('about:blank'); // a new document: from /ui/, #/jobs would only change the hash
      await page.goto(`${cluster.url}/ui/#/jobs`);
      await b.shown('[name="source"]');
    } finally {
      await page.removeScriptToEvaluateOnNewDocument(identifier);
    }
  });

  it('trains on a text file uploaded through the form, and downloads its checkpoint', async () => {
    const corpus = 'the cat sat on the mat. the dog sat on the log. '.repeat(40);
    const file = path.join(downloads, 'corpus.txt');
    fs.writeFileSync(file, corpus);
    await open('#/submit');
    await b.shown('[name="source"]');
    await page.select('[name="source"]', 'text');
    const input = await b.shown('input[type=file][name=file]');
    await input!.uploadFile(file);
    await setField('params.data.seqLen', '16');
    await setField('params.steps', '40');
    await setField('params.evalEvery', '20');
    await setField('params.checkpointEvery', '20');
    await page.click('form.submit button[type=submit]');
    await waitJobPage();
    const id = await shownJob();
    await waitFor('the job succeeded', `document.querySelector('h1 .state-succeeded') !== null`, 60_000);

    const job = await carol.get(id);
    expect(job.type).toBe('train');
    expect(job.state).toBe('succeeded');
    const arts = (await carol.jobArtifacts(id)).artifacts;
    const checkpoint = arts.find((a) => a.kind === 'checkpoint');
    expect(checkpoint, `a checkpoint among ${JSON.stringify(arts)}`).toBeDefined();

    // Download it from the page; the file is the API's bytes.
    await waitText(/Download/);
    const row = await page.$$eval('section tr', (rows, name) => rows.findIndex((r) => r.textContent!.includes(name)), [
      checkpoint!.name,
    ]);
    expect(row).toBeGreaterThan(0);
    const rows = await page.$$('section tr');
    const before = new Set(fs.readdirSync(downloads));
    await (await rows[row].$('button'))!.click();
    const target = path.join(downloads, checkpoint!.name);
    for (let i = 0; i < 100 && !(fs.existsSync(target) && !before.has(checkpoint!.name)); i++)
      await new Promise((r) => setTimeout(r, 100));
    // Chromium writes a .crdownload first and renames it when done.
    for (let i = 0; i < 100 && fs.readdirSync(downloads).some((f) => f.endsWith('.crdownload')); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(target), `${checkpoint!.name} in ${fs.readdirSync(downloads).join(', ')}`).toBe(true);
    const got = fs.readFileSync(target);
    const api = Buffer.from(await carol.download(checkpoint!.id));
    expect(got.length).toBe(checkpoint!.bytes);
    expect(got.equals(api)).toBe(true);
  }, 150_000);

  it('works with the keyboard: every Tab stop shows its focus; a job is submitted and opened with Enter', async () => {
    await page.goto('about:blank'); // a fresh document: Tab starts at its top
    await open('#/submit');
    await b.shown('form.submit');
    // Tab from the top: the first stop is "Skip to content", and every stop draws a focus ring.
    const stops: string[] = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const focus = (await page.evaluate(`(() => {
        const el = document.activeElement;
        const s = getComputedStyle(el);
        return { what: el.tagName + (el.name ? '[' + el.name + ']' : '') + ':' + (el.textContent || '').trim(),
          ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, submit: el.type === 'submit' };
      })()`)) as { what: string; ring: boolean; submit: boolean };
      stops.push(focus.what);
      expect(focus.ring, `no visible focus on ${focus.what}`).toBe(true);
      if (focus.submit) break;
    }
    expect(stops[0]).toMatch(/^A:Skip to content/);
    expect(stops.at(-1)).toMatch(/^BUTTON:Submit/);
    // A matmul chosen and submitted by keyboard alone.
    await page.focus('[name="type"]');
    await page.keyboard.type('matmul');
    await waitFor('the matmul fields', `document.querySelector('[name="params.m"]') !== null`);
    await page.focus('[name="params.m"]');
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.type('32');
    await page.keyboard.press('Enter'); // submits the form from a field
    await waitJobPage();
    const id = await shownJob();
    expect((await carol.get(id)).type).toBe('matmul');
    await jobUntil(carol, id, (v) => v.state === 'succeeded');
    // On the jobs list, Tab reaches the job's link and Enter opens it.
    await page.goto('about:blank');
    await open('#/jobs');
    await b.shown(`a[href="#/jobs/${id}"]`);
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(`document.activeElement.getAttribute('href') === '#/jobs/${id}'`)) break;
    }
    await page.keyboard.press('Enter');
    await waitFor('the matmul job page', `location.hash === '#/jobs/${id}' && !!document.querySelector('h1 code')`);
    await waitText(/GFLOP\/s/);
  }, 60_000);

  it('has readable contrast: text and buttons at 4.5:1 or more (WCAG 2), as the browser computes them', async () => {
    await open('#/jobs');
    await b.shown('table.jobs');
    const pairs = (await page.evaluate(CONTRAST)) as { what: string; fg: string; bg: string; ratio: number }[];
    expect(pairs.length).toBeGreaterThanOrEqual(6);
    for (const p of pairs) expect(p.ratio, `${p.what}: ${p.fg} on ${p.bg}`).toBeGreaterThanOrEqual(4.5);
    await open('#/submit');
    await b.shown('form.submit button[type=submit]');
    const form = (await page.evaluate(CONTRAST)) as typeof pairs;
    expect(form.some((p) => p.what.startsWith('button'))).toBe(true);
    for (const p of form) expect(p.ratio, `${p.what}: ${p.fg} on ${p.bg}`).toBeGreaterThanOrEqual(4.5);
  });

  it('runs the demo: a sort train job and an infer job waiting for it, and the training progresses', async () => {
    await open('#/submit');
    const demo = await page.waitForSelector('xpath///button[contains(., "Run the demo")]');
    await demo!.click();
    await waitJobPage();
    const trainId = await shownJob();
    const inferId = decodeURIComponent(new URL((await page.url()).replace('#', '')).searchParams.get('then') ?? '');
    const train = await carol.get(trainId);
    const infer = await carol.get(inferId);
    expect(train.type).toBe('train');
    expect(infer.type).toBe('infer');
    expect(infer.state).toBe('queued'); // it waits for the train job's checkpoint
    expect(infer.waitingFor).toMatch(new RegExp(`waiting for job ${trainId.replace(/\./g, '\\.')}`));
    // The page follows the training: a first step on the curve, while it runs, of the demo's
    // 250 steps (as `usine demo`).
    await waitFor(
      'the demo training with a first point on its curve',
      `Number(document.querySelector('figure.curve')?.getAttribute('data-points')) > 0`,
      45_000,
    );
    expect((await carol.get(trainId)).progress?.message).toMatch(/^step \d+\/250 /);
    expect((await carol.cancel(inferId)).state).toBe('cancelled');
    await carol.cancel(trainId);
    await jobUntil(carol, trainId, (v) => v.state === 'cancelled', 20_000);
  }, 90_000);
});

/**
 * In the page: the computed colour of the main text elements against the first opaque background
 * behind each, with their WCAG 2 contrast ratio.
 */
const CONTRAST = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  const selectors = ['main', 'h1', 'th', 'td', 'a[href^="#/jobs/"]', '.muted', 'header nav a',
    'header nav a[aria-current]', '.state', 'button', 'a.button', 'label', 'input', 'select', '.field-hint'];
  for (const sel of selectors) {
    for (const el of [...document.querySelectorAll(sel)].slice(0, 3)) {
      const fg = rgb(getComputedStyle(el).color).slice(0, 3);
      const bg = background(el);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      out.push({ what: sel + ' ' + (el.textContent || '').trim().slice(0, 20), fg: 'rgb(' + fg + ')',
        bg: 'rgb(' + bg + ')', ratio: Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100 });
    }
  }
  return out;
})()`;
