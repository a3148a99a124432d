import { describe, expect, it } from 'vitest';
import { percentile } from '../src/testkit/index.ts';

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
