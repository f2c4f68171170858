// Writes deploy/grafana/dashboards/*.json from the TypeScript definitions in ./src.
// Run it after changing a dashboard (npm run dashboards) and commit the JSON:
// a test fails when the committed files differ from what this generates.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, dashboardJson } from './src/index.ts';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dashboards');
fs.mkdirSync(out, { recursive: true });
for (const { file, build } of DASHBOARDS) {
  fs.writeFileSync(path.join(out, file), dashboardJson(build()));
  console.log(`wrote ${path.relative(process.cwd(), path.join(out, file))}`);
}
