// Reading `iptables-save` output and writing `iptables-restore` input. Both tools share one line
// grammar (tokens separated by blanks, double quotes group, a backslash inside quotes escapes the
// next character), so a rule read from iptables-save can be fed back verbatim, e.g. as `-D`.
import { formatCIDR, formatNetwork, hostNetOf, parseCIDR, parseIP } from '../ip/index.js';

/** One `-A <chain> <args...>` line of a table. */
export interface SavedRule {
  readonly chain: string;
  /** Everything after "-A <chain>", unquoted. */
  readonly args: readonly string[];
}

/** One table of an iptables-save dump. */
export interface SavedTable {
  readonly chains: ReadonlySet<string>;
  readonly rules: readonly SavedRule[];
}

/** Split a line the way iptables-restore does. */
export function tokenizeRuleLine(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  let escaped = false;
  for (const ch of line) {
    if (quoted && escaped) {
      current += ch;
      escaped = false;
    } else if (quoted && ch === '\\') {
      escaped = true;
    } else if (ch === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r')) {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}

/** The given table (e.g. "nat") of an iptables-save dump; empty when the dump lacks it. */
export function parseSavedTable(dump: string, table: string): SavedTable {
  const chains = new Set<string>();
  const rules: SavedRule[] = [];
  let inTable = false;
  for (const raw of dump.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      inTable = line.slice(1) === table;
    } else if (!inTable || line === '' || line.startsWith('#')) {
      continue;
    } else if (line === 'COMMIT') {
      inTable = false;
    } else if (line.startsWith(':')) {
      chains.add(line.slice(1).split(' ')[0]!);
    } else if (line.startsWith('-A ')) {
      const [, chain, ...args] = tokenizeRuleLine(line);
      if (chain !== undefined) rules.push({ chain, args });
    }
  }
  return { chains, rules };
}

const SAFE_TOKEN = /^[A-Za-z0-9_.,:/!+=@%-]+$/;

/** Quote a token for iptables-restore when it needs it, escaping like iptables-save. */
export function quoteRuleToken(token: string): string {
  if (SAFE_TOKEN.test(token)) return token;
  return `"${token.replace(/[\\"']/g, (c) => `\\${c}`)}"`;
}

export function formatRuleArgs(args: readonly string[]): string {
  return args.map(quoteRuleToken).join(' ');
}

/** The target of a rule (`-j X`), if any. */
export function jumpTarget(rule: SavedRule): string | undefined {
  const i = rule.args.indexOf('-j');
  return i >= 0 ? rule.args[i + 1] : undefined;
}

/** The `--comment` value of a rule, if any. */
export function ruleComment(rule: SavedRule): string | undefined {
  const i = rule.args.indexOf('--comment');
  return i >= 0 ? rule.args[i + 1] : undefined;
}

/** iptables stores `-s/-d` as network/len: "10.1.2.3/24" and "10.1.2.0/24" are the same match. */
function canonicalAddress(text: string): string {
  const net = parseCIDR(text);
  if (net) return formatNetwork(net);
  const ip = parseIP(text);
  return ip ? formatCIDR(hostNetOf(ip)) : text;
}

/** A comparison key under which two spellings of the same rule are equal. */
export function ruleKey(chain: string, args: readonly string[]): string {
  const canonical = args.map((a, i) => (i > 0 && (args[i - 1] === '-s' || args[i - 1] === '-d') ? canonicalAddress(a) : a));
  return [chain, ...canonical].join('\0');
}

/** iptables-restore input changing one table; lines are "-A ...", "-D ...", ":CHAIN - [0:0]", "-X ...". */
export function restoreScript(table: string, lines: readonly string[]): string {
  return `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
}
