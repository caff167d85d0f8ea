// psched time arithmetic as the Go reference's netlink library does it (tick conversion from
// /proc/net/psched, Go's float-to-uint32 truncations, iproute2's rate tables), so the numbers we put
// in tc requests are the reference's to the tick.

export const U32_MAX = 0x1_0000_0000;
const TC_LINKLAYER_ETHERNET = 1;

/** struct tc_ratespec (12 bytes). */
export interface RateSpec {
  cellLog?: number;
  linklayer?: number;
  overhead?: number;
  cellAlign?: number;
  mpu?: number;
  /** bytes per second, truncated to 32 bits on the wire (Go's uint32 conversion). */
  rate: number;
}

/** Everything the rate tables are computed from: psched ticks per microsecond. */
export interface PschedClock {
  tickInUsec: number;
}

/**
 * /proc/net/psched as the Go netlink library reads it (four hex words: t2us, us2t, clock
 * resolution, hz); the nanosecond-resolution compatibility rule is iproute2's.
 */
export function parsePsched(text: string): PschedClock {
  const parts = text.trim().split(/\s+/).map((p) => Number.parseInt(p, 16));
  if (parts.length < 3 || parts.slice(0, 3).some((n) => !Number.isFinite(n) || n <= 0)) {
    throw new Error(`cannot parse /proc/net/psched: ${JSON.stringify(text)}`);
  }
  let [t2us, us2t, res] = parts as [number, number, number];
  if (res === 1_000_000_000) t2us = us2t;
  return { tickInUsec: (t2us / us2t) * (res / 1_000_000) };
}

/** Go's uint32(float64): truncation toward zero, then the low 32 bits (values here stay < 2^63). */
export function goUint32(f: number): number {
  if (!Number.isFinite(f) || f <= 0) return 0;
  return Number(BigInt(Math.trunc(f)) & 0xffffffffn);
}

export const TIME_UNITS_PER_SEC = 1_000_000;

/** Microseconds to psched ticks (netlink's time2Tick). */
export const time2Tick = (clock: PschedClock, usec: number): number => goUint32(usec * clock.tickInUsec);

/** Time to send `size` bytes at `rate` bytes/s, in ticks (netlink's Xmittime). */
export const xmitTime = (clock: PschedClock, rate: number, size: number): number =>
  time2Tick(clock, goUint32(TIME_UNITS_PER_SEC * (size / rate)));

/** netlink's CalcRtable with cell_log -1, mpu 0 and an ethernet link layer: the rate table and the filled ratespec. */
export function rateTable(clock: PschedClock, rate: number, mtu = 1600): { spec: RateSpec; table: Buffer } {
  let cellLog = 0;
  while (mtu >> cellLog > 255) cellLog++;
  const bps = rate % U32_MAX;
  const table = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) table.writeUInt32LE(xmitTime(clock, bps, (i + 1) << cellLog), i * 4);
  return { spec: { rate: bps, cellLog, linklayer: TC_LINKLAYER_ETHERNET, cellAlign: -1 }, table };
}

