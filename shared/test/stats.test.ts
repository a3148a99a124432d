import { describe, expect, it } from 'vitest';
import { median, percentile, roundRatio } from '../src/testkit/index.ts';

describe('percentile', () => {
  it('When asked for p50 and p99 of 1..100, then it answers samples that really occurred, by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(values, 0)).toBe(1);
  });

  it('When there are no samples, then there is no percentile', () => {
    expect(percentile([], 99)).toBeNull();
  });
});

describe('median', () => {
  it('When the count is odd, then the middle sample; when even, then the mean of the two middle ones, not the lower', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, 20])).toBe(15);
    expect(median([])).toBeNull();
  });
});

describe('roundRatio', () => {
  it('When one round of three was spoiled on one side, then the ratio is the middle round ratio, not the ratio of totals', () => {
    // Round 2's base ran during a stall: totals would say 0.8, the rounds say 1.2 twice.
    const values = [120, 120, 120];
    const bases = [100, 250, 100];
    expect(roundRatio(values, bases)).toBe(1.2);
  });

  it('When two rounds give different ratios, then their median is the mean of both', () => {
    expect(roundRatio([10, 30], [10, 10])).toBe(2);
  });

  it('When a round has no base, then it is left out, and with none at all there is no ratio', () => {
    expect(roundRatio([10, 30], [5])).toBe(2);
    expect(roundRatio([10], [0])).toBeNull();
    expect(roundRatio([], [])).toBeNull();
  });
});
