/** HMAC-SHA1 with a reusable keyed state (SRTP's AES-CM authentication, STUN MESSAGE-INTEGRITY). */
import { runtime } from "./runtime.ts";

/** Bun.CryptoHasher's shape, so Bun hands out its own hasher with nothing in between. */
export interface HmacSha1 {
  update(data: Uint8Array): HmacSha1;
  /** A copy of the state so far: one keyed state serves many messages (RFC 2104's key absorbed once). */
  copy(): HmacSha1;
  /** The 20-byte MAC; the state is spent. */
  digest(): Uint8Array;
}

export function createHmacSha1(key: Uint8Array | string): HmacSha1 {
  return runtime.createHmacSha1(key);
}
