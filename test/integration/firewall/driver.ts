// Runs one firewall library call inside whatever netns it was started in (the tests start it with
// `ip netns exec tscni-fw-... node driver.ts '<json>'`). Prints the call's outcome as JSON on stdout.
import {
  checkMasqBackendUsable,
  gcIPMasq,
  resolveMasqBackend,
  setupIPMasq,
  setupMacSpoofCheck,
  teardownIPMasq,
  teardownMacSpoofCheck,
  type MasqBackend,
} from '../../../shared/firewall/index.js';
import { CniError } from '../../../shared/cni/errors.js';

type Call =
  | { op: 'setup'; backend?: MasqBackend; network: string; containerID: string; ifName: string; ips: string[] }
  | { op: 'teardown'; network: string; containerID: string; ifName: string }
  | { op: 'gc'; network: string; valid: { containerID: string; ifname: string }[] }
  | { op: 'usable'; backend: MasqBackend }
  | { op: 'resolve'; configured?: string }
  | { op: 'spoof-setup'; containerID: string; ifName: string; hostIfName: string; mac: string }
  | { op: 'spoof-teardown'; containerID: string; ifName: string };

async function run(call: Call): Promise<unknown> {
  switch (call.op) {
    case 'setup':
      return setupIPMasq(call.backend, call);
    case 'teardown':
      return teardownIPMasq(call);
    case 'gc':
      return gcIPMasq(call.network, call.valid);
    case 'usable':
      return checkMasqBackendUsable(call.backend);
    case 'resolve':
      return resolveMasqBackend(call.configured);
    case 'spoof-setup':
      return setupMacSpoofCheck(call);
    case 'spoof-teardown':
      return teardownMacSpoofCheck(call);
  }
}

try {
  const value = await run(JSON.parse(process.argv[2] ?? '{}') as Call);
  process.stdout.write(JSON.stringify({ ok: true, value: value ?? null }));
} catch (e) {
  const error = e instanceof CniError ? e.toJSON() : { msg: String(e) };
  process.stdout.write(JSON.stringify({ ok: false, error }));
  process.exitCode = 1;
}
