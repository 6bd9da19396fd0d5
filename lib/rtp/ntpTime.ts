// 64-bit NTP timestamps (RFC 5905 6: seconds since 1900 . 32-bit fraction), as
// RTCP sender reports carry them (RFC 3550 6.4.1), to and from Date.now() ms.

const NTP_EPOCH_OFFSET_S = 2_208_988_800; // 1900-01-01 to 1970-01-01
const FRACTION = 2 ** 32;

/** `nowMs` (ms since 1970, default now) as an NTP timestamp. */
export function ntpNow(nowMs = Date.now()): bigint {
  const seconds = Math.floor(nowMs / 1000) + NTP_EPOCH_OFFSET_S;
  const fraction = Math.floor(((nowMs % 1000) / 1000) * FRACTION);
  return (BigInt(seconds) << 32n) | BigInt(fraction);
}

/** An NTP timestamp as ms since 1970. */
export function msFromNtp(ntp: bigint): number {
  const seconds = Number(ntp >> 32n) - NTP_EPOCH_OFFSET_S;
  return seconds * 1000 + (Number(ntp & 0xffffffffn) / FRACTION) * 1000;
}

/** RFC 3550 6.4.1: the middle 32 bits of an NTP timestamp, as a receiver report's LSR field quotes our SR's. */
export function compactNtp(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffffffffn);
}
