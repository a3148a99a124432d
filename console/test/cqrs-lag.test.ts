import { describe, expect, it } from 'vitest';
import { lagMsOf, recordEnd, type EndHistory } from '../src/labs/cqrs.watch.ts';

describe("the CQRS tab's lag estimate from the topic's ends", () => {
  it('When the projector has committed up to an offset, then the lag dates from when the end first passed it', () => {
    const history: EndHistory = [];
    recordEnd(history, 10, 1_000);
    recordEnd(history, 10, 1_500);
    recordEnd(history, 25, 2_000);

    expect(lagMsOf(history, 10, 3_000)).toBe(1_000);
    expect(lagMsOf(history, 5, 3_000)).toBe(2_000);
    expect(lagMsOf(history, 25, 3_000)).toBe(0);
  });

  it('When the topic is created again and its end starts over, then the lag dates from the new topic, not the old one', () => {
    const history: EndHistory = [];
    recordEnd(history, 1_000, 1_000);
    recordEnd(history, 4, 60_000);

    expect(lagMsOf(history, 2, 61_000)).toBe(1_000);
  });

  it('When an end is older than the window, then the entry in force at its start is kept', () => {
    const history: EndHistory = [];
    recordEnd(history, 1, 0, 10_000);
    recordEnd(history, 2, 5_000, 10_000);
    recordEnd(history, 3, 20_000, 10_000);

    expect(history).toEqual([
      { at: 5_000, end: 2 },
      { at: 20_000, end: 3 },
    ]);
  });
});
