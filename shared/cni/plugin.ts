// The contract between the skel (shared/cni/skel.ts) and every plugin entry point.
import type { Attachment, Result } from './types.js';

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** What the skel hands a plugin for one invocation (CNI_* environment plus stdin). */
export interface CmdArgs {
  command: Exclude<Command, 'VERSION'>;
  /** CNI_CONTAINERID ('' for GC and STATUS). */
  containerID: string;
  /** CNI_NETNS ('' when absent, which DEL must tolerate). */
  netns: string;
  /** CNI_IFNAME ('' for GC and STATUS). */
  ifName: string;
  /** CNI_ARGS, raw. Parse with shared/cni/args.ts. */
  args: string;
  /** CNI_PATH, raw (colon separated). */
  path: string;
  /** The config exactly as read from stdin. */
  stdinData: Buffer;
  /** The config's cniVersion ('' is reported as 0.1.0). Results are printed in this version. */
  cniVersion: string;
  /** prevResult converted into the internal (1.x) shape, when the config carries one. */
  prevResult?: Result;
  /** GC only: cni.dev/valid-attachments. */
  validAttachments?: Attachment[];
  /** The full environment of this invocation (passed on to delegates unchanged). */
  env: NodeJS.ProcessEnv;
}

export interface Plugin {
  /** The binary name, e.g. "bridge". */
  name: string;
  /** One line for the about text, e.g. "CNI bridge plugin". */
  description: string;
  /** Defaults to every version we support (0.1.0 .. 1.1.0). */
  supportedVersions?: readonly string[];
  /**
   * Where the addresses of this plugin's ADD result come from. A 0.1.0/0.2.0 result must carry an
   * IP, so the skel refuses, before the plugin changes anything, an ADD whose result would have
   * none: 'ipam' (the default) = the config's ipam section, else the prevResult's IPs (interface
   * plugins); 'prevResult' = only the prevResult's (chained plugins, which refuse a config without
   * one themselves); 'self' = the plugin finds them itself (IPAM plugins, loopback).
   */
  resultAddresses?: 'ipam' | 'prevResult' | 'self';
  add(args: CmdArgs): Promise<Result>;
  del(args: CmdArgs): Promise<void>;
  check(args: CmdArgs): Promise<void>;
  /** Absent: GC succeeds without doing anything, as the spec allows. */
  gc?(args: CmdArgs): Promise<void>;
  /** Absent: STATUS reports ready. */
  status?(args: CmdArgs): Promise<void>;
  /**
   * A second role selected by command-line arguments (e.g. `dhcp daemon ...`): when present and the
   * binary was started with arguments, the multi-call entry runs this instead of the skel and exits
   * with the returned code. Runtimes never pass arguments, so the CNI role is unaffected.
   */
  cli?(argv: readonly string[]): Promise<number>;
}
