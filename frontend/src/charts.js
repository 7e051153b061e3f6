// Small SVG line charts in the theme's colours: a few hundred points, no chart library needed.
import { svg, html } from "lit";

const W = 320;
const H = 120;
const PAD = { left: 34, right: 8, top: 8, bottom: 18 };

function extent(values) {
  const finite = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  if (!finite.length) return null;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  return [lo, hi];
}

function fmt(v) {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * A line chart: `series` = [{label, color, points: [[x, y], …], dots?, dashed?}]; a shared
 * x axis. A null y is a gap: the line stops there and starts again after it (a cycle without
 * that figure is not drawn as if it had one). `dashed` draws an estimate (≈, not measured).
 * `fixed` = [lo, hi] pins the y axis (share in band: 0…100). Empty series draw `empty`.
 */
export function lineChart({ series, fixed = null, xLabel = "", empty = "", name = "" }) {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xr = extent(xs);
  const yr = fixed || extent(ys);
  if (!xr || !yr) {
    return html`<div class="chart-empty" data-chart=${name}>${empty}</div>`;
  }
  const sx = (x) => PAD.left + ((x - xr[0]) / (xr[1] - xr[0] || 1)) * (W - PAD.left - PAD.right);
  const sy = (y) => H - PAD.bottom - ((y - yr[0]) / (yr[1] - yr[0])) * (H - PAD.top - PAD.bottom);
  const lines = series.map((s) => {
    const known = (p) => p[1] !== null && p[1] !== undefined && Number.isFinite(p[1]);
    const pts = s.points.filter(known);
    let d = "";
    let pen = false;
    for (const p of s.points) {
      if (!known(p)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`;
      pen = true;
    }
    const dots = s.dots || pts.length === 1
      ? pts.map((p) => svg`<circle cx=${sx(p[0])} cy=${sy(p[1])} r="2.5" fill=${s.color}></circle>`)
      : [];
    const dash = s.dashed ? "4 3" : "none";
    return svg`<path d=${d} fill="none" stroke=${s.color} stroke-width="1.6" stroke-dasharray=${dash} data-series=${s.key || ""}></path>${dots}`;
  });
  return html`<figure class="chart" data-chart=${name} data-points=${ys.length}>
    <svg viewBox="0 0 ${W} ${H}" role="img" preserveAspectRatio="none">
      <line x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} class="axis"></line>
      <line x1=${PAD.left} y1=${PAD.top} x2=${PAD.left} y2=${H - PAD.bottom} class="axis"></line>
      <text x=${PAD.left - 3} y=${PAD.top + 8} class="tick" text-anchor="end">${fmt(yr[1])}</text>
      <text x=${PAD.left - 3} y=${H - PAD.bottom} class="tick" text-anchor="end">${fmt(yr[0])}</text>
      <text x=${W - PAD.right} y=${H - 4} class="tick" text-anchor="end">${xLabel}</text>
      ${lines}
    </svg>
    <figcaption>${series.filter((s) => !s.optional || s.points.some((p) => p[1] !== null && p[1] !== undefined)).map((s) => html`<span><i style="background:${s.color}"></i>${s.label}</span>`)}</figcaption>
  </figure>`;
}
