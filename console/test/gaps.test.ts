import { describe, expect, it } from 'vitest';
import { breakAtGaps } from '../src/web/gaps.ts';

describe('breakAtGaps', () => {
  it('When samples are closer than the gap, then the columns are unchanged', () => {
    const data = [
      [0, 0.25, 0.5],
      [3, 4, null],
    ];
    expect(breakAtGaps(data, 2)).toEqual(data);
  });

  it('When traffic stopped between two samples, then a row of nulls halfway breaks every line', () => {
    expect(
      breakAtGaps(
        [
          [0, 0.25, 10, 10.25],
          [3, 4, 5, 6],
          [7, 8, 9, 10],
        ],
        2,
      ),
    ).toEqual([
      [0, 0.25, 5.125, 10, 10.25],
      [3, 4, null, 5, 6],
      [7, 8, null, 9, 10],
    ]);
  });

  it('When there are no samples, then there are no points', () => {
    expect(breakAtGaps([[], []], 2)).toEqual([[], []]);
  });
});
