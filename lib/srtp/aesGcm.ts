import { dlopen, FFIType, ptr, type Pointer } from "bun:ffi";
import { createCipheriv } from "node:crypto";

/**
 * AES-128-GCM sealing (NIST SP 800-38D) with a key fixed at construction, for
 * SRTP's AEAD_AES_128_GCM (RFC 7714): 12-byte IV, 16-byte tag.
 *
 * Why not just node:crypto: it needs a new cipher object per packet
 * (createCipheriv, setAAD, update, final, getAuthTag), 1.5-3.2 us for a
 * 1200-byte packet on the development machine, varying from run to run. The
 * system OpenSSL (libcrypto.so.3) through bun:ffi, with one EVP_CIPHER_CTX per
 * key and only a new IV per packet, takes 0.7-1.1 us, steadily. node:crypto
 * stays as the fallback when libcrypto.so.3 does not load.
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

export const AES_128_GCM_KEY_SIZE = 16;
export const AES_GCM_IV_SIZE = 12; // SP 800-38D 8.2; RFC 7714 8.1
export const AES_GCM_TAG_SIZE = 16; // RFC 7714 14.2: AEAD_AES_128_GCM, 16-octet tag

export function createAesGcmSealer(key: Uint8Array, options: AesGcmSealerOptions = {}): AesGcmSealer {
  if (key.length !== AES_128_GCM_KEY_SIZE) throw new Error(`AES-128-GCM key must be 16 bytes, got ${key.length}`);
  if (options.backend === "node:crypto") return new NodeCryptoSealer(key);
  const lib = libcrypto();
  if (lib) return new LibcryptoSealer(lib, key);
  if (options.backend === "libcrypto") throw new Error("AES-GCM: libcrypto.so.3 could not be loaded");
  return new NodeCryptoSealer(key);
}

/**
 * For native code that seals with the same key (lib/srtp/srtpFrameSealer.ts):
 * a libcrypto sealer's EVP_CIPHER_CTX, or undefined (node:crypto, disposed).
 */
export function nativeGcmContext(sealer: AesGcmSealer): NativePointer | undefined {
  return sealer instanceof LibcryptoSealer ? (sealer.context ?? undefined) : undefined;
}

/** The addresses of the four EVP functions a seal makes (same order as LibcryptoSealer.seal), or undefined. */
export function evpSealFunctions(): [NativePointer, NativePointer, NativePointer, NativePointer] | undefined {
  const lib = libcrypto()?.lib;
  if (!lib) return undefined;
  const address = (f: unknown) => (f as { ptr: NativePointer }).ptr;
  return [address(lib.EVP_EncryptInit_ex), address(lib.EVP_EncryptUpdate), address(lib.EVP_EncryptFinal_ex), address(lib.EVP_CIPHER_CTX_ctrl)];
}

/** Whether the system OpenSSL loads in this process (tried once). */
export function libcryptoAvailable(): boolean {
  return libcrypto() !== null;
}

function checkSizes(iv: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset: number): void {
  if (iv.length !== AES_GCM_IV_SIZE) throw new RangeError(`AES-GCM IV must be 12 bytes, got ${iv.length}`);
  const needed = plaintext.length + AES_GCM_TAG_SIZE;
  if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + needed > out.length) {
    throw new RangeError(`AES-GCM output needs ${needed} bytes at ${outOffset}, the buffer has ${out.length}`);
  }
}

// --- libcrypto (OpenSSL 3) through bun:ffi ---------------------------------

const EVP_CTRL_GCM_GET_TAG = 0x10; // openssl/evp.h (EVP_CTRL_AEAD_GET_TAG)

function openLibcrypto() {
  const { ptr, i32, u64, void: none } = FFIType;
  return dlopen("libcrypto.so.3", {
    EVP_aes_128_gcm: { args: [], returns: ptr },
    EVP_CIPHER_CTX_new: { args: [], returns: ptr },
    EVP_CIPHER_CTX_free: { args: [ptr], returns: none },
    EVP_EncryptInit_ex: { args: [ptr, ptr, ptr, ptr, ptr], returns: i32 },
    EVP_EncryptUpdate: { args: [ptr, ptr, ptr, ptr, i32], returns: i32 },
    EVP_EncryptFinal_ex: { args: [ptr, ptr, ptr], returns: i32 },
    EVP_CIPHER_CTX_ctrl: { args: [ptr, i32, i32, ptr], returns: i32 },
    ERR_get_error: { args: [], returns: u64 },
  }).symbols;
}

