import { AES_GCM_TAG_SIZE, checkGcmSizes } from "../gcmSizes.ts";
import type { Libcrypto, NativeGcmContext, NativeGcmSealer } from "../libcrypto.ts";

const EVP_CTRL_GCM_GET_TAG = 0x10; // openssl/evp.h (EVP_CTRL_AEAD_GET_TAG)

const SYMBOLS = {
  EVP_aes_128_gcm: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_EncryptInit_ex: { parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"], result: "i32" },
  EVP_EncryptUpdate: { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" },
  EVP_EncryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  ERR_get_error: { parameters: [], result: "u64" },
} as const;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Pointer = NonNullable<Deno.PointerValue>;

/**
 * OpenSSL through Deno.dlopen, or undefined where libcrypto.so.3 does not
 * load. No frame sealer: Deno has no built-in C compiler (Bun's is TinyCC),
 * so frames are sealed packet by packet.
 */
export function openLibcrypto(): Libcrypto | undefined {
  let lib: Symbols;
  try {
    lib = Deno.dlopen("libcrypto.so.3", SYMBOLS).symbols;
  } catch {
    return undefined;
  }
  const cipher = lib.EVP_aes_128_gcm(); // a static OpenSSL object
  if (!cipher) return undefined;
  // Contexts of sealers collected without dispose().
  const contexts = new FinalizationRegistry<Pointer>((ctx) => lib.EVP_CIPHER_CTX_free(ctx));
  return {
    createAesGcmSealer: (key) => new LibcryptoSealer(lib, cipher, key, contexts),
    frameSealer: () => undefined,
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
 * new IV (SP 800-38D 7.1). Places inside `out` go as subarrays: Deno passes a
 * view's own start (two small objects per packet, where Bun takes an offset).
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
    if (n > 0) {
      check(
        lib,
        lib.EVP_EncryptUpdate(ctx, out.subarray(outOffset, outOffset + n), outl, plaintext, n),
        "EVP_EncryptUpdate",
      );
      if (outl[0] !== n) throw new Error(`AES-GCM: EVP_EncryptUpdate wrote ${outl[0]} bytes, not ${n}`);
    }
    const tag = out.subarray(outOffset + n, outOffset + n + AES_GCM_TAG_SIZE);
    check(lib, lib.EVP_EncryptFinal_ex(ctx, tag, outl), "EVP_EncryptFinal_ex"); // GCM writes no bytes here
    check(
      lib,
      lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AES_GCM_TAG_SIZE, tag),
      "EVP_CIPHER_CTX_ctrl (GET_TAG)",
    );
  }

  get context(): NativeGcmContext | null {
    return this.#ctx as unknown as NativeGcmContext | null;
  }

  dispose(): void {
    if (this.#ctx === null) return;
    this.#contexts.unregister(this);
    this.#lib.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
  }
}
