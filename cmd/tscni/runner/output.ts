// Human-readable renderings of `ls` and `gc` (the --json forms are the report objects themselves).
import type { GcReport } from './gc.js';
import type { AllocationView, AttachmentView } from './inventory.js';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const netnsState = (a: AttachmentView): string => (a.netnsExists === null ? 'unknown' : a.netnsExists ? 'yes' : 'GONE');

export function renderLs(atts: AttachmentView[], allocs: AllocationView[]): string {
  let out = 'Attachments (result cache):\n';
  out += atts.length === 0
    ? '  (none)\n'
    : table(['NETWORK', 'CONTAINER ID', 'IFNAME', 'NETNS', 'NETNS EXISTS', 'IPS'], atts.map((a) => [a.network, a.containerId, a.ifName, a.netns || '-', netnsState(a), a.ips.join(',') || '-']));
  out += '\nhost-local allocations:\n';
  out += allocs.length === 0
    ? '  (none)\n'
    : table(['NETWORK', 'IP', 'CONTAINER ID', 'IFNAME', 'IN CACHE', 'DATA DIR'], allocs.map((a) => [a.network, a.ip, a.containerId, a.ifName || '-', a.cached ? 'yes' : 'NO', a.dataDir]));
  return out;
}

export function renderGc(r: GcReport): string {
  const how = r.method === 'gc' ? "through the plugins' GC" : r.method === 'del' ? 'with one DEL each (cniVersion below 1.1.0)' : 'nothing to do';
  let out = `network "${r.network}": ${r.validAttachments.length} valid attachment(s) kept; ${r.note ?? how}\n`;
  if (r.released) {
    out += r.released.length === 0 ? 'no stale attachment\n' : table(['RELEASED CONTAINER ID', 'IFNAME', 'WHY', 'IPS'], r.released.map((s) => [s.containerId, s.ifName, s.why, s.ips.join(',') || '-']));
  }
  return out;
}
