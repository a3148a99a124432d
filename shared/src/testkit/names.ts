import { randomBytes } from 'node:crypto';

/**
 * A name no other test file will use, valid as a database name, a topic and a key prefix,
 * so test files run in parallel against one PostgreSQL, Redis and Kafka without meeting.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `t_${clean}_${randomBytes(4).toString('hex')}`;
}
