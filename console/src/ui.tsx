import { useEffect, useRef } from "preact/hooks";

/** A job or task state as text plus a colour (never colour alone). */
export function StateBadge({ state }: { state: string }) {
  return (
    <span class={`badge s-${state}`} data-state={state}>
      {state}
    </span>
  );
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** A stable function that runs the latest `fn` once, `ms` after the last call. */
export function useDebounced(fn: () => void | Promise<void>, ms: number): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const stable = useRef(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void latest.current(), ms);
  });
  useEffect(() => () => clearTimeout(timer.current), []);
  return stable.current;
}

export interface Series {
  name: string;
  /** a CSS class that sets the stroke (and a dash pattern, so lines differ without colour) */
  cls: string;
  values: number[];
}

/**
 * A small line chart over time: a few series, no interaction. An SVG with a text
 * alternative (the latest values), so the numbers reach those who cannot see it.
 */
export function LineChart({ title, series, max, unit = "" }: { title: string; series: Series[]; max?: number; unit?: string }) {
  const W = 480;
  const H = 140;
  const P = 40;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const top = Math.max(1, max ?? Math.max(1, ...series.flatMap((s) => s.values)));
  const x = (i: number) => P + (i * (W - P - 8)) / (n - 1);
  const y = (v: number) => H - P + 8 - (v / top) * (H - P);
  const latest = series.map((s) => `${s.name} ${s.values.at(-1) ?? 0}${unit}`).join(", ");
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: now ${latest}`}>
        <line x1={P} y1={y(0)} x2={W - 8} y2={y(0)} class="axis" />
        <line x1={P} y1={y(top)} x2={W - 8} y2={y(top)} class="grid" />
        <text x={P - 4} y={y(top) + 4} text-anchor="end" class="tick">
          {top}
          {unit}
        </text>
        <text x={P - 4} y={y(0) + 4} text-anchor="end" class="tick">
          0
        </text>
        {series.map((s) => (
          <polyline
            key={s.name}
            class={`line ${s.cls}`}
            fill="none"
            points={s.values.map((v, i) => `${x(i + n - s.values.length)},${y(v)}`).join(" ")}
          />
        ))}
      </svg>
      <ul class="legend">
        {series.map((s) => (
          <li key={s.name}>
            <span class={`swatch ${s.cls}`} aria-hidden="true" />
            {s.name}: {s.values.at(-1) ?? 0}
            {unit}
          </li>
        ))}
      </ul>
    </figure>
  );
}
