import { type EvpGcmFunctions, EvpGcmSealer } from "../evpGcmSealer.ts";
import type { Libcrypto } from "../libcrypto.ts";

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
  // Deno passes a view's own start: a place inside `out` goes as a subarray (Bun takes an address).
  const evp = {
    ...lib,
    at: (out: Uint8Array, offset: number, length: number) => out.subarray(offset, offset + length),
  } as unknown as EvpGcmFunctions<Pointer, Uint8Array>;
  // Contexts of sealers collected without dispose().
  const contexts = new FinalizationRegistry<Pointer>((ctx) => lib.EVP_CIPHER_CTX_free(ctx));
  return {
    createAesGcmSealer: (key) => new EvpGcmSealer(evp, cipher, key, contexts),
    frameSealer: () => undefined,
  };
}
