// Writes one bench run to bench/results/<YYYY-MM-DD>.{json,md,svg}: the raw rows, the tables as
// markdown, and a horizontal bar chart of tscni / Go per case drawn here as SVG text (no browser,
// no package). The ratio bars start at 0; a line marks 1x (parity).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function ratioTable(rows) {
  const out = ['| case | runs | tscni median ms | Go reference median ms | tscni / reference |', '|---|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.label} | ${r.rounds} | ${r.ours.toFixed(2)} | ${r.ref.toFixed(2)} | ${(r.ours / r.ref).toFixed(2)}x |`);
  return out.join('\n');
}

/** groups: [{ name, title, rows, table? (markdown, when not the plain ratio table), note? }] */
export function renderMarkdown(meta, groups) {
  const out = [
    `# tscni bench, ${meta.date}`,
    '',
    `\`npm run bench${meta.args.length ? ` -- ${meta.args.join(' ')}` : ''}\` on ${meta.host}: ${meta.cpus} CPUs, ${meta.kernel}; tscni ${meta.commit}, Node ${meta.node} embedded; Go reference: ${meta.ref}.`,
    `Medians of ${meta.rounds} rounds, ours and the reference interleaved in one run; wall times in ms, process start included.`,
    '',
    '![tscni / Go per case](' + `${meta.date}.svg` + ')',
  ];
  for (const g of groups) {
    out.push('', `## ${g.name}: ${g.title}`, '', g.table ?? ratioTable(g.rows));
    if (g.note) out.push('', g.note);
  }
  return `${out.join('\n')}\n`;
}

/** Horizontal bars, one per row that has both medians, grouped by bench group. */
export function renderSvg(meta, groups) {
  const bars = [];
  for (const g of groups) for (const r of g.rows) if (Number.isFinite(r.ours) && Number.isFinite(r.ref) && r.ref > 0) bars.push({ group: g.name, label: r.label, ratio: r.ours / r.ref });
  const labelW = 470;
  const chartW = 420;
  const rowH = 18;
  const top = 56;
  const maxRatio = Math.max(2, Math.ceil(Math.max(...bars.map((b) => b.ratio), 1)));
  const x = (ratio) => labelW + (ratio / maxRatio) * chartW;
  const height = top + bars.length * rowH + 40;
  const width = labelW + chartW + 70;
  const color = (ratio) => (ratio <= 1 ? '#2e7d32' : ratio <= 2.5 ? '#f9a825' : '#c62828');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">tscni / Go reference 1.1.1, wall time per case (lower is better; 1x = parity)</text>`,
    `<text x="10" y="38" fill="#555">${esc(`${meta.date}, median of ${meta.rounds} rounds, ${meta.cpus} CPUs, tscni ${meta.commit}`)}</text>`,
  ];
  for (let t = 0; t <= maxRatio; t++) {
    if (t !== 1) out.push(`<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${top + bars.length * rowH}" stroke="#ddd"/>`);
    out.push(`<text x="${x(t)}" y="${top + bars.length * rowH + 14}" text-anchor="middle" fill="#333">${t}x</text>`);
  }
  let prevGroup = '';
  const values = [];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    if (b.group !== prevGroup && i > 0) out.push(`<line x1="10" y1="${y}" x2="${width - 10}" y2="${y}" stroke="#bbb" stroke-dasharray="3,3"/>`);
    prevGroup = b.group;
    out.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${esc(`${b.group}: ${b.label}`.slice(0, 80))}</text>`);
    out.push(`<rect x="${labelW}" y="${y + 3}" width="${Math.max(1, x(b.ratio) - labelW).toFixed(1)}" height="${rowH - 6}" fill="${color(b.ratio)}"/>`);
    values.push(`<text x="${(x(b.ratio) + 4).toFixed(1)}" y="${y + 13}" fill="#000">${b.ratio.toFixed(2)}x</text>`);
  });
  // Parity on top of the bars (a bar that ends near 1x does not hide it), the values on top of it.
  out.push(`<line x1="${x(1)}" y1="${top - 4}" x2="${x(1)}" y2="${top + bars.length * rowH}" stroke="#000" stroke-width="1.5" stroke-opacity="0.6"/>`);
  out.push(...values.map((v) => v.replace('fill="#000">', 'fill="#000" stroke="#fff" stroke-width="3" paint-order="stroke">')), '</svg>');
  return `${out.join('\n')}\n`;
}

export function writeResults(dir, meta, groups, { json = true } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, meta.date);
  if (json) fs.writeFileSync(`${base}.json`, `${JSON.stringify({ ...meta, groups }, null, 2)}\n`);
  fs.writeFileSync(`${base}.md`, renderMarkdown(meta, groups));
  fs.writeFileSync(`${base}.svg`, renderSvg(meta, groups));
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}

// `node scripts/bench/results.mjs bench/results/<date>.json`: draws the .md and .svg again from the
// recorded numbers (after a change to the rendering; the measurements are not touched).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.resolve(process.argv[2] ?? '');
  const { groups, ...meta } = JSON.parse(fs.readFileSync(file, 'utf8'));
  process.stdout.write(`${writeResults(path.dirname(file), meta, groups, { json: false }).slice(1).join(', ')}\n`);
}
