import { writeSync } from 'node:fs';

export type CrashPoint = 'before-log' | 'before-call' | 'after-call' | 'after-log';

/**
 * LAB_CRASH_AT=after-call:charge-payment kills this process with SIGKILL at that instant (only
 * with LAB_CHAOS=1): the charge happened, the log does not know yet. The tests walk every
 * point of every step and prove the restarted orchestrator still ends every trip cleanly.
 */
export function crashSwitch(at: string | undefined, enabled: boolean) {
  if (!enabled || !at) return (_point: CrashPoint, _step: string) => undefined;
  return (point: CrashPoint, step: string) => {
    if (`${point}:${step}` !== at) return;
    // Written synchronously so the line is in the pipe before the process vanishes; a full
    // pipe must not stop the crash, so a failed write is dropped.
    const line = {
      level: 'warn',
      service: 'orchestrator',
      crashAt: at,
      msg: 'crash point: SIGKILL',
    };
    try {
      writeSync(1, `${JSON.stringify(line)}\n`);
    } catch {
      // The crash matters, not the line.
    }
    process.kill(process.pid, 'SIGKILL');
  };
}
