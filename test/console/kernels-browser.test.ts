// The Kernels page in headless Chromium: with Chromium's WebGPU (here its built-in SwiftShader
// Vulkan adapter; `--enable-unsafe-webgpu` is what turns it on, Mesa's lavapipe is not offered)
// the Run button runs usine's matmul and attention and shows checked, positive GFLOP/s; without
// an adapter the page says so. Ports 8530–8539.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, nodeOnlyImports } from './browser-bundle.ts';

const PORT = 8530;
const TOKEN = 'kernels-browser-test-token';
// Small sizes: SwiftShader runs on the CPU, next to the other tests.
const ENTRY = `
import { render } from 'preact';
import { KernelsPage } from './scheduler/console/app/kernels/page.tsx';
const sizes = { matmul: ['64', '96x80x72'], attention: ['2x64x32', '2x64x32c'] };
render(<KernelsPage sizes={sizes} />, document.getElementById('app'));
`;
const HTML =
  '<!doctype html><meta charset="utf-8"><title>kernels</title><div id="app"></div>' +
  '<script type="module" src="/app.js"></script>';

// What the API answers, in its shapes: one worker, one finished matmul job.
const WORKERS = {
  workers: [
    { name: 'w-lavapipe', adapter: 'mesa llvmpipe (vulkan)', caps: { region: 'eu', features: ['shader-f16'] } },
  ],
};
const JOBS = {
  jobs: [
    {
      id: 'job-1',
      type: 'matmul',
      state: 'succeeded',
      worker: 'w-lavapipe',
      finishedAt: '2026-11-30T08:00:00.000Z',
      result: { adapter: 'mesa llvmpipe', m: 256, n: 256, k: 256, ms: 3, gflops: 11.25 },
    },
  ],
};

// The tuning store, as GET /v1/kernels/tuning serves it: two matmul shape classes on lavapipe.
const TUNING = {
  tunings: [
    {
      kernel: 'matmul',
      adapter: 'mesa-software-llvmpipe',
      entries: [
        {
          bucket: 'f32|64x64x64|nn',
          shape: { m: 64, n: 64, k: 64 },
          config: { variant: 'direct', wgX: 8, wgY: 1, rm: 4, rn: 1, cw: 4, tk: 0 },
          configKey: 'direct-8x1-r4x1-c4',
          ms: 0.25,
          gflops: 2.097,
          tunedAt: '2026-11-30T07:00:00.000Z',
          candidates: [],
        },
        {
          bucket: 'f32|512x512x512|nn',
          shape: { m: 512, n: 512, k: 512 },
          config: { variant: 'tiled', wgX: 8, wgY: 8, rm: 2, rn: 1, cw: 4, tk: 8 },
          configKey: 'tiled-8x8-r2x1-c4-k8',
          ms: 20,
          gflops: 13.422,
          tunedAt: '2026-11-30T07:01:00.000Z',
          candidates: [],
        },
      ],
    },
  ],
};

let server: http.Server;
let base: string;
const apiAuth: (string | undefined)[] = [];

