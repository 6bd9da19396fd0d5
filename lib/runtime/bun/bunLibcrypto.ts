import { cc, dlopen, FFIType, type Pointer as BunPointer, ptr } from "bun:ffi";
import { AES_GCM_TAG_SIZE, checkGcmSizes } from "../gcmSizes.ts";
import type { Libcrypto, NativeFrameSealer, NativeGcmContext, NativeGcmSealer } from "../libcrypto.ts";

const EVP_CTRL_GCM_GET_TAG = 0x10; // openssl/evp.h (EVP_CTRL_AEAD_GET_TAG)

function openSymbols() {
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

type Symbols = ReturnType<typeof openSymbols>;
/** What bun:ffi returns for a native address: a number, or a bigint past 2^53. */
type Pointer = BunPointer | bigint;

/** OpenSSL through bun:ffi, or undefined where libcrypto.so.3 does not load. */
export function openLibcrypto(): Libcrypto | undefined {
  let lib: Symbols;
  try {
    lib = openSymbols();
  } catch {
    return undefined;
  }
  const cipher = lib.EVP_aes_128_gcm(); // a static OpenSSL object
  if (!cipher) return undefined;
  // Contexts of sealers collected without dispose().
  const contexts = new FinalizationRegistry<Pointer>((ctx) => lib.EVP_CIPHER_CTX_free(ctx));
  let frameSealer: NativeFrameSealer | null | undefined;
  return {
    createAesGcmSealer: (key) => new LibcryptoSealer(lib, cipher, key, contexts),
    frameSealer(cSourcePath) {
      if (frameSealer === undefined) frameSealer = compileFrameSealer(lib, cSourcePath) ?? null;
      return frameSealer ?? undefined;
    },
  };
}

function check(lib: Symbols, result: number, call: string): void {
  if (result !== 1) throw failure(lib, call);
}

function failure(lib: Symbols, call: string): Error {
  return new Error(`AES-GCM: ${call} failed (OpenSSL error 0x${lib.ERR_get_error().toString(16)})`);
}

/**
 * One EVP_CIPHER_CTX with the key schedule set once; each seal() only sets a
 * new IV, which restarts GCM (SP 800-38D 7.1). Typed arrays are passed as
 * FFI arguments, or as ptr() addresses taken right before the call, never
 * cached: JSC may move a small typed array's storage (when its .buffer is
 * first asked for), never during a synchronous call.
 */
class LibcryptoSealer implements NativeGcmSealer {
  readonly backend = "libcrypto";
  readonly #lib: Symbols;
  readonly #contexts: FinalizationRegistry<Pointer>;
  #ctx: Pointer | null;
  /** The `int *outl` every EVP call writes. */
  readonly #outl = new Int32Array(1);

  constructor(lib: Symbols, cipher: Pointer, key: Uint8Array, contexts: FinalizationRegistry<Pointer>) {
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (!ctx) throw new Error("AES-GCM: EVP_CIPHER_CTX_new failed");
    if (lib.EVP_EncryptInit_ex(ctx, cipher, null, key, null) !== 1) {
      const error = failure(lib, "EVP_EncryptInit_ex (key)");
      lib.EVP_CIPHER_CTX_free(ctx);
      throw error;
    }
    this.#lib = lib;
    this.#ctx = ctx;
    this.#contexts = contexts;
    contexts.register(this, ctx, this);
  }

  seal(iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, outOffset = 0): void {
    checkGcmSizes(iv, plaintext, out, outOffset);
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
    check(
      lib,
      lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AES_GCM_TAG_SIZE, tag),
      "EVP_CIPHER_CTX_ctrl (GET_TAG)",
    );
  }

  get context(): NativeGcmContext | null {
    return this.#ctx as NativeGcmContext | null;
  }

  dispose(): void {
    if (this.#ctx === null) return;
    this.#contexts.unregister(this);
    this.#lib.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
  }
}

/**
 * lib/srtp/srtpFrame.c compiled by Bun's built-in TinyCC (~15 ms), with the
 * addresses of the four EVP functions a seal makes handed to it; undefined
 * if it does not compile or bind.
 */
function compileFrameSealer(lib: Symbols, cSourcePath: string): NativeFrameSealer | undefined {
  const { ptr, i32, f64 } = FFIType;
  try {
    const { symbols } = cc({
      source: cSourcePath,
      symbols: {
        wisp_bind_evp: { args: [ptr, ptr, ptr, ptr], returns: i32 },
        // 32-bit fields go as i32: Bun 1.4.5 garbles a TinyCC function's u32 argument above 2^31 (0xdeadbeef arrived as 0xdde00000)
        wisp_srtp_gcm_seal_frame: { args: [ptr, ptr, ptr, ptr, i32, i32, i32, f64, i32], returns: i32 },
      },
    });
    const address = (f: unknown) => (f as { ptr: Pointer }).ptr;
    symbols.wisp_bind_evp(
      address(lib.EVP_EncryptInit_ex),
      address(lib.EVP_EncryptUpdate),
      address(lib.EVP_EncryptFinal_ex),
      address(lib.EVP_CIPHER_CTX_ctrl),
    );
    // The compiled function itself: a frame's seal is one FFI call, nothing in between.
    return { sealFrame: symbols.wisp_srtp_gcm_seal_frame as unknown as NativeFrameSealer["sealFrame"] };
  } catch {
    return undefined;
  }
}
