// One iptables family as a transaction target: read the nat table with iptables-save, write the
// change with a single `iptables-restore --noflush`. iptables-restore and ip6tables-restore are
// separate programs (one per address family), so a dual-stack change is one transaction per family.
import type { Family } from '../ip/index.js';
import { runTool, ToolFailedError } from './exec.js';
import { parseSavedTable, restoreScript, type SavedTable } from './iptables-save.js';

const SAVE_TOOL: Readonly<Record<Family, string>> = { 4: 'iptables-save', 6: 'ip6tables-save' };
const RESTORE_TOOL: Readonly<Record<Family, string>> = { 4: 'iptables-restore', 6: 'ip6tables-restore' };
/** A rule that vanished between our read and our write fails the restore: read again and retry. */
const ATTEMPTS = 3;

/** The current `table` of one family. Throws ToolMissingError / ToolFailedError. */
export async function readIptablesTable(family: Family, table: string): Promise<SavedTable> {
  const result = await runTool(SAVE_TOOL[family], ['-t', table]);
  if (result.code !== 0) throw new ToolFailedError(`${SAVE_TOOL[family]} -t ${table}`, result);
  return parseSavedTable(result.stdout, table);
}

/**
 * Read `table`, compute restore lines from it with `change`, apply them in one restore call.
 * Nothing is written when `change` returns no lines.
 */
export async function changeIptablesTable(
  family: Family,
  table: string,
  change: (current: SavedTable) => string[],
  initial?: SavedTable,
): Promise<void> {
  let current = initial ?? (await readIptablesTable(family, table));
  for (let attempt = 1; ; attempt++) {
    const lines = change(current);
    if (lines.length === 0) return;
    const result = await runTool(RESTORE_TOOL[family], ['--noflush', '--wait'], restoreScript(table, lines));
    if (result.code === 0) return;
    if (attempt >= ATTEMPTS) throw new ToolFailedError(`${RESTORE_TOOL[family]} --noflush`, result);
    current = await readIptablesTable(family, table);
  }
}

/**
 * Applies `lines` in one restore without reading the table first: for changes made of commands
 * that fail as a whole when their target already exists (`-N <chain>` first), so that success means
 * the table was in the state they assume. Resolves true when applied, false when the restore refused
 * them (the caller then reads the table and computes the change). Rejects with ToolMissingError.
 * Saves a new container's ADD the iptables-save process and one more read of the ruleset, which
 * concurrent ADDs (a burst) otherwise all repeat.
 */
export async function tryIptablesRestore(family: Family, table: string, lines: readonly string[]): Promise<boolean> {
  const result = await runTool(RESTORE_TOOL[family], ['--noflush', '--wait'], restoreScript(table, lines));
  return result.code === 0;
}
