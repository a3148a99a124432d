import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** Slices short enough that a timer or a request waits at most this long for the thread. */
const SLICE_MS = 5;

/**
 * The same work in slices, yielding to the event loop between them and stopping when the
 * caller's signal aborts: in one process, cancellation is cooperative. Over HTTP the gateway
 * got it for free by closing the socket; here the module has to look.
 */
export async function compute(ms: number, signal: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    signal.throwIfAborted();
    const sliceEnd = Math.min(until, performance.now() + SLICE_MS);
    while (performance.now() < sliceEnd);
    await yieldToEventLoop();
  }
}
