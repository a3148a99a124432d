import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a service's CPU goes, from the V8 CPU profile that `node --cpu-prof` writes at exit.
 * Each sample is charged to the library it ran in; a sample inside Node itself (a socket
 * write, a hash, a JSON parse) is charged to the nearest library that called it, so "Express"
 * includes the response writes Express makes. Start-up (module loading) and idle time are left
 * out: the shares are of the CPU spent serving the load.
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
  /** CPU spent serving, in ms (samples × sampling interval). */
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
    let owner: string | undefined;
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
}

/**
 * A bench report's "where the time goes" table: CPU per unit of work, then each owner's share,
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
    `| CPU share | ${profiles.map((p) => p.label).join(' | ')} |`,
    `| --- | ${profiles.map(() => '---').join(' | ')} |`,
    `| CPU per ${unit.name} | ${profiles.map((p) => unit.format(p.summary.busyMs / Math.max(1, p.units))).join(' | ')} |`,
    ...owners.map(
      (owner) =>
        `| ${owner} | ${profiles.map((p) => `${(share(p, owner) * 100).toFixed(1)}%`).join(' | ')} |`,
    ),
  ];
}
