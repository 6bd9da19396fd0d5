/**
 * Arithmetic on counters that wrap: RTP timestamps (32 bits, RFC 3550 5.1) and
 * MPEG-TS PTS/DTS (33 bits, ISO/IEC 13818-1 2.4.3.7). One place, so every
 * wrap is taken the same way.
 */

/** RTP timestamps are 32-bit (RFC 3550 5.1). */
export const RTP_TIMESTAMP_WRAP = 2 ** 32;

/** x mod m in 0 .. m - 1, also for negative x (JavaScript's % keeps the sign). */
export function modulo(x: number, m: number): number {
  return ((x % m) + m) % m;
}

/** `value` as a 32-bit RTP timestamp: wrapped into 0 .. 2^32 - 1. */
export function rtpTimestamp(value: number): number {
  return modulo(value, RTP_TIMESTAMP_WRAP);
}

/** How far `later` is ahead of `earlier` going forward round a counter of size `m`: 0 .. m - 1. */
export function forwardDistance(earlier: number, later: number, m: number): number {
  return modulo(later - earlier, m);
}

/** later - earlier the nearest way round a counter of size `m`: -m/2 .. m/2 - 1. */
export function nearestDistance(earlier: number, later: number, m: number): number {
  const forward = forwardDistance(earlier, later, m);
  return forward >= m / 2 ? forward - m : forward;
}
