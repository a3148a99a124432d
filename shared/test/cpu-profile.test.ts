import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { profileTable, SOCKET_WRITES_OWNER, summariseProfile } from '../src/testkit/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'cpu-profile-test-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const PG = 'file:///lab/node_modules/.pnpm/pg@8.16.0/node_modules/pg/lib/client.js';
const SERVICE = 'file:///lab/saga-orchestrator/orchestrator/src/domain/saga-runner.ts';

/**
 * A profile as `node --cpu-prof` writes it: a call tree and one leaf id per 1 ms sample. Under
 * pg's query: 2 samples in pg itself and 6 in the native writev it ends in; 2 in service code;
 * 1 in the garbage collector; 5 idle; 3 loading modules at start-up.
 */
function writeProfile(): string {
  const frame = (functionName: string, url = '') => ({ functionName, url });
  const nodes = [
    { id: 1, callFrame: frame('(root)'), children: [2, 5, 6, 7, 8] },
    { id: 2, callFrame: frame('query', PG), children: [3] },
    { id: 3, callFrame: frame('writev'), children: [] },
    { id: 5, callFrame: frame('drive', SERVICE), children: [] },
    { id: 6, callFrame: frame('(garbage collector)'), children: [] },
    { id: 7, callFrame: frame('(idle)'), children: [] },
    { id: 8, callFrame: frame('import', 'node:internal/modules/esm/loader'), children: [9] },
    { id: 9, callFrame: frame('compileSourceTextModule'), children: [] },
  ];
  const samples = [
    ...Array<number>(2).fill(2),
    ...Array<number>(6).fill(3),
    ...Array<number>(2).fill(5),
    6,
    ...Array<number>(5).fill(7),
    ...Array<number>(3).fill(9),
  ];
  const path = join(dir, 'CPU.test.cpuprofile');
  writeFileSync(path, JSON.stringify({ nodes, samples, timeDeltas: samples.map(() => 1000) }));
  return path;
}

describe('summariseProfile', () => {
  it('When a library ends in a native socket write, then the write is its own row and the library keeps only its own samples', () => {
    const summary = summariseProfile(writeProfile(), 'saga-orchestrator');
    // 11 busy samples of 1 ms: idle and start-up are left out.
    expect(summary.busyMs).toBeCloseTo(11);
    const share = (owner: string) => summary.shares.find((s) => s.owner === owner)?.share;
    expect(share(SOCKET_WRITES_OWNER)).toBeCloseTo(6 / 11);
    expect(share('PostgreSQL client (pg)')).toBeCloseTo(2 / 11);
    expect(share('service code')).toBeCloseTo(2 / 11);
    expect(share('garbage collector')).toBeCloseTo(1 / 11);
  });
});

describe('profileTable', () => {
  it("When a profile comes with the process's CPU from /proc, then the table gives CPU and profiled time per unit apart", () => {
    const summary = summariseProfile(writeProfile(), 'saga-orchestrator');
    const table = profileTable([{ label: 'orchestrator', units: 2, summary, cpuMs: 4 }], {
      name: 'trip',
      format: (ms) => `${ms.toFixed(1)} ms`,
    });
    expect(table).toContain('| CPU per trip (user + system, /proc) | 2.0 ms |');
    expect(table).toContain('| profiled time per trip (busy samples) | 5.5 ms |');
    expect(table).toContain(`| ${SOCKET_WRITES_OWNER} | 54.5% |`);
  });
});
