// Prints, one per line, the top-level folders of node_modules that the given packages need at
// run time (themselves and their dependencies and installed optional dependencies, recursively),
// so scripts/device/pack.sh can copy a slim node_modules for a machine with no network.
//   node --import tsx scripts/device/module-closure.ts NODE_MODULES PACKAGE...
import fs from 'node:fs';
import path from 'node:path';

const [modulesArg, ...roots] = process.argv.slice(2);
if (!modulesArg || roots.length === 0) {
  console.error('usage: module-closure.ts NODE_MODULES PACKAGE... (e.g. node_modules webgpu tsx)');
  process.exit(2);
}
const modules = fs.realpathSync(modulesArg);

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where Node would find `name` from inside `fromDir`: the nearest node_modules up to the top one. */
function resolvePackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; dir.startsWith(modules); dir = path.dirname(dir)) {
    const candidate = path.join(dir === modules ? dir : path.join(dir, 'node_modules'), name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === modules) break;
  }
  return undefined;
}

const seen = new Set<string>();
const top = new Set<string>();
const missing: string[] = [];

function visit(name: string, fromDir: string, optional: boolean): void {
  const dir = resolvePackage(name, fromDir);
  if (!dir) {
    // An optional dependency for another platform (fsevents, other @esbuild/*) is not installed.
    if (!optional) missing.push(`${name} (needed from ${path.relative(modules, fromDir) || 'the project'})`);
    return;
  }
  if (seen.has(dir)) return;
  seen.add(dir);
  // The folder directly under node_modules that holds it (a nested copy travels with its parent).
  const rel = path.relative(modules, dir).split(path.sep);
  top.add(rel[0].startsWith('@') ? `${rel[0]}/${rel[1]}` : rel[0]);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, true);
}

for (const name of roots) visit(name, modules, false);
if (missing.length) {
  console.error(`not installed in ${modules}: ${missing.join(', ')}; run npm ci first`);
  process.exit(1);
}
console.log([...top].sort().join('\n'));
