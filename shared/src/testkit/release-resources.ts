/**
 * `node release-resources.ts '<json>'`: drops the resources a process that is exiting still
 * owned (see resources.ts). It exits 0 even when a store is unreachable: there is nothing
 * more an exiting process could do about it, so it only reports.
 */
import { release, type OwnedResources } from './resources.ts';

const list = JSON.parse(process.argv[2] ?? '[]') as OwnedResources[];
for (const resources of list)
  for (const problem of await release(resources)) process.stderr.write(`cleanup: ${problem}\n`);
