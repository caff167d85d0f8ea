// Running the nft program. The nftables backend no longer needs it (shared/netfilter/nftables speaks
// netlink); what is left: portmap's nft `conditionsV4/V6` (nft text only nft compiles), and the
// tests, which apply the text form as the oracle. One `nft -f -` call is one kernel transaction.
import { parseNftListing, type NftListing } from './nft-json.js';
import { runTool, ToolFailedError, type ToolResult } from './exec.js';

/** nft's "does not exist" answer when listing a missing table or chain. */
export function isNftNotFound(result: ToolResult): boolean {
  return result.code !== 0 && /No such file or directory/.test(result.stderr);
}

/**
 * `nft -j list <what...>`; an empty listing when the table or chain does not exist.
 * Throws ToolMissingError without nft, ToolFailedError on any other failure.
 */
export async function nftList(what: readonly string[]): Promise<NftListing> {
  const result = await runTool('nft', ['-j', 'list', ...what]);
  if (isNftNotFound(result)) return { chains: [], rules: [] };
  if (result.code !== 0) throw new ToolFailedError(`nft list ${what.join(' ')}`, result);
  return parseNftListing(result.stdout);
}

/** Apply an nft script (text syntax) as one transaction. */
export async function nftApply(script: string): Promise<void> {
  const result = await runTool('nft', ['-f', '-'], script);
  if (result.code !== 0) throw new ToolFailedError('nft -f -', result);
}

/**
 * Apply nft JSON commands as one transaction. The document goes in as nft's command argument (one
 * argv element, no shell): `nft -j -f -` opens /dev/stdin by path, which fails on the socket pair
 * Node uses for a child's stdin.
 */
export async function nftApplyJson(commands: readonly object[]): Promise<void> {
  const result = await runTool('nft', ['-j', JSON.stringify({ nftables: commands })]);
  if (result.code !== 0) throw new ToolFailedError('nft -j', result);
}
