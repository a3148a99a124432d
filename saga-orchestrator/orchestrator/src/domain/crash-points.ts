import type { Logger } from '@lab/shared/logging';

export type CrashPoint = 'before-log' | 'before-call' | 'after-call' | 'after-log';
export const crashPoints: readonly CrashPoint[] = [
  'before-log',
  'before-call',
  'after-call',
  'after-log',
];

/**
 * LAB_CRASH_AT=after-call:charge-payment kills this process with SIGKILL at that instant (only
 * with LAB_CHAOS=1): the charge happened, the log does not know yet. The tests walk every
 * point of every step and prove the restarted orchestrator still ends every trip cleanly.
 */
export function crashSwitch(at: string | undefined, enabled: boolean, logger: Logger) {
  if (!enabled || !at) return (_point: CrashPoint, _step: string) => undefined;
  return (point: CrashPoint, step: string) => {
    if (`${point}:${step}` !== at) return;
    logger.warn({ crashAt: at }, 'crash point reached: SIGKILL');
    logger.flush();
    process.kill(process.pid, 'SIGKILL');
  };
}
