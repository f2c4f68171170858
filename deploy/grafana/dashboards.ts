// Writes deploy/grafana/dashboards/*.json from the TypeScript definitions in ./src.
// Run it after changing a dashboard (npm run dashboards) and commit the JSON:
// a test fails when the committed files differ from what this generates.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { withUsageErrors } from '../../kernels/cli.ts';
import { DASHBOARDS, dashboardJson } from './src/index.ts';

withUsageErrors(
  new Command('npm run dashboards --')
    .description(
      'Writes the Grafana dashboards, deploy/grafana/dashboards/*.json, from their TypeScript definitions ' +
        'in deploy/grafana/src. Run it after changing a dashboard and commit the JSON: a test fails when the ' +
        'committed files differ from what this writes. Takes no options.',
    )
    .addHelpText('after', '\nExample:\n  npm run dashboards && git add deploy/grafana/dashboards'),
).parse();

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dashboards');
fs.mkdirSync(out, { recursive: true });
for (const { file, build } of DASHBOARDS) {
  fs.writeFileSync(path.join(out, file), dashboardJson(build()));
  console.log(`wrote ${path.relative(process.cwd(), path.join(out, file))}`);
}