beforeAll(async () => {
  const { code, metafile } = await bundleForBrowser({ source: ENTRY });
  expect(nodeOnlyImports(metafile)).toEqual([]);
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (type: string, body: string) => res.writeHead(200, { 'content-type': type }).end(body);
    if (url.pathname === '/') return send('text/html', HTML);
    if (url.pathname === '/app.js') return send('text/javascript', code);
    if (url.pathname.startsWith('/v1/')) apiAuth.push(req.headers.authorization);
    if (url.pathname === '/v1/workers') return send('application/json', JSON.stringify(WORKERS));
    if (url.pathname === '/v1/kernels/tuning') return send('application/json', JSON.stringify(TUNING));
    if (url.pathname === '/v1/jobs' && url.searchParams.get('type') === 'matmul') {
      return send('application/json', JSON.stringify(JOBS));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', resolve));
  // localhost is a secure context: navigator.gpu is only exposed in one.
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

async function withBrowser(args: string[], body: (page: Page) => Promise<void>): Promise<void> {
  let browser: Browser | undefined;
  try {
    browser = await puppeteer.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', ...args],
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.evaluateOnNewDocument((token) => {
      // Runs in the page (this file is typed for Node: the page's globals are spelled out).
      const w = globalThis as unknown as InPage;
      w.localStorage.setItem('usine.token', token);
      // Counts devices opened, to show that nothing runs before the click.
      w.devicesRequested = 0;
      const proto = w.GPUAdapter?.prototype;
      if (proto) {
        const original = proto.requestDevice;
        proto.requestDevice = function (this: GPUAdapter, ...a: Parameters<GPUAdapter['requestDevice']>) {
          w.devicesRequested++;
          return original.apply(this, a);
        };
      }
    }, TOKEN);
    await body(page);
    expect(errors).toEqual([]);
  } finally {
    await browser?.close();
  }
}

/** The page's globals this test touches. */
interface InPage {
  localStorage: { setItem(k: string, v: string): void };
  devicesRequested: number;
  GPUAdapter?: { prototype: GPUAdapter };
  Navigator: { prototype: object };
}

const devicesRequested = (page: Page) => page.evaluate(() => (globalThis as unknown as InPage).devicesRequested);

const text = (page: Page, sel: string) => page.$eval(sel, (e) => e.textContent ?? '');

/** The page once it has looked for an adapter: 'ready' with a Run button, or 'none' with the message. */
async function adapterState(page: Page): Promise<'ready' | 'none'> {
  await page.goto(base);
  const el = await page.waitForSelector('#kernels-adapter, #kernels-no-adapter', { timeout: 15_000 });
  return (await el!.evaluate((e) => e.id)) === 'kernels-adapter' ? 'ready' : 'none';
}

/** Each chart under `within`: "title: its series' labels". */
const legend = (page: Page, within: string) =>
  page.$$eval(`${within} .kernels-chart`, (charts) =>
    charts.map((c) => {
      const title = c.querySelector('.u-title')?.textContent ?? '';
      const labels = [...c.querySelectorAll('.u-legend .u-series .u-label')].slice(1).map((l) => l.textContent);
      return `${title}: ${labels.join(', ')}`;
    }),
  );

/** The workers' tuned figures: a row per shape class with the scheduler's GFLOP/s, and their chart. */
async function expectTunedFigures(page: Page): Promise<void> {
  await page.waitForSelector('#kernels-tuned');
  const rows = await page.$$eval('#kernels-tuned tbody tr', (trs) =>
    trs.map((tr) => [...tr.cells].map((c) => c.textContent).join(' ')),
  );
  expect(rows).toEqual([
    'matmul on mesa-software-llvmpipe',
    'f32 64 direct-8x1-r4x1-c4 0.25 2.10',
    'f32 512 tiled-8x8-r2x1-c4-k8 20.00 13.42',
  ]);
  expect(await legend(page, '.kernels-recorded')).toEqual([
    'matmul, tuned by the workers: f32 · workers (mesa-software-llvmpipe)',
  ]);
  expect(await page.$$eval('.kernels-recorded .kernels-chart canvas', (c) => c.length)).toBe(1);
}

async function expectNoAdapterMessage(page: Page): Promise<void> {
  expect(await text(page, '#kernels-no-adapter')).toMatch(/^This browser offers no WebGPU adapter/);
  expect(await page.$eval('#kernels-no-adapter', (e) => e.getAttribute('role'))).toBe('alert');
  expect(await page.$('#kernels-run')).toBeNull();
}

describe('Kernels page in headless Chromium', () => {
  it("runs matmul and attention on Chromium's WebGPU adapter after a click", async () => {
    await withBrowser(['--enable-unsafe-webgpu'], async (page) => {
      const state = await adapterState(page);
      if (state === 'none') {
        console.log('kernels-browser: chromium offered no WebGPU adapter; checked the message instead');
        return expectNoAdapterMessage(page);
      }
      const adapter = await text(page, '#kernels-adapter');
      console.log(`kernels-browser: chromium's adapter: ${adapter}`);
      // The workers' figures are beside it, fetched with the stored token.
      await page.waitForSelector('#kernels-recorded-matmul');
      expect(await text(page, '#kernels-workers')).toContain('w-lavapipe: mesa llvmpipe (vulkan) (eu), f16');
      expect(await text(page, '#kernels-recorded-matmul')).toContain('11.25');
      await expectTunedFigures(page);
      expect(apiAuth.length).toBeGreaterThan(0);
      expect(apiAuth.every((a) => a === `Bearer ${TOKEN}`)).toBe(true);

      await new Promise((r) => setTimeout(r, 300));
      expect(await devicesRequested(page)).toBe(0);
      expect(await page.$('#kernels-results')).toBeNull();

      const t0 = Date.now();
      await page.click('#kernels-run');
      await page.waitForSelector('#kernels-progress', { timeout: 10_000 });
      await page.waitForSelector('#kernels-results, #kernels-error', { timeout: 60_000 });
      console.log(`kernels-browser: the run took ${Date.now() - t0} ms`);
      expect(await page.$('#kernels-error')).toBeNull();
      expect(await devicesRequested(page)).toBe(1);

      const f16 = adapter.includes('(f32 and f16)');
      const checks = await page.$$eval('#kernels-results li', (lis) =>
        lis.map((li) => ({ passed: li.getAttribute('data-passed'), text: li.textContent })),
      );
      console.log(`kernels-browser: ${checks.map((c) => c.text).join(' | ')}`);
      expect(checks).toHaveLength(f16 ? 4 : 2);
      for (const c of checks) expect(c.passed, c.text ?? '').toBe('true');
      expect(await page.$eval('#kernels-results', (e) => e.getAttribute('data-checks-passed'))).toBe('true');

      const rows = await page.$$eval('#kernels-table tbody tr', (trs) =>
        trs.map((tr) => ({
          gflops: Number(tr.getAttribute('data-gflops')),
          text: [...tr.cells].map((c) => c.textContent).join(' '),
        })),
      );
      console.log(`kernels-browser: kernel dtype size ms GFLOP/s: ${rows.map((r) => r.text).join(' | ')}`);
      // 2 matmul + 2 attention sizes, per dtype.
      expect(rows).toHaveLength(f16 ? 8 : 4);
      for (const r of rows) {
        expect(Number.isFinite(r.gflops), r.text ?? '').toBe(true);
        expect(r.gflops, r.text ?? '').toBeGreaterThan(0);
      }
      // One uPlot chart per kernel, drawn, beside the workers' tuned figures; matmul's has the workers' as a
      // second series.
      expect(await page.$$eval('#kernels-results .kernels-chart canvas', (c) => c.length)).toBe(2);
      const [matmulLegend, attentionLegend] = await legend(page, '#kernels-results');
      expect(matmulLegend).toMatch(/^matmul: .*f32 · this browser/);
      expect(matmulLegend).toContain('f32 · workers (mesa-software-llvmpipe)');
      expect(attentionLegend).toMatch(/^attention: .*f32 · this browser/);
      expect(attentionLegend).not.toContain('workers');
      expect(await page.$eval('#kernels-run', (b) => b.textContent)).toBe('Run again');
    });
  });

  it('says so when Chromium offers no adapter (headless, WebGPU not turned on)', async () => {
    await withBrowser([], async (page) => {
      if ((await adapterState(page)) === 'ready') {
        console.log('kernels-browser: this chromium offers an adapter even without --enable-unsafe-webgpu');
        return;
      }
      await expectNoAdapterMessage(page);
      expect(await page.$eval('#kernels-no-adapter', (e) => e.getAttribute('data-why'))).toMatch(/requestAdapter/);
    });
  });

  it('says so when the browser has no navigator.gpu at all', async () => {
    await withBrowser(['--enable-unsafe-webgpu'], async (page) => {
      await page.evaluateOnNewDocument(() => {
        const w = globalThis as unknown as InPage;
        Object.defineProperty(w.Navigator.prototype, 'gpu', { get: () => undefined });
      });
      expect(await adapterState(page)).toBe('none');
      await expectNoAdapterMessage(page);
      expect(await page.$eval('#kernels-no-adapter', (e) => e.getAttribute('data-why'))).toMatch(/navigator\.gpu/);
      // Without a GPU here, the workers' figures are still shown.
      await expectTunedFigures(page);
    });
  });
});
