// Plots as server-rendered inline SVG (no chart library, no CDN, no inline style: the inbox's CSP holds). Each is a
// card: a heading, a one-line description, an SVG that names itself (role="img", <title>, <desc>) and, as the
// figure's caption, its data as text, so a screen reader (and a test) reads the numbers the bars and lines draw.
// The SVG's coordinates are sized for a card of about 36 rem (the two-column grid of governance.styles.ts): its text
// (12 units) then renders at about the page's body size, never blown up to the width of a wide screen.
import { esc } from '../inbox/inbox.view';

const W = 480;
const PALETTE = ['#1f5fa8', '#c2410c', '#15803d', '#7e22ce', '#a16207', '#0e7490'];
const INK = '#374151';
const GRID = '#e5e7eb';
/** A value as read: at most two decimals, no trailing zeros (120.9 s, 0.75). */
const fmt = (v: number) => String(Math.round(v * 100) / 100);
/** An axis label: one decimal at most. */
const tick = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const text = (x: number, y: number, s: string, anchor: 'start' | 'middle' | 'end' = 'start') =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${anchor === 'start' ? '' : ` text-anchor="${anchor}"`} font-size="12" fill="${INK}">${esc(s)}</text>`;

export interface Bar {
  label: string;
  /** One value per series (a stacked bar when several). */
  values: number[];
}

let seq = 0;
const ids = (id: string) => ({ t: `${id}-t${++seq}`, d: `${id}-d${seq}` });

function legend(series: string[], y: number, x0: number): string {
  let x = x0;
  return series
    .map((s, i) => {
      const out = `<rect x="${x}" y="${y - 9}" width="10" height="10" rx="2" fill="${PALETTE[i % PALETTE.length]}"/>${text(x + 14, y, s)}`;
      x += 24 + s.length * 7;
      return out;
    })
    .join('');
}

function card(id: string, title: string, desc: string, h: number, body: string, summary: string[]): string {
  const { t, d } = ids(id);
  return `<section class="gov-card" aria-labelledby="${esc(id)}-h">
<h3 id="${esc(id)}-h">${esc(title)}</h3>
<p class="gov-desc">${esc(desc)}</p>
<figure class="plot" id="${esc(id)}">
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" role="img" aria-labelledby="${t} ${d}" data-points="${summary.length}">
<title id="${t}">${esc(title)}</title><desc id="${d}">${esc(desc)}</desc>
${body}
</svg>
<figcaption>${summary.length ? `<ul class="plot-data">${summary.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : '<p class="plot-empty">No data yet.</p>'}</figcaption>
</figure>
</section>`;
}

/** Horizontal bars, stacked when each bar has several values (`series` names them); `max` fixes the scale (e.g. 1 for rates). */
export function barChart(o: { id: string; title: string; desc: string; bars: Bar[]; series?: string[]; unit?: string; max?: number }): string {
  const rowH = 22;
  const left = 130;
  const right = 64;
  const stacked = !!o.series && o.series.length > 1;
  const top = 8;
  const h = top + Math.max(1, o.bars.length) * rowH + (stacked ? 30 : 8);
  const max = o.max ?? Math.max(1e-9, ...o.bars.map((b) => b.values.reduce((a, v) => a + v, 0)));
  const scale = (v: number) => (v / max) * (W - left - right);
  const body = o.bars
    .map((b, i) => {
      let x = left;
      const y = top + i * rowH;
      const rects = b.values
        .map((v, s) => {
          const w = scale(v);
          const r = `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0, w).toFixed(1)}" height="${rowH - 8}" fill="${PALETTE[s % PALETTE.length]}"><title>${esc(`${b.label}${o.series ? ` · ${o.series[s]}` : ''}: ${fmt(v)}${o.unit ?? ''}`)}</title></rect>`;
          x += w;
          return r;
        })
        .join('');
      const total = b.values.reduce((a, v) => a + v, 0);
      const label = b.label.length > 20 ? `${b.label.slice(0, 19)}…` : b.label;
      return `${text(left - 8, y + rowH - 11, label, 'end')}<line x1="${left}" y1="${y + rowH - 8}" x2="${W - right}" y2="${y + rowH - 8}" stroke="${GRID}"/>${rects}${text(x + 6, y + rowH - 11, `${stacked ? b.values.map(fmt).join(' / ') : fmt(total)}${o.unit ?? ''}`)}`;
    })
    .join('\n');
  const axis = `<line x1="${left}" y1="${top - 2}" x2="${left}" y2="${top + Math.max(1, o.bars.length) * rowH - 6}" stroke="#9ca3af"/>`;
  const keys = stacked ? legend(o.series!, h - 8, left) : '';
  const summary = o.bars.map(
    (b) => `${b.label}: ${stacked ? b.values.map((v, i) => `${o.series![i]} ${fmt(v)}${o.unit ?? ''}`).join(', ') : `${fmt(b.values[0] ?? 0)}${o.unit ?? ''}`}`,
  );
  return card(o.id, o.title, o.desc, h, axis + body + keys, summary);
}

/** Lines over time, one per series; x is time (ms), y starts at 0 and ends at `max` (default: the highest value, at least 1). */
export function lineChart(o: {
  id: string;
  title: string;
  desc: string;
  series: Array<{ name: string; points: Array<[number, number]> }>;
  unit?: string;
  max?: number;
}): string {
  const h = 220;
  const pad = { l: 64, r: 16, t: 12, b: 52 };
  const all = o.series.flatMap((s) => s.points);
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(x0 + 1, ...all.map((p) => p[0]));
  const y1 = o.max ?? Math.max(1, ...all.map((p) => p[1]));
  const X = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const Y = (y: number) => h - pad.b - (y / y1) * (h - pad.t - pad.b);
  const grid = [0, 0.5, 1]
    .map((f) => {
      const v = f * y1;
      return `<line x1="${pad.l}" y1="${Y(v).toFixed(1)}" x2="${W - pad.r}" y2="${Y(v).toFixed(1)}" stroke="${f === 0 ? '#9ca3af' : GRID}"/>${text(pad.l - 6, Y(v) + 4, `${tick(Math.round(v * 10) / 10)}${o.unit ?? ''}`, 'end')}`;
    })
    .join('');
  const time = (t: number) => new Date(t).toISOString().slice(11, 16);
  const ticks = all.length
    ? `${text(pad.l, h - pad.b + 16, time(x0))}${text((pad.l + W - pad.r) / 2, h - pad.b + 16, time((x0 + x1) / 2), 'middle')}${text(W - pad.r, h - pad.b + 16, `${time(x1)} UTC`, 'end')}`
    : '';
  const lines = o.series
    .map((s, i) => {
      const c = PALETTE[i % PALETTE.length];
      const pts = s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
      return `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2" stroke-linejoin="round"/>${s.points.length <= 48 ? s.points.map(([x, y]) => `<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${c}"/>`).join('') : ''}`;
    })
    .join('\n');
  const summary = o.series
    .filter((s) => s.points.length)
    .map((s) => {
      const ys = s.points.map((p) => p[1]);
      return `${s.name}: ${s.points.length} samples, latest ${fmt(ys[ys.length - 1])}${o.unit ?? ''}, highest ${fmt(Math.max(...ys))}${o.unit ?? ''}`;
    });
  return card(
    o.id,
    o.title,
    o.desc,
    h,
    grid +
      ticks +
      lines +
      legend(
        o.series.map((s) => s.name),
        h - 10,
        pad.l,
      ),
    summary,
  );
}
