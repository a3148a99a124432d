/**
 * Time series columns with a row of nulls wherever two neighbouring samples are more than
 * `maxGapS` apart: uPlot draws a line between any two points it is given, so without the break
 * a minute with no traffic would be drawn as a straight line from the last sample before it to
 * the first one after, as if requests had answered all along.
 */
export function breakAtGaps(data: (number | null)[][], maxGapS: number): (number | null)[][] {
  const [xs = [], ...series] = data;
  const out: (number | null)[][] = [[], ...series.map(() => [])];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] ?? null;
    const before = i > 0 ? (xs[i - 1] ?? null) : null;
    if (x !== null && before !== null && x - before > maxGapS) {
      // The break sits halfway, so neither real point moves.
      out[0]?.push((x + before) / 2);
      for (let s = 1; s < out.length; s++) out[s]?.push(null);
    }
    out[0]?.push(x);
    series.forEach((values, s) => out[s + 1]?.push(values[i] ?? null));
  }
  return out;
}
