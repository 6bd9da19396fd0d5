import { AES_GCM_TAG_SIZE, checkGcmSizes } from "./gcmSizes.ts";
import type { NativeGcmContext, NativeGcmSealer } from "./libcrypto.ts";

const EVP_CTRL_GCM_GET_TAG = 0x10; // openssl/evp.h (EVP_CTRL_AEAD_GET_TAG)

/**
 * OpenSSL's EVP functions an AES-GCM seal calls, as each runtime's FFI binds
 * them (bun/bunLibcrypto.ts, deno/denoLibcrypto.ts), and how that FFI takes a
 * place inside a buffer (`at`). `Ptr` is its native address, `Place` a buffer
 * argument. The runtimes differ only there, so the seal is written once, here.
 */
export interface EvpGcmFunctions<Ptr, Place> {
  EVP_CIPHER_CTX_new(): Ptr | null;
  EVP_CIPHER_CTX_free(ctx: Ptr): void;
  EVP_EncryptInit_ex(ctx: Ptr, cipher: Ptr | null, engine: null, key: Uint8Array | null, iv: Uint8Array | null): number;
  EVP_EncryptUpdate(ctx: Ptr, out: Place | null, outl: Int32Array, input: Uint8Array, length: number): number;
  EVP_EncryptFinal_ex(ctx: Ptr, out: Place, outl: Int32Array): number;
  EVP_CIPHER_CTX_ctrl(ctx: Ptr, type: number, arg: number, data: Place): number;
  ERR_get_error(): number | bigint;
  /** `length` bytes of `out` from `offset`, as this FFI takes a buffer argument (Bun: an address; Deno: a view). */
  at(out: Uint8Array, offset: number, length: number): Place;
}

/**
 * One EVP_CIPHER_CTX with the key schedule set once; each seal() only sets a
 * new IV, which restarts GCM (NIST SP 800-38D 7.1). A context whose sealer is
 * collected without dispose() is freed by `contexts`.
 */
export class EvpGcmSealer<Ptr, Place> implements NativeGcmSealer {
  readonly backend = "libcrypto";
  readonly #evp: EvpGcmFunctions<Ptr, Place>;
  readonly #contexts: FinalizationRegistry<Ptr>;
  #ctx: Ptr | null;
  /** The `int *outl` every EVP call writes. */
  readonly #outl = new Int32Array(1);

  constructor(evp: EvpGcmFunctions<Ptr, Place>, cipher: Ptr, key: Uint8Array, contexts: FinalizationRegistry<Ptr>) {
    const ctx = evp.EVP_CIPHER_CTX_new();
    if (!ctx) throw new Error("AES-GCM: EVP_CIPHER_CTX_new failed");
    if (evp.EVP_EncryptInit_ex(ctx, cipher, null, key, null) !== 1) {
      const error = failure(evp, "EVP_EncryptInit_ex (key)");
      evp.EVP_CIPHER_CTX_free(ctx);
      throw error;
    }
    this.#evp = evp;
    this.#ctx = ctx;
    this.#contexts = contexts;
    contexts.register(this, ctx, this);
  }

  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset = 0): void {
    checkGcmSizes(iv, plaintext, out, outOffset);
    const ctx = this.#ctx;
    if (ctx === null) throw new Error("AES-GCM sealer used after dispose()");
    const evp = this.#evp;
    const outl = this.#outl;
    const n = plaintext.length;
    check(evp, evp.EVP_EncryptInit_ex(ctx, null, null, null, iv), "EVP_EncryptInit_ex (IV)");
    if (aad.length > 0) check(evp, evp.EVP_EncryptUpdate(ctx, null, outl, aad, aad.length), "EVP_EncryptUpdate (AAD)");
    if (n > 0) {
      check(evp, evp.EVP_EncryptUpdate(ctx, evp.at(out, outOffset, n), outl, plaintext, n), "EVP_EncryptUpdate");
      if (outl[0] !== n) throw new Error(`AES-GCM: EVP_EncryptUpdate wrote ${outl[0]} bytes, not ${n}`);
    }
    const tag = evp.at(out, outOffset + n, AES_GCM_TAG_SIZE);
    check(evp, evp.EVP_EncryptFinal_ex(ctx, tag, outl), "EVP_EncryptFinal_ex"); // GCM writes no bytes here
    check(
      evp,
      evp.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AES_GCM_TAG_SIZE, tag),
      "EVP_CIPHER_CTX_ctrl (GET_TAG)",
    );
  }

  get context(): NativeGcmContext | null {
    return this.#ctx as unknown as NativeGcmContext | null;
  }

  dispose(): void {
    if (this.#ctx === null) return;
    this.#contexts.unregister(this);
    this.#evp.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
  }
}

function check(evp: EvpGcmFunctions<unknown, unknown>, result: number, call: string): void {
  if (result !== 1) throw failure(evp, call);
}

function failure(evp: EvpGcmFunctions<unknown, unknown>, call: string): Error {
  return new Error(`AES-GCM: ${call} failed (OpenSSL error 0x${evp.ERR_get_error().toString(16)})`);
}
