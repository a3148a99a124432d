import { describe, expect, test } from 'vitest';
import { preferredWaitSeconds } from '../src/entry-points/api/trips.routes.ts';

describe('Prefer: wait (RFC 7240)', () => {
  test.each([
    ['wait=10', 10],
    ['respond-async, wait=5', 5],
    ['wait=5; x=1', 5],
    ['Wait = "7"', 7],
    ['return=minimal,wait=0', 0],
  ])('When the header is %j, then the client waits %i s', (header, seconds) => {
    expect(preferredWaitSeconds(header)).toBe(seconds);
  });

  test('When a client asks for longer than the orchestrator holds an answer, then it waits the maximum', () => {
    expect(preferredWaitSeconds('wait=3600')).toBe(60);
    expect(preferredWaitSeconds('wait=99999999')).toBe(60);
    expect(preferredWaitSeconds(`wait=${'9'.repeat(400)}`)).toBe(60);
  });

  test.each([undefined, 'respond-async', 'wait=soon', 'wait=-1', 'nowait=5', 'wait=5x'])(
    'When the header is %j, then there is no wait: a preference the server does not understand is ignored',
    (header) => {
      expect(preferredWaitSeconds(header)).toBeUndefined();
    },
  );
});
