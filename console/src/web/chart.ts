import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './html.ts';

/** The right-hand y axis (uPlot numbers sides clockwise from the top: 1 is right). */
// uPlot's Side is an ambient const enum, which isolated modules cannot name; 1 is its Right.
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
const rightAxis = (label: string): uPlot.Axis => ({ label, scale: 'right', side: 1 });

export interface Series {
  label: string;
  stroke: string;
  /** Right-hand axis, for a second unit. */
  right?: boolean;
}

/**
 * A live time series: uPlot draws thousands of points in a few milliseconds, so the chart is
 * redrawn on every update the console pushes (x in seconds, one array per series).
 */
export function Chart(props: {
  series: Series[];
  data: (number | null)[][];
  height?: number;
  units: [string, string?];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const chart = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: props.height ?? 180,
        scales: { x: { time: true } },
        axes: [
          {},
          { label: props.units[0], scale: 'left' },
          ...(props.units[1] ? [rightAxis(props.units[1])] : []),
        ],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: 1.5,
            scale: s.right ? 'right' : 'left',
            spanGaps: false,
          })),
        ],
      },
      props.data as uPlot.AlignedData,
      el,
    );
    plot.current = chart;
    return () => {
      chart.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);
  return html`<div ref=${box}></div>`;
}
