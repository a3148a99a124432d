import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a service's time goes, from the V8 CPU profile that `node --cpu-prof` writes at exit.
 * V8 samples the main thread on a wall clock: a sample says where the thread was, not that it
 * was on a core. Each sample is charged to the library it ran in; a sample inside Node itself
 * (a hash, a JSON parse) is charged to the nearest library that called it, so "Express"
 * includes the response work Express does. Start-up (module loading) and idle time are left
 * out: the shares are of the time spent serving the load.
 *
 * Socket writes are the exception, charged to a row of their own. On loopback a write wakes
 * the process that reads it, and on a machine whose cores are all busy the writer then often
 * waits at the end of that system call until a core is free again: the profile counts that
 * wait as time in the write, which /proc's user and system time do not. Left with the library
 * that wrote, it would make the pg or the HTTP client look several times as costly as it is.
 */
const LIBRARIES: [string, RegExp][] = [
  [
    'OpenTelemetry (HTTP spans, context)',
    /@opentelemetry|import-in-the-middle|require-in-the-middle|shimmer/,
  ],
  [
    'Express (routing, middleware, response)',
    /\/(express|router|body-parser|raw-body|finalhandler|send|type-is|content-type|mime-types|mime-db|accepts|negotiator|qs|path-to-regexp|on-finished|depd|debug|iconv-lite|parseurl|encodeurl|etag|fresh|vary|proxy-addr|forwarded|ipaddr\.js|cookie|statuses|http-errors|content-disposition|media-typer|merge-descriptors)@/,
  ],
  [
    'Redis client (ioredis)',
    /\/(ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback|redis-errors)@/,
  ],
  [
    'PostgreSQL client (pg)',
    /\/(pg|pg-protocol|pg-pool|pg-types|pgpass|pg-connection-string|postgres-[\w-]+)@/,
  ],
  ['Kafka client (kafkajs)', /\/kafkajs@/],
  ['validation (zod)', /\/zod@/],
  ['metrics (prom-client)', /\/(prom-client|tdigest|bintrees)@/],
  [
    'logging (pino)',
    /\/(pino|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|safe-stable-stringify)[@-]/,
  ],
  ['HTTP client (undici)', /\/undici@/],
  ['circuit breaker (opossum)', /\/opossum@/],
  ['shared kit (@lab/shared)', /\/shared\/src\//],
];

/** Node's native socket writes (StreamBase): the system call that hands a buffer to the kernel. */
const SOCKET_WRITES = new Set([
  'writev',
  'writeBuffer',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
  'writeUcs2String',
]);
export const SOCKET_WRITES_OWNER = 'socket writes (system call, waits for a core included)';

/** How to read profileTable's rows; each bench report puts it beneath what it profiled. */
export const PROFILE_READING =
  "V8 samples the thread on a wall clock, so the table gives the process's CPU per unit as the kernel counted it (user + system of all its threads from /proc over the same load, the profiler's and the garbage collector's helper threads included) beside the time the profile found its main thread busy, and the shares are of that time, start-up and idle left out. A sample inside Node itself (a hash, a parse, a timer) counts for the library that called it, except a socket write, which has its own row: on loopback a write wakes the process that reads it, and with every core busy the writer often waits at the end of that system call until a core is free again, so that row is more waiting than CPU.";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

export interface ProfileShare {
  owner: string;
  share: number;
}

export interface ProfileSummary {
  /** Time spent serving, in ms (samples × sampling interval): CPU, and waits for a core. */
  busyMs: number;
  shares: ProfileShare[];
}

function ownerOf(url: string, functionName: string, labDir: string): string | undefined {
  if (!url) return functionName === '(garbage collector)' ? 'garbage collector' : undefined;
  for (const [owner, pattern] of LIBRARIES) if (pattern.test(url)) return owner;
  if (url.includes(`/${labDir}/`)) return 'service code';
  return url.startsWith('node:') ? undefined : 'other libraries';
}

/** `labDir`: the lab's folder (e.g. `saga-orchestrator`), whose files count as service code. */
export function summariseProfile(path: string, labDir: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parents.set(child, node.id);
  const perNode = new Map<number, number>();
  for (const id of profile.samples) perNode.set(id, (perNode.get(id) ?? 0) + 1);

  const charged = new Map<string, number>();
  let busy = 0;
  for (const [id, count] of perNode) {
    const leaf = nodes.get(id);
    if (
      !leaf ||
      leaf.callFrame.functionName === '(idle)' ||
      leaf.callFrame.functionName === '(program)'
    )
      continue;
    // A native write has no URL; the frames above it would charge it to pg or undici.
    let owner: string | undefined =
      leaf.callFrame.url === '' && SOCKET_WRITES.has(leaf.callFrame.functionName)
        ? SOCKET_WRITES_OWNER
        : undefined;
    let startUp = false;
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const frame = nodes.get(at)?.callFrame;
      if (!frame) break;
      if (frame.url.startsWith('node:internal/modules')) startUp = true;
      owner ??= ownerOf(frame.url, frame.functionName, labDir);
    }
    if (startUp) continue;
    busy += count;
    const name = owner ?? 'Node (HTTP parsing, sockets, timers)';
    charged.set(name, (charged.get(name) ?? 0) + count);
  }
  const seconds = profile.timeDeltas.reduce((sum, d) => sum + d, 0) / 1e6;
  const interval = profile.samples.length > 0 ? seconds / profile.samples.length : 0;
  return {
    busyMs: busy * interval * 1000,
    shares: [...charged]
      .map(([owner, samples]) => ({ owner, share: samples / Math.max(1, busy) }))
      .sort((a, b) => b.share - a.share),
  };
}

