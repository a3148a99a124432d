/**
 * Whether the Dockerfile's install is enough to run one service: every package the service's
 * code imports at run time (statically or dynamically, in its own files and in the workspace
 * packages it loads, the tracing register included) resolves from where it is imported.
 *
 *   node scripts/check-image-imports.ts <copy of the repository> <service directory>
 *
 * scripts/check-compose.sh runs it in a copy where it has just made the Dockerfile's filtered
 * production install for that service, so a dependency an image would lack fails without a
 * Docker engine. Prints how many imports resolved; exits 1 naming each one that does not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { loadedFiles, runtimeImports } from '../shared/src/testkit/receipt.ts';

const [copy, service] = process.argv.slice(2);
if (!copy || !service) {
  process.stderr.write('usage: node scripts/check-image-imports.ts <copy> <service directory>\n');
  process.exit(2);
}

/** The directory of the package a file belongs to: the nearest one with a package.json. */
function packageOf(file: string): string {
  let dir = dirname(file);
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

// What the image's CMD loads: the tracing register first, then the service's entry point.
const files = loadedFiles(copy, [
  join(copy, 'shared/src/telemetry/register.ts'),
  join(copy, service, 'src/start.ts'),
]);

// Package imports by the package whose files make them: within a package, node_modules lookup
// and self-reference give the same answer from any of its directories.
const byPackage = new Map<string, Set<string>>();
for (const file of files)
  for (const spec of runtimeImports(file)) {
    if (spec.startsWith('.') || spec.startsWith('node:')) continue;
    const pkg = packageOf(file);
    byPackage.set(pkg, (byPackage.get(pkg) ?? new Set()).add(spec));
  }

// A probe module in each package resolves its imports as Node will when the service starts.
const PROBE = `const missing = [];
for (const spec of JSON.parse(process.argv[2])) {
  try { import.meta.resolve(spec); } catch (error) { missing.push(spec + ': ' + (error.code ?? error.message)); }
}
process.stdout.write(JSON.stringify(missing));
`;
const missing: string[] = [];
let resolved = 0;
for (const [pkg, specs] of byPackage) {
  const probe = join(pkg, '.image-import-probe.mjs');
  writeFileSync(probe, PROBE);
  try {
    const out = execFileSync(process.execPath, [probe, JSON.stringify([...specs])], {
      encoding: 'utf8',
    });
    const failed = JSON.parse(out) as string[];
    resolved += specs.size - failed.length;
    missing.push(...failed.map((line) => `${relative(copy, pkg) || '.'}: ${line}`));
  } finally {
    rmSync(probe);
  }
}

if (missing.length > 0) {
  process.stdout.write(`imports the image could not resolve:\n  ${missing.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(
  `${resolved} package imports from ${files.size} files resolve after the Dockerfile's install\n`,
);
