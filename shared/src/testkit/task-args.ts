/**
 * The edges of a lab task (`pnpm lab <lab> <task> ...`), shared by the three lab CLIs.
 *
 * Going in, what it accepts, checked before it runs: a misspelt option or a stray word is
 * refused with exit 2 and the usage, never ignored. Ignored, `rebuild --froce` would run a
 * plain rebuild, and `reset --db x` would drop the defaults. The tasks still read their
 * arguments themselves; this only says which ones exist. Coming out, its exit code, also when
 * it throws (`taskExitCode`).
 */
import { parseArgs } from 'node:util';

export interface TaskArgs {
  /** Options without a value, e.g. `monolith` for `--monolith`. */
  flags?: readonly string[];
  /** Options that take a value, e.g. `dbs` for `--dbs o,f,h,c,p`. */
  options?: readonly string[];
  /** How many plain words may follow the task (`exercise 3`, `dlq replay`). */
  positionals?: number;
}

/** Why `args` does not fit `accepts`, in one line; undefined when it does. */
export function misfitArgs(args: readonly string[], accepts: TaskArgs = {}): string | undefined {
  const options: Record<string, { type: 'boolean' | 'string' }> = {};
  for (const name of accepts.flags ?? []) options[name] = { type: 'boolean' };
  for (const name of accepts.options ?? []) options[name] = { type: 'string' };
  try {
    const { positionals } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
    const allowed = accepts.positionals ?? 0;
    if (positionals.length > allowed) return `Unexpected argument "${positionals[allowed]}".`;
    return undefined;
  } catch (error) {
    // parseArgs names the option and says what is wrong with it (unknown, or missing its value);
    // its advice on positionals that start with '-' is for other programs.
    return (error as Error).message.split('. To specify')[0];
  }
}

/**
 * Runs a lab task and resolves with the exit code it returned. A task that throws (a service
 * that did not become ready, a database that refused the connection) ends with exit 1 and its
 * message alone: the message already names what failed and the service's last log lines, and
 * a stack trace under it would read as the lab crashing, not as a setting to fix.
 */
export async function taskExitCode(
  label: string,
  task: () => Promise<number> | number,
): Promise<number> {
  try {
    return await task();
  } catch (error) {
    process.stderr.write(`${label}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
