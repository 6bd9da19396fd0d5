import { createCipheriv } from "node:crypto";
import { AES_128_GCM_KEY_SIZE, checkGcmSizes } from "../runtime/gcmSizes.ts";
import { libcrypto, type NativeGcmContext, type NativeGcmSealer } from "../runtime/libcrypto.ts";

export { AES_128_GCM_KEY_SIZE, AES_GCM_IV_SIZE, AES_GCM_TAG_SIZE } from "../runtime/gcmSizes.ts";
export type { NativeGcmContext };

/**
 * AES-128-GCM sealing (NIST SP 800-38D) with a key fixed at construction, for
 * SRTP's AEAD_AES_128_GCM (RFC 7714): 12-byte IV, 16-byte tag.
 *
 * Why not just node:crypto: it needs a new cipher object per packet
 * (createCipheriv, setAAD, update, final, getAuthTag), 1.5-3.2 us for a
 * 1200-byte packet on the development machine, varying from run to run. The
 * system OpenSSL (libcrypto.so.3) through FFI (lib/runtime/libcrypto.ts:
 * bun:ffi or Deno.dlopen), with one EVP_CIPHER_CTX per key and only a new IV
 * per packet, takes 0.7-1.1 us on Bun, steadily. node:crypto stays as the
 * fallback when libcrypto.so.3 does not load.
 */
export type AesGcmBackend = "libcrypto" | "node:crypto";

export interface AesGcmSealer {
  readonly backend: AesGcmBackend;
  /**
   * Encrypts `plaintext` and authenticates it with `aad` (SP 800-38D 7.1):
   * `out` from `outOffset` (default 0; plaintext.length + 16 bytes, not
   * overlapping the inputs) receives the ciphertext, then the 16-byte tag.
   * `iv` is 12 bytes.
   */
  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset?: number): void;
  /** Frees native state now rather than at garbage collection; seal() throws afterwards. */
  dispose(): void;
}

export interface AesGcmSealerOptions {
  /** Default: libcrypto when it loads, else node:crypto. Asking for libcrypto when it does not load throws. */
  backend?: AesGcmBackend;
}

export function createAesGcmSealer(key: Uint8Array, options: AesGcmSealerOptions = {}): AesGcmSealer {
  if (key.length !== AES_128_GCM_KEY_SIZE) throw new Error(`AES-128-GCM key must be 16 bytes, got ${key.length}`);
  if (options.backend === "node:crypto") return new NodeCryptoSealer(key);
  const native = libcrypto();
  if (native) return native.createAesGcmSealer(key);
  if (options.backend === "libcrypto") throw new Error("AES-GCM: libcrypto.so.3 could not be loaded");
  return new NodeCryptoSealer(key);
}

/**
 * For native code that seals with the same key (lib/srtp/srtpFrameSealer.ts):
 * a libcrypto sealer's EVP_CIPHER_CTX, or undefined (node:crypto, disposed).
 */
export function nativeGcmContext(sealer: AesGcmSealer): NativeGcmContext | undefined {
  return sealer.backend === "libcrypto" ? ((sealer as NativeGcmSealer).context ?? undefined) : undefined;
}

/** Whether the system OpenSSL loads in this process (tried once). */
export function libcryptoAvailable(): boolean {
  return libcrypto() !== undefined;
}

// --- node:crypto fallback ---------------------------------------------------

/** A new cipher object per packet: the slower path described at the top. */
class NodeCryptoSealer implements AesGcmSealer {
  readonly backend = "node:crypto";
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    // A copy: fixed at construction like the libcrypto key schedule (Buffer#slice would be a view).
    this.#key = new Uint8Array(key);
  }

  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset = 0): void {
    checkGcmSizes(iv, plaintext, out, outOffset);
    const cipher = createCipheriv("aes-128-gcm", this.#key, iv);
    cipher.setAAD(aad);
    out.set(cipher.update(plaintext), outOffset);
    cipher.final();
    out.set(cipher.getAuthTag(), outOffset + plaintext.length);
  }

  dispose(): void {}
}
