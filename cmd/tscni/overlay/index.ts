// `tscni overlay [flags]`: the node agent (see agent.ts). Flags in flanneld's spelling (flags.ts).
import { writeStderr } from '../../../shared/sys/stdio.js';
import { OverlayAgent } from './agent.js';
import { FlagError, parseFlags, usage } from './flags.js';

export async function overlayCommand(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, process.env);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    writeStderr(`${err.message}\n${usage()}`);
    return 2;
  }
  if (parsed.flags.help) {
    writeStderr(usage());
    return 0;
  }
  if (parsed.rest.length > 0) {
    writeStderr(`tscni overlay: unexpected argument ${JSON.stringify(parsed.rest[0])}\n${usage()}`);
    return 2;
  }
  const agent = new OverlayAgent(parsed.flags);
  const onSignal = (sig: NodeJS.Signals): void => agent.stop(`received ${sig}`);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await agent.run();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
