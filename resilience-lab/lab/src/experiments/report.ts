import type { Second, VariantResult } from './analysis.ts';
import type { ExperimentResult } from './run-experiment.ts';

const fmtPct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
const fmtMs = (v: number | null) => (v === null ? '–' : `${Math.round(v)} ms`);
const fmt = (v: number | null, digits = 2) => (v === null ? '–' : v.toFixed(digits));

export function renderMarkdown(result: ExperimentResult): string {
  const rows = (label: string, pick: (v: VariantResult) => string) =>
    `| ${label} | ${result.variants.map(pick).join(' | ')} |`;
  const lines = [
    `# Experiment: ${result.experiment}${result.quick ? ' (quick)' : ''}`,
    '',
    result.question,
    '',
    `Open-model load: ${result.ratePerSecond.quotes} req/s on /quotes and ${result.ratePerSecond.availability} req/s on /availability for ${result.durationS} s; client timeout ${result.clientTimeoutMs} ms. Fault from ${result.faultStartS} s to ${result.faultEndS} s. Run ${result.ranAt}.`,
    '',
    'Schedule: ' + result.schedule.map((s) => `${s.atS} s ${s.label}`).join('; ') + '.',
    '',
    `| headline | ${result.variants.map((v) => v.name).join(' | ')} |`,
    `| --- | ${result.variants.map(() => '---').join(' | ')} |`,
    rows('/availability success during the fault', (v) =>
      fmtPct(v.headline.availabilitySuccessDuringFault),
    ),
    rows('/quotes success during the fault', (v) => fmtPct(v.headline.quotesSuccessDuringFault)),
    rows(
      '/availability p99 before → during',
      (v) =>
        `${fmtMs(v.headline.availabilityP99BeforeMs)} → ${fmtMs(v.headline.availabilityP99DuringFaultMs)} (×${fmt(v.headline.availabilityP99Ratio, 1)})`,
    ),
    rows('max supplier calls in flight at the gateway', (v) =>
      String(v.headline.maxGatewayInFlight),
    ),
    rows('max client requests in flight', (v) => String(v.headline.maxLoadInFlight)),
    rows('time to open (prices breaker)', (v) => fmtMs(v.headline.timeToOpenMs)),
    rows('time to recover after the fault', (v) =>
      v.headline.timeToRecoverS === null ? 'not within the run' : `${v.headline.timeToRecoverS} s`,
    ),
    rows('retry amplification (supplier calls per request)', (v) =>
      fmt(v.headline.retryAmplification),
    ),
    rows('prices amplification (price calls per quote sent during the fault)', (v) =>
      fmt(v.headline.pricesAmplification),
    ),
    rows(
      'zombie work (calls / supplier-ms after the client gave up)',
      (v) => `${v.headline.zombieCalls} / ${Math.round(v.headline.zombieWorkMs)} ms`,
    ),
    rows('breaker opens', (v) => String(v.headline.breakerOpens)),
    rows('max event-loop delay p99', (v) => fmtMs(v.headline.maxEventLoopDelayP99Ms)),
    rows('max RSS', (v) => `${Math.round(v.headline.maxRssMb)} MB`),
    rows('load generator lag p99 (harness health: high = machine overloaded)', (v) =>
      fmtMs(v.headline.generatorLagP99Ms),
    ),
    '',
    '| variant | phase | route | requests | success | p50 | p99 | failures |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...result.variants.flatMap((v) =>
      v.phases.map(
        (p) =>
          `| ${v.name} | ${p.phase} | ${p.route} | ${p.requests} | ${fmtPct(p.successRate)} | ${fmtMs(p.p50Ms)} | ${fmtMs(p.p99Ms)} | ${
            Object.entries(p.failures)
              .map(([k, n]) => `${k}: ${n}`)
              .join(', ') || '–'
          } |`,
      ),
    ),
    '',
    `![per-second chart](./${result.experiment}.svg)`,
    '',
  ];
  return lines.join('\n');
}

const COLORS = ['#c0392b', '#1e8449', '#2e86c1', '#8e44ad'];
const WIDTH = 960;
const PANEL_HEIGHT = 150;
const LEFT = 70;
const RIGHT = 20;

interface Line {
  label: string;
  color: string;
  dashed?: boolean;
  points: (number | null)[];
}