type Libcrypto = ReturnType<typeof openLibcrypto>;
/** A native address returned by OpenSSL (not a typed array's, so it never moves). */
export type NativePointer = Pointer | bigint;
interface Loaded {
  lib: Libcrypto;
  /** EVP_aes_128_gcm(): a static OpenSSL object. */
  cipher: NativePointer;
}

/** undefined: not tried yet; null: tried and failed (not retried). */
let loaded: Loaded | null | undefined;

/** dlopen once per process, on first use. */
function libcrypto(): Loaded | null {
  if (loaded === undefined) loaded = tryLoad();
  return loaded;
}

function tryLoad(): Loaded | null {
  try {
    const lib = openLibcrypto();
    const cipher = lib.EVP_aes_128_gcm();
    return cipher ? { lib, cipher } : null;
  } catch {
    return null;
  }
}

/** Contexts of sealers collected without dispose(). */
const contexts = new FinalizationRegistry<NativePointer>((ctx) => libcrypto()?.lib.EVP_CIPHER_CTX_free(ctx));

function check(lib: Libcrypto, result: number, call: string): void {
  if (result !== 1) throw failure(lib, call);
}

function failure(lib: Libcrypto, call: string): Error {
  return new Error(`AES-GCM: ${call} failed (OpenSSL error 0x${lib.ERR_get_error().toString(16)})`);
}

/**
 * One EVP_CIPHER_CTX with the key schedule set once; each seal() only sets a
 * new IV, which restarts GCM (SP 800-38D 7.1). Typed arrays are passed as
 * FFI arguments, or as ptr() addresses taken right before the call, never
 * cached: JSC may move a small typed array's storage (when its .buffer is
 * first asked for), never during a synchronous call.
 */
class LibcryptoSealer implements AesGcmSealer {
  readonly backend = "libcrypto";
  readonly #lib: Libcrypto;
  #ctx: NativePointer | null;
  /** The `int *outl` every EVP call writes. */
  readonly #outl = new Int32Array(1);

  constructor({ lib, cipher }: Loaded, key: Uint8Array) {
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (!ctx) throw new Error("AES-GCM: EVP_CIPHER_CTX_new failed");
    if (lib.EVP_EncryptInit_ex(ctx, cipher, null, key, null) !== 1) {
      const error = failure(lib, "EVP_EncryptInit_ex (key)");
      lib.EVP_CIPHER_CTX_free(ctx);
      throw error;
    }
    this.#lib = lib;
    this.#ctx = ctx;
    contexts.register(this, ctx, this);
  }

  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset = 0): void {
    checkSizes(iv, plaintext, out, outOffset);
    const ctx = this.#ctx;
    if (ctx === null) throw new Error("AES-GCM sealer used after dispose()");
    const lib = this.#lib;
    const outl = this.#outl;
    const n = plaintext.length;
    check(lib, lib.EVP_EncryptInit_ex(ctx, null, null, null, iv), "EVP_EncryptInit_ex (IV)");
    if (aad.length > 0) check(lib, lib.EVP_EncryptUpdate(ctx, null, outl, aad, aad.length), "EVP_EncryptUpdate (AAD)");
    // Addresses inside `out`, taken here and used at once (a subarray per packet costs more).
    if (n > 0) {
      check(lib, lib.EVP_EncryptUpdate(ctx, ptr(out, outOffset), outl, plaintext, n), "EVP_EncryptUpdate");
      if (outl[0] !== n) throw new Error(`AES-GCM: EVP_EncryptUpdate wrote ${outl[0]} bytes, not ${n}`);
    }
    const tag = ptr(out, outOffset + n);
    check(lib, lib.EVP_EncryptFinal_ex(ctx, tag, outl), "EVP_EncryptFinal_ex"); // GCM writes no bytes here
    check(lib, lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AES_GCM_TAG_SIZE, tag), "EVP_CIPHER_CTX_ctrl (GET_TAG)");
  }

  /** The EVP_CIPHER_CTX, key set (for nativeGcmContext); null after dispose(). */
  get context(): NativePointer | null {
    return this.#ctx;
  }

  dispose(): void {
    if (this.#ctx === null) return;
    contexts.unregister(this);
    this.#lib.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
  }
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
    checkSizes(iv, plaintext, out, outOffset);
    const cipher = createCipheriv("aes-128-gcm", this.#key, iv);
    cipher.setAAD(aad);
    out.set(cipher.update(plaintext), outOffset);
    cipher.final();
    out.set(cipher.getAuthTag(), outOffset + plaintext.length);
  }

  dispose(): void {}
}
