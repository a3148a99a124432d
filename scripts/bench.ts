/**
 * `pnpm bench`: runs every built lab's benchmark (`pnpm lab <lab> bench`), each of which
 * writes `<lab>/lab/bench/results.json` and `<lab>/lab/bench/REPORT.md`, then gathers the reports
 * into BENCHMARKS.md. Most figures are ratios against baselines measured in the same run, which
 * hold up from a laptop to a 2-core CI machine better than absolute figures do. A few targets
 * are absolute, the labs' stated ones: the CQRS lab's lag (≤ 25 ms at 500 commands/s),
 * catch-up (≥ 5,000 events/s) and projector memory (≤ 150 MB), the saga lab's overhead per step
 * (≤ 1 ms) and recovery (≤ 5 s). Those depend on the machine, so each report names the one it
 * ran on. `pnpm bench cqrs` runs one lab and gathers its new report with the others' last ones:
 * each report says when it ran.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const only = process.argv.slice(2);
const labs = [
  ['cqrs', 'cqrs-implementation'],
  ['saga', 'saga-orchestrator'],
  ['resilience', 'resilience-lab'],
] as const;
const unknown = only.filter((name) => !labs.some(([lab]) => lab === name));
if (unknown.length > 0) {
  process.stderr.write(
    `No lab named ${unknown.join(', ')}: pnpm bench [cqrs] [saga] [resilience]\n`,
  );
  process.exit(2);
}

const sections: string[] = [
  '# Benchmarks',
  '',
  "Each section is its lab's last benchmark report and says when and on what machine it ran: `pnpm bench` runs every lab's, `pnpm bench <lab>` one lab's. Compare figures within a section only: most are ratios to baselines measured within one run, and the few absolute targets (the CQRS lag, catch-up rate and projector memory, the saga's overhead per step and recovery time) depend on the machine the section names.",
  '',
];
let failed = false;
for (const [name, dir] of labs) {
  if (!existsSync(join(root, dir, 'lab', 'src', 'cli.ts'))) continue;
  if (only.length === 0 || only.some((lab) => lab === name)) {
    process.stdout.write(`\n== bench: ${name} ==\n`);
    const result = spawnSync(process.execPath, [join(root, 'scripts', 'lab.ts'), name, 'bench'], {
      stdio: 'inherit',
    });
    if (result.status !== 0) failed = true;
  }
  const report = join(root, dir, 'lab', 'bench', 'REPORT.md');
  if (existsSync(report)) sections.push(readFileSync(report, 'utf8'), '');
}
writeFileSync(join(root, 'BENCHMARKS.md'), sections.join('\n'));
process.stdout.write('\nWrote BENCHMARKS.md\n');
process.exit(failed ? 1 : 0);