function panel(
  result: ExperimentResult,
  top: number,
  title: string,
  unit: string,
  lines: Line[],
  fixedMax?: number,
): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = PANEL_HEIGHT - 50;
  const y0 = top + 32;
  const values = lines.flatMap((l) => l.points.filter((p): p is number => p !== null));
  const max = fixedMax ?? Math.max(1, ...values) * 1.1;
  const x = (t: number) => LEFT + (t / Math.max(1, result.durationS - 1)) * plotW;
  const y = (v: number) => y0 + plotH - (Math.min(v, max) / max) * plotH;
  const parts = [
    `<text x="${LEFT}" y="${top + 15}" class="title">${title}</text>`,
    `<rect x="${x(result.faultStartS)}" y="${y0}" width="${x(result.faultEndS) - x(result.faultStartS)}" height="${plotH}" fill="#f5b7b1" opacity="0.35"/>`,
    `<line x1="${LEFT}" y1="${y0 + plotH}" x2="${LEFT + plotW}" y2="${y0 + plotH}" stroke="#555"/>`,
    `<line x1="${LEFT}" y1="${y0}" x2="${LEFT}" y2="${y0 + plotH}" stroke="#555"/>`,
    `<text x="${LEFT - 5}" y="${y0 + 4}" text-anchor="end">${Math.round(max)}${unit}</text>`,
    `<text x="${LEFT - 5}" y="${y0 + plotH}" text-anchor="end">0</text>`,
  ];
  for (let t = 0; t < result.durationS; t += 5)
    parts.push(
      `<text x="${x(t)}" y="${y0 + plotH + 11}" text-anchor="middle" fill="#555">${t}s</text>`,
    );
  for (const line of lines) {
    const segments: string[] = [];
    let current: string[] = [];
    line.points.forEach((p, t) => {
      if (p === null) {
        if (current.length) segments.push(current.join(' '));
        current = [];
      } else current.push(`${x(t).toFixed(1)},${y(p).toFixed(1)}`);
    });
    if (current.length) segments.push(current.join(' '));
    for (const points of segments)
      parts.push(
        `<polyline fill="none" stroke="${line.color}" stroke-width="1.8"${line.dashed ? ' stroke-dasharray="5,3"' : ''} points="${points}"/>`,
      );
  }
  lines.forEach((line, i) => {
    const lx = LEFT + i * 175;
    parts.push(
      `<line x1="${lx}" y1="${top + 24}" x2="${lx + 18}" y2="${top + 24}" stroke="${line.color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="5,3"' : ''}/>`,
      `<text x="${lx + 22}" y="${top + 28}">${line.label}</text>`,
    );
  });
  return parts.join('\n');
}

/** A hand-written SVG: one panel per signal, the fault window shaded, one colour per variant. */
export function renderSvg(result: ExperimentResult): string {
  const series = (v: VariantResult, pick: (s: Second) => number | null) => v.seconds.map(pick);
  const byVariant = (pick: (s: Second) => number | null, dashedLabel?: string) =>
    result.variants.map((v, i) => ({
      label: `${v.name}${dashedLabel ?? ''}`,
      color: COLORS[i] ?? '#333',
      points: series(v, pick),
    }));
  const panels: [string, string, Line[], number?][] = [
    [
      '/availability success rate per second (%)',
      '%',
      byVariant((s) =>
        s.availability.successRate === null ? null : s.availability.successRate * 100,
      ),
      100,
    ],
    [
      '/quotes success rate per second (%)',
      '%',
      byVariant((s) => (s.quotes.successRate === null ? null : s.quotes.successRate * 100)),
      100,
    ],
    [
      '/availability latency p99 (solid) and p50 (dashed), ms',
      'ms',
      [
        ...byVariant((s) => s.availability.p99Ms),
        ...byVariant((s) => s.availability.p50Ms, ' p50').map((l) => ({ ...l, dashed: true })),
      ],
    ],
    [
      '/quotes latency p99 (solid) and p50 (dashed), ms',
      'ms',
      [
        ...byVariant((s) => s.quotes.p99Ms),
        ...byVariant((s) => s.quotes.p50Ms, ' p50').map((l) => ({ ...l, dashed: true })),
      ],
    ],
    [
      'supplier calls in flight at the gateway (solid), client requests in flight (dashed)',
      '',
      [
        ...byVariant((s) => s.gatewayInFlight),
        ...byVariant((s) => s.loadInFlight, ' client').map((l) => ({ ...l, dashed: true })),
      ],
    ],
    ['gateway event-loop delay p99 (ms)', 'ms', byVariant((s) => s.eventLoopDelayP99Ms)],
    ['gateway RSS (MB)', 'MB', byVariant((s) => s.rssMb)],
  ];
  const height = panels.length * PANEL_HEIGHT + 50;
  const body = panels.map(([title, unit, lines, max], i) =>
    panel(result, 40 + i * PANEL_HEIGHT, title, unit, lines, max),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    '<style>.title { font-weight: bold; font-size: 12px; }</style>',
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${result.experiment}${result.quick ? ' (quick)' : ''}: shaded = fault window, x = seconds (0–${result.durationS - 1})</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
