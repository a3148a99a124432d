import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveExerciseSeams } from '../src/exercise.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', 'exercise', `${name}.ts`);
const seams = { double: (n: number) => n * 2, triple: (n: number) => n * 3 };

describe('exercise seams', () => {
  test('When no exercise module is set, then the production seams are used', async () => {
    const loaded = await resolveExerciseSeams('svc', seams, { LAB_CHAOS: true });
    expect(loaded.double(1)).toBe(2);
  });

  test('When the module exports a seam, then it replaces that seam and only that one', async () => {
    const loaded = await resolveExerciseSeams('svc', seams, {
      LAB_CHAOS: true,
      LAB_EXERCISE_MODULE: fixture('good'),
    });
    expect(loaded.double(1)).toBe(20);
    expect(loaded.triple(1)).toBe(3);
  });

  test('When the lab knobs are off, then an exercise module is refused', async () => {
    await expect(
      resolveExerciseSeams('svc', seams, {
        LAB_CHAOS: false,
        LAB_EXERCISE_MODULE: fixture('good'),
      }),
    ).rejects.toThrow(/needs LAB_CHAOS=1/);
  });

  test('When the module exports a name that is not a seam, then it is refused with the seams listed', async () => {
    await expect(
      resolveExerciseSeams('svc', seams, {
        LAB_CHAOS: true,
        LAB_EXERCISE_MODULE: fixture('misspelt'),
      }),
    ).rejects.toThrow(/"dubble".*seams: double, triple.*LAB_EXERCISE_SERVICE/);
  });

  test('When the module is given to another service, then this one keeps its own seams, and the named one takes it', async () => {
    const env = { LAB_CHAOS: true, LAB_EXERCISE_MODULE: fixture('good') };
    // A seam set the module does not fit: refused unless the module is another service's.
    const other = { quadruple: (n: number) => n * 4 };
    await expect(resolveExerciseSeams('other', other, env)).rejects.toThrow(/"double"/);

    const untouched = await resolveExerciseSeams('other', other, {
      ...env,
      LAB_EXERCISE_SERVICE: 'svc',
    });
    const replaced = await resolveExerciseSeams('svc', seams, {
      ...env,
      LAB_EXERCISE_SERVICE: 'svc',
    });

    expect(untouched).toBe(other);
    expect(replaced.double(1)).toBe(20);
  });

  test('When a service is started with a module it cannot use, then it exits 1 with one line saying why and no stack trace', () => {
    // What a service's start.ts does, in a process of its own: withExerciseSeams at top level.
    const start = `
      const { withExerciseSeams } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'src', 'exercise.ts'))});
      await withExerciseSeams('svc', { double: (n) => n * 2 }, {
        LAB_CHAOS: false,
        LAB_EXERCISE_MODULE: ${JSON.stringify(fixture('good'))},
      });
      console.log('started');`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', start], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('started');
    expect(result.stderr.trim()).toBe(
      'svc: LAB_EXERCISE_MODULE is a lab-only setting; it needs LAB_CHAOS=1',
    );
  });
});
