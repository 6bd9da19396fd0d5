import { cc, dlopen, FFIType, type Pointer as BunPointer, ptr } from "bun:ffi";
import { type EvpGcmFunctions, EvpGcmSealer } from "../evpGcmSealer.ts";
import type { Libcrypto, NativeFrameSealer } from "../libcrypto.ts";

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
  // bun:ffi takes a place inside a buffer as an address, taken right before the call, never cached:
  // JSC may move a small typed array's storage (when its .buffer is first asked for), never during a call.
  const evp = { ...lib, at: (out: Uint8Array, offset: number) => ptr(out, offset) } as unknown as EvpGcmFunctions<
    Pointer,
    Pointer
  >;
  // Contexts of sealers collected without dispose().
  const contexts = new FinalizationRegistry<Pointer>((ctx) => lib.EVP_CIPHER_CTX_free(ctx));
  let frameSealer: NativeFrameSealer | null | undefined;
  return {
    createAesGcmSealer: (key) => new EvpGcmSealer(evp, cipher, key, contexts),
    frameSealer(cSourcePath) {
      if (frameSealer === undefined) frameSealer = compileFrameSealer(lib, cSourcePath) ?? null;
      return frameSealer ?? undefined;
    },
  };
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
