/**
 * The system OpenSSL (libcrypto.so.3) through FFI, for SRTP's AES-128-GCM
 * (lib/srtp/aesGcm.ts says why), and the native frame sealer that shares its
 * key contexts (lib/srtp/srtpFrameSealer.ts says why). Bun compiles that
 * sealer with its built-in TinyCC; Deno has no C compiler, so there it is
 * undefined and frames are sealed packet by packet.
 */
import { runtime } from "./runtime.ts";

declare const nativeGcmContext: unique symbol;
/** An EVP_CIPHER_CTX with a key set: a number under Bun, a pointer object under Deno, opaque to the rest. */
export type NativeGcmContext = { readonly [nativeGcmContext]: true };

/** AES-128-GCM with one EVP_CIPHER_CTX per key: each seal() only sets a new IV. */
export interface NativeGcmSealer {
  readonly backend: "libcrypto";
  /**
   * Encrypts `plaintext` and authenticates it with `aad` (SP 800-38D 7.1):
   * `out` from `outOffset` (default 0; plaintext.length + 16 bytes, not
   * overlapping the inputs) receives the ciphertext, then the 16-byte tag.
   * `iv` is 12 bytes.
   */
  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset?: number): void;
  /** Frees the context now rather than at garbage collection; seal() throws afterwards. */
  dispose(): void;
  /** The context, key set, for a NativeFrameSealer; null after dispose(). */
  readonly context: NativeGcmContext | null;
}

/** lib/srtp/srtpFrame.c's sealing function, compiled and bound to OpenSSL's EVP functions. */
export interface NativeFrameSealer {
  /**
   * The C function's own signature (srtpFrame.c): seals the frame laid out by
   * srtpFrameSealer.ts at `into[at]` for one viewer; returns the bytes
   * written, fewer when OpenSSL refused a call. 32-bit fields go as signed ints.
   */
  sealFrame(
    context: NativeGcmContext,
    salt: Uint8Array,
    frame: Uint8Array,
    into: Uint8Array,
    at: number,
    ssrc: number,
    payloadType: number,
    firstIndex: number,
    timestampAdd: number,
  ): number;
}

export interface Libcrypto {
  createAesGcmSealer(key: Uint8Array): NativeGcmSealer;
  /**
   * The frame sealer compiled from the C file at `cSourcePath`, or undefined
   * where it cannot be (no C compiler in the runtime, a compile error); tried
   * once per process.
   */
  frameSealer(cSourcePath: string): NativeFrameSealer | undefined;
}

/** OpenSSL's AES-GCM, or undefined where libcrypto.so.3 does not load (tried once per process). */
export function libcrypto(): Libcrypto | undefined {
  return runtime.libcrypto();
}
