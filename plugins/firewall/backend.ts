// What every firewall backend does for one attachment, and how the plugin picks one.
import type { IPNet } from '../../shared/ip/index.js';
import type { BackendName, FirewallConfig } from './config.js';
import type { IsolationPolicy } from './iptables-rules.js';

export interface AttachmentId {
  readonly network: string;
  readonly containerID: string;
  readonly ifName: string;
}

/** Everything a backend needs for one call. */
export interface FirewallRequest {
  readonly config: FirewallConfig;
  readonly attachment: AttachmentId;
  /** The container's addresses (from prevResult, or from the ADD record on DEL/GC). */
  readonly ips: readonly IPNet[];
  /** ingressPolicy same-bridge / isolated: the bridge is prevResult.interfaces[0]. */
  readonly isolation?: { readonly bridge: string; readonly policy: IsolationPolicy };
}

export interface FirewallBackend {
  readonly name: BackendName;
  add(req: FirewallRequest): Promise<void>;
  /** Removes this attachment's rules; succeeds when there are none. */
  del(req: FirewallRequest): Promise<void>;
  /** Throws CniError 101 when something ADD created is missing. */
  check(req: FirewallRequest): Promise<void>;
  /** Releases what the backend holds open (the D-Bus connection). */
  close(): void;
}

/** What ADD recorded (shared/state/attachments.ts), for DEL without prevResult and for GC. */
export interface FirewallRecord {
  readonly backend: BackendName;
  readonly ips: readonly string[];
  readonly zone?: string;
  readonly adminChain?: string;
}
