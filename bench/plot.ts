// Hand-written SVG plots for the benchmarks (no plotting dependency): a grid of small
// log–log panels, and a PNG copy when ImageMagick's `convert` or `rsvg-convert` is installed.
import { spawnSync } from 'node:child_process';

export interface PanelPoint {
  /** Horizontal position: the batch size (fixed) or the mean transaction size (adaptive). */
  readonly x: number;
  /** Left axis: lag p99 (or another time), seconds. */
  readonly y: number;
  /** Right axis: the mean transaction size actually written. */
  readonly size: number;
  readonly keptUp: boolean;
  readonly adaptive: boolean;
  readonly label: string;
}

export interface Panel {
  readonly title: string;
  readonly subtitle?: string;
  readonly points: readonly PanelPoint[];
  /** A vertical marker (B*), drawn dashed, if finite. */
  readonly marker?: { readonly x: number; readonly label: string };
}

export interface PanelGrid {
  readonly title: string;
  readonly yLabel: string;
  readonly rows: readonly (readonly Panel[])[];
  readonly footnote?: string;
}

const W = 300;
const H = 230;
const M = { left: 52, right: 44, top: 38, bottom: 36 };
const X_MIN = 0.7;
const X_MAX = 7000;
const SIZE_MIN = 0.7;
const SIZE_MAX = 7000;

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const log = Math.log10;

function decadeTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let power = Math.floor(log(min)); power <= Math.ceil(log(max)); power++) {
    const value = 10 ** power;
    if (value >= min * 0.999 && value <= max * 1.001) ticks.push(value);
  }
  return ticks;
}

function formatSeconds(value: number): string {
  if (value >= 1) return `${Number(value.toPrecision(2))} s`;
  return `${Number((value * 1000).toPrecision(2))} ms`;
}

function formatCount(value: number): string {
  return value >= 1000 ? `${value / 1000}k` : String(value);
}

function panelSvg(panel: Panel, originX: number, originY: number, yMin: number, yMax: number): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (x: number) => originX + M.left + ((log(Math.min(Math.max(x, X_MIN), X_MAX)) - log(X_MIN)) / (log(X_MAX) - log(X_MIN))) * plotW;
  const py = (y: number) => originY + M.top + plotH - ((log(Math.min(Math.max(y, yMin), yMax)) - log(yMin)) / (log(yMax) - log(yMin))) * plotH;
  const ps = (size: number) => originY + M.top + plotH - ((log(Math.min(Math.max(size, SIZE_MIN), SIZE_MAX)) - log(SIZE_MIN)) / (log(SIZE_MAX) - log(SIZE_MIN))) * plotH;
  const parts: string[] = [];
  const x0 = originX + M.left;
  const y0 = originY + M.top;
  parts.push(`<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" fill="#fbfbfb" stroke="#999"/>`);
  parts.push(`<text x="${originX + W / 2}" y="${originY + 14}" text-anchor="middle" font-size="11" font-weight="bold">${esc(panel.title)}</text>`);
  if (panel.subtitle) parts.push(`<text x="${originX + W / 2}" y="${originY + 27}" text-anchor="middle" font-size="9" fill="#555">${esc(panel.subtitle)}</text>`);
  for (const tick of decadeTicks(1, 1000)) {
    const x = px(tick);
    parts.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + plotH}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${x}" y="${y0 + plotH + 12}" text-anchor="middle" font-size="9">${formatCount(tick)}</text>`);
  }
  parts.push(`<text x="${x0 + plotW / 2}" y="${y0 + plotH + 25}" text-anchor="middle" font-size="9" fill="#333">batch size (events)</text>`);
  for (const tick of decadeTicks(yMin, yMax)) {
    const y = py(tick);
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${x0 - 3}" y="${y + 3}" text-anchor="end" font-size="8" fill="#1f5fa8">${formatSeconds(tick)}</text>`);
  }
  for (const tick of decadeTicks(1, 1000)) {
    parts.push(`<text x="${x0 + plotW + 3}" y="${ps(tick) + 3}" font-size="8" fill="#777">${formatCount(tick)}</text>`);
  }
  if (panel.marker && Number.isFinite(panel.marker.x) && panel.marker.x > 0) {
    const x = px(panel.marker.x);
    parts.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + plotH}" stroke="#2a9d4a" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x + 2}" y="${y0 + 9}" font-size="8" fill="#2a9d4a">${esc(panel.marker.label)}</text>`);
  }
  const fixed = panel.points.filter((point) => !point.adaptive).sort((a, b) => a.x - b.x);
  if (fixed.length > 1) {
    parts.push(`<polyline fill="none" stroke="#1f5fa8" stroke-width="1.2" points="${fixed.map((point) => `${px(point.x)},${py(point.y)}`).join(' ')}"/>`);
    parts.push(`<polyline fill="none" stroke="#999" stroke-dasharray="3 2" points="${fixed.map((point) => `${px(point.x)},${ps(point.size)}`).join(' ')}"/>`);
  }
  for (const point of fixed) {
    const x = px(point.x);
    parts.push(`<rect x="${x - 2.5}" y="${ps(point.size) - 2.5}" width="5" height="5" fill="#bbb" stroke="#777"><title>${esc(point.label)}: mean txn ${point.size.toFixed(1)}</title></rect>`);
    parts.push(`<circle cx="${x}" cy="${py(point.y)}" r="3.5" fill="${point.keptUp ? '#1f5fa8' : '#fff'}" stroke="#1f5fa8" stroke-width="1.5"><title>${esc(point.label)}: ${formatSeconds(point.y)}${point.keptUp ? '' : ' (fell behind)'}</title></circle>`);
  }
  for (const point of panel.points.filter((candidate) => candidate.adaptive)) {
    const x = px(point.x);
    const y = py(point.y);
    const diamond = (cx: number, cy: number, r: number) => `${cx},${cy - r} ${cx + r},${cy} ${cx},${cy + r} ${cx - r},${cy}`;
    parts.push(`<polygon points="${diamond(x, ps(point.size), 4)}" fill="#fff" stroke="#d62728" stroke-width="1.2"><title>adaptive: mean txn ${point.size.toFixed(1)}</title></polygon>`);
    parts.push(`<polygon points="${diamond(x, y, 6)}" fill="${point.keptUp ? '#d62728' : '#fff'}" stroke="#d62728" stroke-width="2"><title>${esc(point.label)}: ${formatSeconds(point.y)}${point.keptUp ? '' : ' (fell behind)'}</title></polygon>`);
  }
  return parts.join('\n');
}

