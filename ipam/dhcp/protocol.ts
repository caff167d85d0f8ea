// The plugin <-> daemon protocol (ours; the reference's Go net/rpc + gob is not reusable): one
// JSON request line on a unix stream socket, one JSON reply line, then the daemon closes.

export const PROTOCOL_VERSION = 1;

export interface AttachmentRef {
  /** `<cid>/<net>/<if>` (option 61 text). */
  clientID: string;
  containerID: string;
  network: string;
  ifName: string;
  /** CNI_NETNS made absolute ('' on a DEL without netns). */
  netns: string;
}

export interface AllocateRequest extends AttachmentRef {
  method: 'allocate';
  requested: number[];
  /** [option code, base64 value]. */
  provided: Array<[number, string]>;
}

export interface ReleaseRequest extends AttachmentRef {
  method: 'release';
}

export interface GcRequest {
  method: 'gc';
  network: string;
  valid: Array<{ containerID: string; ifname: string }>;
}

export interface StatusRequest {
  method: 'status';
}

export type Request = (AllocateRequest | ReleaseRequest | GcRequest | StatusRequest) & { v?: number };

export interface ErrorReply {
  ok: false;
  code: number;
  msg: string;
  details?: string;
}

export type Reply =
  | { ok: true; /** The DHCPACK holding the lease, base64 (allocate). */ ack?: string; leases?: number; released?: string[] }
  | ErrorReply;
