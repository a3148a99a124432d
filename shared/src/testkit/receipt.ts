/**
 * What a wiring costs, read from the operating system and the source tree: the measuring tools
 * behind each lab's tax receipt (lab/bench/receipt.ts), which runs the same operations against
 * a split wiring and an in-process one in the same bench run. Linux only (/proc).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { percentile } from './stats.ts';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime + stime of one process so far, in ms; 0 once it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident set size of one process now, in bytes; 0 once it is gone. */
export function rssBytesOf(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The first process whose command line matches, e.g. the Kafka broker's JVM (`kafka.Kafka`). */
export function findProcess(commandLine: RegExp): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (commandLine.test(cmd)) return Number(entry);
    } catch {
      // Gone between readdir and read.
    }
  }
  return undefined;
}

/** CPU ms each process spent since it was `add`ed, as `read()` reports it; processes may join while it runs. */
export function cpuMeter() {
  const startMs = new Map<number, number>();
  return {
    /**
     * Starts (or adds) processes: one already counted keeps its first reading. `bornSince`:
     * processes started after the meter (a pool's new connection), counted from their birth.
     */
    add(pids: readonly number[], { bornSince = false } = {}) {
      for (const pid of pids) if (!startMs.has(pid)) startMs.set(pid, bornSince ? 0 : cpuMsOf(pid));
    },
    /** CPU ms spent by each process since it was added. */
    read(): Map<number, number> {
      return new Map([...startMs].map(([pid, ms]) => [pid, Math.max(0, cpuMsOf(pid) - ms)]));
    },
  };
}

export interface LoadResult {
  operations: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Closed-loop load: `concurrency` workers each run the next operation as soon as the previous
 * one finished, for `seconds`; latency is per operation, as the caller sees it.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  operation: (n: number) => Promise<boolean>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const ok = await operation(n++).catch(() => false);
        if (ok) latencies.push(performance.now() - t0);
        else errors += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    operations: latencies.length,
    errors,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50) ?? Number.NaN,
    p99Ms: percentile(latencies, 99) ?? Number.NaN,
  };
}

/** Non-blank lines that are not only a comment: the rule every receipt counts code by. */
export function codeLines(file: string): number {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^(\/\/|\/\*|\*)/.test(line)).length;
}

/** Workspace packages by name: `@lab/x` → its directory and its `exports` map. */
function workspacePackages(root: string) {
  const dirs = [join(root, 'shared')];
  for (const lab of readdirSync(root))
    if (existsSync(join(root, lab, 'lab', 'package.json')))
      for (const pkg of readdirSync(join(root, lab))) dirs.push(join(root, lab, pkg));
  const byName = new Map<string, { dir: string; exports: Record<string, string> }>();
  for (const dir of dirs) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as {
      name: string;
      exports?: Record<string, string>;
    };
    byName.set(pkg.name, { dir, exports: pkg.exports ?? {} });
  }
  return byName;
}

// Imports that load code at run time: `import ... from`, `export ... from`, a bare `import '...'`
// and `import('...')`. `import type` and `export type` are erased, so they load nothing.
const IMPORTS =
  /(?:^\s*(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+|^\s*import\s+|\bimport\()\s*'([^']+)'/gm;

/** The specifiers a TypeScript file imports at run time (see IMPORTS), in source order. */
export function runtimeImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORTS)].map(([, spec = '']) => spec);
}

/**
 * Every TypeScript file of the repository a process started at `entries` loads, following
 * relative imports and `@lab/*` package exports (third-party packages are not counted).
 */
export function loadedFiles(root: string, entries: readonly string[]): Set<string> {
  const packages = workspacePackages(root);
  const seen = new Set<string>();
  const pending = [...entries];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file) || !file.endsWith('.ts') || !existsSync(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) pending.push(resolve(dirname(file), spec));
      const [, name = '', subpath = ''] = /^(@lab\/[^/]+)(\/.*)?$/.exec(spec) ?? [];
      const pkg = packages.get(name);
      const target = pkg?.exports[`.${subpath}`];
      if (pkg && target) pending.push(join(pkg.dir, target));
    }
  }
  return seen;
}

export interface WiringCode {
  /** Lines loaded only by the split wiring's processes, by package directory. */
  splitOnly: Record<string, number>;
  /** Lines loaded only by the in-process wiring, by package directory. */
  inProcessOnly: Record<string, number>;
  both: number;
}

/**
 * Lines of code that exist only because of distribution, by one rule computed from the source:
 * the code lines (codeLines) of the files the split wiring's processes load and the in-process
 * wiring's process does not (loadedFiles).
 */
export function wiringCode(
  root: string,
  split: readonly string[],
  inProcess: readonly string[],
): WiringCode {
  const a = loadedFiles(root, split);
  const b = loadedFiles(root, inProcess);
  const byPackage = (files: string[]) => {
    const out: Record<string, number> = {};
    for (const file of files) {
      const pkg = relative(root, file).split('/src/')[0] ?? file;
      out[pkg] = (out[pkg] ?? 0) + codeLines(file);
    }
    return out;
  };
  return {
    splitOnly: byPackage([...a].filter((f) => !b.has(f))),
    inProcessOnly: byPackage([...b].filter((f) => !a.has(f))),
    both: [...a].filter((f) => b.has(f)).reduce((sum, f) => sum + codeLines(f), 0),
  };
}
