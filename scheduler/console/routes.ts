// /ui: the web console (issue 15), a single page over the same API, tokens and tenant
// isolation as the CLI. The page itself is public (it holds no data); every call it makes
// sends the token the user entered.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../shared/logger.ts';
import { bundleConsole, type ConsoleBundle } from './bundle.ts';

/** The console's own paths: served without a token and without Redis. */
export function isConsolePath(url: string): boolean {
  const p = url.split('?')[0];
  return p === '/ui' || p.startsWith('/ui/');
}

const page = (b: ConsoleBundle) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>usine console</title>
<link rel="stylesheet" href="/ui/app.css?v=${b.version}">
</head>
<body>
<div id="app"><p style="padding:1rem">Loading the usine console…</p></div>
<noscript>The usine console needs JavaScript; the CLI (usine) works without.</noscript>
<script type="module" src="/ui/app.js?v=${b.version}"></script>
</body>
</html>
`;

export function consoleRoutes(app: FastifyInstance, log: Logger): void {
  let bundled: Promise<ConsoleBundle> | null = null;
  // Bundled at start, in the background (a few hundred ms): the first visitor does not wait,
  // and a broken bundle is in the log at once. A failure is retried at the next request.
  const bundle = () => {
    bundled ??= bundleConsole().catch((e: Error) => {
      bundled = null;
      throw e;
    });
    return bundled;
  };
  bundle().then(
    (b) => log.debug({ version: b.version, bytes: b.js.length }, 'web console bundled'),
    (e: Error) => log.error({ err: e.message }, 'web console not bundled: /ui answers 500 until this is fixed'),
  );

  const send = (reply: FastifyReply, type: string, body: string, immutable: boolean) =>
    reply
      .header('content-type', type)
      // Assets carry their version in the URL; the page itself is always revalidated.
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(body);

  app.get('/ui', async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', async (_req, reply) => send(reply, 'text/html; charset=utf-8', page(await bundle()), false));
  app.get('/ui/app.js', async (_req, reply) =>
    send(reply, 'text/javascript; charset=utf-8', (await bundle()).js, true),
  );
  app.get('/ui/app.css', async (_req, reply) => send(reply, 'text/css; charset=utf-8', (await bundle()).css, true));
}
