/** AES-128-GCM sizes and argument checks shared by every sealer (lib/srtp/aesGcm.ts and the runtimes' libcrypto ones). */

export const AES_128_GCM_KEY_SIZE = 16;
export const AES_GCM_IV_SIZE = 12; // SP 800-38D 8.2; RFC 7714 8.1
export const AES_GCM_TAG_SIZE = 16; // RFC 7714 14.2: AEAD_AES_128_GCM, 16-octet tag

/** Throws unless `iv` is 12 bytes and `out` has plaintext + tag bytes free at `outOffset`. */
export function checkGcmSizes(iv: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void {
  if (iv.length !== AES_GCM_IV_SIZE) throw new RangeError(`AES-GCM IV must be 12 bytes, got ${iv.length}`);
  const needed = plaintext.length + AES_GCM_TAG_SIZE;
  if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + needed > out.length) {
    throw new RangeError(`AES-GCM output needs ${needed} bytes at ${outOffset}, the buffer has ${out.length}`);
  }
}