/** The main thread's profile in `dir` (the largest file; a loader-hook thread writes its own). */
export function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  let largest: string | undefined;
  let size = -1;
  for (const file of files) {
    const length = readFileSync(file).length;
    if (length > size) [largest, size] = [file, length];
  }
  return largest;
}

export interface ProfiledService {
  /** The table's column heading, e.g. "query service (the three read endpoints)". */
  label: string;
  /** Requests or trips served while the profile ran. */
  units: number;
  summary: ProfileSummary;
  /** The process's user + system CPU over the same load (/proc, see cpuMsOf), in ms. */
  cpuMs: number;
}

/**
 * A bench report's "where the time goes" table: CPU per unit of work as the kernel counted it,
 * the time the profile found the service busy per unit, then each owner's share of that time,
 * largest first by its sum over the profiled services.
 */
export function profileTable(
  profiles: ProfiledService[],
  unit: { name: string; format: (msPerUnit: number) => string },
): string[] {
  const share = (p: ProfiledService, owner: string) =>
    p.summary.shares.find((s) => s.owner === owner)?.share ?? 0;
  const owners = [...new Set(profiles.flatMap((p) => p.summary.shares.map((s) => s.owner)))];
  owners.sort(
    (a, b) =>
      profiles.reduce((sum, p) => sum + share(p, b), 0) -
      profiles.reduce((sum, p) => sum + share(p, a), 0),
  );
  return [
    `| share of the profiled time | ${profiles.map((p) => p.label).join(' | ')} |`,
    `| --- | ${profiles.map(() => '---').join(' | ')} |`,
    `| CPU per ${unit.name} (user + system, /proc) | ${profiles.map((p) => unit.format(p.cpuMs / Math.max(1, p.units))).join(' | ')} |`,
    `| profiled time per ${unit.name} (busy samples) | ${profiles.map((p) => unit.format(p.summary.busyMs / Math.max(1, p.units))).join(' | ')} |`,
    ...owners.map(
      (owner) =>
        `| ${owner} | ${profiles.map((p) => `${(share(p, owner) * 100).toFixed(1)}%`).join(' | ')} |`,
    ),
  ];
}
