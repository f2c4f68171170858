// The console's Tenant and Workers pages in a real browser (Debian's chromium, headless) over a
// real scheduler and worker: a tenant sees its quotas, its share against the target and its
// estimated energy (the API's numbers), and on the Workers page the busy slot but not another
// tenant's job; an operator picks a tenant.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsineClient } from '../../client/client.ts';
import { formatEnergy } from '../../client/format.ts';
import type { UsageReport, WhoAmI } from '../../shared/api-responses.ts';
import { launchPage, type BrowserPage } from '../support/browser.ts';
import { Cluster, jobUntil } from '../support/cluster.ts';
import { ROOT } from '../support/processes.ts';

const SHOTS = path.join(ROOT, 'test-results/console');
const cluster = new Cluster({
  port: 8570,
  tenants: [
    { name: 'alice', weight: 1, maxRunning: 3, maxQueued: 10 },
    { name: 'bob', weight: 3 },
  ],
  // A round power figure: the energy the page shows is this × the run time.
  workers: [{ USINE_WORKER_POWER_WATTS: '1000' }],
});
const as = (tenant: string) => new UsineClient({ url: cluster.url, token: Cluster.token(tenant) });
const get = async <T>(tenant: string, url: string) =>
  (await fetch(cluster.url + url, { headers: { authorization: `Bearer ${Cluster.token(tenant)}` } })).json() as T;
let b: BrowserPage;
let browser: Browser;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  [b] = await Promise.all([launchPage(), cluster.start()]);
  ({ browser, page, pageErrors } = b);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await cluster.stop();
});

const text = () => b.text();
const waitText = (re: RegExp, timeout?: number) => b.waitText(re, timeout);
async function signIn(token: string): Promise<void> {
  await page.goto(`${cluster.url}/ui/#/token`);
  await page.waitForSelector('#token');
  await page.$eval('#token', (el) => ((el as unknown as { value: string }).value = ''));
  await page.type('#token', token);
  await page.keyboard.press('Enter');
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the Tenant and Workers pages', () => {
  it("show a tenant its quota, share, target and energy, and the busy slot but not another's job", async () => {
    // Alice's job runs first: its energy reaches /v1/usage through the worker's job events.
    const done = await as('alice').submit({ type: 'noop', params: { sleepMs: 1500 } });
    await jobUntil(as('alice'), done.id, (v) => v.state === 'succeeded');
    const deadline = Date.now() + 20_000;
    let joules = 0;
    while (!(joules > 0) && Date.now() < deadline) {
      joules = (await get<UsageReport>('alice', '/v1/usage?since=24h')).tenants[0]?.joules ?? 0;
      if (!(joules > 0)) await new Promise((r) => setTimeout(r, 200));
    }
    // 1000 W × about 1.5 s of run time.
    expect(joules).toBeGreaterThan(1400);
    expect(joules).toBeLessThan(10_000);
    // Then bob's job holds the one slot; alice queues one behind it.
    const bobs = await as('bob').submit({ type: 'noop', params: { sleepMs: 600_000 } });
    await jobUntil(as('bob'), bobs.id, (v) => v.state === 'running');
    const queued = await as('alice').submit({ type: 'noop', params: { sleepMs: 0 } });

    await signIn(Cluster.token('alice'));
    await page.goto(`${cluster.url}/ui/#/workers`);
    await waitText(/1 \/ 1/);
    expect(await text()).toMatch(/only your own are listed/);
    expect(await text()).not.toContain(bobs.id);
    await page.screenshot({ path: path.join(SHOTS, 'workers-tenant.png') as `${string}.png` });

    // Bob's running job accrues usage with every heartbeat, so alice's share falls while the
    // page loads: the page's figure must lie between the API's before the page and after it.
    const before = (await get<WhoAmI>('alice', '/v1/tenant')).tenant!.usageShare;
    await page.goto(`${cluster.url}/ui/#/tenant`);
    await waitText(/Tenant alice/);
    await waitText(/Queued\s+1 of at most 10/);
    const shown = await text();
    const me = (await get<WhoAmI>('alice', '/v1/tenant')).tenant!;
    expect(me).toMatchObject({ running: 0, queued: 1, targetShare: 0.25 });
    expect(shown).toMatch(/Running\s+0 of at most 3/);
    expect(shown).toMatch(/target 25\.0 %/);
    const now = Number(/Now: ([\d.]+) %/.exec(shown)?.[1]);
    // The page rounds to 0.1 %.
    expect(now).toBeGreaterThanOrEqual(100 * Math.min(before, me.usageShare) - 0.05);
    expect(now).toBeLessThanOrEqual(100 * Math.max(before, me.usageShare) + 0.05);
    expect(shown).toMatch(new RegExp(`last day\\s+[\\d.]+\\s+\\S+ FLOP\\s+${escape(formatEnergy(joules))}\\s+1`));
    expect(shown).toMatch(new RegExp(`last week\\s+[\\d.]+\\s+\\S+ FLOP\\s+${escape(formatEnergy(joules))}\\s+1`));
    expect(shown).not.toMatch(/not in the API|operators only/);
    await page.waitForFunction(`Number(document.querySelector('.chart')?.getAttribute('data-samples')) >= 1`);
    await page.screenshot({ path: path.join(SHOTS, 'tenant-standing.png') as `${string}.png` });

    // An operator chooses the tenant; bob's job is its running one, and the Workers page names it.
    await signIn(cluster.adminToken);
    await waitText(/operator/);
    await page.goto(`${cluster.url}/ui/#/tenant`);
    await page.waitForSelector('select');
    await page.select('select', 'bob');
    await waitText(/Tenant bob[\s\S]*Running\s+1 of at most/);
    await page.goto(`${cluster.url}/ui/#/workers`);
    await waitText(new RegExp(escape(bobs.id)));
    expect(pageErrors).toEqual([]);
    await as('bob').cancel(bobs.id);
    await as('alice').cancel(queued.id);
  }, 180_000);
});