/** The grid as an SVG document; every panel shares the left axis range. */
export function renderPanelGrid(grid: PanelGrid): string {
  const values = grid.rows.flat().flatMap((panel) => panel.points.map((point) => point.y)).filter((value) => value > 0 && Number.isFinite(value));
  const yMin = 10 ** Math.floor(log(Math.max(1e-4, Math.min(...values, 1))));
  const yMax = 10 ** Math.ceil(log(Math.max(...values, 0.01)));
  const columns = Math.max(...grid.rows.map((row) => row.length), 1);
  const headerH = 50;
  const footerH = 46;
  const width = columns * W + 20;
  const height = headerH + grid.rows.length * H + footerH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(grid.title)}</text>`,
    `<text x="10" y="38" font-size="10" fill="#333">left axis (blue, log): ${esc(grid.yLabel)} · right axis (grey, log): mean transaction size · ● kept up ○ fell behind · ◆ red: adaptive (at its mean size) · dashed green: B* (least-squares m, o; produced R)</text>`,
  ];
  grid.rows.forEach((row, rowIndex) => {
    row.forEach((panel, columnIndex) => {
      parts.push(panelSvg(panel, 10 + columnIndex * W, headerH + rowIndex * H, yMin, yMax));
    });
  });
  if (grid.footnote) {
    grid.footnote.split('\n').forEach((line, index) => {
      parts.push(`<text x="10" y="${headerH + grid.rows.length * H + 16 + index * 13}" font-size="9" fill="#555">${esc(line)}</text>`);
    });
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Renders `svg` to `png` with rsvg-convert or ImageMagick when one is installed; the tool used, or undefined. */
export function svgToPng(svg: string, png: string): string | undefined {
  const tools: [string, string[]][] = [
    ['rsvg-convert', ['-o', png, svg]],
    ['convert', ['-density', '110', svg, png]],
  ];
  for (const [tool, args] of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) continue;
    const result = spawnSync(tool, args, { stdio: 'ignore', timeout: 60_000 });
    if (result.status === 0) return tool;
  }
  return undefined;
}
