import { readFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import type { Express } from 'express';
import { z } from 'zod';
import { parse, problems } from '@lab/shared/http';

const webDir = join(import.meta.dirname, '..', 'web');
// The console's own dependencies, linked into its node_modules by pnpm.
const packageDir = (name: string) => join(import.meta.dirname, '..', '..', 'node_modules', name);

/** The browser's copies of the page's libraries, as the import map in index.html names them. */
// A Map, not an object literal: `/vendor/__proto__` must find nothing, not Object.prototype.
const VENDOR = new Map([
  ['preact.js', join(packageDir('preact'), 'dist', 'preact.module.js')],
  ['preact-hooks.js', join(packageDir('preact'), 'hooks', 'dist', 'hooks.module.js')],
  ['htm.js', join(packageDir('htm'), 'dist', 'htm.module.js')],
  ['uplot.js', join(packageDir('uplot'), 'dist', 'uPlot.esm.js')],
  ['uplot.css', join(packageDir('uplot'), 'dist', 'uPlot.min.css')],
]);
const WebFile = z.object({
  file: z.string().regex(/^[a-z][a-z-]*\.ts$/, 'expected a page module'),
});

/**
 * The page is plain ES modules: its TypeScript files are served with the types stripped (the
 * same erasure Node applies when it runs the server), its libraries straight from
 * node_modules through an import map. No bundler and no build step between an edit and a reload.
 */
export function webRoutes(app: Express): void {
  const stripped = new Map<string, string>();
  app.get('/', (_req, res) => {
    res.sendFile(join(webDir, 'index.html'));
  });
  // Before /web/:file, which serves only the page's modules.
  app.get('/web/console.css', (_req, res) => {
    res.sendFile(join(webDir, 'console.css'));
  });
  app.get('/web/:file', async (req, res) => {
    const { file } = parse(req, 'params', WebFile, 404);
    let code = stripped.get(file);
    if (code === undefined) {
      const source = await readFile(join(webDir, file), 'utf8').catch((error: unknown) => {
        // A well-formed name of no module of the page: the client's mistake, not the server's.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw problems.notFound('The page module');
        throw error;
      });
      code = stripTypeScriptTypes(source);
      stripped.set(file, code);
    }
    res.type('text/javascript').send(code);
  });
  app.get('/vendor/:file', (req, res) => {
    const path = VENDOR.get(req.params.file);
    if (path === undefined) throw problems.notFound('The library');
    res.sendFile(path, { maxAge: '1h' });
  });
}
