// The console's browser tests share this: Debian's chromium, headless, through puppeteer-core
// (nothing downloads a browser), one page at 1280×800 whose own errors are collected, and
// waits that say what the page showed when they time out.
import fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface BrowserPage {
  browser: Browser;
  page: Page;
  /** Uncaught errors of the page's own code. */
  pageErrors: string[];
  /** The page's visible text. Code run in the page is source text: tests are typechecked without the DOM. */
  text(): Promise<string>;
  /** Waits for the expression `js` to hold in the page; a timeout says what the page showed instead. */
  waitFor(what: string, js: string, timeout?: number): Promise<void>;
  /** Waits for the page's text to match `re`. */
  waitText(re: RegExp, timeout?: number): Promise<void>;
  /** Waits for an element (60 s: a loaded machine is slow); a timeout says what the page showed instead. */
  shown(selector: string, timeout?: number): Promise<NonNullable<Awaited<ReturnType<Page['waitForSelector']>>>>;
}

/** Launches chromium and opens one page; fails at once, saying how to install it, when chromium is missing. */
export async function launchPage(): Promise<BrowserPage> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no ${CHROMIUM}: install it with bash scripts/setup-system.sh --with-prometheus (as root)`);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const pageErrors: string[] = [];
  // The page's own errors fail the test with their message, not as a timeout.
  page.on('pageerror', (e) => pageErrors.push((e as Error).message));
  const text = () => page.evaluate('document.body.innerText') as Promise<string>;
  const waitFor = async (what: string, js: string, timeout = 20_000) => {
    try {
      await page.waitForFunction(js, { timeout });
    } catch (e) {
      const shown = await text().catch(() => '(no page)');
      throw new Error(`the page never showed ${what}; it shows: ${shown}; page errors: ${pageErrors.join('; ')}`, {
        cause: e,
      });
    }
  };
  const waitText = (re: RegExp, timeout = 20_000) =>
    waitFor(String(re), `${re}.test(document.body.innerText)`, timeout);
  const shown = async (selector: string, timeout = 60_000) => {
    const el = await page.waitForSelector(selector, { timeout }).catch(async (e: Error) => {
      const shownText = await text().catch(() => '(no page)');
      throw new Error(
        `no ${selector} on the page (${page.url()}); it shows: ${shownText}; page errors: ${pageErrors.join('; ')}`,
        {
          cause: e,
        },
      );
    });
    if (!el) throw new Error(`no ${selector} on the page`);
    return el;
  };
  return { browser, page, pageErrors, text, waitFor, waitText, shown };
}
